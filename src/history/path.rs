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

#[cfg(test)]
mod tests {
    use super::*;

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
