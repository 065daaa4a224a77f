//! `kubectl kuul failover --from eu-1 --to eu-2`: move a team's periodic work from one
//! Kuul cluster to another without ever running a job on both.
//!
//! The jobs (by name, `-l`, or `--set`) are read on both clusters, and the plan
//! ([`crate::standby::plan_failover`]) is printed; `--yes` carries it out job by job: the
//! job is first suspended where it leaves (marked standby for the other cluster, reason
//! "failed over to ..."), and only then resumed where it goes (marked with where it came
//! from), so that at no moment are a job's schedules active on both. Every step checks
//! the state first, so running the same failover again finishes one that stopped. When
//! `--from` cannot be reached, failover refuses unless `--from-unreachable`; the jobs it
//! then resumes record that the old side still has to be suspended.

use chrono::Utc;
use clap::Args;
use k8s_openapi::api::batch::v1::CronJob;
use kube::Api;

use crate::bulk::{self, Bulk};
use crate::cli::DryRun;
use crate::cli::HeadersArgs;
use crate::cli::KubeArgs;
use crate::client::Cluster;
use crate::commands::KuulCommand;
use crate::error::{Error, Operation};
use crate::job_runs::stop_runs;
use crate::job_set::SET_LABEL;
use crate::kuul_job::{MANAGED_BY, MANAGER, check_job_name};
use crate::maintenance::{FIELD_MANAGER, SKIP_MISSED_MANAGER, skip_missed_patch_for};
use crate::printer::Printer;
use crate::runs::StopMark;
use crate::selector;
use crate::standby::{self, Arrive, FailoverStep, Leave};
use crate::table::Table;

/// Arguments of `kubectl kuul failover`.
// Each flag is a yes/no choice of the user's; clap needs them as separate fields.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, Args)]
pub struct FailoverArgs {
    #[command(flatten)]
    pub headers: HeadersArgs,

    /// Names of the Kuul jobs to move (or pick them with -l or --set)
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,

    /// The context of the cluster the jobs leave
    #[arg(long, value_name = "CONTEXT")]
    pub from: String,

    /// The context of the cluster the jobs go to
    #[arg(long, value_name = "CONTEXT")]
    pub to: String,

    /// Pick the jobs by label selector, e.g. team=ops
    #[arg(short = 'l', long, value_name = "SELECTOR", conflicts_with = "set")]
    pub selector: Option<String>,

    /// Pick the jobs of a job set (label kuul.io/set, as apply -f writes it)
    #[arg(long, value_name = "SET")]
    pub set: Option<String>,

    /// Resume with the missed runs skipped: set startingDeadlineSeconds first where it is
    /// missing
    #[arg(long)]
    pub skip_missed: bool,

    /// Also stop the runs in progress on --from, as `kubectl kuul stop` does
    #[arg(long)]
    pub stop_running: bool,

    /// Go on when --from cannot be reached: its jobs are suspended when it is next
    /// reached by status or apply
    #[arg(long)]
    pub from_unreachable: bool,

    /// Carry the plan out; without it failover only shows the plan
    #[arg(long)]
    pub yes: bool,
}

impl KuulCommand for FailoverArgs {
    const NAME: &'static str = "failover";
    const ABOUT: &'static str =
        "Move Kuul jobs from one cluster to another, never running them on both.";
    const LONG_ABOUT: &'static str = include_str!("help/failover.txt");

    async fn run(self, kube: KubeArgs, printer: Printer) -> Result<(), Error> {
        let printer = printer.with_headers(self.headers);
        let selector = self.check()?;
        let on = |context: &str| {
            let mut kube = kube.clone();
            kube.context = vec![context.to_owned()];
            kube
        };
        let (from_kube, to_kube) = (on(&self.from), on(&self.to));
        let to = Cluster::connect(&to_kube).await?;
        let from = Cluster::connect(&from_kube).await?;
        let (arriving, leaving) = tokio::join!(
            self.select(&to, selector.as_deref()),
            self.select(&from, selector.as_deref())
        );
        let arriving = arriving?;
        let leaving = match leaving {
            Ok(jobs) => Some(jobs),
            Err(error) if bulk::server_gone(&error) && self.from_unreachable => {
                printer.warn(format_args!(
                    "{error}; going on without it (--from-unreachable)"
                ));
                None
            }
            Err(error) if bulk::server_gone(&error) => {
                return Err(Error::Halted {
                    message: format!("cannot fail over from {}: {error}", self.from),
                    hint: Some(format!(
                        "its jobs could not be suspended, so they might run on both clusters; if {} is down for good, pass --from-unreachable: they are suspended there when it is next reached",
                        self.from
                    )),
                });
            }
            Err(error) => return Err(error),
        };
        let plan = standby::plan_failover(leaving.as_deref(), &arriving, &self.to);
        if plan.is_empty() {
            printer.info(format_args!(
                "no kuul jobs matched on {} or {}",
                self.from, self.to
            ));
            return Ok(());
        }
        printer.table(&self.table(&plan))?;
        if !self.yes {
            printer.info(format_args!(
                "would fail {} job(s) over from {} to {}; pass --yes to do it",
                plan.iter().filter(|s| s.writes()).count(),
                self.from,
                self.to
            ));
            return Ok(());
        }
        self.carry_out(&from, &to, &plan, leaving.as_deref(), printer)
            .await
    }
}

