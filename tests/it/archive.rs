//! `kubectl kuul archive` against the real local cluster and a real S3-compatible store
//! (SeaweedFS, `tests/objstore/up`), and against a folder: finished runs copied with their
//! records and logs (served by kwok from CRI-format files), runs in progress left alone,
//! a run whose pod is gone archived with a note; archiving again, and two archivers at
//! once, writing nothing twice; a killed archive finished by the next; bad store URLs and
//! refused credentials, each said in one line.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kuul_tests::{
    Lines, TestBucket, TestNamespace, Via, YEARLY, assert_exit, eventually, harness_env, job_names,
    kuul_cronjob, kwok_failure, text,
};
use serde_json::{Value, json};

/// Where a test archives to: a folder of its own, or a prefix of its own in the bucket.
enum TestStore {
    Folder(tempfile::TempDir),
    S3(TestBucket),
}

impl TestStore {
    fn folder() -> Self {
        Self::Folder(tempfile::tempdir().expect("temp dir"))
    }

    fn s3(prefix: &str) -> Self {
        Self::S3(TestBucket::new(prefix))
    }

    /// What `--to` takes: `file:///...` for the folder, to test that spelling too.
    fn url(&self) -> String {
        match self {
            Self::Folder(dir) => format!("file://{}", dir.path().display()),
            Self::S3(bucket) => bucket.url(),
        }
    }

    /// `kubectl-kuul archive -n NS ARGS --to URL`, with the store's credentials.
    fn archive(&self, ns: &TestNamespace, args: &[&str]) -> Command {
        let mut cmd = self.kuul("archive", ns, args);
        cmd.args(["--to", &self.url()]);
        cmd
    }

    /// `kubectl-kuul COMMAND -n NS ARGS`, with the store's credentials in the environment.
    fn kuul(&self, command: &str, ns: &TestNamespace, args: &[&str]) -> Command {
        let mut cmd = Via::Umbrella.command(command);
        cmd.args(["-n", ns.name()]).args(args).env("NO_COLOR", "1");
        if let Self::S3(bucket) = self {
            bucket.credentials(&mut cmd);
        }
        cmd
    }

    /// `kubectl-kuul COMMAND -n NS ARGS --archive URL`, run to its end.
    fn reading(&self, command: &str, ns: &TestNamespace, args: &[&str]) -> Output {
        self.kuul(command, ns, args)
            .args(["--archive", &self.url()])
            .output()
            .unwrap_or_else(|e| panic!("run kubectl kuul {command}: {e}"))
    }

    /// Every object, by its path in the store, with what proves it unchanged: the ETag
    /// and size in S3, the modification time and size in a folder.
    async fn objects(&self) -> BTreeMap<String, String> {
        match self {
            Self::S3(bucket) => bucket.objects().await,
            Self::Folder(dir) => {
                let mut objects = BTreeMap::new();
                walk(dir.path(), dir.path(), &mut objects);
                objects
            }
        }
    }

    async fn get(&self, path: &str) -> Vec<u8> {
        match self {
            Self::S3(bucket) => bucket.get(path).await,
            Self::Folder(dir) => {
                std::fs::read(dir.path().join(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
            }
        }
    }

    /// The records of the archived runs of `job`, by run name.
    async fn records(&self, ns: &TestNamespace, job: &str) -> BTreeMap<String, Value> {
        let folder = format!("kwok-kuul/{}/{job}/", ns.name());
        let mut records = BTreeMap::new();
        for path in self.objects().await.keys() {
            if let Some(run) = path
                .strip_prefix(&folder)
                .and_then(|rest| rest.strip_suffix("/run.json"))
            {
                let record: Value = serde_json::from_slice(&self.get(path).await)
                    .unwrap_or_else(|e| panic!("{path} is not JSON: {e}"));
                records.insert(run.to_owned(), record);
            }
        }
        records
    }
}

fn walk(root: &Path, dir: &Path, objects: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).expect("read the store folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            walk(root, &path, objects);
        } else {
            let meta = std::fs::metadata(&path).expect("metadata");
            let below = path.strip_prefix(root).unwrap().display().to_string();
            let version = format!("{:?} {}", meta.modified().expect("mtime"), meta.len());
            objects.insert(below, version);
        }
    }
}

