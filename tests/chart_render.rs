//! charts/gameday rendered as `helm template` would: the manifests with
//! default and ci values, the scheduled-run contract in the CronJobs, the
//! schema refusing bad values, the README documenting every value, and the
//! RBAC being exactly what `gameday rbac` prints for the scheduled files.

mod chart_support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use chart_support::{chart_dir, ci_values, named, of_kind, pod_spec, render};
use serde_json::{Value, json};

#[test]
fn default_values_render_the_config_the_service_account_and_the_watchdog() {
    let (text, docs) = render(&[]);
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ServiceAccount", "ConfigMap", "CronJob"]);
    assert!(text.starts_with("---\n# Source: gameday/templates/serviceaccount.yaml\n"));
    let watchdog = named(&docs, "CronJob", "gameday-watchdog");
    let c = &pod_spec(watchdog)["containers"][0];
    assert_eq!(c["args"], json!(["recover", "--expired"]));
    assert_eq!(
        c["image"],
        format!("ghcr.io/gameday-dev/gameday:{}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn ci_values_schedule_one_cronjob_with_the_contract_invocation() {
    let (_, docs) = render(&[ci_values()]);
    let cj = named(&docs, "CronJob", "gameday-checkout-pod-loss");
    let spec = &cj["spec"];
    assert_eq!(spec["schedule"], "0 10 * * 2");
    assert_eq!(spec["timeZone"], "Europe/Berlin");
    assert_eq!(spec["concurrencyPolicy"], "Forbid");
    assert_eq!(spec["jobTemplate"]["spec"]["backoffLimit"], 0);
    assert!(spec["startingDeadlineSeconds"].as_i64().is_some());
    let pod = pod_spec(cj);
    assert_eq!(pod["restartPolicy"], "Never");
    assert_eq!(pod["serviceAccountName"], "gameday");
    let c = &pod["containers"][0];
    assert_eq!(
        c["args"],
        json!([
            "run",
            "--ci",
            "--schedule",
            "checkout-pod-loss",
            "--out",
            "/var/lib/gameday/runs",
            "/etc/gameday/checkout-pod-loss.yaml"
        ])
    );
    let env: BTreeMap<&str, &Value> = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap(), &e["value"]))
        .collect();
    assert_eq!(env["GAMEDAY_CONFIG"], "/etc/gameday/gameday.yaml");
    assert_eq!(env["GAMEDAY_CLUSTER_NAME"], "gameday-sandbox");
    assert_eq!(c["resources"]["limits"]["memory"], "64Mi");
    // The watchdog recovers in the target namespace, not the kill switch's.
    let watchdog = &pod_spec(named(&docs, "CronJob", "gameday-watchdog"))["containers"][0];
    assert_eq!(
        watchdog["args"],
        json!(["recover", "--expired", "--namespace", "shop"])
    );
    let config = named(&docs, "ConfigMap", "gameday-config");
    let gameday_yaml: Value =
        serde_yaml::from_str(config["data"]["gameday.yaml"].as_str().unwrap()).unwrap();
    assert_eq!(
        gameday_yaml["schedules"],
        json!([{"name": "checkout-pod-loss", "file": "checkout-pod-loss.yaml", "cron": "0 10 * * 2"}])
    );
    assert_eq!(gameday_yaml["calendar"]["timeZone"], "Europe/Berlin");
    assert_eq!(
        gameday_yaml["allowedContexts"],
        json!(["in-cluster/gameday-sandbox"])
    );
}

#[test]
fn a_drill_schedule_runs_gameday_drill() {
    let over = json!({"schedules": [
        {"name": "tabletop", "file": "drill.yaml", "cron": "0 9 * * 1", "kind": "Drill"}]});
    let (_, docs) = render(&[over]);
    let c = &pod_spec(named(&docs, "CronJob", "gameday-tabletop"))["containers"][0];
    assert_eq!(c["args"][0], "drill");
    assert_eq!(c["args"][6], "/etc/gameday/drill.yaml");
}

