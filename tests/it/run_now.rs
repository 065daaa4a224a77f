//! `kubectl kuul run-now` against the real local cluster: the Job it makes is the one
//! `kubectl create job --from=cronjob/NAME` makes, `--wait` and `--follow` report the
//! run's outcome and logs, the overlap guard holds under Forbid, and dry runs create
//! nothing. Every behaviour is checked through kubectl, the plugin binary and the
//! umbrella. `CronJob`s are created here directly, suspended, with a schedule that does
//! not fire during a test, so every Job seen is one a test started.

use std::process::Output;
use std::time::Duration;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use kube::api::{Api, DeleteParams, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kuul_tests::{Lines, TestNamespace, Via, YEARLY, assert_exit, kwok_failure, merged, text};
use serde_json::{Value, json};

/// A suspended `CronJob` named `name` whose pods get the `labels`, `annotations` and
/// `nodeSelector` given in `pod`.
fn cronjob(name: &str, policy: &str, pod: &Value) -> CronJob {
    serde_json::from_value(json!({
        "metadata": {
            "name": name,
            "labels": { "app.kubernetes.io/managed-by": "kuul", "kuul.io/job": name },
            "annotations": { "kuul.io/owner-note": "not copied to runs" }
        },
        "spec": {
            "schedule": YEARLY,
            "suspend": true,
            "concurrencyPolicy": policy,
            "jobTemplate": {
                "metadata": {
                    "labels": { "kuul.io/job": name, "team": "ops" },
                    "annotations": { "kuul.io/purpose": "nightly backup" }
                },
                "spec": {
                    "backoffLimit": 0,
                    "activeDeadlineSeconds": 600,
                    "template": {
                        "metadata": {
                            "labels": merged(&json!({ "kuul.io/job": name }), &pod["labels"]),
                            "annotations": pod["annotations"].clone()
                        },
                        "spec": {
                            "restartPolicy": "Never",
                            "nodeSelector": pod["nodeSelector"].clone(),
                            "containers": [{
                                "name": "work",
                                "image": "kuul-base:busybox",
                                "command": ["/bin/sh", "-c", "echo backup"],
                                "resources": { "limits": { "cpu": "500m", "memory": "512Mi" } }
                            }]
                        }
                    }
                }
            }
        }
    }))
    .expect("a valid CronJob")
}

async fn create_cronjob(ns: &TestNamespace, cronjob: &CronJob) {
    Api::<CronJob>::namespaced(ns.client(), ns.name())
        .create(&PostParams::default(), cronjob)
        .await
        .expect("create CronJob");
}

fn run_now(via: Via, ns: &TestNamespace, args: &[&str]) -> Output {
    via.command("run-now")
        .args(["-n", ns.name()])
        .args(args)
        .output()
        .expect("run kubectl kuul run-now")
}

/// What kubectl and run-now decide about a Job, without what the API server adds
/// (uid, selector, controller-uid and job-name labels, status, timestamps).
fn decided_by_client(job: &Job) -> Value {
    let mut value = serde_json::to_value(job).expect("Job as JSON");
    let server_labels = [
        "batch.kubernetes.io/controller-uid",
        "controller-uid",
        "batch.kubernetes.io/job-name",
        "job-name",
    ];
    for path in ["/metadata/labels", "/spec/template/metadata/labels"] {
        if let Some(labels) = value.pointer_mut(path).and_then(Value::as_object_mut) {
            for key in server_labels {
                labels.remove(key);
            }
        }
    }
    if let Some(annotations) = value["metadata"]["annotations"].as_object_mut() {
        annotations.remove("kuul.io/triggered-by");
        annotations.remove("kuul.io/run-id");
    }
    if let Some(spec) = value["spec"].as_object_mut() {
        spec.remove("selector");
    }
    json!({
        "annotations": value["metadata"]["annotations"],
        "labels": value["metadata"]["labels"],
        "ownerReferences": value["metadata"]["ownerReferences"],
        "spec": value["spec"],
    })
}

#[tokio::test]
async fn run_now_makes_the_job_kubectl_create_job_from_makes() {
    let ns = TestNamespace::new("kuul-run-now-same").await;
    let pod = json!({ "labels": { "tier": "ops" }, "annotations": { "note": "x" } });
    create_cronjob(&ns, &cronjob("backup-db", "Allow", &pod)).await;

    let kubectl = std::process::Command::new(kuul_tests::kubectl())
        .arg("--kubeconfig")
        .arg(kuul_tests::kubeconfig())
        .args([
            "create",
            "job",
            "-n",
            ns.name(),
            "--from=cronjob/backup-db",
            "by-kubectl",
        ])
        .output()
        .expect("run kubectl create job");
    assert_exit(&kubectl, 0, "kubectl create job --from");

    let jobs: Api<Job> = Api::namespaced(ns.client(), ns.name());
    let reference = decided_by_client(&jobs.get("by-kubectl").await.expect("get Job"));
    for via in Via::ALL {
        let name = format!("by-kuul-{via:?}").to_lowercase();
        let output = run_now(via, &ns, &["backup-db", "--name", &name]);
        assert_exit(&output, 0, &format!("{via:?}"));
        assert_eq!(text(&output.stdout), format!("job.batch/{name} created\n"));

        let job = jobs.get(&name).await.expect("get Job");
        assert_eq!(decided_by_client(&job), reference, "{via:?}");
        let annotations = job.metadata.annotations.expect("annotations");
        assert_eq!(annotations["cronjob.kubernetes.io/instantiate"], "manual");
        assert!(
            !annotations["kuul.io/triggered-by"].is_empty(),
            "{annotations:?}"
        );
    }
}

#[tokio::test]
async fn generated_names_are_manual_runs_of_the_cronjob() {
    let ns = TestNamespace::new("kuul-run-now-name").await;
    let long = "a".repeat(52);
    create_cronjob(&ns, &cronjob(&long, "Allow", &json!({}))).await;

    let output = run_now(Via::Plugin, &ns, &[&long]);
    assert_exit(&output, 0, "run-now with a 52-character CronJob name");
    let names = ns.names::<Job>().await;
    assert_eq!(names.len(), 1, "{names:?}");
    let name = &names[0];
    assert_eq!(name.len(), 63, "{name}");
    assert!(
        name.starts_with(&format!("{}-manual-", &long[..50])),
        "{name}"
    );

    let output = run_now(Via::Plugin, &ns, &[&long, "--name", "Not_A_Name"]);
    assert_exit(&output, 2, "an invalid --name");
    assert_eq!(
        ns.names::<Job>().await.len(),
        1,
        "nothing created for a bad --name"
    );
}

#[tokio::test]
async fn wait_exits_0_when_the_run_succeeds_and_4_when_it_fails() {
    let ns = TestNamespace::new("kuul-run-now-wait").await;
    create_cronjob(&ns, &cronjob("smoke-ok", "Forbid", &json!({}))).await;
    create_cronjob(&ns, &cronjob("smoke-broken", "Forbid", &kwok_failure(3))).await;

    for via in Via::ALL {
        let output = run_now(via, &ns, &["smoke-ok", "--wait", "--timeout", "2m"]);
        assert_exit(&output, 0, &format!("{via:?}: a succeeding run"));
        let stderr = text(&output.stderr);
        assert!(stderr.contains("succeeded after"), "{via:?}: {stderr}");

        let output = run_now(via, &ns, &["smoke-broken", "--wait", "--timeout", "2m"]);
        assert_exit(&output, 4, &format!("{via:?}: a failing run"));
        let stderr = text(&output.stderr);
        let error = stderr
            .lines()
            .find(|l| l.starts_with("error: "))
            .unwrap_or_else(|| panic!("{via:?}: no error line in {stderr}"));
        assert!(error.contains("failed"), "{error}");
        assert!(
            error.contains("container work exited with code 3"),
            "{error}"
        );
    }
}

#[tokio::test]
async fn follow_prints_the_runs_log_lines() {
    let ns = TestNamespace::new("kuul-run-now-follow").await;
    create_cronjob(&ns, &cronjob("backup-db", "Forbid", &json!({}))).await;

    // The pod's name is not known in advance, so the log lines are configured for every
    // pod of the namespace with a cluster-scoped kwok ClusterLogs object.
    let dir = tempfile::tempdir().expect("temp dir");
    let log_file = dir.path().join("backup.log");
    std::fs::write(
        &log_file,
        "2026-01-01T00:00:00Z stdout F dumping prod-db\n2026-01-01T00:00:01Z stdout F backup done: 42 tables\n",
    )
    .expect("write log file");
    let gvk = GroupVersionKind::gvk("kwok.x-k8s.io", "v1alpha1", "ClusterLogs");
    let cluster_logs: Api<DynamicObject> = Api::all_with(
        ns.client(),
        &ApiResource::from_gvk_with_plural(&gvk, "clusterlogs"),
    );
    let object: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "ClusterLogs",
        "metadata": { "name": ns.name() },
        "spec": {
            "selector": { "matchNamespaces": [ns.name()] },
            "logs": [{ "containers": ["work"], "logsFile": log_file, "follow": false }]
        }
    }))
    .expect("a valid ClusterLogs object");
    cluster_logs
        .create(&PostParams::default(), &object)
        .await
        .expect("create ClusterLogs");

    let mut outputs = Vec::new();
    for via in Via::ALL {
        outputs.push((via, run_now(via, &ns, &["backup-db", "--follow"])));
    }
    let deleted = cluster_logs
        .delete(ns.name(), &DeleteParams::default())
        .await;
    for (via, output) in outputs {
        assert_exit(&output, 0, &format!("{via:?}"));
        let stdout = text(&output.stdout);
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 3, "{via:?}: {stdout}");
        assert!(
            lines[0].starts_with("job.batch/backup-db-manual-"),
            "{stdout}"
        );
        assert_eq!(lines[1..], ["dumping prod-db", "backup done: 42 tables"]);
    }
    deleted.expect("delete ClusterLogs");
}

