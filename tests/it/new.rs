//! `kubectl kuul new` against the real local cluster: every default and every flag lands
//! in the stored `CronJob`, re-applying is idempotent and never resumes a suspended job,
//! dry runs store nothing, someone else's `CronJob` is only taken with `--adopt`, bad
//! input exits 2 before anything is sent, and kuul's schedule table agrees with the real
//! API server. Commands run through kubectl, the plugin binary and the umbrella.

use std::path::Path;
use std::process::Output;

use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kuul_tests::{TestNamespace, Via, assert_exit, kubeconfig, kubectl, kuul, text};
use serde_json::json;

/// Runs `kubectl kuul new ARGS -n NAMESPACE` the given way.
fn new(via: Via, namespace: &str, args: &[&str]) -> Output {
    via.command("new")
        .args(["-n", namespace])
        .args(args)
        .output()
        .expect("run kubectl kuul new")
}

fn succeeded(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

async fn cronjobs(namespace: &TestNamespace) -> Api<CronJob> {
    Api::namespaced(namespace.client(), namespace.name())
}

#[tokio::test]
async fn every_default_and_flag_lands_in_the_stored_cronjob() {
    let namespace = TestNamespace::new("new-flags").await;
    let api = cronjobs(&namespace).await;
    for via in Via::ALL {
        let name = format!("backup-{}", format!("{via:?}").to_lowercase());
        let output = new(
            via,
            namespace.name(),
            &[
                &name,
                "--image",
                "registry.example.com/ops/kuul:v3",
                "--schedule",
                "0 2 * * *",
                "--tz",
                "Europe/Berlin",
                "--pool",
                "prod",
                "--cpu",
                "500m",
                "--memory",
                "512Mi",
                "--env",
                "DB_HOST=db.internal",
                "--env",
                "MODE=full",
                "--working-dir",
                "/work",
                "--active-deadline",
                "2h",
                "--starting-deadline",
                "120",
                "--history-success",
                "5",
                "--history-failed",
                "1",
                "--image-pull-secret",
                "registry-login",
                "--label",
                "team=ops",
                "--apply",
                "--",
                "./backup.sh",
                "prod-db",
            ],
        );
        assert_eq!(
            succeeded(&output),
            format!("cronjob.batch/{name} created\n"),
            "{via:?}"
        );
        let stored = api.get(&name).await.expect("the applied CronJob");
        let labels = stored.metadata.labels.clone().unwrap();
        assert_eq!(labels["app.kubernetes.io/managed-by"], "kuul");
        assert_eq!(labels["kuul.io/job"], name);
        assert_eq!(labels["kuul.io/pool"], "prod");
        assert_eq!(labels["team"], "ops");
        let spec = &stored.spec;
        assert_eq!(spec.schedule, "0 2 * * *");
        assert_eq!(spec.time_zone.as_deref(), Some("Europe/Berlin"));
        assert_eq!(spec.concurrency_policy.as_deref(), Some("Forbid"));
        assert_eq!(spec.starting_deadline_seconds, Some(120));
        assert_eq!(spec.successful_jobs_history_limit, Some(5));
        assert_eq!(spec.failed_jobs_history_limit, Some(1));
        assert_eq!(spec.suspend, Some(false), "the server's default");
        let template_labels = spec.job_template.metadata.clone().unwrap().labels.unwrap();
        assert_eq!(template_labels["kuul.io/job"], name);
        assert_eq!(template_labels["app.kubernetes.io/managed-by"], "kuul");
        let job = spec.job_template.spec.clone().unwrap();
        assert_eq!(job.backoff_limit, Some(0));
        assert_eq!(job.active_deadline_seconds, Some(7200));
        let pod_labels = job.template.metadata.clone().unwrap().labels.unwrap();
        assert_eq!(pod_labels["kuul.io/job"], name);
        let pod = job.template.spec.unwrap();
        assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
        assert_eq!(pod.node_selector.unwrap()["kuul.io/pool"], "prod");
        assert_eq!(pod.image_pull_secrets.unwrap()[0].name, "registry-login");
        let container = &pod.containers[0];
        assert_eq!(container.name, name);
        assert_eq!(
            container.image.as_deref(),
            Some("registry.example.com/ops/kuul:v3")
        );
        assert_eq!(container.image_pull_policy.as_deref(), Some("IfNotPresent"));
        assert_eq!(container.working_dir.as_deref(), Some("/work"));
        assert_eq!(
            container.command.clone().unwrap(),
            ["./backup.sh", "prod-db"]
        );
        let env: Vec<(String, String)> = container
            .env
            .clone()
            .unwrap()
            .into_iter()
            .map(|e| (e.name, e.value.unwrap_or_default()))
            .collect();
        assert_eq!(
            env,
            [
                ("DB_HOST".to_owned(), "db.internal".to_owned()),
                ("MODE".to_owned(), "full".to_owned())
            ]
        );
        let resources = container.resources.clone().unwrap();
        assert_eq!(resources.requests, resources.limits);
        let limits = resources.limits.unwrap();
        assert_eq!(limits["cpu"].0, "500m");
        assert_eq!(limits["memory"].0, "512Mi");
        let managers: Vec<String> = stored
            .metadata
            .managed_fields
            .unwrap()
            .into_iter()
            .filter_map(|m| m.manager)
            .collect();
        assert!(managers.contains(&"kuul-apply".to_owned()), "{managers:?}");
    }
}

#[tokio::test]
async fn defaults_apply_without_flags() {
    let namespace = TestNamespace::new("new-defaults").await;
    let output = new(
        Via::Plugin,
        namespace.name(),
        &[
            "smoke",
            "--image",
            "kuul-base:busybox",
            "--schedule",
            "@hourly",
            "--apply",
        ],
    );
    succeeded(&output);
    let stored = cronjobs(&namespace).await.get("smoke").await.unwrap();
    let spec = stored.spec;
    assert_eq!(spec.time_zone, None);
    assert_eq!(spec.starting_deadline_seconds, Some(300));
    assert_eq!(spec.successful_jobs_history_limit, Some(3));
    assert_eq!(spec.failed_jobs_history_limit, Some(3));
    let pod = spec.job_template.spec.unwrap().template.spec.unwrap();
    assert_eq!(pod.node_selector, None);
    let limits = pod.containers[0].resources.clone().unwrap().limits.unwrap();
    assert_eq!(limits["cpu"].0, "100m");
    assert_eq!(limits["memory"].0, "128Mi");
}

#[tokio::test]
async fn reapply_is_unchanged_and_never_resumes_a_suspended_job() {
    let namespace = TestNamespace::new("new-reapply").await;
    let api = cronjobs(&namespace).await;
    let args = [
        "nightly",
        "--image",
        "kuul-base:busybox",
        "--schedule",
        "0 3 * * *",
        "--pool",
        "internal",
        "--apply",
    ];
    for via in Via::ALL {
        let first = succeeded(&new(via, namespace.name(), &args));
        assert!(
            first == "cronjob.batch/nightly created\n"
                || first == "cronjob.batch/nightly unchanged\n",
            "{first}"
        );
        let before = api.get("nightly").await.unwrap();
        assert_eq!(
            succeeded(&new(via, namespace.name(), &args)),
            "cronjob.batch/nightly unchanged\n",
            "{via:?}"
        );
        let after = api.get("nightly").await.unwrap();
        assert_eq!(
            before.metadata.resource_version,
            after.metadata.resource_version
        );
    }
    // What `kubectl kuul suspend` will do: its own field manager owns spec.suspend.
    let suspend = json!({
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": { "name": "nightly" }, "spec": { "suspend": true }
    });
    api.patch(
        "nightly",
        &PatchParams::apply("kuul-suspend"),
        &Patch::Apply(&suspend),
    )
    .await
    .expect("suspend");
    for via in Via::ALL {
        let changed = [&args[..5], &["--cpu", "200m", "--apply"]].concat();
        let output = succeeded(&new(via, namespace.name(), &changed));
        assert!(
            output == "cronjob.batch/nightly configured\n"
                || output == "cronjob.batch/nightly unchanged\n",
            "{output}"
        );
        let stored = api.get("nightly").await.unwrap();
        assert_eq!(stored.spec.suspend, Some(true), "{via:?} resumed the job");
        let pod = stored
            .spec
            .job_template
            .spec
            .unwrap()
            .template
            .spec
            .unwrap();
        assert_eq!(
            pod.containers[0].resources.clone().unwrap().limits.unwrap()["cpu"].0,
            "200m"
        );
    }
}

#[tokio::test]
async fn server_dry_run_validates_and_stores_nothing() {
    let namespace = TestNamespace::new("new-dry-run").await;
    let api = cronjobs(&namespace).await;
    for via in Via::ALL {
        let output = new(
            via,
            namespace.name(),
            &[
                "probe",
                "--image",
                "kuul-base:busybox",
                "--schedule",
                "*/5 * * * *",
                "--apply",
                "--dry-run=server",
            ],
        );
        assert_eq!(
            succeeded(&output),
            "cronjob.batch/probe created (server dry run)\n"
        );
        let yaml = new(
            via,
            namespace.name(),
            &[
                "probe",
                "--image",
                "kuul-base:busybox",
                "--schedule",
                "*/5 * * * *",
                "--dry-run=server",
                "-o",
                "yaml",
            ],
        );
        let yaml = succeeded(&yaml);
        assert!(yaml.starts_with("# next runs (UTC): "), "{yaml}");
        assert!(yaml.contains("uid: "), "the server's answer: {yaml}");
        let client = new(
            via,
            namespace.name(),
            &[
                "probe",
                "--image",
                "kuul-base:busybox",
                "--schedule",
                "*/5 * * * *",
                "--apply",
                "--dry-run=client",
            ],
        );
        assert!(succeeded(&client).contains("kind: CronJob"));
    }
    let stored = api.list(&ListParams::default()).await.unwrap();
    assert!(
        stored.items.is_empty(),
        "a dry run stored {:?}",
        stored.items.len()
    );
}

#[tokio::test]
async fn a_cronjob_kuul_does_not_manage_needs_adopt() {
    let namespace = TestNamespace::new("new-adopt").await;
    let api = cronjobs(&namespace).await;
    let foreign: CronJob = serde_json::from_value(json!({
        "metadata": { "name": "legacy" },
        "spec": {
            "schedule": "0 0 * * *",
            "jobTemplate": { "spec": { "template": { "spec": {
                "restartPolicy": "Never",
                "containers": [{ "name": "legacy", "image": "old:1" }]
            }}}}
        }
    }))
    .unwrap();
    api.create(&PostParams::default(), &foreign).await.unwrap();
    let args = [
        "legacy",
        "--image",
        "kuul-base:busybox",
        "--schedule",
        "0 1 * * *",
        "--apply",
    ];
    for via in Via::ALL {
        let output = new(via, namespace.name(), &args);
        assert_eq!(output.status.code(), Some(1), "{via:?}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains("not managed by kuul"), "{stderr}");
        assert!(stderr.contains("hint: pass --adopt"), "{stderr}");
        assert_eq!(api.get("legacy").await.unwrap().spec.schedule, "0 0 * * *");
    }
    kuul_tests::start_manual_run(&namespace, "legacy", "legacy-by-hand").await;
    let adopted = succeeded(&new(
        Via::Umbrella,
        namespace.name(),
        &[&args[..], &["--adopt"]].concat(),
    ));
    assert_eq!(adopted, "cronjob.batch/legacy configured\n");
    let stored = api.get("legacy").await.unwrap();
    assert_eq!(stored.spec.schedule, "0 1 * * *");
    assert_eq!(
        stored.metadata.labels.unwrap()["app.kubernetes.io/managed-by"],
        "kuul"
    );
    // The run made before is labelled as the adopted CronJob's runs are, pod and all, so
    // history shows it.
    let history = kuul(
        Via::Umbrella,
        "history",
        namespace.name(),
        &["legacy", "-o", "name"],
    );
    assert_eq!(
        assert_exit(&history, 0, "history"),
        "job.batch/legacy-by-hand\n"
    );
    let pods: Api<Pod> = Api::namespaced(namespace.client(), namespace.name());
    let labelled = pods
        .list(&ListParams::default().labels("kuul.io/job=legacy"))
        .await
        .unwrap();
    assert_eq!(labelled.items.len(), 1, "the run's pod is labelled too");
}

#[tokio::test]
async fn bad_input_exits_2_names_the_field_and_writes_nothing() {
    let namespace = TestNamespace::new("new-bad").await;
    let image = "kuul-base:busybox";
    let digest_short = "kuul@sha256:abc";
    let long_name = "a".repeat(53);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["Backup", "--image", image, "--schedule", "@daily"],
            "NAME",
        ),
        (
            vec![&long_name, "--image", image, "--schedule", "@daily"],
            "NAME",
        ),
        (
            vec!["job", "--image", "Ops/Kuul:v3", "--schedule", "@daily"],
            "--image",
        ),
        (
            vec!["job", "--image", digest_short, "--schedule", "@daily"],
            "--image",
        ),
        (
            vec!["job", "--image", "ops/kuul:", "--schedule", "@daily"],
            "--image",
        ),
        (
            vec!["job", "--image", image, "--schedule", "0 0 * * 7"],
            "--schedule",
        ),
        (
            vec![
                "job",
                "--image",
                image,
                "--schedule",
                "CRON_TZ=UTC 0 0 * * *",
            ],
            "--schedule",
        ),
        (
            vec!["job", "--image", image, "--schedule", "0 0 L * *"],
            "--schedule",
        ),
        (
            vec!["job", "--image", image, "--schedule", "0 * * * * *"],
            "--schedule",
        ),
        (
            vec!["job", "--image", image, "--schedule", "*/0 * * * *"],
            "--schedule",
        ),
        (
            vec!["job", "--image", image, "--schedule", "@reboot"],
            "--schedule",
        ),
        (
            vec![
                "job",
                "--image",
                image,
                "--schedule",
                "@daily",
                "--tz",
                "Mars/Olympus",
            ],
            "--tz",
        ),
        (
            vec![
                "job",
                "--image",
                image,
                "--schedule",
                "@daily",
                "--tz",
                "Local",
            ],
            "--tz",
        ),
        (
            vec![
                "job",
                "--image",
                image,
                "--schedule",
                "@daily",
                "--pool",
                "prod!",
            ],
            "--pool",
        ),
        (
            vec![
                "job",
                "--image",
                image,
                "--schedule",
                "@daily",
                "--cpu",
                "lots",
            ],
            "--cpu",
        ),
        (
            vec![
                "job",
                "--image",
                image,
                "--schedule",
                "@daily",
                "--cpu",
                "0",
            ],
            "--cpu",
        ),
        (
            vec![
                "job",
                "--image",
                image,
                "--schedule",
                "@daily",
                "--memory",
                "1KB",
            ],
            "--memory",
        ),
        (
            vec![
                "job",
                "--image",
                image,
                "--schedule",
                "@daily",
                "--env",
                "1X=y",
            ],
            "--env",
        ),
        (
            vec![
                "job",
                "--image",
                image,
                "--schedule",
                "@daily",
                "--env",
                "NOVALUE",
            ],
            "--env",
        ),
        (
            vec![
                "job",
                "--image",
                image,
                "--schedule",
                "@daily",
                "--active-deadline",
                "soon",
            ],
            "--active-deadline",
        ),
        (
            vec![
                "job",
                "--image",
                image,
                "--schedule",
                "@daily",
                "--starting-deadline=-5",
            ],
            "--starting-deadline",
        ),
        (
            vec![
                "job",
                "--image",
                image,
                "--schedule",
                "@daily",
                "--history-success=-1",
            ],
            "--history-success",
        ),
        (
            vec![
                "job",
                "--image",
                image,
                "--schedule",
                "@daily",
                "--image-pull-secret",
                "Bad_Secret",
            ],
            "--image-pull-secret",
        ),
        (
            vec![
                "job",
                "--image",
                image,
                "--schedule",
                "@daily",
                "--label",
                "kuul.io/job=other",
            ],
            "--label",
        ),
        (
            vec![
                "job",
                "--image",
                image,
                "--schedule",
                "@daily",
                "--label",
                "bad key=x",
            ],
            "--label",
        ),
        (
            vec![
                "job",
                "--image",
                image,
                "--schedule",
                "@daily",
                "--set",
                "a=b",
            ],
            "--template",
        ),
        (
            vec![
                "job",
                "--image",
                image,
                "--schedule",
                "@daily",
                "--output",
                "table",
            ],
            "--output",
        ),
    ];
    assert!(cases.len() >= 20);
    for (index, (args, field)) in cases.iter().enumerate() {
        let via = Via::ALL[index % Via::ALL.len()];
        let output = new(via, namespace.name(), &[&args[..], &["--apply"]].concat());
        let stderr = text(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?} via {via:?}: {stderr}"
        );
        assert!(
            stderr.contains(field),
            "{args:?}: {stderr} does not name {field}"
        );
        assert!(stderr.lines().count() <= 6, "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
    let stored = cronjobs(&namespace)
        .await
        .list(&ListParams::default())
        .await
        .unwrap();
    assert!(stored.items.is_empty());
}

#[tokio::test]
async fn a_template_renders_a_checked_cronjob() {
    let namespace = TestNamespace::new("new-template").await;
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/new/template.yaml.j2");
    let template = template.to_str().unwrap();
    let output = new(
        Via::Kubectl,
        namespace.name(),
        &[
            "smoke",
            "--image",
            "kuul-base:busybox",
            "--schedule",
            "*/5 * * * *",
            "--pool",
            "internal",
            "--template",
            template,
            "--set",
            "team=ops",
            "--apply",
        ],
    );
    assert_eq!(succeeded(&output), "cronjob.batch/smoke created\n");
    let stored = cronjobs(&namespace).await.get("smoke").await.unwrap();
    assert_eq!(stored.metadata.labels.as_ref().unwrap()["team"], "ops");
    assert_eq!(
        stored.metadata.labels.as_ref().unwrap()["app.kubernetes.io/managed-by"],
        "kuul"
    );
    let pod = stored
        .spec
        .job_template
        .spec
        .unwrap()
        .template
        .spec
        .unwrap();
    assert_eq!(
        pod.tolerations.unwrap()[0].value.as_deref(),
        Some("internal")
    );
}

/// Every row of tests/fixtures/new/schedules.txt, sent to the real API server.
#[test]
fn schedule_table_matches_the_api_server() {
    let table = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/new/schedules.txt"),
    )
    .unwrap();
    let rows: Vec<(bool, String)> = table
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (verdict, quoted) = line.split_once(' ').unwrap();
            (verdict == "accept", serde_json::from_str(quoted).unwrap())
        })
        .collect();
    let wrong: Vec<String> = std::thread::scope(|scope| {
        let checks: Vec<_> = rows
            .chunks(rows.len().div_ceil(8))
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .filter_map(|(accepted, schedule)| {
                            let output = std::process::Command::new(kubectl())
                                .env("KUBECONFIG", kubeconfig())
                                .args(["create", "cronjob", "probe", "--image=i", "--dry-run=server", "-o", "name", "-n", "default"])
                                .arg(format!("--schedule={schedule}"))
                                .output()
                                .unwrap();
                            let server_accepts = output.status.success();
                            (server_accepts != *accepted).then(|| {
                                format!("{schedule:?}: table says accept={accepted}, the server says {}", text(&output.stderr))
                            })
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        checks.into_iter().flat_map(|c| c.join().unwrap()).collect()
    });
    assert!(wrong.is_empty(), "{wrong:#?}");
}
