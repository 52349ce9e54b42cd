//! `gameday init --drill`: a commented starter tabletop drill. Like the
//! scenario starters it is checked before it is written: a new facilitator
//! starts from a drill that validates and runs, and edits the story.

use crate::config::Config;

/// The drill's name when none is given.
pub const DEFAULT_NAME: &str = "tabletop-drill";

const STARTER: &str = r#"# A tabletop drill (shared/drill-v1.md): a timeline of injects that a team
# answers in its incident roles. It needs no cluster.
#
#   gameday validate @FILE@            check it
#   gameday drill @FILE@               run it in real time (--speed 60: a minute per second)
#   gameday respond ack --as NAME      act in it, from another terminal
#
# Delete the `autopilot` entries to play it with people; keep them to check
# the drill itself in CI.
apiVersion: gameday/v1
kind: Drill
metadata:
  name: @NAME@
spec:
  description: The checkout service starts failing after a config change.
  # Read to everyone before the clock starts.
  briefing: |
    It is Wednesday 11:00. A config change to checkout went out ten minutes ago.
  # Drill seconds per wall-clock second; `--speed N` overrides it.
  timeScale: 1
  # What the exercise tests. Each is met by the first event of its kind
  # (ack, declare, assign, update, step, resolve, note), optionally `by` a role.
  objectives:
    - id: declare-fast
      description: A severity is declared within 5 minutes.
      check: {event: declare, within: 5m}
    - id: first-update
      description: The communications lead posts an update within 10 minutes.
      check: {event: update, within: 10m, by: communications}
  # The injects (the MSEL). Each has `at` (drill time) or `when` (a
  # condition), and one action: alert, message, escalate or fault.
  injects:
    - id: page
      at: 0s
      # Posted to Alertmanager when GAMEDAY_ALERTMANAGER_URL is set,
      # otherwise handed to the participants directly.
      alert:
        labels: {alertname: CheckoutErrors, service: checkout, severity: critical}
        annotations: {summary: "checkout 5xx above 10%"}
    - id: dashboard
      at: 1m
      message: {to: [operations], from: Grafana, text: "error rate 12 %, started right after the config change"}
    # Fires at `by` only if nobody acknowledged before then.
    - id: escalate
      when: {noEvent: ack, by: 5m}
      escalate: {to: incidentCommander, reason: the primary on-call did not acknowledge}
    # Fires `delay` after another inject fired (never, if it never fires).
    - id: hint
      when: {after: dashboard, delay: 2m}
      message: {to: [all], from: Change log, text: "the config change lowered the connection pool from 50 to 5"}
  response:
    severity: SEV2
    roles: {incidentCommander: ic-oncall, communications: comms-oncall, operations: ops-oncall}
    runbook:
      steps:
        - {id: ack, title: Acknowledge the page}
        - {id: revert-config, title: Revert the config change, critical: true}
    # Scripted responders, at drill times: they make the drill runnable in CI.
    autopilot:
      - {at: 30s, as: ops-oncall, do: ack}
      - {at: 2m, as: ic-oncall, do: declare, severity: SEV2}
      - {at: 3m, as: comms-oncall, do: update, message: "Checkout errors; reverting a config change"}
      - {at: 4m, as: ops-oncall, do: step, step: revert-config}
      - {at: 6m, as: ic-oncall, do: resolve}
"#;

/// The starter drill named `name`, checked to validate.
pub fn starter(name: &str) -> anyhow::Result<String> {
    let text = STARTER
        .replace("@NAME@", name)
        .replace("@FILE@", &format!("{name}.yaml"));
    if let Err(diags) =
        crate::drill::load_str(name, &text, &Config::default(), &crate::faults::Registry)
    {
        anyhow::bail!(
            "internal error: the starter drill does not validate:\n{}",
            crate::diag::render_all(&diags, false)
        );
    }
    Ok(text)
}
