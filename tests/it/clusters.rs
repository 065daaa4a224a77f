//! Commands on several clusters at once, for real: the shared local cluster and the fault
//! tests' cluster as two contexts of one kubeconfig (`kuul-a`, `kuul-b`,
//! [`TwoClusters`]), each with its own API server, state and pools. One table across
//! both with a CONTEXT column; a cluster whose API server is stopped is one line naming
//! it, the other is still shown, and the exit status says so.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use kube::Client;
use kube::api::{Api, ListParams, PostParams};
use kuul_tests::{
    Lines, TwoClusters, Via, YEARLY, eventually, job_names, kuul_cronjob, text, until_stopped,
};
use serde_json::{Value, json};

async fn create(client: Client, namespace: &str, name: &str) {
    Api::<CronJob>::namespaced(client, namespace)
        .create(
            &PostParams::default(),
            &kuul_cronjob(name, YEARLY, false, "prod", &json!({})),
        )
        .await
        .unwrap_or_else(|e| panic!("create CronJob {name}: {e}"));
}

/// The (CONTEXT, NAME) of each row of a status table.
fn rows(table: &str) -> Vec<(String, String)> {
    table
        .lines()
        .skip(1)
        .map(|line| {
            let mut cells = line.split_whitespace();
            (
                cells.next().unwrap_or_default().to_owned(),
                cells.next().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn status_reads_several_clusters_into_one_table() {
    let two = TwoClusters::take();
    let (a, b) = two.namespace("multi-status").await;
    create(a.client(), a.name(), "nightly").await;
    create(b.client(), b.name(), "nightly").await;
    create(b.client(), b.name(), "only-b").await;
    let status = |args: &[&str]| {
        two.command(Via::Umbrella, "status")
            .args(["-n", a.name()])
            .args(args)
            .output()
            .expect("run status")
    };
    let both = ["--context", "kuul-a", "--context", "kuul-b"];

    let output = status(&both);
    let table = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(table.starts_with("CONTEXT "), "{table}");
    let expected: Vec<(String, String)> = [
        ("kuul-a", "nightly"),
        ("kuul-b", "nightly"),
        ("kuul-b", "only-b"),
    ]
    .iter()
    .map(|(c, n)| ((*c).to_owned(), (*n).to_owned()))
    .collect();
    assert_eq!(rows(&table), expected, "{table}");
    // The same with a glob, and in JSON each job says its context.
    let glob = status(&["--contexts", "kuul-*"]);
    assert_eq!(rows(&text(&glob.stdout)), expected);
    let json = status(&["--contexts", "kuul-*", "-o", "json"]);
    let jobs: Vec<Value> = serde_json::from_slice(&json.stdout).expect("status -o json");
    let contexts: Vec<&str> = jobs.iter().filter_map(|j| j["context"].as_str()).collect();
    assert_eq!(contexts, ["kuul-a", "kuul-b", "kuul-b"]);
    // One cluster alone: no CONTEXT column, as before.
    let one = status(&["--context", "kuul-b"]);
    assert!(
        text(&one.stdout).starts_with("NAME "),
        "{}",
        text(&one.stdout)
    );
    let check = status(&[&both[..], &["--check"]].concat());
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));

    // kuul-b's API server stopped: one line naming it; kuul-a still shown; exit 1.
    two.other.stop_apiserver();
    let output = status(&both);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(
        rows(&text(&output.stdout)),
        expected[..1],
        "{}",
        text(&output.stdout)
    );
    let named: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("error: context kuul-b: "))
        .collect();
    assert_eq!(named.len(), 1, "{stderr}");
    assert!(
        stderr.contains("1 of 2 clusters could not be read: kuul-b"),
        "{stderr}"
    );
    // --check counts the unreachable cluster as a problem.
    let check = status(&[&both[..], &["--check"]].concat());
    let stderr = text(&check.stderr);
    assert_eq!(check.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("cluster kuul-b could not be read"),
        "{stderr}"
    );
    two.other.start_apiserver();
}

/// Starts the run `run` of the `CronJob` `job` (a Job it controls, as `run-now` makes
/// one).
async fn start_run(client: Client, namespace: &str, job: &str, run: &str) {
    let cronjob = Api::<CronJob>::namespaced(client.clone(), namespace)
        .get(job)
        .await
        .expect("get the CronJob");
    let template = serde_json::to_value(&cronjob.spec.job_template).expect("its template");
    let created: Job = serde_json::from_value(json!({
        "metadata": {
            "name": run,
            "labels": { "kuul.io/job": job, "app.kubernetes.io/managed-by": "kuul" },
            "annotations": { "cronjob.kubernetes.io/instantiate": "manual" },
            "ownerReferences": [{
                "apiVersion": "batch/v1", "kind": "CronJob", "name": job,
                "uid": cronjob.metadata.uid, "controller": true
            }]
        },
        "spec": template["spec"]
    }))
    .expect("a valid Job");
    Api::<Job>::namespaced(client, namespace)
        .create(&PostParams::default(), &created)
        .await
        .unwrap_or_else(|e| panic!("create Job {run}: {e}"));
}

/// `history` and `logs --all` across two clusters: one timeline, newest first in
/// history and oldest first in logs, each run naming its context; with one cluster
/// stopped, the other's runs and a line naming it, exit 1.
#[tokio::test]
async fn history_and_logs_merge_a_jobs_runs_across_clusters() {
    let two = TwoClusters::take();
    let (a, b) = two.namespace("multi-history").await;
    create(a.client(), a.name(), "daily").await;
    create(b.client(), b.name(), "daily").await;
    // Names grow with time, as scheduled runs' do: a, then b, then a.
    start_run(a.client(), a.name(), "daily", "daily-1").await;
    start_run(b.client(), b.name(), "daily", "daily-2").await;
    start_run(a.client(), a.name(), "daily", "daily-3").await;
    let kuul = |command: &str, args: &[&str]| {
        two.command(Via::Umbrella, command)
            .args(["-n", a.name(), "daily", "--contexts", "kuul-*"])
            .args(args)
            .output()
            .expect("run kuul")
    };

    let history = kuul("history", &[]);
    let table = text(&history.stdout);
    assert_eq!(history.status.code(), Some(0), "{}", text(&history.stderr));
    assert!(table.starts_with("CONTEXT "), "{table}");
    let timeline: Vec<(String, String)> = [
        ("kuul-a", "daily-3"),
        ("kuul-b", "daily-2"),
        ("kuul-a", "daily-1"),
    ]
    .iter()
    .map(|(c, r)| ((*c).to_owned(), (*r).to_owned()))
    .collect();
    assert_eq!(rows(&table), timeline, "{table}");
    let json = kuul("history", &["-o", "json"]);
    let runs: Vec<Value> = serde_json::from_slice(&json.stdout).expect("history -o json");
    let contexts: Vec<&str> = runs.iter().filter_map(|r| r["context"].as_str()).collect();
    assert_eq!(contexts, ["kuul-a", "kuul-b", "kuul-a"]);

    let logs = kuul("logs", &["--all"]);
    let headers: Vec<String> = text(&logs.stdout)
        .lines()
        .filter_map(|line| line.strip_prefix("=== run "))
        .map(|rest| rest.split(" · ").take(2).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        headers,
        ["daily-1 kuul-a", "daily-2 kuul-b", "daily-3 kuul-a"],
        "{}",
        text(&logs.stdout)
    );

    two.other.stop_apiserver();
    let history = kuul("history", &[]);
    let stderr = text(&history.stderr);
    assert_eq!(history.status.code(), Some(1), "{stderr}");
    assert_eq!(
        rows(&text(&history.stdout)),
        [timeline[0].clone(), timeline[2].clone()],
        "{}",
        text(&history.stdout)
    );
    assert!(stderr.contains("error: context kuul-b: "), "{stderr}");
    assert!(
        stderr.contains("1 of 2 clusters could not be read: kuul-b"),
        "{stderr}"
    );
    two.other.start_apiserver();
}

/// Whether each cluster's `CronJob` `name` is suspended: (kuul-a, kuul-b).
async fn suspended(a: Client, b: Client, namespace: &str, name: &str) -> (bool, bool) {
    let get = |client: Client| async move {
        Api::<CronJob>::namespaced(client, namespace)
            .get(name)
            .await
            .expect("get the CronJob")
            .spec
            .suspend
            .unwrap_or(false)
    };
    (get(a).await, get(b).await)
}

/// `suspend` and `resume` on two clusters at once: one table with a CONTEXT column, each
/// cluster's job changed; with one cluster stopped, the other is still changed, and the
/// stopped one is named, exit 1.
#[tokio::test]
async fn suspend_and_resume_work_on_several_clusters() {
    let two = TwoClusters::take();
    let (a, b) = two.namespace("multi-suspend").await;
    create(a.client(), a.name(), "nightly").await;
    create(b.client(), b.name(), "nightly").await;
    let kuul = |command: &str, args: &[&str]| {
        two.command(Via::Umbrella, command)
            .args(["-n", a.name()])
            .args(args)
            .output()
            .expect("run kuul")
    };
    let both = ["nightly", "--context", "kuul-a", "--context", "kuul-b"];

    let suspend = kuul("suspend", &[&both[..], &["--reason", "drill"]].concat());
    let table = text(&suspend.stdout);
    assert_eq!(suspend.status.code(), Some(0), "{}", text(&suspend.stderr));
    assert!(table.starts_with("CONTEXT "), "{table}");
    assert_eq!(
        rows(&table),
        [
            ("kuul-a".to_owned(), "nightly".to_owned()),
            ("kuul-b".to_owned(), "nightly".to_owned())
        ]
    );
    assert_eq!(
        suspended(a.client(), b.client(), a.name(), "nightly").await,
        (true, true)
    );
    let resume = kuul("resume", &[&both[..], &["--skip-missed"]].concat());
    assert_eq!(resume.status.code(), Some(0), "{}", text(&resume.stderr));
    assert_eq!(
        suspended(a.client(), b.client(), a.name(), "nightly").await,
        (false, false)
    );

    two.other.stop_apiserver();
    // By name: the job on kuul-b cannot be read, a failure of its own.
    let suspend = kuul("suspend", &["nightly", "--contexts", "kuul-*"]);
    let stderr = text(&suspend.stderr);
    assert_eq!(suspend.status.code(), Some(1), "{stderr}");
    assert_eq!(
        rows(&text(&suspend.stdout)),
        [("kuul-a".to_owned(), "nightly".to_owned())]
    );
    assert!(stderr.contains("(context \"kuul-b\")"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "could not suspend 1 of 2 job(s): kuul-b: {}/nightly",
            a.name()
        )),
        "{stderr}"
    );
    // With --all: the cluster cannot be listed, one line naming it.
    let all = kuul("suspend", &["--all", "--contexts", "kuul-*"]);
    let stderr = text(&all.stderr);
    assert_eq!(all.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error: context kuul-b: "), "{stderr}");
    assert!(
        stderr.contains("1 of 2 clusters could not be read: kuul-b"),
        "{stderr}"
    );
    two.other.start_apiserver();
    assert_eq!(
        suspended(a.client(), b.client(), a.name(), "nightly").await,
        (true, false)
    );
}

/// Waits until the Jobs `runs` of the namespace have finished.
async fn finished(client: Client, namespace: &str, runs: &[&str]) {
    let jobs: Api<Job> = Api::namespaced(client, namespace);
    eventually(Duration::from_secs(90), "the runs to finish", || async {
        for run in runs {
            let job = jobs.get(run).await.ok()?;
            let done = job
                .status?
                .conditions?
                .iter()
                .any(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True");
            if !done {
                return None;
            }
        }
        Some(())
    })
    .await;
}

/// `prune` on two clusters: one plan with a CONTEXT column and a summary per cluster;
/// with `--yes`, each cluster's runs deleted and a line per cluster.
#[tokio::test]
async fn prune_plans_and_deletes_on_several_clusters() {
    let two = TwoClusters::take();
    let (a, b) = two.namespace("multi-prune").await;
    create(a.client(), a.name(), "daily").await;
    create(b.client(), b.name(), "daily").await;
    start_run(a.client(), a.name(), "daily", "daily-1").await;
    start_run(a.client(), a.name(), "daily", "daily-2").await;
    start_run(b.client(), b.name(), "daily", "daily-3").await;
    finished(a.client(), a.name(), &["daily-1", "daily-2"]).await;
    finished(b.client(), b.name(), &["daily-3"]).await;
    let prune = |args: &[&str]| {
        two.command(Via::Umbrella, "prune")
            .args(["-n", a.name(), "daily", "--keep", "0", "--include-manual"])
            .args(["--contexts", "kuul-*"])
            .args(args)
            .output()
            .expect("run prune")
    };

    let plan = prune(&[]);
    let (table, stderr) = (text(&plan.stdout), text(&plan.stderr));
    assert_eq!(plan.status.code(), Some(0), "{stderr}");
    assert!(table.starts_with("CONTEXT "), "{table}");
    let planned: Vec<(String, String)> = table
        .lines()
        .skip(1)
        .map(|line| {
            let cells: Vec<&str> = line.split_whitespace().collect();
            (cells[0].to_owned(), cells[2].to_owned())
        })
        .collect();
    assert_eq!(
        planned,
        [
            ("kuul-a".to_owned(), "daily-1".to_owned()),
            ("kuul-a".to_owned(), "daily-2".to_owned()),
            ("kuul-b".to_owned(), "daily-3".to_owned()),
        ],
        "{table}"
    );
    assert!(
        stderr.contains("context kuul-a: would delete 2 runs of 1 job")
            && stderr.contains("context kuul-b: would delete 1 run of 1 job"),
        "{stderr}"
    );
    assert_eq!(
        job_names(a.client(), a.name()).await,
        ["daily-1", "daily-2"]
    );

    let done = prune(&["--yes"]);
    let stdout = text(&done.stdout);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stderr));
    assert!(
        stdout.contains("context kuul-a: deleted 2 runs of 1 job")
            && stdout.contains("context kuul-b: deleted 1 run of 1 job"),
        "{stdout}"
    );
    eventually(Duration::from_secs(30), "the runs deleted", || async {
        (job_names(a.client(), a.name()).await.is_empty()
            && job_names(b.client(), b.name()).await.is_empty())
        .then_some(())
    })
    .await;
}

