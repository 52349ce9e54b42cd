//! What `gameday run` itself says on stderr (the plan, preflight failures,
//! where the run and its responder API are, how it ended), each as a line
//! for people or, under `--log-format json`, one structured event. Kept
//! apart from run.rs so the run command reads as its steps, and so every
//! one of its lines has both forms in one place.

use std::path::Path;

use serde_json::json;

use crate::engine::plan::FaultPlan;
use crate::engine::{Outcome, Status};
use crate::k8s::marks::RunId;
use crate::observe::preflight::Preflight;
use crate::scenario::Scenario;

/// An error line: `error: …`, or `{"event":"error","level":"error",…}`.
pub fn error(message: impl std::fmt::Display) {
    let message = message.to_string();
    crate::term::event(
        "error",
        json!({"level": "error", "message": message}),
        format_args!("error: {message}"),
    );
}

/// The plan: what will be touched and the limits it was checked against.
pub fn plan(scenario: &Scenario, context: &str, plans: &[FaultPlan]) {
    let text = super::plan::render(scenario, context, plans);
    crate::term::event(
        "plan",
        super::plan::plan_json(scenario, context, plans),
        text.trim_end(),
    );
}

/// Why the run cannot start: every check, and which failed.
pub fn preflight_failed(pre: &Preflight) {
    let checks: Vec<_> = pre
        .checks
        .iter()
        .map(|c| {
            json!({
                "target": c.target,
                "url": c.url,
                "ok": c.result.is_ok(),
                "detail": match &c.result { Ok(t) => t.clone(), Err(e) => e.to_string() },
            })
        })
        .collect();
    crate::term::event(
        "preflight",
        json!({"level": "error", "ok": false, "checks": checks}),
        format_args!("preflight:\n{}", pre.to_string().trim_end()),
    );
    error("infrastructure unreachable; nothing was changed");
}

/// The kill switch is set: the only thing a refused run prints.
pub fn halted(namespace: &str) {
    let lift = "gameday halt --lift";
    crate::term::event(
        "run.refused",
        json!({
            "level": "error",
            "reason": "halted",
            "haltConfigMap": format!("{namespace}/{}", crate::engine::halt::HALT_CONFIGMAP),
            "lift": lift,
        }),
        format_args!(
            "error: the cluster is halted (ConfigMap {namespace}/{}); nothing was started. Lift it with `{lift}`",
            crate::engine::halt::HALT_CONFIGMAP
        ),
    );
}

/// Where the run writes.
pub fn started(run_id: &RunId, run_dir: &Path) {
    crate::term::event(
        "run.start",
        json!({"runId": run_id.0, "runDir": run_dir.display().to_string()}),
        format_args!("run {run_id} → {}", run_dir.display()),
    );
}

/// Where the responder API listens, which file holds its bearer token,
/// and the console link. The token is printed only inside that link's
/// fragment (issue 15): a browser never sends a fragment to a server, and
/// the token dies with the run.
pub fn responder_api(url: &str, token_file: &Path, default_runs_root: bool, console_token: bool) {
    let token_file = token_file.display().to_string();
    // `gameday respond` finds the newest run under ./gameday-runs by itself.
    let hint = if default_runs_root {
        "gameday respond ack --as NAME".to_string()
    } else {
        format!("gameday respond ack --as NAME --run-url {url} --token \"$(cat {token_file})\"")
    };
    // The console link carries the token (in the fragment): it is the
    // one way in for people at a browser (issue 15). CI logs are kept and
    // shared, so under --ci or JSON logs the link names the file instead.
    let console = if console_token {
        std::fs::read_to_string(&token_file)
            .ok()
            .map(|t| crate::respond::console::link(url, t.trim()))
    } else {
        Some(crate::respond::console::link(
            url,
            &format!("$(cat {token_file})"),
        ))
    };
    let console_line = console
        .as_deref()
        .map_or(String::new(), |c| format!("\n  console {c}"));
    crate::term::event(
        "responder.api",
        json!({"url": url, "tokenFile": token_file, "example": hint, "console": console}),
        format_args!("responder API {url} (bearer token in {token_file})\n  {hint}{console_line}"),
    );
}

/// The last line. The reason was already shown by the live view when the
/// engine wrote `run.end`; it is repeated only when the engine crashed and
/// nobody else could say it.
pub fn ended(outcome: &Outcome, journal: &Path, crashed: bool) {
    let status = serde_json::to_value(outcome.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "ended".into());
    let fields = json!({
        "level": if outcome.status == Status::RevertFailed { "error" } else { "info" },
        "runId": outcome.run_id,
        "status": status,
        "reason": outcome.reason,
        "exitCode": outcome.exit_code(),
        "journal": journal.display().to_string(),
    });
    let text = if outcome.status == Status::RevertFailed {
        format!(
            "error: {}\n       run `gameday recover --run {}`",
            outcome.reason.as_deref().unwrap_or("a revert failed"),
            outcome.run_id
        )
    } else {
        let reason = match (&outcome.reason, crashed) {
            (Some(r), true) => format!(" ({r})"),
            _ => String::new(),
        };
        format!(
            "run {} {status}{reason}; journal {}",
            outcome.run_id,
            journal.display()
        )
    };
    crate::term::event("run.result", fields, text);
}

/// `--api-listen` on anything but loopback opens the responder API and the
/// console (plain HTTP, a bearer token per run) to other machines, so it
/// needs `--api-allow-remote`; with it, the start-up output says so.
/// Refused: exit 2 with the flag to add.
pub fn check_api_listen(listen: std::net::SocketAddr, allow_remote: bool) -> Result<(), i32> {
    if listen.ip().is_loopback() {
        return Ok(());
    }
    if !allow_remote {
        error(format_args!(
            "--api-listen {listen} is not a loopback address: the responder API and the web console would be reachable from other machines\n  hint: add --api-allow-remote to mean it, or listen on 127.0.0.1"
        ));
        return Err(super::exit::USAGE);
    }
    crate::term::event(
        "warning",
        json!({"level": "warn", "kind": "api-remote", "listen": listen.to_string()}),
        format_args!(
            "warning: the responder API and the web console listen on {listen}, reachable from other machines over plain HTTP; anyone with a console link can act in this run"
        ),
    );
    Ok(())
}
