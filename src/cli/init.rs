//! `gameday init NAME --fault TYPE`: a commented starter scenario for one
//! fault type. Every generated file validates, so a new user starts from
//! something that works and edits it, instead of from an empty page.

use std::io::Write;
use std::path::PathBuf;

use super::exit;
use crate::config::Config;
use crate::faults::{FAULTS, Registry, Starter, StarterError, kind_of};
use crate::scenario::{self, FaultType, TargetKind};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario name (DNS-1123 label: lowercase letters, digits and '-').
    #[arg(required_unless_present = "drill")]
    pub name: Option<String>,
    /// The fault to start with.
    #[arg(long, value_parser = FaultTypeParser, value_name = "TYPE", required_unless_present = "drill", conflicts_with = "drill")]
    pub fault: Option<FaultType>,
    /// Write a commented starter tabletop drill (`kind: Drill`) instead.
    #[arg(long)]
    pub drill: bool,
    /// Write to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
}

/// A `--fault` that names no fault type, with the closest name if any.
#[derive(Debug, thiserror::Error)]
enum UnknownFault {
    #[error("unknown fault type `{given}`; did you mean `{close}`?")]
    Close { given: String, close: String },
    #[error("unknown fault type `{given}`; one of: {all}")]
    Far { given: String, all: String },
}

fn parse_fault(s: &str) -> Result<FaultType, UnknownFault> {
    FAULTS
        .iter()
        .find(|k| k.name() == s)
        .map(|k| k.fault_type())
        .ok_or_else(|| {
            let names: Vec<&str> = FAULTS.iter().map(|k| k.name()).collect();
            match crate::yaml::did_you_mean(s, names.iter().copied()) {
                Some(m) => UnknownFault::Close {
                    given: s.to_string(),
                    close: m.to_string(),
                },
                None => UnknownFault::Far {
                    given: s.to_string(),
                    all: names.join(", "),
                },
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
        let names = FAULTS.iter().map(|k| k.name().into());
        Some(Box::new(names))
    }
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let name = args
        .name
        .as_deref()
        .unwrap_or(super::init_drill::DEFAULT_NAME);
    if !scenario::validate::is_dns_label(name) {
        crate::errln!(
            "error: `{name}` is not a valid scenario name: use lowercase letters, digits and '-', at most 63 characters"
        );
        return Ok(exit::USAGE);
    }
    let text = match args.fault {
        _ if args.drill => super::init_drill::starter(name)?,
        Some(fault) => starter(name, fault)?,
        None => return Ok(exit::USAGE),
    };
    // The promise of this command is a file that validates; check it.
    if let (false, Err(diags)) = (
        args.drill,
        scenario::load_str(name, &text, &Config::default(), &Registry),
    ) {
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

/// The `selector:` and `mode:` lines for the fault's kind of target.
fn selector_and_mode(fault: FaultType) -> &'static str {
    match kind_of(fault).target_kind() {
        TargetKind::Pods => {
            "      selector:                 # which pods\n        namespace: shop         # must be listed in target.namespaces\n        labels: {app: checkout}\n      mode: {percent: 25}       # all | {count: N} | {percent: P} | {randomMaxPercent: P}\n      seed: 42                  # makes the random choice of targets reproducible\n"
        }
        TargetKind::Workload => {
            "      selector:                 # which workload\n        namespace: shop         # must be listed in target.namespaces\n        kind: Deployment        # Deployment | StatefulSet\n        name: checkout\n      mode: {count: 1}          # all | {count: N} | {percent: P} | {randomMaxPercent: P}\n"
        }
        TargetKind::Nodes => {
            "      selector:                 # which nodes (node faults take no namespace)\n        nodeLabels: {pool: blue}\n      mode: {count: 1}          # all | {count: N} | {percent: P} | {randomMaxPercent: P}\n      seed: 42\n"
        }
    }
}

/// The `detection:` section: the alert the fault raises on the shop world,
/// or, when it pages nobody there, how to expect one.
fn detection(alert: Option<(&str, &str)>) -> String {
    match alert {
        Some((name, labels)) => format!(
            "  # Optional: the alerts that must fire, and how fast (rules in examples/prometheus/rules).\n  detection:\n    alerts:\n      - name: {name}\n        labels: {labels}\n        within: 1m\n    noise: warn               # warn | fail | ignore: other alerts firing during the run\n"
        ),
        None => "  # Optional: the alerts that must fire, and how fast. On the shop world this\n  # fault pages nobody, so none is expected; to expect one:\n  #   alerts:\n  #     - {name: CheckoutHighErrorRate, labels: {service: checkout}, within: 1m}\n  detection:\n    noise: warn               # warn | fail | ignore: other alerts firing during the run\n".to_string(),
    }
}

/// The starter scenario text for a fault type.
pub fn starter(name: &str, fault: FaultType) -> Result<String, StarterError> {
    let ty = fault.as_str();
    let fault_name = format!("{}-1", kebab(ty));
    let p: Starter = kind_of(fault).starter()?;
    let duration = match p.duration {
        Some(d) => format!(
            "      duration: {d}           # how long the fault holds before it is reverted\n"
        ),
        None => format!("      # no `duration`: {ty} is instantaneous\n"),
    };
    let (hypothesis, during) = (p.hypothesis, p.success_during);
    let fault_lines = format!("{duration}{}{}", selector_and_mode(fault), p.params);
    let detection = detection(p.alert);
    Ok(format!(
        r#"# {name}: a gameday scenario (format v1), started with `gameday init --fault {ty}`.
# It targets the shop world that `gameday sandbox` serves, and passes there
# as generated. Every field is explained in docs/scenario.md. Check your
# edits with `gameday validate <this file>`; `gameday schema` gives editors
# completion.
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
    interval: 2s              # how often probes run while faults are active
    recoverWithin: 1m         # after the last revert, every `expect` must hold again within this
    probes:
      - name: checkout-success
        prometheus:
          query: |
            sum(rate(http_requests_total{{namespace="shop",service="checkout",code!~"5.."}}[30s]))
              / sum(rate(http_requests_total{{namespace="shop",service="checkout"}}[30s]))
        expect: ">= 0.99"     # before the faults and after them
        during: ">= {during}"     # guardrail while faults are active: a breach aborts the run
      - name: checkout-available
        kubernetes: {{kind: Deployment, namespace: shop, name: checkout, field: availableReplicas}}
        expect: ">= 4"
        during: ">= 2"

  faults:
    - name: {fault_name}
      type: {ty}
      at: 0s                    # offset from the start of the fault phase
{fault_lines}
{detection}
  # Optional: the human side of the drill. Answer the page while the run
  # holds the fault: `gameday respond ack --as ops-oncall` (which also does
  # step `ack`), `gameday respond step mitigate --as ops-oncall`,
  # `gameday respond resolve --as ic-oncall` (docs/response.md).
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
          title: Find the cause and mitigate
          critical: true
          within: 10m
    # autopilot:               # scripted responders for CI and demos
    #   - at: 10s
    #     as: ops-oncall
    #     do: ack
"#
    ))
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
        for kind in FAULTS {
            let ty = kind.fault_type();
            let text = starter("my-drill", ty).unwrap();
            let parsed = scenario::load_str("starter.yaml", &text, &Config::default(), &Registry)
                .unwrap_or_else(|d| panic!("{ty}:\n{}", crate::diag::render_all(&d, false)));
            assert_eq!(parsed.len(), 1);
            assert_eq!(parsed[0].spec.faults[0].kind, ty);
            assert_eq!(parsed[0].metadata.name, "my-drill");
        }
    }
}
