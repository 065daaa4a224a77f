//! `kubectl kuul suspend`: suspend Kuul jobs for a maintenance window.
//!
//! Today a maintenance window means one `kubectl patch` per job and a note somewhere
//! about why. This command suspends one job, the jobs a selector picks, or all kuul jobs
//! of a namespace (or of every namespace), records who, why and when on each job, and
//! with `--stop-running` also ends the runs in progress. What to change is decided in
//! [`crate::maintenance`]; this module reads the `CronJob`s, carries the plan out with
//! [`Bulk`], and reports. The selection flags and the reporting are shared with
//! `resume`, which undoes it.

use chrono::Utc;
use clap::Args;
use futures_util::future;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use kube::Api;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};

use crate::bulk::Bulk;
use crate::cli::{DryRun, DryRunArgs, JobSelectionArgs, KubeArgs};
use crate::client::Cluster;
use crate::commands::KuulCommand;
use crate::error::{Error, Operation};
use crate::job_runs::runs_in_progress;
use crate::kuul_job::{MANAGED_BY, MANAGER};
use crate::maintenance::{
    self, Action, Done, FIELD_MANAGER, Layout, MaintenancePlan, MaintenanceStep, Selection,
};
use crate::printer::Printer;

/// The `CronJob`s a selection picks, and a failure per named job that could not be read
/// (not found, forbidden): those are reported, and the rest goes on.
pub(crate) async fn select(
    cluster: &Cluster,
    selection: &Selection,
    all_namespaces: bool,
) -> Result<(Vec<CronJob>, Vec<(String, Error)>), Error> {
    let namespace = cluster.namespace();
    let Selection::Named(names) = selection else {
        let selector = match selection {
            Selection::Selector(selector) => Some(selector.as_str()),
            _ => None,
        };
        return list(cluster, selector, all_namespaces)
            .await
            .map(|cronjobs| (cronjobs, Vec::new()));
    };
    let api: Api<CronJob> = Api::namespaced(cluster.client().clone(), namespace);
    let outcomes = Bulk::default()
        .run(names.iter().cloned(), |name| {
            let api = api.clone();
            async move {
                api.get(&name).await.map_err(|source| {
                    cluster.error(
                        Operation::new("get", "cronjobs")
                            .named(name)
                            .in_namespace(namespace),
                        source,
                    )
                })
            }
        })
        .await;
    let mut cronjobs = Vec::new();
    let mut failures = Vec::new();
    for outcome in outcomes {
        match outcome.result {
            Ok(cronjob) => cronjobs.push(cronjob),
            Err(error) => failures.push((format!("{namespace}/{}", outcome.item), error)),
        }
    }
    Ok((cronjobs, failures))
}

/// Every `CronJob` of the namespace (or all namespaces) matching `selector`, page by page.
async fn list(
    cluster: &Cluster,
    selector: Option<&str>,
    all_namespaces: bool,
) -> Result<Vec<CronJob>, Error> {
    let (api, operation): (Api<CronJob>, _) = if all_namespaces {
        (
            Api::all(cluster.client().clone()),
            Operation::new("list", "cronjobs"),
        )
    } else {
        (
            Api::namespaced(cluster.client().clone(), cluster.namespace()),
            Operation::new("list", "cronjobs").in_namespace(cluster.namespace()),
        )
    };
    let mut params = ListParams::default();
    if let Some(selector) = selector {
        params = params.labels(selector);
    }
    cluster.list_all(&api, params, operation).await
}

/// Tells what was picked but left out, and that nothing matched when nothing did.
pub(crate) fn report_plan(
    printer: Printer,
    cluster: &Cluster,
    plan: &MaintenancePlan,
    selection: &Selection,
    all_namespaces: bool,
) {
    if !plan.unmanaged.is_empty() {
        printer.info(format_args!(
            "left alone {} CronJob(s) without {MANAGED_BY}={MANAGER}: {} (name them, or pass --include-unmanaged)",
            plan.unmanaged.len(),
            plan.unmanaged.join(", ")
        ));
    }
    if plan.steps.is_empty() && selection.is_bulk() {
        let place = if all_namespaces {
            "any namespace".to_owned()
        } else {
            format!("namespace {:?}", cluster.namespace())
        };
        printer.info(format_args!("no kuul jobs matched in {place}"));
    }
}

/// `namespace/name`, how failures name a job.
pub(crate) fn qualified(step: &MaintenanceStep) -> String {
    format!("{}/{}", step.namespace, step.name)
}

/// Arguments of `kubectl kuul suspend`.
#[derive(Debug, Clone, Args)]
pub struct SuspendArgs {
    #[command(flatten)]
    pub jobs: JobSelectionArgs,

    /// Why the jobs are suspended; recorded as kuul.io/suspend-reason
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,

    /// Also stop the runs in progress: delete the jobs' unfinished Jobs (their pods go too)
    #[arg(long)]
    pub stop_running: bool,

    #[command(flatten)]
    pub dry_run: DryRunArgs,
}

impl KuulCommand for SuspendArgs {
    const NAME: &'static str = "suspend";
    const ABOUT: &'static str = "Suspend Kuul jobs, for example for maintenance.";
    const LONG_ABOUT: &'static str = include_str!("help/suspend.txt");

