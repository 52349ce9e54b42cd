//! `gameday init NAME --fault TYPE`: a commented starter scenario for one
//! fault type. Every generated file validates, so a new user starts from
//! something that works and edits it, instead of from an empty page.

use std::io::Write;
use std::path::PathBuf;

use super::exit;
use crate::config::Config;
use crate::scenario::{self, FaultType, TargetKind};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario name (DNS-1123 label: lowercase letters, digits and '-').
    pub name: String,
    /// The fault to start with.
    #[arg(long, value_parser = FaultTypeParser, value_name = "TYPE")]
    pub fault: FaultType,
    /// Write to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
}

fn parse_fault(s: &str) -> Result<FaultType, String> {
    FaultType::ALL
        .into_iter()
        .find(|t| t.as_str() == s)
        .ok_or_else(|| {
            let names: Vec<&str> = FaultType::ALL.iter().map(|t| t.as_str()).collect();
            match crate::yaml::did_you_mean(s, names.iter().copied()) {
                Some(m) => format!("unknown fault type `{s}`; did you mean `{m}`?"),
                None => format!("unknown fault type `{s}`; one of: {}", names.join(", ")),
            }
        })
}

/// `--fault`'s parser: [`parse_fault`] (with its did-you-mean) for the
/// value, and the fault types as clap's possible values, so `gameday
/// completions` offers them after `--fault` instead of file names.
#[derive(Debug, Clone, Copy)]
struct FaultTypeParser;

impl clap::builder::TypedValueParser for FaultTypeParser {
    type Value = FaultType;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<FaultType, clap::Error> {
        use clap::error::ErrorKind;
        let text = value
            .to_str()
            .ok_or_else(|| clap::Error::new(ErrorKind::InvalidUtf8).with_cmd(cmd))?;
        parse_fault(text).map_err(|m| clap::Error::raw(ErrorKind::InvalidValue, m).with_cmd(cmd))
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        let names = FaultType::ALL.into_iter().map(|t| t.as_str().into());
        Some(Box::new(names))
    }
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    if !scenario::validate::is_dns_label(&args.name) {
        crate::errln!(
            "error: `{}` is not a valid scenario name: use lowercase letters, digits and '-', at most 63 characters",
            args.name
        );
        return Ok(exit::USAGE);
    }
    let text = starter(&args.name, args.fault);
    // The promise of this command is a file that validates; check it.
    if let Err(diags) = scenario::load_str(&args.name, &text, &Config::default()) {
        anyhow::bail!(
            "internal error: the starter scenario does not validate:\n{}",
            crate::diag::render_all(&diags, false)
        );
    }
    match &args.output {
        None => {
            std::io::stdout().write_all(text.as_bytes())?;
        }
        Some(path) => {
            if path.exists() && !args.force {
                crate::errln!(
                    "error: {} already exists; pass --force to overwrite it",
                    path.display()
                );
                return Ok(exit::USAGE);
            }
            std::fs::write(path, &text)?;
            crate::errln!(
                "wrote {}; check it with `gameday validate {}`",
                path.display(),
                path.display()
            );
        }
    }
    Ok(exit::OK)
}

