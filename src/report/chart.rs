//! One SVG chart per SLO probe for report.html: the readings as a polyline
//! over the run, each fault's window shaded, and the `expect` / `during`
//! thresholds as dashed lines. Hand-made SVG keeps the report a single
//! self-contained file with no scripts or fonts to fetch.

use std::fmt::Write;

use jiff::Timestamp;

use super::model::{FaultRecord, ProbeSeries};

const W: f64 = 760.0;
const H: f64 = 220.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 36.0;

/// The number in an expectation text (`>= 0.99`, `< 500ms` → 0.99, 500).
/// Thresholds that are not a plain comparison with a number are not drawn.
pub fn threshold(expect: &str) -> Option<f64> {
    let t = expect.trim().trim_start_matches(['<', '>', '=', '!', '~']);
    let num: String = t
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
        .collect();
    num.parse().ok()
}

/// XML text escaping for labels.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

struct Scale {
    t0: Timestamp,
    span: f64,
    lo: f64,
    hi: f64,
}

impl Scale {
    fn x(&self, t: Timestamp) -> f64 {
        let s = t.duration_since(self.t0).as_secs_f64();
        LEFT + (s / self.span).clamp(0.0, 1.0) * (W - LEFT - RIGHT)
    }
    fn y(&self, v: f64) -> f64 {
        let f = if self.hi > self.lo {
            (v - self.lo) / (self.hi - self.lo)
        } else {
            0.5
        };
        TOP + (1.0 - f.clamp(0.0, 1.0)) * (H - TOP - BOTTOM)
    }
}

/// The chart for one probe, from `start` to `end` (the run's span).
pub fn probe_svg(
    series: &ProbeSeries,
    faults: &[FaultRecord],
    start: Timestamp,
    end: Timestamp,
) -> String {
    let values: Vec<f64> = series.points.iter().filter_map(|p| p.value).collect();
    let expect = threshold(&series.expect);
    let during = series.during.as_deref().and_then(threshold);
    let mut lo = values
        .iter()
        .copied()
        .chain(expect)
        .chain(during)
        .fold(f64::INFINITY, f64::min);
    let mut hi = values
        .iter()
        .copied()
        .chain(expect)
        .chain(during)
        .fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.08).max(hi.abs() * 0.01).max(1e-9);
    let sc = Scale {
        t0: start,
        span: end.duration_since(start).as_secs_f64().max(1.0),
        lo: lo - pad,
        hi: hi + pad,
    };
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{}">"#,
        esc(&series.name)
    );
    let _ = write!(
        s,
        r##"<rect x="{LEFT}" y="{TOP}" width="{}" height="{}" fill="#fafafa" stroke="#ccc"/>"##,
        W - LEFT - RIGHT,
        H - TOP - BOTTOM
    );
    for f in faults {
        let Some(a) = f.injected_at else { continue };
        let b = f.reverted_at.unwrap_or(end);
        let (xa, xb) = (sc.x(a), sc.x(b));
        let _ = write!(
            s,
            r##"<rect class="fault-window" x="{xa:.1}" y="{TOP}" width="{:.1}" height="{}" fill="#f4a3a3" fill-opacity="0.35"><title>{}</title></rect>"##,
            (xb - xa).max(1.0),
            H - TOP - BOTTOM,
            esc(&f.name)
        );
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{}" font-size="11" fill="#a33">{}</text>"##,
            xa + 3.0,
            TOP + 12.0,
            esc(&f.name)
        );
    }
    for (class, v, color, label) in [
        ("threshold-expect", expect, "#2a7", "expect"),
        ("threshold-during", during, "#d80", "during"),
    ] {
        let Some(v) = v else { continue };
        let y = sc.y(v);
        let _ = write!(
            s,
            r##"<line class="{class}" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="{color}" stroke-dasharray="6 4"/><text x="{}" y="{:.1}" font-size="11" text-anchor="end" fill="{color}">{label} {}</text>"##,
            W - RIGHT,
            W - RIGHT - 4.0,
            y - 3.0,
            esc(if class == "threshold-expect" {
                &series.expect
            } else {
                series.during.as_deref().unwrap_or("")
            })
        );
    }
    // Axis labels: the value range and the run's time span.
    for v in [sc.lo + pad, sc.hi - pad] {
        let _ = write!(
            s,
            r##"<text x="{}" y="{:.1}" font-size="11" text-anchor="end" fill="#555">{}</text>"##,
            LEFT - 4.0,
            sc.y(v) + 4.0,
            short(v)
        );
    }
    let _ = write!(
        s,
        r##"<text x="{LEFT}" y="{}" font-size="11" fill="#555">0s</text><text x="{}" y="{}" font-size="11" text-anchor="end" fill="#555">{}s</text>"##,
        H - 18.0,
        W - RIGHT,
        H - 18.0,
        sc.span.round()
    );
    // Unreadable readings break the line rather than being drawn as zero.
    let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for p in &series.points {
        match p.value {
            Some(v) => {
                if let Some(r) = runs.last_mut() {
                    r.push((sc.x(p.at), sc.y(v)));
                }
            }
            None => runs.push(Vec::new()),
        }
    }
    for r in runs.iter().filter(|r| !r.is_empty()) {
        let pts: Vec<String> = r.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        let _ = write!(
            s,
            r##"<polyline class="readings" fill="none" stroke="#1f5fbf" stroke-width="2" points="{}"/>"##,
            pts.join(" ")
        );
    }
    for p in &series.points {
        if let (Some(v), false) = (p.value, p.ok) {
            let _ = write!(
                s,
                r##"<circle class="breach" cx="{:.1}" cy="{:.1}" r="3" fill="#c22"/>"##,
                sc.x(p.at),
                sc.y(v)
            );
        }
    }
    s.push_str("</svg>");
    s
}

fn short(v: f64) -> String {
    if v.abs() >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_from_expectations() {
        assert_eq!(threshold(">= 0.99"), Some(0.99));
        assert_eq!(threshold("< 500"), Some(500.0));
        assert_eq!(threshold("== 4"), Some(4.0));
        assert_eq!(threshold("between a and b"), None);
    }

    #[test]
    fn a_chart_has_every_reading_the_window_and_both_thresholds() {
        let r = crate::report::fixture::report(false);
        let p = &r.probes[0];
        let end = r.ended.unwrap_or(r.started);
        let svg = probe_svg(p, &r.faults, r.started, end);
        let n: usize = svg
            .split("<polyline")
            .skip(1)
            .map(|pl| {
                let pts = pl.split("points=\"").nth(1).unwrap();
                pts[..pts.find('"').unwrap()].split(' ').count()
            })
            .sum();
        assert_eq!(n, p.points.iter().filter(|p| p.value.is_some()).count());
        assert!(svg.contains("class=\"fault-window\""));
        assert!(svg.contains("class=\"threshold-expect\""));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }
}