/// `label-nodes --list` on two clusters: each cluster's pools under a CONTEXT column;
/// changing nodes takes one cluster.
#[tokio::test]
async fn label_nodes_lists_the_pools_of_several_clusters() {
    let two = TwoClusters::take();
    let list = two
        .command(Via::Umbrella, "label-nodes")
        .args(["--list", "--contexts", "kuul-*"])
        .output()
        .expect("run label-nodes --list");
    let table = text(&list.stdout);
    assert_eq!(list.status.code(), Some(0), "{}", text(&list.stderr));
    assert!(table.starts_with("CONTEXT "), "{table}");
    for context in TwoClusters::CONTEXTS {
        assert!(
            table
                .lines()
                .any(|line| line.starts_with(context)
                    && line.split_whitespace().nth(1) == Some("prod")),
            "{context} prod in {table}"
        );
    }
    let change = two
        .command(Via::Umbrella, "label-nodes")
        .args(["prod", "some-node", "--contexts", "kuul-*"])
        .output()
        .expect("run label-nodes");
    assert_eq!(change.status.code(), Some(2), "{}", text(&change.stderr));
    assert!(
        text(&change.stderr)
            .contains("label-nodes changes the nodes of one cluster, and 2 are named"),
        "{}",
        text(&change.stderr)
    );
}

