//! kuul across an API server that dies under it, for real: the fault tests' own cluster
//! (`tests/cluster/up-faults`) has its kube-apiserver killed with SIGKILL (every
//! connection dropped at once) and started again with the same command line
//! (`tests/cluster/restart-apiserver`). `run-now --wait`, `logs -f` and `status --watch`
//! each go on across a restart, say that they reconnect, and `logs -f` prints every line,
//! also those written while the server was down, exactly once. A `suspend` of 500 jobs
//! whose API server is killed mid-way exits 1 within its request timeout naming what it
//! did not do, and running it again suspends the rest, each job exactly once. The tests
//! take the cluster in turn ([`FaultCluster::take`]), so one test's restart never lands
//! in another's run.

use std::collections::BTreeMap;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher::{self, watcher};
use kuul_tests::{
    FaultCluster, FaultNamespace, GrowingLog, Lines, Via, YEARLY, active_test_run, eventually, text,
};
use serde_json::{Value, json};

/// How long a command may take to notice a restart, reconnect and go on.
const AFTER_RESTART: Duration = Duration::from_secs(60);

/// A suspended kuul job whose pods get `pod` merged into their spec.
fn cronjob(name: &str, pod: &Value) -> CronJob {
    let mut spec = json!({
        "restartPolicy": "Never",
        "nodeSelector": { "kuul.io/pool": "prod" },
        "containers": [{ "name": "work", "image": "kuul-base:busybox" }]
    });
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), pod.as_object()) {
        spec.extend(extra.clone());
    }
    serde_json::from_value(json!({
        "metadata": {
            "name": name,
            "labels": { "app.kubernetes.io/managed-by": "kuul", "kuul.io/job": name }
        },
        "spec": {
            "schedule": YEARLY,
            "suspend": true,
            "concurrencyPolicy": "Allow",
            "jobTemplate": { "spec": {
                "backoffLimit": 0,
                "template": { "metadata": { "labels": { "kuul.io/job": name } }, "spec": spec }
            }}
        }
    }))
    .expect("a valid CronJob")
}

async fn create(ns: &FaultNamespace, cronjob: &CronJob) -> CronJob {
    Api::<CronJob>::namespaced(ns.client(), ns.name())
        .create(&PostParams::default(), cronjob)
        .await
        .expect("create CronJob")
}

/// Starts `kubectl kuul COMMAND -n NS ARGS` on the fault tests' cluster, its output piped.
fn start(cluster: &FaultCluster, command: &str, ns: &FaultNamespace, args: &[&str]) -> Child {
    cluster
        .command(Via::Umbrella, command)
        .args(["-n", ns.name()])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start kubectl kuul {command}: {e}"))
}

/// Waits for `child` to end, off the test's runtime.
async fn ended(child: Child) -> std::process::Output {
    tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("the command's output")
}

/// `run-now --wait` whose run cannot be scheduled until the test lets it (a scheduling
/// gate): the API server restarts while it waits, and it still sees the run through.
#[tokio::test]
async fn run_now_wait_sees_its_run_through_an_api_server_restart() {
    let cluster = FaultCluster::take();
    let ns = cluster.namespace("faults-run-now").await;
    let gate = json!({ "schedulingGates": [{ "name": "kuul.io/test-hold" }] });
    create(&ns, &cronjob("held", &gate)).await;

    let mut waiting = start(
        &cluster,
        "run-now",
        &ns,
        &[
            "held",
            "--name",
            "held-run",
            "--wait",
            "--blocked-timeout",
            "0",
        ],
    );
    let mut progress = Lines::of(waiting.stderr.take().expect("piped stderr"));
    progress.until(AFTER_RESTART, "run-now telling the run Pending", |line| {
        line.contains("Pending")
    });

    let took = cluster.restart_apiserver();
    eprintln!("the API server was back after {took:?}");
    let told = progress.until(AFTER_RESTART, "run-now reconnecting", |line| {
        line.contains("reconnecting to the API server")
    });
    assert!(
        told.starts_with("warning: reconnecting to the API server at https://"),
        "{told}"
    );

    // Now let the run start; run-now must see that through the resumed watches.
    let pods: Api<Pod> = Api::namespaced(ns.client(), ns.name());
    let pod = eventually(AFTER_RESTART, "the run's pod", || async {
        let list = pods
            .list(&ListParams::default().labels("batch.kubernetes.io/job-name=held-run"))
            .await
            .ok()?;
        list.items.into_iter().find_map(|pod| pod.metadata.name)
    })
    .await;
    pods.patch(
        &pod,
        &PatchParams::default(),
        &Patch::Merge(json!({ "spec": { "schedulingGates": null } })),
    )
    .await
    .expect("lift the scheduling gate");

    let output = ended(waiting).await;
    let stderr = progress.all();
    told_reconnects("run-now --wait", &stderr);
    assert_eq!(output.status.code(), Some(0), "run-now --wait: {stderr}");
    assert_eq!(text(&output.stdout), "job.batch/held-run created\n");
    assert!(stderr.contains("job.batch/held-run succeeded"), "{stderr}");
    assert!(
        stderr.contains("reconnected to the API server after "),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("reconnecting").count(),
        1,
        "one line per outage: {stderr}"
    );
}

