//! Unit tests: each JSON convention, the refusals, and arbitrary bytes
//! never panicking. Bodies are built with a tiny encoder below, field
//! numbers from the upstream generated.proto files.

use serde_json::json;

use super::convert::go_duration;
use super::*;

fn varint(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

/// A length-delimited field.
fn ld(num: u64, b: &[u8]) -> Vec<u8> {
    [varint(num << 3 | 2), varint(b.len() as u64), b.to_vec()].concat()
}

/// A varint field.
fn vi(num: u64, v: u64) -> Vec<u8> {
    [varint(num << 3), varint(v)].concat()
}

fn body(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
    let tm = [ld(1, api_version.as_bytes()), ld(2, kind.as_bytes())].concat();
    [
        MAGIC.to_vec(),
        ld(1, &tm),
        ld(2, raw),
        ld(4, b"application/vnd.kubernetes.protobuf"),
    ]
    .concat()
}

fn meta(name: &str, ns: &str) -> Vec<u8> {
    // ObjectMeta: name=1, namespace=3; gogo writes the empty generateName too.
    ld(
        1,
        &[ld(1, name.as_bytes()), ld(2, b""), ld(3, ns.as_bytes())].concat(),
    )
}

#[test]
fn decodes_a_kubectl_access_review() {
    // The three kinds the old hand-written decoder knew, now through the schema.
    let attrs = [ld(1, b"shop"), ld(2, b"delete"), ld(5, b"pods")].concat();
    let v = decode(&body(
        "authorization.k8s.io/v1",
        "SelfSubjectAccessReview",
        &[meta("", ""), ld(2, &ld(1, &attrs))].concat(),
    ))
    .unwrap();
    assert_eq!(
        v["spec"]["resourceAttributes"],
        json!({"namespace": "shop", "verb": "delete", "resource": "pods"})
    );
    let token = [ld(1, b"aud"), vi(4, 2000)].concat();
    let v = decode(&body(
        "authentication.k8s.io/v1",
        "TokenRequest",
        &ld(2, &token),
    ))
    .unwrap();
    assert_eq!(v["spec"]["expirationSeconds"], 2000);
    assert_eq!(v["spec"]["audiences"][0], "aud");
    let v = decode(&body(
        "authorization.k8s.io/v1",
        "SelfSubjectRulesReview",
        &ld(2, &ld(1, b"shop")),
    ))
    .unwrap();
    assert_eq!(v["spec"], json!({"namespace": "shop"}));
    assert!(matches!(decode(b"{}"), Err(WireError::Malformed(_))));
}

#[test]
fn kind_and_api_version_come_from_the_envelope() {
    let v = decode(&body("v1", "ConfigMap", &meta("cfg", "shop"))).unwrap();
    assert_eq!(
        v,
        json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "cfg", "namespace": "shop"}})
    );
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys[..2], ["kind", "apiVersion"]);
}

#[test]
fn maps_bytes_and_empty_strings() {
    // ConfigMap: data=2 map<string,string>, binaryData=3 map<string,bytes>.
    let raw = [
        meta("cfg", "shop"),
        ld(2, &[ld(1, b"a"), ld(2, b"1")].concat()),
        ld(2, &[ld(1, b"empty")].concat()),
        ld(3, &[ld(1, b"bin"), ld(2, &[0, 159, 146, 150])].concat()),
    ]
    .concat();
    let v = decode(&body("v1", "ConfigMap", &raw)).unwrap();
    assert_eq!(v["data"], json!({"a": "1", "empty": ""}));
    assert_eq!(v["binaryData"], json!({"bin": "AJ+Slg=="}));
    assert!(v["metadata"].get("generateName").is_none());
}

#[test]
fn times_are_rfc3339_and_zero_times_are_omitted() {
    // ObjectMeta.creationTimestamp=8 (Time), deletionTimestamp=9.
    let t = [vi(1, 1_700_000_000), vi(2, 123_456_789)].concat();
    let m = [ld(1, b"a"), ld(8, &t), ld(9, &[])].concat();
    let v = decode(&body("v1", "Namespace", &ld(1, &m))).unwrap();
    assert_eq!(v["metadata"]["creationTimestamp"], "2023-11-14T22:13:20Z");
    assert!(v["metadata"].get("deletionTimestamp").is_none());
    // events.k8s.io/v1 Event.eventTime=2 is a MicroTime.
    let v = decode(&body("events.k8s.io/v1", "Event", &ld(2, &t))).unwrap();
    assert_eq!(v["eventTime"], "2023-11-14T22:13:20.123456Z");
}

