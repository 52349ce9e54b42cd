//! `gameday readiness` at the size issue 18 sets: 5,000 alert rules (50
//! files), 500 catalog services (50 teams), 1,000 scenarios (one file each)
//! and an Alertmanager config with a route per team, all generated here.
//!
//! Measures the audit in-process (load every input + run every check) and
//! end to end (the `gameday readiness -o json` binary, as CI runs it), and
//! prints the median and max of each; docs/performance.md ("Readiness")
//! records the figures. The target is under 2 s end to end.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use gameday::config::Config;
use gameday::readiness::estate::Sources;
use gameday::readiness::{Estate, Options, audit};

const RULE_FILES: usize = 50;
const RULES_PER_FILE: usize = 100;
const SERVICES: usize = 500;
const TEAMS: usize = 50;
const SCENARIOS: usize = 1_000;

fn write_rules(dir: &Path) {
    std::fs::create_dir_all(dir.join("rules")).unwrap();
    std::fs::create_dir_all(dir.join("runbooks")).unwrap();
    for f in 0..RULE_FILES {
        let mut text = String::from("groups:\n");
        for g in 0..5 {
            let _ = write!(text, "  - name: g{f}-{g}\n    rules:\n");
            for r in 0..RULES_PER_FILE / 5 {
                let i = f * RULES_PER_FILE + g * (RULES_PER_FILE / 5) + r;
                let severity = ["critical", "warning", "info", "page"][i % 4];
                let _ = write!(
                    text,
                    "      - alert: Alert{i}\n        expr: rate(errors_total{{service=\"svc{s}\"}}[5m]) > 0.05\n        for: 5m\n        labels:\n          severity: {severity}\n          service: svc{s}\n        annotations:\n          runbook_url: ../runbooks/svc{s}.md\n",
                    s = i % SERVICES
                );
            }
        }
        std::fs::write(dir.join(format!("rules/file{f}.yml")), text).unwrap();
    }
    for s in (0..SERVICES).step_by(2) {
        std::fs::write(dir.join(format!("runbooks/svc{s}.md")), "# runbook\n").unwrap();
    }
}

fn write_catalog(dir: &Path) {
    let mut text = String::new();
    for s in 0..SERVICES {
        let _ = write!(
            text,
            "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc{s}\nspec:\n  type: service\n  owner: group:team{}\n",
            s % TEAMS
        );
    }
    for t in 0..TEAMS {
        let oncall = if t % 3 == 0 {
            ""
        } else {
            "  annotations:\n    pagerduty.com/service-id: P1\n"
        };
        let _ = write!(
            text,
            "---\nkind: Group\nmetadata:\n  name: team{t}\n{oncall}spec:\n  type: team\n"
        );
    }
    std::fs::write(dir.join("catalog-info.yaml"), text).unwrap();
}

fn write_alertmanager(dir: &Path) {
    let mut text = String::from("route:\n  receiver: default\n  routes:\n");
    let mut receivers = String::from("receivers:\n  - name: default\n");
    for t in 0..TEAMS {
        let services: Vec<String> = (t..SERVICES)
            .step_by(TEAMS)
            .map(|s| format!("svc{s}"))
            .collect();
        let _ = write!(
            text,
            "    - matchers: ['service=~\"{}\"']\n      receiver: team{t}-chat\n      routes:\n        - matchers: [severity=\"critical\"]\n          receiver: team{t}-pager\n",
            services.join("|")
        );
        let pager = if t % 5 == 0 {
            ""
        } else {
            "    pagerduty_configs: [{routing_key: k}]\n"
        };
        let _ = write!(
            receivers,
            "  - name: team{t}-chat\n  - name: team{t}-pager\n{pager}"
        );
    }
    std::fs::write(dir.join("alertmanager.yml"), text + &receivers).unwrap();
}

