//! `gameday respond ACTION...`: record what a responder did in a running
//! game day (`ack`, `declare SEV2`, `assign ic alice`, `update "msg"`,
//! `step scale-up`, `resolve`, `note "text"`).

use std::path::PathBuf;

use super::{GlobalArgs, exit};
use crate::respond::client::{self, ClientError, RUN_URL_ENV, TOKEN_ENV};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The action and its words: ack | declare SEV | assign ROLE PERSON |
    /// update MESSAGE | step ID | resolve | note TEXT.
    #[arg(value_name = "ACTION", required = true, num_args = 1..)]
    pub words: Vec<String>,
    /// Who is acting (a person or team).
    #[arg(long = "as", value_name = "PERSON", env = "GAMEDAY_AS")]
    pub person: String,
    /// The run's API URL (default: the newest run directory's `api-url`).
    #[arg(long, env = RUN_URL_ENV, value_name = "URL")]
    pub run_url: Option<String>,
    /// The run's bearer token (default: the newest run directory's `api-token`).
    #[arg(long, env = TOKEN_ENV, value_name = "TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Where run directories are looked for.
    #[arg(long, default_value = crate::engine::rundir::DEFAULT_ROOT, value_name = "DIR")]
    pub runs: PathBuf,
}

pub fn run(args: Args, _global: &GlobalArgs) -> anyhow::Result<i32> {
    let body = match client::event_body(&args.words, &args.person) {
        Ok(b) => b,
        Err(e) => {
            crate::errln!("error: {e}");
            return Ok(exit::USAGE);
        }
    };
    let run = match client::locate(args.run_url, args.token, &args.runs) {
        Ok(v) => v,
        Err(e) => {
            crate::errln!("error: {e}");
            return Ok(exit::USAGE);
        }
    };
    // A run that has ended is said so, before and after trying (it may end
    // while the request is under way).
    let ended = || run.run_dir.as_deref().map(client::check_running);
    if let Some(Err(e)) = ended() {
        crate::errln!("error: {e}");
        return Ok(exit::USAGE);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match rt.block_on(client::post_event(&run.url, &run.token, &body)) {
        Ok(v) => {
            let at = v
                .pointer("/recorded/at")
                .and_then(|a| a.as_str())
                .unwrap_or("now");
            crate::errln!("recorded {} at {at}", args.words.join(" "));
            Ok(exit::OK)
        }
        Err(e @ ClientError::Unreachable { .. }) => match ended() {
            Some(Err(ended)) => {
                crate::errln!("error: {ended}");
                Ok(exit::USAGE)
            }
            _ => {
                crate::errln!("error: {e}");
                Ok(exit::UNREACHABLE)
            }
        },
        Err(e) => {
            crate::errln!("error: {e}");
            Ok(exit::USAGE)
        }
    }
}
