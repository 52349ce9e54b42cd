//! The two files that let `gameday respond` find a running run without
//! flags: `api-url` and `api-token` in the run directory. The token file is
//! created 0600 before the token is written, so it is never readable by
//! others, not even for an instant.

use std::io::Write;
use std::path::{Path, PathBuf};

use rand::RngExt;

pub const URL_FILE: &str = "api-url";
pub const TOKEN_FILE: &str = "api-token";

#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "no run directory with `{URL_FILE}` and `{TOKEN_FILE}` under {0} (is a run going? pass --run-url and --token)"
    )]
    NoRun(PathBuf),
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// 256 random bits, hex.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `text` to a file that only the owner can read (mode 0600).
pub fn write_secret(path: &Path, text: &str) -> Result<(), FilesError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let err = |source| FilesError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(err)?;
    // An existing file keeps its old mode on open: set it explicitly.
    f.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(err)?;
    f.write_all(text.as_bytes()).map_err(err)?;
    f.sync_all().map_err(err)
}

pub fn write_run_files(dir: &Path, url: &str, token: &str) -> Result<(), FilesError> {
    let p = dir.join(URL_FILE);
    std::fs::write(&p, format!("{url}\n"))
        .map_err(|source| FilesError::Write { path: p, source })?;
    write_secret(&dir.join(TOKEN_FILE), token)
}

/// The newest run directory under `root` (names sort by UTC time) that has
/// both files; returns (url, token).
pub fn newest_run(root: &Path) -> Result<(String, String), FilesError> {
    read_run(&newest_run_dir(root)?)
}

/// The newest run directory under `root` that has both files.
pub fn newest_run_dir(root: &Path) -> Result<PathBuf, FilesError> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .map_err(|_| FilesError::NoRun(root.to_path_buf()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(URL_FILE).is_file() && p.join(TOKEN_FILE).is_file())
        .collect();
    dirs.sort();
    dirs.pop()
        .ok_or_else(|| FilesError::NoRun(root.to_path_buf()))
}

pub fn read_run(dir: &Path) -> Result<(String, String), FilesError> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path)
            .map(|s| s.trim().to_string())
            .map_err(|source| FilesError::Read { path, source })
    };
    Ok((read(URL_FILE)?, read(TOKEN_FILE)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn token_file_is_owner_only_and_newest_run_wins() {
        let root = tempfile::tempdir().unwrap();
        let old = root.path().join("20261126T100000Z-a-1");
        let new = root.path().join("20261126T110000Z-a-2");
        let bare = root.path().join("20261126T120000Z-a-3");
        for d in [&old, &new, &bare] {
            std::fs::create_dir_all(d).unwrap();
        }
        write_run_files(&old, "http://127.0.0.1:1", "old").unwrap();
        write_run_files(&new, "http://127.0.0.1:2", "new").unwrap();
        let mode = std::fs::metadata(new.join(TOKEN_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            newest_run(root.path()).unwrap(),
            ("http://127.0.0.1:2".to_string(), "new".to_string())
        );
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            newest_run(empty.path()),
            Err(FilesError::NoRun(_))
        ));
    }

    #[test]
    fn tokens_are_long_and_differ() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }
}