/// Per job of the namespace: (suspended on kuul-a, suspended on kuul-b), and the
/// annotations of each side, by name.
async fn roles(a: Client, b: Client, namespace: &str) -> Vec<(String, bool, bool, Value, Value)> {
    let list = |client: Client| async move {
        Api::<CronJob>::namespaced(client, namespace)
            .list(&ListParams::default())
            .await
            .expect("list CronJobs")
            .items
    };
    // kuul-b first: a failover to kuul-b suspends a job on kuul-a before it resumes it on
    // kuul-b, so a job seen active on kuul-b is suspended on kuul-a when kuul-a is read
    // after it. (Read the other way round, the reads could straddle the move.)
    let on_b = list(b).await;
    let on_a = list(a).await;
    let mut names: Vec<String> = on_a
        .iter()
        .chain(&on_b)
        .filter_map(|c| c.metadata.name.clone())
        .collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            let find = |jobs: &[CronJob]| {
                jobs.iter()
                    .find(|c| c.metadata.name.as_deref() == Some(name.as_str()))
                    .map(|c| {
                        (
                            c.spec.suspend == Some(true),
                            serde_json::to_value(&c.metadata.annotations).unwrap_or_default(),
                        )
                    })
                    .unwrap_or((true, Value::Null))
            };
            let ((sa, aa), (sb, ab)) = (find(&on_a), find(&on_b));
            (name, sa, sb, aa, ab)
        })
        .collect()
}

