//! Reading an archive back, for `history` and `logs`: the runs of one job that the store
//! holds complete (their `run.json` is there), and their logs.
//!
//! A job's folder is listed once, then its records are read at most
//! [`DEFAULT_CONCURRENCY`] at a time. A record that cannot be read as one is named and
//! left out, so that one damaged folder does not hide months of runs.

use futures_util::{StreamExt, stream};

use super::open::Archive;
use super::{ArchivedLog, ArchivedRun, RECORD_FILE, RunFolder};
use crate::bulk::DEFAULT_CONCURRENCY;
use crate::error::Error;

/// A record read from the store: its bytes, `None` when it is gone.
type Read = Result<Option<Vec<u8>>, Error>;

/// A run the archive holds, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRun {
    pub folder: RunFolder,
    pub record: ArchivedRun,
}

/// What [`Archive::runs_of_job`] found.
#[derive(Debug, Default)]
pub struct JobArchive {
    /// Newest first, as `history` orders runs.
    pub runs: Vec<StoredRun>,
    /// A line for each `run.json` that is not a kuul run record (or of a newer format).
    pub unreadable: Vec<String>,
}

impl Archive {
    /// The complete runs of the Kuul job `job` in `namespace` on this archive's cluster.
    pub async fn runs_of_job(&self, namespace: &str, job: &str) -> Result<JobArchive, Error> {
        let cluster = self.cluster_folder();
        let names = self.store.list(&[&cluster, namespace, job], None).await?;
        let folders: Vec<RunFolder> = names
            .iter()
            .filter_map(|name| name.strip_suffix(&format!("/{RECORD_FILE}")))
            .filter(|run| !run.contains('/'))
            .map(|run| RunFolder {
                cluster: cluster.clone(),
                namespace: namespace.to_owned(),
                job: job.to_owned(),
                run: run.to_owned(),
            })
            .collect();
        let read: Vec<(RunFolder, Read)> = stream::iter(folders)
            .map(|folder| async move {
                let [c, n, j, r] = folder.parts();
                let bytes = self.store.get(&[c, n, j, r, RECORD_FILE]).await;
                (folder, bytes)
            })
            .buffer_unordered(DEFAULT_CONCURRENCY)
            .collect()
            .await;
        let mut found = JobArchive::default();
        for (folder, bytes) in read {
            // Listed a moment ago, gone now: deleted by someone meanwhile.
            let Some(bytes) = bytes? else { continue };
            let origin = format!("{folder}/{RECORD_FILE}");
            match ArchivedRun::from_json(&bytes, &origin) {
                Ok(record) => found.runs.push(StoredRun { folder, record }),
                Err(problem) => found.unreadable.push(problem),
            }
        }
        found
            .runs
            .sort_by(|a, b| newest_first(&a.record, &b.record));
        found.unreadable.sort();
        Ok(found)
    }

    /// A container's archived log, unzipped when the archive gzipped it.
    pub async fn log(&self, run: &RunFolder, log: &ArchivedLog) -> Result<Vec<u8>, Error> {
        let [c, n, j, r] = run.parts();
        let parts = [c, n, j, r, log.file.as_str()];
        let location = format!("{}/{run}/{}", self.store.url(), log.file);
        let Some(bytes) = self.store.get(&parts).await? else {
            return Err(Error::store(
                "read",
                location,
                false,
                Some("its run.json lists it, and it is not there".to_owned()),
                std::io::Error::from(std::io::ErrorKind::NotFound),
            ));
        };
        if !log.gzip {
            return Ok(bytes);
        }
        let mut text = Vec::with_capacity(usize::try_from(log.bytes).unwrap_or(0));
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
            .map_err(|source| {
                Error::store(
                    "read",
                    location,
                    false,
                    Some("not valid gzip".to_owned()),
                    source,
                )
            })?;
        Ok(text)
    }
}

/// Newest first: by creation, then by name (scheduled run names grow with time), as the
/// cluster's runs are ordered.
pub fn newest_first(a: &ArchivedRun, b: &ArchivedRun) -> std::cmp::Ordering {
    (b.record.created, &b.record.run).cmp(&(a.record.created, &a.record.run))
}

/// The last `n` lines of `text` (`--tail` for an archived log).
pub fn last_lines(text: &[u8], n: usize) -> &[u8] {
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    let mut start = body.len();
    for _ in 0..n {
        match body[..start].iter().rposition(|&b| b == b'\n') {
            Some(newline) => start = newline,
            None => return text,
        }
    }
    if n == 0 {
        &text[text.len()..]
    } else {
        &text[start + 1..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_lines_of_a_log() {
        let log = b"one\ntwo\nthree\n";
        assert_eq!(last_lines(log, 1), b"three\n");
        assert_eq!(last_lines(log, 2), b"two\nthree\n");
        assert_eq!(last_lines(log, 3), log);
        assert_eq!(last_lines(log, 10), log);
        assert_eq!(last_lines(log, 0), b"");
        assert_eq!(last_lines(b"no newline\nat end", 1), b"at end");
        assert_eq!(last_lines(b"", 2), b"");
    }
}
