//! The archive: finished runs kept outside the cluster, in a folder or in S3-compatible
//! object storage, so that their records and logs outlive their Jobs and pods.
//!
//! A run's logs live as long as its pod, and the `CronJob` controller deletes all but the
//! last few runs. `archive` copies each finished run into a store, one folder per run,
//! and other tools (and kuul's own commands) read it back, so the layout is an interface:
//!
//! ```text
//! [PREFIX/]CLUSTER/NAMESPACE/JOB/RUN/run.json         the run's record (ArchivedRun)
//! [PREFIX/]CLUSTER/NAMESPACE/JOB/RUN/CONTAINER.log    a container's log, as written
//! [PREFIX/]CLUSTER/NAMESPACE/JOB/RUN/CONTAINER.log.gz the same, gzipped, when large
//! ```
//!
//! A run is written once: its logs first, `run.json` last, each only if absent, so a run
//! whose `run.json` is there is complete, and a second archiver (or a rerun after a kill)
//! neither duplicates nor corrupts it. This module decides names, URLs and the record
//! without I/O; [`store`] reads and writes a store, [`copy`] copies runs from the cluster.

use std::fmt::{self, Write as _};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use k8s_openapi::api::batch::v1::Job;
use kube::config::Kubeconfig;
use serde::{Deserialize, Serialize};

use crate::cli::KubeArgs;
use crate::error::Error;
use crate::history::RunRecord;
use crate::kubeconfig::IN_CLUSTER;
use crate::time::rfc3339;

pub mod copy;
pub mod install;
pub mod open;
pub mod read;
pub mod store;

/// The record of a run in its folder; written last, so its presence means "complete".
pub const RECORD_FILE: &str = "run.json";

/// The version of the record's format, `format` in `run.json`; a reader rejects newer.
pub const FORMAT: u32 = 1;

/// Logs larger than this are gzipped (`CONTAINER.log.gz`); smaller ones stay plain text,
/// readable as they are.
pub const GZIP_ABOVE: usize = 64 * 1024;

/// The labels the Job controller gives each Job's pod template; left out of the spec
/// hash, so that runs of the same spec hash alike.
const PER_JOB_LABELS: [&str; 4] = [
    "batch.kubernetes.io/controller-uid",
    "batch.kubernetes.io/job-name",
    "controller-uid",
    "job-name",
];

/// Where an archive is: `--to`, or the config's `archive:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// `file:///path` or a plain path: a folder, made if missing.
    Folder(PathBuf),
    /// `s3://bucket/prefix`: a bucket of any S3-compatible object storage, and the folder
    /// in it under which the archive lives (maybe none).
    S3 { bucket: String, prefix: Vec<String> },
}

impl StoreUrl {
    /// Reads a store URL; a relative plain path is taken from `cwd`. A mistake is a usage
    /// error naming `flag`, found before anything is read.
    pub fn parse(flag: &str, text: &str, cwd: &Path) -> Result<Self, Error> {
        let invalid = |problem: &str| Error::InvalidInput {
            message: format!("invalid {flag} {text:?}: {problem}"),
            hint: Some(
                "a store is s3://BUCKET/PREFIX, file:///ABSOLUTE/PATH or a folder path".to_owned(),
            ),
        };
        if text.trim().is_empty() {
            return Err(invalid("the URL is empty"));
        }
        let Some((scheme, rest)) = text.split_once("://") else {
            return Ok(Self::Folder(cwd.join(text)));
        };
        match scheme {
            "s3" => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                check_bucket(bucket).map_err(|problem| invalid(&problem))?;
                let prefix = prefix.strip_suffix('/').unwrap_or(prefix);
                let segments: Vec<String> = if prefix.is_empty() {
                    Vec::new()
                } else {
                    prefix.split('/').map(str::to_owned).collect()
                };
                for segment in &segments {
                    check_segment(segment).map_err(|problem| invalid(&problem))?;
                }
                Ok(Self::S3 {
                    bucket: bucket.to_owned(),
                    prefix: segments,
                })
            }
            "file" => {
                // file:///path, or file://localhost/path as RFC 8089 allows.
                let path = rest.strip_prefix("localhost").unwrap_or(rest);
                if !path.starts_with('/') {
                    return Err(invalid(
                        "a file URL names an absolute path on this machine: file:///PATH",
                    ));
                }
                Ok(Self::Folder(PathBuf::from(path)))
            }
            other => Err(invalid(&format!(
                "kuul archives to s3:// and file:// stores, not {other}://"
            ))),
        }
    }

    /// Whether it is object storage, which `--endpoint` applies to.
    pub fn is_s3(&self) -> bool {
        matches!(self, Self::S3 { .. })
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Folder(path) => write!(f, "{}", path.display()),
            Self::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            Self::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{}", prefix.join("/")),
        }
    }
}