#[test]
fn quantities_and_int_or_strings() {
    // ResourceQuota.spec=2 {hard=1 map<string,Quantity{string=1}>}.
    let hard = [ld(1, b"cpu"), ld(2, &ld(1, b"1"))].concat();
    let v = decode(&body("v1", "ResourceQuota", &ld(2, &ld(1, &hard)))).unwrap();
    assert_eq!(v["spec"]["hard"], json!({"cpu": "1"}));
    // PodDisruptionBudget.spec=2 {minAvailable=1 IntOrString}.
    let pct = [vi(1, 1), vi(2, 0), ld(3, b"50%")].concat();
    let v = decode(&body(
        "policy/v1",
        "PodDisruptionBudget",
        &ld(2, &ld(1, &pct)),
    ))
    .unwrap();
    assert_eq!(v["spec"]["minAvailable"], "50%");
    // Service.spec=2 {ports=1 [ServicePort{port=3, targetPort=4}]}.
    let port = [
        vi(3, 80),
        ld(4, &[vi(1, 0), vi(2, 8080), ld(3, b"")].concat()),
    ]
    .concat();
    let v = decode(&body("v1", "Service", &ld(2, &ld(1, &port)))).unwrap();
    assert_eq!(
        v["spec"]["ports"],
        json!([{"port": 80, "targetPort": 8080}])
    );
}

#[test]
fn numbers_bools_and_negative_int32() {
    // Deployment.spec=2 {replicas=1, paused=7, minReadySeconds=5}.
    let neg = u64::MAX; // -1 as int32 on the wire: ten bytes, sign-extended.
    let spec = [vi(1, 0), vi(7, 1), vi(5, neg)].concat();
    let v = decode(&body("apps/v1", "Deployment", &ld(2, &spec))).unwrap();
    assert_eq!(
        v["spec"],
        json!({"replicas": 0, "paused": true, "minReadySeconds": -1})
    );
}

#[test]
fn repeated_scalars_packed_or_not() {
    // Job.spec=2 podFailurePolicy=11 rules=1 onExitCodes=2 values=3 (int32).
    let unpacked = [ld(1, b"In"), vi(3, 1), vi(3, 2)].concat();
    let packed = [ld(1, b"In"), ld(3, &[1, 2])].concat();
    for codes in [unpacked, packed] {
        let rule = [ld(1, b"FailJob"), ld(2, &codes)].concat();
        let spec = ld(11, &ld(1, &rule));
        let v = decode(&body("batch/v1", "Job", &ld(2, &spec))).unwrap();
        assert_eq!(
            v["spec"]["podFailurePolicy"]["rules"][0]["onExitCodes"]["values"],
            json!([1, 2])
        );
    }
}

