//! Server-side defaults a real cluster fills into every new pod, so that a
//! client reading `pod.spec.volumes` or `restartPolicy` finds what it would
//! find on a real cluster (a drain script that loops over volumes crashed on
//! the sandbox's bare pods).
//!
//! Sources (Kubernetes v1.33):
//! - scheme defaults: pkg/apis/core/v1/defaults.go (`SetDefaults_Pod`,
//!   `SetDefaults_PodSpec`, `SetDefaults_Container`);
//! - the ServiceAccount admission plugin
//!   (plugin/pkg/admission/serviceaccount/admission.go): `default` account and
//!   the projected `kube-api-access-<5>` volume, mounted read-only at
//!   /var/run/secrets/kubernetes.io/serviceaccount in every container;
//! - the DefaultTolerationSeconds admission plugin: `not-ready` and
//!   `unreachable` NoExecute tolerations for 300 s.

use serde_json::{Map, Value, json};

use crate::meta;

const SA_MOUNT: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
const DEFAULT_TOLERATION_SECONDS: i64 = 300;

/// Fills in a new pod's defaults; fields the client set are kept.
pub fn pod(v: &mut Value) {
    let spec = meta::ensure_object(v, &["spec"]);
    pod_spec_scheme(spec);
    for (k, d) in [
        ("priority", json!(0)),
        ("preemptionPolicy", json!("PreemptLowerPriority")),
        ("serviceAccountName", json!("default")),
    ] {
        spec.entry(k).or_insert(d);
    }
    // The deprecated alias mirrors the name, as the scheme defaulting does.
    let sa = spec["serviceAccountName"].clone();
    spec.entry("serviceAccount").or_insert(sa);
    tolerations(spec);
    let mount_token = spec
        .get("automountServiceAccountToken")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let volume = mount_token.then(|| service_account_volume(spec));
    for list in ["initContainers", "containers"] {
        if let Some(cs) = spec.get_mut(list).and_then(Value::as_array_mut) {
            for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                container(c, volume.as_deref());
                requests_from_limits(c);
            }
        }
    }
    // PrepareForCreate: the server, not the client, sets the QoS class.
    let class = crate::qos::class(&v["spec"]);
    meta::ensure_object(v, &["status"]).insert("qosClass".into(), json!(class));
}

/// `SetDefaults_Pod`: a resource a container limits but does not request
/// is requested at its limit (so limits alone make a pod Guaranteed).
fn requests_from_limits(c: &mut Map<String, Value>) {
    let Some(limits) = c
        .get("resources")
        .and_then(|r| r.get("limits"))
        .and_then(Value::as_object)
        .cloned()
    else {
        return;
    };
    let Some(resources) = c.get_mut("resources").and_then(Value::as_object_mut) else {
        return;
    };
    let requests = resources
        .entry("requests")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(requests) = requests.as_object_mut() {
        for (k, q) in limits {
            requests.entry(k).or_insert(q);
        }
    }
}

/// A node's taints as the server stores them: Go's `omitempty` drops an
/// empty `value`, so `{"key":"k","value":"","effect":"NoSchedule"}` reads
/// back without `value` (a client matching on `value: ""` never finds it).
pub fn node(v: &mut Value) {
    let taints = v
        .get_mut("spec")
        .and_then(|s| s.get_mut("taints"))
        .and_then(Value::as_array_mut);
    for t in taints
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
    {
        if t.get("value").and_then(Value::as_str) == Some("") {
            t.remove("value");
        }
    }
}

