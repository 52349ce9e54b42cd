//! gameday's Alertmanager route walk (`readiness::routing`) against the real
//! thing: `amtool check-config` accepts the configs, and for every label set
//! `amtool config routes test` prints the same receivers, in the same order,
//! as `Routing::receivers_for`.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use gameday::readiness::routing::Routing;

/// A second config with what the example does not use: nested `continue`,
/// `!~`, receivers inherited two levels down, a quoted comma, and `match`
/// mixed with `matchers` on one route.
const TRICKY: &str = r#"route:
  receiver: root
  routes:
    - matchers: ['team=~"a|b"']
      continue: true
      routes:
        - matchers: ['env!~"dev|test"']
          routes:
            - matchers: ['severity="critical"']
              receiver: a-pager
        - matchers: ['note="x, y"']
          receiver: noted
    - match: {team: a}
      matchers: ['env="prod"']
      receiver: a-prod
      continue: true
    - match_re: {team: 'a.*'}
      receiver: a-any
receivers:
  - name: root
  - name: a-pager
    pagerduty_configs: [{routing_key: k}]
  - name: noted
  - name: a-prod
  - name: a-any
"#;

fn amtool() -> PathBuf {
    common::harness::require_binary("amtool")
}

fn check_config(path: &Path) {
    let out = Command::new(amtool())
        .args(["check-config"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "amtool check-config {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stdout)
    );
}

/// What `amtool config routes test` prints for `labels`.
fn amtool_receivers(config: &Path, labels: &[(&str, &str)]) -> Vec<String> {
    let out = Command::new(amtool())
        .args(["config", "routes", "test"])
        .arg(format!("--config.file={}", config.display()))
        .args(labels.iter().map(|(k, v)| format!("{k}={v}")))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .split(',')
        .map(str::to_string)
        .collect()
}

fn agree(config: &Path, sets: &[&[(&str, &str)]]) {
    check_config(config);
    let text = std::fs::read_to_string(config).unwrap();
    let routing = Routing::parse(&config.display().to_string(), &text).unwrap();
    for labels in sets {
        let map: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(
            routing.receivers_for(&map),
            amtool_receivers(config, labels),
            "labels {labels:?}"
        );
    }
}

#[test]
fn the_example_routes_like_amtool_says() {
    let config =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/readiness/alertmanager.yml");
    agree(
        &config,
        &[
            &[],
            &[
                ("alertname", "CheckoutHighErrorRate"),
                ("service", "checkout"),
                ("severity", "critical"),
            ],
            &[("service", "checkout"), ("severity", "critical")],
            &[
                ("alertname", "CheckoutHighLatency"),
                ("service", "checkout"),
                ("severity", "warning"),
            ],
            &[
                ("alertname", "PaymentsDown"),
                ("service", "payments"),
                ("severity", "critical"),
            ],
            &[
                ("alertname", "InventoryErrors"),
                ("service", "inventory"),
                ("severity", "critical"),
            ],
            &[
                ("service", "inventory"),
                ("severity", "critical"),
                ("env", "staging"),
            ],
            &[
                ("alertname", "SearchSlow"),
                ("service", "search"),
                ("severity", "page"),
            ],
            &[
                ("alertname", "LedgerDiskFilling"),
                ("service", "ledger"),
                ("severity", "page"),
            ],
            &[("alertname", "NodeClockSkew"), ("severity", "warning")],
            &[("service", "checkout-canary"), ("severity", "critical")],
        ],
    );
}

#[test]
fn nested_continue_and_negative_regexes_route_like_amtool_says() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("alertmanager.yml");
    std::fs::write(&config, TRICKY).unwrap();
    agree(
        &config,
        &[
            &[("team", "a"), ("severity", "critical")],
            &[("team", "a"), ("severity", "critical"), ("env", "dev")],
            &[("team", "a"), ("env", "prod")],
            &[("team", "a"), ("env", "prod"), ("severity", "critical")],
            &[("team", "b"), ("note", "x, y"), ("env", "test")],
            &[("team", "ab")],
            &[("team", "c")],
            &[("team", "b"), ("severity", "critical")],
        ],
    );
}