/// S3's rules for a bucket name: 3 to 63 lowercase letters, digits, dots and hyphens,
/// starting and ending with a letter or digit.
fn check_bucket(bucket: &str) -> Result<(), String> {
    let fine = (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if fine {
        Ok(())
    } else if bucket.is_empty() {
        Err("the URL names no bucket: s3://BUCKET/PREFIX".to_owned())
    } else {
        Err(format!(
            "{bucket:?} is not a bucket name (3 to 63 lowercase letters, digits, '.' and '-')"
        ))
    }
}

/// One folder of a prefix: not empty, not `.` or `..`.
fn check_segment(segment: &str) -> Result<(), String> {
    match segment {
        "" => Err("the prefix has an empty folder name (`//`)".to_owned()),
        "." | ".." => Err(format!("the prefix has a folder named {segment:?}")),
        _ => Ok(()),
    }
}

/// The folder name for a cluster: the kubeconfig's cluster name with every character but
/// letters, digits, `.`, `_` and `-` turned into `-`, so that an EKS name such as
/// `arn:aws:eks:eu-west-1:123456789012:cluster/prod` is one folder.
pub fn cluster_folder(name: &str) -> String {
    let folder: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    match folder.as_str() {
        "" | "." | ".." => "cluster".to_owned(),
        _ => folder,
    }
}

/// Checks `--cluster-name`: used as a folder name as it is, so only letters, digits,
/// `.`, `_` and `-`.
pub fn check_cluster_name(flag: &str, name: &str) -> Result<(), Error> {
    if !name.is_empty() && name != "." && name != ".." && cluster_folder(name) == name {
        return Ok(());
    }
    Err(Error::InvalidInput {
        message: format!("invalid {flag} {name:?}: it names a folder of the archive"),
        hint: Some("use letters, digits, '.', '_' and '-', e.g. prod-eu".to_owned()),
    })
}

/// The kubeconfig cluster name the flags select in `kubeconfig`: `--cluster`, else the
/// cluster of `--context` or of the current context. `None` when no context names one:
/// the pod's own configuration (whose names are made up) or `--server` alone.
pub fn kubeconfig_cluster(kubeconfig: &Kubeconfig, flags: &KubeArgs) -> Option<String> {
    if let Some(cluster) = &flags.cluster {
        return Some(cluster.clone());
    }
    let context = flags
        .context()
        .or(kubeconfig.current_context.as_deref())
        .filter(|name| !name.is_empty() && *name != IN_CLUSTER)?;
    kubeconfig
        .contexts
        .iter()
        .find(|named| named.name == context)?
        .context
        .as_ref()
        .map(|context| context.cluster.clone())
        .filter(|cluster| !cluster.is_empty())
}

/// Where one run lives in a store: `CLUSTER/NAMESPACE/JOB/RUN`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RunFolder {
    /// The cluster's folder name ([`cluster_folder`]).
    pub cluster: String,
    pub namespace: String,
    /// The Kuul job (the `CronJob`'s name).
    pub job: String,
    /// The run (the Job's name).
    pub run: String,
}

impl RunFolder {
    /// The folders from the archive's root down to the run's, in order.
    pub fn parts(&self) -> [&str; 4] {
        [&self.cluster, &self.namespace, &self.job, &self.run]
    }

    /// The folders down to the job's, whose listing names its archived runs.
    pub fn job_parts(&self) -> [&str; 3] {
        [&self.cluster, &self.namespace, &self.job]
    }
}

impl fmt::Display for RunFolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.parts().join("/"))
    }
}

/// A container's log as archived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchivedLog {
    pub container: String,
    /// The file in the run's folder: `CONTAINER.log`, or `CONTAINER.log.gz` when gzipped.
    pub file: String,
    pub gzip: bool,
    /// The log's size before any gzip.
    pub bytes: u64,
}

