//! rustc-style text rendering: headline, gutter, offending line, caret, help.

use super::{Diagnostic, Severity};

const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[1;33m";
const BLUE: &str = "\x1b[1;34m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// Renders one diagnostic; `color` adds ANSI colours (callers decide with
/// `term::use_color()`, which honours NO_COLOR).
pub fn render(d: &Diagnostic, color: bool) -> String {
    let paint = |code: &'static str| if color { code } else { "" };
    let reset = paint(RESET);
    let sev = match d.severity {
        Severity::Error => paint(RED),
        Severity::Warning => paint(YELLOW),
    };
    let blue = paint(BLUE);
    let bold = paint(BOLD);
    let mut out = format!(
        "{bold}{}:{}:{}:{reset} {sev}{}{reset}{bold}: {}{reset}\n",
        d.file,
        d.line,
        d.column,
        d.severity.as_str(),
        d.message
    );
    let number = d.line.to_string();
    let pad = " ".repeat(number.len());
    if let Some(line) = &d.source_line {
        let line = line.replace('\t', " ");
        let lead = " ".repeat(d.column.saturating_sub(1));
        let carets = "^".repeat(d.length.max(1));
        out.push_str(&format!("{blue}{pad} |{reset}\n"));
        out.push_str(&format!("{blue}{number} |{reset} {line}\n"));
        out.push_str(&format!(
            "{blue}{pad} |{reset} {lead}{sev}{carets}{reset}\n"
        ));
    }
    if let Some(hint) = &d.hint {
        out.push_str(&format!("{pad} {blue}={reset} {bold}help{reset}: {hint}\n"));
    }
    out
}

/// Renders several diagnostics separated by blank lines, as rustc does.
pub fn render_all(diags: &[Diagnostic], color: bool) -> String {
    diags
        .iter()
        .map(|d| render(d, color))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::super::{Source, Span};
    use super::*;

    #[test]
    fn renders_like_rustc() {
        let text = "a: 1\n".repeat(13) + "        tiemout: 3s\n";
        let src = Source::new("scenarios/bad.yaml", &text);
        let d = src
            .error(Span::new(14, 9, 7), "unknown field `tiemout` in probe")
            .with_hint("did you mean `timeout`?");
        let expected = "scenarios/bad.yaml:14:9: error: unknown field `tiemout` in probe
   |
14 |         tiemout: 3s
   |         ^^^^^^^
   = help: did you mean `timeout`?
";
        assert_eq!(render(&d, false), expected);
        assert!(render(&d, true).contains("\x1b[1;31merror"));
    }
}
