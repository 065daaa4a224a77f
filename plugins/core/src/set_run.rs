//! Carrying out a job set against one or more clusters, for `apply` and `diff`.
//!
//! Both commands take the same files and clusters ([`SetArgs`]) and share one body
//! ([`run_set`]); only what they do with the plan differs ([`Mode`]). The files are
//! checked completely before any cluster is contacted ([`crate::job_set`]); each cluster
//! is then planned ([`crate::set_plan`]) from one paginated list per namespace and
//! written with bounded concurrency ([`Bulk`]): server-side apply as `kuul-apply` for new
//! and changed jobs (unchanged ones are not written), deletes for the set's jobs the
//! files no longer list (`--prune`). Clusters are worked on concurrently and
//! independently: one that is unreachable is reported and the others go on. `diff` (and
//! `apply --diff`) stop after the plan and print it.

use std::path::PathBuf;

use clap::Args;
use futures_util::future;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use kube::Api;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};

use crate::bulk::Bulk;
use crate::cli::{ContextsArgs, DryRun, KubeArgs};
use crate::client::{Cluster, PAGE};
use crate::clusters;
use crate::config::Config;
use crate::error::{Error, Operation};
use crate::job_runs;
use crate::job_set::{self, JobSet};
use crate::kuul_job::FIELD_MANAGER;
use crate::kuul_job::JOB_LABEL;
use crate::maintenance::FIELD_MANAGER as SUSPEND_MANAGER;
use crate::printer::Printer;
use crate::set_plan::{self, Action, PlanOptions, SetStep};
use crate::standby::{self, OnStandby};
use crate::table::Table;

/// The flags `apply` and `diff` share: which files, which clusters.
// The field docs are the `--help` text, where backticks around CronJob would show.
#[allow(clippy::doc_markdown)]
#[derive(Debug, Clone, Args)]
pub struct SetArgs {
    /// Jobs file, or a directory of them (*.yaml, *.yml); repeatable
    #[arg(short = 'f', long = "filename", value_name = "PATH", required = true)]
    pub files: Vec<PathBuf>,

    #[command(flatten)]
    pub contexts: ContextsArgs,

    /// A standby cluster's context (repeatable): every job of the set is held there
    /// suspended, marked as standby for the --context cluster, ready for `kubectl kuul
    /// failover`
    #[arg(long, value_name = "CONTEXT", help_heading = "Kubernetes")]
    pub standby: Vec<String>,

    /// Delete the CronJobs of the set that the files no longer list (only CronJobs labelled
    /// with the set and managed by kuul)
    #[arg(long)]
    pub prune: bool,

    /// Take over CronJobs of the same name that another set owns or kuul does not manage
    /// (the runs of one kuul did not manage get kuul's labels first)
    #[arg(long)]
    pub adopt: bool,

    /// kuul config file with the team's defaults (default: ./kuul.yaml, then $KUUL_CONFIG,
    /// then ~/.config/kuul/config.yaml)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// What to do with the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Print the diffs; exit 1 when anything would change.
    Diff,
    /// Carry the plan out (or have the server check it, or only show it).
    Apply { dry_run: DryRun, prune_runs: bool },
}

