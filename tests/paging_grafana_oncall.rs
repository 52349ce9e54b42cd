//! Grafana OnCall as the source of the ack (issue 17), against a local stub
//! of its Formatted Webhook integration (bodies validated against the
//! schema transcribed from OnCall's docs) and public API alert groups: the
//! group's `acknowledged_at` is 42 s after it was created, and result.json
//! says TTA 42 s from `grafana-oncall` with `acknowledged_by`; the group is
//! resolved (`state: ok`) at the end.

use serde_json::json;

mod drill_support;
mod paging_support;
use paging_support::*;

#[test]
fn an_ack_42s_after_the_alert_group_in_oncall_is_the_drills_tta() {
    let stub = grafana_oncall(ack_after(42, "UADALOVELACE"));
    let tmp = tempfile::tempdir().unwrap();
    let config = format!(
        "paging:\n  pollInterval: 1s\n  grafanaOncall:\n    url: {}\n    token: ${{ONCALL_TOKEN}}\n    webhookUrl: ${{ONCALL_WEBHOOK_URL}}\n",
        stub.url
    );
    let (mut cmd, run) = drill_command(tmp.path(), &config, &drill_yaml("3s"));
    cmd.env(
        "ONCALL_WEBHOOK_URL",
        format!(
            "{}/integrations/v1/formatted_webhook/{ONCALL_HOOK_SECRET}/",
            stub.url
        ),
    );
    let (_, body) = run_acked(&stub, cmd, &run, "grafana-oncall", "UADALOVELACE");
    assert!(body["title"].as_str().unwrap().starts_with("[DRILL] "));
    let journal = std::fs::read_to_string(run.join("journal.jsonl")).unwrap();
    assert!(
        !journal.contains(ONCALL_HOOK_SECRET),
        "the webhook URL is a secret"
    );
}

#[test]
fn the_stub_rejects_a_malformed_webhook_body() {
    let v = validator("grafana-oncall-formatted-webhook.schema.json", None);
    assert!(v.is_valid(&json!({"alert_uid": "u", "title": "t", "state": "alerting"})));
    assert!(!v.is_valid(&json!({"alert_uid": "u", "state": "firing"})));
    assert!(!v.is_valid(&json!({"title": 3})));
}
