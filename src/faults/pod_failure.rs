//! podFailure: swap every container image of the chosen pods for a pause
//! image (running, never ready). The original images are the undo data:
//! `{"images":{"app":"shop/checkout:1.4"}}`. Mark and change are one write.

use std::collections::BTreeMap;

use futures::FutureExt;
use serde_json::{Value, json};

use super::about::About;
use super::common::{self};
use super::patched::{self, Change};
use super::rbac::{Rule, pods_rw};
use super::restored;
use super::{Entry, FaultCx, FaultKind, Planning, Reverted, Reverting, targets};
use crate::k8s::Kube;
use crate::k8s::marks::{Marked, ObjKind};
use crate::scenario::FaultSpec;
use crate::scenario::ParamCheck;
use kube::api::DynamicObject;

pub struct PodFailure;

pub const FAULT: Entry = Entry::new(&PodFailure, ABOUT);

const STARTER: &str = r#"
hypothesis: With one checkout pod failing for 30s, checkout keeps 99% success and the replicas-unavailable alert pages within 1m.
duration: 30s
successDuring: 0.99
alert: DeploymentReplicasUnavailable
      # params:
      #   image: registry.k8s.io/pause:3.9   # the image that replaces the containers'
"#;

const ABOUT: About = About {
    rbac: RBAC,
    marks: &[ObjKind::Pod],
    starter: STARTER,
};

#[derive(Debug, Clone, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// The image to set (default: the pause image: a container that runs but serves nothing).
    pub image: Option<String>,
}

pub const DEFAULT_IMAGE: &str = "registry.k8s.io/pause:3.9";

/// Records every container's image and swaps them all for the fault's.
fn change(p: &Params, pod: &DynamicObject) -> Change {
    let image = p.image.as_deref().unwrap_or(DEFAULT_IMAGE);
    let (containers, before) =
        with_images(&pod.data["spec"]["containers"], &|_, _| image.to_string());
    Change {
        // Whether it was Ready: the revert then waits until it is again.
        undo: json!({ "images": before, "ready": is_ready(&pod.data) }),
        patch: json!({"spec": {"containers": containers}}),
    }
}

const RBAC: &[Rule] = &[pods_rw(&["get", "list", "patch"])];

/// `containers` with images replaced per `images` (by container name).
/// Containers are sent whole because a merge patch replaces lists.
pub fn with_images(
    containers: &Value,
    images: &dyn Fn(&str, &str) -> String,
) -> (Value, BTreeMap<String, String>) {
    let mut before = BTreeMap::new();
    let list = containers
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    let mut c = c.clone();
                    let name = c["name"].as_str().unwrap_or_default().to_string();
                    let old = c["image"].as_str().unwrap_or_default().to_string();
                    c["image"] = json!(images(&name, &old));
                    before.insert(name, old);
                    c
                })
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    (Value::Array(list), before)
}

/// The restore patch body for `containers` at `pointer`, from undo images.
pub fn restored_containers(containers: &Value, undo: &Value) -> Value {
    let images = undo.get("images").cloned().unwrap_or_default();
    with_images(containers, &|name, cur| {
        images
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or(cur)
            .to_string()
    })
    .0
}

impl FaultSpec for PodFailure {
    fn name(&self) -> &'static str {
        "podFailure"
    }

    fn check_params(&self, check: &mut ParamCheck<'_, '_>) {
        if let Some(p) = check.typed::<Params>() {
            check.non_empty(p.image.as_deref(), "image");
        }
    }
}

impl FaultKind for PodFailure {
    fn plan<'a>(&'a self, cx: &'a FaultCx<'a>) -> Planning<'a> {
        async move { Ok(targets::pods(cx).await?.0) }.boxed()
    }

    patched::methods!(change, patched::accepted);

    /// Restores the images, waits until the pod runs them and is Ready
    /// again (when it was Ready before), and only then removes the marks
    /// (see [`restored`]).
    fn revert<'a>(&'a self, kube: &'a Kube, marked: &'a Marked) -> Reverting<'a> {
        async move {
            let Some(pod) = common::get(kube, &marked.obj).await? else {
                return Ok(Reverted::Gone);
            };
            let containers = restored_containers(&pod.data["spec"]["containers"], &marked.undo);
            let spec = json!({"spec": {"containers": containers}});
            if common::merge_patch(kube, &marked.obj, &spec)
                .await?
                .is_none()
            {
                return Ok(Reverted::Gone);
            }
            if marked.undo["ready"] == true {
                let want = images(&containers);
                restored::wait_until_back(kube, &marked.obj, |p| restored::pod_pending(p, &want))
                    .await?;
            }
            common::strip(kube, &marked.obj).await
        }
        .boxed()
    }
}

/// `name → image` of a container list.
pub fn images(containers: &Value) -> BTreeMap<String, String> {
    containers
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            (s("name"), s("image"))
        })
        .collect()
}

/// Whether the pod's Ready condition is True.
fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_swap_and_restore() {
        let cs = json!([{"name": "app", "image": "shop/checkout:1.4", "ports": [{"containerPort": 80}]},
                        {"name": "side", "image": "envoy:1"}]);
        let (broken, before) = with_images(&cs, &|_, _| DEFAULT_IMAGE.into());
        assert_eq!(broken[0]["image"], DEFAULT_IMAGE);
        assert_eq!(
            broken[0]["ports"][0]["containerPort"], 80,
            "rest of the container kept"
        );
        let undo = json!({"images": before});
        assert_eq!(
            undo,
            json!({"images": {"app": "shop/checkout:1.4", "side": "envoy:1"}})
        );
        assert_eq!(restored_containers(&broken, &undo), cs);
        // Undo without an entry for a container leaves it alone.
        assert_eq!(restored_containers(&cs, &json!({})), cs);
    }
}