#[tokio::test]
async fn overlap_guard_refuses_while_a_run_is_active_and_force_overrides() {
    let ns = TestNamespace::new("kuul-run-now-overlap").await;
    // No node is in pool "nowhere": the run stays active, its pod unschedulable.
    let stuck = json!({ "nodeSelector": { "kuul.io/pool": "nowhere" } });
    create_cronjob(&ns, &cronjob("stuck", "Forbid", &stuck)).await;

    let first = run_now(Via::Plugin, &ns, &["stuck", "--name", "stuck-first"]);
    assert_exit(&first, 0, "the first run");
    for via in Via::ALL {
        let refused = run_now(via, &ns, &["stuck"]);
        assert_exit(&refused, 1, &format!("{via:?}: a second run under Forbid"));
        let stderr = text(&refused.stderr);
        assert!(stderr.contains("job.batch/stuck-first"), "{stderr}");
        assert!(stderr.contains("--force"), "{stderr}");
    }
    assert_eq!(ns.names::<Job>().await, ["stuck-first"]);

    let forced = run_now(
        Via::Umbrella,
        &ns,
        &["stuck", "--force", "--name", "stuck-forced"],
    );
    assert_exit(&forced, 0, "a forced run");
    assert!(text(&forced.stderr).contains("warning: job.batch/stuck-first is still running"));
    assert_eq!(ns.names::<Job>().await, ["stuck-first", "stuck-forced"]);

    // Waiting for a run that cannot start ends at --timeout, and the run goes on.
    let waited = run_now(
        Via::Kubectl,
        &ns,
        &[
            "stuck",
            "--force",
            "--name",
            "stuck-waited",
            "--wait",
            "--timeout",
            "2s",
        ],
    );
    assert_exit(&waited, 1, "--timeout");
    let stderr = text(&waited.stderr);
    assert!(stderr.contains("did not finish within 2s"), "{stderr}");
    assert!(stderr.contains("kubectl delete job -n"), "{stderr}");
    assert!(ns.names::<Job>().await.contains(&"stuck-waited".to_owned()));
}

