//! One SVG chart per SLO probe for report.html: the readings as a polyline
//! over the run, each fault's window shaded (a line for an instantaneous
//! fault), the `expect` / `during` thresholds as dashed lines, the moments
//! the alert fired, was acknowledged and resolved, labelled axes and a
//! legend. Hand-made SVG keeps the report a single self-contained file with
//! no scripts or fonts to fetch.

use std::fmt::Write;

use jiff::Timestamp;

use super::model::{FaultRecord, ProbeSeries};
use crate::score::human_secs;

const W: f64 = 760.0;
const H: f64 = 270.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 76.0;
const PLOT_W: f64 = W - LEFT - RIGHT;
const PLOT_H: f64 = H - TOP - BOTTOM;

const READINGS: &str = "#1f5fbf";
const BREACH: &str = "#c22";
const FAULT: &str = "#f4a3a3";
const EXPECT: &str = "#2a7";
const DURING: &str = "#d80";

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

/// A response moment drawn on the time axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkerKind {
    Fired,
    Acknowledged,
    Resolved,
}

impl MarkerKind {
    pub const ALL: [MarkerKind; 3] = [
        MarkerKind::Fired,
        MarkerKind::Acknowledged,
        MarkerKind::Resolved,
    ];

    fn class(self) -> &'static str {
        match self {
            MarkerKind::Fired => "marker-fired",
            MarkerKind::Acknowledged => "marker-ack",
            MarkerKind::Resolved => "marker-resolved",
        }
    }

    fn label(self) -> &'static str {
        match self {
            MarkerKind::Fired => "alert fired",
            MarkerKind::Acknowledged => "acknowledged",
            MarkerKind::Resolved => "resolved",
        }
    }

    fn color(self) -> &'static str {
        match self {
            MarkerKind::Fired => "#c0392b",
            MarkerKind::Acknowledged => "#7b3fb5",
            MarkerKind::Resolved => "#2a7",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub kind: MarkerKind,
    pub at: Timestamp,
}

/// The time axis every chart of a report shares: the run's span, labelled
/// as offsets from the first injection like the timeline (`T+30s`).
#[derive(Debug, Clone, Copy)]
pub struct TimeAxis {
    pub start: Timestamp,
    pub end: Timestamp,
    pub t0: Timestamp,
}

struct Scale {
    axis: TimeAxis,
    span: f64,
    lo: f64,
    hi: f64,
}

impl Scale {
    fn x(&self, t: Timestamp) -> f64 {
        let s = t.duration_since(self.axis.start).as_secs_f64();
        LEFT + (s / self.span).clamp(0.0, 1.0) * PLOT_W
    }
    fn y(&self, v: f64) -> f64 {
        let f = if self.hi > self.lo {
            (v - self.lo) / (self.hi - self.lo)
        } else {
            0.5
        };
        TOP + (1.0 - f.clamp(0.0, 1.0)) * PLOT_H
    }
}

