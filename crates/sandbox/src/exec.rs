//! `GET .../pods/NAME/exec` over WebSocket: the command runs in the
//! container runtime model as a short-lived process beside the container's
//! own (it joins their pid and network namespaces), and its output, then
//! its exit status, go back on the stream protocol's channels.
//!
//! Wire protocol (kubernetes
//! `staging/src/k8s.io/apimachinery/pkg/util/remotecommand/constants.go`,
//! `staging/src/k8s.io/client-go/tools/remotecommand/websocket.go` and
//! kubelet's `pkg/kubelet/cri/streaming/remotecommand/websocket.go`):
//! subprotocol `v5.channel.k8s.io` (kubectl since 1.30) or
//! `v4.channel.k8s.io` (the Python client's `stream`); every binary
//! message starts with a channel byte: 0 stdin, 1 stdout, 2 stderr,
//! 3 error (a JSON `Status`), 4 resize; v5 adds 255, a client's
//! close-stream signal. SPDY (POST) is not served: clients fall back from
//! WebSocket to SPDY only when the upgrade fails, and gameday's tools do
//! not need it.

use std::time::{Duration, Instant};

use axum::extract::ws::{
    CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code,
    rejection::WebSocketUpgradeRejection,
};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::api::AppState;
use super::error::ApiError;
use super::logs::container_key;
use super::meta;
use super::resources;
use super::runtime::{Runtime, Side};

/// The subprotocols served, preferred first (constants.go
/// `StreamProtocolV5Name`, `StreamProtocolV4Name`).
pub const PROTOCOLS: [&str; 2] = ["v5.channel.k8s.io", "v4.channel.k8s.io"];

const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const ERROR: u8 = 3;

/// How often a blocked process is looked at again when nothing of its own
/// is due (another container's signal may end it).
const POLL: Duration = Duration::from_millis(100);

/// How long the stream stays quiet after the upgrade. client-go starts
/// reading the socket before it has created its stream readers and drops
/// a message for a stream it does not know yet (`readDemuxLoop` in
/// client-go tools/remotecommand/websocket.go: "Unknown stream id %d,
/// discarding message"); a real exec takes milliseconds to start in the
/// runtime, the model none, so an instant failure's status was lost now
/// and then ("Error from server: " with no message).
const SETTLE: Duration = Duration::from_millis(100);

/// The exec options from the query (`PodExecOptions`).
#[derive(Debug, Default, PartialEq)]
struct Options {
    command: Vec<String>,
    container: Option<String>,
    stdin: bool,
    stdout: bool,
    stderr: bool,
}

fn options(pairs: &[(String, String)]) -> Result<Options, ApiError> {
    let mut o = Options::default();
    let flag = |v: &str| matches!(v, "true" | "1" | "True");
    for (k, v) in pairs {
        match k.as_str() {
            "command" => o.command.push(v.clone()),
            "container" => o.container = Some(v.clone()),
            "stdin" => o.stdin = flag(v),
            "stdout" => o.stdout = flag(v),
            "stderr" => o.stderr = flag(v),
            _ => {}
        }
    }
    // kubelet (pkg/kubelet/cri/streaming/remotecommand/httpstream.go
    // NewOptions): one stream at least.
    if !(o.stdin || o.stdout || o.stderr) {
        return Err(ApiError::BadRequest(
            "you must specify at least 1 of stdin, stdout, stderr".into(),
        ));
    }
    Ok(o)
}

/// How an exec ended: the process's exit code, or why it never started
/// (the runtime's words, which kubectl shows).
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Exited(i32),
    NotStarted(String),
}

/// The kubelet's final status on channel 3 (kubelet
/// `pkg/kubelet/cri/streaming/remotecommand/exec.go` ServeExec): Success;
/// NonZeroExitCode with the code as an
/// `ExitCode` cause, which kubectl turns into its own exit code; or an
/// internal error for a process that could not start.
fn status(argv: &[String], outcome: &Outcome) -> Value {
    match outcome {
        Outcome::Exited(0) => json!({"metadata": {}, "status": "Success"}),
        Outcome::Exited(code) => json!({
            "metadata": {},
            "status": "Failure",
            "message": format!(
                "command terminated with non-zero exit code: error executing command [{}], exit code {code}",
                argv.join(" ")
            ),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
        }),
        Outcome::NotStarted(e) => json!({
            "metadata": {},
            "status": "Failure",
            "message": format!(
                "Internal error occurred: error executing command in container: failed to exec in container: OCI runtime exec failed: exec failed: unable to start container process: {e}: unknown"
            ),
            "reason": "InternalError",
            "details": {"causes": [{"message": format!(
                "error executing command in container: failed to exec in container: OCI runtime exec failed: exec failed: unable to start container process: {e}: unknown"
            )}]},
            "code": 500,
        }),
    }
}

/// The container's name in a runtime key (`c/NAME`, `e/NAME`).
fn container_name(key: &str) -> &str {
    key.split_once('/').map_or(key, |(_, n)| n)
}

fn frame(channel: u8, data: &[u8]) -> Message {
    let mut v = Vec::with_capacity(data.len() + 1);
    v.push(channel);
    v.extend_from_slice(data);
    Message::Binary(v.into())
}