/// A run in progress whose pod the test plays itself (a Job the Job controller leaves
/// alone, and a pod without an owner, which kwok keeps Running): `logs -f` follows a log
/// that grows before, during and after an API server outage, and prints each line once.
#[tokio::test]
async fn logs_follow_loses_no_line_across_an_api_server_outage() {
    let cluster = FaultCluster::take();
    let ns = cluster.namespace("faults-logs").await;
    let owner = create(&ns, &cronjob("tail", &json!({}))).await;
    let job = active_test_run(ns.client(), ns.name(), &owner, "tail-run", Duration::ZERO).await;
    let pod = held_pod(&ns, &job, "tail-run-pod").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let log = GrowingLog::new(dir.path(), &pod);
    ns.follow_log(&pod, &log).await;
    let mut written = Vec::new();
    let mut write = |line: String| {
        log.write(&line);
        written.push(line);
    };
    for n in 1..=5 {
        write(format!("line {n} before"));
    }
    ns.log_served(&pod, "line 5 before").await;

    let mut follower = start(
        &cluster,
        "logs",
        &ns,
        &["tail", "-f", "--blocked-timeout", "0"],
    );
    let mut lines = Lines::of(follower.stdout.take().expect("piped stdout"));
    let mut progress = Lines::of(follower.stderr.take().expect("piped stderr"));
    lines.until(AFTER_RESTART, "logs -f printing the fifth line", |line| {
        line == "line 5 before"
    });

    cluster.stop_apiserver();
    for n in 1..=3 {
        write(format!("line {n} while the API server is down"));
    }
    let took = cluster.start_apiserver();
    eprintln!("the API server was ready {took:?} after its start");
    for n in 1..=3 {
        write(format!("line {n} after"));
    }
    lines.until(AFTER_RESTART, "logs -f printing the last line", |line| {
        line == "line 3 after"
    });
    progress.until(AFTER_RESTART, "logs -f reconnecting", |line| {
        line.contains("reconnecting to the API server")
    });

    finish_held_run(&ns, &job, &pod).await;
    let output = ended(follower).await;
    let stderr = progress.all();
    told_reconnects("logs -f", &stderr);
    assert_eq!(output.status.code(), Some(0), "logs -f: {stderr}");
    let expected: String = written.iter().map(|line| format!("{line}\n")).collect();
    assert_eq!(
        lines.all(),
        expected,
        "every line once, in order; stderr: {stderr}"
    );
}

/// The time now, to the second, as the API takes it.
fn now() -> String {
    k8s_openapi::jiff::Timestamp::now()
        .round(k8s_openapi::jiff::Unit::Second)
        .expect("a time to the second")
        .to_string()
}

/// The pod of `job`, on a kwok node, without an owner: kwok runs it and, since no Job
/// owns it, never completes it.
async fn held_pod(ns: &FaultNamespace, job: &Job, name: &str) -> String {
    let pods: Api<Pod> = Api::namespaced(ns.client(), ns.name());
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {
            "name": name,
            "labels": {
                "batch.kubernetes.io/controller-uid": job.metadata.uid,
                "batch.kubernetes.io/job-name": job.metadata.name,
                "kuul.io/job": "tail"
            }
        },
        "spec": {
            "nodeName": "kuul-prod-1",
            "restartPolicy": "Never",
            "containers": [{ "name": "work", "image": "kuul-base:busybox" }]
        }
    }))
    .expect("a valid Pod");
    pods.create(&PostParams::default(), &pod)
        .await
        .expect("create the pod");
    eventually(Duration::from_secs(30), "the pod Running", || async {
        let pod = pods.get(name).await.ok()?;
        (pod.status?.phase.as_deref() == Some("Running")).then_some(())
    })
    .await;
    name.to_owned()
}

