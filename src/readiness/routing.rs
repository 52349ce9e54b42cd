//! The Alertmanager routing tree and receivers, from `alertmanager.yml` or a
//! live Alertmanager's `/api/v2/status` (its `config.original` is the same
//! YAML), and the walk that tells which receivers an alert reaches.
//!
//! The walk is Alertmanager's own, `dispatch/route.go` (`NewRoute`,
//! `Route.Match`): a route matches when all its matchers do (`match`,
//! `match_re` and `matchers` together); its children are tried in order,
//! depth first, and the first child that matches stops the search unless it
//! has `continue: true`; when no child matches, the route itself is the
//! match. A child inherits its parent's receiver when it names none.
//! `tests/readiness_routes.rs` checks this walk against `amtool config
//! routes test`.

use std::collections::BTreeMap;

use super::matchers::{self, Matcher, Op};
use super::nodes;
use crate::diag::{Diagnostic, Source};
use crate::yaml::Node;

/// The receiver integrations that page a person. Email, Slack and webhooks
/// notify; these wake someone up.
pub const PAGER_INTEGRATIONS: &[&str] =
    &["pagerduty_configs", "opsgenie_configs", "victorops_configs"];

#[derive(Debug, Clone)]
pub struct Route {
    /// The receiver, inherited from the parent when the route names none.
    pub receiver: String,
    pub matchers: Vec<Matcher>,
    pub continue_matching: bool,
    pub routes: Vec<Route>,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct Receiver {
    pub name: String,
    /// The pager integrations it has (`pagerduty_configs`, ...).
    pub pagers: Vec<String>,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct Routing {
    /// The file or URL the config came from.
    pub source: String,
    pub root: Route,
    pub receivers: BTreeMap<String, Receiver>,
}

impl Routing {
    /// Parses an Alertmanager config; `name` names it in diagnostics.
    pub fn parse(name: &str, text: &str) -> Result<Routing, Vec<Diagnostic>> {
        let src = Source::new(name, text);
        let mut diags = Vec::new();
        let docs = nodes::parse(&src, &mut diags);
        let Some(root) = docs.first() else {
            diags.push(Diagnostic::error(name, 1, 1, "empty Alertmanager config"));
            return Err(diags);
        };
        let receivers = read_receivers(&src, root, &mut diags);
        let route = match root.get("route") {
            Some(r) => read_route(&src, r, None, &receivers, &mut diags),
            None => {
                diags.push(src.error(root.span, "no `route:` in the Alertmanager config"));
                None
            }
        };
        match route {
            Some(root) if !diags.iter().any(Diagnostic::is_error) => Ok(Routing {
                source: name.to_string(),
                root,
                receivers,
            }),
            _ => {
                crate::diag::sort(&mut diags);
                Err(diags)
            }
        }
    }

    /// The routes an alert with `labels` ends at, in Alertmanager's order.
    pub fn matching(&self, labels: &BTreeMap<String, String>) -> Vec<&Route> {
        let mut out = Vec::new();
        walk(&self.root, labels, &mut out);
        out
    }

    /// The receiver names an alert reaches, as `amtool config routes test` prints them.
    pub fn receivers_for(&self, labels: &BTreeMap<String, String>) -> Vec<String> {
        self.matching(labels)
            .iter()
            .map(|r| r.receiver.clone())
            .collect()
    }
}

/// `Route.Match` of dispatch/route.go. Returns whether `route` matched.
fn walk<'r>(route: &'r Route, labels: &BTreeMap<String, String>, out: &mut Vec<&'r Route>) -> bool {
    if !route.matchers.iter().all(|m| m.matches(labels)) {
        return false;
    }
    let before = out.len();
    for child in &route.routes {
        if walk(child, labels, out) && !child.continue_matching {
            break;
        }
    }
    if out.len() == before {
        out.push(route);
    }
    true
}

fn read_receivers(
    src: &Source<'_>,
    root: &Node,
    diags: &mut Vec<Diagnostic>,
) -> BTreeMap<String, Receiver> {
    let mut out = BTreeMap::new();
    for r in nodes::list(src, root, "receivers", diags) {
        if !nodes::require_map(src, r, "a receiver", diags) {
            continue;
        }
        let Some(name) = nodes::string(src, r, "name", diags) else {
            diags.push(src.error(r.span, "a receiver needs a `name`"));
            continue;
        };
        let pagers = PAGER_INTEGRATIONS
            .iter()
            .filter(|k| r.get(k).is_some_and(|v| !v.items().is_empty()))
            .map(|k| k.to_string())
            .collect();
        let line = nodes::line_of(r, "name");
        if out.contains_key(&name) {
            diags.push(src.error(r.span, format!("receiver `{name}` is defined twice")));
        }
        out.insert(name.clone(), Receiver { name, pagers, line });
    }
    out
}

fn read_route(
    src: &Source<'_>,
    node: &Node,
    parent: Option<&str>,
    receivers: &BTreeMap<String, Receiver>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Route> {
    if !nodes::require_map(src, node, "a route", diags) {
        return None;
    }
    let receiver = match (nodes::string(src, node, "receiver", diags), parent) {
        (Some(r), _) => {
            if !receivers.contains_key(&r) {
                let at = node.entry("receiver").map_or(node.span, |e| e.value.span);
                diags.push(src.error(at, format!("undefined receiver `{r}` used in route")));
            }
            r
        }
        (None, Some(p)) => p.to_string(),
        (None, None) => {
            diags.push(src.error(node.span, "the root route needs a `receiver`"));
            String::new()
        }
    };
    let matchers = read_matchers(src, node, diags);
    let continue_matching = matches!(
        node.get("continue").map(|n| &n.value),
        Some(crate::yaml::Value::Bool(true))
    );
    let routes = nodes::list(src, node, "routes", diags)
        .iter()
        .filter_map(|child| read_route(src, child, Some(&receiver), receivers, diags))
        .collect();
    Some(Route {
        receiver,
        matchers,
        continue_matching,
        routes,
        line: node.span.line as usize,
    })
}

/// `match`, `match_re` and `matchers` of one route, in the order `NewRoute` appends them.
fn read_matchers(src: &Source<'_>, node: &Node, diags: &mut Vec<Diagnostic>) -> Vec<Matcher> {
    let mut out = Vec::new();
    let legacy = [("match", Op::Equal), ("match_re", Op::Regex)];
    for (key, op) in legacy {
        for (name, (value, line)) in nodes::string_map(src, node, key, diags) {
            match Matcher::new(&name, op, &value) {
                Ok(m) => out.push(m),
                Err(e) => diags.push(Diagnostic::error(src.name, line, 1, e.to_string())),
            }
        }
    }
    for item in nodes::list(src, node, "matchers", diags) {
        let parsed = item
            .as_scalar_string()
            .ok_or(matchers::MatcherError::NotString)
            .and_then(|s| matchers::parse_matchers(&s));
        match parsed {
            Ok(mut ms) => out.append(&mut ms),
            Err(e) => diags.push(src.error(item.span, e.to_string())),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::matchers::labels;
    use super::*;

    const CONFIG: &str = "route:
  receiver: default
  routes:
    - matchers: ['team=\"a\"']
      receiver: a
      continue: true
    - match: {team: a}
      receiver: a2
    - match_re: {team: 'b|c'}
      routes:
        - matchers: [severity=critical]
          receiver: b-pager
receivers:
  - name: default
  - name: a
  - name: a2
  - name: b-pager
    pagerduty_configs: [{routing_key: x}]
";

    #[test]
    fn continue_reaches_the_next_sibling_and_children_inherit_the_receiver() {
        let r = Routing::parse("am.yml", CONFIG).unwrap();
        assert_eq!(r.receivers_for(&labels(&[("team", "a")])), ["a", "a2"]);
        assert_eq!(r.receivers_for(&labels(&[("team", "c")])), ["default"]);
        let crit = labels(&[("team", "c"), ("severity", "critical")]);
        assert_eq!(r.receivers_for(&crit), ["b-pager"]);
        assert_eq!(r.receivers_for(&labels(&[])), ["default"]);
        assert_eq!(r.receivers["b-pager"].pagers, ["pagerduty_configs"]);
    }

    #[test]
    fn an_undefined_receiver_is_an_error_at_its_line() {
        let diags =
            Routing::parse("am.yml", "route:\n  receiver: nope\nreceivers: []\n").unwrap_err();
        assert_eq!(diags[0].line, 2);
    }
}
