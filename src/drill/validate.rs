//! The semantic rules of drill format v1 (shared/drill-v1.md, "Rules the
//! validator enforces"): what the schema cannot say. Roles, event kinds and
//! durations are typed, so the schema checker already reports them with a
//! position and a "did you mean". The sections a drill shares with a
//! scenario (faults, target, blast radius, detection, response) go through
//! the scenario validator itself, over a tree that maps the scenario's paths
//! onto the drill's nodes, so a carets lands in the drill file.

use std::collections::HashMap;

use super::model::{Drill, Inject};
use crate::config::Config;
use crate::diag::{Diagnostic, Source};
use crate::scenario::FaultRules;
use crate::yaml::{Entry, Node, Step, Target, Value, did_you_mean, one_of};

/// Checks one structurally valid drill document and pushes every broken rule.
pub fn validate(
    drill: &Drill,
    root: &Node,
    src: &Source<'_>,
    config: &Config,
    faults: &dyn FaultRules,
    diags: &mut Vec<Diagnostic>,
) {
    let mut v = Rules { root, src, diags };
    v.time_scale(drill);
    v.unique_ids(drill);
    for (i, inject) in drill.spec.injects.iter().enumerate() {
        v.timing(inject, i);
        v.action(inject, i);
        v.condition(drill, inject, i);
        v.alert(inject, i);
    }
    v.after_cycles(drill);
    v.detection(drill);
    if v.fault_sections(drill) {
        let scenario = drill.to_scenario(true);
        let mapped = scenario_view(root);
        crate::scenario::validate::validate(&scenario, &mapped, src, config, faults, diags);
    }
}

struct Rules<'a, 'b> {
    root: &'a Node,
    src: &'a Source<'b>,
    diags: &'a mut Vec<Diagnostic>,
}

fn inject_path<'k>(i: usize, rest: &[&'k str]) -> Vec<Step<'k>> {
    let mut p = vec![Step::Key("spec"), Step::Key("injects"), Step::Index(i)];
    p.extend(rest.iter().map(|k| Step::Key(k)));
    p
}

impl Rules<'_, '_> {
    fn error(&mut self, path: &[Step<'_>], target: Target, msg: String, hint: impl Into<String>) {
        let span = self.root.locate(path, target);
        self.diags
            .push(self.src.error(span, msg).with_hint(hint.into()));
    }

    fn time_scale(&mut self, d: &Drill) {
        if let Some(s) = d.spec.time_scale
            && !(s > 0.0 && s.is_finite())
        {
            self.error(
                &[Step::Key("spec"), Step::Key("timeScale")],
                Target::Value,
                format!("`timeScale` must be above 0, not {s}"),
                "1 runs the drill in real time; 60 plays a minute of drill time per second",
            );
        }
    }

    /// Inject ids and objective ids are each unique (runbook step ids are
    /// checked with the rest of `response`); the second use is reported.
    fn unique_ids(&mut self, d: &Drill) {
        let injects: Vec<&str> = d.spec.injects.iter().map(|i| i.id.as_str()).collect();
        self.unique(&injects, "injects", "inject");
        let objectives: Vec<&str> = d.spec.objectives.iter().map(|o| o.id.as_str()).collect();
        self.unique(&objectives, "objectives", "objective");
    }

    fn unique(&mut self, ids: &[&str], list: &'static str, what: &str) {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, id) in ids.iter().enumerate() {
            if let Some(&first) = seen.get(id) {
                let at = |n: usize| {
                    [
                        Step::Key("spec"),
                        Step::Key(list),
                        Step::Index(n),
                        Step::Key("id"),
                    ]
                };
                let line = self.root.locate(&at(first), Target::Value).line;
                self.error(
                    &at(i),
                    Target::Value,
                    format!("duplicate {what} id `{id}`"),
                    format!("`{id}` is already used on line {line}; {what} ids must be unique"),
                );
            } else {
                seen.insert(id, i);
            }
        }
    }

    /// Exactly one of `at` and `when`.
    fn timing(&mut self, inject: &Inject, i: usize) {
        match (&inject.at, &inject.when) {
            (Some(_), Some(_)) => self.error(
                &inject_path(i, &["when"]),
                Target::Key,
                format!("inject `{}` has both `at` and `when`", inject.id),
                "an inject fires at a time (`at`) or on a condition (`when`), not both",
            ),
            (None, None) => self.error(
                &inject_path(i, &["id"]),
                Target::Value,
                format!("inject `{}` has neither `at` nor `when`", inject.id),
                "add `at: 2m` (drill time from the start) or a condition such as `when: {noEvent: ack, by: 5m}`",
            ),
            _ => {}
        }
    }