/// Ends the held run as the kubelet and the Job controller would: the pod succeeded,
/// then the Job completed.
async fn finish_held_run(ns: &FaultNamespace, job: &Job, pod: &str) {
    let now = now();
    Api::<Pod>::namespaced(ns.client(), ns.name())
        .patch_status(
            pod,
            &PatchParams::default(),
            &Patch::Merge(
                json!({ "status": { "phase": "Succeeded", "containerStatuses": [{
                    "name": "work", "image": "kuul-base:busybox", "imageID": "", "ready": false,
                    "restartCount": 0,
                    "state": { "terminated": { "exitCode": 0, "reason": "Completed",
                        "startedAt": now, "finishedAt": now } }
                }]}}),
            ),
        )
        .await
        .expect("the pod succeeded");
    let condition =
        |type_: &str| json!({ "type": type_, "status": "True", "lastTransitionTime": now });
    Api::<Job>::namespaced(ns.client(), ns.name())
        .patch_status(
            job.metadata.name.as_deref().expect("named"),
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": {
                "active": 0, "succeeded": 1, "completionTime": now,
                "conditions": [condition("SuccessCriteriaMet"), condition("Complete")]
            }})),
        )
        .await
        .expect("the Job completed");
}

/// `status --watch` (one table per change, as stdout is not a terminal) goes on across a
/// restart: a job made after it shows up in a new table.
#[tokio::test]
async fn status_watch_goes_on_across_an_api_server_restart() {
    let cluster = FaultCluster::take();
    let ns = cluster.namespace("faults-status").await;
    create(&ns, &cronjob("before", &json!({}))).await;
    let mut watching = start(&cluster, "status", &ns, &["--watch"]);
    let mut tables = Lines::of(watching.stdout.take().expect("piped stdout"));
    let mut progress = Lines::of(watching.stderr.take().expect("piped stderr"));
    tables.until(AFTER_RESTART, "the first table", |line| {
        line.starts_with("before ")
    });

    let took = cluster.restart_apiserver();
    eprintln!("the API server was back after {took:?}");
    progress.until(AFTER_RESTART, "status --watch reconnecting", |line| {
        line.contains("reconnecting to the API server")
    });
    create(&ns, &cronjob("after", &json!({}))).await;
    tables.until(
        AFTER_RESTART,
        "a table with the job made after the restart",
        |line| line.starts_with("after "),
    );
    watching.kill().expect("stop status --watch");
    let _ = watching.wait();
    told_reconnects("status --watch", &progress.all());
}

/// Shows what a command said about reconnecting, for the record of how long it took.
fn told_reconnects(command: &str, stderr: &str) {
    for line in stderr.lines().filter(|line| line.contains("reconnect")) {
        eprintln!("{command}: {line}");
    }
}