/// The apps/v1 scheme defaults of Deployments and StatefulSets
/// (pkg/apis/apps/v1/defaults.go `SetDefaults_Deployment`,
/// `SetDefaults_StatefulSet`): kubectl reads them, e.g. `rollout status
/// statefulset` refuses a set without `updateStrategy.type: RollingUpdate`,
/// and the deployment controller's progress deadline is 600 s unless set.
pub fn workload(res: crate::resources::ResId, v: &mut Value) {
    use crate::resources::{CRONJOBS, DEPLOYMENTS, JOBS, STATEFULSETS};
    if res == CRONJOBS || res == JOBS {
        return batch_scheme(res, v);
    }
    let defaults = match res {
        DEPLOYMENTS => [
            ("replicas", json!(1)),
            (
                "strategy",
                json!({"type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}),
            ),
            ("revisionHistoryLimit", json!(10)),
            ("progressDeadlineSeconds", json!(600)),
        ],
        STATEFULSETS => [
            ("replicas", json!(1)),
            (
                "updateStrategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
            ),
            ("revisionHistoryLimit", json!(10)),
            ("podManagementPolicy", json!("OrderedReady")),
        ],
        _ => return,
    };
    if !v.get("spec").is_some_and(Value::is_object) {
        return;
    }
    let spec = meta::ensure_object(v, &["spec"]);
    for (k, d) in defaults {
        spec.entry(k).or_insert(d);
    }
}

/// The batch/v1 scheme defaults (pkg/apis/batch/v1/defaults.go
/// `SetDefaults_CronJob`, `SetDefaults_Job`) and the pod template's
/// (`SetDefaults_PodSpec`, which leaves a Job without `restartPolicy` at
/// `Always`, for validation to refuse as the real server does). Idempotent:
/// the admission path and the store (for Jobs the cronjob controller
/// creates) both apply it.
fn batch_scheme(res: crate::resources::ResId, v: &mut Value) {
    if !v.get("spec").is_some_and(Value::is_object) {
        return;
    }
    let job_path: &[&str] = if res == crate::resources::CRONJOBS {
        let spec = meta::ensure_object(v, &["spec"]);
        for (k, d) in [
            ("concurrencyPolicy", json!("Allow")),
            ("suspend", json!(false)),
            ("successfulJobsHistoryLimit", json!(3)),
            ("failedJobsHistoryLimit", json!(1)),
        ] {
            spec.entry(k).or_insert(d);
        }
        &["spec", "jobTemplate", "spec"]
    } else {
        &["spec"]
    };
    let job = meta::ensure_object(v, job_path);
    if !job.contains_key("completions") && !job.contains_key("parallelism") {
        job.insert("completions".into(), json!(1));
        job.insert("parallelism".into(), json!(1));
    }
    for (k, d) in [
        ("backoffLimit", json!(6)),
        ("completionMode", json!("NonIndexed")),
        ("suspend", json!(false)),
        ("podReplacementPolicy", json!("TerminatingOrFailed")),
        ("manualSelector", json!(false)),
    ] {
        job.entry(k).or_insert(d);
    }
    let mut pod_path = job_path.to_vec();
    pod_path.extend(["template", "spec"]);
    pod_spec_scheme(meta::ensure_object(v, &pod_path));
}

/// A new batch object as the store creates it: the scheme defaults and,
/// for a Job, the selector and template labels the Job strategy generates
/// from its uid (pkg/registry/batch/job/strategy.go `generateSelector`):
/// the job controller finds its pods by `batch.kubernetes.io/controller-uid`,
/// and `kubectl create job --from=cronjob` sends neither. Runs after the uid
/// is set.
pub fn batch(res: crate::resources::ResId, v: &mut Value) {
    use crate::resources::{CRONJOBS, JOBS};
    if res != JOBS && res != CRONJOBS {
        return;
    }
    batch_scheme(res, v);
    if res != JOBS || !v.get("spec").is_some_and(Value::is_object) {
        return;
    }
    if v["spec"]["manualSelector"].as_bool() == Some(true) {
        return;
    }
    let uid = meta::uid(v).to_string();
    let name = meta::name(v).to_string();
    let labels = json!({
        "batch.kubernetes.io/controller-uid": uid,
        "batch.kubernetes.io/job-name": name,
        "controller-uid": uid,
        "job-name": name,
    });
    let tl = meta::ensure_object(v, &["spec", "template", "metadata", "labels"]);
    if let Some(l) = labels.as_object() {
        for (k, val) in l {
            tl.insert(k.clone(), val.clone());
        }
    }
    v["spec"]["selector"] = json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}});
}

/// `SetDefaults_PodSpec`: what the scheme fills into any pod spec, a pod's
/// or a template's (the admission plugins add the rest to pods only).
fn pod_spec_scheme(spec: &mut Map<String, Value>) {
    for (k, d) in [
        ("restartPolicy", json!("Always")),
        ("dnsPolicy", json!("ClusterFirst")),
        ("schedulerName", json!("default-scheduler")),
        ("terminationGracePeriodSeconds", json!(30)),
        ("securityContext", json!({})),
        ("enableServiceLinks", json!(true)),
    ] {
        spec.entry(k).or_insert(d);
    }
}

