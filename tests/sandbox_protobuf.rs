//! Real kubectl 1.33 posting protobuf (`kubectl create <kind>` uses client-go's
//! typed clients, which send `application/vnd.kubernetes.protobuf`) to the
//! sandbox. Each command runs twice: `--dry-run=client -o json` shows the
//! object kubectl builds, then for real; every field kubectl sent but status must be
//! stored with the same value (the sandbox may add defaults and status, as a
//! real server does).

mod sandbox_support;

use std::time::Duration;

use gameday::sandbox::resources::PODS;
use sandbox_support::*;
use serde_json::{Value, json};

/// Every non-empty value of `sent` is in `stored`, equal, arrays element by
/// element. Nulls and empty strings in `sent` are what Go's JSON writes for
/// zero values, which a decoder reads back as absent.
fn assert_stored(sent: &Value, stored: &Value, path: &str) {
    match sent {
        Value::Null => {}
        Value::String(s) if s.is_empty() => {}
        Value::Object(m) => {
            for (k, v) in m {
                let got = stored.get(k).unwrap_or(&Value::Null);
                assert_stored(v, got, &format!("{path}.{k}"));
            }
        }
        Value::Array(a) => {
            let got = stored
                .as_array()
                .unwrap_or_else(|| panic!("{path}: {stored}"));
            assert_eq!(a.len(), got.len(), "{path}: {sent} vs {stored}");
            for (i, (x, y)) in a.iter().zip(got).enumerate() {
                assert_stored(x, y, &format!("{path}[{i}]"));
            }
        }
        v => assert_eq!(v, stored, "at {path}"),
    }
}

