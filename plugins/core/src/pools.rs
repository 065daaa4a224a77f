//! Node pools: which nodes serve which pool, which jobs target it, and how a
//! `label-nodes` request changes nodes.
//!
//! A pool is the value of the pool label (`kuul.io/pool` unless configured) on Nodes; a
//! Kuul job targets it through its pod template's nodeSelector. A job whose pool has no
//! ready node stays Pending silently, so the summary counts both sides and names the
//! gaps. A dedicated pool's nodes also carry the taint `KEY=POOL:NoSchedule`, which only
//! that pool's jobs tolerate. Putting nodes into pools is planned here, from the Nodes
//! as listed, before anything is written: unknown names and nodes that belong to another
//! pool stop the whole request, so a typo never leaves half the nodes relabelled. Nothing
//! here does I/O.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{Container, Node, PodSpec, Taint};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use serde::Serialize;

use crate::table::Table;

/// The taint effect of a dedicated pool.
pub const DEDICATED_EFFECT: &str = "NoSchedule";

/// One pool as `label-nodes --list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoolSummary {
    /// The kubeconfig context of its cluster, when several clusters are listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    pub pool: String,
    /// Names of its nodes, sorted.
    pub nodes: Vec<String>,
    /// How many of them are Ready and schedulable.
    pub ready: usize,
    /// How many kuul `CronJob`s target it.
    pub jobs: usize,
    /// Whether its nodes carry the pool's taint.
    pub dedicated: bool,
    /// The jobs, as `namespace/name`, sorted.
    #[serde(skip)]
    pub job_names: Vec<String>,
}

impl PoolSummary {
    /// `2/3`: ready nodes of all nodes.
    pub fn ready_column(&self) -> String {
        format!("{}/{}", self.ready, self.nodes.len())
    }

    /// The warning when jobs target the pool and no ready node serves it.
    pub fn warning(&self) -> Option<String> {
        if self.jobs == 0 || self.ready > 0 {
            return None;
        }
        let shown: Vec<&str> = self.job_names.iter().take(5).map(String::as_str).collect();
        let more = self.job_names.len().saturating_sub(shown.len());
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        let jobs = if self.jobs == 1 { "job" } else { "jobs" };
        Some(format!(
            "pool {:?} has no ready node: its {} {jobs} would stay Pending ({}{more})",
            self.pool,
            self.jobs,
            shown.join(", ")
        ))
    }
}

/// The pool a Node is in, if any.
pub fn pool_of<'a>(node: &'a Node, key: &str) -> Option<&'a str> {
    node.metadata.labels.as_ref()?.get(key).map(String::as_str)
}

/// Whether a Node is Ready and not cordoned: a pod of its pool can land there.
pub fn is_ready(node: &Node) -> bool {
    let schedulable = !node
        .spec
        .as_ref()
        .and_then(|spec| spec.unschedulable)
        .unwrap_or(false);
    let ready = node
        .status
        .as_ref()
        .and_then(|status| status.conditions.as_ref())
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        });
    schedulable && ready
}

/// The spec of the pods a `CronJob`'s runs make.
pub fn pod_spec(cronjob: &CronJob) -> Option<&PodSpec> {
    cronjob
        .spec
        .job_template
        .spec
        .as_ref()?
        .template
        .spec
        .as_ref()
}

/// The pool a `CronJob`'s runs are pinned to by nodeSelector, if any.
pub fn targeted_pool<'a>(cronjob: &'a CronJob, key: &str) -> Option<&'a str> {
    pod_spec(cronjob)?
        .node_selector
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