#[tokio::test]
async fn dry_runs_print_the_job_and_create_nothing() {
    let ns = TestNamespace::new("kuul-run-now-dry").await;
    create_cronjob(&ns, &cronjob("backup-db", "Forbid", &json!({}))).await;

    for via in Via::ALL {
        let client = run_now(via, &ns, &["backup-db", "--dry-run=client", "-o", "json"]);
        assert_exit(&client, 0, &format!("{via:?}: --dry-run=client"));
        let job: Value = serde_json::from_slice(&client.stdout).expect("a JSON Job");
        assert_eq!(job["kind"], "Job");
        assert_eq!(job["metadata"]["ownerReferences"][0]["name"], "backup-db");
        assert_eq!(job["metadata"].get("uid"), None, "{job}");

        let server = run_now(via, &ns, &["backup-db", "--dry-run=server"]);
        assert_exit(&server, 0, &format!("{via:?}: --dry-run=server"));
        let stdout = text(&server.stdout);
        assert!(stdout.contains("kind: Job"), "{stdout}");
        assert!(stdout.contains("uid: "), "the server's object: {stdout}");
    }
    assert!(ns.names::<Job>().await.is_empty(), "dry runs created Jobs");
}

#[tokio::test]
async fn a_missing_cronjob_is_one_sentence_and_exit_1() {
    let ns = TestNamespace::new("kuul-run-now-missing").await;
    for via in Via::ALL {
        let output = run_now(via, &ns, &["nope"]);
        assert_exit(&output, 1, &format!("{via:?}"));
        assert_eq!(
            text(&output.stderr),
            format!(
                "error: cronjobs \"nope\" in namespace \"{}\" not found\n",
                ns.name()
            )
        );
        assert!(output.stdout.is_empty());
    }
}

