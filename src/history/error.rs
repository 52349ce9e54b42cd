//! Errors of the history store. Each one names the database file and says
//! what to do, because the person reading it has just finished a game day and
//! needs to know whether the run is safe (it always is: the run directory is
//! written first) and how to get the history working again.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error(
        "history database {} is locked by another gameday process\n  hint: wait for it to finish and retry, or use another database with --db or GAMEDAY_HISTORY_DB",
        path.display()
    )]
    Locked { path: PathBuf },

    #[error(
        "{} is not a gameday history database (file is corrupt?): {detail}\n  hint: move it aside (mv {} {}.bad) and gameday starts a new history there",
        path.display(), path.display(), path.display()
    )]
    Corrupt { path: PathBuf, detail: String },

    #[error(
        "{} is not a gameday history database: it is another program's SQLite file\n  hint: point --db, GAMEDAY_HISTORY_DB or history.path at a file of its own",
        path.display()
    )]
    Foreign { path: PathBuf },

    #[error(
        "history database {} has schema version {found}, newer than this gameday knows ({known})\n  hint: upgrade gameday, or use another database with --db",
        path.display()
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },

    #[error("cannot create the directory {} for the history database: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error(
        "no per-user data directory for the history database (HOME and XDG_DATA_HOME are unset)\n  hint: set history.path in gameday.yaml, or pass --db / GAMEDAY_HISTORY_DB"
    )]
    NoDataDir,

    #[error(
        "run directory {} does not exist\n  hint: the run directory must be written before the run is recorded in history",
        run_dir.display()
    )]
    RunDirMissing { run_dir: PathBuf },

    /// Wraps any failure of `record`, so the message says where the run's
    /// files are: the run is never lost, only its history row.
    #[error(
        "run {run_id} was not recorded in history; its files are safe in {}\n{cause}",
        run_dir.display()
    )]
    NotRecorded {
        run_id: String,
        run_dir: PathBuf,
        cause: Box<HistoryError>,
    },

    #[error("no action item {id} in history database {}\n  hint: `gameday actions list` shows the ids", path.display())]
    NoSuchAction { path: PathBuf, id: String },

    #[error(
        "cannot connect to the history database {}: {source}\n  hint: check the URL, that the server is reachable, and the credentials (PGPASSWORD)",
        location.display()
    )]
    PgConnect {
        /// The URL without its password.
        location: PathBuf,
        source: postgres::Error,
    },

    #[error("history database {}: {}", location.display(), pg_detail(source))]
    Postgres {
        location: PathBuf,
        source: postgres::Error,
    },

    #[error("history database {}: {source}", path.display())]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
}

/// The server's own message when there is one (`db error` alone says
/// nothing), else the client's.
fn pg_detail(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => e.to_string(),
    }
}

impl HistoryError {
    /// The underlying error, looking through `NotRecorded`.
    pub fn root(&self) -> &HistoryError {
        match self {
            HistoryError::NotRecorded { cause, .. } => cause.root(),
            other => other,
        }
    }

    /// Sorts a SQLite failure into the cases a user can act on.
    pub(crate) fn from_sqlite(path: &std::path::Path, e: rusqlite::Error) -> HistoryError {
        use rusqlite::ErrorCode;
        let path = path.to_path_buf();
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                HistoryError::Locked { path }
            }
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => HistoryError::Corrupt {
                path,
                detail: e.to_string(),
            },
            _ => HistoryError::Sqlite { path, source: e },
        }
    }
}
