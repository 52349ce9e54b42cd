//! What Prometheus needs to scrape the sandbox's `/metrics`: on a real API
//! server `/metrics` is a non-resource URL that needs authorization (the
//! `system:monitoring` ClusterRole grants it), so a scrape job carries a
//! bearer credential, and over TLS the CA that signed the serving
//! certificate.

use std::path::Path;

/// The settings of one scrape job against the sandbox.
#[derive(Debug, Clone)]
pub struct ScrapeAuth {
    /// Bearer token of an identity in `system:monitoring`.
    pub token: String,
    /// PEM of the CA to trust, when the sandbox serves TLS.
    pub ca_pem: Option<String>,
}

/// File names [`ScrapeAuth::write_files`] uses next to the kubeconfig;
/// examples/prometheus/prometheus.yml refers to them.
pub const CA_FILE: &str = "sandbox-ca.crt";
pub const TOKEN_FILE: &str = "sandbox-scrape-token";

impl ScrapeAuth {
    /// Writes the CA and the token (owner-only) into `dir`, for a static
    /// Prometheus config (`tls_config.ca_file`, `authorization.credentials_file`).
    pub fn write_files(&self, dir: &Path) -> std::io::Result<()> {
        use std::io::Write;
        if let Some(pem) = &self.ca_pem {
            std::fs::write(dir.join(CA_FILE), pem)?;
        }
        let mut f = std::fs::OpenOptions::new();
        f.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut f, 0o600);
        f.open(dir.join(TOKEN_FILE))?
            .write_all(self.token.as_bytes())
    }

    /// The lines to add to a Prometheus `scrape_configs` entry (indented
    /// for a job at two spaces), writing the CA next to the config in `dir`.
    pub fn prometheus_job_lines(&self, dir: &Path) -> std::io::Result<String> {
        let mut out = format!(
            "    authorization:\n      type: Bearer\n      credentials: {:?}\n",
            self.token
        );
        if let Some(pem) = &self.ca_pem {
            let ca = dir.join("sandbox-ca.crt");
            std::fs::write(&ca, pem)?;
            out.push_str(&format!(
                "    tls_config:\n      ca_file: {:?}\n",
                ca.display().to_string()
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_lines_carry_the_credential_and_the_ca() {
        let dir = tempfile::tempdir().unwrap();
        let a = ScrapeAuth {
            token: "t".into(),
            ca_pem: Some("PEM".into()),
        };
        let lines = a.prometheus_job_lines(dir.path()).unwrap();
        assert!(lines.contains("credentials: \"t\""));
        assert!(lines.contains("ca_file:"));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("sandbox-ca.crt")).unwrap(),
            "PEM"
        );
    }
}