#[tokio::test]
async fn ctrl_c_stops_waiting_and_leaves_the_run_going() {
    let ns = TestNamespace::new("kuul-run-now-ctrl-c").await;
    let stuck = json!({ "nodeSelector": { "kuul.io/pool": "nowhere" } });
    create_cronjob(&ns, &cronjob("stuck", "Allow", &stuck)).await;

    let waiting: Vec<_> = Via::ALL
        .into_iter()
        .map(|via| {
            let name = format!("stuck-{via:?}").to_lowercase();
            let mut child = via
                .command("run-now")
                .args(["-n", ns.name(), "stuck", "--name", &name, "--wait"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("start run-now --wait");
            let progress = Lines::of(child.stderr.take().expect("piped stderr"));
            (via, name, child, progress)
        })
        .collect();
    for (via, name, child, mut progress) in waiting {
        // Each waits for its run's pod once it has made the Job, and tells the pod's
        // state once it watches (Ctrl-C is handled from then on).
        progress.until(
            Duration::from_secs(30),
            &format!("{via:?}: run-now --wait telling the pod's state"),
            |line| line.starts_with("pod/"),
        );
        let sent = std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "{via:?}: kill -INT");
        let output = child.wait_with_output().expect("run-now ends");
        let stderr = progress.all();
        assert_eq!(
            output.status.code(),
            Some(130),
            "{via:?}: Ctrl-C\nstdout:\n{}\nstderr:\n{stderr}",
            text(&output.stdout)
        );
        assert!(
            stderr.contains(&format!("error: stopped waiting for job.batch/{name}")),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!("kubectl delete job -n {} {name}", ns.name())),
            "{stderr}"
        );
    }
    assert_eq!(
        ns.names::<Job>().await,
        ["stuck-kubectl", "stuck-plugin", "stuck-umbrella"]
    );
}
