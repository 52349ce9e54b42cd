//! Field validation that kube-apiserver applies to every create and update,
//! with its wording, so that a client that gets away with something here
//! would get away with it on a real cluster too.
//!
//! Sources (Kubernetes v1.33):
//! - label keys and values: apimachinery/pkg/util/validation/validation.go
//!   (`IsQualifiedName`, `IsValidLabelValue`);
//! - annotation size: apimachinery/pkg/api/validation/objectmeta.go
//!   (`TotalAnnotationSizeLimitB` = 256 KiB);
//! - taints unique by key and effect, container names unique, and which pod
//!   fields an update may change: pkg/apis/core/validation/validation.go
//!   (`validateNodeTaints`, `validateContainers`, `ValidatePodUpdate`);
//! - CronJobs and Jobs: pkg/apis/batch/validation/validation.go
//!   (`ValidateCronJobCreate`, `validateCronJobSpec`, `ValidateJobSpec`,
//!   the 52-character CronJob name, restartPolicy OnFailure or Never).

use serde_json::Value;

use crate::error::ApiError;
use crate::meta;
use crate::resources::{self, ResId};

const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;
const QUALIFIED_NAME_MAX: usize = 63;
const LABEL_VALUE_MAX: usize = 63;
const PREFIX_MAX: usize = 253;

/// Checks what every object of `res` must satisfy, on create.
pub fn object(res: ResId, v: &Value) -> Result<(), ApiError> {
    checks(res, v, None)
}

/// The same checks on an update of `old` to `new`: a few rules depend on
/// what the old object already had (a CronJob may keep a `TZ=` schedule).
pub fn object_update(res: ResId, old: &Value, new: &Value) -> Result<(), ApiError> {
    checks(res, new, Some(old))
}

fn checks(res: ResId, v: &Value, old: Option<&Value>) -> Result<(), ApiError> {
    let mut errs = Vec::new();
    labels(v, &mut errs);
    annotations(v, &mut errs);
    if res == resources::PODS {
        container_names(v, &mut errs);
    }
    if res == resources::NODES {
        taints(v, &mut errs);
    }
    if res == resources::CRONJOBS {
        cron_job(v, old, &mut errs);
    }
    workload_selector(res, v, old, &mut errs);
    if res == resources::JOBS {
        job_spec(meta::at(v, &["spec"]), "spec", &mut errs);
    }
    fail(res, v, errs)
}

/// A pod update may change only the fields the real server lets change.
pub fn pod_update(old: &Value, new: &Value) -> Result<(), ApiError> {
    let Some(field) = first_forbidden_change(old, new) else {
        return Ok(());
    };
    fail(
        resources::PODS,
        new,
        vec![format!(
            "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n  changed: {field}"
        )],
    )
}

fn fail(res: ResId, v: &Value, errs: Vec<String>) -> Result<(), ApiError> {
    if errs.is_empty() {
        return Ok(());
    }
    // field.ErrorList.ToAggregate: one error as is, several in brackets.
    let detail = if errs.len() == 1 {
        errs.join("")
    } else {
        format!("[{}]", errs.join(", "))
    };
    Err(ApiError::invalid(
        resources::def(res),
        meta::name(v),
        detail,
    ))
}

fn is_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= PREFIX_MAX
        && s.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        })
}

/// `IsQualifiedName`: an optional DNS-subdomain prefix and a name part.
fn qualified_name_error(key: &str) -> Option<String> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix
        && !is_dns_subdomain(p)
    {
        return Some("prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".into());
    }
    if name.len() > QUALIFIED_NAME_MAX {
        return Some("name part must be no more than 63 characters".into());
    }
    if !is_name_part(name) {
        return Some("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')".into());
    }
    None
}

