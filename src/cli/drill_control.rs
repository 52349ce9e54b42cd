//! `gameday drill control pause | resume | inject ID | skip ID | hint TEXT |
//! end`: the facilitator's side of a running drill. Posts the control to the
//! drill's `/v1/facilitator` with the facilitator token (the run
//! directory's `facilitator-token`, never the participants' `api-token`).

use std::path::PathBuf;

use super::exit;
use crate::drill::control::Control;
use crate::respond::files;
use crate::respond::server::FACILITATOR_PATH;
use crate::tabletop::control::TOKEN_FILE;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// pause | resume | inject ID | skip ID | hint TEXT | end
    #[arg(value_name = "CONTROL", required = true, num_args = 1..)]
    pub words: Vec<String>,
    /// The drill's run directory (default: the newest under --runs).
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,
    /// Where run directories are looked for.
    #[arg(long, default_value = crate::engine::rundir::DEFAULT_ROOT, value_name = "DIR")]
    pub runs: PathBuf,
    /// The facilitator token (default: the run directory's `facilitator-token`).
    #[arg(
        long,
        env = "GAMEDAY_FACILITATOR_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let control = match Control::parse(&args.words) {
        Ok(c) => c,
        Err(e) => {
            crate::errln!("error: {e}");
            return Ok(exit::USAGE);
        }
    };
    let located = args
        .run_dir
        .clone()
        .map_or_else(|| files::newest_run_dir(&args.runs), Ok)
        .and_then(|dir| {
            let (url, _) = files::read_run(&dir)?;
            let token = match &args.token {
                Some(t) => t.clone(),
                None => std::fs::read_to_string(dir.join(TOKEN_FILE))
                    .map(|t| t.trim().to_string())
                    .map_err(|source| files::FilesError::Read {
                        path: dir.join(TOKEN_FILE),
                        source,
                    })?,
            };
            Ok((url, token))
        });
    let (url, token) = match located {
        Ok(v) => v,
        Err(e) => {
            crate::errln!("error: {e}");
            return Ok(exit::USAGE);
        }
    };
    let rt = super::plan::runtime()?;
    let resp = rt.block_on(async {
        let r = reqwest::Client::new()
            .post(format!("{url}{FACILITATOR_PATH}"))
            .bearer_auth(&token)
            .json(&control)
            .send()
            .await?;
        let status = r.status();
        let body: serde_json::Value = r.json().await.unwrap_or_default();
        Ok::<_, reqwest::Error>((status, body))
    });
    match resp {
        Ok((s, body)) if s.is_success() => {
            crate::outln!("{}", body["done"].as_str().unwrap_or("done"));
            Ok(exit::OK)
        }
        Ok((s, body)) => {
            crate::errln!(
                "error: {} ({s})",
                body["error"].as_str().unwrap_or("refused")
            );
            Ok(exit::FAILED)
        }
        Err(e) => {
            crate::errln!("error: cannot reach the drill at {url}: {e}");
            Ok(exit::FAILED)
        }
    }
}
