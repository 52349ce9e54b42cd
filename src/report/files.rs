//! Writing a run's reports into its run directory. Each file is written to a
//! temporary name and renamed into place, so a crash mid-write never leaves
//! a truncated result.json for `gameday report` or CI to trip over.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::model::RunReport;
use super::{html, junit, markdown};

pub const RESULT_JSON: &str = "result.json";
pub const REPORT_MD: &str = "report.md";
pub const JUNIT_XML: &str = "junit.xml";
pub const REPORT_HTML: &str = "report.html";

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("writing {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("encoding result.json: {0}")]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Junit(#[from] junit::JunitError),
}

/// Writes `contents` to `dir/name` atomically (temp file, fsync, rename).
pub fn write_atomic(dir: &Path, name: &str, contents: &[u8]) -> Result<PathBuf, WriteError> {
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.tmp"));
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| WriteError::Io { path: p, source }
    };
    let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(contents).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    drop(f);
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    Ok(path)
}

/// Writes result.json, report.md, report.html and junit.xml; returns their paths.
pub fn write_all(dir: &Path, report: &RunReport) -> Result<Vec<PathBuf>, WriteError> {
    let mut json = serde_json::to_vec_pretty(report)?;
    json.push(b'\n');
    Ok(vec![
        write_atomic(dir, RESULT_JSON, &json)?,
        write_atomic(dir, REPORT_MD, markdown::render(report).as_bytes())?,
        write_atomic(dir, REPORT_HTML, html::render(report).as_bytes())?,
        write_atomic(dir, JUNIT_XML, junit::render(report)?.as_bytes())?,
    ])
}

/// Reads a result.json back (for `gameday report -f`, history, the HTML report).
pub fn read_result(dir: &Path) -> Result<RunReport, WriteError> {
    let path = dir.join(RESULT_JSON);
    let text = std::fs::read(&path).map_err(|source| WriteError::Io {
        path: path.clone(),
        source,
    })?;
    Ok(serde_json::from_slice(&text)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::report;

    #[test]
    fn writes_every_file_and_reads_the_result_back() {
        let dir = tempfile::tempdir().unwrap();
        let r = report(false);
        let paths = write_all(dir.path(), &r).unwrap();
        assert_eq!(paths.len(), 4);
        for p in &paths {
            assert!(std::fs::metadata(p).unwrap().len() > 100, "{p:?}");
        }
        assert_eq!(read_result(dir.path()).unwrap(), r);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn a_missing_directory_is_an_error_with_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("nope");
        let err = write_all(&gone, &report(true)).unwrap_err().to_string();
        assert!(err.contains("nope"), "{err}");
        let err = read_result(&gone).unwrap_err().to_string();
        assert!(err.contains("result.json"), "{err}");
    }
}