/// Serves `pods/exec`. The pod and container are checked before the
/// upgrade, as the apiserver does (`ExecLocation` in
/// pkg/registry/core/pod/strategy.go) and then the kubelet (a container
/// that is not running is "container not found").
pub async fn serve(
    State(st): State<std::sync::Arc<AppState>>,
    Path((ns, name)): Path<(String, String)>,
    Query(pairs): Query<Vec<(String, String)>>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    match prepare(&st, &ns, &name, &pairs, ws) {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

fn prepare(
    st: &std::sync::Arc<AppState>,
    ns: &str,
    name: &str,
    pairs: &[(String, String)],
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let obj = st.store.get(resources::PODS, ns, name)?;
    let pod = obj.value();
    let opts = options(pairs)?;
    let key = container_key(pod, name, opts.container.as_deref())?;
    let container = container_name(&key).to_string();
    if meta::str_at(pod, &["spec", "nodeName"]).is_none_or(str::is_empty) {
        return Err(ApiError::BadRequest(format!(
            "pod {name} does not have a host assigned"
        )));
    }
    let uid = meta::uid(pod).to_string();
    let running = st.runtime.with_pod(&uid, |p| {
        p.procs.get(&key).is_some_and(|p| p.exec.running())
    });
    // The upgrade-aware proxy answers a plain request before dialling the
    // kubelet (apimachinery pkg/util/proxy/upgradeaware.go).
    let ws = ws.map_err(|_| ApiError::BadRequest("Upgrade request required".into()))?;
    if !running {
        // kubelet's streaming server, relayed by the apiserver.
        return Err(ApiError::BadRequest(format!(
            "unable to upgrade connection: container not found (\"{container}\")"
        )));
    }
    let ws = ws.protocols(PROTOCOLS);
    if ws.selected_protocol().is_none() {
        return Err(ApiError::BadRequest(format!(
            "unable to upgrade connection: none of the requested subprotocols is supported; supported: {}",
            PROTOCOLS.join(", ")
        )));
    }
    let runtime = st.runtime.clone();
    Ok(ws.on_upgrade(move |socket| async move {
        run(socket, runtime, uid, key, opts).await;
    }))
}

/// Runs the command and streams what it prints until it exits or the
/// client goes away; stdin is read and dropped (the model's commands read
/// nothing).
async fn run(
    mut socket: WebSocket,
    runtime: std::sync::Arc<Runtime>,
    uid: String,
    key: String,
    opts: Options,
) {
    tokio::time::sleep(SETTLE).await;
    let started = runtime.with_pod(&uid, |p| p.exec_in(&key, &opts.command, Instant::now()));
    let mut side: Side = match started {
        Some(Ok(side)) => side,
        Some(Err(e)) => {
            finish(
                &mut socket,
                &opts.command,
                &Outcome::NotStarted(e.to_string()),
            )
            .await;
            return;
        }
        None => {
            let e = format!("container not found (\"{}\")", container_name(&key));
            finish(&mut socket, &opts.command, &Outcome::NotStarted(e)).await;
            return;
        }
    };
    let mut sent = 0;
    loop {
        let now = Instant::now();
        runtime.with_pod(&uid, |p| p.advance_side(&mut side, now));
        let fresh: Vec<String> = side.exec.output[sent..]
            .iter()
            .map(|l| l.text.clone())
            .collect();
        sent = side.exec.output.len();
        // The model keeps one stream per process (stdout and stderr
        // interleaved, as a terminal shows them): it goes out on stdout,
        // or on stderr when that is the only one asked for.
        let channel = if opts.stdout { STDOUT } else { STDERR };
        if (opts.stdout || opts.stderr) && !fresh.is_empty() {
            let mut text = fresh.join("\n");
            text.push('\n');
            if socket.send(frame(channel, text.as_bytes())).await.is_err() {
                return;
            }
        }
        if let Some(code) = side.exec.exit {
            // What it did to the pod (a process killed, a qdisc added) is
            // the kubelet's to report now, not at some later sync.
            runtime.touch(&uid);
            finish(&mut socket, &opts.command, &Outcome::Exited(code)).await;
            return;
        }
        let wait = side
            .exec
            .next_event()
            .map_or(POLL, |t| t.saturating_duration_since(now).min(POLL));
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            msg = socket.recv() => match msg {
                // stdin, resize and v5's close-stream: nothing to feed.
                Some(Ok(Message::Binary(_) | Message::Text(_) | Message::Ping(_) | Message::Pong(_))) => {}
                // The client went away: the exec'd process dies with its
                // stream, as with the kubelet.
                _ => return,
            },
        }
    }
}

async fn finish(socket: &mut WebSocket, argv: &[String], outcome: &Outcome) {
    let body = serde_json::to_vec(&status(argv, outcome)).unwrap_or_default();
    // A client that left cannot be told; nothing else to do.
    let _ = socket.send(frame(ERROR, &body)).await;
    // A normal closure (1000) is the end of every stream for client-go;
    // a close without a code (1005) is an error to it.
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: close_code::NORMAL,
            reason: "".into(),
        })))
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn options_collect_the_repeated_command() {
        let o = options(&pairs(&[
            ("command", "sh"),
            ("command", "-c"),
            ("command", "echo hi"),
            ("stdout", "true"),
            ("container", "app"),
        ]))
        .unwrap();
        assert_eq!(o.command, ["sh", "-c", "echo hi"]);
        assert_eq!(o.container.as_deref(), Some("app"));
        assert!(o.stdout && !o.stdin);
        assert!(options(&pairs(&[("command", "ls")])).is_err());
    }

    #[test]
    fn the_status_carries_the_exit_code() {
        let argv = vec!["sh".to_string()];
        assert_eq!(status(&argv, &Outcome::Exited(0))["status"], "Success");
        let s = status(&argv, &Outcome::Exited(3));
        assert_eq!(s["reason"], "NonZeroExitCode");
        assert_eq!(
            s["details"]["causes"][0],
            json!({"reason": "ExitCode", "message": "3"})
        );
        let s = status(
            &argv,
            &Outcome::NotStarted("exec: \"x\": executable file not found in $PATH".into()),
        );
        assert_eq!(s["code"], 500);
        assert!(
            s["message"]
                .as_str()
                .unwrap_or("")
                .contains("executable file not found")
        );
    }
}
