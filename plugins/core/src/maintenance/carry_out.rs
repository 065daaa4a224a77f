//! Carrying out a maintenance plan: the cluster reads and writes and the report that
//! `suspend` and `resume` share.
//!
//! [`super`] decides what to do without I/O; this module reads the `CronJob`s a
//! selection picks ([`select`]), server-side applies one step's patch ([`apply`]), says
//! what was left out ([`report_plan`]), and prints the table and the failures of a run
//! ([`finish`]). Both commands use it, so neither depends on the other.

use k8s_openapi::api::batch::v1::CronJob;

use super::{Done, Layout, MaintenancePlan, MaintenanceStep, Selection};
use crate::bulk::{self, Attempted, Bulk};
use crate::cli::{DryRun, KubeArgs};
use crate::client::Cluster;
use crate::clusters;
use crate::error::Error;
use crate::kuul_job::{MANAGED_BY, MANAGER};
use crate::printer::Printer;

/// The `CronJob`s a selection picks, and a failure per named job that could not be read
/// (not found, forbidden): those are reported, and the rest goes on.
pub async fn select(
    cluster: &Cluster,
    selection: &Selection,
    all_namespaces: bool,
) -> Result<(Vec<CronJob>, Vec<(String, Error)>), Error> {
    let namespace = cluster.namespace();
    let Selection::Named(names) = selection else {
        let selector = match selection {
            Selection::Selector(selector) => selector.as_str(),
            _ => "",
        };
        let scope = (!all_namespaces).then_some(namespace);
        return cluster
            .list_selected::<CronJob>(scope, selector, "cronjobs")
            .await
            .map(|cronjobs| (cronjobs, Vec::new()));
    };
    let outcomes = Bulk::default()
        .run(names.iter().cloned(), |name| async move {
            cluster.get::<CronJob>(namespace, &name, "cronjobs").await
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

/// The `CronJob` a step was planned from, among those [`select`] read.
///
/// # Panics
///
/// When `step` does not come from one of `cronjobs`.
pub fn planned_from<'a>(cronjobs: &'a [CronJob], step: &MaintenanceStep) -> &'a CronJob {
    cronjobs
        .iter()
        .find(|c| {
            c.metadata.name.as_deref() == Some(step.name.as_str())
                && c.metadata.namespace.as_deref() == Some(step.namespace.as_str())
        })
        .expect("every step comes from a selected CronJob")
}

/// Tells what was picked but left out, and that nothing matched when nothing did.
pub fn report_plan(
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

/// `namespace/name` (`context: namespace/name` on several clusters), how failures name
/// a job.
pub fn qualified(step: &MaintenanceStep) -> String {
    match &step.context {
        Some(context) => format!("{context}: {}/{}", step.namespace, step.name),
        None => format!("{}/{}", step.namespace, step.name),
    }
}

/// What one cluster's suspend or resume came to: each step's outcome, and the named jobs
/// that could not be read.
pub type ClusterOutcome = (Vec<Attempted<MaintenanceStep, Done>>, Vec<(String, Error)>);

/// Runs one cluster's `work` on each of `contexts` concurrently, then [`finish`]es with
/// all of it in one table (a CONTEXT column on several clusters). On one cluster, its
/// error is the command's; on several, a cluster that cannot be reached is one line
/// naming its context, the others go on, and the exit status is 1.
pub async fn across<F, Fut>(
    kube: &KubeArgs,
    contexts: &[Option<String>],
    printer: Printer,
    verb: &str,
    layout: Layout,
    work: F,
) -> Result<(), Error>
where
    F: Fn(KubeArgs) -> Fut,
    Fut: Future<Output = Result<ClusterOutcome, Error>>,
{
    let several = contexts.len() > 1;
    let mut outcomes = Vec::new();
    let mut failures = Vec::new();
    let mut unreachable = Vec::new();
    for (context, result) in clusters::each(kube, contexts, work).await {
        let context = context.filter(|_| several);
        match (result, context) {
            (Ok((done, unread)), context) => {
                outcomes.extend(done.into_iter().map(|mut outcome| {
                    outcome.item.context.clone_from(&context);
                    outcome
                }));
                failures.extend(unread.into_iter().map(|(name, error)| match &context {
                    Some(context) => (format!("{context}: {name}"), error),
                    None => (name, error),
                }));
            }
            (Err(error), None) => return Err(error),
            (Err(error), Some(context)) => {
                clusters::report(printer, &context, &error);
                unreachable.push(context);
            }
        }
    }
    let layout = Layout {
        contexts: several,
        ..layout
    };
    finish(printer, verb, outcomes, failures, layout)?;
    clusters::unreachable(&unreachable, contexts.len())
}

/// Prints the table of what was done, then what was not (jobs that could not be read,
/// writes that failed or were not attempted once the API server stopped answering), and
/// turns anything not done into exit 1.
pub fn finish(
    printer: Printer,
    verb: &str,
    outcomes: Vec<Attempted<MaintenanceStep, Done>>,
    failures: Vec<(String, Error)>,
    layout: Layout,
) -> Result<(), Error> {
    let total = outcomes.len() + failures.len();
    let mut undone: Vec<(String, Option<Error>)> = failures
        .into_iter()
        .map(|(name, error)| (name, Some(error)))
        .collect();
    let mut rows = Vec::new();
    for outcome in outcomes {
        let skipped = outcome.skipped();
        match outcome.result {
            Ok(done) => rows.push((outcome.item, done)),
            Err(error) => {
                undone.push((qualified(&outcome.item), (!skipped).then_some(error)));
                rows.push((outcome.item, Done::Failed));
            }
        }
    }
    if !rows.is_empty() {
        printer.table(&super::table(&rows, layout))?;
    }
    if undone.is_empty() {
        return Ok(());
    }
    Err(bulk::undone(printer, verb, "job(s)", total, undone))
}

/// How a step that went through ended: written, or only a dry run.
pub fn done(dry_run: DryRun, stopped: usize) -> Done {
    if dry_run.writes() {
        Done::Written { stopped }
    } else {
        Done::DryRun { stopped }
    }
}

/// Server-side applies `patch` to the step's `CronJob` as `manager`, forcing ownership
/// of the fields it sends; returns the object as stored.
pub async fn apply(
    cluster: &Cluster,
    step: &MaintenanceStep,
    manager: &str,
    patch: &serde_json::Value,
    dry_run: DryRun,
) -> Result<CronJob, Error> {
    cluster
        .apply_cronjob(
            &step.namespace,
            &step.name,
            manager,
            patch,
            dry_run == DryRun::Server,
        )
        .await
}
