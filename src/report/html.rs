//! report.html: the report people open in a browser after a game day, one
//! self-contained file (inline CSS and SVG, no scripts, no fetches) so it can
//! be attached to a ticket or uploaded as a CI artifact and still render.
//! The postmortem draft is the markdown one converted here, so both reports
//! always say the same thing.

use std::fmt::Write;

use jiff::Timestamp;

use super::chart::{Marker, MarkerKind, TimeAxis, esc, probe_svg};
use super::model::RunReport;
use super::{markdown, timeline};

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}\
h1{font-size:24px;margin-bottom:4px}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}\
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}\
th{background:#f3f3f3}.status{display:inline-block;padding:2px 10px;border-radius:4px;color:#fff;font-weight:600}\
.passed{background:#2a7}.failed,.revert-failed{background:#c22}.aborted,.incomplete,.not-run,.unreachable{background:#d80}\
.composite{font-size:32px;font-weight:700}.muted{color:#666}svg.chart{max-width:100%;height:auto;display:block}";

fn secs(v: Option<f64>) -> String {
    v.map(crate::score::human_secs)
        .unwrap_or_else(|| "—".into())
}

fn ts(t: Option<Timestamp>) -> String {
    t.map(|t| t.strftime("%H:%M:%S").to_string())
        .unwrap_or_else(|| "—".into())
}

pub fn render(r: &RunReport) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>gameday: {}</title><style>{STYLE}</style></head><body>\n",
        esc(&r.scenario.name)
    );
    header(&mut s, r);
    scorecard(&mut s, r);
    charts(&mut s, r);
    detection(&mut s, r);
    full_timeline(&mut s, r);
    s.push_str(&super::exercise::html(r));
    postmortem(&mut s, r);
    s.push_str("</body></html>\n");
    s
}

fn header(s: &mut String, r: &RunReport) {
    let _ = write!(
        s,
        "<header><h1>Game day: {}</h1><p><span class=\"status {}\">{}</span> <span class=\"muted\">run {} · context {} · started {}</span></p>",
        esc(&r.scenario.name),
        r.status.as_str(),
        r.status.as_str().to_uppercase(),
        esc(&r.run_id),
        esc(r.context.as_deref().unwrap_or("—")),
        r.started
    );
    if let Some(why) = &r.status_reason {
        let _ = write!(s, "<p>{}</p>", text(why));
    }
    let _ = writeln!(
        s,
        "<p><b>Hypothesis:</b> {}</p></header>",
        esc(&r.scenario.hypothesis)
    );
}

fn scorecard(s: &mut String, r: &RunReport) {
    let c = &r.scorecard;
    let _ = write!(
        s,
        "<section id=\"scorecard\"><h2>Scorecard</h2><p><span class=\"composite\">{}</span> <span class=\"muted\">pass mark {:.2} · {}</span></p>",
        c.composite
            .map(|v| format!("{v:.2}"))
            .unwrap_or_else(|| "—".into()),
        c.pass_mark,
        text(&c.reason)
    );
    s.push_str("<table><tr><th>Component</th><th>Weight</th><th>Score</th><th>Measured</th><th>Target</th><th>Note</th></tr>");
    for comp in &c.components {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{:.0}%</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(comp.component.name()),
            comp.effective_weight * 100.0,
            comp.score
                .map(|v| format!("{v:.2}"))
                .unwrap_or_else(|| "n/a".into()),
            text(&comp.measured),
            text(&comp.target),
            text(&comp.note)
        );
    }
    s.push_str("</table>");
    let m = &c.metrics;
    let _ = writeln!(
        s,
        "<p class=\"muted\">TTD {} · TTA {} · TTM {} · TTR {}</p></section>",
        secs(m.ttd_seconds),
        secs(m.tta_seconds),
        secs(m.ttm_seconds),
        secs(m.ttr_seconds)
    );
}