    /// Exactly one of `alert`, `message`, `escalate` and `fault`.
    fn action(&mut self, inject: &Inject, i: usize) {
        let actions = inject.actions();
        match actions.as_slice() {
            [_] => {}
            [] => self.error(
                &inject_path(i, &["id"]),
                Target::Value,
                format!("inject `{}` does nothing", inject.id),
                "give it one action: `alert`, `message`, `escalate` or `fault`",
            ),
            [_, second, ..] => self.error(
                &inject_path(i, &[second.name()]),
                Target::Key,
                format!(
                    "inject `{}` has more than one action ({})",
                    inject.id,
                    actions
                        .iter()
                        .map(|a| format!("`{}`", a.name()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "split it into one inject per action; `when: {after: ID}` chains them",
            ),
        }
    }

    /// `when` is `noEvent` + `by` (+ `role`) or `after` (+ `delay`), and an
    /// `after` names an inject of the file.
    fn condition(&mut self, drill: &Drill, inject: &Inject, i: usize) {
        let Some(w) = &inject.when else { return };
        let wp = |k: &'static str| inject_path(i, &["when", k]);
        match (&w.no_event, &w.after) {
            (Some(_), Some(_)) => self.error(
                &wp("after"),
                Target::Key,
                format!(
                    "inject `{}`: `when` has both `noEvent` and `after`",
                    inject.id
                ),
                "a condition is either `{noEvent: ack, by: 5m}` or `{after: ID, delay: 2m}`",
            ),
            (None, None) => self.error(
                &inject_path(i, &["when"]),
                Target::Key,
                format!("inject `{}`: `when` needs `noEvent` or `after`", inject.id),
                "write `{noEvent: ack, by: 5m}` or `{after: ID, delay: 2m}`",
            ),
            (Some(_), None) => {
                if w.by.is_none() {
                    self.error(
                        &wp("noEvent"),
                        Target::Key,
                        format!("inject `{}`: `noEvent` needs `by`", inject.id),
                        "`by` is the drill time at which the condition is judged, e.g. `by: 5m`",
                    );
                }
                if w.delay.is_some() {
                    self.error(
                        &wp("delay"),
                        Target::Key,
                        format!(
                            "inject `{}`: `delay` goes with `after`, not `noEvent`",
                            inject.id
                        ),
                        "a `noEvent` condition fires at `by`",
                    );
                }
            }
            (None, Some(after)) => {
                for (k, present) in [("by", w.by.is_some()), ("role", w.role.is_some())] {
                    if present {
                        self.error(
                            &wp(k),
                            Target::Key,
                            format!(
                                "inject `{}`: `{k}` goes with `noEvent`, not `after`",
                                inject.id
                            ),
                            "an `after` condition fires `delay` after the inject it names",
                        );
                    }
                }
                let ids: Vec<&str> = drill.spec.injects.iter().map(|j| j.id.as_str()).collect();
                if after == &inject.id {
                    self.error(
                        &wp("after"),
                        Target::Value,
                        format!("inject `{}` waits for itself", inject.id),
                        "name another inject",
                    );
                } else if !ids.contains(&after.as_str()) {
                    let hint = match did_you_mean(after, ids.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("the injects are {}", one_of(&ids)),
                    };
                    self.error(
                        &wp("after"),
                        Target::Value,
                        format!("`after: {after}` names no inject of this drill"),
                        hint,
                    );
                }
            }
        }
    }

    /// An alert needs an `alertname`: Alertmanager routes and groups by it.
    fn alert(&mut self, inject: &Inject, i: usize) {
        if let Some(a) = &inject.alert
            && a.alertname().is_empty()
        {
            self.error(
                &inject_path(i, &["alert", "labels"]),
                Target::Key,
                format!("alert inject `{}` has no `alertname` label", inject.id),
                "add e.g. `alertname: PaymentsAPIErrors`; Alertmanager routes, groups and inhibits by it",
            );
        }
    }

    /// `after` references contain no cycle (a self-reference is reported by
    /// `condition`). Each cycle is reported once, at its first inject.
    fn after_cycles(&mut self, drill: &Drill) {
        let injects = &drill.spec.injects;
        let index: HashMap<&str, usize> = injects
            .iter()
            .enumerate()
            .map(|(i, j)| (j.id.as_str(), i))
            .collect();
        let next = |i: usize| -> Option<usize> {
            let after = injects[i].when.as_ref()?.after.as_deref()?;
            index.get(after).copied().filter(|&j| j != i)
        };
        let mut reported = vec![false; injects.len()];
        for start in 0..injects.len() {
            let mut path = vec![start];
            let mut cur = start;
            while let Some(n) = next(cur) {
                if n == start {
                    if path.iter().all(|&p| !reported[p]) {
                        path.iter().for_each(|&p| reported[p] = true);
                        let names: Vec<&str> =
                            path.iter().map(|&p| injects[p].id.as_str()).collect();
                        self.error(
                            &inject_path(start, &["when", "after"]),
                            Target::Value,
                            format!(
                                "the `after` references form a cycle: {} -> {}",
                                names.join(" -> "),
                                names[0]
                            ),
                            "none of these injects could ever fire; start one of them with `at`",
                        );
                    }
                    break;
                }
                if path.contains(&n) || path.len() > injects.len() {
                    break;
                }
                path.push(n);
                cur = n;
            }
        }
    }

    /// `detection.alerts` expects notifications of the drill's alert injects.
    fn detection(&mut self, drill: &Drill) {
        let Some(det) = &drill.spec.detection else {
            return;
        };
        let names: Vec<&str> = drill
            .spec
            .injects
            .iter()
            .filter_map(|i| i.alert.as_ref().map(|a| a.alertname()))
            .filter(|n| !n.is_empty())
            .collect();
        for (i, a) in det.alerts.iter().enumerate() {
            if !names.contains(&a.name.as_str()) {
                let hint = match did_you_mean(&a.name, names.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None if names.is_empty() => "the drill has no alert inject".into(),
                    None => format!("the alert injects are {}", one_of(&names)),
                };
                self.error(
                    &[
                        Step::Key("spec"),
                        Step::Key("detection"),
                        Step::Key("alerts"),
                        Step::Index(i),
                        Step::Key("name"),
                    ],
                    Target::Value,
                    format!("`{}` is not the alertname of any alert inject", a.name),
                    hint,
                );
            }
        }
    }

    /// `fault` injects require `target` and `blastRadius`. Returns whether
    /// the shared sections can go through the scenario rules.
    fn fault_sections(&mut self, drill: &Drill) -> bool {
        let spec = &drill.spec;
        let Some(first) = spec.injects.iter().position(|i| i.fault.is_some()) else {
            return true;
        };
        let mut ok = true;
        for (field, present) in [
            ("target", spec.target.is_some()),
            ("blastRadius", spec.blast_radius.is_some()),
        ] {
            if !present {
                ok = false;
                self.error(
                    &inject_path(first, &["fault"]),
                    Target::Key,
                    format!("inject `{}` has a `fault`, so the drill needs `spec.{field}`", spec.injects[first].id),
                    "a hybrid drill touches a cluster under every scenario safety rule: add `target: {contexts: [...], namespaces: [...]}` and `blastRadius: {maxTargets: N, maxDuration: D}`",
                );
            }
        }
        ok
    }
}

/// The drill's tree under the scenario's paths: `spec.faults[k]` is the
/// k-th fault inject's `fault`, and `target`, `blastRadius`, `detection`
/// and `response` are the drill's own nodes. A rule the scenario validator
/// reports thus points into the drill file.
fn scenario_view(root: &Node) -> Node {
    let spec = root.get("spec");
    let key = |k: &str| Node::new(root.span, Value::Str(k.into()));
    let mut entries: Vec<Entry> = ["target", "blastRadius", "detection", "response"]
        .iter()
        .filter_map(|k| spec.and_then(|s| s.entry(k)).cloned())
        .collect();
    let faults: Vec<Node> = spec
        .and_then(|s| s.get("injects"))
        .map(|inj| {
            inj.items()
                .iter()
                .filter_map(|i| i.get("fault").cloned())
                .collect()
        })
        .unwrap_or_default();
    entries.push(Entry {
        key: key("faults"),
        value: Node::new(root.span, Value::Seq(faults)),
    });
    let spec_node = Node::new(spec.map_or(root.span, |s| s.span), Value::Map(entries));
    Node::new(
        root.span,
        Value::Map(vec![Entry {
            key: key("spec"),
            value: spec_node,
        }]),
    )
}
