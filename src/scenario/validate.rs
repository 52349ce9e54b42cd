//! The semantic rules of scenario format v1 (shared/scenario-v1.md): what the
//! schema cannot say. Each rule reports at the node that breaks it, so the
//! caret lands on the value to change.

use std::collections::HashMap;

use super::fault_spec::{FaultRules, ParamCheck};
use super::model::*;
use super::{Duration, Expectation};
use crate::config::Config;
use crate::diag::{Diagnostic, Source};
pub use crate::values::is_dns_label;
use crate::yaml::{Node, Step, Target, did_you_mean, one_of};

macro_rules! path {
    ($($s:expr),* $(,)?) => { &[$(Step::from($s)),*][..] };
}

/// Checks one structurally valid scenario document and pushes every broken rule.
pub fn validate(
    scenario: &Scenario,
    root: &Node,
    src: &Source<'_>,
    config: &Config,
    faults: &dyn FaultRules,
    diags: &mut Vec<Diagnostic>,
) {
    let mut v = Validator {
        root,
        src,
        config,
        faults,
        diags,
    };
    v.scenario(scenario);
}

struct Validator<'a, 'b> {
    root: &'a Node,
    src: &'a Source<'b>,
    config: &'a Config,
    faults: &'a dyn FaultRules,
    diags: &'a mut Vec<Diagnostic>,
}