/// The invariant of failover: no job's schedules are active on both clusters.
async fn never_active_twice(a: Client, b: Client, namespace: &str, after: &str) {
    for (name, suspended_a, suspended_b, _, _) in roles(a, b, namespace).await {
        assert!(
            suspended_a || suspended_b,
            "after {after}: {name} is active on both clusters"
        );
    }
}

/// Where each job runs: `kuul-a` or `kuul-b`, by name.
async fn active_on(a: Client, b: Client, namespace: &str) -> Vec<(String, &'static str)> {
    roles(a, b, namespace)
        .await
        .into_iter()
        .map(|(name, sa, sb, _, _)| {
            let on = match (sa, sb) {
                (false, true) => "kuul-a",
                (true, false) => "kuul-b",
                (true, true) => "nowhere",
                (false, false) => "both",
            };
            (name, on)
        })
        .collect()
}

/// A job set applied to kuul-a with kuul-b as standby, failed over to kuul-b, re-applied
/// (roles kept), failed back; the invariant after every step; a failover whose --from
/// cannot be reached refused.
#[tokio::test]
async fn standby_apply_failover_and_failback_never_run_a_job_twice() {
    let two = TwoClusters::take();
    let (a, b) = two.namespace("multi-failover").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("jobs.yaml");
    std::fs::write(
        &file,
        format!(
            "set: team-x\ndefaults:\n  namespace: {}\n  image: kuul-base:busybox\n  pool: prod\n\
             jobs:\n  - {{name: backup, schedule: '{YEARLY}'}}\n  - {{name: report, schedule: '{YEARLY}'}}\n",
            a.name()
        ),
    )
    .expect("write jobs.yaml");
    let file = file.to_str().expect("a UTF-8 path");
    let kuul = |command: &str, args: &[&str]| {
        two.command(Via::Umbrella, command)
            .args(["-n", a.name()])
            .args(args)
            .output()
            .expect("run kuul")
    };
    let apply = || {
        kuul(
            "apply",
            &["-f", file, "--context", "kuul-a", "--standby", "kuul-b"],
        )
    };
    let jobs = || ["backup".to_owned(), "report".to_owned()];
    let on = |side: &'static str| jobs().map(|job| (job, side)).to_vec();

    let applied = apply();
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied.stderr));
    assert!(
        text(&applied.stdout).contains("standby for kuul-a: suspended"),
        "{}",
        text(&applied.stdout)
    );
    never_active_twice(a.client(), b.client(), a.name(), "apply --standby").await;
    assert_eq!(
        active_on(a.client(), b.client(), a.name()).await,
        on("kuul-a")
    );
    let (_, _, _, _, marks) = roles(a.client(), b.client(), a.name()).await.remove(0);
    assert_eq!(marks["kuul.io/standby-for"], "kuul-a", "{marks}");
    assert_eq!(
        marks["kuul.io/suspend-reason"], "standby for kuul-a",
        "{marks}"
    );
    let again = apply();
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert_eq!(
        active_on(a.client(), b.client(), a.name()).await,
        on("kuul-a")
    );

    // status: the standby side is `standby`, not a problem.
    let status = kuul("status", &["--contexts", "kuul-*", "-o", "json"]);
    let statuses: Vec<Value> = serde_json::from_slice(&status.stdout).expect("status -o json");
    let healths: Vec<(&str, &str)> = statuses
        .iter()
        .map(|s| {
            (
                s["context"].as_str().unwrap_or_default(),
                s["health"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        healths,
        [
            ("kuul-a", "ok"),
            ("kuul-b", "standby"),
            ("kuul-a", "ok"),
            ("kuul-b", "standby")
        ]
    );
    let check = kuul("status", &["--contexts", "kuul-*", "--check"]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));

    // The plan changes nothing; --yes moves the set.
    let failover = ["--from", "kuul-a", "--to", "kuul-b", "--set", "team-x"];
    let plan = kuul("failover", &failover);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stderr));
    assert!(
        text(&plan.stdout).contains("suspended, standby"),
        "{}",
        text(&plan.stdout)
    );
    assert_eq!(
        active_on(a.client(), b.client(), a.name()).await,
        on("kuul-a")
    );
    let moved = kuul(
        "failover",
        &[&failover[..], &["--yes", "--skip-missed"]].concat(),
    );
    assert_eq!(moved.status.code(), Some(0), "{}", text(&moved.stderr));
    assert!(
        text(&moved.stdout).contains("failed over 2 job(s) from kuul-a to kuul-b"),
        "{}",
        text(&moved.stdout)
    );
    never_active_twice(a.client(), b.client(), a.name(), "failover").await;
    assert_eq!(
        active_on(a.client(), b.client(), a.name()).await,
        on("kuul-b")
    );
    let (_, _, _, left, arrived) = roles(a.client(), b.client(), a.name()).await.remove(0);
    assert_eq!(left["kuul.io/standby-for"], "kuul-b", "{left}");
    assert_eq!(
        left["kuul.io/suspend-reason"], "failed over to kuul-b",
        "{left}"
    );
    assert_eq!(arrived["kuul.io/failed-over-from"], "kuul-a", "{arrived}");
    assert!(arrived.get("kuul.io/standby-for").is_none(), "{arrived}");

    // apply as before keeps the roles the failover left.
    let kept = apply();
    assert_eq!(kept.status.code(), Some(0), "{}", text(&kept.stderr));
    never_active_twice(a.client(), b.client(), a.name(), "apply after failover").await;
    assert_eq!(
        active_on(a.client(), b.client(), a.name()).await,
        on("kuul-b")
    );

    // The same failover again changes nothing.
    let rerun = kuul("failover", &[&failover[..], &["--yes"]].concat());
    assert_eq!(rerun.status.code(), Some(0), "{}", text(&rerun.stderr));
    assert_eq!(
        active_on(a.client(), b.client(), a.name()).await,
        on("kuul-b")
    );

    // Failing back is the same command with the contexts swapped.
    let back = kuul(
        "failover",
        &[
            "--from", "kuul-b", "--to", "kuul-a", "--set", "team-x", "--yes",
        ],
    );
    assert_eq!(back.status.code(), Some(0), "{}", text(&back.stderr));
    never_active_twice(a.client(), b.client(), a.name(), "failback").await;
    assert_eq!(
        active_on(a.client(), b.client(), a.name()).await,
        on("kuul-a")
    );

    // Over to kuul-b again, and then kuul-b dies.
    let over = kuul("failover", &[&failover[..], &["--yes"]].concat());
    assert_eq!(over.status.code(), Some(0), "{}", text(&over.stderr));
    assert_eq!(
        active_on(a.client(), b.client(), a.name()).await,
        on("kuul-b")
    );
    two.other.stop_apiserver();
    let back = [
        "--from", "kuul-b", "--to", "kuul-a", "--set", "team-x", "--yes",
    ];
    let refused = kuul("failover", &back);
    let stderr = text(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot fail over from kuul-b"), "{stderr}");
    assert!(stderr.contains("--from-unreachable"), "{stderr}");
    // Told to go on without it: kuul-a runs the jobs and records what is left to do.
    let forced = kuul("failover", &[&back[..], &["--from-unreachable"]].concat());
    assert_eq!(forced.status.code(), Some(0), "{}", text(&forced.stderr));
    let a_jobs: Api<CronJob> = Api::namespaced(a.client(), a.name());
    let backup = a_jobs.get("backup").await.expect("get backup");
    assert_eq!(backup.spec.suspend, Some(false));
    let pending = backup.metadata.annotations.unwrap_or_default();
    assert_eq!(
        pending
            .get("kuul.io/suspend-pending-on")
            .map(String::as_str),
        Some("kuul-b")
    );
    // kuul-b is back: the next status suspends the jobs there first, and says so.
    two.other.start_apiserver();
    let status = kuul("status", &["--contexts", "kuul-*"]);
    let stderr = text(&status.stderr);
    assert_eq!(status.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "context kuul-b: suspended {}/backup: it was failed over to kuul-a while kuul-b could not be reached",
            a.name()
        )),
        "{stderr}"
    );
    never_active_twice(a.client(), b.client(), a.name(), "the old side came back").await;
    assert_eq!(
        active_on(a.client(), b.client(), a.name()).await,
        on("kuul-a")
    );
    let settled = a_jobs.get("backup").await.expect("get backup");
    let annotations = settled.metadata.annotations.unwrap_or_default();
    assert!(
        !annotations.contains_key("kuul.io/suspend-pending-on"),
        "{annotations:?}"
    );
    let again = kuul("status", &["--contexts", "kuul-*"]);
    assert!(
        !text(&again.stderr).contains("suspended"),
        "{}",
        text(&again.stderr)
    );
}