/// `run.json`: a run's `history` record and what the archive adds to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchivedRun {
    /// [`FORMAT`].
    pub format: u32,
    /// The kubeconfig cluster name (or `--cluster-name`) as given, before it became a
    /// folder name.
    pub cluster: String,
    pub namespace: String,
    /// The Kuul job (the `CronJob`'s name).
    pub job: String,
    /// The Job's uid: the run's identity.
    pub uid: String,
    /// What `kubectl kuul history -o json` shows of the run.
    #[serde(flatten)]
    pub record: RunRecord,
    /// The image of the run's main container.
    pub image: Option<String>,
    /// `sha256:HEX` of the pod template the run was made from (the `CronJob`'s
    /// `jobTemplate` at the time, without the labels Kubernetes gives each Job): runs with
    /// the same hash ran the same spec.
    pub spec_hash: Option<String>,
    /// The logs of the containers of the run's newest pod that ran.
    pub logs: Vec<ArchivedLog>,
    /// Why logs are missing, when some are: the pod was gone, or a container never ran.
    pub logs_lost: Option<String>,
    /// A word on when the logs were read, when not after the run ended: `stop --archive`
    /// reads them just before it stops the run, whose pods then go. Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs_note: Option<String>,
    #[serde(with = "rfc3339")]
    pub archived_at: Option<DateTime<Utc>>,
    /// `kuul VERSION`.
    pub archived_by: String,
}

impl ArchivedRun {
    /// `run.json`'s bytes: indented JSON with a trailing newline.
    pub fn to_json(&self) -> Vec<u8> {
        crate::printer::to_json(self).into_bytes()
    }

    /// Reads `run.json`; `origin` names it in errors.
    pub fn from_json(bytes: &[u8], origin: &str) -> Result<Self, String> {
        let run: Self = serde_json::from_slice(bytes)
            .map_err(|error| format!("{origin} is not a kuul run record: {error}"))?;
        if run.format > FORMAT {
            return Err(format!(
                "{origin} has format {}, newer than this kuul reads ({FORMAT}): upgrade kuul",
                run.format
            ));
        }
        Ok(run)
    }

    /// What `logs --archive` says before printing the archived logs: which are missing,
    /// and when they were read if not after the run ended (a run `stop --archive` kept).
    pub fn log_remarks(&self) -> Vec<String> {
        let run = &self.record.run;
        let lost = self
            .logs_lost
            .iter()
            .map(|lost| format!("run {run}: some logs were not archived: {lost}"));
        let note = self
            .logs_note
            .iter()
            .map(|note| format!("run {run}: its logs were {note}"));
        lost.chain(note).collect()
    }
}

/// A container's log as it goes into the store: the file name, its bytes (gzipped when
/// over [`GZIP_ABOVE`]) and its entry in the record.
pub fn encode_log(container: &str, log: &[u8]) -> (ArchivedLog, Vec<u8>) {
    let gzip = log.len() > GZIP_ABOVE;
    let bytes = if gzip { gzipped(log) } else { log.to_vec() };
    let file = if gzip {
        format!("{container}.log.gz")
    } else {
        format!("{container}.log")
    };
    let entry = ArchivedLog {
        container: container.to_owned(),
        file,
        gzip,
        bytes: log.len() as u64,
    };
    (entry, bytes)
}

fn gzipped(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4),
        flate2::Compression::default(),
    );
    // Writing into a Vec cannot fail.
    encoder.write_all(bytes).expect("gzip into memory");
    encoder.finish().expect("gzip into memory")
}