fn labels(v: &Value, errs: &mut Vec<String>) {
    let Some(map) = meta::at(v, &["metadata", "labels"]).and_then(Value::as_object) else {
        return;
    };
    for (k, val) in map {
        if let Some(e) = qualified_name_error(k) {
            errs.push(format!("metadata.labels: Invalid value: {k:?}: {e}"));
        }
        let s = val.as_str().unwrap_or_default();
        if s.len() > LABEL_VALUE_MAX {
            errs.push(format!(
                "metadata.labels: Invalid value: {s:?}: must be no more than 63 characters"
            ));
        } else if !s.is_empty() && !is_name_part(s) {
            errs.push(format!("metadata.labels: Invalid value: {s:?}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"));
        }
    }
}

fn annotations(v: &Value, errs: &mut Vec<String>) {
    let Some(map) = meta::at(v, &["metadata", "annotations"]).and_then(Value::as_object) else {
        return;
    };
    let mut total = 0;
    for (k, val) in map {
        if let Some(e) = qualified_name_error(&k.to_ascii_lowercase()) {
            errs.push(format!("metadata.annotations: Invalid value: {k:?}: {e}"));
        }
        total += k.len() + val.as_str().map_or(0, str::len);
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(format!(
            "metadata.annotations: Too long: may not be more than {TOTAL_ANNOTATION_SIZE_LIMIT} bytes"
        ));
    }
}

fn container_names(v: &Value, errs: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        let items = meta::at(v, &["spec", list]).and_then(Value::as_array);
        for (i, c) in items.into_iter().flatten().enumerate() {
            let name = meta::str_at(c, &["name"]).unwrap_or_default();
            if !seen.insert(name.to_string()) {
                errs.push(format!("spec.{list}[{i}].name: Duplicate value: {name:?}"));
            }
        }
    }
}

/// The workloads whose `spec.selector` must select their own template, and
/// the word kubernetes' messages use for each (ReplicaSet's validation
/// reuses "deployment").
fn selector_owner(res: ResId) -> Option<&'static str> {
    match res {
        resources::DEPLOYMENTS | resources::REPLICASETS => Some("deployment"),
        resources::STATEFULSETS => Some("statefulset"),
        resources::DAEMONSETS => Some("daemonset"),
        _ => None,
    }
}

/// kubernetes pkg/apis/apps/validation: `spec.selector` is required, not
/// empty, selects the template's labels (`ValidatePodTemplateSpecForReplicaSet`),
/// and on an update stays as it was (apps/v1 selectors are immutable).
/// Without this a patch that changed a template's labels away from its
/// selector would pass here and be refused by a real server.
fn workload_selector(res: ResId, v: &Value, old: Option<&Value>, errs: &mut Vec<String>) {
    let Some(word) = selector_owner(res) else {
        return;
    };
    let selector = meta::at(v, &["spec", "selector"]).filter(|s| !s.is_null());
    let Some(selector) = selector else {
        errs.push("spec.selector: Required value".into());
        return;
    };
    if let Some(old_selector) = old.and_then(|o| meta::at(o, &["spec", "selector"]))
        && old_selector != selector
    {
        errs.push(format!(
            "spec.selector: Invalid value: {}: field is immutable",
            go_label_selector(selector)
        ));
    }
    let count = |k: &str| {
        selector
            .get(k)
            .and_then(Value::as_object)
            .map_or(0, |m| m.len())
            + selector
                .get(k)
                .and_then(Value::as_array)
                .map_or(0, Vec::len)
    };
    if count("matchLabels") + count("matchExpressions") == 0 {
        errs.push(format!(
            "spec.selector: Invalid value: {}: empty selector is invalid for {word}",
            go_label_selector(selector)
        ));
        return;
    }
    let Some(sel) = crate::selector::LabelSelector::from_object(selector) else {
        errs.push(format!(
            "spec.selector: Invalid value: {}: invalid label selector",
            go_label_selector(selector)
        ));
        return;
    };
    let labels =
        meta::at(v, &["spec", "template", "metadata", "labels"]).and_then(Value::as_object);
    if !sel.matches_labels(labels) {
        errs.push(format!(
            "spec.template.metadata.labels: Invalid value: {}: `selector` does not match template `labels`",
            go_string_map(labels)
        ));
    }
}