/// Starts runs `NAME-1` ... `NAME-count` of the `CronJob` as `run-now` would (a Job with
/// its template and a controller reference), `pod` merged into each pod's metadata.
async fn start_runs(ns: &TestNamespace, cronjob: &CronJob, names: &[String], pod: &Value) {
    let jobs: Api<Job> = Api::namespaced(ns.client(), ns.name());
    let mut template = serde_json::to_value(&cronjob.spec.job_template).expect("template");
    let metadata = &mut template["spec"]["template"]["metadata"];
    for key in ["labels", "annotations"] {
        if let Some(extra) = pod[key].as_object() {
            if !metadata[key].is_object() {
                metadata[key] = json!({});
            }
            if let Some(into) = metadata[key].as_object_mut() {
                into.extend(extra.clone());
            }
        }
    }
    for name in names {
        let job: Job = serde_json::from_value(json!({
            "metadata": {
                "name": name,
                "labels": template["metadata"]["labels"],
                "annotations": { "cronjob.kubernetes.io/instantiate": "manual" },
                "ownerReferences": [{
                    "apiVersion": "batch/v1", "kind": "CronJob",
                    "name": cronjob.metadata.name, "uid": cronjob.metadata.uid,
                    "controller": true
                }]
            },
            "spec": template["spec"]
        }))
        .expect("a valid Job");
        jobs.create(&PostParams::default(), &job)
            .await
            .unwrap_or_else(|e| panic!("create Job {name}: {e}"));
    }
}

async fn create_cronjob(ns: &TestNamespace, name: &str, pool: &str) -> CronJob {
    Api::<CronJob>::namespaced(ns.client(), ns.name())
        .create(
            &PostParams::default(),
            &kuul_cronjob(
                name,
                YEARLY,
                true,
                pool,
                &json!({ "successfulJobsHistoryLimit": 100, "failedJobsHistoryLimit": 100 }),
            ),
        )
        .await
        .expect("create CronJob")
}

/// Waits until every Job of `names` has finished, and returns each one's pod.
async fn finished(ns: &TestNamespace, names: &[String]) -> BTreeMap<String, String> {
    let jobs: Api<Job> = Api::namespaced(ns.client(), ns.name());
    let pods: Api<Pod> = Api::namespaced(ns.client(), ns.name());
    eventually(
        Duration::from_secs(90),
        &format!("{} runs finished with their pods", names.len()),
        || async {
            let list = jobs.list(&ListParams::default()).await.expect("list Jobs");
            let done = names.iter().all(|name| {
                list.items.iter().any(|job| {
                    job.metadata.name.as_ref() == Some(name)
                        && job.status.as_ref().is_some_and(|s| {
                            s.conditions.iter().flatten().any(|c| {
                                (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True"
                            })
                        })
                })
            });
            if !done {
                return None;
            }
            let list = pods.list(&ListParams::default()).await.expect("list Pods");
            let mut by_run = BTreeMap::new();
            for pod in list.items {
                let labels = pod.metadata.labels.unwrap_or_default();
                if let (Some(run), Some(name)) = (
                    labels.get("batch.kubernetes.io/job-name"),
                    pod.metadata.name,
                ) {
                    by_run.insert(run.clone(), name);
                }
            }
            names
                .iter()
                .all(|name| by_run.contains_key(name))
                .then_some(by_run)
        },
    )
    .await
}

/// `count` finished runs of a new job `name` on the kwok nodes of pool prod, each pod
/// serving the log `RUN says hello` once this returns. Returns the run names, oldest
/// first.
async fn runs_with_logs(
    ns: &TestNamespace,
    name: &str,
    count: usize,
    logs: &Path,
) -> (CronJob, Vec<String>) {
    let cronjob = create_cronjob(ns, name, "prod").await;
    let names: Vec<String> = (1..=count).map(|n| format!("{name}-{n:03}")).collect();
    start_runs(ns, &cronjob, &names, &json!({})).await;
    let pods = finished(ns, &names).await;
    for (run, pod) in &pods {
        ns.serve_log(logs, pod, &[&format!("{run} says hello")])
            .await;
    }
    logs_served(ns, name, &names).await;
    (cronjob, names)
}

/// Waits until kwok serves the log of each run's pod (`logs --all` shows them all).
async fn logs_served(ns: &TestNamespace, job: &str, runs: &[String]) {
    eventually(
        Duration::from_secs(30),
        &format!("kwok serving the logs of {job}'s runs"),
        || async {
            let output = kuul_tests::kuul(Via::Umbrella, "logs", ns, &[job, "--all"]);
            let out = text(&output.stdout);
            runs.iter()
                .all(|run| out.contains(&format!("{run} says hello")))
                .then_some(())
        },
    )
    .await;
}

/// The lines `archived ...` of an archive's stdout, as run names.
fn archived_lines(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix("archived kwok-kuul/"))
        .filter_map(|rest| rest.split_whitespace().next())
        .filter_map(|path| path.rsplit('/').next().map(str::to_owned))
        .collect()
}

