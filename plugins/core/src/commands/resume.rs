//! `kubectl kuul resume`: end a maintenance window by resuming the jobs `suspend` paused.
//!
//! After maintenance an operator wants back exactly what was paused for it: `--all`
//! resumes the jobs that carry kuul's suspend annotations and clears them, and leaves
//! alone jobs suspended some other way (someone had a reason) unless they are named or
//! `--include-unmarked` is given. A job without a starting deadline would start every
//! run it missed at once; resume warns about each, and `--skip-missed` sets a deadline
//! first. Planning is in [`crate::maintenance`]; reading the selected jobs, writing and
//! reporting are in [`crate::maintenance::carry_out`], shared with `suspend`.

use clap::Args;
use k8s_openapi::api::batch::v1::CronJob;
use kube::Api;
use kube::api::{Patch, PatchParams};

use crate::bulk::Bulk;
use crate::cli::{DryRun, DryRunArgs, HeadersArgs, JobSelectionArgs, KubeArgs};
use crate::client::Cluster;
use crate::clusters;
use crate::commands::KuulCommand;
use crate::error::{Error, Operation};
use crate::maintenance::carry_out::{
    ClusterOutcome, across, apply, done, qualified, report_plan, select,
};
use crate::maintenance::{
    self, Action, FIELD_MANAGER, Layout, MaintenanceStep, MissedRuns, ResumeOptions,
    SKIP_MISSED_DEADLINE_SECONDS, SKIP_MISSED_MANAGER, Selection,
};
use crate::printer::Printer;

/// Arguments of `kubectl kuul resume`.
#[derive(Debug, Clone, Args)]
pub struct ResumeArgs {
    #[command(flatten)]
    pub headers: HeadersArgs,

    #[command(flatten)]
    pub jobs: JobSelectionArgs,

    /// With -l or --all: also resume jobs suspended some other way than `kubectl kuul suspend`
    #[arg(long)]
    pub include_unmarked: bool,

    /// Skip the runs missed while suspended: first set startingDeadlineSeconds: 60 on
    /// jobs that have none
    #[arg(long)]
    pub skip_missed: bool,

    #[command(flatten)]
    pub dry_run: DryRunArgs,
}

impl KuulCommand for ResumeArgs {
    const NAME: &'static str = "resume";
    const ABOUT: &'static str = "Resume suspended Kuul jobs.";
    const LONG_ABOUT: &'static str = include_str!("help/resume.txt");

    async fn run(self, kube: KubeArgs, printer: Printer) -> Result<(), Error> {
        let printer = printer.with_headers(self.headers);
        let selection = self.jobs.selection()?;
        if self.include_unmarked && !selection.is_bulk() {
            return Err(Error::InvalidInput {
                message: "--include-unmarked works with -l or --all".to_owned(),
                hint: Some(
                    "named jobs are resumed however they were suspended; drop the flag".to_owned(),
                ),
            });
        }
        let contexts = clusters::selected(&self.jobs.contexts, &kube)?;
        let layout = Layout {
            contexts: false,
            all_namespaces: self.jobs.all_namespaces,
            stop_running: false,
        };
        across(&kube, &contexts, printer, "resume", layout, |kube| {
            self.on_cluster(kube, &selection, printer)
        })
        .await
    }
}

impl ResumeArgs {
    /// Resumes the selected jobs of the cluster `kube` selects.
    async fn on_cluster(
        &self,
        kube: KubeArgs,
        selection: &Selection,
        printer: Printer,
    ) -> Result<ClusterOutcome, Error> {
        let cluster = Cluster::connect(&kube).await?;
        let (cronjobs, failures) = select(&cluster, selection, self.jobs.all_namespaces).await?;
        let options = ResumeOptions {
            include_unmanaged: self.jobs.include_unmanaged,
            include_unmarked: self.include_unmarked,
            skip_missed: self.skip_missed,
        };
        let plan = maintenance::plan_resume(&cronjobs, selection, options);
        report_plan(
            printer,
            &cluster,
            &plan,
            selection,
            self.jobs.all_namespaces,
        );
        warn_about_missed_runs(printer, &plan.steps);

        let dry_run = self.dry_run.dry_run;
        let outcomes = Bulk::default()
            .run(plan.steps.clone(), |step| {
                let cluster = &cluster;
                async move {
                    if dry_run != DryRun::Client && step.writes() {
                        resume(cluster, &step, dry_run).await?;
                    }
                    Ok(done(dry_run, 0))
                }
            })
            .await;
        Ok((outcomes, failures))
    }
}

/// One warning per job that will start its missed runs at once.
fn warn_about_missed_runs(printer: Printer, steps: &[MaintenanceStep]) {
    for step in steps {
        if step.action == Action::Resume(MissedRuns::StartAtOnce) {
            printer.warn(format_args!(
                "{} has no startingDeadlineSeconds: Kubernetes starts the runs it missed while suspended at once; pass --skip-missed to set startingDeadlineSeconds: {SKIP_MISSED_DEADLINE_SECONDS} first",
                qualified(step)
            ));
        }
    }
}

/// Sets the starting deadline if asked, then applies `spec.suspend: false` without the
/// marks; if the marks survive because another field manager shares them, removes them
/// with a merge patch.
async fn resume(cluster: &Cluster, step: &MaintenanceStep, dry_run: DryRun) -> Result<(), Error> {
    if step.action == Action::Resume(MissedRuns::Skip) {
        let patch = maintenance::skip_missed_patch(step);
        apply(cluster, step, SKIP_MISSED_MANAGER, &patch, dry_run).await?;
    }
    let patch = maintenance::resume_patch(step);
    let resumed = apply(cluster, step, FIELD_MANAGER, &patch, dry_run).await?;
    if maintenance::is_marked(&resumed) {
        let api: Api<CronJob> = Api::namespaced(cluster.client().clone(), &step.namespace);
        let mut params = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..PatchParams::default()
        };
        params.dry_run = dry_run == DryRun::Server;
        let unmark = maintenance::unmark_patch();
        api.patch(&step.name, &params, &Patch::Merge(&unmark))
            .await
            .map_err(|source| {
                cluster.error(
                    Operation::new("patch", "cronjobs")
                        .named(step.name.clone())
                        .in_namespace(step.namespace.clone()),
                    source,
                )
            })?;
    }
    Ok(())
}