#[test]
fn history_secret_exporter_and_claim_render_when_set() {
    let over = json!({
        "history": {"existingSecret": "gameday-history", "secretKey": "url"},
        "metricsExporter": {"enabled": true},
        "runVolume": {"existingClaim": "gameday-runs"},
        "scenarios": {"existingConfigMap": "my-scenarios"},
    });
    let (_, docs) = render(&[over]);
    let deploy = named(&docs, "Deployment", "gameday-metrics");
    let pod = &deploy["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    assert_eq!(
        c["args"],
        json!(["metrics", "serve", "--listen", "0.0.0.0:9464"])
    );
    assert_eq!(c["ports"][0]["containerPort"], 9464);
    let db = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "GAMEDAY_HISTORY_DB");
    assert_eq!(
        db.expect("GAMEDAY_HISTORY_DB is set")["valueFrom"]["secretKeyRef"],
        json!({"name": "gameday-history", "key": "url"})
    );
    assert_eq!(
        pod["volumes"][1]["persistentVolumeClaim"]["claimName"],
        "gameday-runs"
    );
    assert_eq!(
        pod["volumes"][0]["projected"]["sources"][1]["configMap"]["name"],
        "my-scenarios"
    );
    assert_eq!(
        named(&docs, "Service", "gameday-metrics")["spec"]["ports"][0]["port"],
        9464
    );
    // With the history in a Secret, gameday.yaml names no path.
    let config = named(&docs, "ConfigMap", "gameday-config");
    assert!(
        !config["data"]["gameday.yaml"]
            .as_str()
            .unwrap()
            .contains("history:")
    );
}

#[test]
fn the_schema_refuses_bad_values_naming_each_path() {
    let chart = gameday_chart_render::Chart::load(&chart_dir()).unwrap();
    let bad = json!({
        "schedules": [{"name": "Checkout_Latency", "file": "x.yaml", "cron": "every tuesday"}],
        "watchdog": {"enabled": "yes"},
        "unknownKey": 1,
    });
    let err = chart
        .values_with(&[bad])
        .expect_err("the schema refuses them")
        .to_string();
    assert!(
        err.starts_with("values don't meet the specifications of the schema(s)"),
        "{err}"
    );
    for path in [
        "schedules.0.name",
        "schedules.0.cron",
        "watchdog.enabled",
        "(root)",
    ] {
        assert!(
            err.contains(&format!("- {path}: ")),
            "{path} missing from:\n{err}"
        );
    }
}

#[test]
fn the_script_exits_2_on_values_the_schema_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad-values.yaml");
    std::fs::write(&bad, "watchdog: {schedule: nope}\n").unwrap();
    let out = Command::new(env!("CARGO_MANIFEST_DIR").to_string() + "/scripts/render-chart.sh")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("watchdog.schedule"));
}

fn keys(prefix: &str, v: &Value, out: &mut Vec<String>) {
    if let Value::Object(m) = v {
        for (k, child) in m {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            let leaf = !matches!(child, Value::Object(c) if !c.is_empty());
            if leaf {
                out.push(path);
            } else {
                keys(&path, child, out);
            }
        }
    }
}

#[test]
fn every_value_is_in_the_readme_table() {
    let values = gameday_chart_render::read_values(&chart_dir().join("values.yaml")).unwrap();
    let readme = std::fs::read_to_string(chart_dir().join("README.md")).unwrap();
    let mut all = Vec::new();
    keys("", &values, &mut all);
    let missing: Vec<&String> = all
        .iter()
        .filter(|k| !readme.contains(&format!("| `{k}` |")))
        .collect();
    assert!(
        missing.is_empty(),
        "values missing from charts/gameday/README.md: {missing:?}"
    );
}