/// The shared body of `apply` and `diff`: check the files, pick the clusters, plan and
/// act on each concurrently, report per cluster.
pub async fn run_set(
    args: &SetArgs,
    mode: Mode,
    kube: KubeArgs,
    printer: Printer,
) -> Result<(), Error> {
    let config = Config::load(args.config.as_deref())?;
    let set = job_set::load(&args.files, &config)?;
    let (contexts, roles) = roles(args, &kube)?;
    if mode != Mode::Diff {
        clusters::settle_failovers(&kube, &contexts, false, printer).await;
    }
    let options = PlanOptions {
        adopt: args.adopt,
        prune: args.prune,
    };
    let several = contexts.len() > 1;
    let reports = future::join_all(contexts.iter().zip(&roles).map(|(context, role)| {
        let mut kube = kube.clone();
        if let Some(context) = context {
            kube.context = vec![context.clone()];
        }
        let set = &set;
        let pool_key = config.defaults.pool_label_key.as_str();
        async move { one_cluster(&kube, set, options, mode, pool_key, role).await }
    }))
    .await;
    let mut failed_clusters = 0;
    let mut failed_jobs = 0;
    let mut changes = 0;
    for (context, report) in contexts.iter().zip(reports) {
        let name = context.as_deref().unwrap_or("current context");
        match report {
            Ok(report) => {
                if several {
                    printer.line(format_args!("context {}:", report.context))?;
                }
                printer.data(&report.output)?;
                for warning in &report.warnings {
                    if several {
                        printer.warn(format_args!("context {}: {warning}", report.context));
                    } else {
                        printer.warn(warning);
                    }
                }
                failed_jobs += report.failed;
                changes += report.changes;
            }
            Err(error) => {
                failed_clusters += 1;
                if several {
                    printer.warn(format_args!("context {name}: skipped"));
                }
                printer.error(&error);
            }
        }
    }
    let clusters = contexts.len();
    if failed_clusters > 0 || failed_jobs > 0 {
        let mut parts = Vec::new();
        if failed_jobs > 0 {
            parts.push(format!("{failed_jobs} job(s) failed"));
        }
        if failed_clusters > 0 {
            parts.push(format!("{failed_clusters} of {clusters} cluster(s) failed"));
        }
        return Err(Error::Halted {
            message: format!("job set {:?}: {}", set.name, parts.join(", ")),
            hint: Some("fix what the lines above name and run the command again".to_owned()),
        });
    }
    if mode == Mode::Diff && changes > 0 {
        return Err(Error::Differs {
            message: format!(
                "{changes} change(s) to job set {:?} would be applied",
                set.name
            ),
        });
    }
    Ok(())
}

/// What a cluster is to the job set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// It runs the jobs.
    Active,
    /// It holds them suspended, ready for a failover from the cluster of this context.
    Standby { active: String },
}

/// The contexts to apply to, each with its role: the active ones (`--context`,
/// `--contexts`), then each `--standby`. Standby clusters need one active cluster named
/// with `--context`, for their jobs to name.
fn roles(args: &SetArgs, kube: &KubeArgs) -> Result<(Vec<Option<String>>, Vec<Role>), Error> {
    let mut contexts = clusters::selected(&args.contexts, kube)?;
    let mut roles = vec![Role::Active; contexts.len()];
    if args.standby.is_empty() {
        return Ok((contexts, roles));
    }
    let usage = |message: String, hint: &str| Error::InvalidInput {
        message,
        hint: Some(hint.to_owned()),
    };
    let active = match contexts.as_slice() {
        [Some(active)] => active.clone(),
        [None] => {
            return Err(usage(
                "--standby needs the active cluster named with --context".to_owned(),
                "e.g. apply -f jobs.yaml --context eu-1 --standby eu-2",
            ));
        }
        _ => {
            return Err(usage(
                format!(
                    "--standby needs one active cluster, and {} are named",
                    contexts.len()
                ),
                "name the active cluster with one --context; every other one is a --standby",
            ));
        }
    };
    for standby in &args.standby {
        if *standby == active {
            return Err(usage(
                format!("--standby {standby:?} is also the active --context"),
                "a cluster is either active or standby for a job set",
            ));
        }
        if !contexts.contains(&Some(standby.clone())) {
            contexts.push(Some(standby.clone()));
            roles.push(Role::Standby {
                active: active.clone(),
            });
        }
    }
    Ok((contexts, roles))
}

/// What one cluster's work came to.
struct ClusterReport {
    context: String,
    /// The summary table, or the diffs.
    output: String,
    failed: usize,
    changes: usize,
    /// Jobs whose requests fit no ready node of their pool.
    warnings: Vec<String>,
}