fn charts(s: &mut String, r: &RunReport) {
    s.push_str("<section id=\"charts\"><h2>SLO probes</h2>");
    if r.probes.is_empty() {
        s.push_str("<p>The scenario has no steady-state probes.</p>");
    }
    let last_point = r
        .probes
        .iter()
        .flat_map(|p| p.points.iter().map(|q| q.at))
        .max();
    let end = [r.ended, last_point]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(r.started);
    let axis = TimeAxis {
        start: r.started,
        end,
        t0: r.t0(),
    };
    let markers = markers(r);
    for p in &r.probes {
        let _ = write!(
            s,
            "<figure class=\"probe\"><figcaption><b>{}</b> <span class=\"muted\">expect {}{} · {} readings</span></figcaption>{}</figure>",
            esc(&p.name),
            esc(&p.expect),
            p.during
                .as_deref()
                .map(|d| format!(" · during {}", esc(d)))
                .unwrap_or_default(),
            p.points.len(),
            probe_svg(p, &r.faults, &markers, axis)
        );
    }
    s.push_str("</section>\n");
}

/// The response moments on the charts' time axis: each expected alert
/// firing, the acknowledgement, and the resolution.
fn markers(r: &RunReport) -> Vec<Marker> {
    let m = &r.scorecard.metrics;
    let fired = r.detection.iter().filter_map(|a| a.t_fire);
    fired
        .map(|at| (MarkerKind::Fired, at))
        .chain(m.t_ack.map(|at| (MarkerKind::Acknowledged, at)))
        .chain(m.t_resolve.map(|at| (MarkerKind::Resolved, at)))
        .map(|(kind, at)| Marker { kind, at })
        .collect()
}

/// Free text from the report (reasons, notes, timeline lines): escaped,
/// with markdown's `inline code` shown as code rather than raw backticks.
fn text(s: &str) -> String {
    inline(s)
}

fn detection(s: &mut String, r: &RunReport) {
    s.push_str("<section id=\"detection\"><h2>Detection</h2>");
    if r.detection.is_empty() {
        s.push_str("<p>The scenario expects no alerts.</p>");
    } else {
        s.push_str("<table><tr><th>Alert</th><th>Fired</th><th>Pending</th><th>Firing</th><th>Notified</th><th>Resolved</th><th>TTD</th><th>Target</th><th>Score</th></tr>");
        for d in &r.detection {
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&d.name),
                if d.fired { "yes" } else { "no" },
                ts(d.t_active),
                ts(d.t_fire),
                ts(d.t_notify),
                ts(d.t_resolve),
                secs(d.ttd_seconds),
                secs(d.target_seconds),
                d.score
                    .map(|v| format!("{v:.2}"))
                    .unwrap_or_else(|| "n/a".into())
            );
        }
        s.push_str("</table>");
    }
    if !r.noise.is_empty() {
        let _ = write!(
            s,
            "<p>{} unexpected alert(s) fired (noise):</p><ul>",
            r.noise.len()
        );
        for n in &r.noise {
            let _ = write!(
                s,
                "<li>{} first at {}</li>",
                esc(&n.describe()),
                ts(n.t_fire)
            );
        }
        s.push_str("</ul>");
    }
    s.push_str("</section>\n");
}

fn full_timeline(s: &mut String, r: &RunReport) {
    s.push_str("<section id=\"timeline\"><h2>Timeline</h2><table><tr><th>Time</th><th>Offset</th><th>What happened</th></tr>");
    for e in timeline::entries(r) {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ts(Some(e.at)),
            esc(&timeline::offset(r, e.at)),
            text(&e.text)
        );
    }
    s.push_str("</table></section>\n");
}

fn postmortem(s: &mut String, r: &RunReport) {
    let md = markdown::render(r);
    let draft = md
        .find("# Postmortem draft")
        .map_or(md.as_str(), |i| &md[i..]);
    s.push_str("<section id=\"postmortem\">");
    s.push_str(&markdown_to_html(draft));
    s.push_str("</section>\n");
}