/// Why a `CronJob`'s pod fits no ready node of its pool by its CPU or memory request,
/// naming the largest allocatable there; `None` when a node can take it, or when no
/// ready node matches its nodeSelector at all (that is the unschedulable health's news).
/// The scheduler would leave such a pod Pending for ever.
pub fn request_misfit(cronjob: &CronJob, nodes: &[Node], key: &str) -> Option<String> {
    let pod = pod_spec(cronjob)?;
    let selector = pod.node_selector.clone().unwrap_or_default();
    let candidates: Vec<&Node> = nodes
        .iter()
        .filter(|node| is_ready(node))
        .filter(|node| {
            let labels = node.metadata.labels.as_ref();
            selector
                .iter()
                .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
        })
        .collect();
    if candidates.is_empty() {
        return None;
    }
    let request = |resource: &str| -> f64 {
        pod.containers
            .iter()
            .filter_map(|c| crate::quantity::value(&request_of(c, resource)?.0))
            .sum()
    };
    let allocatable = |node: &Node, resource: &str| -> Option<(f64, String)> {
        let quantity = node.status.as_ref()?.allocatable.as_ref()?.get(resource)?;
        Some((crate::quantity::value(&quantity.0)?, quantity.0.clone()))
    };
    let (cpu, memory) = (request("cpu"), request("memory"));
    let fits = |node: &&Node| {
        ["cpu", "memory"]
            .into_iter()
            .zip([cpu, memory])
            .all(|(resource, asked)| {
                allocatable(node, resource).is_none_or(|(has, _)| has >= asked)
            })
    };
    if candidates.iter().any(fits) {
        return None;
    }
    let largest = |resource: &str| {
        candidates
            .iter()
            .filter_map(|node| allocatable(node, resource))
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map_or_else(|| "?".to_owned(), |(_, text)| text)
    };
    let name = cronjob.metadata.name.as_deref().unwrap_or_default();
    let place = match selector.get(key) {
        Some(pool) => format!("pool {pool:?}"),
        None if selector.is_empty() => "the cluster".to_owned(),
        None => "its nodeSelector".to_owned(),
    };
    Some(format!(
        "job {name} requests cpu {} and memory {}, which no ready node of {place} can allocate (largest: cpu {}, memory {}); its runs would stay Pending",
        shown_request(pod, "cpu"),
        shown_request(pod, "memory"),
        largest("cpu"),
        largest("memory"),
    ))
}

/// A container's request for `resource`; the API server defaults a request to the limit
/// when only that is set.
fn request_of<'a>(container: &'a Container, resource: &str) -> Option<&'a Quantity> {
    let resources = container.resources.as_ref()?;
    let asked = resources.requests.as_ref().and_then(|r| r.get(resource));
    asked.or_else(|| resources.limits.as_ref()?.get(resource))
}

/// A request as written (of the first container that has one), for messages.
fn shown_request(pod: &PodSpec, resource: &str) -> String {
    pod.containers
        .iter()
        .find_map(|c| request_of(c, resource))
        .map_or_else(|| "0".to_owned(), |q| q.0.clone())
}

/// The taint that makes `pool` dedicated.
pub fn dedicated_taint(key: &str, pool: &str) -> Taint {
    Taint {
        key: key.to_owned(),
        value: Some(pool.to_owned()),
        effect: DEDICATED_EFFECT.to_owned(),
        time_added: None,
    }
}

/// The pool a Node's taint dedicates it to, if any.
fn dedicated_to<'a>(node: &'a Node, key: &str) -> Option<&'a str> {
    taints(node)
        .iter()
        .find(|t| t.key == key && t.effect == DEDICATED_EFFECT)
        .and_then(|t| t.value.as_deref())
}

fn taints(node: &Node) -> &[Taint] {
    node.spec
        .as_ref()
        .and_then(|spec| spec.taints.as_deref())
        .unwrap_or_default()
}