#[test]
fn raw_extensions_are_embedded_json() {
    // ControllerRevision.data=2 RawExtension{raw=1}.
    let v = decode(&body(
        "apps/v1",
        "ControllerRevision",
        &ld(2, &ld(1, br#"{"spec":{"a":1}}"#)),
    ))
    .unwrap();
    assert_eq!(v["data"], json!({"spec": {"a": 1}}));
    let e = decode(&body(
        "apps/v1",
        "ControllerRevision",
        &ld(2, &ld(1, b"\x01\x02")),
    ))
    .unwrap_err();
    assert!(matches!(e, WireError::Unsupported(_)), "{e}");
}

#[test]
fn go_durations() {
    assert_eq!(go_duration(0), "0s");
    assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
    assert_eq!(go_duration(90_000_000_000), "1m30s");
    assert_eq!(go_duration(1_500_000_000), "1.5s");
    assert_eq!(go_duration(100_000_000), "100ms");
    assert_eq!(go_duration(1_500), "1.5µs");
    assert_eq!(go_duration(-2_000_000_000), "-2s");
}

#[test]
fn unknown_fields_and_kinds_are_415() {
    let e = decode(&body("v1", "ConfigMap", &ld(99, b"x"))).unwrap_err();
    let WireError::Unsupported(msg) = e else {
        panic!("{e:?}")
    };
    assert!(msg.contains("field 99 of api.core.v1.ConfigMap"), "{msg}");
    assert!(msg.contains("application/json"), "{msg}");
    let e = decode(&body("example.com/v1", "Widget", &[])).unwrap_err();
    let WireError::Unsupported(msg) = e else {
        panic!("{e:?}")
    };
    assert!(msg.contains("Widget"), "{msg}");
}

#[test]
fn truncated_and_mistyped_bodies_are_malformed() {
    let full = body("v1", "ConfigMap", &meta("cfg", "shop"));
    for cut in [5, full.len() / 2, full.len() - 1] {
        assert!(
            matches!(decode(&full[..cut]), Err(WireError::Malformed(_))),
            "cut {cut}"
        );
    }
    // metadata=1 as a varint instead of a message.
    let e = decode(&body("v1", "ConfigMap", &vi(1, 7))).unwrap_err();
    assert!(matches!(e, WireError::Malformed(_)), "{e}");
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    // The 1.33 schema has no recursive message, so real bodies stay far
    // below the limit; the recursion still checks it on every level.
    let pod = lookup("v1", "Pod").unwrap();
    let e = convert::message(&[], pod, MAX_DEPTH + 1).unwrap_err();
    assert!(e.to_string().contains("nested deeper"), "{e}");
    let mut inner = Vec::new();
    for _ in 0..10_000 {
        inner = ld(1, &inner);
    }
    // metadata.name gets the 9,999 nested levels as its bytes: decoded as
    // a string, not followed.
    assert!(decode(&body("v1", "Pod", &inner)).is_ok());
}

#[test]
fn arbitrary_bytes_never_panic() {
    // A small xorshift keeps the test deterministic without a dependency.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let valid = body(
        "apps/v1",
        "Deployment",
        &[meta("web", "shop"), ld(2, &vi(1, 2))].concat(),
    );
    for i in 0..20_000 {
        let mut b = if i % 2 == 0 {
            valid.clone()
        } else {
            let mut b = MAGIC.to_vec();
            b.extend((0..next() % 64).map(|_| next() as u8));
            b
        };
        for _ in 0..(next() % 4) {
            if b.is_empty() {
                break;
            }
            let at = (next() as usize) % b.len();
            b[at] = next() as u8;
        }
        let _ = decode(&b);
    }
}

/// The bytes kubectl 1.33.1 posted for `kubectl create job hello-manual
/// --from=cronjob/hello -n shop` (captured with `-v=10`).
pub const KUBECTL_JOB: &[u8] = include_bytes!("../../testdata/kubectl-create-job-from-cronjob.pb");

#[test]
fn decodes_the_job_kubectl_sends() {
    let v = decode(KUBECTL_JOB).unwrap();
    assert_eq!(
        (&v["kind"], &v["apiVersion"]),
        (&json!("Job"), &json!("batch/v1"))
    );
    let md = &v["metadata"];
    assert_eq!(md["name"], "hello-manual");
    assert_eq!(
        md["annotations"],
        json!({"cronjob.kubernetes.io/instantiate": "manual"})
    );
    assert_eq!(md["ownerReferences"][0]["kind"], "CronJob");
    assert_eq!(md["ownerReferences"][0]["controller"], true);
    assert!(md.get("creationTimestamp").is_none());
    let pod = &v["spec"]["template"]["spec"];
    assert_eq!(
        pod["containers"][0]["image"],
        "registry.example.com/shop/frontend:2.3.1"
    );
    assert_eq!(pod["restartPolicy"], "OnFailure");
    assert_eq!(pod["terminationGracePeriodSeconds"], 30);
    assert_eq!(v["spec"]["backoffLimit"], 6);
    assert_eq!(v["spec"]["completionMode"], "NonIndexed");
}

#[test]
fn inline_structs_merge_into_their_parent() {
    // Pod.spec=2 {volumes=1 [Volume{name=1, volumeSource=2 {configMap=19
    // {localObjectReference=1 {name=1}}}}]}: Go embeds VolumeSource and
    // LocalObjectReference with `json:",inline"`.
    let cm = ld(19, &ld(1, &ld(1, b"cfg")));
    let vol = [ld(1, b"config"), ld(2, &cm)].concat();
    let v = decode(&body("v1", "Pod", &ld(2, &ld(1, &vol)))).unwrap();
    assert_eq!(
        v["spec"]["volumes"],
        json!([{"name": "config", "configMap": {"name": "cfg"}}])
    );
    // Probe.handler=1 {httpGet=2 {path=1}}, Container.readinessProbe=11.
    let probe = ld(1, &ld(2, &ld(1, b"/healthz")));
    let c = [ld(1, b"app"), ld(11, &probe)].concat();
    let v = decode(&body("v1", "Pod", &ld(2, &ld(2, &c)))).unwrap();
    assert_eq!(
        v["spec"]["containers"][0]["readinessProbe"],
        json!({"httpGet": {"path": "/healthz"}})
    );
}