/// The markdown subset report.md uses: headings, paragraphs, `- ` lists,
/// pipe tables, `**bold**` and `_emphasis_` lines.
fn markdown_to_html(md: &str) -> String {
    let mut out = String::new();
    let mut in_list = false;
    let mut in_table = false;
    for line in md.lines() {
        let t = line.trim_end();
        let is_item = t.starts_with("- ") || t.starts_with("* ");
        let is_row = t.starts_with('|');
        if in_list && !is_item {
            out.push_str("</ul>");
            in_list = false;
        }
        if in_table && !is_row {
            out.push_str("</table>");
            in_table = false;
        }
        if t.is_empty() {
            continue;
        }
        if let Some(h) = t.strip_prefix("### ") {
            let _ = write!(out, "<h4>{}</h4>", inline(h));
        } else if let Some(h) = t.strip_prefix("## ") {
            let _ = write!(out, "<h3>{}</h3>", inline(h));
        } else if let Some(h) = t.strip_prefix("# ") {
            let _ = write!(out, "<h2>{}</h2>", inline(h));
        } else if is_item {
            if !in_list {
                out.push_str("<ul>");
                in_list = true;
            }
            let _ = write!(out, "<li>{}</li>", inline(&t[2..]));
        } else if is_row {
            let cells = table_cells(t);
            if cells
                .iter()
                .all(|c| c.chars().all(|ch| matches!(ch, '-' | ':')))
            {
                continue;
            }
            let tag = if in_table { "td" } else { "th" };
            if !in_table {
                out.push_str("<table>");
                in_table = true;
            }
            out.push_str("<tr>");
            for c in cells {
                let _ = write!(out, "<{tag}>{}</{tag}>", inline(&c));
            }
            out.push_str("</tr>");
        } else {
            let _ = write!(out, "<p>{}</p>", inline(t));
        }
    }
    if in_list {
        out.push_str("</ul>");
    }
    if in_table {
        out.push_str("</table>");
    }
    out
}

/// The cells of a pipe-table row. report.md escapes a pipe inside a cell
/// as `\|` (free text can hold one); it splits nothing and shows as `|`.
fn table_cells(row: &str) -> Vec<String> {
    let inner = row.trim().strip_prefix('|').unwrap_or(row);
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                chars.next();
                cell.push('|');
            }
            '|' => cells.push(std::mem::take(&mut cell)),
            _ => cell.push(c),
        }
    }
    cells.push(cell);
    cells.into_iter().map(|c| c.trim().to_string()).collect()
}