/// How many jobs the killed failover moves, and the last one's name.
const JOBS: usize = 400;
const LAST: &str = "job-399";

/// A failover of 400 jobs killed in the middle, then run again: while both run, a
/// watcher reads both clusters over and over and never sees a job active on both; the
/// rerun finishes the move.
#[tokio::test]
async fn a_failover_killed_in_the_middle_is_finished_by_a_rerun() {
    let two = TwoClusters::take();
    let (a, b) = two.namespace("multi-kill").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("jobs.yaml");
    let mut jobs = format!(
        "set: team-k\ndefaults:\n  namespace: {}\n  image: kuul-base:busybox\n  pool: prod\njobs:\n",
        a.name()
    );
    for n in 0..JOBS {
        jobs.push_str(&format!("  - {{name: job-{n:03}, schedule: '{YEARLY}'}}\n"));
    }
    std::fs::write(&file, jobs).expect("write jobs.yaml");
    let file = file.to_str().expect("a UTF-8 path");
    let applied = two
        .command(Via::Umbrella, "apply")
        .args([
            "-n",
            a.name(),
            "-f",
            file,
            "--context",
            "kuul-a",
            "--standby",
            "kuul-b",
        ])
        .output()
        .expect("apply");
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied.stderr));

    // The watcher: the invariant at every read while the failovers run.
    let watching = Arc::new(AtomicBool::new(true));
    let watcher = {
        let (a, b, namespace) = (a.client(), b.client(), a.name().to_owned());
        let watching = Arc::clone(&watching);
        tokio::spawn(async move {
            let mut reads = 0;
            while watching.load(Ordering::Relaxed) {
                never_active_twice(a.clone(), b.clone(), &namespace, "a read during failover")
                    .await;
                reads += 1;
            }
            reads
        })
    };
    let failover = |extra: &[&str]| {
        let mut cmd = two.command(Via::Umbrella, "failover");
        cmd.args([
            "-n",
            a.name(),
            "--from",
            "kuul-a",
            "--to",
            "kuul-b",
            "--set",
            "team-k",
            "--yes",
        ])
        .args(extra);
        cmd
    };
    let mut first = failover(&[])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start failover");
    // The plan is printed before the first write: kill it once the writes have begun.
    let mut lines = Lines::of(first.stdout.take().expect("stdout"));
    lines.until(Duration::from_secs(60), "the plan", |line| {
        line.contains(LAST)
    });
    let leaving: Api<CronJob> = Api::namespaced(a.client(), a.name());
    eventually(
        Duration::from_secs(30),
        "the first job suspended",
        || async {
            let list = leaving.list(&ListParams::default()).await.ok()?;
            list.items
                .iter()
                .any(|c| c.spec.suspend == Some(true))
                .then_some(())
        },
    )
    .await;
    first.kill().expect("kill failover");
    first.wait().expect("failover ends");
    let after_kill = active_on(a.client(), b.client(), a.name()).await;
    let moved = after_kill.iter().filter(|(_, on)| *on == "kuul-b").count();
    eprintln!("after the kill: {moved} of {JOBS} jobs on kuul-b");
    assert!(moved < JOBS, "the failover had finished before the kill");
    never_active_twice(a.client(), b.client(), a.name(), "the kill").await;

    let rerun = failover(&[]).output().expect("rerun failover");
    assert_eq!(rerun.status.code(), Some(0), "{}", text(&rerun.stderr));
    watching.store(false, Ordering::Relaxed);
    let reads = watcher.await.expect("the watcher");
    eprintln!("the watcher read both clusters {reads} times");
    assert!(reads > 0);
    let on_b: Vec<(String, &str)> = (0..JOBS)
        .map(|n| (format!("job-{n:03}"), "kuul-b"))
        .collect();
    assert_eq!(active_on(a.client(), b.client(), a.name()).await, on_b);
}

