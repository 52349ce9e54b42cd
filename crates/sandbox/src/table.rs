//! Server-side printing: `meta.k8s.io/v1` Table responses with the columns
//! kube-apiserver prints, so plain `kubectl get` output looks like a cluster.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::meta::{self, at, str_at};
use crate::resources::{self, ResId};
use crate::selector::LabelSelector;
use crate::store::Obj;

type Column = (&'static str, &'static str, u8);

fn columns(res: ResId) -> Vec<Column> {
    use resources::*;
    let name = ("Name", "name", 0);
    let age = ("Age", "", 0);
    match res {
        PODS => vec![
            name,
            ("Ready", "", 0),
            ("Status", "", 0),
            ("Restarts", "", 0),
            age,
            ("IP", "", 1),
            ("Node", "", 1),
            ("Nominated Node", "", 1),
            ("Readiness Gates", "", 1),
        ],
        DEPLOYMENTS => vec![
            name,
            ("Ready", "", 0),
            ("Up-to-date", "", 0),
            ("Available", "", 0),
            age,
            ("Containers", "", 1),
            ("Images", "", 1),
            ("Selector", "", 1),
        ],
        DAEMONSETS => vec![
            name,
            ("Desired", "", 0),
            ("Current", "", 0),
            ("Ready", "", 0),
            ("Up-to-date", "", 0),
            ("Available", "", 0),
            ("Node Selector", "", 0),
            age,
            ("Containers", "", 1),
            ("Images", "", 1),
            ("Selector", "", 1),
        ],
        STATEFULSETS => vec![
            name,
            ("Ready", "", 0),
            age,
            ("Containers", "", 1),
            ("Images", "", 1),
        ],
        REPLICASETS => vec![
            name,
            ("Desired", "", 0),
            ("Current", "", 0),
            ("Ready", "", 0),
            age,
            ("Containers", "", 1),
            ("Images", "", 1),
            ("Selector", "", 1),
        ],
        NODES => vec![
            name,
            ("Status", "", 0),
            ("Roles", "", 0),
            age,
            ("Version", "", 0),
            ("Internal-IP", "", 1),
        ],
        NAMESPACES => vec![name, ("Status", "", 0), age],
        SERVICES => vec![
            name,
            ("Type", "", 0),
            ("Cluster-IP", "", 0),
            ("External-IP", "", 0),
            ("Port(s)", "", 0),
            age,
            ("Selector", "", 1),
        ],
        PDBS => vec![
            name,
            ("Min Available", "", 0),
            ("Max Unavailable", "", 0),
            ("Allowed Disruptions", "", 0),
            age,
        ],
        NETWORKPOLICIES => vec![name, ("Pod-Selector", "", 0), age],
        CONFIGMAPS => vec![name, ("Data", "", 0), age],
        EVENTS => vec![
            ("Last Seen", "", 0),
            ("Type", "", 0),
            ("Reason", "", 0),
            ("Object", "", 0),
            ("Subobject", "", 1),
            ("Source", "", 1),
            ("Message", "", 0),
            ("First Seen", "", 1),
            ("Count", "", 1),
            ("Name", "name", 1),
        ],
        _ => vec![name, age],
    }
}

fn s(v: &Value, path: &[&str]) -> String {
    str_at(v, path).unwrap_or("").to_string()
}

fn n(v: &Value, path: &[&str]) -> i64 {
    at(v, path).and_then(Value::as_i64).unwrap_or(0)
}