    async fn run(self, kube: KubeArgs, printer: Printer) -> Result<(), Error> {
        let selection = self.jobs.selection()?;
        let reason = match self.reason.as_deref().map(str::trim) {
            Some("") => {
                return Err(Error::InvalidInput {
                    message: format!(
                        "invalid --reason {:?}: it is blank",
                        self.reason.unwrap_or_default()
                    ),
                    hint: Some("say why, e.g. --reason 'database upgrade'".to_owned()),
                });
            }
            reason => reason,
        };
        let cluster = Cluster::connect(&kube).await?;
        let (selected, user) = tokio::join!(
            select(&cluster, &selection, self.jobs.all_namespaces),
            cluster.user_name()
        );
        let (cronjobs, failures) = selected?;
        let plan =
            maintenance::plan_suspend(&cronjobs, &selection, self.jobs.include_unmanaged, reason);
        report_plan(
            printer,
            &cluster,
            &plan,
            &selection,
            self.jobs.all_namespaces,
        );

        let dry_run = self.dry_run.dry_run;
        let at = Utc::now();
        let by = user.as_deref();
        let outcomes = Bulk::default()
            .run(plan.steps.clone(), |step| {
                let cluster = &cluster;
                let cronjobs = &cronjobs;
                let stop_running = self.stop_running;
                async move {
                    if step.action == Action::Suspend && dry_run != DryRun::Client {
                        let patch = maintenance::suspend_patch(&step, by, reason, at);
                        apply(cluster, &step, FIELD_MANAGER, &patch, dry_run).await?;
                    }
                    let stopped = if stop_running {
                        let cronjob = planned_from(cronjobs, &step);
                        stop_runs(cluster, cronjob, dry_run).await?
                    } else {
                        0
                    };
                    Ok(done(dry_run, stopped))
                }
            })
            .await;
        finish(
            printer,
            "suspend",
            outcomes,
            failures,
            Layout {
                all_namespaces: self.jobs.all_namespaces,
                stop_running: self.stop_running,
            },
        )
    }
}

/// Prints the table of what was done, then each failure (jobs that could not be read
/// as well as writes that failed), and turns any failure into exit 1.
pub(crate) fn finish(
    printer: Printer,
    verb: &str,
    outcomes: Vec<crate::bulk::Attempted<MaintenanceStep, Done>>,
    mut failures: Vec<(String, Error)>,
    layout: Layout,
) -> Result<(), Error> {
    let total = outcomes.len() + failures.len();
    let mut rows = Vec::new();
    for outcome in outcomes {
        match outcome.result {
            Ok(done) => rows.push((outcome.item, done)),
            Err(error) => {
                failures.push((qualified(&outcome.item), error));
                rows.push((outcome.item, Done::Failed));
            }
        }
    }
    if !rows.is_empty() {
        printer.data(&maintenance::table(&rows, layout).to_string())?;
    }
    if failures.is_empty() {
        return Ok(());
    }
    failures.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, error) in &failures {
        printer.error(error);
    }
    let names: Vec<&str> = failures.iter().map(|(name, _)| name.as_str()).collect();
    Err(Error::Halted {
        message: format!(
            "could not {verb} {} of {total} job(s): {}",
            failures.len(),
            names.join(", ")
        ),
        hint: Some(
            "fix the cause and run the same command again: it changes only what is left".to_owned(),
        ),
    })
}

/// How a step that went through ended: written, or only a dry run.
pub(crate) fn done(dry_run: DryRun, stopped: usize) -> Done {
    if dry_run.writes() {
        Done::Written { stopped }
    } else {
        Done::DryRun { stopped }
    }
}

/// The `CronJob` a step was planned from.
fn planned_from<'a>(cronjobs: &'a [CronJob], step: &MaintenanceStep) -> &'a CronJob {
    cronjobs
        .iter()
        .find(|c| {
            c.metadata.name.as_deref() == Some(step.name.as_str())
                && c.metadata.namespace.as_deref() == Some(step.namespace.as_str())
        })
        .expect("every step comes from a selected CronJob")
}

/// Server-side applies `patch` to the step's `CronJob` as `manager`, forcing ownership
/// of the fields it sends; returns the object as stored.
pub(crate) async fn apply(
    cluster: &Cluster,
    step: &MaintenanceStep,
    manager: &str,
    patch: &serde_json::Value,
    dry_run: DryRun,
) -> Result<CronJob, Error> {
    let api: Api<CronJob> = Api::namespaced(cluster.client().clone(), &step.namespace);
    let mut params = PatchParams::apply(manager).force();
    params.dry_run = dry_run == DryRun::Server;
    api.patch(&step.name, &params, &Patch::Apply(patch))
        .await
        .map_err(|source| {
            cluster.error(
                Operation::new("apply", "cronjobs")
                    .named(step.name.clone())
                    .in_namespace(step.namespace.clone()),
                source,
            )
        })
}

/// Deletes the unfinished Jobs of `cronjob` with propagation Background, so the garbage
/// collector removes their pods; returns how many there were. A Job that is already gone
/// counts as stopped.
async fn stop_runs(cluster: &Cluster, cronjob: &CronJob, dry_run: DryRun) -> Result<usize, Error> {
    let running = runs_in_progress(cluster, cronjob).await?;
    if dry_run == DryRun::Client {
        return Ok(running.len());
    }
    let namespace = cronjob.metadata.namespace.clone().unwrap_or_default();
    let api: Api<Job> = Api::namespaced(cluster.client().clone(), &namespace);
    let params = DeleteParams {
        dry_run: dry_run == DryRun::Server,
        ..DeleteParams::background()
    };
    let deletes = running.iter().map(|job| {
        let name = job.metadata.name.clone().unwrap_or_default();
        let api = api.clone();
        let params = params.clone();
        let namespace = namespace.clone();
        async move {
            match api.delete(&name, &params).await {
                Ok(_) => Ok(()),
                Err(kube::Error::Api(status)) if status.is_not_found() => Ok(()),
                Err(source) => Err(cluster.error(
                    Operation::new("delete", "jobs")
                        .named(name)
                        .in_namespace(namespace),
                    source,
                )),
            }
        }
    });
    future::try_join_all(deletes).await?;
    Ok(running.len())
}
