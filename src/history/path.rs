//! Where the history database lives. Precedence, most specific first:
//! `--db` / `GAMEDAY_HISTORY_DB`, `history.path` in gameday.yaml, then the
//! per-user data directory (`$XDG_DATA_HOME/gameday/history.db`, or
//! `~/.local/share/gameday/history.db` on Linux), so that every scenario a
//! person runs lands in one history without any setup.

use std::path::{Path, PathBuf};

use super::HistoryError;
use crate::config::Config;

/// The file name inside the per-user data directory.
pub const DEFAULT_FILE: &str = "history.db";

/// `<data dir>/gameday/history.db`.
pub fn default_path() -> Result<PathBuf, HistoryError> {
    dirs::data_dir()
        .map(|d| d.join("gameday").join(DEFAULT_FILE))
        .ok_or(HistoryError::NoDataDir)
}

/// The database path for this invocation: an explicit path (flag or
/// environment) wins over the config file, which wins over the default.
pub fn resolve_path(explicit: Option<&Path>, config: &Config) -> Result<PathBuf, HistoryError> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = &config.history.path {
        return Ok(p.clone());
    }
    default_path()
}

/// Whether a history location names a PostgreSQL database, the URL forms
/// libpq and rust-postgres accept.
pub fn is_postgres(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// The URL with any password replaced by `***`, in the user-info part and
/// in a `password=` query parameter, so errors and listings never echo it.
pub fn redacted(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k == "password" => format!("{k}=***"),
                    _ => kv.to_string(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_the_printed_url() {
        assert_eq!(
            redacted("postgres://gd:s3cret@db:5432/history?sslmode=disable"),
            "postgres://gd:***@db:5432/history?sslmode=disable"
        );
        assert_eq!(
            redacted("postgresql://db/h?user=gd&password=s3cret"),
            "postgresql://db/h?user=gd&password=***"
        );
        assert_eq!(redacted("postgres://gd@db/h"), "postgres://gd@db/h");
        assert!(is_postgres("postgresql://db/h"));
        assert!(!is_postgres("/var/lib/gameday/history.db"));
    }

    #[test]
    fn explicit_path_beats_config() {
        let mut config = Config::default();
        config.history.path = Some(PathBuf::from("/from/config.db"));
        let got = resolve_path(Some(Path::new("/from/flag.db")), &config).unwrap();
        assert_eq!(got, PathBuf::from("/from/flag.db"));
        let got = resolve_path(None, &config).unwrap();
        assert_eq!(got, PathBuf::from("/from/config.db"));
    }
}
