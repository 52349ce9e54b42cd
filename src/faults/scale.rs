//! scale: set a Deployment's or StatefulSet's replicas to `replicas`, or
//! change them `by` a relative amount. Undo: `{"replicas": N}`. The impact
//! is the share of replicas removed, so scaling to zero is a full outage.

use futures::FutureExt;
use serde_json::json;

use super::about::About;
use super::common::{self};
use super::patched::{self, Change};
use super::rbac::{Rule, workloads};
use super::{Entry, FaultCx, FaultError, FaultKind, Planning, Reverting, targets};
use crate::k8s::Kube;
use crate::k8s::marks::Marked;
use crate::k8s::marks::ObjKind;
use crate::k8s::select::{Candidate, Candidates, GroupImpact};
use crate::scenario::ParamCheck;
use crate::scenario::TargetKind;
use crate::scenario::{Fault, FaultSpec};
use crate::yaml::Target;
use kube::api::DynamicObject;

pub struct Scale;

pub const FAULT: Entry = Entry::new(&Scale, ABOUT);

const STARTER: &str = r#"
hypothesis: Checkout on half its replicas for 30s keeps 99% success.
duration: 30s
successDuring: 0.99
      params:
        replicas: 2             # absolute (2 of 4 is 50%, within maxPercent); or `by: -1`
"#;

const ABOUT: About = About {
    rbac: RBAC,
    marks: &[ObjKind::Deployment, ObjKind::StatefulSet],
    starter: STARTER,
};

const RBAC: &[Rule] = &[workloads("deployments"), workloads("statefulsets")];

#[derive(Debug, Clone, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// Absolute replica count.
    pub replicas: Option<u32>,
    /// Relative change, e.g. -2.
    pub by: Option<i32>,
}

/// Records the current replicas and sets the new count.
fn change(p: &Params, w: &DynamicObject) -> Change {
    let current = w.data["spec"]["replicas"].as_i64().unwrap_or(1);
    Change {
        undo: json!({ "replicas": current }),
        patch: json!({"spec": {"replicas": desired(p, current)}}),
    }
}

/// The replica count after the fault. Default: minus one.
pub fn desired(p: &Params, current: i64) -> i64 {
    match (p.replicas, p.by) {
        (Some(r), _) => r as i64,
        (None, Some(by)) => (current + by as i64).max(0),
        (None, None) => (current - 1).max(0),
    }
}

impl FaultSpec for Scale {
    fn name(&self) -> &'static str {
        "scale"
    }

    fn target_kind(&self) -> TargetKind {
        TargetKind::Workload
    }

    fn check_params(&self, check: &mut ParamCheck<'_, '_>) {
        if let Some(p) = check.typed::<Params>() {
            check_replicas_or_by(check, &p);
        }
    }
}

impl FaultKind for Scale {
    fn plan<'a>(&'a self, cx: &'a FaultCx<'a>) -> Planning<'a> {
        targets::workload(cx).boxed()
    }

    fn impact(
        &self,
        fault: &Fault,
        chosen: &[Candidate],
        all: &Candidates,
    ) -> Option<Vec<GroupImpact>> {
        let p = fault.params_as::<Params>().ok()?;
        Some(
            chosen
                .iter()
                .map(|c| {
                    let total = all.total_of(&c.group);
                    let removed = (total as i64 - desired(&p, total as i64)).max(0) as usize;
                    GroupImpact {
                        group: c.group.clone(),
                        chosen: removed,
                        total,
                        percent: if total == 0 {
                            0
                        } else {
                            ((removed * 100).div_ceil(total)) as u32
                        },
                    }
                })
                .collect(),
        )
    }

    patched::methods!(change, patched::accepted);

    fn revert<'a>(&'a self, kube: &'a Kube, marked: &'a Marked) -> Reverting<'a> {
        async move {
            match marked.undo.get("replicas").and_then(|r| r.as_i64()) {
                Some(r) => {
                    common::restore(kube, &marked.obj, &json!({"spec": {"replicas": r}})).await
                }
                None => Err(FaultError::Undo {
                    obj: marked.obj.to_string(),
                    message: "gameday/undo has no `replicas`".into(),
                }),
            }
        }
        .boxed()
    }
}

/// `scale` takes `replicas` or `by`, exactly one, and `by` must move.
fn check_replicas_or_by(check: &mut ParamCheck<'_, '_>, p: &Params) {
    let name = check.fault.name.clone();
    match (p.replicas, p.by) {
        (Some(_), Some(_)) => check.error(
            &["by"],
            Target::Key,
            format!("fault `{name}` sets both `replicas` and `by`"),
            Some(
                "scale to an absolute count with `replicas`, or relative with `by`, not both"
                    .into(),
            ),
        ),
        (None, None) => check.error_at_type(
            format!("fault `{name}` (scale) needs `params.replicas` or `params.by`"),
            Some("e.g. `params: {replicas: 1}` or `params: {by: -2}`".into()),
        ),
        (None, Some(0)) => check.error(
            &["by"],
            Target::Value,
            "`by: 0` does not change anything".into(),
            None,
        ),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(replicas: Option<u32>, by: Option<i32>) -> Params {
        Params { replicas, by }
    }

    #[test]
    fn desired_replicas() {
        assert_eq!(desired(&params(Some(1), None), 4), 1);
        assert_eq!(desired(&params(None, Some(-2)), 4), 2);
        assert_eq!(desired(&params(None, Some(-9)), 4), 0);
        assert_eq!(desired(&params(None, None), 4), 3);
    }
}
