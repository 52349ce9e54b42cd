//! The service catalog, in Backstage's `catalog-info.yaml` format: the
//! services (`kind: Component`, `spec.owner`, `spec.system`) and the teams
//! that own them (`kind: Group`). Files may hold many documents.
//!
//! How on-call is expressed: Backstage has no on-call field, so the audit
//! reads the annotations the PagerDuty and Opsgenie Backstage plugins
//! already use (`pagerduty.com/service-id`, `pagerduty.com/integration-key`,
//! `opsgenie.com/team`), or `gameday/oncall` (a schedule name or URL) for
//! anything else. A Group with one of them has an on-call rotation.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::nodes;
use crate::diag::{Diagnostic, Source};
use crate::yaml::{Node, did_you_mean, one_of};

/// The annotations that say a group has an on-call rotation.
pub const ONCALL_ANNOTATIONS: &[&str] = &[
    "pagerduty.com/service-id",
    "pagerduty.com/integration-key",
    "opsgenie.com/team",
    "gameday/oncall",
];

/// Backstage's entity kinds. The audit reads Component and Group and
/// accepts the others; anything else is a mistake worth exit 2.
pub const KNOWN_KINDS: &[&str] = &[
    "Component",
    "Group",
    "System",
    "API",
    "Resource",
    "Domain",
    "User",
    "Location",
    "Template",
];

#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    pub name: String,
    /// `spec.owner` as written (`group:payments`, `payments`, `user:jane`).
    pub owner: Option<String>,
    pub system: Option<String>,
    pub file: String,
    /// The line of `metadata.name`.
    pub line: usize,
    /// The line of `spec.owner` (of the component when there is none).
    pub owner_line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub name: String,
    /// The on-call annotation found, if any.
    pub oncall: Option<String>,
    pub file: String,
    pub line: usize,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    pub components: Vec<Component>,
    pub groups: BTreeMap<String, Group>,
}

impl Catalog {
    /// Loads every catalog file; all mistakes of all files come back together.
    pub fn load(paths: &[PathBuf]) -> Result<Catalog, Vec<Diagnostic>> {
        let mut catalog = Catalog::default();
        let mut diags = Vec::new();
        for path in paths {
            match nodes::read(path) {
                Ok(text) => catalog.add_str(&path.display().to_string(), &text, &mut diags),
                Err(mut d) => diags.append(&mut d),
            }
        }
        if diags.iter().any(Diagnostic::is_error) {
            crate::diag::sort(&mut diags);
            Err(diags)
        } else {
            Ok(catalog)
        }
    }

    /// Adds the entities of one file's text.
    pub fn add_str(&mut self, name: &str, text: &str, diags: &mut Vec<Diagnostic>) {
        let src = Source::new(name, text);
        for doc in nodes::parse(&src, diags) {
            self.add_entity(&src, &doc, diags);
        }
    }

    fn add_entity(&mut self, src: &Source<'_>, doc: &Node, diags: &mut Vec<Diagnostic>) {
        if !nodes::require_map(src, doc, "a catalog entity", diags) {
            return;
        }
        let Some(kind) = nodes::string(src, doc, "kind", diags) else {
            diags.push(src.error(doc.span, "a catalog entity needs a `kind`"));
            return;
        };
        if !KNOWN_KINDS.contains(&kind.as_str()) {
            let at = doc.entry("kind").map_or(doc.span, |e| e.value.span);
            let hint = match did_you_mean(&kind, KNOWN_KINDS.iter().copied()) {
                Some(k) => format!("did you mean `{k}`?"),
                None => format!("Backstage kinds are {}", one_of(KNOWN_KINDS)),
            };
            diags.push(
                src.error(at, format!("unknown catalog kind `{kind}`"))
                    .with_hint(hint),
            );
            return;
        }
        let metadata = doc.get("metadata");
        let name = metadata.and_then(|m| nodes::string(src, m, "name", diags));
        let (Some(metadata), Some(name)) = (metadata, name) else {
            diags.push(src.error(doc.span, format!("a {kind} needs `metadata.name`")));
            return;
        };
        let line = nodes::line_of(metadata, "name");
        let file = src.name.to_string();
        match kind.as_str() {
            "Component" => {
                let spec = doc.get("spec");
                let owner = spec.and_then(|s| nodes::string(src, s, "owner", diags));
                let system = spec.and_then(|s| nodes::string(src, s, "system", diags));
                let owner_line = spec.map_or(line, |s| nodes::line_of(s, "owner"));
                self.components.push(Component {
                    name,
                    owner,
                    system,
                    file,
                    line,
                    owner_line,
                });
            }
            "Group" => {
                let annotations = nodes::string_map(src, metadata, "annotations", diags);
                let oncall = ONCALL_ANNOTATIONS
                    .iter()
                    .find(|a| {
                        annotations
                            .get(**a)
                            .is_some_and(|(v, _)| !v.trim().is_empty())
                    })
                    .map(|a| a.to_string());
                self.groups.insert(
                    name.clone(),
                    Group {
                        name,
                        oncall,
                        file,
                        line,
                    },
                );
            }
            _ => {}
        }
    }
}

/// The group an owner reference names, when it names a group: Backstage
/// references are `[kind:][namespace/]name` and an owner without a kind is
/// a Group. `None` for a person (`user:jane`).
pub fn owner_group(owner: &str) -> Option<&str> {
    let (kind, rest) = match owner.split_once(':') {
        Some((k, r)) => (k, r),
        None => ("group", owner),
    };
    if !kind.eq_ignore_ascii_case("group") {
        return None;
    }
    Some(rest.rsplit_once('/').map_or(rest, |(_, n)| n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_and_groups_with_lines_and_oncall() {
        let text = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: checkout\nspec:\n  owner: group:default/payments\n---\nkind: Group\nmetadata:\n  name: payments\n  annotations:\n    pagerduty.com/service-id: P123\n";
        let mut c = Catalog::default();
        let mut diags = Vec::new();
        c.add_str("c.yaml", text, &mut diags);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!((c.components[0].line, c.components[0].owner_line), (4, 6));
        assert_eq!(
            owner_group(c.components[0].owner.as_deref().unwrap()),
            Some("payments")
        );
        assert_eq!(
            c.groups["payments"].oncall.as_deref(),
            Some("pagerduty.com/service-id")
        );
        assert_eq!(owner_group("user:jane"), None);
    }

    #[test]
    fn an_unknown_kind_is_an_error_with_a_suggestion() {
        let mut c = Catalog::default();
        let mut diags = Vec::new();
        c.add_str(
            "c.yaml",
            "kind: Componnet\nmetadata: {name: x}\n",
            &mut diags,
        );
        assert_eq!((diags[0].line, diags[0].column), (1, 7));
        assert_eq!(diags[0].hint.as_deref(), Some("did you mean `Component`?"));
    }
}