impl Validator<'_, '_> {
    fn error(&mut self, path: &[Step<'_>], target: Target, msg: String, hint: Option<String>) {
        let span = self.root.locate(path, target);
        let mut d = self.src.error(span, msg);
        d.hint = hint;
        self.diags.push(d);
    }

    fn scenario(&mut self, s: &Scenario) {
        let spec = &s.spec;
        if spec.hypothesis.trim().is_empty() {
            self.error(
                path!["spec", "hypothesis"],
                Target::Key,
                "`hypothesis` must not be empty".into(),
                Some(
                    "state what should hold, e.g. \"checkout keeps 99% success while a pod dies\""
                        .into(),
                ),
            );
        }
        self.target(spec);
        self.blast_radius(spec);
        self.steady_state(spec);
        self.faults(spec);
        if let Some(det) = &spec.detection {
            for (i, a) in det.alerts.iter().enumerate() {
                self.positive(
                    a.within,
                    path!["spec", "detection", "alerts", i, "within"],
                    "within",
                );
            }
        }
        if let Some(resp) = &spec.response {
            self.response(spec, resp);
        }
    }

    fn positive(&mut self, d: Duration, p: &[Step<'_>], field: &str) {
        if d == Duration::ZERO {
            self.error(
                p,
                Target::Value,
                format!("`{field}` must be longer than 0s"),
                None,
            );
        }
    }

    fn protected_hint(&self) -> String {
        let list: Vec<&str> = self.config.protected_namespaces().collect();
        format!(
            "protected namespaces are {}; game days never touch them",
            one_of(&list)
        )
    }

    fn target(&mut self, spec: &Spec) {
        for (i, ctx) in spec.target.contexts.iter().enumerate() {
            if let Err(e) = glob::Pattern::new(ctx) {
                self.error(
                    path!["spec", "target", "contexts", i],
                    Target::Value,
                    format!("invalid context glob `{ctx}`: {}", e.msg),
                    Some("use `*` and `?` wildcards, e.g. `staging-*`".into()),
                );
            }
        }
        for (i, ns) in spec.target.namespaces.iter().enumerate() {
            let p = path!["spec", "target", "namespaces", i];
            if self.config.is_protected(ns) {
                let hint = self.protected_hint();
                self.error(
                    p,
                    Target::Value,
                    format!("namespace `{ns}` is protected"),
                    Some(hint),
                );
            } else if !is_dns_label(ns) {
                self.error(
                    p,
                    Target::Value,
                    format!("`{ns}` is not a valid namespace name"),
                    Some("namespace names are lowercase letters, digits and '-', at most 63 characters".into()),
                );
            }
        }
    }

    fn blast_radius(&mut self, spec: &Spec) {
        self.positive(
            spec.blast_radius.max_duration,
            path!["spec", "blastRadius", "maxDuration"],
            "maxDuration",
        );
    }

    fn steady_state(&mut self, spec: &Spec) {
        let ss = &spec.steady_state;
        if let Some(i) = ss.interval {
            self.positive(i, path!["spec", "steadyState", "interval"], "interval");
        }
        let names: Vec<&str> = ss.probes.iter().map(|p| p.name.as_str()).collect();
        self.unique(&names, &["spec", "steadyState", "probes"], "name", "probe");
        for (i, p) in ss.probes.iter().enumerate() {
            let base = [
                Step::Key("spec"),
                Step::Key("steadyState"),
                Step::Key("probes"),
                Step::Index(i),
            ];
            let sources = ProbeSources {
                prometheus: p.prometheus.as_ref(),
                kubernetes: p.kubernetes.as_ref(),
                http: p.http.as_ref(),
            };
            let what = format!("probe `{}`", p.name);
            self.probe(
                &base,
                &what,
                &sources,
                &p.expect,
                p.during.as_ref(),
                p.timeout,
            );
        }
    }

    /// Names must be unique within a list; reports the second use.
    fn unique(&mut self, names: &[&str], list: &[&str], field: &str, what: &str) {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, name) in names.iter().enumerate() {
            if let Some(&first) = seen.get(name) {
                let mut p: Vec<Step<'_>> = list.iter().map(|&k| Step::Key(k)).collect();
                p.push(Step::Index(first));
                p.push(Step::Key(field));
                let first_line = self.root.locate(&p, Target::Value).line;
                p.truncate(list.len());
                p.push(Step::Index(i));
                p.push(Step::Key(field));
                self.error(
                    &p,
                    Target::Value,
                    format!("duplicate {what} {field} `{name}`"),
                    Some(format!("`{name}` is already used on line {first_line}; {what} {field}s must be unique")),
                );
            } else {
                seen.insert(name, i);
            }
        }
    }

    fn probe(
        &mut self,
        base: &[Step<'_>],
        what: &str,
        src: &ProbeSources<'_>,
        expect: &Expectation,
        during: Option<&Expectation>,
        timeout: Option<Duration>,
    ) {
        let at = |k: &'static str| -> Vec<Step<'_>> {
            let mut p = base.to_vec();
            p.push(Step::Key(k));
            p
        };
        let present: Vec<&'static str> = [
            ("prometheus", src.prometheus.is_some()),
            ("kubernetes", src.kubernetes.is_some()),
            ("http", src.http.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, on)| on.then_some(k))
        .collect();
        match present.len() {
            0 => self.error(
                base,
                Target::Key,
                format!("{what} has no source"),
                Some("add exactly one of `prometheus`, `kubernetes` or `http`".into()),
            ),
            1 => {}
            _ => self.error(
                &at(present[1]),
                Target::Key,
                format!(
                    "{what} has more than one source: {}",
                    one_of(&present).replace(" or ", " and ")
                ),
                Some("a probe reads exactly one source; split it into one probe per source".into()),
            ),
        }
        if let Some(p) = src.prometheus {
            let qp = {
                let mut v = at("prometheus");
                v.push(Step::Key("query"));
                v
            };
            if p.query.trim().is_empty() {
                self.error(
                    &qp,
                    Target::Key,
                    format!("the query of {what} is empty"),
                    None,
                );
            } else if let Err(e) = super::promql::check(&p.query) {
                self.error(
                    &qp,
                    Target::Value,
                    format!("invalid PromQL in {what}: {}", e.0.trim()),
                    Some(
                        "the query is checked with a PromQL parser; try it in the Prometheus UI"
                            .into(),
                    ),
                );
            }
        }
        if let Some(k) = src.kubernetes {
            self.kubernetes_probe(&at("kubernetes"), what, k);
        }
        if let Some(h) = src.http {
            let mut up = at("http");
            up.push(Step::Key("url"));
            match reqwest::Url::parse(&h.url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                Ok(u) => self.error(
                    &up,
                    Target::Value,
                    format!("unsupported URL scheme `{}` in {what}", u.scheme()),
                    Some("http probes take `http://` or `https://` URLs".into()),
                ),
                Err(e) => self.error(
                    &up,
                    Target::Value,
                    format!("invalid URL `{}` in {what}: {e}", h.url),
                    Some("write a full URL, e.g. `http://127.0.0.1:8080/healthz`".into()),
                ),
            }
            if let Some(status) = h.status.filter(|s| !(100..=599).contains(s)) {
                let mut sp = at("http");
                sp.push(Step::Key("status"));
                self.error(
                    &sp,
                    Target::Value,
                    format!("`{status}` is not an HTTP status code"),
                    Some("use a code between 100 and 599".into()),
                );
            }
        }
        if src.http.is_none() {
            for (field, e) in [("expect", Some(expect)), ("during", during)] {
                let Some(e) = e else { continue };
                if e.unit().is_some_and(|u| u.is_latency()) {
                    self.error(
                        &at(field),
                        Target::Value,
                        format!("latency expectation `{e}` on {what}, which is not an http probe"),
                        Some("`ms` and `s` apply to http probe latency; compare prometheus and kubernetes values as plain numbers".into()),
                    );
                }
            }
        }
        if let Some(t) = timeout {
            self.positive(t, &at("timeout"), "timeout");
        }
    }

    fn kubernetes_probe(&mut self, base: &[Step<'_>], what: &str, k: &KubernetesProbe) {
        let at = |key: &'static str| -> Vec<Step<'_>> {
            let mut p = base.to_vec();
            p.push(Step::Key(key));
            p
        };
        if !is_dns_label(&k.namespace) {
            self.error(
                &at("namespace"),
                Target::Value,
                format!("`{}` is not a valid namespace name", k.namespace),
                None,
            );
        }
        let kind = match k.kind {
            ProbeKind::Deployment => "Deployment",
            ProbeKind::StatefulSet => "StatefulSet",
            ProbeKind::Pods => "Pods",
        };
        match k.kind {
            ProbeKind::Pods => {
                if k.selector.as_ref().is_none_or(|s| s.is_empty()) {
                    self.error(
                        &at("kind"),
                        Target::Value,
                        format!("{what} reads Pods but has no `selector`"),
                        Some("add the pods' labels, e.g. `selector: {app: checkout}`".into()),
                    );
                }
                if k.name.is_some() {
                    self.error(
                        &at("name"),
                        Target::Key,
                        format!("`name` is not used when {what} reads Pods"),
                        Some("select the pods by label with `selector`".into()),
                    );
                }
            }
            ProbeKind::Deployment | ProbeKind::StatefulSet => {
                if k.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
                    self.error(
                        &at("kind"),
                        Target::Value,
                        format!("{what} reads a {kind} but has no `name`"),
                        Some(format!("add the {kind}'s name, e.g. `name: checkout`")),
                    );
                }
                if k.selector.is_some() {
                    self.error(
                        &at("selector"),
                        Target::Key,
                        format!("`selector` is not used when {what} reads a {kind}"),
                        Some(
                            "a selector applies to `kind: Pods`; name the workload with `name`"
                                .into(),
                        ),
                    );
                }
            }
        }
        if !k.field.fits(k.kind) {
            let valid: &[&str] = match k.kind {
                ProbeKind::Pods => &["ready", "running", "total", "restarts"],
                _ => &[
                    "replicas",
                    "readyReplicas",
                    "availableReplicas",
                    "updatedReplicas",
                ],
            };
            let written = self.root.locate(&at("field"), Target::Value);
            let written = self.src.snippet(written).to_string();
            self.error(
                &at("field"),
                Target::Value,
                format!("{kind} has no field `{written}`"),
                Some(format!("a {kind} probe reads {}", one_of(valid))),
            );
        }
    }

    fn faults(&mut self, section: &Spec) {
        let names: Vec<&str> = section.faults.iter().map(|f| f.name.as_str()).collect();
        self.unique(&names, &["spec", "faults"], "name", "fault");
        let br = &section.blast_radius;
        let recover = section.steady_state.recover_within();
        for (i, f) in section.faults.iter().enumerate() {
            let fp = |k: &'static str| -> Vec<Step<'static>> {
                vec![
                    Step::Key("spec"),
                    Step::Key("faults"),
                    Step::Index(i),
                    Step::Key(k),
                ]
            };
            let ty = f.kind;
            let Some(spec) = self.faults.spec(ty) else {
                self.unknown_type(ty, &fp("type"));
                continue;
            };
            // Duration present exactly for the faults that hold.
            match (spec.holds(), f.duration) {
                (true, None) => self.error(
                    &fp("type"),
                    Target::Value,
                    format!("fault `{}` ({ty}) needs a `duration`", f.name),
                    Some(format!(
                        "{ty} holds until it is reverted; add e.g. `duration: 60s`"
                    )),
                ),
                (false, Some(_)) => self.error(
                    &fp("duration"),
                    Target::Key,
                    format!(
                        "{ty} is instantaneous: `duration` has no effect on fault `{}`",
                        f.name
                    ),
                    Some(
                        "remove `duration`; `steadyState.recoverWithin` bounds the recovery".into(),
                    ),
                ),
                (true, Some(d)) => self.positive(d, &fp("duration"), "duration"),
                (false, None) => {}
            }
            // The whole timeline, recovery included, fits maxDuration.
            let end = f.end();
            let total = Duration(end.0 + recover.0);
            if total > br.max_duration {
                let point = if f.duration.is_some() {
                    "duration"
                } else {
                    "at"
                };
                self.error(
                    &fp(point),
                    Target::Value,
                    format!(
                        "fault `{}` does not fit in `blastRadius.maxDuration` ({}): it ends at {end} and recovery may take {recover} more, {total} in all",
                        f.name, br.max_duration
                    ),
                    Some(format!("shorten the fault, or raise `maxDuration` to at least {total}")),
                );
            }
            self.mode(f, br, &fp("mode"));
            self.selector(section, f, i, spec.target_kind());
            let mut check = ParamCheck::new(f, i, self.root, self.src, self.diags);
            spec.check_params(&mut check);
        }
    }

    /// A `type` no fault in the registry has, with the closest one.
    fn unknown_type(&mut self, ty: FaultType, p: &[Step<'_>]) {
        let names = self.faults.names();
        let hint = match did_you_mean(ty.as_str(), names.iter().copied()) {
            Some(m) => format!("did you mean `{m}`?"),
            None => format!("the fault types are {}", one_of(&names)),
        };
        self.error(
            p,
            Target::Value,
            format!("unknown value `{ty}` for `type`"),
            Some(hint),
        );
    }

    fn mode(&mut self, f: &Fault, br: &BlastRadius, p: &[Step<'_>]) {
        let Some(mode) = f.mode else { return };
        let full_hint =
            "set `blastRadius.allowFullOutage: true` if a full outage is the point of this drill";
        let mut key_path = p.to_vec();
        match mode {
            Mode::All => {
                if !br.allow_full_outage {
                    self.error(
                        p,
                        Target::Value,
                        format!(
                            "`mode: all` lets fault `{}` touch every target: a full outage",
                            f.name
                        ),
                        Some(full_hint.into()),
                    );
                }
            }
            Mode::Count(n) => {
                key_path.push(Step::Key("count"));
                if n == 0 {
                    self.error(
                        &key_path,
                        Target::Value,
                        "`count` must be at least 1".into(),
                        None,
                    );
                } else if n > br.max_targets {
                    self.error(
                        &key_path,
                        Target::Value,
                        format!(
                            "`count: {n}` is above `blastRadius.maxTargets` ({})",
                            br.max_targets
                        ),
                        Some(format!(
                            "lower the count to at most {}, or raise `maxTargets`",
                            br.max_targets
                        )),
                    );
                }
            }
            Mode::Percent(pc) | Mode::RandomMaxPercent(pc) => {
                let key = if matches!(mode, Mode::Percent(_)) {
                    "percent"
                } else {
                    "randomMaxPercent"
                };
                key_path.push(Step::Key(key));
                let max = br.max_percent();
                if pc == 0 || pc > 100 {
                    self.error(
                        &key_path,
                        Target::Value,
                        format!("`{key}` must be between 1 and 100, found {pc}"),
                        None,
                    );
                } else if pc == 100 && !br.allow_full_outage {
                    self.error(
                        &key_path,
                        Target::Value,
                        format!(
                            "`{key}: 100` lets fault `{}` touch every target: a full outage",
                            f.name
                        ),
                        Some(full_hint.into()),
                    );
                } else if pc > max && !br.allow_full_outage {
                    self.error(
                        &key_path,
                        Target::Value,
                        format!("`{key}: {pc}` is above `blastRadius.maxPercent` ({max})"),
                        Some(format!(
                            "lower it to at most {max}, raise `maxPercent`, or {full_hint}"
                        )),
                    );
                }
            }
        }
    }

    fn selector(&mut self, spec: &Spec, f: &Fault, i: usize, kind: TargetKind) {
        let sel = &f.selector;
        let sp = |k: &'static str| -> Vec<Step<'static>> {
            vec![
                Step::Key("spec"),
                Step::Key("faults"),
                Step::Index(i),
                Step::Key("selector"),
                Step::Key(k),
            ]
        };
        let base = [
            Step::Key("spec"),
            Step::Key("faults"),
            Step::Index(i),
            Step::Key("selector"),
        ];
        let ty = f.kind;
        let not_used = |v: &mut Self, key: &'static str, present: bool, why: &str| {
            if present {
                v.error(
                    &sp(key),
                    Target::Key,
                    format!("`selector.{key}` is not used by {ty} faults"),
                    Some(why.to_string()),
                );
            }
        };
        match kind {
            TargetKind::Pods => {
                let why = "pod faults select pods by `namespace` and `labels`";
                not_used(self, "kind", sel.kind.is_some(), why);
                not_used(self, "name", sel.name.is_some(), why);
                not_used(self, "nodeLabels", sel.node_labels.is_some(), why);
                if sel.labels.as_ref().is_none_or(|l| l.is_empty()) {
                    self.error(
                        &base,
                        Target::Key,
                        format!("fault `{}` ({ty}) selects pods but has no `labels`", f.name),
                        Some("add the pods' labels, e.g. `labels: {app: checkout}`".into()),
                    );
                }
            }
            TargetKind::Workload => {
                let why = "workload faults select one workload by `namespace`, `kind` and `name`";
                not_used(self, "labels", sel.labels.is_some(), why);
                not_used(self, "nodeLabels", sel.node_labels.is_some(), why);
                if sel.kind.is_none() || sel.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
                    self.error(
                        &base,
                        Target::Key,
                        format!(
                            "fault `{}` ({ty}) needs the workload's `kind` and `name`",
                            f.name
                        ),
                        Some("e.g. `kind: Deployment` and `name: checkout`".into()),
                    );
                }
            }
            TargetKind::Nodes => {
                let why = "node faults select nodes by `nodeLabels`";
                not_used(self, "namespace", sel.namespace.is_some(), why);
                not_used(self, "labels", sel.labels.is_some(), why);
                not_used(self, "kind", sel.kind.is_some(), why);
                not_used(self, "name", sel.name.is_some(), why);
                if sel.node_labels.as_ref().is_none_or(|l| l.is_empty()) {
                    self.error(
                        &base,
                        Target::Key,
                        format!(
                            "fault `{}` ({ty}) selects nodes but has no `nodeLabels`",
                            f.name
                        ),
                        Some("add the nodes' labels, e.g. `nodeLabels: {pool: blue}`".into()),
                    );
                }
                return;
            }
        }
        match &sel.namespace {
            None => self.error(
                &base,
                Target::Key,
                format!("fault `{}` ({ty}) needs `selector.namespace`", f.name),
                Some(format!(
                    "name one of target.namespaces: {}",
                    one_of(&spec.target.namespaces)
                )),
            ),
            Some(ns) if self.config.is_protected(ns) => {
                let hint = self.protected_hint();
                self.error(
                    &sp("namespace"),
                    Target::Value,
                    format!("namespace `{ns}` is protected"),
                    Some(hint),
                );
            }
            Some(ns) if !spec.target.namespaces.contains(ns) => {
                let hint = match did_you_mean(ns, spec.target.namespaces.iter().map(String::as_str))
                {
                    Some(m) => {
                        format!("did you mean `{m}`? Faults may only touch target.namespaces")
                    }
                    None => format!(
                        "faults may only touch target.namespaces ({}); add it there if this is intended",
                        one_of(&spec.target.namespaces)
                    ),
                };
                self.error(
                    &sp("namespace"),
                    Target::Value,
                    format!("namespace `{ns}` is not listed in `target.namespaces`"),
                    Some(hint),
                );
            }
            Some(_) => {}
        }
    }

    fn response(&mut self, spec: &Spec, r: &Response) {
        let rp = |k: &'static str| -> Vec<Step<'static>> {
            vec![Step::Key("spec"), Step::Key("response"), Step::Key(k)]
        };
        if let Some(sev) = &r.severity {
            self.severity(sev, &rp("severity"));
        }
        let step_ids: Vec<&str> = match &r.runbook {
            Some(rb) => self.runbook(rb),
            None => Vec::new(),
        };
        let people: Vec<&str> = r
            .roles
            .as_ref()
            .map(|ro| ro.people().collect())
            .unwrap_or_default();
        for (i, a) in r.autopilot.iter().enumerate() {
            let ap = |k: &'static str| -> Vec<Step<'static>> {
                vec![
                    Step::Key("spec"),
                    Step::Key("response"),
                    Step::Key("autopilot"),
                    Step::Index(i),
                    Step::Key(k),
                ]
            };
            self.autopilot_person(a, &people, &ap);
            self.autopilot_fields(a, &ap);
            self.autopilot_needs(a, &step_ids, &ap);
            self.autopilot_scale(spec, a, &ap);
        }
    }

    /// `response.runbook`: unique step ids, positive deadlines, valid verify
    /// probes. Returns the step ids, which autopilot `step` entries name.
    fn runbook<'r>(&mut self, rb: &'r Runbook) -> Vec<&'r str> {
        let step_ids: Vec<&str> = rb.steps.iter().map(|s| s.id.as_str()).collect();
        self.unique(
            &step_ids,
            &["spec", "response", "runbook", "steps"],
            "id",
            "runbook step",
        );
        for (i, st) in rb.steps.iter().enumerate() {
            let base = [
                Step::Key("spec"),
                Step::Key("response"),
                Step::Key("runbook"),
                Step::Key("steps"),
                Step::Index(i),
            ];
            if let Some(w) = st.within {
                let mut p = base.to_vec();
                p.push(Step::Key("within"));
                self.positive(w, &p, "within");
            }
            if let Some(vp) = &st.verify {
                let mut p = base.to_vec();
                p.push(Step::Key("verify"));
                let sources = ProbeSources {
                    prometheus: vp.prometheus.as_ref(),
                    kubernetes: vp.kubernetes.as_ref(),
                    http: vp.http.as_ref(),
                };
                let what = format!("the verify probe of step `{}`", st.id);
                self.probe(&p, &what, &sources, &vp.expect, None, vp.timeout);
            }
        }
        step_ids
    }

    /// An autopilot entry acts `as` someone named under `response.roles`.
    fn autopilot_person(&mut self, a: &AutopilotEntry, people: &[&str], ap: &AutopilotPath) {
        if people.contains(&a.person.as_str()) {
            return;
        }
        let hint = if people.is_empty() {
            "name the responders under `response.roles` first".to_string()
        } else {
            match did_you_mean(&a.person, people.iter().copied()) {
                Some(m) => format!("did you mean `{m}`?"),
                None => format!("people under roles: {}", one_of(people)),
            }
        };
        self.error(
            &ap("as"),
            Target::Value,
            format!("`{}` is not named under `response.roles`", a.person),
            Some(hint),
        );
    }

    /// Fields that the entry's action does not read are mistakes, not noise.
    fn autopilot_fields(&mut self, a: &AutopilotEntry, ap: &AutopilotPath) {
        let act = a.act;
        // Fields that only some actions read.
        let uses = |field: &str| match field {
            "severity" => act == ResponderAction::Declare,
            "step" | "action" => act == ResponderAction::Step,
            "message" => matches!(act, ResponderAction::Update | ResponderAction::Note),
            "role" | "to" => act == ResponderAction::Assign,
            _ => true,
        };
        let given = [
            ("severity", a.severity.is_some()),
            ("step", a.step.is_some()),
            ("action", a.action.is_some()),
            ("message", a.message.is_some()),
            ("role", a.role.is_some()),
            ("to", a.to.is_some()),
        ];
        let act_name = action_name(act);
        for (field, present) in given {
            if present && !uses(field) {
                self.error(
                    &ap(field),
                    Target::Key,
                    format!("`{field}` is not used by `do: {act_name}`"),
                    Some(format!(
                        "remove it, or change `do` to the action that reads `{field}`"
                    )),
                );
            }
        }
    }

    /// What each action needs: a severity to declare, a runbook step to
    /// mark, a message to post, a role to assign.
    fn autopilot_needs(&mut self, a: &AutopilotEntry, step_ids: &[&str], ap: &AutopilotPath) {
        let act_name = action_name(a.act);
        match a.act {
            ResponderAction::Declare => match &a.severity {
                Some(sev) => self.severity(sev, &ap("severity")),
                None => self.error(
                    &ap("do"),
                    Target::Value,
                    "`do: declare` needs a `severity`".into(),
                    Some("e.g. `severity: SEV2`".into()),
                ),
            },
            ResponderAction::Step => match &a.step {
                Some(step) if !step_ids.contains(&step.as_str()) => {
                    let hint = if step_ids.is_empty() {
                        "add the step under `response.runbook.steps`".to_string()
                    } else {
                        match did_you_mean(step, step_ids.iter().copied()) {
                            Some(m) => format!("did you mean `{m}`?"),
                            None => format!("runbook steps: {}", one_of(step_ids)),
                        }
                    };
                    self.error(
                        &ap("step"),
                        Target::Value,
                        format!("`{step}` is not a runbook step"),
                        Some(hint),
                    );
                }
                Some(_) => {}
                None => self.error(
                    &ap("do"),
                    Target::Value,
                    "`do: step` needs a `step` naming a runbook step".into(),
                    None,
                ),
            },
            ResponderAction::Update | ResponderAction::Note => {
                if a.message.as_deref().is_none_or(|m| m.trim().is_empty()) {
                    self.error(
                        &ap("do"),
                        Target::Value,
                        format!("`do: {act_name}` needs a `message`"),
                        None,
                    );
                }
            }
            ResponderAction::Assign => {
                if a.role.is_none() {
                    self.error(
                        &ap("do"),
                        Target::Value,
                        "`do: assign` needs a `role`".into(),
                        Some(
                            "one of `incidentCommander`, `communications`, `operations` or `sme`"
                                .into(),
                        ),
                    );
                }
            }
            ResponderAction::Ack | ResponderAction::Resolve => {}
        }
    }

    /// The autopilot only changes what the scenario may touch.
    fn autopilot_scale(&mut self, spec: &Spec, a: &AutopilotEntry, ap: &AutopilotPath) {
        let Some(scale) = a.action.as_ref().and_then(|x| x.scale.as_ref()) else {
            return;
        };
        let mut np = ap("action");
        np.extend([Step::Key("scale"), Step::Key("namespace")]);
        let ns = &scale.namespace;
        if self.config.is_protected(ns) {
            let hint = self.protected_hint();
            self.error(
                &np,
                Target::Value,
                format!("namespace `{ns}` is protected"),
                Some(hint),
            );
        } else if !spec.target.namespaces.contains(ns) {
            self.error(
                &np,
                Target::Value,
                format!("namespace `{ns}` is not listed in `target.namespaces`"),
                Some("the autopilot only changes what the scenario may touch".into()),
            );
        }
    }

    fn severity(&mut self, sev: &str, p: &[Step<'_>]) {
        if self.config.severities.contains_key(sev) {
            return;
        }
        let known: Vec<&str> = self.config.severities.keys().map(String::as_str).collect();
        let hint = match did_you_mean(sev, known.iter().copied()) {
            Some(m) => format!("did you mean `{m}`?"),
            None => format!("the config's severity levels are {}", one_of(&known)),
        };
        self.error(
            p,
            Target::Value,
            format!("unknown severity `{sev}`"),
            Some(hint),
        );
    }
}

struct ProbeSources<'a> {
    prometheus: Option<&'a PrometheusProbe>,
    kubernetes: Option<&'a KubernetesProbe>,
    http: Option<&'a HttpProbe>,
}

pub(super) fn lookup<'n>(root: &'n Node, path: &[Step<'_>]) -> Option<&'n Node> {
    let mut node = root;
    for s in path {
        node = match *s {
            Step::Key(k) => node.get(k)?,
            Step::Index(i) => node.index(i)?,
        };
    }
    Some(node)
}

/// The path of a field of one autopilot entry.
type AutopilotPath<'p> = dyn Fn(&'static str) -> Vec<Step<'static>> + 'p;

/// The `do:` word of an action, as the author wrote it.
fn action_name(act: ResponderAction) -> &'static str {
    match act {
        ResponderAction::Ack => "ack",
        ResponderAction::Declare => "declare",
        ResponderAction::Assign => "assign",
        ResponderAction::Update => "update",
        ResponderAction::Step => "step",
        ResponderAction::Resolve => "resolve",
        ResponderAction::Note => "note",
    }
}