/// `suspend --all` of 500 jobs whose API server is killed while it writes: exit 1 within
/// the request timeout, with the jobs it did suspend in its table and the ones it did not
/// named; the same command again suspends exactly the rest, leaving the first ones as
/// they were (one suspension each, with kuul's marks).
#[tokio::test]
async fn suspend_interrupted_by_the_api_servers_death_is_finished_by_a_rerun() {
    const JOBS: usize = 500;
    let cluster = FaultCluster::take();
    let ns = cluster.namespace("faults-suspend").await;
    let api: Api<CronJob> = Api::namespaced(ns.client(), ns.name());
    let mut active = cronjob("job", &json!({}));
    active.spec.suspend = Some(false);
    futures_util::stream::iter(0..JOBS)
        .map(|n| {
            let mut cronjob = active.clone();
            cronjob.metadata.name = Some(format!("job-{n:03}"));
            let api = api.clone();
            async move { api.create(&PostParams::default(), &cronjob).await }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await
        .expect("create the CronJobs");

    // Kill the API server as soon as the first suspension is seen, from a watch.
    let mut changes = Box::pin(watcher(api.clone(), watcher::Config::default()));
    let suspending = start(
        &cluster,
        "suspend",
        &ns,
        &["--all", "--reason", "first", "--request-timeout", "10s"],
    );
    loop {
        let event = tokio::time::timeout(AFTER_RESTART, changes.next())
            .await
            .expect("a change within a minute")
            .expect("the watch goes on")
            .expect("a watch event");
        if let watcher::Event::Apply(cronjob) = event
            && cronjob.spec.suspend == Some(true)
        {
            break;
        }
    }
    drop(changes);
    cluster.stop_apiserver();
    let killed = Instant::now();
    let first = ended(suspending).await;
    let exited = killed.elapsed();
    let stderr = text(&first.stderr);
    assert_eq!(first.status.code(), Some(1), "suspend: {stderr}");
    assert!(
        exited < Duration::from_secs(10),
        "within --request-timeout: {exited:?}"
    );
    let table = text(&first.stdout);
    let reported_done: Vec<String> = rows_now(&table, "suspended");
    let reported_failed: Vec<String> = rows_now(&table, "failed, still active");
    eprintln!(
        "killed mid-way: {} suspended, {} not, exit {exited:?} after the kill",
        reported_done.len(),
        reported_failed.len()
    );
    assert_eq!(reported_done.len() + reported_failed.len(), JOBS, "{table}");
    assert!(
        !reported_failed.is_empty(),
        "the kill came too late: {table}"
    );
    let summary = stderr
        .lines()
        .find(|line| line.starts_with("error: could not suspend "))
        .unwrap_or_else(|| panic!("no summary: {stderr}"));
    assert!(
        summary.starts_with(&format!(
            "error: could not suspend {} of {JOBS} job(s)",
            reported_failed.len()
        )),
        "{summary}"
    );
    for name in &reported_failed {
        assert!(
            summary.contains(&format!("/{name}")),
            "{name} not named: {summary}"
        );
    }
    assert!(
        stderr.lines().filter(|l| l.starts_with("error: ")).count() < 10,
        "each cause told once, not once per job: {stderr}"
    );

    cluster.start_apiserver();
    let before: BTreeMap<String, (String, String)> = marks(&api).await;
    for name in &reported_done {
        assert_eq!(before[name].0, "first", "{name} was reported suspended");
    }
    let second = cluster
        .command(Via::Umbrella, "suspend")
        .args(["-n", ns.name(), "--all", "--reason", "second"])
        .output()
        .expect("run suspend again");
    assert_eq!(
        second.status.code(),
        Some(0),
        "rerun: {}",
        text(&second.stderr)
    );
    let after = marks(&api).await;
    assert_eq!(after.len(), JOBS);
    for (name, (reason, version)) in &after {
        match before.get(name) {
            // Suspended by the first run (reported or not: a write in flight when the
            // server died may have landed): left exactly as it was.
            Some((first, first_version)) if first == "first" => {
                assert_eq!(reason, "first", "{name}");
                assert_eq!(version, first_version, "{name} written again");
            }
            _ => assert_eq!(reason, "second", "{name} suspended by the rerun"),
        }
    }
}

/// The `NOW` cell of each row of suspend's table that says `now`, by job name.
fn rows_now(table: &str, now: &str) -> Vec<String> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cells: Vec<&str> = line
                .split("   ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect();
            (cells.get(2) == Some(&now)).then(|| cells[0].to_owned())
        })
        .collect()
}

/// Each job's suspend reason (empty when it is active) and resource version; a suspended
/// job must carry all of kuul's marks.
async fn marks(api: &Api<CronJob>) -> BTreeMap<String, (String, String)> {
    let list = api
        .list(&ListParams::default())
        .await
        .expect("list CronJobs");
    list.items
        .into_iter()
        .map(|cronjob| {
            let name = cronjob.metadata.name.clone().expect("named");
            let annotations = cronjob.metadata.annotations.clone().unwrap_or_default();
            let suspended = cronjob.spec.suspend == Some(true);
            let reason = annotations
                .get("kuul.io/suspend-reason")
                .cloned()
                .unwrap_or_default();
            if suspended {
                for mark in ["kuul.io/suspended-by", "kuul.io/suspended-at"] {
                    assert!(annotations.contains_key(mark), "{name} lacks {mark}");
                }
            } else {
                assert!(reason.is_empty(), "{name} is active but marked");
            }
            let version = cronjob.metadata.resource_version.unwrap_or_default();
            (name, (reason, version))
        })
        .collect()
}