fn summary(stdout: &str) -> &str {
    stdout.lines().last().unwrap_or_default()
}

/// Archive to `store`, then again: the first copies every finished run (records and
/// logs; a failed run's exit code; the run whose pod is gone with a note), leaves the run
/// in progress alone; the second writes nothing.
async fn archive_then_again(store: TestStore, prefix: &str) {
    let ns = TestNamespace::new(prefix).await;
    let logs = tempfile::tempdir().expect("temp dir");
    let (cronjob, mut runs) = runs_with_logs(&ns, "nightly", 2, logs.path()).await;
    // A failed run, exit code 3.
    let failed = vec!["nightly-fail".to_owned()];
    start_runs(&ns, &cronjob, &failed, &kwok_failure(3)).await;
    let pod = finished(&ns, &failed).await["nightly-fail"].clone();
    ns.serve_log(
        logs.path(),
        &pod,
        &["nightly-fail says hello", "then it failed"],
    )
    .await;
    runs.extend(failed);
    // A finished run whose pod is gone.
    let gone = vec!["nightly-gone".to_owned()];
    start_runs(&ns, &cronjob, &gone, &json!({})).await;
    let gone_pod = finished(&ns, &gone).await["nightly-gone"].clone();
    let pods: Api<Pod> = Api::namespaced(ns.client(), ns.name());
    pods.delete(&gone_pod, &DeleteParams::default().grace_period(0))
        .await
        .expect("delete the pod");
    eventually(Duration::from_secs(30), "the pod gone", || async {
        pods.get_opt(&gone_pod)
            .await
            .expect("get pod")
            .is_none()
            .then_some(())
    })
    .await;
    // A finished run whose node keeps no log for it (kwok without a Logs object).
    let no_log = vec!["nightly-nolog".to_owned()];
    start_runs(&ns, &cronjob, &no_log, &json!({})).await;
    finished(&ns, &no_log).await;
    // A run that cannot start: no node has this pool.
    let stuck = create_cronjob(&ns, "stuck", &format!("nowhere-{}", ns.suffix())).await;
    start_runs(&ns, &stuck, &["stuck-1".to_owned()], &json!({})).await;
    logs_served(&ns, "nightly", &runs).await;

    let first = store
        .archive(&ns, &["--all"])
        .output()
        .expect("run archive");
    let stdout = assert_exit(&first, 0, "the first archive");
    let mut archived = archived_lines(&stdout);
    archived.sort();
    assert_eq!(
        archived,
        [
            "nightly-001",
            "nightly-002",
            "nightly-fail",
            "nightly-gone",
            "nightly-nolog"
        ],
        "{stdout}"
    );
    assert!(
        stdout.contains("archived kwok-kuul/")
            && stdout.contains("nightly-gone (no logs: its pod was gone"),
        "{stdout}"
    );
    assert_eq!(
        summary(&stdout),
        format!(
            "archived 5 runs to {}; 1 in progress, not archived",
            store.url().trim_start_matches("file://")
        ),
        "{stdout}"
    );

    let records = store.records(&ns, "nightly").await;
    assert_eq!(records.len(), 5, "{records:?}");
    let ok = &records["nightly-001"];
    assert_eq!(ok["format"], json!(1));
    assert_eq!(ok["cluster"], json!("kwok-kuul"));
    assert_eq!(ok["namespace"], json!(ns.name()));
    assert_eq!(ok["job"], json!("nightly"));
    assert_eq!(ok["run"], json!("nightly-001"));
    assert_eq!(ok["result"], json!("Succeeded"));
    assert_eq!(ok["trigger"]["kind"], json!("manual"));
    assert_eq!(ok["image"], json!("kuul-base:busybox"));
    assert!(
        ok["specHash"].as_str().unwrap().starts_with("sha256:"),
        "{ok}"
    );
    assert_eq!(ok["specHash"], records["nightly-002"]["specHash"]);
    assert!(
        ok["uid"].as_str().is_some_and(|uid| !uid.is_empty()),
        "{ok}"
    );
    assert_eq!(
        ok["logs"],
        json!([{ "container": "work", "file": "work.log", "gzip": false, "bytes": 23 }])
    );
    assert_eq!(ok["logsLost"], Value::Null);
    let log = store
        .get(&format!(
            "kwok-kuul/{}/nightly/nightly-001/work.log",
            ns.name()
        ))
        .await;
    assert_eq!(text(&log), "nightly-001 says hello\n");
    let fail = &records["nightly-fail"];
    assert_eq!(fail["result"], json!("Failed"));
    assert_eq!(fail["exitCode"], json!(3));
    let log = store
        .get(&format!(
            "kwok-kuul/{}/nightly/nightly-fail/work.log",
            ns.name()
        ))
        .await;
    assert_eq!(text(&log), "nightly-fail says hello\nthen it failed\n");
    let gone = &records["nightly-gone"];
    assert_eq!(gone["pod"], Value::Null);
    assert_eq!(gone["logs"], json!([]));
    assert!(
        gone["logsLost"]
            .as_str()
            .unwrap()
            .contains("its pod was gone"),
        "{gone}"
    );
    let no_log = &records["nightly-nolog"];
    assert_eq!(no_log["logs"], json!([]));
    assert!(
        no_log["logsLost"]
            .as_str()
            .unwrap()
            .starts_with("container work: "),
        "{no_log}"
    );
    assert!(store.records(&ns, "stuck").await.is_empty());

    let before = store.objects().await;
    assert_eq!(before.len(), 5 + 3, "{before:?}");
    let again = store
        .archive(&ns, &["--all"])
        .output()
        .expect("run archive");
    let stdout = assert_exit(&again, 0, "the second archive");
    assert!(archived_lines(&stdout).is_empty(), "{stdout}");
    assert!(
        summary(&stdout).starts_with("archived 0 runs to ")
            && summary(&stdout).ends_with("; 5 already there; 1 in progress, not archived"),
        "{stdout}"
    );
    assert_eq!(store.objects().await, before, "nothing is written again");
}