async fn one_cluster(
    kube: &KubeArgs,
    set: &JobSet,
    options: PlanOptions,
    mode: Mode,
    pool_key: &str,
    role: &Role,
) -> Result<ClusterReport, Error> {
    let cluster = Cluster::connect(kube).await?;
    let namespace_of = |file_namespace: Option<&String>| -> String {
        match (&kube.namespace, file_namespace) {
            (None, Some(namespace)) => namespace.clone(),
            _ => cluster.namespace().to_owned(),
        }
    };
    let desired: Vec<CronJob> = set
        .jobs
        .iter()
        .map(|job| {
            let mut cronjob = job.cronjob.clone();
            cronjob.metadata.namespace = Some(namespace_of(job.namespace.as_ref()));
            cronjob
        })
        .collect();
    let mut namespaces: Vec<String> = set
        .namespaces
        .iter()
        .map(|namespace| namespace_of(namespace.as_ref()))
        .collect();
    namespaces.sort();
    namespaces.dedup();
    let lists =
        future::try_join_all(namespaces.iter().map(|ns| list_cronjobs(&cluster, ns))).await?;
    let live: Vec<CronJob> = lists.into_iter().flatten().collect();
    let mut steps = set_plan::plan(&set.name, &desired, &live, options);
    let standby = standby_steps(&mut steps, &live, role);
    let qualified = namespaces.len() > 1;
    let context = cluster.endpoint().context.clone();
    match mode {
        Mode::Diff => {
            let conflicts: Vec<&SetStep> = steps
                .iter()
                .filter(|s| s.action == Action::Conflict)
                .collect();
            let mut output: String = steps.iter().map(|s| s.diff.as_str()).collect();
            for step in &conflicts {
                output.extend(["# conflict: ", step.detail.as_str(), "\n"]);
            }
            let changes = steps.iter().filter(|s| s.action.writes()).count();
            Ok(ClusterReport {
                context,
                output,
                failed: conflicts.len(),
                changes,
                warnings: Vec::new(),
            })
        }
        Mode::Apply {
            dry_run,
            prune_runs,
        } => {
            let checked: Vec<&CronJob> = desired.iter().collect();
            let (results, warnings) = tokio::join!(
                carry_out(&cluster, &steps, dry_run, prune_runs),
                cluster.misfits(&checked, pool_key)
            );
            let results: Vec<Result<String, String>> = steps
                .iter()
                .zip(results)
                .map(|(step, result)| {
                    result.map(|note| note.map_or(step.detail.clone(), |n| join(&step.detail, &n)))
                })
                .collect();
            let results = match role {
                Role::Active => results,
                Role::Standby { active } => {
                    hold_ready(&cluster, &steps, &standby, results, active, dry_run).await
                }
            };
            let (table, failed) = report_table(&steps, results, dry_run, qualified);
            Ok(ClusterReport {
                context,
                output: table.to_string(),
                failed,
                changes: 0,
                warnings,
            })
        }
    }
}

/// The table of what `apply` did to each job, and how many failed.
fn report_table(
    steps: &[SetStep],
    results: Vec<Result<String, String>>,
    dry_run: DryRun,
    qualified: bool,
) -> (Table, usize) {
    let mut table = Table::new(["job", "action", "detail"]);
    let mut failed = 0;
    for (step, result) in steps.iter().zip(results) {
        let (action, detail) = match result {
            Ok(detail) => (done_word(step.action), detail),
            Err(detail) => {
                failed += 1;
                ("failed", detail)
            }
        };
        let detail = match dry_run {
            DryRun::Client if step.action.writes() => join(&detail, "dry run: nothing sent"),
            DryRun::Server if step.action.writes() => join(&detail, "server dry run"),
            _ => detail,
        };
        let job = if qualified {
            format!("{}/{}", step.namespace, step.name)
        } else {
            step.name.clone()
        };
        table.row([job, action.to_owned(), detail]);
    }
    (table, failed)
}

fn join(detail: &str, note: &str) -> String {
    if detail.is_empty() {
        note.to_owned()
    } else {
        format!("{detail}; {note}")
    }
}

fn done_word(action: Action) -> &'static str {
    match action {
        Action::Create => "created",
        Action::Update => "updated",
        Action::Unchanged => "unchanged",
        Action::Prune => "pruned",
        Action::Conflict => "failed",
    }
}