/// A string map as kubectl prints it: `k=v,k2=v2` (empty when absent).
fn key_values(m: Option<&Value>) -> String {
    m.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

fn or_none(x: String) -> String {
    if x.is_empty() {
        "<none>".to_string()
    } else {
        x
    }
}

/// The STATUS column kubectl shows for a pod.
pub fn pod_status(p: &Value) -> String {
    if at(p, &["metadata", "deletionTimestamp"]).is_some() {
        return "Terminating".into();
    }
    let statuses = at(p, &["status", "containerStatuses"]).and_then(Value::as_array);
    for c in statuses.into_iter().flatten() {
        if let Some(r) = str_at(c, &["state", "waiting", "reason"]) {
            return r.to_string();
        }
        if let Some(r) = str_at(c, &["state", "terminated", "reason"]) {
            return r.to_string();
        }
    }
    let phase = s(p, &["status", "phase"]);
    if phase.is_empty() {
        "Pending".into()
    } else {
        phase
    }
}

fn containers_images(template_spec: Option<&Value>) -> (String, String) {
    let cs = template_spec
        .and_then(|s| s.get("containers"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let names: Vec<String> = cs.iter().map(|c| s(c, &["name"])).collect();
    let images: Vec<String> = cs.iter().map(|c| s(c, &["image"])).collect();
    (names.join(","), images.join(","))
}

fn selector_string(sel: Option<&Value>) -> String {
    sel.and_then(LabelSelector::from_object)
        .map(|s| s.to_string_form())
        .unwrap_or_default()
}

/// The row cells of one object, in [`columns`] order, per resource kind.
fn cells(res: ResId, o: &Value) -> Vec<Value> {
    use resources::*;
    let name = json!(meta::name(o));
    let age = json!(meta::human_age(str_at(
        o,
        &["metadata", "creationTimestamp"]
    )));
    match res {
        PODS => pod_cells(o, name, age),
        DEPLOYMENTS => deployment_cells(o, name, age),
        DAEMONSETS => daemon_set_cells(o, name, age),
        STATEFULSETS => stateful_set_cells(o, name, age),
        REPLICASETS => replica_set_cells(o, name, age),
        NODES => node_cells(o, name, age),
        NAMESPACES => vec![name, json!(s(o, &["status", "phase"])), age],
        SERVICES => service_cells(o, name, age),
        PDBS => pdb_cells(o, name, age),
        NETWORKPOLICIES => {
            let sel = selector_string(at(o, &["spec", "podSelector"]));
            vec![
                name,
                json!(if sel.is_empty() {
                    "<none>".to_string()
                } else {
                    sel
                }),
                age,
            ]
        }
        CONFIGMAPS => {
            let count = o
                .get("data")
                .and_then(Value::as_object)
                .map_or(0, |m| m.len());
            vec![name, json!(count), age]
        }
        EVENTS => event_cells(o, name),
        _ => vec![name, age],
    }
}

/// A Pod row, as `kubectl get pods -o wide` shows it.
fn pod_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let statuses = at(o, &["status", "containerStatuses"]).and_then(Value::as_array);
    let total = at(o, &["spec", "containers"])
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let ready = statuses
        .map(|a| {
            a.iter()
                .filter(|c| c.get("ready") == Some(&Value::Bool(true)))
                .count()
        })
        .unwrap_or(0);
    let restarts: i64 = statuses
        .map(|a| a.iter().map(|c| n(c, &["restartCount"])).sum())
        .unwrap_or(0);
    vec![
        name,
        json!(format!("{ready}/{total}")),
        json!(pod_status(o)),
        json!(restarts),
        age,
        json!(or_none(s(o, &["status", "podIP"]))),
        json!(or_none(s(o, &["spec", "nodeName"]))),
        json!("<none>"),
        json!("<none>"),
    ]
}

fn deployment_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let (c, i) = containers_images(at(o, &["spec", "template", "spec"]));
    vec![
        name,
        json!(format!(
            "{}/{}",
            n(o, &["status", "readyReplicas"]),
            n(o, &["spec", "replicas"])
        )),
        json!(n(o, &["status", "updatedReplicas"])),
        json!(n(o, &["status", "availableReplicas"])),
        age,
        json!(c),
        json!(i),
        json!(selector_string(at(o, &["spec", "selector"]))),
    ]
}

fn daemon_set_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let (c, i) = containers_images(at(o, &["spec", "template", "spec"]));
    let node_selector = key_values(at(o, &["spec", "template", "spec", "nodeSelector"]));
    vec![
        name,
        json!(n(o, &["status", "desiredNumberScheduled"])),
        json!(n(o, &["status", "currentNumberScheduled"])),
        json!(n(o, &["status", "numberReady"])),
        json!(n(o, &["status", "updatedNumberScheduled"])),
        json!(n(o, &["status", "numberAvailable"])),
        json!(or_none(node_selector)),
        age,
        json!(c),
        json!(i),
        json!(selector_string(at(o, &["spec", "selector"]))),
    ]
}

fn stateful_set_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let (c, i) = containers_images(at(o, &["spec", "template", "spec"]));
    vec![
        name,
        json!(format!(
            "{}/{}",
            n(o, &["status", "readyReplicas"]),
            n(o, &["spec", "replicas"])
        )),
        age,
        json!(c),
        json!(i),
    ]
}

fn replica_set_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let (c, i) = containers_images(at(o, &["spec", "template", "spec"]));
    vec![
        name,
        json!(n(o, &["spec", "replicas"])),
        json!(n(o, &["status", "replicas"])),
        json!(n(o, &["status", "readyReplicas"])),
        age,
        json!(c),
        json!(i),
        json!(selector_string(at(o, &["spec", "selector"]))),
    ]
}