fn write_scenarios(dir: &Path) {
    std::fs::create_dir_all(dir.join("scenarios")).unwrap();
    for i in 0..SCENARIOS {
        let s = i % SERVICES;
        let during = if i % 10 == 0 {
            ""
        } else {
            "        during: \">= 0.75\"\n"
        };
        let text = format!(
            "apiVersion: gameday/v1\nkind: Scenario\nmetadata:\n  name: scenario{i}\n  labels: {{service: svc{s}}}\nspec:\n  hypothesis: svc{s} survives losing a pod.\n  target:\n    contexts: [\"staging-*\"]\n    namespaces: [shop]\n  blastRadius:\n    maxTargets: 1\n    maxDuration: 5m\n  steadyState:\n    probes:\n      - name: success\n        prometheus:\n          query: sum(rate(http_requests_total{{service=\"svc{s}\",code!~\"5..\"}}[1m])) / sum(rate(http_requests_total{{service=\"svc{s}\"}}[1m]))\n        expect: \">= 0.99\"\n{during}  faults:\n    - name: kill\n      type: podKill\n      selector:\n        namespace: shop\n        labels: {{app: svc{s}}}\n      mode: {{count: 1}}\n  detection:\n    alerts:\n      - name: Alert{a}\n        within: 5m\n",
            a = (i * 5) % (RULE_FILES * RULES_PER_FILE)
        );
        std::fs::write(dir.join(format!("scenarios/scenario{i}.yaml")), text).unwrap();
    }
}

fn summary(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name}: median {:.0} ms, max {:.0} ms ({} samples)",
        ms(samples[samples.len() / 2]),
        ms(samples[samples.len() - 1]),
        samples.len()
    );
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let t = Instant::now();
    write_rules(d);
    write_catalog(d);
    write_alertmanager(d);
    write_scenarios(d);
    println!(
        "generated {} rules, {SERVICES} services, {SCENARIOS} scenarios in {:.2} s",
        RULE_FILES * RULES_PER_FILE,
        t.elapsed().as_secs_f64()
    );

    let sources = Sources {
        rules: vec![d.join("rules")],
        alertmanager_config: Some(d.join("alertmanager.yml")),
        catalogs: vec![d.join("catalog-info.yaml")],
        scenarios: vec![d.join("scenarios")],
        service_label: "service".into(),
        ..Sources::default()
    };
    let config = Config::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut in_process = Vec::new();
    let mut findings = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let estate = rt.block_on(Estate::load(&sources, &config)).unwrap();
        let result = audit(&estate, &Options::default());
        in_process.push(t.elapsed());
        findings = result.findings().len();
    }
    println!("{findings} findings");
    summary("load + audit (in process)", in_process);

    let step = |name: &str, f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        println!("  {name}: {:.0} ms", t.elapsed().as_secs_f64() * 1000.0);
    };
    step("rules", &mut || {
        drop(gameday::readiness::rules::load_paths(&sources.rules).unwrap())
    });
    step("catalog", &mut || {
        drop(gameday::readiness::catalog::Catalog::load(&sources.catalogs).unwrap())
    });
    step("scenarios", &mut || {
        drop(gameday::readiness::exercises::load(&sources.scenarios, "service", &config).unwrap())
    });
    let estate = rt.block_on(Estate::load(&sources, &config)).unwrap();
    step("checks", &mut || drop(audit(&estate, &Options::default())));

    let mut end_to_end = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_gameday"))
            .args([
                "readiness",
                "--rules",
                "rules",
                "--alertmanager-config",
                "alertmanager.yml",
            ])
            .args([
                "--catalog",
                "catalog-info.yaml",
                "--scenarios",
                "scenarios",
                "-o",
                "json",
            ])
            .current_dir(d)
            .env("XDG_DATA_HOME", d.join("xdg"))
            .output()
            .unwrap();
        end_to_end.push(t.elapsed());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    summary("gameday readiness -o json (end to end)", end_to_end);
}