impl FailoverArgs {
    /// Checks the flags before anything is read; returns the label selector, if any.
    fn check(&self) -> Result<Option<String>, Error> {
        let usage = |message: String, hint: &str| Error::InvalidInput {
            message,
            hint: Some(hint.to_owned()),
        };
        if self.from == self.to {
            return Err(usage(
                format!("--from and --to are both {:?}", self.from),
                "name the cluster the jobs leave and the one they go to",
            ));
        }
        let picks = [
            !self.names.is_empty(),
            self.selector.is_some(),
            self.set.is_some(),
        ];
        if picks.iter().filter(|p| **p).count() != 1 {
            return Err(usage(
                "name the jobs, or pick them with -l SELECTOR or --set SET (one of the three)"
                    .to_owned(),
                "e.g. kubectl kuul failover --from eu-1 --to eu-2 --set team-ops",
            ));
        }
        for name in &self.names {
            check_job_name("NAME", name)?;
        }
        if let Some(user) = &self.selector {
            selector::check("--selector", user)?;
        }
        if let Some(set) = &self.set {
            crate::kuul_job::check_label_value("--set", set)?;
        }
        let managed = format!("{MANAGED_BY}={MANAGER}");
        Ok(match (&self.selector, &self.set) {
            (Some(user), _) => Some(format!("{managed},{user}")),
            (_, Some(set)) => Some(format!("{managed},{SET_LABEL}={set}")),
            _ => None,
        })
    }

    /// The selected jobs of one cluster: by name (a name missing there is left out), or
    /// by selector.
    async fn select(
        &self,
        cluster: &Cluster,
        selector: Option<&str>,
    ) -> Result<Vec<CronJob>, Error> {
        let namespace = cluster.namespace();
        if let Some(selector) = selector {
            return cluster
                .list_selected::<CronJob>(Some(namespace), selector, "cronjobs")
                .await;
        }
        let api: Api<CronJob> = Api::namespaced(cluster.client().clone(), namespace);
        let mut found = Vec::new();
        for name in &self.names {
            let job = api.get_opt(name).await.map_err(|source| {
                cluster.error(
                    Operation::new("get", "cronjobs")
                        .named(name)
                        .in_namespace(namespace),
                    source,
                )
            })?;
            found.extend(job);
        }
        Ok(found)
    }

    /// The plan: JOB, FROM (what becomes of it where it leaves), TO (where it goes).
    fn table(&self, plan: &[FailoverStep]) -> Table {
        let from = format!("on {}", self.from);
        let to = format!("on {}", self.to);
        let mut table = Table::new(["job", from.as_str(), to.as_str()]);
        for step in plan {
            table.row([
                format!("{}/{}", step.namespace, step.name),
                standby::leave_word(step.leave, step.arrive).to_owned(),
                standby::arrive_word(step.arrive).to_owned(),
            ]);
        }
        table
    }

    /// Carries the plan out job by job, each suspended where it leaves before it is
    /// resumed where it goes; what failed is named and makes the exit status 1.
    async fn carry_out(
        &self,
        from: &Cluster,
        to: &Cluster,
        plan: &[FailoverStep],
        leaving: Option<&[CronJob]>,
        printer: Printer,
    ) -> Result<(), Error> {
        let by = from.user_name().await;
        let at = Utc::now();
        let reason = format!("failed over to {}", self.to);
        let steps: Vec<&FailoverStep> = plan.iter().filter(|s| s.writes()).collect();
        let outcomes = Bulk::default()
            .run(steps, |step| {
                let (by, reason) = (by.as_deref(), reason.as_str());
                async move {
                    if step.leave == Leave::Suspend {
                        let patch = standby::standby_patch(
                            &step.namespace,
                            &step.name,
                            &self.to,
                            reason,
                            by,
                            at,
                        );
                        apply(from, step, FIELD_MANAGER, &patch).await?;
                    }
                    let left = leaving
                        .into_iter()
                        .flatten()
                        .find(|c| c.metadata.name.as_deref() == Some(step.name.as_str()));
                    if let (true, Some(job)) = (self.stop_running, left) {
                        let mark = StopMark {
                            by: by.map(str::to_owned),
                            at: Some(at),
                            reason: Some(reason.to_owned()),
                        };
                        stop_runs(from, job, &mark, DryRun::None, printer).await?;
                    }
                    if self.skip_missed && step.no_deadline {
                        let patch = skip_missed_patch_for(&step.namespace, &step.name);
                        apply(to, step, SKIP_MISSED_MANAGER, &patch).await?;
                    }
                    let pending = step.leave == Leave::Unreachable;
                    let patch =
                        standby::activate_patch(&step.namespace, &step.name, &self.from, pending);
                    apply(to, step, FIELD_MANAGER, &patch).await?;
                    Ok(())
                }
            })
            .await;
        let total = outcomes.len();
        let mut undone = Vec::new();
        let mut moved = 0;
        for outcome in outcomes {
            let name = format!("{}/{}", outcome.item.namespace, outcome.item.name);
            match outcome.done() {
                Ok(()) => moved += 1,
                Err(error) => undone.push((name, error)),
            }
        }
        printer.line(format_args!(
            "failed over {moved} job(s) from {} to {}",
            self.from, self.to
        ))?;
        if !self.skip_missed {
            for step in plan
                .iter()
                .filter(|s| s.arrive == Arrive::Resume && s.no_deadline)
            {
                printer.warn(format_args!(
                    "{}/{} has no startingDeadlineSeconds: {} starts the runs it missed at once; --skip-missed sets one first",
                    step.namespace, step.name, self.to
                ));
            }
        }
        if undone.is_empty() {
            return Ok(());
        }
        Err(bulk::undone(printer, "fail over", "job(s)", total, undone))
    }
}

/// Server-side applies `patch` to the job's `CronJob` as `manager`.
async fn apply(
    cluster: &Cluster,
    step: &FailoverStep,
    manager: &str,
    patch: &serde_json::Value,
) -> Result<(), Error> {
    cluster
        .apply_cronjob(&step.namespace, &step.name, manager, patch, false)
        .await?;
    Ok(())
}
