//! Observation: everything gameday reads to know how the system is doing.
//!
//! The engine never talks to Prometheus, Alertmanager or the probed services
//! itself; it asks this module for [`Reading`]s and verdicts. Keeping the
//! reading side in one place is what lets S4 (an unreadable probe is a breach)
//! be enforced once, rather than at every call site.
//!
//! - [`connection`]: HTTP clients for Prometheus and Alertmanager (auth, TLS, headers);
//! - [`probe`]: one probe → one [`Reading`], with a timeout and a bounded retry;
//! - [`prometheus`], [`kubernetes`], [`http`]: the three probe sources;
//! - [`steady`]: the before / during / after phases, T_impact and T_mitigate;
//! - (`engine::gates` plugs the steady state into the run engine's three gates:
//!   observation sits below the engine and does not know its gates);
//! - [`preflight`]: reachability checks before anything is injected;
//! - [`alerts`]: detection inputs from Prometheus and Alertmanager.
//!
//! How the engine drives a run (all calls async):
//!
//! ```text
//! let conns = Endpoints::resolve(&args.endpoints, &config)?;          // bad URL/secret/CA: usage error
//! let observer = ProbeReader::new()?.with_kube(kube).with_prometheus(conns.prometheus?);
//! let pre = preflight::run(Needs::of(&scenario), targets, 5s).await; // !pre.ok() → exit 4
//! let mut steady = SteadyMonitor::from_spec(observer, &scenario.spec.steady_state);
//! let before = steady.check_before().await;                           // !all_hold → not-run, exit 1
//! loop while faults are active {
//!     let verdict = steady.guard_tick().await;                        // paced: one query per probe per interval
//!     journal(verdict.readings);
//!     if verdict.should_abort() { revert everything; exit 3 }
//! }
//! let recovery = steady.await_recovery_with(recover_within, reverted_at, journal).await;
//! // recovery.t_mitigate, steady.t_impact() → TTM; !recovery.recovered() → exit 1 with `recovery` as the message
//! ```

pub mod alerts;
pub mod connection;
pub mod http;
pub mod kubernetes;
pub mod preflight;
pub mod probe;
pub mod prometheus;
pub mod steady;

pub use connection::{AlertmanagerConn, ConnectionError, EndpointArgs, Endpoints, PrometheusConn};
pub use probe::{Phase, ProbeError, ProbeOutcome, ProbeReader, Reading, RetryPolicy};
pub use steady::{GuardVerdict, Recovery, SteadyMonitor};

/// Renders an error with its whole source chain ("error sending request: connection
/// refused"), because reqwest and hyper put the useful part (the OS error, the TLS
/// reason) several levels down and a preflight message must say exactly what failed.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let msg = s.to_string();
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        cur = s.source();
    }
    out
}