/// `failover --stop-running` ends the runs in progress where the jobs leave: a run held
/// by a scheduling gate (its Job active, its pod never scheduled) is stopped on kuul-a
/// (failed, kept as a run), and the job runs on kuul-b.
#[tokio::test]
async fn failover_stop_running_ends_the_runs_on_the_side_it_leaves() {
    let two = TwoClusters::take();
    let (a, b) = two.namespace("multi-stop").await;
    create(a.client(), a.name(), "nightly").await;
    create(b.client(), b.name(), "nightly").await;
    let standby = two
        .command(Via::Umbrella, "suspend")
        .args(["-n", a.name(), "nightly", "--context", "kuul-b"])
        .output()
        .expect("suspend on kuul-b");
    assert_eq!(standby.status.code(), Some(0), "{}", text(&standby.stderr));
    // A run in progress on kuul-a that never ends by itself.
    let cronjob = Api::<CronJob>::namespaced(a.client(), a.name())
        .get("nightly")
        .await
        .expect("get the CronJob");
    let mut template = serde_json::to_value(&cronjob.spec.job_template).expect("its template");
    template["spec"]["template"]["spec"]["schedulingGates"] =
        json!([{ "name": "kuul.io/test-hold" }]);
    let held: Job = serde_json::from_value(json!({
        "metadata": {
            "name": "nightly-held",
            "labels": { "kuul.io/job": "nightly" },
            "ownerReferences": [{
                "apiVersion": "batch/v1", "kind": "CronJob", "name": "nightly",
                "uid": cronjob.metadata.uid, "controller": true
            }]
        },
        "spec": template["spec"]
    }))
    .expect("a valid Job");
    Api::<Job>::namespaced(a.client(), a.name())
        .create(&PostParams::default(), &held)
        .await
        .expect("create the held run");

    let moved = two
        .command(Via::Umbrella, "failover")
        .args([
            "-n",
            a.name(),
            "nightly",
            "--from",
            "kuul-a",
            "--to",
            "kuul-b",
        ])
        .args(["--yes", "--stop-running", "--skip-missed"])
        .output()
        .expect("run failover");
    assert_eq!(moved.status.code(), Some(0), "{}", text(&moved.stderr));
    assert_eq!(
        active_on(a.client(), b.client(), a.name()).await,
        [("nightly".to_owned(), "kuul-b")]
    );
    // failover waited for the Job controller: the run is failed already.
    until_stopped(a.client(), a.name(), "nightly-held", Duration::from_secs(1)).await;
}