/// `**bold**`, `` `code` `` and a whole-line `_emphasis_`, escaped.
fn inline(text: &str) -> String {
    let e = esc(text);
    let mut out = String::new();
    let mut rest = e.as_str();
    let mut bold = false;
    while let Some(i) = rest.find("**") {
        out.push_str(&rest[..i]);
        out.push_str(if bold { "</b>" } else { "<b>" });
        bold = !bold;
        rest = &rest[i + 2..];
    }
    out.push_str(rest);
    if bold {
        out.push_str("</b>");
    }
    // Backticks pair up left to right; an odd one out stays a literal
    // backtick instead of opening a `<code>` that never closes.
    let parts: Vec<&str> = out.split('`').collect();
    let paired = (parts.len() - 1) / 2 * 2;
    let mut code = String::new();
    for (i, part) in parts.iter().enumerate() {
        code.push_str(part);
        if i < paired {
            code.push_str(if i % 2 == 0 { "<code>" } else { "</code>" });
        } else if i + 1 < parts.len() {
            code.push('`');
        }
    }
    match code.strip_prefix('_').and_then(|c| c.strip_suffix('_')) {
        Some(em) => format!("<em>{em}</em>"),
        None => code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::report;

    /// An unexpected alert that fired for two pods is one item (HTML) and
    /// one entry of result.json's `noise`, with both label sets.
    #[test]
    fn an_unexpected_alert_with_two_label_sets_is_listed_once_with_both() {
        let r = report(true);
        let html = render(&r);
        assert!(html.contains("1 unexpected alert(s) fired"), "{html}");
        assert_eq!(
            html.matches("<li>KubePodNotReady (2 label sets: {pod=&quot;checkout-a&quot;}; {pod=&quot;checkout-b&quot;}) first at").count(),
            1,
            "{html}"
        );
        let json = serde_json::to_value(&r).unwrap();
        let noise = json["noise"].as_array().unwrap();
        assert_eq!(noise.len(), 1, "{noise:?}");
        assert_eq!(noise[0]["name"], "KubePodNotReady");
        assert_eq!(
            noise[0]["labelSets"],
            serde_json::json!([{"pod": "checkout-a"}, {"pod": "checkout-b"}])
        );
        let flags = serde_json::to_string(&json["scorecard"]["flags"]).unwrap();
        assert_eq!(flags.matches("KubePodNotReady").count(), 1, "{flags}");
        assert!(flags.contains("checkout-b"), "{flags}");
    }

    #[test]
    fn backticks_pair_up_and_an_odd_one_stays_literal() {
        assert_eq!(inline("a `b` c"), "a <code>b</code> c");
        assert_eq!(inline("a ` alone"), "a ` alone");
        assert_eq!(inline("`x` and ` y"), "<code>x</code> and ` y");
    }

    #[test]
    fn every_section_and_a_chart_with_points_per_probe() {
        for passed in [true, false] {
            let r = report(passed);
            let h = render(&r);
            for id in ["scorecard", "charts", "detection", "timeline", "postmortem"] {
                assert!(h.contains(&format!("<section id=\"{id}\">")), "{id}");
            }
            assert_eq!(h.matches("<svg class=\"chart\"").count(), r.probes.len());
            assert!(h.contains("points=\""));
            assert!(h.contains("Blameless timeline"));
            assert!(h.contains("Action items"), "action items in the draft");
            assert!(h.contains(r.status.as_str().to_uppercase().as_str()));
            // Self-contained: nothing to fetch.
            for bad in ["<script", "src=\"http", "href=\"http", "@import", "url("] {
                assert!(!h.contains(bad), "{bad}");
            }
        }
    }

    /// Reasons, notes and timeline lines quote steps and faults in
    /// backticks; the browser must show code, not the markdown.
    #[test]
    fn no_raw_backticks_anywhere() {
        for good in [true, false] {
            let h = render(&report(good));
            assert!(!h.contains('`'), "raw backtick in:\n{h}");
            assert!(h.contains("<code>kill-one-checkout-pod</code>"), "{h}");
        }
        assert!(
            render(&report(false)).contains("critical runbook step <code>scale-up</code>"),
            "the failing reason renders its code span"
        );
    }

    #[test]
    fn every_chart_marks_the_response_and_explains_its_marks() {
        let r = report(true);
        let h = render(&r);
        for chart in h.split("<svg class=\"chart\"").skip(1) {
            for class in ["marker-fired", "marker-ack", "marker-resolved", "legend"] {
                assert!(chart.contains(class), "{class} missing");
            }
        }
    }

    #[test]
    fn an_escaped_pipe_stays_in_its_cell() {
        let h = markdown_to_html("| a | b |\n|---|---|\n| x \\| y | z |\n");
        assert!(h.contains("<td>x | y</td><td>z</td>"), "{h}");
    }

    #[test]
    fn markdown_subset() {
        let h = markdown_to_html(
            "# A\n\n- **x** `y`\n- z\n\n| a | b |\n|---|---|\n| 1 | <2> |\n\n_note_\n",
        );
        assert_eq!(
            h,
            "<h2>A</h2><ul><li><b>x</b> <code>y</code></li><li>z</li></ul><table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>&lt;2&gt;</td></tr></table><p><em>note</em></p>"
        );
    }
}
