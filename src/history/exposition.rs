//! `gameday metrics -o prometheus`: the Prometheus text exposition format,
//! for node-exporter's textfile collector, so drill trends sit next to the
//! service dashboards and can be alerted on ("no game day for 90 days").
//!
//! The times are summaries (`quantile` 0.5 and 0.9, `_sum`, `_count`):
//! promtool rejects a `quantile` label on any other type. Every series has
//! both a `scenario` and a `severity` label; an empty value means "all", so
//! `{severity=""}` selects the per-scenario series, `{scenario=""}` the
//! per-severity ones and `{scenario="",severity=""}` the overall one.

use std::fmt::Write as _;

use super::metrics::{Group, Metrics, Summary};

/// A metric family drawn from each group: name, help, and the value picked.
type Family<T> = (&'static str, &'static str, fn(&Group) -> T);

/// Writes `metrics` in the text exposition format (version 0.0.4).
pub fn render(metrics: &Metrics) -> String {
    let mut rows: Vec<(&str, &str, &Group)> = vec![("", "", &metrics.overall)];
    rows.extend(metrics.by_scenario.iter().map(|g| (g.key.as_str(), "", g)));
    rows.extend(metrics.by_severity.iter().map(|g| ("", g.key.as_str(), g)));

    let mut out = String::new();
    let times: [Family<Summary>; 4] = [
        (
            "gameday_mttd_seconds",
            "Time to detect (alert firing minus fault injection) over recorded game-day runs.",
            |g| g.mttd,
        ),
        (
            "gameday_mtta_seconds",
            "Time to acknowledge (acknowledgement minus notification) over recorded game-day runs.",
            |g| g.mtta,
        ),
        (
            "gameday_mttm_seconds",
            "Time to mitigate (SLI back within its SLO minus fault injection) over recorded game-day runs.",
            |g| g.mttm,
        ),
        (
            "gameday_mttr_seconds",
            "Time to resolve (alert resolved minus fault injection) over recorded game-day runs.",
            |g| g.mttr,
        ),
    ];
    for (name, help, pick) in times {
        header(&mut out, name, help, "summary");
        for (scenario, severity, group) in &rows {
            let s = pick(group);
            let labels = labels(scenario, severity);
            for (q, v) in [("0.5", s.median), ("0.9", s.p90)] {
                if let Some(v) = v {
                    let _ = writeln!(out, "{name}{{{labels},quantile=\"{q}\"}} {v}");
                }
            }
            let _ = writeln!(out, "{name}_sum{{{labels}}} {}", s.sum);
            let _ = writeln!(out, "{name}_count{{{labels}}} {}", s.count);
        }
    }

    let gauges: [Family<Option<f64>>; 4] = [
        (
            "gameday_runs",
            "Game-day runs recorded in the window.",
            |g| Some(g.runs as f64),
        ),
        (
            "gameday_runs_passed",
            "Game-day runs in the window whose hypothesis held and whose score met the pass mark.",
            |g| Some(g.passed as f64),
        ),
        (
            "gameday_pass_ratio",
            "Share of game-day runs in the window that passed (0 to 1).",
            |g| g.pass_rate,
        ),
        (
            "gameday_last_run_timestamp_seconds",
            "Start time of the latest game-day run, as a Unix timestamp.",
            |g| g.last_run_at.map(|t| t.as_millisecond() as f64 / 1000.0),
        ),
    ];
    for (name, help, pick) in gauges {
        header(&mut out, name, help, "gauge");
        for (scenario, severity, group) in &rows {
            if let Some(v) = pick(group) {
                let _ = writeln!(out, "{name}{{{}}} {v}", labels(scenario, severity));
            }
        }
    }

    let a = &metrics.actions;
    header(
        &mut out,
        "gameday_action_items",
        "Postmortem action items of the runs in the window, by state.",
        "gauge",
    );
    let _ = writeln!(out, "gameday_action_items{{state=\"done\"}} {}", a.done);
    let _ = writeln!(out, "gameday_action_items{{state=\"open\"}} {}", a.open);
    header(
        &mut out,
        "gameday_action_items_overdue",
        "Open postmortem action items past their due date.",
        "gauge",
    );
    let _ = writeln!(out, "gameday_action_items_overdue {}", a.overdue);
    if let Some(rate) = a.completion_rate {
        header(
            &mut out,
            "gameday_action_items_completion_ratio",
            "Share of postmortem action items done (0 to 1).",
            "gauge",
        );
        let _ = writeln!(out, "gameday_action_items_completion_ratio {rate}");
    }
    out
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn labels(scenario: &str, severity: &str) -> String {
    format!(
        "scenario=\"{}\",severity=\"{}\"",
        escape(scenario),
        escape(severity)
    )
}

/// Label values escape backslash, double quote and newline.
fn escape(value: &str) -> String {
    let mut s = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape("x\ny"), "x\\ny");
    }
}