/// A label map as Go's `%#v` prints it in a field error:
/// `map[string]string{"app":"checkout", "tier":"web"}` (keys sorted).
fn go_string_map(m: Option<&serde_json::Map<String, Value>>) -> String {
    let mut pairs: Vec<(&String, &str)> = m
        .into_iter()
        .flatten()
        .map(|(k, v)| (k, v.as_str().unwrap_or_default()))
        .collect();
    pairs.sort();
    let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{k:?}:{v:?}")).collect();
    if m.is_none() {
        return "map[string]string(nil)".into();
    }
    format!("map[string]string{{{}}}", body.join(", "))
}

/// A `metav1.LabelSelector` as Go's `%#v` prints it (match labels shown;
/// expressions summarised, as their Go form is not worth reproducing).
fn go_label_selector(sel: &Value) -> String {
    let exprs = sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .map_or_else(
            || "[]v1.LabelSelectorRequirement(nil)".to_string(),
            |a| format!("[]v1.LabelSelectorRequirement{{...{} items}}", a.len()),
        );
    let labels = sel.get("matchLabels").and_then(Value::as_object);
    format!(
        "v1.LabelSelector{{MatchLabels:{}, MatchExpressions:{exprs}}}",
        go_string_map(labels)
    )
}

/// A CronJob's name leaves room for the 11 characters its Jobs append.
const CRON_JOB_NAME_MAX: usize = 52;

fn cron_job(v: &Value, old: Option<&Value>, errs: &mut Vec<String>) {
    let allow_tz = old
        .and_then(|o| meta::str_at(o, &["spec", "schedule"]))
        .is_some_and(|s| s.contains("TZ"));
    let name = meta::name(v);
    if name.len() > CRON_JOB_NAME_MAX {
        errs.push(format!(
            "metadata.name: Invalid value: {name:?}: must be no more than {CRON_JOB_NAME_MAX} characters"
        ));
    }
    // kubernetes pkg/apis/batch/validation `validateScheduleFormat` and
    // `validateTimeZone`, on create (`allowTZInSchedule` is false unless
    // an update of an object whose schedule already had one).
    let schedule = meta::str_at(v, &["spec", "schedule"]).unwrap_or_default();
    let tz = meta::str_at(v, &["spec", "timeZone"]);
    if schedule.is_empty() {
        errs.push("spec.schedule: Required value".into());
    } else {
        if let Err(e) = gameday_spanned::values::cron::parse_standard(schedule) {
            errs.push(format!(
                "spec.schedule: Invalid value: {schedule:?}: {}",
                e.message
            ));
        }
        if schedule.contains("TZ") {
            let why = if allow_tz && tz.is_some() {
                Some("cannot use both timeZone field and TZ or CRON_TZ in schedule")
            } else if !allow_tz {
                Some("cannot use TZ or CRON_TZ in schedule, use timeZone field instead")
            } else {
                None
            };
            if let Some(why) = why {
                errs.push(format!("spec.schedule: Invalid value: {schedule:?}: {why}"));
            }
        }
    }
    if let Some(tz) = tz {
        if tz.is_empty() {
            errs.push(
                "spec.timeZone: Invalid value: \"\": timeZone must be nil or non-empty string"
                    .into(),
            );
        } else if tz.eq_ignore_ascii_case("local") {
            errs.push(format!(
                "spec.timeZone: Invalid value: {tz:?}: timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"
            ));
        } else if jiff::tz::TimeZone::get(tz).is_err() {
            errs.push(format!(
                "spec.timeZone: Invalid value: {tz:?}: unknown time zone {tz}"
            ));
        }
    }
    let policy = meta::str_at(v, &["spec", "concurrencyPolicy"]).unwrap_or("Allow");
    if !["Allow", "Forbid", "Replace"].contains(&policy) {
        errs.push(format!(
            "spec.concurrencyPolicy: Unsupported value: {policy:?}: supported values: \"Allow\", \"Forbid\", \"Replace\""
        ));
    }
    for field in [
        "startingDeadlineSeconds",
        "successfulJobsHistoryLimit",
        "failedJobsHistoryLimit",
    ] {
        non_negative(
            meta::at(v, &["spec", field]),
            &format!("spec.{field}"),
            errs,
        );
    }
    job_spec(
        meta::at(v, &["spec", "jobTemplate", "spec"]),
        "spec.jobTemplate.spec",
        errs,
    );
}

