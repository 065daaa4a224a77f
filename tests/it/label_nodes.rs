//! `kubectl kuul label-nodes` against the real local cluster, through kubectl, the plugin
//! binary and the umbrella. Every test makes its own Nodes (`kuul-test-...`, simulated
//! by kwok) and pools with unique names, and deletes the Nodes at the end: the harness's
//! four nodes are read by `--list` but never relabelled or tainted, since other tests
//! schedule pods on them at the same time.

use std::process::Output;
use std::time::Duration;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams, PostParams};
use kuul_tests::{FakeNodes, TestNamespace, Via, YEARLY, assert_exit, eventually, text};
use serde_json::json;

const KEY: &str = "kuul.io/pool";

/// Nodes `kuul-test-<suffix>-<letter>` in no pool, once kwok reports them Ready.
async fn test_nodes(ns: &TestNamespace, letters: &[&str]) -> FakeNodes {
    let nodes = FakeNodes::create(ns, letters, &json!({})).await;
    nodes.until_ready().await;
    nodes
}

fn label_nodes(via: Via, args: &[&str]) -> Output {
    via.command("label-nodes")
        .args(args)
        .output()
        .expect("run kubectl kuul label-nodes")
}

/// A node's pool and its pool taint's value, as stored.
async fn pool_and_taint(ns: &TestNamespace, name: &str) -> (Option<String>, Option<String>) {
    let node = Api::<Node>::all(ns.client())
        .get(name)
        .await
        .expect("get node");
    let pool = node.metadata.labels.and_then(|l| l.get(KEY).cloned());
    let taint = node
        .spec
        .and_then(|s| s.taints)
        .and_then(|t| t.into_iter().find(|t| t.key == KEY))
        .map(|t| format!("{}:{}", t.value.unwrap_or_default(), t.effect));
    (pool, taint)
}

/// A kuul `CronJob` in the test namespace whose runs target `pool`.
async fn cronjob_for(ns: &TestNamespace, name: &str, pool: &str) {
    let cronjob: CronJob = serde_json::from_value(json!({
        "metadata": { "name": name, "labels": { "app.kubernetes.io/managed-by": "kuul", "kuul.io/job": name } },
        "spec": {
            "schedule": YEARLY, "suspend": true,
            "jobTemplate": { "spec": { "template": { "spec": {
                "restartPolicy": "Never", "nodeSelector": { KEY: pool },
                "containers": [{ "name": "work", "image": "kuul-base:busybox" }]
            } } } }
        }
    }))
    .unwrap();
    Api::<CronJob>::namespaced(ns.client(), ns.name())
        .create(&PostParams::default(), &cronjob)
        .await
        .expect("create CronJob");
}

