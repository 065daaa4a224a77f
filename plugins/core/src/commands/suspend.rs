//! `kubectl kuul suspend`: suspend Kuul jobs for a maintenance window.
//!
//! Today a maintenance window means one `kubectl patch` per job and a note somewhere
//! about why. This command suspends one job, the jobs a selector picks, or all kuul jobs
//! of a namespace (or of every namespace), records who, why and when on each job, and
//! with `--stop-running` also ends the runs in progress. What to change is decided in
//! [`crate::maintenance`]; this module reads the `CronJob`s, carries the plan out with
//! [`Bulk`], and reports, through [`crate::maintenance::carry_out`], which `resume`
//! (the command that undoes it) uses too. The selection flags are [`JobSelectionArgs`].

use chrono::Utc;
use clap::Args;

use crate::bulk::Bulk;
use crate::cli::{DryRun, DryRunArgs, HeadersArgs, JobSelectionArgs, KubeArgs};
use crate::client::Cluster;
use crate::clusters;
use crate::commands::KuulCommand;
use crate::error::Error;
use crate::job_runs::stop_runs;
use crate::maintenance::carry_out::{
    ClusterOutcome, across, apply, done, planned_from, report_plan, select,
};
use crate::maintenance::{self, Action, FIELD_MANAGER, Layout, Selection};
use crate::printer::Printer;
use crate::runs::StopMark;

/// Arguments of `kubectl kuul suspend`.
#[derive(Debug, Clone, Args)]
pub struct SuspendArgs {
    #[command(flatten)]
    pub headers: HeadersArgs,

    #[command(flatten)]
    pub jobs: JobSelectionArgs,

    /// Why the jobs are suspended; recorded as kuul.io/suspend-reason
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,

    /// Also stop the runs in progress, as `kubectl kuul stop` does (their pods are terminated)
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
        let printer = printer.with_headers(self.headers);
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
        let contexts = clusters::selected(&self.jobs.contexts, &kube)?;
        let layout = Layout {
            contexts: false,
            all_namespaces: self.jobs.all_namespaces,
            stop_running: self.stop_running,
        };
        across(&kube, &contexts, printer, "suspend", layout, |kube| {
            self.on_cluster(kube, &selection, reason, printer)
        })
        .await
    }
}

impl SuspendArgs {
    /// Suspends the selected jobs of the cluster `kube` selects.
    async fn on_cluster(
        &self,
        kube: KubeArgs,
        selection: &Selection,
        reason: Option<&str>,
        printer: Printer,
    ) -> Result<ClusterOutcome, Error> {
        let cluster = Cluster::connect(&kube).await?;
        let (selected, user) = tokio::join!(
            select(&cluster, selection, self.jobs.all_namespaces),
            cluster.user_name()
        );
        let (cronjobs, failures) = selected?;
        let plan =
            maintenance::plan_suspend(&cronjobs, selection, self.jobs.include_unmanaged, reason);
        report_plan(
            printer,
            &cluster,
            &plan,
            selection,
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
                        let mark = StopMark {
                            by: by.map(str::to_owned),
                            at: Some(at),
                            reason: reason.map(str::to_owned),
                        };
                        stop_runs(cluster, cronjob, &mark, dry_run, printer).await?
                    } else {
                        0
                    };
                    Ok(done(dry_run, stopped))
                }
            })
            .await;
        Ok((outcomes, failures))
    }
}
