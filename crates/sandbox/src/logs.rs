//! `GET .../pods/NAME/log`: what a container's processes printed, from the
//! container runtime model. `container` (required when the pod has several
//! containers), `tailLines`, `sinceSeconds` and `previous` are honoured as
//! the kubelet does; `follow` returns what there is now and ends (the
//! model prints only when the kubelet syncs).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::error::ApiError;
use super::meta;
use super::runtime::{Line, Runtime};

/// The container `container` names (or the only one), as the runtime keys
/// it: `c/NAME` for the pod's own, `e/NAME` for an ephemeral one.
pub(super) fn container_key(
    pod: &Value,
    name: &str,
    container: Option<&str>,
) -> Result<String, ApiError> {
    let names = |list: &str| -> Vec<String> {
        meta::at(pod, &["spec", list])
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|c| c["name"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let regular = names("containers");
    let ephemeral = names("ephemeralContainers");
    let Some(c) = container else {
        // apiserver (pkg/registry/core/pod/strategy.go LogLocation): the
        // only container is the default; otherwise one must be named.
        return match regular.as_slice() {
            [only] => Ok(format!("c/{only}")),
            _ => Err(ApiError::BadRequest(format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                regular.join(" ")
            ))),
        };
    };
    if regular.iter().any(|n| n == c) {
        Ok(format!("c/{c}"))
    } else if ephemeral.iter().any(|n| n == c) {
        Ok(format!("e/{c}"))
    } else {
        Err(ApiError::BadRequest(format!(
            "container {c} is not valid for pod {name}"
        )))
    }
}

fn number(q: &HashMap<String, String>, key: &str) -> Result<Option<u64>, ApiError> {
    q.get(key)
        .map(|v| {
            v.parse::<u64>().map_err(|_| {
                ApiError::BadRequest(format!("{key}: Invalid value: \"{v}\": must be a number"))
            })
        })
        .transpose()
}

/// The lines a request selects, oldest first.
pub fn select(
    lines: &[Line],
    since: Option<Duration>,
    tail: Option<u64>,
    now: Instant,
) -> Vec<&str> {
    let recent: Vec<&str> = lines
        .iter()
        .filter(|l| since.is_none_or(|s| now.saturating_duration_since(l.at) <= s))
        .map(|l| l.text.as_str())
        .collect();
    let skip = tail.map_or(0, |t| {
        recent
            .len()
            .saturating_sub(usize::try_from(t).unwrap_or(usize::MAX))
    });
    recent[skip..].to_vec()
}

/// Serves the log of a container of `pod`.
pub fn serve(
    runtime: &Runtime,
    pod: &Value,
    q: &HashMap<String, String>,
) -> Result<Response, ApiError> {
    let name = meta::name(pod);
    let key = container_key(pod, name, q.get("container").map(String::as_str))?;
    let container = key.split_once('/').map_or(key.as_str(), |(_, n)| n);
    if q.get("previous").map(String::as_str) == Some("true") {
        // A restart replaces the runtime's record: no previous instance.
        return Err(ApiError::BadRequest(format!(
            "previous terminated container \"{container}\" in pod \"{name}\" not found"
        )));
    }
    let Some(lines) = runtime.output(meta::uid(pod), &key) else {
        return Err(ApiError::BadRequest(format!(
            "container \"{container}\" in pod \"{name}\" is waiting to start: ContainerCreating"
        )));
    };
    let since = number(q, "sinceSeconds")?.map(Duration::from_secs);
    let tail = number(q, "tailLines")?;
    let mut body = select(&lines, since, tail, Instant::now()).join("\n");
    if !body.is_empty() {
        body.push('\n');
    }
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], body).into_response())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tail_and_since_select_lines() {
        let now = Instant::now();
        let at = |ago: u64| now.checked_sub(Duration::from_secs(ago)).unwrap_or(now);
        let lines: Vec<Line> = [(30, "a"), (20, "b"), (5, "c"), (1, "d")]
            .iter()
            .map(|(ago, t)| Line {
                at: at(*ago),
                text: t.to_string(),
            })
            .collect();
        assert_eq!(select(&lines, None, None, now), ["a", "b", "c", "d"]);
        assert_eq!(select(&lines, None, Some(2), now), ["c", "d"]);
        assert_eq!(
            select(&lines, Some(Duration::from_secs(10)), None, now),
            ["c", "d"]
        );
        assert_eq!(
            select(&lines, Some(Duration::from_secs(10)), Some(1), now),
            ["d"]
        );
        assert!(select(&lines, None, Some(0), now).is_empty());
    }

    #[test]
    fn the_container_is_named_or_the_only_one() {
        let pod = json!({"spec": {"containers": [{"name": "app"}], "ephemeralContainers": [{"name": "dbg"}]}});
        assert_eq!(container_key(&pod, "p", None).unwrap(), "c/app");
        assert_eq!(container_key(&pod, "p", Some("dbg")).unwrap(), "e/dbg");
        assert!(container_key(&pod, "p", Some("x")).is_err());
        let two = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
        assert!(
            container_key(&two, "p", None)
                .unwrap_err()
                .to_string()
                .contains("choose one of: [a b]")
        );
    }
}
