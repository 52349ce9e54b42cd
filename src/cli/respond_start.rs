//! Starting detection and response for `gameday run` (kept out of run.rs so
//! that the run command only registers the observer).

use std::path::Path;
use std::sync::Arc;

use serde_json::json;

use super::exit;
use super::run::Args;
use crate::config::Config;
use crate::engine::Journal;
use crate::k8s::Kube;
use crate::k8s::marks::RunId;
use crate::observe::Endpoints;
use crate::respond::{Response, ResponseOptions};
use crate::scenario::Scenario;

/// Binds the API and prints where it is and which file holds its token
/// (never the token: see `run_output::responder_api`); an error is an exit
/// code (nothing has been injected yet).
#[allow(clippy::too_many_arguments)]
pub async fn start(
    kube: &Kube,
    scenario: &Arc<Scenario>,
    config: &Arc<Config>,
    run_id: &RunId,
    run_dir: &Path,
    journal: &Arc<Journal>,
    args: &Args,
    endpoints: Endpoints,
) -> Result<Response, i32> {
    let opts = ResponseOptions {
        listen: args.api_listen,
        token_file: args.api_token_file.clone(),
        endpoints,
        ..ResponseOptions::default()
    };
    match Response::start(
        kube,
        scenario.clone(),
        config.clone(),
        &run_id.0,
        run_dir,
        journal.clone(),
        opts,
    )
    .await
    {
        Ok(r) => {
            super::run_output::responder_api(
                &r.url,
                &run_dir.join(crate::respond::files::TOKEN_FILE),
                args.out.is_none(),
            );
            Ok(r)
        }
        Err(e) => {
            super::run_output::error(format_args!("{e}; nothing was changed"));
            let _ = journal.append(
                "engine",
                "run.end",
                json!({"status": "not-run", "reason": e.to_string()}),
            );
            Err(exit::UNREACHABLE)
        }
    }
}
