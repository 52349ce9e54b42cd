//! Issue 12 items 1-2 acceptance: the sandbox authenticates and authorizes
//! like kube-apiserver. The real kubectl (minors 27 and 33) gets a
//! ServiceAccount token with `kubectl create token`, uses it from a
//! kubeconfig, asks `kubectl auth can-i` (yes, no, `--list`) and is refused a
//! delete with the real server's 403 message; kube-rs sees 401 anonymous,
//! TokenRequest and SelfSubjectAccessReview.

mod sandbox_support;

use std::path::Path;

use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::authorization::v1::SelfSubjectAccessReview;
use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};
use serde_json::json;

use sandbox_support::*;

/// A ServiceAccount `chaos` in shop that may read pods there, and nothing else.
const READER: &str = r#"
apiVersion: v1
kind: ServiceAccount
metadata: {name: chaos, namespace: shop}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader, namespace: shop}
rules:
  - apiGroups: [""]
    resources: [pods]
    verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: chaos-reads-pods, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}
subjects:
  - kind: ServiceAccount
    name: chaos
    namespace: shop
"#;

async fn kubectl_with_token_and_can_i(minor: u32) {
    let sb = start(minor).await;
    let dir = tempfile::tempdir().unwrap();
    let admin = kubeconfig(&sb, dir.path());
    let manifest = dir.path().join("reader.yaml");
    std::fs::write(&manifest, READER).unwrap();
    let out = kubectl(&admin, &["apply", "-f", manifest.to_str().unwrap()]).await;
    assert!(out.ok, "{}", out.stderr);

    let out = kubectl(&admin, &["create", "token", "chaos", "-n", "shop"]).await;
    assert!(out.ok, "kubectl create token: {}", out.stderr);
    let token = out.stdout.trim().to_string();
    assert!(!token.is_empty());
    let sa_dir = dir.path().join("sa");
    std::fs::create_dir_all(&sa_dir).unwrap();
    let sa = kubeconfig_with_token(&admin, &token, sa_dir.join("kubeconfig"));

    let out = kubectl(&sa, &["get", "pods", "-n", "shop", "-o", "name"]).await;
    assert!(out.ok, "{}", out.stderr);
    let victim = out
        .stdout
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("pod/")
        .to_string();

    let yes = kubectl(&sa, &["auth", "can-i", "list", "pods", "-n", "shop"]).await;
    assert!(
        yes.ok && yes.stdout.trim() == "yes",
        "{} {}",
        yes.stdout,
        yes.stderr
    );
    let no = kubectl(&sa, &["auth", "can-i", "delete", "pods", "-n", "shop"]).await;
    assert!(
        !no.ok && no.stdout.trim() == "no",
        "{} {}",
        no.stdout,
        no.stderr
    );
    let other = kubectl(&sa, &["auth", "can-i", "list", "pods", "-n", "payments"]).await;
    assert_eq!(other.stdout.trim(), "no");

    let list = kubectl(&sa, &["auth", "can-i", "--list", "-n", "shop"]).await;
    assert!(list.ok, "{}", list.stderr);
    let pods_line = list
        .stdout
        .lines()
        .find(|l| l.starts_with("pods "))
        .unwrap_or_else(|| panic!("no pods rule in:\n{}", list.stdout));
    assert!(pods_line.contains("[get list watch]"), "{pods_line}");
    assert!(!list.stdout.contains("deployments"), "{}", list.stdout);

    let del = kubectl(&sa, &["delete", "pod", &victim, "-n", "shop"]).await;
    assert!(!del.ok);
    assert!(
        del.stderr.contains(&format!(
            "Error from server (Forbidden): pods \"{victim}\" is forbidden: User \"system:serviceaccount:shop:chaos\" cannot delete resource \"pods\" in API group \"\" in the namespace \"shop\""
        )),
        "{}",
        del.stderr
    );
    assert!(
        sb.store()
            .try_get(gameday::sandbox::resources::PODS, "shop", &victim)
            .is_some(),
        "the refused delete deleted nothing"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn kubectl_27_create_token_can_i_and_forbidden_delete() {
    kubectl_with_token_and_can_i(27).await;
}

#[tokio::test]
async fn kubectl_33_create_token_can_i_and_forbidden_delete() {
    kubectl_with_token_and_can_i(33).await;
}

/// A kube-rs client for `sb` presenting `token` (None: no credentials).
fn client_with(sb: &gameday::sandbox::SandboxHandle, token: Option<&str>) -> kube::Client {
    let mut config = sb.kube_config().unwrap();
    config.auth_info.token = token.map(|t| t.to_string().into());
    config.default_retry = false;
    kube::Client::try_from(config).unwrap()
}

fn api_code(e: kube::Error) -> (u16, String, String) {
    match e {
        kube::Error::Api(s) => (s.code, s.reason.clone(), s.message.clone()),
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn kube_rs_anonymous_401_token_request_and_access_review() {
    let sb = start(33).await;
    assert!(sb.api_url().starts_with("https://"), "TLS by default");
    let anon: Api<Pod> = Api::namespaced(client_with(&sb, None), "shop");
    let (code, reason, message) = api_code(anon.list(&ListParams::default()).await.unwrap_err());
    assert_eq!(
        (code, reason.as_str(), message.as_str()),
        (401, "Unauthorized", "Unauthorized")
    );
    let bogus: Api<Pod> = Api::namespaced(client_with(&sb, Some("not-a-token")), "shop");
    assert_eq!(
        api_code(bogus.list(&ListParams::default()).await.unwrap_err()).0,
        401
    );
    // Health and version stay public, as system:public-info-viewer allows.
    let plain = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(sb.ca_pem().unwrap().as_bytes()).unwrap(),
        )
        .build()
        .unwrap();
    for path in ["/version", "/readyz", "/healthz", "/livez"] {
        let r = plain
            .get(format!("{}{path}", sb.api_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
    }
    let r = plain.get(sb.metrics_url()).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401, "/metrics needs credentials");

    // TokenRequest for a ServiceAccount that may read pods in shop.
    let admin = sb.kube_client().unwrap();
    let docs: Vec<serde_json::Value> = serde_yaml::Deserializer::from_str(READER)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    for d in docs {
        let res = gameday::sandbox::resources::find_kind(
            d["apiVersion"].as_str().unwrap(),
            d["kind"].as_str().unwrap(),
        )
        .unwrap();
        sb.store().create(res, "shop", d).unwrap();
    }
    let sas: Api<ServiceAccount> = Api::namespaced(admin.clone(), "shop");
    let short: TokenRequest = serde_json::from_value(json!({
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "spec": {"audiences": [], "expirationSeconds": 60}
    }))
    .unwrap();
    let (code, reason, message) = api_code(
        sas.create_token_request("chaos", &PostParams::default(), &short)
            .await
            .unwrap_err(),
    );
    assert_eq!((code, reason.as_str()), (422, "Invalid"), "{message}");
    let req: TokenRequest = serde_json::from_value(json!({
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "spec": {"audiences": [], "expirationSeconds": 3600}
    }))
    .unwrap();
    let issued = sas
        .create_token_request("chaos", &PostParams::default(), &req)
        .await
        .unwrap();
    let token = issued.status.unwrap().token;
    let missing = sas
        .create_token_request("nobody", &PostParams::default(), &req)
        .await
        .unwrap_err();
    assert_eq!(api_code(missing).0, 404);

    let as_sa = client_with(&sb, Some(&token));
    let pods: Api<Pod> = Api::namespaced(as_sa.clone(), "shop");
    let victim = pods.list(&ListParams::default()).await.unwrap().items[0]
        .metadata
        .name
        .clone()
        .unwrap();
    let (code, _, message) = api_code(
        pods.delete(&victim, &DeleteParams::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(code, 403);
    assert!(
        message.contains("cannot delete resource \"pods\""),
        "{message}"
    );

    let reviews: Api<SelfSubjectAccessReview> = Api::all(as_sa.clone());
    let ask = |verb: &str, ns: &str| {
        serde_json::from_value::<SelfSubjectAccessReview>(json!({
            "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"namespace": ns, "verb": verb, "resource": "pods"}}
        }))
        .unwrap()
    };
    let allowed = |r: SelfSubjectAccessReview| r.status.unwrap().allowed;
    assert!(allowed(
        reviews
            .create(&PostParams::default(), &ask("list", "shop"))
            .await
            .unwrap()
    ));
    assert!(!allowed(
        reviews
            .create(&PostParams::default(), &ask("delete", "shop"))
            .await
            .unwrap()
    ));
    assert!(!allowed(
        reviews
            .create(&PostParams::default(), &ask("list", "payments"))
            .await
            .unwrap()
    ));

    // Deleting the ServiceAccount invalidates its tokens.
    sas.delete("chaos", &DeleteParams::default()).await.unwrap();
    assert_eq!(
        api_code(pods.list(&ListParams::default()).await.unwrap_err()).0,
        401
    );
    sb.shutdown().await;
}

// gameday under least privilege (issue 13 item 4): a ServiceAccount bound to
// exactly what `gameday rbac` prints runs `recover --namespace` and `halt
// --namespace`; one missing a permission is refused at preflight.

mod faults_support;

use std::time::Duration;

use faults_support::{Cluster, journal_events};

/// Long enough to still be active when the test acts on them.
const LONG_FAULTS: &str = "    - {name: freeze, type: podFailure, duration: 5m, selector: {namespace: shop, labels: {app: checkout}}, mode: {count: 1}}
    - {name: shrink, type: scale, duration: 5m, selector: {namespace: shop, kind: Deployment, name: frontend}, params: {replicas: 1}}";

/// `run SCENARIO --ci --out OUT`.
fn ci_run<'a>(scenario: &'a Path, out: &'a Path) -> [&'a str; 5] {
    [
        "run",
        scenario.to_str().unwrap(),
        "--ci",
        "--out",
        out.to_str().unwrap(),
    ]
}

/// Starts a run as the admin and waits (bounded) until both faults are
/// injected.
async fn run_with_active_faults(c: &Cluster, scenario: &Path, out: &Path) -> tokio::process::Child {
    let child = c
        .gameday(&ci_run(scenario, out))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let injected = c
        .eventually(Duration::from_secs(30), || async {
            journal_events(out)
                .iter()
                .filter(|e| e.event == "fault.injected")
                .count()
                == 2
        })
        .await;
    assert!(injected, "both faults injected");
    assert!(!c.marked().await.is_empty());
    child
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_namespace_under_exactly_the_printed_rbac_reverts_a_killed_run() {
    let c = Cluster::start(faults_support::shop_world()).await;
    let sc = c.write_scenario("long.yaml", "long", LONG_FAULTS, "");
    let sa = c.bound_to_printed_rbac(&sc, |_| {}).await;
    let mut child = run_with_active_faults(&c, &sc, &c.path("run")).await;
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    assert!(!c.marked().await.is_empty(), "the SIGKILL left marks");

    let (code, out, err) = c.run_as(&sa, &["recover", "--namespace", "shop"]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(c.marked().await.is_empty(), "{:?}", c.marked().await);
    assert!(c.shop_restored(Duration::from_secs(20)).await);
    // Without --namespace it must list cluster-wide, which the Roles do not
    // allow: it says so and does not claim a clean cluster.
    let (code, out, _) = c.run_as(&sa, &["recover", "--all"]).await;
    assert_eq!(code, 5, "{out}");
    assert!(out.contains("forbidden to list"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn halt_with_namespaced_rights_reverts_active_faults_even_without_its_marker() {
    let c = Cluster::start(faults_support::shop_world()).await;
    let sc = c.write_scenario("long.yaml", "long", LONG_FAULTS, "");
    // The printed RBAC minus the kill-switch Role: halt cannot write its marker.
    let sa = c
        .bound_to_printed_rbac(&sc, |docs| {
            docs.retain(|d| {
                !(d["kind"] == "RoleBinding" && d["metadata"]["namespace"] == "gameday-system")
            });
        })
        .await;
    let mut child = run_with_active_faults(&c, &sc, &c.path("run")).await;
    let (code, _, err) = c.run_as(&sa, &["halt", "--namespace", "shop"]).await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("kill switch NOT set"), "{err}");
    assert!(err.contains("reverted"), "{err}");
    assert!(c.marked().await.is_empty(), "{:?}", c.marked().await);
    child.start_kill().unwrap();
    child.wait().await.unwrap();

    // With the printed RBAC complete, halt sets the switch and the run stops.
    let sa = c.bound_to_printed_rbac(&sc, |_| {}).await;
    let mut child = run_with_active_faults(&c, &sc, &c.path("run2")).await;
    let (code, _, err) = c.run_as(&sa, &["halt", "--namespace", "shop"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("kill switch set"), "{err}");
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("the halted run ends")
        .unwrap();
    assert_eq!(status.code(), Some(3), "a halted run exits 3");
    assert!(c.marked().await.is_empty(), "{:?}", c.marked().await);
    let (code, _, err) = c.run_as(&sa, &["halt", "--lift"]).await;
    assert_eq!(code, 0, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_missing_one_permission_is_refused_at_preflight_with_nothing_written() {
    let c = Cluster::start(faults_support::shop_world()).await;
    let sc = c.write_scenario(
        "kill.yaml",
        "kill",
        "    - {name: kill, type: podKill, selector: {namespace: shop, labels: {app: checkout}}, mode: {count: 1}}",
        "",
    );
    // Everything `gameday rbac` prints, except `delete` on pods in shop.
    let sa = c
        .bound_to_printed_rbac(&sc, |docs| {
            for d in docs.iter_mut() {
                if d["kind"] == "Role" && d["metadata"]["namespace"] == "shop" {
                    for r in d["rules"].as_array_mut().unwrap() {
                        if r["resources"] == json!(["pods"]) {
                            r["verbs"].as_array_mut().unwrap().retain(|v| v != "delete");
                        }
                    }
                }
            }
        })
        .await;
    let pods_before = c.pods("shop", "checkout").await.len();
    c.sandbox.admin().reset_log();
    let out = c.path("run");
    let (code, _, err) = c.run_as(&sa, &ci_run(&sc, &out)).await;
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains("delete pods (core) in namespace shop"),
        "{err}"
    );
    assert!(err.contains("nothing was changed"), "{err}");
    assert_eq!(c.sandbox.write_count(), 0, "{:?}", c.sandbox.requests());
    assert!(
        c.sandbox
            .requests()
            .iter()
            .any(|r| r.path.contains("/selfsubjectaccessreviews")),
        "the preflight asked the server"
    );
    assert!(journal_events(&out).is_empty(), "no run was started");
    assert_eq!(c.pods("shop", "checkout").await.len(), pods_before);
}