/// A Node row: Ready or NotReady (plus SchedulingDisabled when cordoned), roles from the `node-role.kubernetes.io/` labels, and the InternalIP.
fn node_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let ready = at(o, &["status", "conditions"])
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
        .map(|c| c["status"] == "True")
        .unwrap_or(false);
    let mut status = if ready {
        "Ready".to_string()
    } else {
        "NotReady".to_string()
    };
    if at(o, &["spec", "unschedulable"]) == Some(&Value::Bool(true)) {
        status.push_str(",SchedulingDisabled");
    }
    let roles: Vec<String> = meta::labels(o)
        .map(|l| {
            l.keys()
                .filter_map(|k| k.strip_prefix("node-role.kubernetes.io/").map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let ip = at(o, &["status", "addresses"])
        .and_then(Value::as_array)
        .and_then(|a| a.iter().find(|x| x["type"] == "InternalIP"))
        .map(|x| s(x, &["address"]))
        .unwrap_or_default();
    vec![
        name,
        json!(status),
        json!(or_none(roles.join(","))),
        age,
        json!(s(o, &["status", "nodeInfo", "kubeletVersion"])),
        json!(or_none(ip)),
    ]
}

fn service_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let ports: Vec<String> = at(o, &["spec", "ports"])
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    let proto = str_at(p, &["protocol"]).unwrap_or("TCP");
                    format!("{}/{proto}", n(p, &["port"]))
                })
                .collect()
        })
        .unwrap_or_default();
    let sel = key_values(at(o, &["spec", "selector"]));
    vec![
        name,
        json!(str_at(o, &["spec", "type"]).unwrap_or("ClusterIP")),
        json!(or_none(s(o, &["spec", "clusterIP"]))),
        json!("<none>"),
        json!(or_none(ports.join(","))),
        age,
        json!(or_none(sel)),
    ]
}

/// A PodDisruptionBudget row; a bound the spec does not set shows as N/A.
fn pdb_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let show = |k: &str| match at(o, &["spec", k]) {
        Some(Value::Number(x)) => x.to_string(),
        Some(Value::String(x)) => x.clone(),
        _ => "N/A".to_string(),
    };
    vec![
        name,
        json!(show("minAvailable")),
        json!(show("maxUnavailable")),
        json!(n(o, &["status", "disruptionsAllowed"])),
        age,
    ]
}

/// An Event row, `kubectl get events -o wide`: the name is the last column.
fn event_cells(o: &Value, name: Value) -> Vec<Value> {
    let last = str_at(o, &["lastTimestamp"]).or_else(|| str_at(o, &["eventTime"]));
    let obj = format!(
        "{}/{}",
        s(o, &["involvedObject", "kind"]).to_lowercase(),
        s(o, &["involvedObject", "name"])
    );
    vec![
        json!(meta::human_age(last)),
        json!(s(o, &["type"])),
        json!(s(o, &["reason"])),
        json!(obj),
        json!(s(o, &["involvedObject", "fieldPath"])),
        json!(s(o, &["source", "component"])),
        json!(s(o, &["message"])),
        json!(meta::human_age(str_at(o, &["firstTimestamp"]))),
        json!(n(o, &["count"])),
        name,
    ]
}

/// A `meta.k8s.io/v1` Table of `objs`, with `list_meta` (resourceVersion,
/// and for a page its `continue` and `remainingItemCount`) as its metadata.
pub fn table(res: ResId, objs: &[Arc<Obj>], list_meta: Value) -> Value {
    let defs: Vec<Value> = columns(res)
        .into_iter()
        .map(|(name, format, priority)| {
            json!({"name": name, "type": "string", "format": format, "description": "", "priority": priority})
        })
        .collect();
    let rows: Vec<Value> = objs
        .iter()
        .map(|o| {
            // Parsed per row and dropped: a table of 10,000 pods must not
            // keep 10,000 parsed pods around.
            let mut v = o.parse();
            json!({
                "cells": cells(res, &v),
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": v.get_mut("metadata").map(Value::take).unwrap_or(Value::Null),
                },
            })
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": defs,
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_has_one_cell_per_column() {
        for res in 0..resources::RESOURCES.len() {
            let obj = Arc::new(
                Obj::new(
                    json!({"metadata": {"name": "x"}, "spec": {}, "status": {}}),
                    1,
                    false,
                )
                .unwrap(),
            );
            let t = table(res, &[obj], json!({"resourceVersion": "1"}));
            assert_eq!(
                t["rows"][0]["cells"].as_array().unwrap().len(),
                t["columnDefinitions"].as_array().unwrap().len(),
                "{}",
                resources::def(res).plural
            );
        }
    }

    #[test]
    fn pod_status_prefers_waiting_reason() {
        let p = json!({"status": {"phase": "Pending", "containerStatuses": [
            {"state": {"waiting": {"reason": "ImagePullBackOff"}}}]}});
        assert_eq!(pod_status(&p), "ImagePullBackOff");
    }
}