fn non_negative(v: Option<&Value>, path: &str, errs: &mut Vec<String>) {
    if let Some(n) = v.and_then(Value::as_i64).filter(|n| *n < 0) {
        errs.push(format!(
            "{path}: Invalid value: {n}: must be greater than or equal to 0"
        ));
    }
}

/// A Job's spec (also a CronJob's jobTemplate): its pods never restart
/// in place with `Always`; the Job controller owns retries.
fn job_spec(spec: Option<&Value>, path: &str, errs: &mut Vec<String>) {
    let Some(spec) = spec else {
        return;
    };
    for field in [
        "backoffLimit",
        "activeDeadlineSeconds",
        "ttlSecondsAfterFinished",
    ] {
        non_negative(spec.get(field), &format!("{path}.{field}"), errs);
    }
    let restart = meta::str_at(spec, &["template", "spec", "restartPolicy"]).unwrap_or("Always");
    if restart != "OnFailure" && restart != "Never" {
        errs.push(format!(
            "{path}.template.spec.restartPolicy: Unsupported value: {restart:?}: supported values: \"OnFailure\", \"Never\""
        ));
    }
}

fn taints(v: &Value, errs: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    let items = meta::at(v, &["spec", "taints"]).and_then(Value::as_array);
    for (i, t) in items.into_iter().flatten().enumerate() {
        let key = meta::str_at(t, &["key"]).unwrap_or_default();
        let effect = meta::str_at(t, &["effect"]).unwrap_or_default();
        if !seen.insert((key.to_string(), effect.to_string())) {
            errs.push(format!(
                "spec.taints[{i}]: Duplicate value: {{\"key\":{key:?},\"effect\":{effect:?}}}: taints must be unique by key and effect pair"
            ));
        }
    }
}

/// The first pod-spec path an update changes that it may not, if any.
fn first_forbidden_change(old: &Value, new: &Value) -> Option<String> {
    let empty = Value::Null;
    let mut a = old.get("spec").cloned().unwrap_or(Value::Null);
    let mut b = new.get("spec").cloned().unwrap_or(Value::Null);
    // Images may change; compare everything else.
    for list in ["containers", "initContainers"] {
        for spec in [&mut a, &mut b] {
            if let Some(cs) = spec.get_mut(list).and_then(Value::as_array_mut) {
                for c in cs {
                    if let Some(o) = c.as_object_mut() {
                        o.remove("image");
                    }
                }
            }
        }
    }
    for spec in [&mut a, &mut b] {
        if let Some(o) = spec.as_object_mut() {
            o.remove("activeDeadlineSeconds");
            o.remove("ephemeralContainers");
        }
    }
    // Tolerations may only be added to.
    let old_tol = a
        .as_object_mut()
        .and_then(|o| o.remove("tolerations"))
        .unwrap_or(Value::Array(Vec::new()));
    let new_tol = b
        .as_object_mut()
        .and_then(|o| o.remove("tolerations"))
        .unwrap_or(Value::Array(Vec::new()));
    let kept = old_tol
        .as_array()
        .into_iter()
        .flatten()
        .all(|t| new_tol.as_array().is_some_and(|n| n.contains(t)));
    if !kept {
        return Some("spec.tolerations".into());
    }
    // terminationGracePeriodSeconds: only from negative to 1.
    let g = |s: &mut Value| {
        s.as_object_mut()
            .and_then(|o| o.remove("terminationGracePeriodSeconds"))
    };
    let (og, ng) = (g(&mut a), g(&mut b));
    if og != ng
        && !(og.as_ref().and_then(Value::as_i64).is_some_and(|x| x < 0) && ng == Some(1.into()))
    {
        return Some("spec.terminationGracePeriodSeconds".into());
    }
    diff_path("spec", if a.is_null() { &empty } else { &a }, &b)
}