/// A "nice" step (1, 2 or 5 × 10^k) giving about `n` intervals over `span`.
fn nice_step(span: f64, n: f64) -> f64 {
    let raw = (span / n).max(f64::MIN_POSITIVE);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

/// The value range: every reading and both thresholds, widened to whole
/// tick steps so the ends are labelled. The `expect` threshold is always
/// inside, so a breach of the SLO is visible even when the `during`
/// guardrail is far lower.
fn value_range(series: &ProbeSeries) -> (f64, f64, f64) {
    let expect = threshold(&series.expect);
    let during = series.during.as_deref().and_then(threshold);
    let all: Vec<f64> = series
        .points
        .iter()
        .filter_map(|p| p.value)
        .chain(expect)
        .chain(during)
        .filter(|v| v.is_finite())
        .collect();
    let lo = all.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let (lo, hi) = if hi - lo < 1e-9 {
        (lo - lo.abs().max(1.0) * 0.05, hi + hi.abs().max(1.0) * 0.05)
    } else {
        (lo, hi)
    };
    let step = nice_step(hi - lo, 4.0);
    // Through the label's own rounding, so 0.7000000000000001 reads 0.7.
    let tidy = |v: f64| short(v, step).parse().unwrap_or(v);
    (
        tidy((lo / step).floor() * step),
        tidy((hi / step).ceil() * step),
        step,
    )
}

/// The chart for one probe over `axis`, with the faults and markers.
pub fn probe_svg(
    series: &ProbeSeries,
    faults: &[FaultRecord],
    markers: &[Marker],
    axis: TimeAxis,
) -> String {
    let (lo, hi, step) = value_range(series);
    let sc = Scale {
        axis,
        span: axis.end.duration_since(axis.start).as_secs_f64().max(1.0),
        lo,
        hi,
    };
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{}" data-y-min="{lo}" data-y-max="{hi}">"#,
        esc(&series.name)
    );
    let _ = write!(
        s,
        r##"<rect x="{LEFT}" y="{TOP}" width="{PLOT_W}" height="{PLOT_H}" fill="#fafafa" stroke="#ccc"/>"##
    );
    y_axis(&mut s, &sc, step);
    x_axis(&mut s, &sc);
    fault_marks(&mut s, &sc, faults);
    thresholds(&mut s, &sc, series);
    readings(&mut s, &sc, series);
    response_markers(&mut s, &sc, markers);
    legend(&mut s);
    s.push_str("</svg>");
    s
}

fn y_axis(s: &mut String, sc: &Scale, step: f64) {
    let n = ((sc.hi - sc.lo) / step).round() as i64;
    for i in 0..=n {
        let v = sc.lo + step * i as f64;
        let y = sc.y(v);
        let _ = write!(
            s,
            r##"<line class="grid" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#eee"/><text class="y-tick" x="{}" y="{:.1}" font-size="11" text-anchor="end" fill="#555">{}</text>"##,
            W - RIGHT,
            LEFT - 4.0,
            y + 4.0,
            short(v, step)
        );
    }
}

/// Ticks at a round interval, labelled as offsets from the first injection.
fn x_axis(s: &mut String, sc: &Scale) {
    let from = sc.axis.start.duration_since(sc.axis.t0).as_secs_f64();
    let to = from + sc.span;
    let step = [
        1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0,
    ]
    .into_iter()
    .find(|st| sc.span / st <= 8.0)
    .unwrap_or(7200.0);
    let y = TOP + PLOT_H;
    let mut t = (from / step).ceil() * step;
    while t <= to + 1e-9 {
        let x = LEFT + (t - from) / sc.span * PLOT_W;
        let sign = if t < 0.0 { "-" } else { "+" };
        let label = if t.abs() < 10.0 && t.fract() == 0.0 {
            format!("T{sign}{}s", t.abs())
        } else {
            format!("T{sign}{}", human_secs(t.abs()))
        };
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" x2="{x:.1}" y1="{y}" y2="{}" stroke="#888"/><text class="x-tick" x="{x:.1}" y="{}" font-size="11" text-anchor="middle" fill="#555">{label}</text>"##,
            y + 4.0,
            y + 16.0
        );
        t += step;
    }
}

/// A fault that holds is shaded from its injection to its revert; an
/// instantaneous one (podKill, podEvict) has no window, so it is a line.
fn fault_marks(s: &mut String, sc: &Scale, faults: &[FaultRecord]) {
    for f in faults {
        let Some(a) = f.injected_at else { continue };
        let xa = sc.x(a);
        if crate::faults::kind_of(f.kind).holds() {
            let xb = sc.x(f.reverted_at.unwrap_or(sc.axis.end));
            let _ = write!(
                s,
                r##"<rect class="fault-window" x="{xa:.1}" y="{TOP}" width="{:.1}" height="{PLOT_H}" fill="{FAULT}" fill-opacity="0.35"><title>{}</title></rect>"##,
                (xb - xa).max(1.0),
                esc(&f.name)
            );
        } else {
            let _ = write!(
                s,
                r##"<line class="fault-window fault-instant" x1="{xa:.1}" x2="{xa:.1}" y1="{TOP}" y2="{}" stroke="{BREACH}" stroke-width="3" stroke-opacity="0.5"><title>{} (instantaneous)</title></line>"##,
                TOP + PLOT_H,
                esc(&f.name)
            );
        }
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{}" font-size="11" fill="#a33">{}</text>"##,
            xa + 4.0,
            TOP + 12.0,
            esc(&f.name)
        );
    }
}

