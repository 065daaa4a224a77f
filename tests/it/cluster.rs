//! Proves the local Kuul cluster that every later cluster test stands on: the real
//! CronJob and Job controllers create and finish runs, kwok's failure stage makes a run
//! fail with a chosen exit code, the real scheduler honours pool nodeSelectors, and
//! `kubectl logs` reads a simulated pod's configured log lines. Each test works in a
//! namespace of its own, deleted when the test ends.

use std::time::Duration;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, PostParams};
use kuul_tests::{TestNamespace, eventually, kwok_failure};
use serde_json::{Value, json};

/// An every-minute `CronJob` whose pods get the metadata `pod` (labels, annotations).
fn cronjob(name: &str, pod: &Value) -> CronJob {
    serde_json::from_value(json!({
        "metadata": { "name": name },
        "spec": {
            "schedule": "* * * * *",
            "concurrencyPolicy": "Forbid",
            "jobTemplate": { "spec": {
                "backoffLimit": 0,
                "template": {
                    "metadata": pod,
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{ "name": "work", "image": "kuul-base:busybox" }]
                    }
                }
            }}
        }
    }))
    .expect("a valid CronJob")
}

/// Waits for the first Job the CronJob `owner` created.
async fn first_job_of(jobs: &Api<Job>, owner: &str) -> Job {
    eventually(
        Duration::from_secs(90),
        &format!("a Job of CronJob {owner}"),
        || async {
            let list = jobs.list(&ListParams::default()).await.expect("list Jobs");
            list.items.into_iter().find(|job| {
                job.metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .any(|r| r.kind == "CronJob" && r.name == owner)
            })
        },
    )
    .await
}

/// Waits until the Job has a true condition of type Complete or Failed and returns which.
async fn finished(jobs: &Api<Job>, name: &str) -> String {
    eventually(
        Duration::from_secs(60),
        &format!("Job {name} finishing"),
        || async {
            let job = jobs.get(name).await.expect("get Job");
            job.status?.conditions?.into_iter().find_map(|c| {
                (c.status == "True" && (c.type_ == "Complete" || c.type_ == "Failed"))
                    .then_some(c.type_)
            })
        },
    )
    .await
}

async fn pods_of_job(pods: &Api<Pod>, job: &str) -> Vec<Pod> {
    let lp = ListParams::default().labels(&format!("job-name={job}"));
    pods.list(&lp).await.expect("list Pods").items
}

#[tokio::test]
async fn every_minute_cronjob_creates_a_job_that_succeeds() {
    let ns = TestNamespace::new("kuul-cron-ok").await;
    let cronjobs: Api<CronJob> = Api::namespaced(ns.client(), ns.name());
    let jobs: Api<Job> = Api::namespaced(ns.client(), ns.name());
    cronjobs
        .create(&PostParams::default(), &cronjob("tick", &json!({})))
        .await
        .expect("create CronJob");

    let job = first_job_of(&jobs, "tick").await;
    let name = job.metadata.name.expect("Job name");
    assert_eq!(
        finished(&jobs, &name).await,
        "Complete",
        "Job {name} should succeed"
    );
    let status = jobs
        .get(&name)
        .await
        .expect("get Job")
        .status
        .expect("Job status");
    assert_eq!(status.succeeded, Some(1));
}

#[tokio::test]
async fn failure_marker_fails_the_job_with_the_chosen_exit_code() {
    let ns = TestNamespace::new("kuul-cron-fail").await;
    let cronjobs: Api<CronJob> = Api::namespaced(ns.client(), ns.name());
    let jobs: Api<Job> = Api::namespaced(ns.client(), ns.name());
    let pods: Api<Pod> = Api::namespaced(ns.client(), ns.name());
    cronjobs
        .create(&PostParams::default(), &cronjob("breaks", &kwok_failure(3)))
        .await
        .expect("create CronJob");

    let job = first_job_of(&jobs, "breaks").await;
    let name = job.metadata.name.expect("Job name");
    assert_eq!(
        finished(&jobs, &name).await,
        "Failed",
        "Job {name} should fail"
    );

    let pods = pods_of_job(&pods, &name).await;
    assert_eq!(pods.len(), 1, "backoffLimit 0 makes exactly one pod");
    let status = pods[0].status.as_ref().expect("pod status");
    assert_eq!(status.phase.as_deref(), Some("Failed"));
    let terminated = status
        .container_statuses
        .as_ref()
        .expect("container statuses")[0]
        .state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .expect("a terminated container");
    assert_eq!(terminated.exit_code, 3);
}

#[tokio::test]
async fn pool_node_selector_lands_on_the_internal_node() {
    let ns = TestNamespace::new("kuul-pool").await;
    let pods: Api<Pod> = Api::namespaced(ns.client(), ns.name());
    let pod: Pod = serde_json::from_value(json!({
        "metadata": { "name": "staging-check" },
        "spec": {
            "nodeSelector": { "kuul.io/pool": "internal" },
            "containers": [{ "name": "work", "image": "kuul-base:busybox" }]
        }
    }))
    .expect("a valid Pod");
    pods.create(&PostParams::default(), &pod)
        .await
        .expect("create Pod");

    let node = eventually(
        Duration::from_secs(30),
        "the pod being scheduled",
        || async {
            pods.get("staging-check")
                .await
                .expect("get Pod")
                .spec?
                .node_name
        },
    )
    .await;
    assert_eq!(node, "kuul-internal-1");
}

#[tokio::test]
async fn kubectl_logs_returns_the_configured_lines_of_a_job_pod() {
    let ns = TestNamespace::new("kuul-logs").await;
    let jobs: Api<Job> = Api::namespaced(ns.client(), ns.name());
    let pods: Api<Pod> = Api::namespaced(ns.client(), ns.name());
    let job: Job = serde_json::from_value(json!({
        "metadata": { "name": "backup" },
        "spec": {
            "backoffLimit": 0,
            "template": { "spec": {
                "restartPolicy": "Never",
                "containers": [{ "name": "work", "image": "kuul-base:busybox" }]
            }}
        }
    }))
    .expect("a valid Job");
    jobs.create(&PostParams::default(), &job)
        .await
        .expect("create Job");
    assert_eq!(finished(&jobs, "backup").await, "Complete");
    let pod = pods_of_job(&pods, "backup")
        .await
        .pop()
        .expect("the Job's pod");
    let pod_name = pod.metadata.name.expect("pod name");

    // kwok serves a simulated container's log from a CRI-format file named by a Logs object.
    let dir = tempfile::tempdir().expect("temp dir");
    ns.serve_log(
        dir.path(),
        &pod_name,
        &["dumping prod-db", "backup done: 42 tables"],
    )
    .await;

    let kubectl = kuul_tests::kubectl();
    let kubeconfig = kuul_tests::kubeconfig();
    let output = eventually(Duration::from_secs(20), "kubectl logs", || async {
        let out = std::process::Command::new(&kubectl)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(["logs", "-n", ns.name(), &pod_name])
            .output()
            .expect("run kubectl");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        (out.status.success() && !stdout.is_empty()).then_some(stdout)
    })
    .await;
    assert_eq!(output, "dumping prod-db\nbackup done: 42 tables\n");
}
