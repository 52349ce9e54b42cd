//! Loading `gameday.yaml` with the same diagnostics as scenarios: a typo in
//! the config is as dangerous as one in a scenario (a misspelt
//! `protectedNamespaces` would silently protect nothing).

use std::path::{Path, PathBuf};

use super::Config;
use crate::diag::{self, Diagnostic, Source};
use crate::values::is_dns_label;
use crate::yaml::{self, Node, Step, Target};

/// The file looked for in the working directory when no `--config` is given.
pub const DEFAULT_FILE: &str = "gameday.yaml";

impl Config {
    /// Loads the config file. With no path, `./gameday.yaml` is used when it
    /// exists, and the built-in defaults otherwise. An empty file means the
    /// defaults.
    pub fn load(path: Option<&Path>) -> Result<Config, Vec<Diagnostic>> {
        let path: PathBuf = match path {
            Some(p) => p.to_path_buf(),
            None => {
                let p = PathBuf::from(DEFAULT_FILE);
                if !p.is_file() {
                    return Ok(Config::default());
                }
                p
            }
        };
        let name = path.display().to_string();
        match std::fs::read_to_string(&path) {
            Ok(text) => Config::load_str(&name, &text),
            Err(e) => Err(vec![Diagnostic::error(
                name,
                1,
                1,
                format!("cannot read the config file: {e}"),
            )]),
        }
    }

    /// Parses and checks config text; `file_name` is only used in diagnostics.
    pub fn load_str(file_name: &str, text: &str) -> Result<Config, Vec<Diagnostic>> {
        let src = Source::new(file_name, text);
        let (docs, mut diags) = yaml::parse(&src);
        let docs: Vec<_> = docs
            .iter()
            .filter(|d| !yaml::is_empty_document(d))
            .collect();
        let mut config = Config::default();
        if let Some(extra) = docs.get(1) {
            diags.push(
                src.error(
                    extra.root.span,
                    "the config file holds more than one document",
                )
                .with_hint("keep all settings in one document"),
            );
        }
        if let Some(doc) = docs.first()
            && let Some(c) = yaml::check_node::<Config>(&src, &doc.root, &mut diags)
        {
            check(&c, &doc.root, &src, &mut diags);
            super::calendar::check(
                &c.schedules,
                c.calendar.as_ref(),
                &doc.root,
                &src,
                &mut diags,
            );
            config = c;
        }
        if diags.iter().any(Diagnostic::is_error) {
            diag::sort(&mut diags);
            Err(diags)
        } else {
            Ok(config)
        }
    }
}

/// The config's rules beyond its schema.
fn check(c: &Config, root: &Node, src: &Source<'_>, diags: &mut Vec<Diagnostic>) {
    let mut err = |path: &[Step<'_>], target: Target, msg: String, hint: Option<&str>| {
        let mut d = src.error(root.locate(path, target), msg);
        d.hint = hint.map(str::to_string);
        diags.push(d);
    };
    if !(0.0..=1.0).contains(&c.pass_mark) {
        err(
            &[Step::Key("passMark")],
            Target::Value,
            format!(
                "`passMark` is a score between 0 and 1, found {}",
                c.pass_mark
            ),
            Some("e.g. `passMark: 0.7`"),
        );
    }
    if c.severities.is_empty() {
        err(
            &[Step::Key("severities")],
            Target::Key,
            "`severities` must define at least one level".into(),
            Some("leave it out to use SEV1..SEV4"),
        );
    }
    if !is_dns_label(&c.halt_namespace) {
        err(
            &[Step::Key("haltNamespace")],
            Target::Value,
            format!("`{}` is not a valid namespace name", c.halt_namespace),
            Some("namespace names are lowercase letters, digits and '-', at most 63 characters"),
        );
    }
    for (i, ns) in c.protected_namespaces.iter().enumerate() {
        if !is_dns_label(ns) {
            err(
                &[Step::Key("protectedNamespaces"), Step::Index(i)],
                Target::Value,
                format!("`{ns}` is not a valid namespace name"),
                None,
            );
        }
    }
    for (i, g) in c.allowed_contexts.iter().enumerate() {
        if let Err(e) = glob::Pattern::new(g) {
            err(
                &[Step::Key("allowedContexts"), Step::Index(i)],
                Target::Value,
                format!("invalid context glob `{g}`: {}", e.msg),
                None,
            );
        }
    }
    for (key, ep) in [
        ("prometheus", &c.prometheus),
        ("alertmanager", &c.alertmanager),
    ] {
        let Some(ep) = ep else { continue };
        let ok = reqwest::Url::parse(&ep.url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
        if !ok {
            err(
                &[Step::Key(key), Step::Key("url")],
                Target::Value,
                format!("`{}` is not an http(s) URL", ep.url),
                Some("e.g. `http://127.0.0.1:9090`"),
            );
        }
    }
    if let Some(p) = &c.paging {
        for ([tool, field], value) in p.credentials() {
            if super::env_reference(value).is_none() {
                let path = [Step::Key("paging"), Step::Key(tool), Step::Key(field)];
                let mut d = src
                    .error(
                        root.locate(&path, Target::Value),
                        format!("`paging.{tool}.{field}` must name an environment variable, not hold the secret itself"),
                    )
                    .with_hint("write `${NAME}` and export NAME; a token in gameday.yaml ends up in the journal and in version control");
                // The line holds the secret: point at it, never print it.
                d.source_line = None;
                diags.push(d);
            }
        }
    }
}
