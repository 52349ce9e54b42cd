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

/// Where the responder API listens and which file holds its bearer token.
/// The token itself is never printed: terminals are recorded and CI logs
/// are kept and shared.
pub fn responder_api(url: &str, token_file: &Path, default_runs_root: bool) {
    let token_file = token_file.display().to_string();
    // `gameday respond` finds the newest run under ./gameday-runs by itself.
    let hint = if default_runs_root {
        "gameday respond ack --as NAME".to_string()
    } else {
        format!("gameday respond ack --as NAME --run-url {url} --token \"$(cat {token_file})\"")
    };
    crate::term::event(
        "responder.api",
        json!({"url": url, "tokenFile": token_file, "example": hint}),
        format_args!("responder API {url} (bearer token in {token_file})\n  {hint}"),
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
