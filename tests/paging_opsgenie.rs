//! Opsgenie as the source of the ack (issue 17), against a local stub that
//! validates `POST /v2/alerts` and `/close` bodies against Opsgenie's
//! published OpenAPI (opsgenie/opsgenie-oas): the alert's log puts the ack
//! 42 s after the alert was created, and result.json says TTA 42 s from
//! `opsgenie` with the acknowledger; the alert is closed at the end.

use serde_json::json;

mod drill_support;
mod paging_support;
use paging_support::*;

#[test]
fn an_ack_42s_after_the_alert_in_opsgenie_is_the_drills_tta() {
    let stub = opsgenie(ack_after(42, "ada@example.com"));
    let tmp = tempfile::tempdir().unwrap();
    let config = format!(
        "paging:\n  pollInterval: 1s\n  opsgenie:\n    apiKey: ${{OPSGENIE_API_KEY}}\n    apiUrl: {}\n",
        stub.url
    );
    let (cmd, run) = drill_command(tmp.path(), &config, &drill_yaml("3s"));
    let (r, body) = run_acked(&stub, cmd, &run, "opsgenie", "ada@example.com");
    assert_eq!(r["paging"][0]["reached"], json!(["ada@example.com"]));
    assert!(body["message"].as_str().unwrap().starts_with("[DRILL] "));
    assert_eq!(body["details"]["gameday_drill"], "true");
    assert_eq!(body["priority"], "P1");
}

#[test]
fn the_stub_rejects_a_malformed_alert() {
    let v = validator("opsgenie-alert.schema.json", Some("CreateAlertPayload"));
    assert!(
        v.is_valid(&json!({"message": "m", "alias": "a", "details": {"k": "v"}, "priority": "P1"}))
    );
    for bad in [
        json!({"alias": "no message"}),
        json!({"message": "m", "priority": "P0"}),
        json!({"message": "m", "details": {"n": 1}}),
        json!({"message": "m", "responders": [{"id": "no type"}]}),
    ] {
        assert!(!v.is_valid(&bad), "{bad}");
    }
}
