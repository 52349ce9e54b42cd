//! Property tests for the readiness parsers (rule files, the catalog, the
//! Alertmanager config): any text gives alerts or positioned diagnostics,
//! never a panic, and generated valid files give back every entry at the
//! line it was written on.

use gameday::readiness::catalog::Catalog;
use gameday::readiness::routing::Routing;
use gameday::readiness::rules;
use proptest::prelude::*;

/// YAML-ish text built from the pieces these files are made of, so the
/// parsers get past the first character more often than with random bytes.
fn yamlish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("groups:\n".to_string()),
        Just("  - name: g\n".to_string()),
        Just("    rules:\n".to_string()),
        Just("      - alert: A\n".to_string()),
        Just("        expr: up\n".to_string()),
        Just("        labels: {severity: critical}\n".to_string()),
        Just("        annotations: [x]\n".to_string()),
        Just("---\n".to_string()),
        Just("kind: Component\n".to_string()),
        Just("kind: Group\n".to_string()),
        Just("metadata: {name: x, annotations: {a: b}}\n".to_string()),
        Just("spec: {owner: 'group:default/t'}\n".to_string()),
        Just("route: {receiver: r, routes: [{matchers: ['a=~\"(\"']}]}\n".to_string()),
        Just("receivers: [{name: r}]\n".to_string()),
        "[ -~]{0,12}\n",
        "[{}\\[\\]:,'\"&*!|>-]{1,4}",
    ];
    prop::collection::vec(piece, 0..16).prop_map(|v| v.concat())
}

/// A name YAML reads as a string (not `null`, `True`, ...).
fn plain(pattern: &'static str) -> impl Strategy<Value = String> {
    pattern.prop_filter("YAML would read it as a bool or null", |s| {
        !matches!(
            s.to_ascii_lowercase().as_str(),
            "null" | "true" | "false" | "y" | "n" | "yes" | "no" | "on" | "off"
        )
    })
}

proptest! {
    #[test]
    fn any_text_gives_results_or_positioned_errors(text in yamlish()) {
        if let Err(diags) = rules::parse_str("r.yml", &text, None) {
            prop_assert!(!diags.is_empty());
            prop_assert!(diags.iter().all(|d| d.line >= 1 && d.file == "r.yml"));
        }
        let mut catalog = Catalog::default();
        let mut diags = Vec::new();
        catalog.add_str("c.yaml", &text, &mut diags);
        prop_assert!(diags.iter().all(|d| d.line >= 1));
        if let Err(diags) = Routing::parse("am.yml", &text) {
            prop_assert!(diags.iter().all(|d| d.line >= 1));
        }
    }

    #[test]
    fn generated_rule_files_give_every_alert_at_its_line(
        alerts in prop::collection::vec((plain("[A-Z][a-zA-Z]{0,10}"), prop::option::of("critical|warning|page")), 1..20)
    ) {
        let mut text = String::from("groups:\n  - name: g\n    rules:\n");
        let mut lines = Vec::new();
        for (name, severity) in &alerts {
            lines.push(text.lines().count() + 1);
            text.push_str(&format!("      - alert: {name}\n        expr: up == 0\n"));
            if let Some(s) = severity {
                text.push_str(&format!("        labels:\n          severity: {s}\n"));
            }
        }
        let got = rules::parse_str("r.yml", &text, None).unwrap();
        prop_assert_eq!(got.iter().map(|a| a.line).collect::<Vec<_>>(), lines);
        prop_assert_eq!(got.iter().map(|a| a.name.clone()).collect::<Vec<_>>(), alerts.iter().map(|a| a.0.clone()).collect::<Vec<_>>());
    }

    #[test]
    fn generated_catalogs_give_every_component_and_group(
        entities in prop::collection::vec((plain("[a-z][a-z0-9-]{0,10}"), any::<bool>(), prop::option::of("[a-z]{1,8}")), 1..20)
    ) {
        let mut text = String::new();
        for (name, is_group, owner) in &entities {
            if *is_group {
                text.push_str(&format!("---\nkind: Group\nmetadata:\n  name: {name}\n"));
            } else {
                text.push_str(&format!("---\nkind: Component\nmetadata:\n  name: {name}\nspec:\n"));
                if let Some(o) = owner {
                    text.push_str(&format!("  owner: group:{o}\n"));
                }
            }
        }
        let mut catalog = Catalog::default();
        let mut diags = Vec::new();
        catalog.add_str("c.yaml", &text, &mut diags);
        prop_assert!(diags.is_empty(), "{:?}", diags);
        let components = entities.iter().filter(|e| !e.1).count();
        prop_assert_eq!(catalog.components.len(), components);
        for (c, (_, _, owner)) in catalog.components.iter().zip(entities.iter().filter(|e| !e.1)) {
            prop_assert_eq!(c.owner.clone(), owner.as_ref().map(|o| format!("group:{o}")));
        }
    }
}