/// What each step is to do about the standby role (`None` on an active cluster, and for
/// prunes and conflicts). On a standby cluster a new job is created suspended, so that it
/// never runs there before it is marked.
fn standby_steps(steps: &mut [SetStep], live: &[CronJob], role: &Role) -> Vec<Option<OnStandby>> {
    steps
        .iter_mut()
        .map(|step| {
            let Role::Standby { .. } = role else {
                return None;
            };
            if !matches!(
                step.action,
                Action::Create | Action::Update | Action::Unchanged
            ) {
                return None;
            }
            let found = live.iter().find(|c| {
                c.metadata.name.as_deref() == Some(step.name.as_str())
                    && c.metadata.namespace.as_deref() == Some(step.namespace.as_str())
            });
            let on = standby::on_standby(found);
            if on == OnStandby::Create
                && let Some(desired) = step.desired.as_mut()
            {
                desired.spec.suspend = Some(true);
            }
            Some(on)
        })
        .collect()
}

/// On a standby cluster, after the plan's writes: marks each job that is new or active
/// here (without a failover's say-so) as standby for `active`, suspended, as the suspend
/// field manager; a step's DETAIL says what its job is here.
async fn hold_ready(
    cluster: &Cluster,
    steps: &[SetStep],
    standby: &[Option<OnStandby>],
    results: Vec<Result<String, String>>,
    active: &str,
    dry_run: DryRun,
) -> Vec<Result<String, String>> {
    let by = cluster.user_name().await;
    let at = chrono::Utc::now();
    let reason = format!("standby for {active}");
    let marked = Bulk::default()
        .run(
            steps.iter().zip(standby).zip(results),
            |((step, on), result)| {
                let (by, reason) = (by.as_deref(), reason.as_str());
                async move {
                    let detail = match (result, on) {
                        (Err(detail), _) => return Ok(Err(detail)),
                        (Ok(detail), None) => return Ok(Ok(detail)),
                        (Ok(detail), Some(_)) => detail,
                    };
                    let note = match on {
                        Some(OnStandby::Create | OnStandby::Mark) => {
                            if dry_run != DryRun::Client {
                                let patch = standby::standby_patch(
                                    &step.namespace,
                                    &step.name,
                                    active,
                                    reason,
                                    by,
                                    at,
                                );
                                let server_dry_run = dry_run == DryRun::Server;
                                if let Err(error) = cluster
                                    .apply_cronjob(
                                        &step.namespace,
                                        &step.name,
                                        SUSPEND_MANAGER,
                                        &patch,
                                        server_dry_run,
                                    )
                                    .await
                                {
                                    return Ok(Err(error.to_string()));
                                }
                            }
                            format!("standby for {active}: suspended")
                        }
                        Some(OnStandby::Keep) => "suspended here".to_owned(),
                        Some(OnStandby::ActiveByFailover) => {
                            "active here since a failover: left active".to_owned()
                        }
                        None => String::new(),
                    };
                    Ok::<_, Error>(Ok(join(&detail, &note)))
                }
            },
        )
        .await;
    marked
        .into_iter()
        .map(|outcome| match outcome.result {
            Ok(result) => result,
            Err(error) => Err(error.to_string()),
        })
        .collect()
}

/// Writes what the plan says, at most [`crate::bulk::DEFAULT_CONCURRENCY`] at a time;
/// one result per step, `Err` holding the sentence for the DETAIL column.
async fn carry_out(
    cluster: &Cluster,
    steps: &[SetStep],
    dry_run: DryRun,
    prune_runs: bool,
) -> Vec<Result<Option<String>, String>> {
    let outcomes = Bulk::default()
        .run(steps.iter(), |step| async move {
            if step.action == Action::Conflict {
                return Err(Error::Halted {
                    message: step.detail.clone(),
                    hint: None,
                });
            }
            if !step.action.writes() || dry_run == DryRun::Client {
                return Ok(None);
            }
            write(cluster, step, dry_run == DryRun::Server, prune_runs).await
        })
        .await;
    outcomes
        .into_iter()
        .map(|outcome| outcome.result.map_err(|error| error.to_string()))
        .collect()
}