/// Every pool that has nodes or jobs, sorted by name.
pub fn summarize(nodes: &[Node], cronjobs: &[CronJob], key: &str) -> Vec<PoolSummary> {
    let mut pools: BTreeMap<String, PoolSummary> = BTreeMap::new();
    let entry = |pools: &mut BTreeMap<String, PoolSummary>, pool: &str| {
        pools.entry(pool.to_owned()).or_insert_with(|| PoolSummary {
            context: None,
            pool: pool.to_owned(),
            nodes: Vec::new(),
            ready: 0,
            jobs: 0,
            dedicated: false,
            job_names: Vec::new(),
        });
    };
    for node in nodes {
        let Some(pool) = pool_of(node, key) else {
            continue;
        };
        entry(&mut pools, pool);
        let summary = pools.get_mut(pool).expect("entry was just made");
        summary
            .nodes
            .push(node.metadata.name.clone().unwrap_or_default());
        if is_ready(node) {
            summary.ready += 1;
        }
        if dedicated_to(node, key) == Some(pool) {
            summary.dedicated = true;
        }
    }
    for cronjob in cronjobs {
        let Some(pool) = targeted_pool(cronjob, key) else {
            continue;
        };
        entry(&mut pools, pool);
        let summary = pools.get_mut(pool).expect("entry was just made");
        summary.jobs += 1;
        summary.job_names.push(format!(
            "{}/{}",
            cronjob.metadata.namespace.as_deref().unwrap_or_default(),
            cronjob.metadata.name.as_deref().unwrap_or_default()
        ));
    }
    let mut pools: Vec<PoolSummary> = pools.into_values().collect();
    for pool in &mut pools {
        pool.nodes.sort();
        pool.job_names.sort();
    }
    pools
}

/// The `--list` table: POOL, NODES, READY, JOBS (and DEDICATED when `wide`).
pub fn table(pools: &[PoolSummary], wide: bool) -> Table {
    let contexts = pools.iter().any(|pool| pool.context.is_some());
    let mut header = vec!["POOL", "NODES", "READY", "JOBS"];
    if wide {
        header.push("DEDICATED");
    }
    if contexts {
        header.insert(0, "CONTEXT");
    }
    let mut table = Table::new(header);
    for pool in pools {
        let nodes = if pool.nodes.is_empty() {
            "<none>".to_owned()
        } else {
            pool.nodes.join(",")
        };
        let mut row = vec![
            pool.pool.clone(),
            nodes,
            pool.ready_column(),
            pool.jobs.to_string(),
        ];
        if wide {
            row.push(if pool.dedicated { "yes" } else { "no" }.to_owned());
        }
        if contexts {
            row.insert(0, pool.context.clone().unwrap_or_default());
        }
        table.row(row);
    }
    table
}

/// What a request asks for each node: to be in `Some(pool)`, or in none.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The pool to put nodes in; `None` takes them out of their pool (`--remove`).
    pub pool: Option<&'a str>,
    /// The nodes named on the command line.
    pub named: &'a [String],
    /// The nodes a `-l` selector picked.
    pub selected: &'a [Node],
    /// Move nodes that are in another pool.
    pub overwrite: bool,
    /// Taint the pool's nodes.
    pub dedicated: bool,
    /// The pool label key.
    pub key: &'a str,
}

/// What changes on one node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeChange {
    pub node: String,
    /// The pool it is in now.
    pub from: Option<String>,
    /// The pool it will be in.
    pub to: Option<String>,
    /// Whether it ends up with the pool's taint.
    pub dedicated: bool,
    /// Its taints afterwards, when they change.
    pub taints: Option<Vec<Taint>>,
    /// The resource version the change was planned from.
    pub resource_version: Option<String>,
}

impl NodeChange {
    /// Whether anything changes at all.
    pub fn changes(&self) -> bool {
        self.from != self.to || self.taints.is_some()
    }

    /// What happens, for the output: `added to pool prod`, `moved from pool a to pool b`,
    /// `removed from pool prod`, `unchanged`, plus the taint.
    pub fn describe(&self, key: &str) -> String {
        let mut text = match (&self.from, &self.to) {
            (from, to) if from == to => match to {
                Some(pool) => format!("already in pool {pool}"),
                None => "in no pool".to_owned(),
            },
            (None, Some(to)) => format!("added to pool {to}"),
            (Some(from), Some(to)) => format!("moved from pool {from} to pool {to}"),
            (Some(from), None) => format!("removed from pool {from}"),
            (None, None) => unreachable!("equal pools are handled first"),
        };
        if let Some(taints) = &self.taints {
            let taint = taints
                .iter()
                .find(|t| t.key == key && t.effect == DEDICATED_EFFECT);
            text = match taint {
                Some(taint) => format!(
                    "{text}, tainted {key}={}:{DEDICATED_EFFECT}",
                    taint.value.as_deref().unwrap_or_default()
                ),
                None => format!("{text}, taint {key} removed"),
            };
        }
        text
    }
}

