//! A pod's QoS class, as kube-apiserver computes it when the pod is created
//! (pkg/registry/core/pod/strategy.go `PrepareForCreate` sets
//! `status.qosClass` from pkg/apis/core/helper/qos `GetPodQOS`), so that
//! `kubectl describe`, eviction order and dashboards read what a real
//! cluster would write: a pod with requests but no limits is Burstable, not
//! BestEffort.
//!
//! The rules, for the regular and init containers (ephemeral containers
//! have no resources):
//! - only `cpu` and `memory` count, and only non-zero quantities;
//! - no requests and no limits at all: `BestEffort`;
//! - every container limits both cpu and memory, and the pod's summed
//!   requests equal its summed limits for each: `Guaranteed` (requests a
//!   container leaves out were defaulted to its limits by `SetDefaults_Pod`,
//!   see `crate::defaults`);
//! - anything else: `Burstable`.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::snapshot::quantity;

const COUNTED: [&str; 2] = ["cpu", "memory"];

/// `BestEffort`, `Burstable` or `Guaranteed` for a pod spec.
pub fn class(spec: &Value) -> &'static str {
    let mut requests: BTreeMap<&str, f64> = BTreeMap::new();
    let mut limits: BTreeMap<&str, f64> = BTreeMap::new();
    let mut guaranteed = true;
    let containers = ["initContainers", "containers"]
        .iter()
        .filter_map(|list| spec[*list].as_array())
        .flatten();
    for c in containers {
        add(&mut requests, &c["resources"]["requests"]);
        let found = add(&mut limits, &c["resources"]["limits"]);
        if found < COUNTED.len() {
            guaranteed = false;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    let equal = requests.iter().all(|(k, r)| {
        limits
            .get(k)
            .is_some_and(|l| (l - r).abs() <= f64::EPSILON * l.abs().max(1.0))
    });
    if guaranteed && equal && requests.len() == limits.len() {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// Adds a container's non-zero cpu and memory quantities to `sum`; returns
/// how many of the two it has.
fn add(sum: &mut BTreeMap<&str, f64>, list: &Value) -> usize {
    let mut found = 0;
    for name in COUNTED {
        if let Some(q) = list[name].as_str().and_then(quantity).filter(|q| *q > 0.0) {
            *sum.entry(name).or_default() += q;
            found += 1;
        } else if let Some(q) = list[name].as_f64().filter(|q| *q > 0.0) {
            *sum.entry(name).or_default() += q;
            found += 1;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pod(resources: &[Value]) -> Value {
        let containers: Vec<Value> = resources
            .iter()
            .enumerate()
            .map(|(i, r)| json!({"name": format!("c{i}"), "resources": r}))
            .collect();
        json!({"containers": containers})
    }

    #[test]
    fn classes_follow_get_pod_qos() {
        assert_eq!(class(&pod(&[json!({})])), "BestEffort");
        assert_eq!(
            class(&pod(&[json!({"requests": {"cpu": "0"}})])),
            "BestEffort",
            "a zero quantity does not count"
        );
        assert_eq!(
            class(&pod(&[
                json!({"requests": {"cpu": "100m", "memory": "128Mi"}})
            ])),
            "Burstable"
        );
        let same = json!({"requests": {"cpu": "500m", "memory": "1Gi"},
                          "limits": {"cpu": "0.5", "memory": "1024Mi"}});
        assert_eq!(
            class(&pod(std::slice::from_ref(&same))),
            "Guaranteed",
            "500m is 0.5"
        );
        assert_eq!(
            class(&pod(&[same.clone(), json!({"limits": {"cpu": "1"}})])),
            "Burstable",
            "every container must limit both cpu and memory"
        );
        assert_eq!(
            class(&pod(&[
                json!({"requests": {"cpu": "250m", "memory": "1Gi"},
                                "limits": {"cpu": "500m", "memory": "1Gi"}})
            ])),
            "Burstable"
        );
        assert_eq!(
            class(&pod(&[json!({"limits": {"ephemeral-storage": "1Gi"}})])),
            "BestEffort",
            "only cpu and memory count"
        );
    }
}