#[tokio::test]
async fn archive_to_a_folder_then_again_writes_nothing_twice() {
    archive_then_again(TestStore::folder(), "kuul-archive-folder").await;
}

#[tokio::test]
async fn archive_to_s3_then_again_writes_nothing_twice() {
    archive_then_again(TestStore::s3("archive-again"), "kuul-archive-s3").await;
}

/// Every run has a complete folder: its `run.json`, and each log file it lists.
async fn complete(store: &TestStore, ns: &TestNamespace, job: &str, runs: &[String]) {
    let records = store.records(ns, job).await;
    let names: Vec<&String> = records.keys().collect();
    assert_eq!(names, runs.iter().collect::<Vec<_>>());
    let objects = store.objects().await;
    for (run, record) in &records {
        for log in record["logs"].as_array().expect("logs") {
            let file = log["file"].as_str().expect("file");
            let path = format!("kwok-kuul/{}/{job}/{run}/{file}", ns.name());
            assert!(objects.contains_key(&path), "{path} missing: {objects:?}");
            assert_eq!(text(&store.get(&path).await), format!("{run} says hello\n"));
        }
        assert_eq!(record["logs"].as_array().map(Vec::len), Some(1), "{record}");
    }
}

#[tokio::test]
async fn two_archivers_at_once_write_each_run_once() {
    let ns = TestNamespace::new("kuul-archive-two").await;
    let logs = tempfile::tempdir().expect("temp dir");
    let (_, runs) = runs_with_logs(&ns, "busy", 24, logs.path()).await;
    for store in [TestStore::folder(), TestStore::s3("archive-two")] {
        let spawn = || {
            store
                .archive(&ns, &["busy"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start archive")
        };
        let (one, two) = (spawn(), spawn());
        let one = one.wait_with_output().expect("the first archiver ends");
        let two = two.wait_with_output().expect("the second archiver ends");
        let outputs: [&Output; 2] = [&one, &two];
        let mut archived = Vec::new();
        for (n, output) in outputs.iter().enumerate() {
            let stdout = assert_exit(output, 0, &format!("archiver {n}"));
            archived.extend(archived_lines(&stdout));
        }
        // Each run was archived by one of them; the other found it there.
        archived.sort();
        assert_eq!(
            archived,
            runs,
            "{}\n{}",
            text(&one.stdout),
            text(&two.stdout)
        );
        complete(&store, &ns, "busy", &runs).await;
    }
}

#[tokio::test]
async fn a_killed_archive_is_finished_by_the_next() {
    let ns = TestNamespace::new("kuul-archive-kill").await;
    let logs = tempfile::tempdir().expect("temp dir");
    let (_, runs) = runs_with_logs(&ns, "many", 60, logs.path()).await;
    for store in [TestStore::folder(), TestStore::s3("archive-kill")] {
        let mut child = store
            .archive(&ns, &["many"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start archive");
        let mut lines = Lines::of(child.stdout.take().expect("stdout"));
        lines.until(Duration::from_secs(60), "a first archived run", |line| {
            line.starts_with("archived kwok-kuul/")
        });
        child.kill().expect("kill the archiver");
        child.wait().expect("the archiver ends");
        let first = archived_lines(&lines.all());
        // Whatever the killed one left, the next finishes, and a run written whole is
        // not written again.
        let rerun = store
            .archive(&ns, &["many"])
            .output()
            .expect("archive again");
        let stdout = assert_exit(&rerun, 0, "the archive after the kill");
        let second = archived_lines(&stdout);
        assert!(
            !second.is_empty(),
            "the kill came after the first archiver had finished: {first:?}"
        );
        assert!(
            first.iter().all(|run| !second.contains(run)),
            "{first:?} then {second:?}"
        );
        complete(&store, &ns, "many", &runs).await;
    }
}

#[tokio::test]
async fn bad_urls_and_refused_credentials_are_one_line() {
    let ns = TestNamespace::new("kuul-archive-bad").await;
    let logs = tempfile::tempdir().expect("temp dir");
    runs_with_logs(&ns, "lone", 1, logs.path()).await;
    let error_lines = |output: &Output| -> Vec<String> {
        text(&output.stderr)
            .lines()
            .filter(|line| line.starts_with("error: "))
            .map(str::to_owned)
            .collect()
    };
    for url in [
        "gs://bucket/x",
        "s3://Bad_Bucket",
        "s3://kuul-archive//x",
        "file://host/x",
    ] {
        let output = Via::Umbrella
            .command("archive")
            .args(["-n", ns.name(), "--all", "--to", url])
            .output()
            .expect("run archive");
        assert_exit(&output, 2, url);
        let errors = error_lines(&output);
        assert_eq!(errors.len(), 1, "{}", text(&output.stderr));
        assert!(errors[0].contains(url), "{errors:?}");
    }

    let bucket = TestBucket::new("archive-refused");
    let readers = (
        harness_env("KUUL_TEST_S3_READER_ACCESS_KEY"),
        harness_env("KUUL_TEST_S3_READER_SECRET_KEY"),
    );
    for (key, secret, what) in [
        (
            harness_env("KUUL_TEST_S3_ACCESS_KEY"),
            "wrong-secret".to_owned(),
            "a wrong secret",
        ),
        (
            "AKIDNOSUCHKEY".to_owned(),
            "secret".to_owned(),
            "an unknown key",
        ),
        (
            readers.0.clone(),
            readers.1.clone(),
            "a key that may only read",
        ),
    ] {
        let mut cmd = Via::Umbrella.command("archive");
        cmd.args(["-n", ns.name(), "--all", "--to", &bucket.url()]);
        let output = bucket
            .credentials_of(&mut cmd, &key, &secret)
            .output()
            .expect("run archive");
        assert_exit(&output, 1, what);
        let errors = error_lines(&output);
        assert_eq!(errors.len(), 1, "{what}: {}", text(&output.stderr));
        assert!(
            errors[0].starts_with("error: cannot ")
                && errors[0].contains(&bucket.url())
                && errors[0].contains(": access denied ("),
            "{what}: {errors:?}"
        );
        assert!(bucket.objects().await.is_empty(), "{what} wrote nothing");
    }
}

/// The runs `history -o json` lists, as (run, source), newest first.
fn sources(output: &Output, what: &str) -> Vec<(String, String)> {
    let stdout = assert_exit(output, 0, what);
    let runs: Vec<Value> = serde_json::from_str(&stdout).expect("history -o json");
    runs.iter()
        .map(|run| {
            (
                run["run"].as_str().unwrap_or_default().to_owned(),
                run["source"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// After `prune` has deleted runs, `history --archive` lists them with the one the
/// cluster retains, and `logs` reads theirs from the archive: one run, `--all`, `--tail`;
/// the config's `archive:` does the same as the flag. An archive that cannot be read
/// leaves the cluster's runs shown and exits 1; a job deleted from the cluster is listed
/// from its archived runs.
async fn read_back_after_prune(store: TestStore, prefix: &str) {
    let ns = TestNamespace::new(prefix).await;
    let logs = tempfile::tempdir().expect("temp dir");
    let (_, runs) = runs_with_logs(&ns, "daily", 3, logs.path()).await;
    assert_exit(
        &store.archive(&ns, &["daily"]).output().expect("archive"),
        0,
        "archive",
    );
    let pruned = kuul_tests::kuul(
        Via::Umbrella,
        "prune",
        &ns,
        &["daily", "--keep", "1", "--include-manual", "--yes"],
    );
    assert_exit(&pruned, 0, "prune --keep 1");
    eventually(Duration::from_secs(30), "two runs deleted", || async {
        let output = kuul_tests::kuul(Via::Umbrella, "history", &ns, &["daily", "-o", "name"]);
        (text(&output.stdout) == "job.batch/daily-003\n").then_some(())
    })
    .await;

    let expected: Vec<(String, String)> = [
        ("daily-003", "both"),
        ("daily-002", "archive"),
        ("daily-001", "archive"),
    ]
    .iter()
    .map(|(run, source)| ((*run).to_owned(), (*source).to_owned()))
    .collect();
    let listed = store.reading("history", &ns, &["daily", "-o", "json"]);
    assert_eq!(sources(&listed, "history --archive -o json"), expected);
    let table = store.reading("history", &ns, &["daily"]);
    let table = assert_exit(&table, 0, "history --archive");
    let header = table.lines().next().unwrap_or_default();
    assert!(
        header.contains(" SOURCE ") && header.ends_with("MESSAGE"),
        "{table}"
    );
    let row = |run: &str| {
        table
            .lines()
            .find(|line| line.starts_with(run))
            .unwrap_or_else(|| panic!("no row of {run}: {table}"))
            .split_whitespace()
            .last()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(row("daily-001"), "archive");
    assert_eq!(row("daily-003"), "both");

    // The config's archive: is the same as --archive.
    let config = logs.path().join("kuul.yaml");
    std::fs::write(&config, format!("archive: {}\n", store.url())).expect("write config");
    let config = config.to_str().expect("a UTF-8 path");
    let output = store
        .kuul("history", &ns, &["daily", "-o", "json", "--config", config])
        .output()
        .expect("history with the config's archive");
    assert_eq!(
        sources(&output, "history with archive: in the config"),
        expected
    );
    let output = store
        .kuul(
            "history",
            &ns,
            &["daily", "-o", "name", "--config", config, "--no-archive"],
        )
        .output()
        .expect("history --no-archive");
    assert_eq!(
        assert_exit(&output, 0, "history --no-archive"),
        "job.batch/daily-003\n"
    );

    // Logs of a deleted run, from the archive: by position and by name, and --tail.
    let oldest = store.reading("logs", &ns, &["daily", "--run", "3"]);
    assert_eq!(
        assert_exit(&oldest, 0, "logs --run 3"),
        "daily-001 says hello\n"
    );
    let named = store.reading("logs", &ns, &["daily", "--run", "daily-002", "--tail", "1"]);
    assert_eq!(
        assert_exit(&named, 0, "logs --run daily-002"),
        "daily-002 says hello\n"
    );
    let all = store.reading("logs", &ns, &["daily", "--all"]);
    let all = assert_exit(&all, 0, "logs --all");
    let said: Vec<&str> = all.lines().filter(|l| l.ends_with("says hello")).collect();
    assert_eq!(
        said,
        runs.iter()
            .map(|run| format!("{run} says hello"))
            .collect::<Vec<_>>(),
        "{all}"
    );
    // Without the archive, the run is not one the cluster knows.
    let without = kuul_tests::kuul(Via::Umbrella, "logs", &ns, &["daily", "--run", "daily-002"]);
    assert_exit(&without, 1, "logs of a pruned run without the archive");
    assert!(
        text(&without.stderr)
            .contains("job \"daily-002\" is not a retained run of cronjob \"daily\""),
        "{}",
        text(&without.stderr)
    );

    if let TestStore::S3(_) = &store {
        // A store that does not answer: the cluster's run, a warning, exit 1.
        let output = store
            .kuul("history", &ns, &["daily", "-o", "name"])
            .args([
                "--archive",
                &store.url(),
                "--endpoint",
                "http://127.0.0.1:9",
            ])
            .output()
            .expect("history with a store that does not answer");
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert_eq!(text(&output.stdout), "job.batch/daily-003\n");
        assert!(
            stderr.contains("could not be read: only the runs the cluster retains are shown"),
            "{stderr}"
        );
    }

    // The job deleted: its runs are still listed, from the archive.
    let cronjobs: Api<CronJob> = Api::namespaced(ns.client(), ns.name());
    cronjobs
        .delete("daily", &DeleteParams::background())
        .await
        .expect("delete the CronJob");
    let output = eventually(
        Duration::from_secs(30),
        "history of the deleted job",
        || async {
            let output = store.reading("history", &ns, &["daily", "-o", "json"]);
            let listed = sources(&output, "history of a deleted job");
            listed
                .iter()
                .all(|(_, source)| source == "archive")
                .then_some(output)
        },
    )
    .await;
    assert_eq!(sources(&output, "history of a deleted job").len(), 3);
    assert!(
        text(&output.stderr).contains("cronjob \"daily\" is not in namespace"),
        "{}",
        text(&output.stderr)
    );
}

#[tokio::test]
async fn history_and_logs_read_a_folder_archive_after_prune() {
    read_back_after_prune(TestStore::folder(), "kuul-archive-read").await;
}

#[tokio::test]
async fn history_and_logs_read_an_s3_archive_after_prune() {
    read_back_after_prune(TestStore::s3("archive-read"), "kuul-archive-read-s3").await;
}

/// Waits until the namespace's Jobs are `expected`.
async fn jobs_become(ns: &TestNamespace, expected: &[&str]) {
    eventually(
        Duration::from_secs(30),
        &format!("the Jobs left to be {expected:?}"),
        || async { (job_names(ns.client(), ns.name()).await == expected).then_some(()) },
    )
    .await;
}

/// `prune --archive` archives each run before deleting it. A run whose write fails (a
/// file stands where its folder would be) is named and kept, exit 1; the next prune
/// finishes. A store that does not answer stops prune before anything is deleted.
#[tokio::test]
async fn prune_archives_each_run_first_and_keeps_one_it_could_not_archive() {
    let ns = TestNamespace::new("kuul-archive-prune").await;
    let logs = tempfile::tempdir().expect("temp dir");
    let (_, runs) = runs_with_logs(&ns, "weekly", 4, logs.path()).await;
    let store = TestStore::folder();
    let TestStore::Folder(root) = &store else {
        unreachable!("a folder store")
    };
    let job_folder = root.path().join(format!("kwok-kuul/{}/weekly", ns.name()));
    std::fs::create_dir_all(&job_folder).expect("make the job's folder");
    std::fs::write(job_folder.join("weekly-002"), "in the way\n").expect("block a run's folder");
    let prune = ["weekly", "--keep", "1", "--include-manual"];

    let plan = store.reading("prune", &ns, &prune);
    assert_exit(&plan, 0, "prune --archive, the plan");
    let said = text(&plan.stderr);
    assert!(
        said.contains(&format!(
            "would delete 3 runs of 1 job, archiving each run to {} first",
            root.path().display()
        )),
        "{said}"
    );

    let mut with_yes = prune.to_vec();
    with_yes.push("--yes");
    let first = store.reading("prune", &ns, &with_yes);
    let stderr = text(&first.stderr);
    assert_eq!(first.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("archived 2 runs to")
            && stderr.contains(&format!(
                "job {}/weekly-002 (not archived, so not deleted)",
                ns.name()
            )),
        "{stderr}"
    );
    jobs_become(&ns, &["weekly-002", "weekly-004"]).await;
    complete(&store, &ns, "weekly", &[runs[0].clone(), runs[2].clone()]).await;

    std::fs::remove_file(job_folder.join("weekly-002")).expect("unblock");
    let second = store.reading("prune", &ns, &with_yes);
    assert_exit(&second, 0, "prune --archive again");
    assert!(
        text(&second.stderr).contains("archived 1 run to"),
        "{}",
        text(&second.stderr)
    );
    jobs_become(&ns, &["weekly-004"]).await;
    complete(&store, &ns, "weekly", &runs[..3]).await;

    // A store that does not answer: nothing is deleted.
    let bucket = TestStore::s3("archive-prune-down");
    let output = bucket
        .kuul(
            "prune",
            &ns,
            &["weekly", "--keep", "0", "--include-manual", "--yes"],
        )
        .args([
            "--archive",
            &bucket.url(),
            "--endpoint",
            "http://127.0.0.1:9",
        ])
        .output()
        .expect("prune with a store that does not answer");
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error: cannot reach"), "{stderr}");
    assert_eq!(job_names(ns.client(), ns.name()).await, ["weekly-004"]);
}