/// Writes one step; returns a note for the DETAIL column, if any.
async fn write(
    cluster: &Cluster,
    step: &SetStep,
    server_dry_run: bool,
    prune_runs: bool,
) -> Result<Option<String>, Error> {
    let api: Api<CronJob> = Api::namespaced(cluster.client().clone(), &step.namespace);
    let operation = |verb| {
        Operation::new(verb, "cronjobs")
            .named(step.name.clone())
            .in_namespace(step.namespace.clone())
    };
    if let Some(cronjob) = &step.desired {
        // An adopted CronJob's earlier runs are labelled first: should that fail, the
        // CronJob is not yet taken over, and the same apply --adopt tries again.
        let labelled = match &step.uid {
            Some(uid) if step.action == Action::Update => {
                job_runs::label_earlier_runs(cluster, &step.namespace, uid, cronjob, server_dry_run)
                    .await?
            }
            _ => 0,
        };
        let mut params = PatchParams::apply(FIELD_MANAGER).force();
        params.dry_run = server_dry_run;
        api.patch(&step.name, &params, &Patch::Apply(cronjob))
            .await
            .map_err(|source| cluster.error(operation("apply"), source))?;
        return Ok((labelled > 0).then(|| format!("{labelled} earlier run(s) labelled")));
    }
    // Pruning: the runs go with the CronJob only when asked; otherwise they stay (without
    // an owner) for inspection until `kubectl kuul prune` removes them by policy.
    let mut params = if prune_runs {
        DeleteParams::background()
    } else {
        DeleteParams::orphan()
    };
    params.dry_run = server_dry_run;
    match api.delete(&step.name, &params).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.is_not_found() => {}
        Err(source) => return Err(cluster.error(operation("delete"), source)),
    }
    if prune_runs {
        delete_runs(cluster, step, &params).await?;
    }
    Ok(None)
}

/// Deletes the Jobs the pruned `CronJob` owned at once, rather than leaving them to the
/// garbage collector, so that they are gone when the command returns; their Pods follow
/// by background propagation.
async fn delete_runs(
    cluster: &Cluster,
    step: &SetStep,
    params: &DeleteParams,
) -> Result<(), Error> {
    let api: Api<Job> = Api::namespaced(cluster.client().clone(), &step.namespace);
    let operation = |verb| Operation::new(verb, "jobs").in_namespace(step.namespace.clone());
    let mut list = ListParams::default()
        .labels(&format!("{JOB_LABEL}={}", step.name))
        .limit(PAGE);
    loop {
        let page = api
            .list(&list)
            .await
            .map_err(|source| cluster.error(operation("list"), source))?;
        for run in &page.items {
            let owned = run
                .metadata
                .owner_references
                .iter()
                .flatten()
                .any(|owner| Some(&owner.uid) == step.uid.as_ref());
            let Some(name) = run.metadata.name.as_deref().filter(|_| owned) else {
                continue;
            };
            match api.delete(name, params).await {
                Ok(_) => {}
                Err(kube::Error::Api(status)) if status.is_not_found() => {}
                Err(source) => {
                    return Err(cluster.error(operation("delete").named(name), source));
                }
            }
        }
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => list = list.continue_token(&token),
            _ => return Ok(()),
        }
    }
}

/// Every `CronJob` of `namespace`, page by page.
async fn list_cronjobs(cluster: &Cluster, namespace: &str) -> Result<Vec<CronJob>, Error> {
    let api: Api<CronJob> = Api::namespaced(cluster.client().clone(), namespace);
    let operation = Operation::new("list", "cronjobs").in_namespace(namespace.to_owned());
    cluster
        .list_all(&api, ListParams::default(), operation)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_says_what_was_done() {
        assert_eq!(done_word(Action::Create), "created");
        assert_eq!(done_word(Action::Prune), "pruned");
        assert_eq!(join("", "server dry run"), "server dry run");
        assert_eq!(join("adopted", "server dry run"), "adopted; server dry run");
        let differs = Error::Differs {
            message: "1 change(s)".to_owned(),
        };
        assert_eq!(differs.exit_status(), crate::error::ExitStatus::Failed);
    }
}
