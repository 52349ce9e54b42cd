//! `gameday demo`: a whole game day with nothing installed but gameday. The
//! shop world runs in the in-process sandbox; when Prometheus and
//! Alertmanager are on PATH they run on loopback so the SLO probes and the
//! alert are real, otherwise the drill uses kubernetes and http probes.

pub mod port;
pub mod stack;

/// The drill with Prometheus: SLO query, paging alert, autopilot responders.
pub const SCENARIO_PROMETHEUS: &str = include_str!("pod-loss-prometheus.yaml");
/// The drill without Prometheus; `@SANDBOX_HEALTHZ@` is the sandbox's kubelet
/// healthz URL (plain HTTP: the API serves TLS with the sandbox's own CA and
/// /metrics needs authorization, neither of which an http probe carries).
pub const SCENARIO_KUBERNETES: &str = include_str!("pod-loss-kubernetes.yaml");
/// The example alert rules, written out for the demo's Prometheus.
pub const RULES: &[(&str, &str)] = &[
    (
        "availability.yml",
        include_str!("../../examples/prometheus/rules/availability.yml"),
    ),
    (
        "http-slo.yml",
        include_str!("../../examples/prometheus/rules/http-slo.yml"),
    ),
];
/// The context name the sandbox's kubeconfig uses (the scenarios allow it).
pub const CONTEXT: &str = "gameday-sandbox";
