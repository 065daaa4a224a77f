//! `kubectl kuul label-nodes`: put nodes into pools, list pools, remove nodes from pools.
//!
//! Setting up pools used to be a shell loop of `kubectl label node`, checked with another
//! loop of `kubectl describe node | grep`. This command reads every Node once (paginated),
//! has [`crate::pools`] plan the whole request, refuses it as a whole when a name is
//! unknown (exit 2) or a node is in another pool without `--overwrite` (exit 1), and
//! only then patches the nodes that change, concurrently, as field manager
//! `kuul-label-nodes`. Each patch carries the node's resourceVersion; when a node changed
//! meanwhile it is read again and its change planned afresh. `--list` (also what a bare
//! `label-nodes` does) shows each pool's nodes, how many are ready, how many kuul jobs
//! target it, and warns about pools that jobs target but no ready node serves.

use std::path::PathBuf;

use clap::Args;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::Node;
use kube::api::{ListParams, Patch, PatchParams};
use kube::{Api, Resource};
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::bulk::{self, Bulk};
use crate::cli::{ContextsArgs, DryRun, DryRunArgs, KubeArgs, OutputArgs, OutputFormat};
use crate::client::Cluster;
use crate::clusters;
use crate::commands::KuulCommand;
use crate::config::Config;
use crate::error::{Error, Operation};
use crate::kuul_job::{MANAGED_BY, MANAGER, check_label_key, check_node_name, check_pool};
use crate::pools::{self, NodeChange, PoolSummary, Refusal, Request};
use crate::printer::Printer;
use crate::selector;

/// The field manager of the labels and taints label-nodes writes.
pub const FIELD_MANAGER: &str = "kuul-label-nodes";

/// Arguments of `kubectl kuul label-nodes`.
// The field docs are the `--help` text, where backticks would show.
#[allow(clippy::doc_markdown)]
// Each flag is a yes/no choice of the user's; clap needs them as separate fields.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, Args)]
pub struct LabelNodesArgs {
    /// The pool to put the nodes in (a label value, e.g. prod)
    #[arg(value_name = "POOL")]
    pub pool: Option<String>,

    /// Nodes to put in the pool
    #[arg(value_name = "NODE")]
    pub nodes: Vec<String>,

    /// Also the nodes whose labels match, e.g. node.kubernetes.io/instance-type=m5.large
    #[arg(short = 'l', long = "selector", value_name = "SELECTOR")]
    pub selector: Option<String>,

    /// Move nodes that are in another pool
    #[arg(long)]
    pub overwrite: bool,

    /// Also taint the pool's nodes with KEY=POOL:NoSchedule, so that only the pool's jobs
    /// (made with `new --dedicated`) land there
    #[arg(long)]
    pub dedicated: bool,

    /// Take these nodes out of their pool (and drop the pool's taint)
    #[arg(long, value_name = "NODE", num_args = 1.., conflicts_with_all = ["pool", "selector", "overwrite", "dedicated"])]
    pub remove: Vec<String>,

    /// Show the pools: their nodes, how many are ready, how many kuul jobs target them
    /// (also what label-nodes does without arguments)
    #[arg(long, conflicts_with_all = ["pool", "remove", "selector", "overwrite", "dedicated"])]
    pub list: bool,

    /// kuul config file, for poolLabelKey (default: ./kuul.yaml, then $KUUL_CONFIG, then
    /// ~/.config/kuul/config.yaml)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub dry_run: DryRunArgs,

    #[command(flatten)]
    pub contexts: ContextsArgs,
}

impl LabelNodesArgs {
    /// Checks the input; `key` is the pool label key from the config.
    fn check(&self, key: &str) -> Result<(), Error> {
        check_label_key("pool label key (config poolLabelKey)", key)?;
        if let Some(pool) = &self.pool {
            check_pool("POOL", pool)?;
            if self.nodes.is_empty() && self.selector.is_none() && !self.dedicated {
                return Err(Error::InvalidInput {
                    message: format!("no nodes given for pool {pool:?}"),
                    hint: Some(
                        "name nodes, select them with -l, or pass --dedicated to taint the pool's nodes; --list shows the pools"
                            .to_owned(),
                    ),
                });
            }
        }
        for node in &self.nodes {
            check_node_name("NODE", node)?;
        }
        for node in &self.remove {
            check_node_name("--remove", node)?;
        }
        if let Some(selector) = &self.selector {
            selector::check("--selector", selector)?;
        }
        if self.output.output != OutputFormat::Table && self.listing().is_none() {
            return Err(Error::InvalidInput {
                message: "-o applies to --list only".to_owned(),
                hint: Some("drop -o, or pass --list to show the pools".to_owned()),
            });
        }
        Ok(())
    }