/// The first JSON path where `a` and `b` differ.
fn diff_path(path: &str, a: &Value, b: &Value) -> Option<String> {
    if a == b {
        return None;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| {
                diff_path(
                    &format!("{path}.{k}"),
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                )
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| diff_path(&format!("{path}[{i}]"), p, q)),
        _ => Some(path.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(spec: Value) -> Value {
        json!({"metadata": {"name": "p"}, "spec": spec})
    }

    fn cron_job(schedule: &str, tz: Option<&str>) -> Value {
        let mut v = json!({"metadata": {"name": "nightly"}, "spec": {"schedule": schedule,
            "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "Never",
                "containers": [{"name": "c", "image": "busybox"}]}}}}}});
        if let Some(tz) = tz {
            v["spec"]["timeZone"] = json!(tz);
        }
        v
    }

    fn deployment(selector: Value, labels: Value) -> Value {
        json!({"metadata": {"name": "web"}, "spec": {"selector": selector,
            "template": {"metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    }

    /// apps/v1: a selector is required, not empty, selects the template,
    /// and never changes.
    #[test]
    fn workload_selectors_follow_the_apps_validation() {
        let ok = deployment(
            json!({"matchLabels": {"app": "web"}}),
            json!({"app": "web", "tier": "x"}),
        );
        for res in [
            resources::DEPLOYMENTS,
            resources::REPLICASETS,
            resources::STATEFULSETS,
            resources::DAEMONSETS,
        ] {
            assert!(object(res, &ok).is_ok());
        }
        let refused = |res, v: &Value| object(res, v).unwrap_err().to_string();
        let e = refused(
            resources::DEPLOYMENTS,
            &deployment(
                json!({"matchLabels": {"app": "web"}}),
                json!({"app": "api"}),
            ),
        );
        assert!(
            e.contains(r#"spec.template.metadata.labels: Invalid value: map[string]string{"app":"api"}: `selector` does not match template `labels`"#),
            "{e}"
        );
        let no_selector = deployment(Value::Null, json!({"app": "web"}));
        assert!(
            refused(resources::STATEFULSETS, &no_selector)
                .contains("spec.selector: Required value")
        );
        let empty = deployment(json!({}), json!({"app": "web"}));
        assert!(
            refused(resources::DAEMONSETS, &empty)
                .contains("empty selector is invalid for daemonset")
        );
        let exprs = deployment(
            json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]}),
            json!({"app": "api"}),
        );
        assert!(object(resources::DEPLOYMENTS, &exprs).is_ok());
        // Update: the template may change, the selector may not.
        let mut relabelled = ok.clone();
        relabelled["spec"]["template"]["metadata"]["labels"]["tier"] = json!("y");
        assert!(object_update(resources::DEPLOYMENTS, &ok, &relabelled).is_ok());
        let moved = deployment(
            json!({"matchLabels": {"app": "api"}}),
            json!({"app": "api"}),
        );
        let e = object_update(resources::DEPLOYMENTS, &ok, &moved)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(r#"spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"api"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"#),
            "{e}"
        );
    }

    /// The refusals of a real server, word for word (kubectl prints them
    /// after `The CronJob "nightly" is invalid:`).
    #[test]
    fn cron_jobs_are_refused_as_the_real_server_refuses_them() {
        let refused = |schedule: &str, tz: Option<&str>| {
            let e = object(resources::CRONJOBS, &cron_job(schedule, tz)).unwrap_err();
            assert_eq!(e.code(), 422);
            e.to_string()
        };
        for ok in [
            "0 10 * * 2",
            "@hourly",
            "@every 1h30m",
            "*/5 * ? * mon-fri",
            "0 0 * * 0",
        ] {
            assert!(
                object(resources::CRONJOBS, &cron_job(ok, None)).is_ok(),
                "{ok}"
            );
        }
        let e = refused("61 * * * *", None);
        assert!(
            e.contains(r#"spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61"#),
            "{e}"
        );
        // Vixie cron's Sunday-as-7 is not robfig's.
        assert!(refused("0 0 * * 7", None).contains("end of range (7) above maximum (6): 7"));
        let e = refused("CRON_TZ=UTC * * * * *", None);
        assert!(
            e.contains("cannot use TZ or CRON_TZ in schedule, use timeZone field instead"),
            "{e}"
        );
        let e = refused("0 3 * * *", Some("Europe/Pariss"));
        assert!(
            e.contains(
                r#"spec.timeZone: Invalid value: "Europe/Pariss": unknown time zone Europe/Pariss"#
            ),
            "{e}"
        );
        assert!(refused("0 3 * * *", Some("Local")).contains("explicit time zone"));
        assert!(refused("0 3 * * *", Some("")).contains("non-empty string"));
        // An old object that had a TZ may keep it, but not add timeZone too.
        let old = cron_job("TZ=UTC 0 3 * * *", None);
        assert!(object_update(resources::CRONJOBS, &old, &old).is_ok());
        let both = cron_job("TZ=UTC 0 3 * * *", Some("UTC"));
        let e = object_update(resources::CRONJOBS, &old, &both).unwrap_err();
        assert!(
            e.to_string().contains("cannot use both timeZone field"),
            "{e}"
        );
    }

    #[test]
    fn labels_and_annotations_follow_the_apimachinery_rules() {
        let ok = json!({"metadata": {"name": "x", "labels": {"app.kubernetes.io/name": "checkout", "empty": ""}}});
        assert!(object(resources::PODS, &ok).is_ok());
        for bad in [
            json!({"Bad_": "v"}),
            json!({"k": "-v"}),
            json!({"UPPER.example/x": "v"}),
            json!({"k": "x".repeat(64)}),
        ] {
            let v = json!({"metadata": {"name": "x", "labels": bad}});
            let e = object(resources::PODS, &v).unwrap_err();
            assert_eq!(e.code(), 422, "{bad}");
            assert!(e.to_string().contains("metadata.labels"), "{e}");
        }
        let big = json!({"metadata": {"name": "x", "annotations": {"a": "x".repeat(256 * 1024)}}});
        assert!(
            object(resources::PODS, &big)
                .unwrap_err()
                .to_string()
                .contains("Too long")
        );
    }

    #[test]
    fn duplicate_taints_and_container_names_are_refused() {
        let node = json!({"metadata": {"name": "n"}, "spec": {"taints": [
            {"key": "k", "effect": "NoSchedule"}, {"key": "k", "value": "v", "effect": "NoSchedule"}]}});
        let e = object(resources::NODES, &node).unwrap_err().to_string();
        assert!(e.contains("spec.taints[1]: Duplicate value"), "{e}");
        let p = pod(json!({"containers": [{"name": "a"}, {"name": "a"}]}));
        let e = object(resources::PODS, &p).unwrap_err().to_string();
        assert!(
            e.contains("spec.containers[1].name: Duplicate value: \"a\""),
            "{e}"
        );
    }

    #[test]
    fn pod_updates_may_change_images_and_add_tolerations_only() {
        let old = pod(
            json!({"containers": [{"name": "a", "image": "x", "command": ["run"]}],
            "tolerations": [{"key": "t"}]}),
        );
        let image = pod(
            json!({"containers": [{"name": "a", "image": "y", "command": ["run"]}],
            "tolerations": [{"key": "t"}, {"key": "u"}]}),
        );
        assert!(pod_update(&old, &image).is_ok());
        let command = pod(
            json!({"containers": [{"name": "a", "image": "x", "command": ["other"]}],
            "tolerations": [{"key": "t"}]}),
        );
        let e = pod_update(&old, &command).unwrap_err().to_string();
        assert!(
            e.contains("spec: Forbidden: pod updates may not change fields"),
            "{e}"
        );
        assert!(e.contains("spec.containers[0].command"), "{e}");
        let dropped = pod(json!({"containers": [{"name": "a", "image": "x", "command": ["run"]}]}));
        assert!(
            pod_update(&old, &dropped)
                .unwrap_err()
                .to_string()
                .contains("spec.tolerations")
        );
    }
}