/// The starter scenario text for a fault type.
pub fn starter(name: &str, fault: FaultType) -> String {
    let ty = fault.as_str();
    let fault_name = format!("{}-1", kebab(ty));
    let (hypothesis, duration) = match fault {
        FaultType::PodKill | FaultType::PodEvict => (
            "Checkout keeps 95% success while a pod is replaced, and is back above 99% within 2m.",
            None,
        ),
        FaultType::Scale | FaultType::BadRollout => (
            "Checkout keeps serving while its deployment is degraded, and recovers within 2m of the revert.",
            Some("2m"),
        ),
        FaultType::NodeCordon | FaultType::NodeDrain | FaultType::NodeTaint => (
            "Losing one node's capacity does not bring checkout below 95% success.",
            Some("2m"),
        ),
        _ => (
            "Checkout keeps 95% success while the fault holds, and is back above 99% within 2m.",
            Some("60s"),
        ),
    };
    let duration = match duration {
        Some(d) => format!(
            "      duration: {d}            # how long the fault holds before it is reverted\n"
        ),
        None => format!("      # no `duration`: {ty} is instantaneous\n"),
    };
    let selector = match fault.target_kind() {
        TargetKind::Pods => {
            "      selector:                 # which pods\n        namespace: shop         # must be listed in target.namespaces\n        labels: {app: checkout}\n"
        }
        TargetKind::Workload => {
            "      selector:                 # which workload\n        namespace: shop         # must be listed in target.namespaces\n        kind: Deployment        # Deployment | StatefulSet\n        name: checkout\n"
        }
        TargetKind::Nodes => {
            "      selector:                 # which nodes (node faults take no namespace)\n        nodeLabels: {pool: blue}\n"
        }
    };
    let params = match fault {
        FaultType::PodKill => {
            "      params:\n        gracePeriod: 0s         # 0s kills at once, like a crash\n"
        }
        FaultType::PodEvict => {
            "      # podEvict takes no params; evictions respect PodDisruptionBudgets\n"
        }
        FaultType::PodFailure => {
            "      # params:\n      #   image: registry.k8s.io/pause:3.9   # the image that replaces the containers'\n"
        }
        FaultType::Scale => {
            "      params:\n        replicas: 1             # absolute; or `by: -2` for a relative change\n"
        }
        FaultType::NetworkPartition => {
            "      params:\n        direction: both         # ingress | egress | both\n"
        }
        FaultType::DnsBlock => "      # dnsBlock takes no params: it denies egress to port 53\n",
        FaultType::NodeCordon => {
            "      # nodeCordon takes no params: it marks the nodes unschedulable\n"
        }
        FaultType::NodeDrain => {
            "      params:\n        gracePeriod: 30s        # grace period of each eviction\n"
        }
        FaultType::NodeTaint => {
            "      params:\n        taint: {key: gameday, value: drill, effect: NoSchedule}\n"
        }
        FaultType::BadRollout => {
            "      params:\n        image: registry.invalid/does-not-exist:0   # an image that cannot be pulled\n"
        }
        FaultType::CpuStress => {
            "      params:\n        workers: 2              # busy CPU workers in the ephemeral container\n        # stressImage: ...      # image with stress-ng, if the default is not reachable\n"
        }
        FaultType::MemoryStress => {
            "      params:\n        memory: 256Mi           # memory to allocate and hold\n        # stressImage: ...\n"
        }
        FaultType::NetworkDelay => {
            "      params:\n        latency: 200ms          # added to every packet\n        jitter: 20ms\n        # stressImage: ...\n"
        }
        FaultType::PacketLoss => {
            "      params:\n        loss: 10                # percent of packets dropped\n        # stressImage: ...\n"
        }
    };
    let mode = match fault.target_kind() {
        TargetKind::Pods => {
            "      mode: {percent: 25}       # all | {count: N} | {percent: P} | {randomMaxPercent: P}\n      seed: 42                  # makes the random choice of targets reproducible\n"
        }
        _ => {
            "      mode: {count: 1}          # all | {count: N} | {percent: P} | {randomMaxPercent: P}\n"
        }
    };
    format!(
        r#"# {name}: a gameday scenario (format v1), started with `gameday init --fault {ty}`.
# Every field is explained in docs/scenario.md. Check your edits with
# `gameday validate <this file>`; `gameday schema` gives editors completion.
apiVersion: gameday/v1
kind: Scenario
metadata:
  name: {name}
  labels: {{team: my-team}}        # optional, free-form
spec:
  description: Starter drill for a {ty} fault against the checkout service.
  # The claim this run tests. It holds when every probe's `expect` is met
  # before the faults and again within `recoverWithin` after them.
  hypothesis: {hypothesis}

  target:
    contexts: ["gameday-sandbox", "staging-*"]   # kube contexts allowed (globs)
    namespaces: [shop]                           # the only namespaces faults may touch

  blastRadius:
    maxTargets: 2             # most objects one fault may touch
    maxPercent: 50            # most of one workload's pods one fault may touch
    maxDuration: 10m          # the whole run, recovery included, must fit
    allowFullOutage: false    # true is needed to touch 100% of a workload

  steadyState:
    interval: 5s              # how often probes run while faults are active
    recoverWithin: 2m         # after the last revert, every `expect` must hold again within this
    probes:
      - name: checkout-success
        prometheus:
          query: |
            sum(rate(http_requests_total{{namespace="shop",service="checkout",code!~"5.."}}[1m]))
              / sum(rate(http_requests_total{{namespace="shop",service="checkout"}}[1m]))
        expect: ">= 0.99"     # before the faults and after them
        during: ">= 0.95"     # guardrail while faults are active: a breach aborts the run
      - name: checkout-available
        kubernetes: {{kind: Deployment, namespace: shop, name: checkout, field: availableReplicas}}
        expect: ">= 1"

  faults:
    - name: {fault_name}
      type: {ty}
      at: 0s                    # offset from the start of the fault phase
{duration}{selector}{mode}{params}
  # Optional: the alerts that must fire, and how fast.
  detection:
    alerts:
      - name: CheckoutHighErrorRate
        labels: {{service: checkout}}
        within: 2m
    noise: warn               # warn | fail | ignore: other alerts firing during the run

  # Optional: the human side of the drill (roles, runbook, scripted responders).
  response:
    severity: SEV3            # a level from the config's severity table
    roles:
      incidentCommander: ic-oncall
      operations: ops-oncall
    runbook:
      steps:
        - id: ack
          title: Acknowledge the page
        - id: mitigate
          title: Find the failing dependency and mitigate
          critical: true
          within: 10m
    # autopilot:               # scripted responders for CI and demos
    #   - at: 20s
    #     as: ops-oncall
    #     do: ack
"#
    )
}

fn kebab(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            out.push('-');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_type_gets_a_starter_that_validates() {
        for ty in FaultType::ALL {
            let text = starter("my-drill", ty);
            let parsed = scenario::load_str("starter.yaml", &text, &Config::default())
                .unwrap_or_else(|d| panic!("{ty}:\n{}", crate::diag::render_all(&d, false)));
            assert_eq!(parsed.len(), 1);
            assert_eq!(parsed[0].spec.faults[0].kind, ty);
            assert_eq!(parsed[0].metadata.name, "my-drill");
        }
    }
}