    /// The output format when the request is a listing.
    fn listing(&self) -> Option<OutputFormat> {
        (self.list || (self.pool.is_none() && self.remove.is_empty())).then_some(self.output.output)
    }
}

impl KuulCommand for LabelNodesArgs {
    const NAME: &'static str = "label-nodes";
    const ABOUT: &'static str = "Put nodes into pools, list pools, remove nodes from pools.";
    const LONG_ABOUT: &'static str = include_str!("help/label-nodes.txt");

    async fn run(self, kube: KubeArgs, printer: Printer) -> Result<(), Error> {
        let printer = printer.with_headers(self.output.headers);
        let config = Config::load(self.config.as_deref())?;
        let key = config.defaults.pool_label_key.clone();
        self.check(&key)?;
        let contexts = clusters::selected(&self.contexts, &kube)?;
        if contexts.len() > 1 {
            let Some(format) = self.listing() else {
                return Err(Error::InvalidInput {
                    message: format!(
                        "label-nodes changes the nodes of one cluster, and {} are named",
                        contexts.len()
                    ),
                    hint: Some(
                        "name one --context to change nodes; --list shows the pools of several"
                            .to_owned(),
                    ),
                });
            };
            return list_pools_across(&kube, &contexts, &key, format, printer).await;
        }
        let cluster = Cluster::connect(&kube).await?;
        if let Some(format) = self.listing() {
            return list_pools(&cluster, &key, format, printer).await;
        }
        let nodes = list::<Node>(&cluster, None, "nodes").await?;
        let selected = match &self.selector {
            Some(selector) => list::<Node>(&cluster, Some(selector), "nodes").await?,
            None => Vec::new(),
        };
        let named = if self.remove.is_empty() {
            &self.nodes
        } else {
            &self.remove
        };
        let request = Request {
            pool: self.pool.as_deref(),
            named,
            selected: &selected,
            overwrite: self.overwrite,
            dedicated: self.dedicated,
            key: &key,
        };
        let changes = pools::plan(&request, &nodes).map_err(refusal)?;
        if changes.is_empty() {
            printer.info("no nodes matched; nothing changed");
            return Ok(());
        }
        let mode = self.dry_run.dry_run;
        let bulk = Bulk::default();
        let outcomes = bulk
            .run(&changes, |change| write(&cluster, change, &request, mode))
            .await;
        let suffix = mode.suffix();
        let mut undone = Vec::new();
        for outcome in outcomes {
            let node = outcome.item.node.clone();
            match outcome.done() {
                Ok(change) => {
                    printer.line(format_args!(
                        "node/{} {}{suffix}",
                        change.node,
                        change.describe(&key)
                    ))?;
                }
                Err(failure) => undone.push((node, failure)),
            }
        }
        if !undone.is_empty() {
            return Err(bulk::undone(
                printer,
                "change",
                "node(s)",
                changes.len(),
                undone,
            ));
        }
        Ok(())
    }
}

/// A refused plan as an error: unknown names are bad input, another pool needs a flag.
fn refusal(refusal: Refusal) -> Error {
    match refusal {
        Refusal::Unknown(names) => Error::InvalidInput {
            message: format!(
                "no such {}: {}; nothing was changed",
                if names.len() == 1 { "node" } else { "nodes" },
                names.join(", ")
            ),
            hint: Some("`kubectl get nodes` lists the nodes".to_owned()),
        },
        Refusal::InOtherPool(nodes) => {
            let list: Vec<String> = nodes
                .iter()
                .map(|(node, pool)| format!("{node} (pool {pool})"))
                .collect();
            Error::Halted {
                message: format!(
                    "already in another pool: {}; nothing was changed",
                    list.join(", ")
                ),
                hint: Some("pass --overwrite to move them".to_owned()),
            }
        }
    }
}

