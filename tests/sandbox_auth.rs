//! Issue 12 items 1-2 acceptance: the sandbox authenticates and authorizes
//! like kube-apiserver. The real kubectl (minors 27 and 33) gets a
//! ServiceAccount token with `kubectl create token`, uses it from a
//! kubeconfig, asks `kubectl auth can-i` (yes, no, `--list`) and is refused a
//! delete with the real server's 403 message; kube-rs sees 401 anonymous,
//! TokenRequest and SelfSubjectAccessReview.

mod sandbox_support;

use std::path::{Path, PathBuf};

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

/// The admin kubeconfig with its user's token replaced by `token`.
fn kubeconfig_with_token(admin: &Path, token: &str, out: PathBuf) -> PathBuf {
    let mut v: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(admin).unwrap()).unwrap();
    v["users"][0]["user"]["token"] = serde_yaml::Value::String(token.to_string());
    std::fs::write(&out, serde_yaml::to_string(&v).unwrap()).unwrap();
    out
}

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