/// [`ArchivedRun::spec_hash`] of a Job: SHA-256 of its pod template as JSON, without the
/// labels the Job controller adds to each Job.
pub fn spec_hash(job: &Job) -> Option<String> {
    let mut template = job.spec.as_ref()?.template.clone();
    if let Some(labels) = template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        for label in PER_JOB_LABELS {
            labels.remove(label);
        }
    }
    // k8s-openapi writes fields in a fixed order and maps sorted, so equal templates give
    // equal JSON.
    let json = serde_json::to_vec(&template).ok()?;
    let digest = ring::digest::digest(&ring::digest::SHA256, &json);
    let mut hash = String::from("sha256:");
    for byte in digest.as_ref() {
        // Writing into a String cannot fail.
        let _ = write!(hash, "{byte:02x}");
    }
    Some(hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{RunResult, Trigger};
    use serde_json::json;

    fn parse(text: &str) -> Result<StoreUrl, Error> {
        StoreUrl::parse("--to", text, Path::new("/work"))
    }

    #[test]
    fn store_urls() {
        assert_eq!(
            parse("s3://kuul-logs/prod/archive/").unwrap(),
            StoreUrl::S3 {
                bucket: "kuul-logs".to_owned(),
                prefix: vec!["prod".to_owned(), "archive".to_owned()]
            }
        );
        assert_eq!(
            parse("s3://kuul-logs").unwrap().to_string(),
            "s3://kuul-logs"
        );
        assert_eq!(
            parse("file:///var/kuul").unwrap(),
            StoreUrl::Folder("/var/kuul".into())
        );
        assert_eq!(
            parse("file://localhost/var/kuul").unwrap(),
            StoreUrl::Folder("/var/kuul".into())
        );
        assert_eq!(
            parse("logs/kuul").unwrap(),
            StoreUrl::Folder("/work/logs/kuul".into())
        );
        assert_eq!(parse("/abs").unwrap(), StoreUrl::Folder("/abs".into()));
        assert!(parse("s3://b-1/x").unwrap().is_s3());
    }

    #[test]
    fn bad_store_urls_are_usage_errors_in_one_line() {
        for (text, problem) in [
            ("", "the URL is empty"),
            ("s3://", "the URL names no bucket"),
            ("s3:///prefix", "the URL names no bucket"),
            ("s3://Bad_Bucket/x", "is not a bucket name"),
            ("s3://b/", "is not a bucket name"),
            ("s3://bucket/a//b", "empty folder name"),
            ("s3://bucket/a/../b", "a folder named \"..\""),
            ("file://host/path", "absolute path"),
            ("file://relative", "absolute path"),
            ("gs://bucket/x", "not gs://"),
            ("https://s3.example.com/bucket", "not https://"),
        ] {
            let error = parse(text).unwrap_err();
            assert_eq!(
                error.exit_status(),
                crate::error::ExitStatus::Usage,
                "{text}"
            );
            let message = error.to_string();
            assert!(message.contains(problem), "{text}: {message}");
            assert!(!message.contains('\n'), "{message}");
        }
    }

    #[test]
    fn cluster_names_become_one_folder() {
        assert_eq!(cluster_folder("kuul"), "kuul");
        assert_eq!(
            cluster_folder("arn:aws:eks:eu-west-1:123456789012:cluster/prod"),
            "arn-aws-eks-eu-west-1-123456789012-cluster-prod"
        );
        assert_eq!(
            cluster_folder("gke_proj_europe-west1_ops"),
            "gke_proj_europe-west1_ops"
        );
        assert_eq!(cluster_folder(".."), "cluster");
        assert!(check_cluster_name("--cluster-name", "prod-eu.1").is_ok());
        for bad in ["", "a/b", "..", "prod eu"] {
            let error = check_cluster_name("--cluster-name", bad).unwrap_err();
            assert_eq!(error.exit_status(), crate::error::ExitStatus::Usage);
        }
    }

    #[test]
    fn the_cluster_is_the_contexts_unless_flags_say_otherwise() {
        let kubeconfig = Kubeconfig::from_yaml(
            "apiVersion: v1\nkind: Config\ncurrent-context: ops\n\
             contexts:\n- name: ops\n  context: {cluster: prod-eu, user: u}\n\
             - name: dev\n  context: {cluster: dev-1, user: u}\n",
        )
        .unwrap();
        let flags = |args: &[&str]| crate::cli::try_parse::<KubeArgs>(args).unwrap();
        let cluster = |args: &[&str]| kubeconfig_cluster(&kubeconfig, &flags(args));
        assert_eq!(cluster(&[]).as_deref(), Some("prod-eu"));
        assert_eq!(cluster(&["--context", "dev"]).as_deref(), Some("dev-1"));
        assert_eq!(cluster(&["--cluster", "other"]).as_deref(), Some("other"));
        assert_eq!(cluster(&["--context", "missing"]), None);
        let mut in_pod = kubeconfig.clone();
        in_pod.current_context = Some(IN_CLUSTER.to_owned());
        assert_eq!(kubeconfig_cluster(&in_pod, &flags(&[])), None);
    }

    #[test]
    fn a_run_folder_is_cluster_namespace_job_run() {
        let folder = RunFolder {
            cluster: "kuul".to_owned(),
            namespace: "ops".to_owned(),
            job: "backup-db".to_owned(),
            run: "backup-db-29000060".to_owned(),
        };
        assert_eq!(folder.to_string(), "kuul/ops/backup-db/backup-db-29000060");
        assert_eq!(folder.job_parts(), ["kuul", "ops", "backup-db"]);
    }

    #[test]
    fn large_logs_are_gzipped_and_say_so() {
        let (small, bytes) = encode_log("work", b"hello\n");
        assert_eq!(small.file, "work.log");
        assert!(!small.gzip);
        assert_eq!(bytes, b"hello\n");
        let big = "a line of a long log\n".repeat(10_000);
        let (entry, bytes) = encode_log("work", big.as_bytes());
        assert_eq!(entry.file, "work.log.gz");
        assert!(entry.gzip);
        assert_eq!(entry.bytes, big.len() as u64);
        let mut unzipped = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut unzipped)
            .unwrap();
        assert_eq!(unzipped, big);
    }

    fn job(labels: &serde_json::Value, image: &str) -> Job {
        serde_json::from_value(json!({
            "metadata": { "name": "backup-db-1" },
            "spec": { "template": {
                "metadata": { "labels": labels },
                "spec": { "containers": [{ "name": "work", "image": image }] }
            }}
        }))
        .unwrap()
    }

    #[test]
    fn the_spec_hash_ignores_what_each_job_gets() {
        let one = job(
            &json!({ "kuul.io/job": "backup-db", "controller-uid": "1", "job-name": "backup-db-1",
                     "batch.kubernetes.io/controller-uid": "1", "batch.kubernetes.io/job-name": "backup-db-1" }),
            "kuul/backup:1",
        );
        let two = job(
            &json!({ "kuul.io/job": "backup-db", "controller-uid": "2", "job-name": "backup-db-2" }),
            "kuul/backup:1",
        );
        let changed = job(&json!({ "kuul.io/job": "backup-db" }), "kuul/backup:2");
        let hash = spec_hash(&one).unwrap();
        assert!(
            hash.starts_with("sha256:") && hash.len() == 7 + 64,
            "{hash}"
        );
        assert_eq!(spec_hash(&two), Some(hash.clone()));
        assert_ne!(spec_hash(&changed), Some(hash));
    }

    fn archived() -> ArchivedRun {
        ArchivedRun {
            format: FORMAT,
            cluster: "kuul".to_owned(),
            namespace: "ops".to_owned(),
            job: "backup-db".to_owned(),
            uid: "3f0c".to_owned(),
            record: RunRecord {
                run: "backup-db-29000060".to_owned(),
                trigger: Trigger::Scheduled {
                    at: Some(crate::history::tests::at("2026-03-02T01:00:00Z")),
                },
                created: Some(crate::history::tests::at("2026-03-02T01:00:01Z")),
                started: Some(crate::history::tests::at("2026-03-02T01:00:01Z")),
                finished: Some(crate::history::tests::at("2026-03-02T01:00:40Z")),
                result: RunResult::Failed,
                exit_code: Some(3),
                reason: Some("Error".to_owned()),
                node: Some("kuul-prod-1".to_owned()),
                message: Some("pg_dump: connection refused".to_owned()),
                pod: Some("backup-db-29000060-x7k2p".to_owned()),
                blocker: None,
                stopped: None,
            },
            image: Some("registry.example.com/ops/kuul:v3".to_owned()),
            spec_hash: Some("sha256:00ff".to_owned()),
            logs: vec![ArchivedLog {
                container: "work".to_owned(),
                file: "work.log".to_owned(),
                gzip: false,
                bytes: 120,
            }],
            logs_lost: None,
            logs_note: None,
            archived_at: Some(crate::history::tests::at("2026-03-02T01:05:00Z")),
            archived_by: "kuul 0.1.0".to_owned(),
        }
    }

    #[test]
    fn remarks_say_which_logs_are_missing_and_when_they_were_read() {
        let mut run = archived();
        assert!(run.log_remarks().is_empty());
        run.logs_lost = Some("container sidecar never ran".to_owned());
        run.logs_note = Some(
            "read by kubectl kuul stop at 2026-03-02T01:04:00Z, just before it stopped the run"
                .to_owned(),
        );
        assert_eq!(
            run.log_remarks(),
            [
                "run backup-db-29000060: some logs were not archived: container sidecar never ran",
                "run backup-db-29000060: its logs were read by kubectl kuul stop at 2026-03-02T01:04:00Z, just before it stopped the run",
            ]
        );
    }

    #[test]
    fn the_record_format() {
        let run = archived();
        let json = String::from_utf8(run.to_json()).unwrap();
        insta::assert_snapshot!(json);
        assert_eq!(ArchivedRun::from_json(json.as_bytes(), "run.json"), Ok(run));
    }

    #[test]
    fn records_of_a_newer_format_or_not_records_are_refused() {
        let mut newer = archived();
        newer.format = FORMAT + 1;
        let error =
            ArchivedRun::from_json(&newer.to_json(), "kuul/ops/b/b-1/run.json").unwrap_err();
        assert!(error.contains("newer than this kuul reads"), "{error}");
        let error = ArchivedRun::from_json(b"{}", "x/run.json").unwrap_err();
        assert!(
            error.starts_with("x/run.json is not a kuul run record"),
            "{error}"
        );
        // Keys a later format adds are read past.
        let mut value: serde_json::Value = serde_json::from_slice(&archived().to_json()).unwrap();
        value["addedLater"] = json!(true);
        let bytes = serde_json::to_vec(&value).unwrap();
        assert_eq!(ArchivedRun::from_json(&bytes, "run.json"), Ok(archived()));
    }
}