/// Why a request changes nothing at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Names that are no Node.
    Unknown(Vec<String>),
    /// Nodes in another pool, with that pool, and `--overwrite` was not given.
    InOtherPool(Vec<(String, String)>),
}

/// Plans a request against `nodes`, every Node of the cluster: one change per node
/// concerned, sorted by name. When `dedicated`, the pool's other nodes get the taint
/// too; a node joining a pool that is already dedicated is tainted as well, so that a
/// pool is dedicated as a whole. A node leaving a pool loses the pool taint.
pub fn plan(request: &Request<'_>, nodes: &[Node]) -> Result<Vec<NodeChange>, Refusal> {
    let by_name: BTreeMap<&str, &Node> = nodes
        .iter()
        .filter_map(|n| Some((n.metadata.name.as_deref()?, n)))
        .collect();
    let unknown: Vec<String> = request
        .named
        .iter()
        .filter(|name| !by_name.contains_key(name.as_str()))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !unknown.is_empty() {
        return Err(Refusal::Unknown(unknown));
    }
    let mut concerned: BTreeSet<&str> = request.named.iter().map(String::as_str).collect();
    concerned.extend(
        request
            .selected
            .iter()
            .filter_map(|n| n.metadata.name.as_deref()),
    );
    let key = request.key;
    if let Some(pool) = request.pool {
        let conflicts: Vec<(String, String)> = concerned
            .iter()
            .filter_map(|name| {
                let current = pool_of(by_name[name], key)?;
                (current != pool).then(|| ((*name).to_owned(), current.to_owned()))
            })
            .collect();
        if !conflicts.is_empty() && !request.overwrite {
            return Err(Refusal::InOtherPool(conflicts));
        }
        let members = nodes
            .iter()
            .filter(|n| pool_of(n, key) == Some(pool))
            .filter_map(|n| n.metadata.name.as_deref());
        let already_dedicated = nodes
            .iter()
            .any(|n| pool_of(n, key) == Some(pool) && dedicated_to(n, key) == Some(pool));
        if request.dedicated || already_dedicated {
            concerned.extend(members);
        }
        let dedicated = request.dedicated || already_dedicated;
        Ok(concerned
            .into_iter()
            .map(|name| change(by_name[name], Some(pool), dedicated, key))
            .collect())
    } else {
        Ok(concerned
            .into_iter()
            .map(|name| change(by_name[name], None, false, key))
            .collect())
    }
}