/// Writes one node's change: a merge patch of the pool label (and the taints, when they
/// change) that carries the planned resourceVersion. A node that changed meanwhile
/// answers 409, which [`Bulk`] retries: the node is then read again and planned afresh.
async fn write(
    cluster: &Cluster,
    planned: &NodeChange,
    request: &Request<'_>,
    mode: DryRun,
) -> Result<NodeChange, Error> {
    let api: Api<Node> = Api::all(cluster.client().clone());
    let operation = |verb| Operation::new(verb, "nodes").named(&planned.node);
    let node = api
        .get(&planned.node)
        .await
        .map_err(|source| cluster.error(operation("get"), source))?;
    // Planned again from the node as it is now; a node that joined another pool since
    // the plan is left alone.
    let change = pools::change(&node, planned.to.as_deref(), planned.dedicated, request.key);
    if change.from != planned.from && change.from != change.to {
        return Err(Error::Halted {
            message: format!(
                "node {:?} moved to pool {} meanwhile; not changed",
                planned.node,
                change.from.as_deref().unwrap_or("<none>")
            ),
            hint: Some(
                "check `kubectl kuul label-nodes --list` and run the command again".to_owned(),
            ),
        });
    }
    if !change.changes() || mode == DryRun::Client {
        return Ok(change);
    }
    let mut patch = json!({
        "metadata": {
            "resourceVersion": change.resource_version,
            "labels": { request.key: change.to },
        }
    });
    if let Some(taints) = &change.taints {
        patch["spec"] = json!({ "taints": taints });
    }
    let mut params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PatchParams::default()
    };
    params.dry_run = mode == DryRun::Server;
    api.patch(&change.node, &params, &Patch::Merge(&patch))
        .await
        .map_err(|source| cluster.error(operation("patch"), source))?;
    Ok(change)
}

/// The pools of a cluster: its nodes and the kuul jobs that target each pool.
async fn pools_of(cluster: &Cluster, key: &str) -> Result<Vec<PoolSummary>, Error> {
    let managed = format!("{MANAGED_BY}={MANAGER}");
    let (nodes, cronjobs) = tokio::try_join!(
        list::<Node>(cluster, None, "nodes"),
        list::<CronJob>(cluster, Some(&managed), "cronjobs"),
    )?;
    Ok(pools::summarize(&nodes, &cronjobs, key))
}

/// `--list`: the pools table, then a warning per pool that jobs target but no ready
/// node serves.
async fn list_pools(
    cluster: &Cluster,
    key: &str,
    format: OutputFormat,
    printer: Printer,
) -> Result<(), Error> {
    let summary = pools_of(cluster, key).await?;
    print_pools(&summary, key, format, printer)
}

/// `--list` on several clusters, read concurrently: one table with a CONTEXT column; a
/// cluster that cannot be read is one line naming it, the others are shown, exit 1.
async fn list_pools_across(
    kube: &KubeArgs,
    contexts: &[Option<String>],
    key: &str,
    format: OutputFormat,
    printer: Printer,
) -> Result<(), Error> {
    let read = clusters::each(kube, contexts, |kube| async move {
        let cluster = Cluster::connect(&kube).await?;
        pools_of(&cluster, key).await
    })
    .await;
    let clusters::Reached { sides, unreachable } = clusters::reached(read, printer)?;
    let summary: Vec<PoolSummary> = sides
        .into_iter()
        .flat_map(|(context, pools)| {
            pools.into_iter().map(move |mut pool| {
                pool.context = Some(context.clone());
                pool
            })
        })
        .collect();
    print_pools(&summary, key, format, printer)?;
    clusters::unreachable(&unreachable, contexts.len())
}

