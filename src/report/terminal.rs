//! The scorecard as printed at the end of a run: the vector, the composite
//! and the pass/fail reason, coloured only when `term::use_color()` says so.

use std::fmt::Write;

use crate::score::Scorecard;
use crate::score::human_secs;

const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[31m";
const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("{code}{text}{RESET}")
    } else {
        text.to_string()
    }
}

fn score_color(s: f64) -> &'static str {
    if s >= 0.9 {
        GREEN
    } else if s >= 0.5 {
        YELLOW
    } else {
        RED
    }
}

/// Renders the scorecard; `color` is normally `gameday::term::use_color()`.
pub fn render(card: &Scorecard, color: bool) -> String {
    let mut out = String::new();
    let sev = card.severity.as_deref().unwrap_or("no severity");
    let _ = writeln!(out, "{}", paint(color, BOLD, &format!("Scorecard ({sev})")));
    for c in &card.components {
        let (score, code) = match c.score {
            Some(s) => (format!("{s:.2}"), score_color(s)),
            None => ("n/a".to_string(), DIM),
        };
        let weight = if c.score.is_some() {
            format!("×{:.2}", c.effective_weight)
        } else {
            "  -  ".to_string()
        };
        let mut line = format!(
            "  {:<9} {} {}  {} (target {})",
            c.component.name(),
            paint(color, code, &format!("{score:>4}")),
            weight,
            c.measured,
            c.target
        );
        if !c.note.is_empty() {
            line.push_str(&paint(color, DIM, &format!("  — {}", c.note)));
        }
        let _ = writeln!(out, "{line}");
    }
    let composite = card
        .composite
        .map(|c| format!("{c:.2}"))
        .unwrap_or_else(|| "n/a".into());
    let _ = writeln!(
        out,
        "  {:<9} {}   pass mark {:.2}",
        "composite",
        paint(color, BOLD, &format!("{composite:>4}")),
        card.pass_mark
    );
    let m = &card.metrics;
    let t = |s: Option<f64>| s.map(human_secs).unwrap_or_else(|| "-".into());
    let _ = writeln!(
        out,
        "  TTD {}  TTA {}  TTM {}  TTR {}",
        t(m.ttd_seconds),
        t(m.tta_seconds),
        t(m.ttm_seconds),
        t(m.ttr_seconds)
    );
    for f in &card.flags {
        let code = if f.fails_run() { RED } else { YELLOW };
        let _ = writeln!(out, "  {} {}", paint(color, code, "!"), f.message());
    }
    let verdict = if card.passed {
        paint(color, GREEN, "PASS")
    } else {
        paint(color, RED, "FAIL")
    };
    let _ = writeln!(out, "{verdict}: {}", card.reason);
    out
}

/// Prints to stderr (where progress goes), coloured per `term::use_color()`;
/// under `--log-format json` it is one `scorecard` event with the card's
/// fields, as in result.json.
pub fn print(card: &Scorecard) {
    let fields = serde_json::to_value(card).unwrap_or_default();
    let text = render(card, crate::term::use_color());
    crate::term::event("scorecard", fields, text.trim_end());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::Incident;
    use crate::score::{Observed, Targets, score};

    fn card() -> Scorecard {
        let t0 = jiff::Timestamp::from_second(1_700_000_000).unwrap();
        let obs = Observed {
            t_inject: Some(t0),
            t_impact: None,
            t_mitigate: None,
            t_end: t0,
            alerts: vec![],
            noise: vec![],
            unreadable: vec![],
            paging: vec![],
        };
        let mut targets = Targets::none(0.7);
        targets.mitigate = Some(crate::scenario::Duration::from_secs(60));
        score(&targets, &obs, &Incident::default()).scorecard
    }

    #[test]
    fn plain_text_has_vector_composite_and_verdict() {
        let text = render(&card(), false);
        assert!(!text.contains('\x1b'));
        for c in [
            "detect",
            "ack",
            "mitigate",
            "roles",
            "comms",
            "runbook",
            "composite",
        ] {
            assert!(text.contains(c), "{c} missing in\n{text}");
        }
        assert!(text.contains(" n/a "), "{text}");
        assert!(
            text.contains("PASS: composite 1.00 ≥ pass mark 0.70"),
            "{text}"
        );
    }

    #[test]
    fn colour_only_when_asked() {
        assert!(render(&card(), true).contains("\x1b[32mPASS"));
    }
}