/// Standard base64 with padding, as encoding/json writes []byte.
fn base64(b: &[u8]) -> String {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = c
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, x)| n | u32::from(*x) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= c.len() {
                ABC[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

/// `kubectl create ARGS`: what kubectl builds, and what the sandbox stored
/// after kubectl posted it as protobuf.
async fn create(e: &Env, args: &[&str]) -> (Value, Value) {
    let dry = [args, &["--dry-run=client", "-o", "json"]].concat();
    let sent: Value = serde_json::from_str(&e.kubectl(&dry).await).unwrap();
    let real = [args, &["-v=8"]].concat();
    let out = kubectl(&e.kubeconfig, &real).await;
    assert!(out.ok, "kubectl {real:?}: {}", out.stderr);
    assert!(
        out.stderr
            .contains("Content-Type: application/vnd.kubernetes.protobuf"),
        "kubectl {args:?} did not post protobuf"
    );
    let kind = sent["kind"].as_str().unwrap().to_lowercase();
    let name = name(&sent);
    let mut get = vec!["get", kind.as_str(), name.as_str(), "-o", "json"];
    let ns = sent["metadata"]["namespace"].as_str().unwrap_or_default();
    if !ns.is_empty() {
        get.extend(["-n", ns]);
    }
    let stored: Value = serde_json::from_str(&e.kubectl(&get).await).unwrap();
    // Status is the controllers' (a PDB's disruptionsAllowed moves at once).
    let mut spec = sent.clone();
    if let Some(o) = spec.as_object_mut() {
        o.remove("status");
    }
    assert_stored(&spec, &stored, &kind);
    (sent, stored)
}

#[tokio::test]
async fn create_cronjob_then_job_from_it() {
    let e = env(33).await;
    let (_, cj) = create(
        &e,
        &[
            "create",
            "cronjob",
            "hello",
            "-n",
            "shop",
            "--image=shop/frontend:2.0",
            "--schedule=0 0 * * *",
        ],
    )
    .await;
    assert_eq!(cj["spec"]["schedule"], "0 0 * * *");
    let (_, job) = create(
        &e,
        &[
            "create",
            "job",
            "hello-manual",
            "--from=cronjob/hello",
            "-n",
            "shop",
        ],
    )
    .await;
    let md = &job["metadata"];
    assert_eq!(
        md["annotations"]["cronjob.kubernetes.io/instantiate"],
        "manual"
    );
    let owner = &md["ownerReferences"][0];
    assert_eq!(
        (&owner["kind"], &owner["name"], &owner["controller"]),
        (&json!("CronJob"), &json!("hello"), &json!(true))
    );
    assert_eq!(owner["uid"], cj["metadata"]["uid"]);
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["image"],
        "shop/frontend:2.0"
    );
    e.sb.shutdown().await;
}

#[tokio::test]
async fn create_deployment_brings_up_its_pods() {
    let e = env(33).await;
    let (_, d) = create(
        &e,
        &[
            "create",
            "deployment",
            "web",
            "-n",
            "shop",
            "--image=shop/frontend:2.0",
            "--replicas",
            "2",
            "--port=8080",
        ],
    )
    .await;
    assert_eq!(d["spec"]["replicas"], 2);
    let port = &d["spec"]["template"]["spec"]["containers"][0]["ports"][0];
    assert_eq!(port["containerPort"], 8080);
    let up = wait_until(Duration::from_secs(30), || {
        objects(&e.sb, PODS, Some("shop"))
            .iter()
            .filter(|p| p["metadata"]["labels"]["app"] == "web" && ready(p))
            .count()
            == 2
    })
    .await;
    assert!(up, "two web pods never became ready");
    e.sb.shutdown().await;
}

#[tokio::test]
async fn create_configmap_secret_namespace_and_quota() {
    let e = env(33).await;
    let (_, cm) = create(
        &e,
        &[
            "create",
            "configmap",
            "cfg",
            "-n",
            "shop",
            "--from-literal=a=1",
            "--from-literal=b=two words",
        ],
    )
    .await;
    assert_eq!(cm["data"], json!({"a": "1", "b": "two words"}));

    // Every byte value, through Secret.data's protobuf bytes and back.
    let blob: Vec<u8> = (0..=255u8).collect();
    let file = e.dir.path().join("blob.bin");
    std::fs::write(&file, &blob).unwrap();
    let from_file = format!("--from-file=blob={}", file.display());
    let (sent, s) = create(
        &e,
        &[
            "create",
            "secret",
            "generic",
            "creds",
            "-n",
            "shop",
            "--from-literal=password=p@ss wörd",
            &from_file,
        ],
    )
    .await;
    assert_eq!(s["data"], sent["data"]);
    assert_eq!(s["data"]["blob"], base64(&blob));
    assert_eq!(s["data"]["password"], base64("p@ss wörd".as_bytes()));

    let (_, ns) = create(&e, &["create", "namespace", "drills"]).await;
    assert_eq!(ns["metadata"]["name"], "drills");

    let (_, q) = create(
        &e,
        &[
            "create",
            "quota",
            "q",
            "-n",
            "shop",
            "--hard=cpu=1,pods=2,memory=1Gi",
        ],
    )
    .await;
    assert_eq!(
        q["spec"]["hard"],
        json!({"cpu": "1", "pods": "2", "memory": "1Gi"})
    );
    e.sb.shutdown().await;
}

#[tokio::test]
async fn create_service_pdb_role_and_binding() {
    let e = env(33).await;
    let (_, svc) = create(
        &e,
        &[
            "create",
            "service",
            "clusterip",
            "web",
            "-n",
            "shop",
            "--tcp=80:8080",
        ],
    )
    .await;
    let port = &svc["spec"]["ports"][0];
    assert_eq!(
        (&port["port"], &port["targetPort"]),
        (&json!(80), &json!(8080))
    );

    let (_, pdb) = create(
        &e,
        &[
            "create",
            "poddisruptionbudget",
            "web-pdb",
            "-n",
            "shop",
            "--selector=app=frontend",
            "--min-available=50%",
        ],
    )
    .await;
    assert_eq!(pdb["spec"]["minAvailable"], "50%");

    let (_, role) = create(
        &e,
        &[
            "create",
            "role",
            "pod-reader",
            "-n",
            "shop",
            "--verb=get,list",
            "--resource=pods",
        ],
    )
    .await;
    assert_eq!(role["rules"][0]["verbs"], json!(["get", "list"]));
    let (_, rb) = create(
        &e,
        &[
            "create",
            "rolebinding",
            "read-pods",
            "-n",
            "shop",
            "--role=pod-reader",
            "--user=jane",
        ],
    )
    .await;
    assert_eq!(rb["roleRef"]["name"], "pod-reader");
    assert_eq!(rb["subjects"][0]["name"], "jane");
    e.sb.shutdown().await;
}

/// A ConfigMap as kubectl's protobuf client frames it, with `raw` as given.
fn framed(raw: &[u8]) -> Vec<u8> {
    let ld = |n: u8, b: &[u8]| [vec![n << 3 | 2, b.len() as u8], b.to_vec()].concat();
    let tm = [ld(1, b"v1"), ld(2, b"ConfigMap")].concat();
    [b"k8s\0".to_vec(), ld(1, &tm), ld(2, raw)].concat()
}

#[tokio::test]
async fn refusals_look_like_a_real_servers() {
    let e = env(33).await;
    let http = e.sb.http_client().unwrap();
    let url = format!("{}/api/v1/namespaces/shop/configmaps", e.sb.api_url());
    let post = |body: Vec<u8>, accept: &'static str| {
        http.post(&url)
            .header("Content-Type", "application/vnd.kubernetes.protobuf")
            .header("Accept", accept)
            .body(body)
            .send()
    };
    let both = "application/vnd.kubernetes.protobuf,application/json";
    // metadata{name=cfg}: accepted, answered in JSON.
    let ok = post(framed(&[0x0a, 5, 0x0a, 3, b'c', b'f', b'g']), both)
        .await
        .unwrap();
    assert_eq!(ok.status(), 201);
    assert!(
        ok.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    // Field 15 is not a ConfigMap field: 415 naming it, never dropped.
    let r = post(framed(&[15 << 3, 1]), both).await.unwrap();
    assert_eq!(r.status(), 415);
    let st: Value = r.json().await.unwrap();
    assert_eq!(st["reason"], "UnsupportedMediaType");
    assert!(
        st["message"]
            .as_str()
            .unwrap()
            .contains("field 15 of api.core.v1.ConfigMap"),
        "{st}"
    );
    // A length running past the end: 400, as a decode error.
    let r = post(framed(&[0x0a, 9, 0x0a]), both).await.unwrap();
    assert_eq!(r.status(), 400);
    // Protobuf alone in Accept: the sandbox cannot answer in it.
    let r = post(framed(&[]), "application/vnd.kubernetes.protobuf")
        .await
        .unwrap();
    assert_eq!(r.status(), 406);
    let st: Value = r.json().await.unwrap();
    assert_eq!(st["reason"], "NotAcceptable");
    e.sb.shutdown().await;
}