/// The pools as `-o` asks, then a warning per pool that jobs target but no ready node
/// serves.
fn print_pools(
    summary: &[PoolSummary],
    key: &str,
    format: OutputFormat,
    printer: Printer,
) -> Result<(), Error> {
    match format {
        OutputFormat::Json => printer.json(&summary)?,
        OutputFormat::Yaml => printer.yaml(&summary)?,
        OutputFormat::Name => {
            for pool in summary {
                printer.line(&pool.pool)?;
            }
        }
        OutputFormat::Table | OutputFormat::Wide => {
            if summary.is_empty() {
                printer.info(format_args!("no pools: no node has the label {key}"));
            } else {
                let wide = format == OutputFormat::Wide;
                printer.table(&pools::table(summary, wide))?;
            }
        }
    }
    for pool in summary {
        if let Some(warning) = pool.warning() {
            match &pool.context {
                Some(context) => printer.warn(format_args!("context {context}: {warning}")),
                None => printer.warn(warning),
            }
        }
    }
    Ok(())
}

/// Lists every object (cluster-wide), optionally by label selector, in pages of [`PAGE`].
pub(crate) async fn list<K>(
    cluster: &Cluster,
    selector: Option<&str>,
    resource: &'static str,
) -> Result<Vec<K>, Error>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
    K::DynamicType: Default,
{
    let api: Api<K> = Api::all(cluster.client().clone());
    let mut params = ListParams::default();
    if let Some(selector) = selector {
        params = params.labels(selector);
    }
    cluster
        .list_all(&api, params, Operation::new("list", resource))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ExitStatus;

    fn args(words: &[&str]) -> LabelNodesArgs {
        crate::cli::try_parse(words).unwrap()
    }

    const KEY: &str = "kuul.io/pool";

    #[test]
    fn without_a_pool_or_removals_it_lists() {
        assert_eq!(args(&[]).listing(), Some(OutputFormat::Table));
        assert_eq!(
            args(&["--list", "-o", "json"]).listing(),
            Some(OutputFormat::Json)
        );
        assert_eq!(args(&["prod", "node-1"]).listing(), None);
        assert_eq!(args(&["--remove", "node-1"]).listing(), None);
        assert!(args(&["-o", "yaml"]).check(KEY).is_ok());
    }

    #[test]
    fn a_pool_needs_nodes_unless_it_is_only_tainted() {
        let error = args(&["prod"]).check(KEY).unwrap_err();
        assert_eq!(error.exit_status(), ExitStatus::Usage);
        assert_eq!(error.to_string(), "no nodes given for pool \"prod\"");
        assert!(args(&["prod", "--dedicated"]).check(KEY).is_ok());
        assert!(args(&["prod", "-l", "zone=a"]).check(KEY).is_ok());
        assert!(args(&["prod", "node-1", "node-2"]).check(KEY).is_ok());
    }

    #[test]
    fn bad_values_are_refused_before_anything_is_sent() {
        for (words, key, field) in [
            (&["Prod!", "node-1"][..], KEY, "POOL"),
            (&["prod", "-l", "zone in a"][..], KEY, "--selector"),
            (&["prod", "node-1"][..], "bad key!", "poolLabelKey"),
            (&["prod", "node-1", "-o", "json"][..], KEY, "-o"),
        ] {
            let error = args(words).check(key).unwrap_err();
            assert_eq!(error.exit_status(), ExitStatus::Usage, "{words:?}");
            assert!(error.to_string().contains(field), "{words:?}: {error}");
        }
    }

    #[test]
    fn refusals_name_the_nodes_and_the_way_out() {
        let unknown = refusal(Refusal::Unknown(vec!["node-9".to_owned()]));
        assert_eq!(unknown.exit_status(), ExitStatus::Usage);
        assert_eq!(
            unknown.to_string(),
            "no such node: node-9; nothing was changed"
        );
        let taken = refusal(Refusal::InOtherPool(vec![
            ("node-1".to_owned(), "internal".to_owned()),
            ("node-2".to_owned(), "prod".to_owned()),
        ]));
        assert_eq!(taken.exit_status(), ExitStatus::Failed);
        assert_eq!(
            taken.to_string(),
            "already in another pool: node-1 (pool internal), node-2 (pool prod); nothing was changed"
        );
        assert_eq!(taken.hint().unwrap(), "pass --overwrite to move them");
    }
}
