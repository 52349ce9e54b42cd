//! nodeCordon: mark nodes unschedulable. Undo: the previous
//! `{"unschedulable": bool}`, so a node that was cordoned by someone else
//! stays cordoned after the revert.

use futures::FutureExt;
use serde_json::json;

use super::about::About;
use super::common;
use super::patched::{self, Change};
use super::rbac::{NODES, Rule};
use super::{Entry, FaultCx, FaultError, FaultKind, Planning, Reverted, Reverting, targets};
use crate::k8s::Kube;
use crate::k8s::marks::ObjKind;
use crate::k8s::marks::{self, Marked, ObjRef, Stamp};
use crate::scenario::TargetKind;
use crate::scenario::{FaultSpec, NoParams};
use kube::api::DynamicObject;

pub struct NodeCordon;

pub const FAULT: Entry = Entry::new(&NodeCordon, ABOUT);

const STARTER: &str = r#"
hypothesis: Cordoning a blue node for 30s changes nothing for checkout, which keeps 99% success and every replica.
duration: 30s
successDuring: 0.99
      # nodeCordon takes no params: it marks the nodes unschedulable
"#;

const ABOUT: About = About {
    rbac: RBAC,
    marks: &[ObjKind::Node],
    starter: STARTER,
};

const RBAC: &[Rule] = &[NODES];

/// Records whether the node was already unschedulable, and cordons it.
fn change(_: &NoParams, node: &DynamicObject) -> Change {
    let was = node.data["spec"]["unschedulable"]
        .as_bool()
        .unwrap_or(false);
    Change {
        undo: json!({ "unschedulable": was }),
        patch: json!({"spec": {"unschedulable": true}}),
    }
}

/// Cordons one node in the same write that marks it (nodeDrain's first step).
pub async fn cordon(kube: &Kube, obj: &ObjRef, stamp: &Stamp) -> Result<Option<()>, FaultError> {
    let Some(node) = common::get(kube, obj).await? else {
        return Ok(None);
    };
    let Change { undo, patch } = change(&NoParams {}, &node);
    let patch = marks::combine(stamp.patch(&undo, &[]), &patch);
    Ok(common::merge_patch(kube, obj, &patch).await?.map(|_| ()))
}

/// Uncordons (or keeps cordoned) per the undo data.
pub async fn uncordon(kube: &Kube, marked: &Marked) -> Result<Reverted, FaultError> {
    let was = marked.undo["unschedulable"].as_bool().unwrap_or(false);
    // `null` removes the field, which is what an uncordoned node looks like.
    let value = if was {
        json!(true)
    } else {
        serde_json::Value::Null
    };
    common::restore(
        kube,
        &marked.obj,
        &json!({"spec": {"unschedulable": value}}),
    )
    .await
}

impl FaultSpec for NodeCordon {
    fn name(&self) -> &'static str {
        "nodeCordon"
    }

    fn target_kind(&self) -> TargetKind {
        TargetKind::Nodes
    }
}

impl FaultKind for NodeCordon {
    fn plan<'a>(&'a self, cx: &'a FaultCx<'a>) -> Planning<'a> {
        async move { Ok(targets::nodes(cx).await?.0) }.boxed()
    }

    patched::methods!(change, patched::accepted);

    fn revert<'a>(&'a self, kube: &'a Kube, marked: &'a Marked) -> Reverting<'a> {
        uncordon(kube, marked).boxed()
    }
}
