//! The postmortem draft must never contradict its own scorecard. Each run
//! outcome (passed, failed, aborted, not-run, Prometheus down) is rendered
//! to report.md and checked, statement by statement, against result.json:
//! status, recovery, every score component, and the action items.

use serde_json::Value;

use super::fixture::matrix;
use super::markdown::render;

/// The text of `## title` up to the next heading of any level.
fn section<'a>(md: &'a str, title: &str) -> &'a str {
    let start = md
        .find(&format!("\n## {title}\n"))
        .unwrap_or_else(|| panic!("no section {title}"));
    let rest = &md[start + 1..];
    let end = rest[3..].find("\n#").map_or(rest.len(), |i| i + 3);
    &rest[..end]
}

fn check_status(case: &str, md: &str, json: &Value) {
    let status = json["status"].as_str().unwrap();
    assert!(
        md.starts_with(&format!(
            "# Game day report: checkout-pod-loss — {}\n",
            status.to_uppercase()
        )),
        "{case}: header disagrees with status {status}"
    );
    assert!(
        md.contains(&format!("exit code {}\n", json["exitCode"])),
        "{case}: exit code"
    );
    let summary = section(md, "Summary");
    assert!(
        summary.contains(&format!("The run {status} with")),
        "{case}: summary disagrees with status {status}:\n{summary}"
    );
}

/// Recovered means the last recovery reading held: the recovery phase
/// stops at the first tick where every probe holds.
fn check_recovery(case: &str, md: &str, json: &Value) {
    for p in json["probes"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap();
        let last = p["points"]
            .as_array()
            .unwrap()
            .iter()
            .rfind(|pt| pt["phase"] == "recover");
        let said_not = md.contains(&format!("SLI {name} did not recover"));
        let table_not = md.contains("**not recovered**");
        match last.map(|pt| pt["ok"] == true) {
            Some(true) | None => assert!(
                !said_not && !table_not,
                "{case}: {name} recovered but the report says it did not"
            ),
            Some(false) => assert!(
                said_not && table_not,
                "{case}: {name} did not recover but the report does not say so"
            ),
        }
    }
    let mitigated = json["moments"]["tMitigate"].is_string();
    let update = &md[md.find("\n### Status update\n").unwrap()..];
    assert_eq!(
        update.contains("- Status: mitigated at"),
        mitigated,
        "{case}: status update disagrees with tMitigate"
    );
}

fn component_label(name: &str) -> &'static str {
    match name {
        "detect" => "Detection",
        "ack" => "Acknowledgement",
        "mitigate" => "Mitigation",
        "roles" => "Role coverage",
        "comms" => "Status updates",
        _ => "Runbook adherence",
    }
}

fn check_components(case: &str, md: &str, json: &Value) {
    let card = &json["scorecard"];
    let well = section(md, "What went well");
    let poorly = section(md, "What went poorly");
    for c in card["components"].as_array().unwrap() {
        let name = c["component"].as_str().unwrap();
        let label = format!("- {}:", component_label(name));
        let row = match c["score"].as_f64() {
            Some(s) => {
                let line = if s >= 0.9 { well } else { poorly };
                assert!(
                    line.contains(&label) && line.contains(&format!("score {s:.2}")),
                    "{case}: {name} scored {s:.2} but the draft does not say so"
                );
                format!("| {name} | {s:.2} |")
            }
            None => {
                assert!(
                    !well.contains(&label) && !poorly.contains(&label),
                    "{case}: {name} was not scored but the draft judges it"
                );
                format!("| {name} | n/a |")
            }
        };
        assert!(md.contains(&row), "{case}: scorecard row {row} missing");
        let measured = c["measured"].as_str().unwrap();
        if name == "runbook" && c["score"].is_number() && !measured.starts_with("3/3") {
            assert!(
                measured.contains("not done: "),
                "{case}: `{measured}` does not name the missing steps"
            );
        }
    }
    let composite = match card["composite"].as_f64() {
        Some(c) => format!("**Composite: {c:.2}**"),
        None => "**Composite: n/a**".into(),
    };
    assert!(md.contains(&composite), "{case}: {composite}");
    assert!(
        !md.contains("by on material change"),
        "{case}: next-update wording"
    );
}

fn check_actions(case: &str, md: &str, json: &Value) {
    let items = json["actionItems"].as_array().unwrap();
    let table = section(md, "Action items");
    let rows = table.lines().filter(|l| l.starts_with("| P")).count();
    assert_eq!(rows, items.len(), "{case}: action item count\n{table}");
    for i in items {
        let title = i["title"].as_str().unwrap().replace('|', "\\|");
        assert!(table.contains(&title), "{case}: item {title} missing");
        let owner = i["ownerRole"].to_string();
        assert!(!table.contains(&owner) || !owner.contains('{'), "{case}");
    }
    if items.is_empty() {
        assert!(table.contains("None derived from this run."), "{case}");
    }
    if json["moments"]["tInject"].is_null() {
        assert!(
            items.is_empty(),
            "{case}: a run that injected nothing has action items: {items:?}"
        );
    }
}

#[test]
fn the_postmortem_agrees_with_result_json_for_every_outcome() {
    let cases = matrix();
    for (case, r) in &cases {
        let json = serde_json::to_value(r).unwrap();
        let md = render(r);
        check_status(case, &md, &json);
        check_recovery(case, &md, &json);
        check_components(case, &md, &json);
        check_actions(case, &md, &json);
    }
    // The matrix covers what it claims to.
    let json = |name: &str| {
        let (_, r) = cases.iter().find(|(c, _)| *c == name).unwrap();
        serde_json::to_value(r).unwrap()
    };
    assert_eq!(json("passed")["status"], "passed");
    assert_eq!(json("failed")["status"], "failed");
    assert_eq!(json("aborted")["status"], "aborted");
    assert_eq!(json("not-run")["status"], "not-run");
    let down = json("prometheus-down");
    let mitigate = &down["scorecard"]["components"][2];
    assert_eq!(mitigate["component"], "mitigate");
    assert!(mitigate["score"].is_null(), "unknown is not success");
    assert!(mitigate["note"].as_str().unwrap().contains("not measured"));
    let md = render(
        &cases
            .iter()
            .find(|(c, _)| *c == "prometheus-down")
            .unwrap()
            .1,
    );
    assert!(md.contains("- Next update: on material change"), "{md}");
    // An alert not yet due when a guardrail stopped the run was not tested.
    let aborted = json("aborted");
    assert!(
        aborted["actionItems"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["rule"] != "fix-detection"),
        "{}",
        aborted["actionItems"]
    );
}
