//! `kubectl kuul prune` against the real local cluster, through kubectl, the plugin
//! binary and the umbrella: exact plans and deletions, active and manual runs kept, the
//! garbage collector removing the pods, orphaned pods, 2,000 runs in one go, and bad
//! input that exits 2 and deletes nothing.
//!
//! Most runs here are Jobs with `spec.managedBy` set to a name of the test's, so the Job
//! controller leaves them alone and the test writes their status itself: that makes
//! finished runs of any age in milliseconds, without pods. Runs that really ran (for the
//! garbage collector and orphan checks) are ordinary Jobs that kwok's pods finish.

use std::process::Output;
use std::time::{Duration, Instant};

use futures_util::{StreamExt, stream};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kuul_tests::{TEST_JOB_MANAGER, TestNamespace, Via, assert_exit, eventually, merged, text};
use serde_json::{Value, json};

fn prune(via: Via, ns: &TestNamespace, args: &[&str]) -> Output {
    via.command("prune")
        .args(["-n", ns.name()])
        .args(args)
        .output()
        .expect("run kubectl kuul prune")
}

/// The RUN column of a plan table (orphaned pods included as `pod/NAME`), sorted.
fn planned(output: &Output) -> Vec<String> {
    let mut runs: Vec<String> = text(&output.stdout)
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().nth(1).map(str::to_owned))
        .collect();
    runs.sort();
    runs
}

/// The result of a run the test finishes itself.
#[derive(Clone, Copy)]
enum Result_ {
    Succeeded,
    Failed,
    /// Never finishes.
    Active,
}

fn job_manifest(name: &str, kuul_job: &str, managed: bool, manual: bool, pod: &Value) -> Job {
    let annotations = if manual {
        json!({ "cronjob.kubernetes.io/instantiate": "manual" })
    } else {
        json!({})
    };
    let mut spec = json!({
        "backoffLimit": 0,
        "template": {
            "metadata": { "labels": { "kuul.io/job": kuul_job } },
            "spec": merged(&json!({
                "restartPolicy": "Never",
                "containers": [{ "name": "work", "image": "kuul-base:busybox" }]
            }), pod)
        }
    });
    if managed {
        spec["managedBy"] = json!(TEST_JOB_MANAGER);
    }
    serde_json::from_value(json!({
        "metadata": {
            "name": name,
            "labels": { "kuul.io/job": kuul_job, "app.kubernetes.io/managed-by": "kuul" },
            "annotations": annotations
        },
        "spec": spec
    }))
    .expect("a valid Job")
}

/// Creates a run of `kuul_job` whose status the test writes: finished `age` ago with
/// `result`, or active.
async fn test_run(
    jobs: &Api<Job>,
    name: &str,
    kuul_job: &str,
    result: Result_,
    age: Duration,
    manual: bool,
) {
    jobs.create(
        &PostParams::default(),
        &job_manifest(name, kuul_job, true, manual, &json!({})),
    )
    .await
    .unwrap_or_else(|e| panic!("create Job {name}: {e}"));
    let at = |offset: u64| {
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            - age.as_secs()
            - offset;
        k8s_openapi::jiff::Timestamp::from_second(i64::try_from(seconds).unwrap())
            .unwrap()
            .to_string()
    };
    let condition =
        |type_: &str| json!({ "type": type_, "status": "True", "lastTransitionTime": at(0) });
    let status = match result {
        Result_::Succeeded => json!({
            "startTime": at(60), "completionTime": at(0), "succeeded": 1,
            "conditions": [condition("SuccessCriteriaMet"), condition("Complete")]
        }),
        Result_::Failed => json!({
            "startTime": at(60), "failed": 1,
            "conditions": [condition("FailureTarget"), condition("Failed")]
        }),
        Result_::Active => json!({ "startTime": at(0), "active": 1 }),
    };
    jobs.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({ "status": status })),
    )
    .await
    .unwrap_or_else(|e| panic!("set status of Job {name}: {e}"));
}

const DAY: Duration = Duration::from_secs(86_400);

/// backup: succeeded 1..=5 days ago, failed 6 and 7 days ago, a manual run 1 day ago, an
/// active run; report: succeeded 1..=3 days ago.
async fn history(ns: &TestNamespace) {
    let jobs: Api<Job> = Api::namespaced(ns.client(), ns.name());
    for day in 1..=5 {
        test_run(
            &jobs,
            &format!("backup-ok-{day}"),
            "backup",
            Result_::Succeeded,
            DAY * day,
            false,
        )
        .await;
    }
    for day in 6..=7 {
        test_run(
            &jobs,
            &format!("backup-failed-{day}"),
            "backup",
            Result_::Failed,
            DAY * day,
            false,
        )
        .await;
    }
    test_run(
        &jobs,
        "backup-manual",
        "backup",
        Result_::Succeeded,
        DAY,
        true,
    )
    .await;
    test_run(
        &jobs,
        "backup-active",
        "backup",
        Result_::Active,
        DAY * 9,
        false,
    )
    .await;
    for day in 1..=3 {
        test_run(
            &jobs,
            &format!("report-ok-{day}"),
            "report",
            Result_::Succeeded,
            DAY * day,
            false,
        )
        .await;
    }
}