fn tolerations(spec: &mut Map<String, Value>) {
    let list = spec
        .entry("tolerations")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Some(list) = list.as_array_mut() else {
        return;
    };
    for key in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        let tolerated = list.iter().any(|t| {
            let k = t.get("key").and_then(Value::as_str);
            let effect = t.get("effect").and_then(Value::as_str).unwrap_or("");
            (k == Some(key) || k.is_none()) && (effect.is_empty() || effect == "NoExecute")
        });
        if !tolerated {
            list.push(json!({
                "key": key, "operator": "Exists", "effect": "NoExecute",
                "tolerationSeconds": DEFAULT_TOLERATION_SECONDS,
            }));
        }
    }
}

/// Adds the projected token volume unless one is mounted already; returns
/// its name.
fn service_account_volume(spec: &mut Map<String, Value>) -> String {
    let volumes = spec
        .entry("volumes")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Some(list) = volumes.as_array_mut() else {
        return String::new();
    };
    if let Some(name) = list.iter().find_map(|v| {
        v.get("name")
            .and_then(Value::as_str)
            .filter(|n| n.starts_with("kube-api-access-"))
    }) {
        return name.to_string();
    }
    let name = format!("kube-api-access-{}", meta::random_suffix(5));
    list.push(json!({
        "name": name,
        "projected": {
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
            ],
        },
    }));
    name
}

fn container(c: &mut Map<String, Value>, sa_volume: Option<&str>) {
    let image = c.get("image").and_then(Value::as_str).unwrap_or("");
    // SetDefaults_Container: Always for `:latest` or an untagged image.
    let tag = image
        .rsplit_once('/')
        .map_or(image, |(_, last)| last)
        .split_once(':')
        .map(|(_, t)| t);
    let policy = if image.contains('@') || tag.is_some_and(|t| t != "latest") {
        "IfNotPresent"
    } else {
        "Always"
    };
    c.entry("imagePullPolicy").or_insert(json!(policy));
    c.entry("terminationMessagePath")
        .or_insert(json!("/dev/termination-log"));
    c.entry("terminationMessagePolicy").or_insert(json!("File"));
    c.entry("resources").or_insert(json!({}));
    let Some(vol) = sa_volume.filter(|v| !v.is_empty()) else {
        return;
    };
    let mounts = c
        .entry("volumeMounts")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Some(list) = mounts.as_array_mut()
        && !list
            .iter()
            .any(|m| m.get("mountPath").and_then(Value::as_str) == Some(SA_MOUNT))
    {
        list.push(json!({"name": vol, "readOnly": true, "mountPath": SA_MOUNT}));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_pod_gets_what_a_real_server_adds() {
        let mut p = json!({"metadata": {"name": "p"}, "spec": {"containers": [
            {"name": "app", "image": "shop/checkout:v1"}, {"name": "side", "image": "busybox"}]}});
        pod(&mut p);
        let s = &p["spec"];
        assert_eq!(s["restartPolicy"], "Always");
        assert_eq!(s["dnsPolicy"], "ClusterFirst");
        assert_eq!(s["serviceAccountName"], "default");
        assert_eq!(s["terminationGracePeriodSeconds"], 30);
        assert_eq!(s["tolerations"].as_array().unwrap().len(), 2);
        let vol = s["volumes"][0]["name"].as_str().unwrap();
        assert!(vol.starts_with("kube-api-access-"), "{vol}");
        assert_eq!(s["containers"][0]["imagePullPolicy"], "IfNotPresent");
        assert_eq!(s["containers"][1]["imagePullPolicy"], "Always");
        assert_eq!(s["containers"][1]["volumeMounts"][0]["name"], vol);
        // Defaulting twice changes nothing.
        let again = p.clone();
        pod(&mut p);
        assert_eq!(p, again);
    }

    #[test]
    fn client_choices_are_kept() {
        let mut p = json!({"spec": {"restartPolicy": "Never", "automountServiceAccountToken": false,
            "tolerations": [{"operator": "Exists"}], "containers": [{"name": "a", "image": "x:latest"}]}});
        pod(&mut p);
        assert_eq!(p["spec"]["restartPolicy"], "Never");
        assert_eq!(p["spec"]["tolerations"].as_array().unwrap().len(), 1);
        assert!(p["spec"]["containers"][0].get("volumeMounts").is_none());
        assert_eq!(p["spec"]["containers"][0]["imagePullPolicy"], "Always");
    }
}