fn thresholds(s: &mut String, sc: &Scale, series: &ProbeSeries) {
    let during = series.during.as_deref();
    for (class, text, color, label) in [
        (
            "threshold-expect",
            Some(series.expect.as_str()),
            EXPECT,
            "expect",
        ),
        ("threshold-during", during, DURING, "during"),
    ] {
        let Some(v) = text.and_then(threshold) else {
            continue;
        };
        let y = sc.y(v);
        let _ = write!(
            s,
            r##"<line class="{class}" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="{color}" stroke-dasharray="6 4"/><text x="{}" y="{:.1}" font-size="11" text-anchor="end" fill="{color}">{label} {}</text>"##,
            W - RIGHT,
            W - RIGHT - 4.0,
            y - 3.0,
            esc(text.unwrap_or_default())
        );
    }
}

/// The polyline (broken where a probe could not be read, rather than drawn
/// as zero) and a red dot on every reading that missed its expectation.
fn readings(s: &mut String, sc: &Scale, series: &ProbeSeries) {
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
            r##"<polyline class="readings" fill="none" stroke="{READINGS}" stroke-width="2" points="{}"/>"##,
            pts.join(" ")
        );
    }
    for p in &series.points {
        if let (Some(v), false) = (p.value, p.ok) {
            let _ = write!(
                s,
                r##"<circle class="breach" cx="{:.1}" cy="{:.1}" r="3" fill="{BREACH}"/>"##,
                sc.x(p.at),
                sc.y(v)
            );
        }
    }
}

fn response_markers(s: &mut String, sc: &Scale, markers: &[Marker]) {
    for m in markers {
        let x = sc.x(m.at);
        let color = m.kind.color();
        let _ = write!(
            s,
            r##"<line class="marker {}" x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{}" stroke="{color}" stroke-width="1.5" stroke-dasharray="2 3"><title>{}</title></line>"##,
            m.kind.class(),
            TOP + PLOT_H,
            m.kind.label()
        );
    }
}

