//! Property test: whatever bytes a user (or an editor mid-keystroke) hands the
//! loader, it never panics and always answers with scenarios or with
//! diagnostics that carry a position.

use gameday::config::Config;
use gameday::diag::Diagnostic;
use gameday::faults::Registry;
use gameday::scenario::load_str;
use proptest::prelude::*;

const BASE: &str = include_str!("fixtures/valid/full.yaml");
const MULTI: &str = include_str!("fixtures/valid/minimal-multi-doc.yaml");

fn assert_positioned(
    text: &str,
    result: Result<Vec<gameday::scenario::Scenario>, Vec<Diagnostic>>,
) {
    match result {
        Ok(scenarios) => assert!(!scenarios.is_empty(), "Ok without a scenario for {text:?}"),
        Err(diags) => {
            assert!(!diags.is_empty(), "Err without a diagnostic for {text:?}");
            let lines = text.split('\n').count().max(1);
            for d in diags {
                assert!(d.line >= 1 && d.column >= 1, "{d:?}");
                assert!(
                    d.line <= lines,
                    "line {} past the end ({lines}) for {d:?}",
                    d.line
                );
                assert!(!d.message.is_empty());
                assert_eq!(d.file, "fuzz.yaml");
            }
        }
    }
}

/// Edits that produce the mistakes people make: deleting or duplicating a
/// span, inserting YAML punctuation, re-indenting a line, swapping lines.
#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, String),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Indent(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let punct = prop::collection::vec(
        prop::sample::select(vec![
            ":", "-", " ", "\n", "\t", "[", "]", "{", "}", "#", "&a", "*a", "!", "|", ">", "'",
            "\"", ",", "---", "<<: ", "~", "0", "1e9", "é", "\u{feff}", "\r",
        ]),
        1..4,
    )
    .prop_map(|v| v.concat());
    prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (any::<usize>(), punct).prop_map(|(a, s)| Mutation::Insert(a, s)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<usize>(), 0usize..6).prop_map(|(a, n)| Mutation::Indent(a, n)),
    ]
}

fn apply(text: &str, m: &Mutation) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    match m {
        Mutation::Delete(at, n) => {
            let at = at % chars.len().max(1);
            let end = (at + n).min(chars.len());
            chars[..at].iter().chain(&chars[end..]).collect()
        }
        Mutation::Insert(at, s) => {
            let at = at % (chars.len() + 1);
            chars[..at].iter().collect::<String>() + s + &chars[at..].iter().collect::<String>()
        }
        Mutation::DuplicateLine(i) => {
            let i = i % lines.len();
            let l = lines[i].clone();
            lines.insert(i, l);
            lines.join("\n")
        }
        Mutation::SwapLines(a, b) => {
            let n = lines.len();
            lines.swap(a % n, b % n);
            lines.join("\n")
        }
        Mutation::Indent(i, n) => {
            let i = i % lines.len();
            lines[i] = " ".repeat(*n) + lines[i].trim_start();
            lines.join("\n")
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        let result = load_str("fuzz.yaml", &text, &Config::default(), &Registry);
        assert_positioned(&text, result);
    }

    #[test]
    fn yaml_shaped_text_never_panics(
        text in prop::collection::vec(
            prop::sample::select(vec![
                "apiVersion: gameday/v1\n", "kind: Scenario\n", "spec:\n", "  faults:\n", "    - name: x\n",
                "      type: podKill\n", "  - ", ": ", "{", "}", "[", "]", "&a ", "*a", "\n", "  ", "---\n",
                "mode: {count: 0}\n", "<<: *a\n", "\"", "'", "|\n", "? ", "!!str ", "!!int x\n", "#c\n",
            ]),
            0..60,
        ).prop_map(|v| v.concat())
    ) {
        let result = load_str("fuzz.yaml", &text, &Config::default(), &Registry);
        assert_positioned(&text, result);
    }

    #[test]
    fn mutated_scenarios_never_panic(
        which in any::<bool>(),
        edits in prop::collection::vec(mutation(), 1..5),
    ) {
        let mut text = if which { BASE.to_string() } else { MULTI.to_string() };
        for m in &edits {
            text = apply(&text, m);
        }
        let result = load_str("fuzz.yaml", &text, &Config::default(), &Registry);
        assert_positioned(&text, result);
    }

    #[test]
    fn mutated_configs_never_panic(edits in prop::collection::vec(mutation(), 1..4)) {
        let mut text = String::from("protectedNamespaces: [monitoring]\npassMark: 0.7\nseverities:\n  SEV1: {ackTarget: 5m}\n");
        for m in &edits {
            text = apply(&text, m);
        }
        if let Err(diags) = gameday::yaml::load_typed::<Config>("fuzz.yaml", &text) {
            prop_assert!(!diags.is_empty());
            for d in diags {
                prop_assert!(d.line >= 1 && d.column >= 1);
            }
        }
    }
}
