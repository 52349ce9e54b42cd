//! `GET .../pods/NAME/log`: what a container's processes printed, from the
//! container runtime model. `container` (required when the pod has several
//! containers), `tailLines`, `sinceSeconds` and `previous` are honoured as
//! the kubelet does, and `timestamps` prefixes each line with when it was
//! printed (RFC 3339 with nanoseconds, as the kubelet's CRI log reader
//! does). `follow` keeps the response open and sends each line as the
//! container prints it, ending when the container exits or its pod goes,
//! which is when `kubectl logs -f` returns on a real node.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::body::{Body, Bytes};
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
) -> Vec<&Line> {
    let recent: Vec<&Line> = lines
        .iter()
        .filter(|l| since.is_none_or(|s| now.saturating_duration_since(l.at) <= s))
        .collect();
    let skip = tail.map_or(0, |t| {
        recent
            .len()
            .saturating_sub(usize::try_from(t).unwrap_or(usize::MAX))
    });
    recent[skip..].to_vec()
}

/// How often a follower looks for new lines: the model prints when the
/// kubelet syncs, so a shorter wait would find nothing more.
const FOLLOW_POLL: Duration = Duration::from_millis(100);

/// Serves the log of a container of `pod`.
pub fn serve(
    runtime: &Arc<Runtime>,
    pod: &Value,
    q: &HashMap<String, String>,
) -> Result<Response, ApiError> {
    let name = meta::name(pod);
    let key = container_key(pod, name, q.get("container").map(String::as_str))?;
    let container = key.split_once('/').map_or(key.as_str(), |(_, n)| n);
    let since = number(q, "sinceSeconds")?.map(Duration::from_secs);
    let tail = number(q, "tailLines")?;
    let stamped = flag(q, "timestamps");
    let headers = [(header::CONTENT_TYPE, "text/plain")];
    if flag(q, "previous") {
        // The instance before the last restart: terminated, so even with
        // `follow` the log is complete (the kubelet ends the stream too).
        let Some(lines) = runtime.previous_output(meta::uid(pod), &key) else {
            return Err(ApiError::BadRequest(format!(
                "previous terminated container \"{container}\" in pod \"{name}\" not found"
            )));
        };
        let body = render(&select(&lines, since, tail, Instant::now()), stamped);
        return Ok((StatusCode::OK, headers, body).into_response());
    }
    let Some(lines) = runtime.output(meta::uid(pod), &key) else {
        return Err(ApiError::BadRequest(format!(
            "container \"{container}\" in pod \"{name}\" is waiting to start: ContainerCreating"
        )));
    };
    let body = render(&select(&lines, since, tail, Instant::now()), stamped);
    if !flag(q, "follow") {
        return Ok((StatusCode::OK, headers, body).into_response());
    }
    let follower = Follower {
        runtime: Arc::clone(runtime),
        uid: meta::uid(pod).to_string(),
        key,
        seen: lines.len(),
        stamped,
        first: Some(body),
    };
    let stream = futures::stream::unfold(follower, |mut f| async move {
        f.next().await.map(|b| (Ok::<Bytes, Infallible>(b), f))
    });
    Ok((StatusCode::OK, headers, Body::from_stream(stream)).into_response())
}

fn flag(q: &HashMap<String, String>, key: &str) -> bool {
    q.get(key).map(String::as_str) == Some("true")
}

/// Lines as the kubelet sends them, each ended by a newline.
fn render(lines: &[&Line], stamped: bool) -> String {
    let mut out = String::new();
    for l in lines {
        if stamped {
            out.push_str(&timestamp(l.at));
            out.push(' ');
        }
        out.push_str(&l.text);
        out.push('\n');
    }
    out
}

/// When a line was printed, as the CRI log format's RFC3339Nano.
fn timestamp(at: Instant) -> String {
    let wall = SystemTime::now() - Instant::now().saturating_duration_since(at);
    jiff::Timestamp::try_from(wall)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S.%fZ").to_string())
        .unwrap_or_default()
}

/// A `follow=true` response: what was there, then what comes.
struct Follower {
    runtime: Arc<Runtime>,
    uid: String,
    key: String,
    seen: usize,
    stamped: bool,
    first: Option<String>,
}

impl Follower {
    /// The next chunk; `None` once the container exited (after its last
    /// lines) or the runtime forgot the pod (deleted).
    async fn next(&mut self) -> Option<Bytes> {
        if let Some(first) = self.first.take().filter(|b| !b.is_empty()) {
            return Some(Bytes::from(first));
        }
        loop {
            let (new, exited) = self.runtime.output_from(&self.uid, &self.key, self.seen)?;
            if !new.is_empty() {
                self.seen += new.len();
                let refs: Vec<&Line> = new.iter().collect();
                return Some(Bytes::from(render(&refs, self.stamped)));
            }
            if exited {
                return None;
            }
            tokio::time::sleep(FOLLOW_POLL).await;
        }
    }
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
        let select = |since, tail| -> Vec<String> {
            select(&lines, since, tail, now)
                .iter()
                .map(|l| l.text.clone())
                .collect()
        };
        assert_eq!(select(None, None), ["a", "b", "c", "d"]);
        assert_eq!(select(None, Some(2)), ["c", "d"]);
        assert_eq!(select(Some(Duration::from_secs(10)), None), ["c", "d"]);
        assert_eq!(select(Some(Duration::from_secs(10)), Some(1)), ["d"]);
        assert!(select(None, Some(0)).is_empty());
    }

    #[test]
    fn timestamps_prefix_each_line_in_rfc3339_nano() {
        let line = Line {
            at: Instant::now(),
            text: "ready".into(),
        };
        let out = render(&[&line], true);
        let (stamp, rest) = out.split_once(' ').expect("a stamp, then the line");
        assert_eq!(rest, "ready\n");
        let parsed: jiff::Timestamp = stamp.parse().expect(stamp);
        let age = jiff::Timestamp::now().duration_since(parsed);
        assert!(age.as_secs_f64().abs() < 5.0, "{stamp}");
        assert!(stamp.ends_with('Z') && stamp.contains('.'), "{stamp}");
        assert_eq!(render(&[&line], false), "ready\n");
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