/// What each mark means, under the time axis.
fn legend(s: &mut String) {
    let y = H - 20.0;
    let swatch = |x: f64, i: usize| -> String {
        match i {
            0 => format!(
                r##"<line x1="{x}" x2="{}" y1="{y}" y2="{y}" stroke="{READINGS}" stroke-width="2"/>"##,
                x + 12.0
            ),
            1 => format!(
                r##"<circle cx="{}" cy="{y}" r="3" fill="{BREACH}"/>"##,
                x + 6.0
            ),
            2 => format!(
                r##"<rect x="{x}" y="{}" width="12" height="10" fill="{FAULT}" fill-opacity="0.6"/>"##,
                y - 5.0
            ),
            _ => {
                let k = MarkerKind::ALL[i - 3];
                format!(
                    r##"<line x1="{0}" x2="{0}" y1="{1}" y2="{2}" stroke="{3}" stroke-width="1.5" stroke-dasharray="2 3"/>"##,
                    x + 6.0,
                    y - 6.0,
                    y + 6.0,
                    k.color()
                )
            }
        }
    };
    let labels = ["reading", "reading outside its expectation", "fault active"]
        .into_iter()
        .chain(MarkerKind::ALL.map(MarkerKind::label));
    s.push_str(r#"<g class="legend">"#);
    let mut x = LEFT;
    for (i, label) in labels.enumerate() {
        let _ = write!(
            s,
            r##"<g class="legend-item">{}<text x="{:.1}" y="{:.1}" font-size="11" fill="#333">{label}</text></g>"##,
            swatch(x, i),
            x + 16.0,
            y + 4.0
        );
        x += 22.0 + label.len() as f64 * 6.2;
    }
    s.push_str("</g>");
}

/// A tick label with as many decimals as the step needs.
fn short(v: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10()).ceil() as usize
    };
    format!("{v:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::t;
    use crate::report::model::{Phase, ProbePoint};
    use crate::scenario::FaultType;

    #[test]
    fn thresholds_from_expectations() {
        assert_eq!(threshold(">= 0.99"), Some(0.99));
        assert_eq!(threshold("< 500"), Some(500.0));
        assert_eq!(threshold("== 4"), Some(4.0));
        assert_eq!(threshold("between a and b"), None);
    }

    /// Every `<tag ...>` element of the SVG, as its attribute text.
    fn elements<'a>(svg: &'a str, tag: &str) -> Vec<&'a str> {
        svg.split(&format!("<{tag} "))
            .skip(1)
            .map(|e| &e[..e.find('>').unwrap()])
            .collect()
    }

    fn attr(element: &str, name: &str) -> Option<f64> {
        let at = element.find(&format!(" {name}=\""))? + name.len() + 3;
        let rest = &element[at..];
        rest[..rest.find('"')?].parse().ok()
    }

    /// Texts of the `<text class="{class}"` elements.
    fn texts(svg: &str, class: &str) -> Vec<String> {
        svg.split(&format!("<text class=\"{class}\""))
            .skip(1)
            .map(|e| {
                let body = &e[e.find('>').unwrap() + 1..];
                body[..body.find("</text>").unwrap()].to_string()
            })
            .collect()
    }

    fn series(values: &[f64], expect: &str, during: Option<&str>) -> ProbeSeries {
        ProbeSeries {
            name: "checkout-success".into(),
            expect: expect.into(),
            during: during.map(String::from),
            points: values
                .iter()
                .enumerate()
                .map(|(i, v)| ProbePoint {
                    at: t(2 * i as i64 - 10),
                    phase: Phase::During,
                    value: Some(*v),
                    ok: *v >= 0.99,
                })
                .collect(),
        }
    }

    fn fault(kind: FaultType, from: i64, to: i64) -> FaultRecord {
        FaultRecord {
            name: format!("{kind:?}"),
            kind,
            targets: vec![],
            injected_at: Some(t(from)),
            reverted_at: Some(t(to)),
            revert_error: None,
        }
    }

    fn axis() -> TimeAxis {
        TimeAxis {
            start: t(-10),
            end: t(110),
            t0: t(0),
        }
    }

    #[test]
    fn the_y_axis_holds_both_thresholds_and_every_reading() {
        for (values, expect, during) in [
            // Readings between the guardrail and the SLO: the SLO line must show.
            (vec![0.999, 0.97, 0.96, 0.999], ">= 0.99", Some(">= 0.75")),
            // Readings all under the SLO, no guardrail.
            (vec![0.5, 0.6, 0.8], ">= 0.99", None),
            // Readings above both.
            (vec![6.0, 7.0], ">= 4", Some(">= 2")),
        ] {
            let p = series(&values, expect, during);
            let svg = probe_svg(&p, &[], &[], axis());
            let root = elements(&svg, "svg")[0];
            let (lo, hi) = (
                attr(root, "data-y-min").unwrap(),
                attr(root, "data-y-max").unwrap(),
            );
            let wanted = values
                .iter()
                .copied()
                .chain(threshold(expect))
                .chain(during.and_then(threshold));
            for v in wanted {
                assert!(lo <= v && v <= hi, "{v} outside [{lo}, {hi}]");
            }
            // The ends of the axis are labelled, with ticks in between.
            let ticks = texts(&svg, "y-tick");
            assert!(ticks.len() >= 3, "{ticks:?}");
            assert_eq!(ticks[0].parse::<f64>().unwrap(), lo);
            assert_eq!(ticks.last().unwrap().parse::<f64>().unwrap(), hi);
            // The SLO line is inside the plot area.
            let line = elements(&svg, "line")
                .into_iter()
                .find(|l| l.contains("threshold-expect"))
                .unwrap();
            let y = attr(line, "y1").unwrap();
            assert!((TOP..=TOP + PLOT_H).contains(&y), "{y}");
        }
    }

    #[test]
    fn the_time_axis_has_several_ticks_from_the_injection() {
        let p = series(&[0.99; 10], ">= 0.99", None);
        let svg = probe_svg(&p, &[], &[], axis());
        let ticks = texts(&svg, "x-tick");
        assert!(ticks.len() >= 4, "{ticks:?}");
        assert_eq!(ticks[..3], ["T+0s", "T+15s", "T+30s"], "{ticks:?}");
        let short = TimeAxis {
            start: t(-10),
            end: t(20),
            t0: t(0),
        };
        let ticks = texts(&probe_svg(&p, &[], &[], short), "x-tick");
        assert_eq!(
            ticks,
            ["T-10s", "T-5s", "T+0s", "T+5s", "T+10s", "T+15s", "T+20s"]
        );
    }

    #[test]
    fn markers_instant_faults_and_the_legend() {
        let p = series(&[0.99, 0.5, 0.99], ">= 0.99", None);
        let markers = [
            Marker {
                kind: MarkerKind::Fired,
                at: t(6),
            },
            Marker {
                kind: MarkerKind::Acknowledged,
                at: t(8),
            },
            Marker {
                kind: MarkerKind::Resolved,
                at: t(50),
            },
        ];
        let faults = [
            fault(FaultType::named("podKill"), 0, 10),
            fault(FaultType::named("scale"), 20, 80),
        ];
        let svg = probe_svg(&p, &faults, &markers, axis());
        for class in ["marker-fired", "marker-ack", "marker-resolved"] {
            let line = elements(&svg, "line")
                .into_iter()
                .find(|l| l.contains(class))
                .unwrap_or_else(|| panic!("{class} missing"));
            assert!(attr(line, "x1").unwrap() > LEFT);
        }
        // The podKill is a line at its injection, not a 10 s window.
        let rects: Vec<&str> = elements(&svg, "rect")
            .into_iter()
            .filter(|r| r.contains("fault-window"))
            .collect();
        assert_eq!(rects.len(), 1, "only the scale fault has a window");
        let width = attr(rects[0], "width").unwrap();
        let per_second = PLOT_W / 120.0;
        assert!((width - 60.0 * per_second).abs() < 0.2, "{width}");
        let instant = elements(&svg, "line")
            .into_iter()
            .find(|l| l.contains("fault-instant"))
            .unwrap();
        assert_eq!(attr(instant, "x1"), attr(instant, "x2"));
        // One red dot, and a legend that says what it is.
        assert_eq!(
            elements(&svg, "circle").len(),
            2,
            "the dot and its legend swatch"
        );
        for label in [
            "reading outside its expectation",
            "fault active",
            "alert fired",
            "acknowledged",
            "resolved",
        ] {
            assert!(svg.contains(&format!(">{label}</text>")), "legend: {label}");
        }
    }

    #[test]
    fn a_chart_has_every_reading() {
        let r = crate::report::fixture::report(false);
        let p = &r.probes[0];
        let end = r.ended.unwrap_or(r.started);
        let svg = probe_svg(
            p,
            &r.faults,
            &[],
            TimeAxis {
                start: r.started,
                end,
                t0: r.t0(),
            },
        );
        let n: usize = elements(&svg, "polyline")
            .iter()
            .map(|pl| {
                let pts = pl.split("points=\"").nth(1).unwrap();
                pts[..pts.find('"').unwrap()].split(' ').count()
            })
            .sum();
        assert_eq!(n, p.points.iter().filter(|p| p.value.is_some()).count());
        assert!(svg.contains("fault-window"));
        assert!(svg.contains("class=\"threshold-expect\""));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }
}