/// The change that puts `node` into `pool` (or none), tainted when `dedicated`; also
/// used again when a write met a newer version of the node.
pub fn change(node: &Node, pool: Option<&str>, dedicated: bool, key: &str) -> NodeChange {
    let current = taints(node);
    let mut taints: Vec<Taint> = current
        .iter()
        .filter(|t| !(t.key == key && t.effect == DEDICATED_EFFECT))
        .cloned()
        .collect();
    let dedicated = dedicated && pool.is_some();
    if let (Some(pool), true) = (pool, dedicated) {
        taints.push(dedicated_taint(key, pool));
    }
    let unchanged = taints.len() == current.len() && taints.iter().all(|t| current.contains(t));
    NodeChange {
        node: node.metadata.name.clone().unwrap_or_default(),
        from: pool_of(node, key).map(str::to_owned),
        to: pool.map(str::to_owned),
        dedicated,
        taints: (!unchanged).then_some(taints),
        resource_version: node.metadata.resource_version.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sized_node(name: &str, pool: &str, cpu: &str, memory: &str) -> Node {
        serde_json::from_value(serde_json::json!({
            "metadata": { "name": name, "labels": { "kuul.io/pool": pool } },
            "status": {
                "allocatable": { "cpu": cpu, "memory": memory },
                "conditions": [{ "type": "Ready", "status": "True" }]
            }
        }))
        .unwrap()
    }

    fn asking(cpu: &str, memory: &str) -> CronJob {
        serde_json::from_value(serde_json::json!({
            "metadata": { "name": "big" },
            "spec": { "schedule": "* * * * *", "jobTemplate": { "spec": { "template": { "spec": {
                "nodeSelector": { "kuul.io/pool": "prod" },
                "containers": [{ "name": "work", "resources": {
                    "requests": { "cpu": cpu, "memory": memory },
                    "limits": { "cpu": cpu, "memory": memory }
                } }]
            } } } } }
        }))
        .unwrap()
    }

    #[test]
    fn a_request_larger_than_every_node_of_the_pool_is_named() {
        let nodes = [
            sized_node("p1", "prod", "8", "32Gi"),
            sized_node("p2", "prod", "4", "64Gi"),
            sized_node("i1", "internal", "96", "512Gi"),
        ];
        assert_eq!(
            request_misfit(&asking("64", "512Mi"), &nodes, "kuul.io/pool").as_deref(),
            Some(
                "job big requests cpu 64 and memory 512Mi, which no ready node of pool \"prod\" can allocate (largest: cpu 8, memory 64Gi); its runs would stay Pending"
            )
        );
        assert_eq!(
            request_misfit(&asking("500m", "48Gi"), &nodes, "kuul.io/pool"),
            None,
            "p2 has room"
        );
        // Neither node has both: 6 CPUs are only on p1, 40Gi only on p2.
        assert!(request_misfit(&asking("6", "40Gi"), &nodes, "kuul.io/pool").is_some());
        // A pool without ready nodes is another problem, told elsewhere.
        assert_eq!(
            request_misfit(&asking("64", "1Gi"), &nodes[2..], "kuul.io/pool"),
            None
        );
    }
    use serde_json::json;

    const KEY: &str = "kuul.io/pool";

    fn node(name: &str, pool: Option<&str>, ready: bool, taint: Option<&str>) -> Node {
        let labels = pool.map_or_else(|| json!({}), |p| json!({ KEY: p }));
        let taints = taint.map_or_else(
            || json!([{ "key": "other", "effect": "NoExecute" }]),
            |p| json!([{ "key": "other", "effect": "NoExecute" }, { "key": KEY, "value": p, "effect": "NoSchedule" }]),
        );
        serde_json::from_value(json!({
            "metadata": { "name": name, "labels": labels, "resourceVersion": "1" },
            "spec": { "taints": taints },
            "status": { "conditions": [{ "type": "Ready", "status": if ready { "True" } else { "False" } }] }
        }))
        .unwrap()
    }

    fn cronjob(namespace: &str, name: &str, pool: Option<&str>) -> CronJob {
        let selector = pool.map_or_else(|| json!(null), |p| json!({ KEY: p }));
        serde_json::from_value(json!({
            "metadata": { "name": name, "namespace": namespace },
            "spec": { "schedule": "@daily", "jobTemplate": { "spec": { "template": { "spec": {
                "containers": [], "nodeSelector": selector
            } } } } }
        }))
        .unwrap()
    }

    fn cluster() -> Vec<Node> {
        vec![
            node("prod-1", Some("prod"), true, None),
            node("prod-2", Some("prod"), false, None),
            node("internal-1", Some("internal"), true, Some("internal")),
            node("gpu-1", Some("gpu"), false, None),
            node("spare-1", None, true, None),
        ]
    }

    #[test]
    fn summary_counts_nodes_ready_nodes_and_jobs_per_pool() {
        let cronjobs = [
            cronjob("ops", "backup", Some("prod")),
            cronjob("ops", "smoke", Some("prod")),
            cronjob("qa", "train", Some("gpu")),
            cronjob("qa", "lost", Some("nowhere")),
            cronjob("qa", "anywhere", None),
        ];
        let pools = summarize(&cluster(), &cronjobs, KEY);
        assert_eq!(
            table(&pools, true).to_string(),
            "POOL       NODES           READY   JOBS   DEDICATED\n\
             gpu        gpu-1           0/1     1      no\n\
             internal   internal-1      1/1     0      yes\n\
             nowhere    <none>          0/0     1      no\n\
             prod       prod-1,prod-2   1/2     2      no\n"
        );
        let warnings: Vec<String> = pools.iter().filter_map(PoolSummary::warning).collect();
        assert_eq!(
            warnings,
            [
                "pool \"gpu\" has no ready node: its 1 job would stay Pending (qa/train)",
                "pool \"nowhere\" has no ready node: its 1 job would stay Pending (qa/lost)",
            ]
        );
    }

    #[test]
    fn cordoned_nodes_are_not_ready() {
        let mut cordoned = node("prod-1", Some("prod"), true, None);
        assert!(is_ready(&cordoned));
        cordoned.spec.as_mut().unwrap().unschedulable = Some(true);
        assert!(!is_ready(&cordoned));
    }

    fn request<'a>(pool: Option<&'a str>, named: &'a [String]) -> Request<'a> {
        Request {
            pool,
            named,
            selected: &[],
            overwrite: false,
            dedicated: false,
            key: KEY,
        }
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn unknown_nodes_refuse_everything() {
        let named = names(&["spare-1", "nope-2", "nope-1"]);
        assert_eq!(
            plan(&request(Some("prod"), &named), &cluster()),
            Err(Refusal::Unknown(names(&["nope-1", "nope-2"])))
        );
    }

    #[test]
    fn nodes_of_another_pool_need_overwrite() {
        let named = names(&["spare-1", "internal-1", "prod-1"]);
        assert_eq!(
            plan(&request(Some("prod"), &named), &cluster()),
            Err(Refusal::InOtherPool(vec![(
                "internal-1".to_owned(),
                "internal".to_owned()
            )]))
        );
        let overwrite = Request {
            overwrite: true,
            ..request(Some("prod"), &named)
        };
        let changes = plan(&overwrite, &cluster()).unwrap();
        let described: Vec<String> = changes.iter().map(|c| c.describe(KEY)).collect();
        assert_eq!(
            described,
            [
                "moved from pool internal to pool prod, taint kuul.io/pool removed",
                "already in pool prod",
                "added to pool prod",
            ]
        );
        assert!(!changes[1].changes());
        // Other taints stay.
        assert_eq!(changes[0].taints.as_ref().unwrap()[0].key, "other");
    }

    #[test]
    fn dedicated_taints_every_node_of_the_pool() {
        let named = names(&["spare-1"]);
        let dedicated = Request {
            dedicated: true,
            ..request(Some("prod"), &named)
        };
        let changes = plan(&dedicated, &cluster()).unwrap();
        let nodes: Vec<&str> = changes.iter().map(|c| c.node.as_str()).collect();
        assert_eq!(nodes, ["prod-1", "prod-2", "spare-1"]);
        for change in &changes {
            assert_eq!(
                change.taints.as_ref().unwrap()[1],
                dedicated_taint(KEY, "prod")
            );
        }
        assert_eq!(
            changes[2].describe(KEY),
            "added to pool prod, tainted kuul.io/pool=prod:NoSchedule"
        );
    }

    #[test]
    fn joining_a_dedicated_pool_takes_its_taint_and_leaving_drops_it() {
        let named = names(&["spare-1"]);
        let changes = plan(&request(Some("internal"), &named), &cluster()).unwrap();
        assert_eq!(changes.len(), 2);
        assert!(!changes[0].changes(), "internal-1 is already tainted");
        assert_eq!(
            changes[1].describe(KEY),
            "added to pool internal, tainted kuul.io/pool=internal:NoSchedule"
        );

        let named = names(&["internal-1", "spare-1"]);
        let changes = plan(&request(None, &named), &cluster()).unwrap();
        let described: Vec<String> = changes.iter().map(|c| c.describe(KEY)).collect();
        assert_eq!(
            described,
            [
                "removed from pool internal, taint kuul.io/pool removed",
                "in no pool"
            ]
        );
    }

    #[test]
    fn selected_nodes_join_the_named_ones() {
        let nodes = cluster();
        let named = names(&["spare-1"]);
        let selected = [nodes[3].clone()];
        let req = Request {
            selected: &selected,
            overwrite: true,
            ..request(Some("prod"), &named)
        };
        let changes = plan(&req, &nodes).unwrap();
        let nodes: Vec<&str> = changes.iter().map(|c| c.node.as_str()).collect();
        assert_eq!(nodes, ["gpu-1", "spare-1"]);
    }
}