fn names(list: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn plans_show_exact_runs_and_change_nothing() {
    let ns = TestNamespace::new("kuul-prune-plan").await;
    history(&ns).await;
    let before = ns.names::<Job>().await;
    assert_eq!(before.len(), 12);
    for via in Via::ALL {
        let keep = prune(via, &ns, &["--keep", "2"]);
        assert_exit(&keep, 0, &format!("{via:?} --keep 2"));
        assert_eq!(
            planned(&keep),
            names(&[
                "backup-ok-3",
                "backup-ok-4",
                "backup-ok-5",
                "backup-failed-6",
                "backup-failed-7",
                "report-ok-3"
            ]),
            "{via:?}"
        );
        assert_eq!(
            text(&keep.stdout)
                .lines()
                .next()
                .unwrap()
                .split_whitespace()
                .collect::<Vec<_>>(),
            ["JOB", "RUN", "RESULT", "FINISHED", "AGE", "PODS"]
        );
        assert!(
            text(&keep.stderr)
                .contains("would delete 6 runs of 2 jobs; keeping 6 (1 not finished, 1 manual"),
            "{}",
            text(&keep.stderr)
        );
    }
    let older = prune(
        Via::Plugin,
        &ns,
        &["--older-than", "4d12h", "--include-manual"],
    );
    assert_eq!(
        planned(&older),
        names(&["backup-ok-5", "backup-failed-6", "backup-failed-7"])
    );
    let failed = prune(Via::Plugin, &ns, &["backup", "--failed", "--keep", "1"]);
    assert_eq!(planned(&failed), names(&["backup-failed-7"]));
    let succeeded = prune(
        Via::Plugin,
        &ns,
        &["report", "--succeeded", "--older-than", "2d12h"],
    );
    assert_eq!(planned(&succeeded), names(&["report-ok-3"]));
    let selected = prune(Via::Plugin, &ns, &["-l", "kuul.io/job=report"]);
    assert_eq!(
        planned(&selected),
        names(&["report-ok-1", "report-ok-2", "report-ok-3"])
    );
    assert_eq!(ns.names::<Job>().await, before, "a plan deletes nothing");
}

#[tokio::test]
async fn yes_deletes_exactly_the_plan_and_keeps_active_and_manual_runs() {
    let ns = TestNamespace::new("kuul-prune-yes").await;
    history(&ns).await;
    let keep = prune(Via::Kubectl, &ns, &["--keep", "2", "--yes"]);
    assert_exit(&keep, 0, "--keep 2 --yes");
    assert!(
        text(&keep.stdout).starts_with("deleted 6 runs of 2 jobs; keeping 6"),
        "{}",
        text(&keep.stdout)
    );
    assert_eq!(
        ns.names::<Job>().await,
        names(&[
            "backup-active",
            "backup-manual",
            "backup-ok-1",
            "backup-ok-2",
            "report-ok-1",
            "report-ok-2"
        ])
    );
    // Everything finished goes, but never the active run, and manual runs only when asked.
    let all = prune(Via::Umbrella, &ns, &["--yes"]);
    assert_exit(&all, 0, "--yes");
    assert!(
        text(&all.stdout).starts_with("deleted 4 runs of 2 jobs"),
        "{}",
        text(&all.stdout)
    );
    assert_eq!(
        ns.names::<Job>().await,
        names(&["backup-active", "backup-manual"])
    );
    let manual = prune(Via::Plugin, &ns, &["--yes", "--include-manual"]);
    assert_exit(&manual, 0, "--include-manual --yes");
    assert!(
        text(&manual.stdout).starts_with("deleted 1 run of 1 job; keeping 1 (1 not finished)"),
        "{}",
        text(&manual.stdout)
    );
    assert_eq!(ns.names::<Job>().await, names(&["backup-active"]));
    let again = prune(Via::Plugin, &ns, &["--yes", "--include-manual"]);
    assert_exit(&again, 0, "nothing left");
    assert!(
        text(&again.stderr).contains("nothing to prune"),
        "{}",
        text(&again.stderr)
    );
}

fn finished(job: &Job) -> bool {
    job.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| {
            c.iter()
                .any(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
        })
}

#[tokio::test]
async fn garbage_collector_removes_pods_orphans_go_and_pending_runs_stay() {
    let ns = TestNamespace::new("kuul-prune-gc").await;
    let jobs: Api<Job> = Api::namespaced(ns.client(), ns.name());
    let pending = json!({ "nodeSelector": { "kuul.io/pool": "no-such-pool-for-prune" } });
    for (name, pod) in [
        ("done-1", json!({})),
        ("done-2", json!({})),
        ("orphaned", json!({})),
        ("pending", pending),
    ] {
        jobs.create(
            &PostParams::default(),
            &job_manifest(name, "nightly", false, false, &pod),
        )
        .await
        .expect("create Job");
    }
    eventually(Duration::from_secs(60), "three Jobs finished", || async {
        let list = jobs.list(&ListParams::default()).await.expect("list Jobs");
        (list.items.iter().filter(|job| finished(job)).count() == 3).then_some(())
    })
    .await;
    // Leaves the pod behind without an owner, as `kubectl delete job --cascade=orphan` does.
    jobs.delete("orphaned", &DeleteParams::orphan())
        .await
        .expect("delete with orphan");
    eventually(Duration::from_secs(60), "the orphaned Job gone", || async {
        jobs.get_opt("orphaned")
            .await
            .expect("get Job")
            .is_none()
            .then_some(())
    })
    .await;
    let pods_before = ns.names::<Pod>().await;
    assert_eq!(pods_before.len(), 4, "{pods_before:?}");

    let plan = prune(Via::Kubectl, &ns, &["--orphans"]);
    assert_exit(&plan, 0, "plan with --orphans");
    let orphan = pods_before
        .iter()
        .find(|p| p.starts_with("orphaned-"))
        .unwrap();
    assert_eq!(
        planned(&plan),
        names(&["done-1", "done-2", &format!("pod/{orphan}")])
    );
    let rows = text(&plan.stdout);
    assert!(
        rows.lines().any(|l| l.starts_with("nightly")
            && l.contains("done-1")
            && l.trim_end().ends_with(" 1")),
        "{rows}"
    );

    let yes = prune(Via::Plugin, &ns, &["--orphans", "--yes"]);
    assert_exit(&yes, 0, "--orphans --yes");
    assert!(
        text(&yes.stdout)
            .starts_with("deleted 2 runs of 1 job and 1 orphaned pod; keeping 1 (1 not finished)"),
        "{}",
        text(&yes.stdout)
    );
    assert_eq!(ns.names::<Job>().await, ["pending"]);
    eventually(
        Duration::from_secs(60),
        "the garbage collector removing the pods of the deleted runs",
        || async {
            let pods = ns.names::<Pod>().await;
            (pods.len() == 1 && pods[0].starts_with("pending-")).then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn bad_input_exits_2_and_deletes_nothing() {
    let ns = TestNamespace::new("kuul-prune-bad").await;
    let jobs: Api<Job> = Api::namespaced(ns.client(), ns.name());
    test_run(&jobs, "old", "backup", Result_::Succeeded, DAY, false).await;
    let bad: [&[&str]; 9] = [
        &["--older-than", "7", "--yes"],
        &["--older-than", "7x", "--yes"],
        &["--older-than", "-1d", "--yes"],
        &["--older-than", "1.5", "--yes"],
        &["--keep=-1", "--yes"],
        &["--keep", "many", "--yes"],
        &["--failed", "--succeeded", "--yes"],
        &["-l", "team in (ops", "--yes"],
        &["Not_A_Job!", "--yes"],
    ];
    for via in Via::ALL {
        for args in bad {
            let output = prune(via, &ns, args);
            assert_exit(&output, 2, &format!("{via:?} {args:?}"));
            assert!(output.stdout.is_empty(), "{via:?} {args:?}");
        }
    }
    assert_eq!(ns.names::<Job>().await, ["old"]);
}

#[tokio::test]
async fn two_thousand_finished_runs_in_one_prune() {
    const RUNS: usize = 2_000;
    let ns = TestNamespace::new("kuul-prune-bulk").await;
    let jobs: Api<Job> = Api::namespaced(ns.client(), ns.name());
    let started = Instant::now();
    stream::iter(0..RUNS)
        .for_each_concurrent(64, |i| {
            let jobs = jobs.clone();
            async move {
                let result = if i % 10 == 0 {
                    Result_::Failed
                } else {
                    Result_::Succeeded
                };
                test_run(
                    &jobs,
                    &format!("bulk-{i:05}"),
                    &format!("job-{}", i % 4),
                    result,
                    DAY,
                    false,
                )
                .await;
            }
        })
        .await;
    let created = started.elapsed();

    let started = Instant::now();
    let plan = prune(Via::Plugin, &ns, &["--keep", "5"]);
    let planning = started.elapsed();
    assert_exit(&plan, 0, "plan of 2,000 runs");
    assert_eq!(planned(&plan).len(), RUNS - 4 * 5);

    let started = Instant::now();
    let output = prune(Via::Plugin, &ns, &["--yes"]);
    let pruning = started.elapsed();
    assert_exit(&output, 0, "prune of 2,000 runs");
    assert_eq!(
        text(&output.stdout),
        format!("deleted {RUNS} runs of 4 jobs\n")
    );
    assert!(ns.names::<Job>().await.is_empty());
    eprintln!(
        "2,000 runs: created in {created:.1?}, planned in {planning:.1?}, pruned in {pruning:.1?}"
    );
}