#[test]
fn app_version_is_the_crate_version() {
    let chart: Value = gameday_chart_render::read_values(&chart_dir().join("Chart.yaml")).unwrap();
    assert_eq!(chart["apiVersion"], "v2");
    assert_eq!(chart["appVersion"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn the_ci_scenario_is_the_shipped_one_allowing_the_in_cluster_context() {
    let values = ci_values();
    let file = values["scenarios"]["files"]["checkout-pod-loss.yaml"]
        .as_str()
        .unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let shipped = std::fs::read_to_string(root.join("scenarios/checkout-pod-loss.yaml")).unwrap();
    let widened = shipped.replace(
        r#"contexts: ["gameday-sandbox", "staging-*"]"#,
        r#"contexts: ["gameday-sandbox", "staging-*", "in-cluster/gameday-sandbox"]"#,
    );
    assert_ne!(
        widened, shipped,
        "the shipped scenario's contexts line changed"
    );
    assert_eq!(file, widened);
}

/// (namespace or "" for cluster scope) -> (group, resource) -> verbs.
type Rules = BTreeMap<String, BTreeMap<(String, String), BTreeSet<String>>>;

fn add_rules(out: &mut Rules, scope: &str, rules: &Value) {
    for r in rules.as_array().into_iter().flatten() {
        for g in r["apiGroups"].as_array().unwrap() {
            for res in r["resources"].as_array().unwrap() {
                let key = (
                    g.as_str().unwrap().to_string(),
                    res.as_str().unwrap().to_string(),
                );
                let verbs = r["verbs"].as_array().unwrap().iter();
                out.entry(scope.to_string())
                    .or_default()
                    .entry(key)
                    .or_default()
                    .extend(verbs.map(|v| v.as_str().unwrap().to_string()));
            }
        }
    }
}

fn rules_of(docs: &[Value]) -> Rules {
    let mut out = Rules::new();
    for role in of_kind(docs, "Role") {
        add_rules(
            &mut out,
            role["metadata"]["namespace"].as_str().unwrap(),
            &role["rules"],
        );
    }
    for role in of_kind(docs, "ClusterRole") {
        add_rules(&mut out, "", &role["rules"]);
    }
    out
}

/// One source of truth: the chart's Roles are `gameday rbac`'s rules for
/// the scheduled files, with the rendered gameday.yaml as the config.
#[test]
fn the_chart_rbac_is_what_gameday_rbac_prints_for_the_scheduled_files() {
    let (_, docs) = render(&[ci_values()]);
    let dir = tempfile::tempdir().unwrap();
    let config = named(&docs, "ConfigMap", "gameday-config");
    let mut wanted = Rules::new();
    for (name, text) in config["data"].as_object().unwrap() {
        std::fs::write(dir.path().join(name), text.as_str().unwrap()).unwrap();
    }
    // schedules: and calendar: are read by the calendar's config (issue
    // 16); the rules depend on haltNamespace alone.
    let mut cfg: Value =
        serde_yaml::from_str(config["data"]["gameday.yaml"].as_str().unwrap()).unwrap();
    cfg.as_object_mut()
        .unwrap()
        .retain(|k, _| k != "schedules" && k != "calendar");
    let cfg_path = dir.path().join("rbac-config.yaml");
    std::fs::write(&cfg_path, serde_yaml::to_string(&cfg).unwrap()).unwrap();
    let schedules = ci_values()["schedules"].clone();
    for s in schedules.as_array().unwrap() {
        let out = Command::new(env!("CARGO_BIN_EXE_gameday"))
            .args(["--config"])
            .arg(&cfg_path)
            .args([
                "rbac",
                "--service-account",
                "gameday",
                "--service-account-namespace",
                "gameday-system",
            ])
            .arg(dir.path().join(s["file"].as_str().unwrap()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "gameday rbac: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let printed: Vec<Value> =
            serde_yaml::Deserializer::from_str(&String::from_utf8_lossy(&out.stdout))
                .map(|d| serde::Deserialize::deserialize(d).unwrap())
                .collect();
        for (scope, rules) in rules_of(&printed) {
            for (key, verbs) in rules {
                wanted
                    .entry(scope.clone())
                    .or_default()
                    .entry(key)
                    .or_default()
                    .extend(verbs);
            }
        }
    }
    assert_eq!(rules_of(&docs), wanted);
    // Bound to the release's ServiceAccount.
    for b in of_kind(&docs, "RoleBinding") {
        assert_eq!(
            b["subjects"],
            json!([{"kind": "ServiceAccount", "name": "gameday", "namespace": "gameday-system"}])
        );
    }
}