/// The `--list` row of `pool`, split into columns.
fn row(output: &Output, pool: &str) -> Vec<String> {
    text(&output.stdout)
        .lines()
        .map(|l| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .find(|cols| cols.first().is_some_and(|p| p == pool))
        .unwrap_or_else(|| panic!("no row for pool {pool} in\n{}", text(&output.stdout)))
}

#[tokio::test]
async fn pools_are_made_listed_guarded_and_emptied() {
    let ns = TestNamespace::new("kuul-label-nodes").await;
    let nodes = test_nodes(&ns, &["a", "b", "c"]).await;
    let [a, b, c] = [&nodes.names()[0], &nodes.names()[1], &nodes.names()[2]];
    let suffix = ns.suffix();
    let pool = format!("p-{suffix}");
    let other = format!("q-{suffix}");
    let empty = format!("e-{suffix}");

    let added = label_nodes(Via::Kubectl, &[&pool, a, b]);
    assert_exit(&added, 0, "label-nodes POOL a b");
    assert_eq!(
        text(&added.stdout),
        format!("node/{a} added to pool {pool}\nnode/{b} added to pool {pool}\n")
    );
    assert_eq!(pool_and_taint(&ns, a).await, (Some(pool.clone()), None));

    cronjob_for(&ns, "backup", &pool).await;
    cronjob_for(&ns, "smoke", &pool).await;
    cronjob_for(&ns, "stranded", &empty).await;
    for via in Via::ALL {
        for args in [&["--list"][..], &[]] {
            let list = label_nodes(via, args);
            assert_exit(&list, 0, &format!("{via:?} {args:?}"));
            assert_eq!(
                text(&list.stdout)
                    .lines()
                    .next()
                    .unwrap()
                    .split_whitespace()
                    .collect::<Vec<_>>(),
                ["POOL", "NODES", "READY", "JOBS"]
            );
            assert_eq!(
                row(&list, &pool),
                [pool.clone(), format!("{a},{b}"), "2/2".into(), "2".into()]
            );
            assert_eq!(
                row(&list, &empty),
                [empty.clone(), "<none>".into(), "0/0".into(), "1".into()]
            );
            assert_eq!(row(&list, "prod")[1], "kuul-prod-1,kuul-prod-2");
            let stderr = text(&list.stderr);
            assert!(
                stderr.contains(&format!(
                    "warning: pool \"{empty}\" has no ready node: its 1 job would stay Pending ({}/stranded)",
                    ns.name()
                )),
                "{stderr}"
            );
            assert!(
                !stderr.contains(&format!("pool \"{pool}\" has no")),
                "{stderr}"
            );
        }
    }

    // Unknown names: listed, nothing changed, exit 2.
    for via in Via::ALL {
        let unknown = label_nodes(via, &[&other, c, "kuul-test-nope-2", "kuul-test-nope-1"]);
        assert_exit(&unknown, 2, &format!("{via:?} unknown nodes"));
        assert!(
            text(&unknown.stderr)
                .contains("no such nodes: kuul-test-nope-1, kuul-test-nope-2; nothing was changed"),
            "{}",
            text(&unknown.stderr)
        );
    }
    assert_eq!(pool_and_taint(&ns, c).await, (None, None));

    // Another pool needs --overwrite; the error names the node and its pool.
    let conflict = label_nodes(Via::Plugin, &[&other, c, a]);
    assert_exit(&conflict, 1, "node in another pool");
    assert!(
        text(&conflict.stderr).contains(&format!(
            "already in another pool: {a} (pool {pool}); nothing was changed"
        )),
        "{}",
        text(&conflict.stderr)
    );
    assert_eq!(pool_and_taint(&ns, c).await, (None, None));
    let moved = label_nodes(Via::Umbrella, &[&other, c, a, "--overwrite"]);
    assert_exit(&moved, 0, "--overwrite");
    assert!(
        text(&moved.stdout).contains(&format!("node/{a} moved from pool {pool} to pool {other}"))
    );
    assert_eq!(pool_and_taint(&ns, a).await.0, Some(other.clone()));
    assert_eq!(pool_and_taint(&ns, c).await.0, Some(other.clone()));

    let removed = label_nodes(Via::Kubectl, &["--remove", a, c]);
    assert_exit(&removed, 0, "--remove");
    assert_eq!(
        text(&removed.stdout),
        format!("node/{a} removed from pool {other}\nnode/{c} removed from pool {other}\n")
    );
    assert_eq!(pool_and_taint(&ns, a).await, (None, None));

    // Invalid pool names exit 2 and change nothing.
    for bad in ["Bad Pool", "-x", &"p".repeat(64)] {
        let output = label_nodes(Via::Plugin, &[bad, a]);
        assert_exit(&output, 2, bad);
    }
    let selector = label_nodes(Via::Plugin, &[&pool, "-l", "type in (kwok"]);
    assert_exit(&selector, 2, "bad selector");
    assert_eq!(pool_and_taint(&ns, a).await, (None, None));
}

#[tokio::test]
async fn a_dedicated_pool_takes_only_its_own_jobs() {
    let ns = TestNamespace::new("kuul-label-dedicated").await;
    let nodes = test_nodes(&ns, &["a"]).await;
    let node = &nodes.names()[0];
    let pool = format!("d-{}", ns.suffix());

    let dedicated = label_nodes(Via::Plugin, &[&pool, node, "--dedicated"]);
    assert_exit(&dedicated, 0, "--dedicated");
    assert_eq!(
        text(&dedicated.stdout),
        format!("node/{node} added to pool {pool}, tainted {KEY}={pool}:NoSchedule\n")
    );
    assert_eq!(
        pool_and_taint(&ns, node).await,
        (Some(pool.clone()), Some(format!("{pool}:NoSchedule")))
    );
    let wide = label_nodes(Via::Umbrella, &["--list", "-o", "wide"]);
    assert_eq!(row(&wide, &pool)[4], "yes");

    let new = Via::Plugin
        .command("new")
        .args([
            "-n",
            ns.name(),
            "pinned",
            "--image",
            "kuul-base:busybox",
            "--schedule",
            YEARLY,
        ])
        .args(["--pool", &pool, "--dedicated", "--apply"])
        .output()
        .expect("run kubectl kuul new");
    assert_exit(&new, 0, "new --pool --dedicated --apply");
    let run = Via::Plugin
        .command("run-now")
        .args([
            "-n",
            ns.name(),
            "pinned",
            "--name",
            "pinned-now",
            "--wait",
            "--timeout",
            "60s",
        ])
        .output()
        .expect("run kubectl kuul run-now");
    assert_exit(&run, 0, "the run on the dedicated pool");
    let pods: Api<Pod> = Api::namespaced(ns.client(), ns.name());
    let pod = pods
        .list(&ListParams::default().labels("batch.kubernetes.io/job-name=pinned-now"))
        .await
        .expect("list pods")
        .items
        .pop()
        .expect("the run's pod");
    assert_eq!(pod.spec.unwrap().node_name.as_deref(), Some(node.as_str()));

    // A job of the pool without the toleration cannot land there: it stays Pending.
    let mut cronjob = Api::<CronJob>::namespaced(ns.client(), ns.name())
        .get("pinned")
        .await
        .unwrap();
    let spec = cronjob.spec.job_template.spec.as_mut().unwrap();
    spec.template.spec.as_mut().unwrap().tolerations = None;
    let job = Job {
        metadata: kube::api::ObjectMeta {
            name: Some("untolerated".into()),
            ..Default::default()
        },
        spec: Some(spec.clone()),
        status: None,
    };
    Api::<Job>::namespaced(ns.client(), ns.name())
        .create(&PostParams::default(), &job)
        .await
        .expect("create Job");
    eventually(
        Duration::from_secs(30),
        "the untolerated pod reported unschedulable",
        || async {
            pods.list(&ListParams::default().labels("batch.kubernetes.io/job-name=untolerated"))
                .await
                .unwrap()
                .items
                .pop()
                .and_then(|p| p.status)
                .and_then(|s| s.conditions)
                .is_some_and(|c| {
                    c.iter().any(|c| {
                        c.type_ == "PodScheduled" && c.reason.as_deref() == Some("Unschedulable")
                    })
                })
                .then_some(())
        },
    )
    .await;

    let removed = label_nodes(Via::Kubectl, &["--remove", node]);
    assert_exit(&removed, 0, "--remove a dedicated node");
    assert_eq!(pool_and_taint(&ns, node).await, (None, None));
}
