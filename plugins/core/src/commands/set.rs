//! `kubectl kuul set`: change one kind of field of Kuul jobs in place.
//!
//! Between deployments of the job files, operators reschedule a job, move it to another
//! pool, raise its memory or keep more history. By hand that is a `kubectl patch` whose
//! JSON is easy to get wrong and which the next `apply` silently undoes. Here each value
//! is checked as `new` checks it ([`crate::change`]) before anything is read; a job that
//! belongs to a job set is refused unless `--force`; the write is a server-side apply of
//! only the fields named, as field manager `kuul-set`; and the result says what the field
//! was and is now, with the next runs of a new schedule, a pool without ready nodes, and
//! the runs in progress that keep their old spec.

use std::path::PathBuf;

use chrono::Utc;
use chrono_tz::Tz;
use clap::{Args, Subcommand};
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::api::{Patch, PatchParams};

use crate::bulk::{self, Bulk};
use crate::change::{self, Change, Concurrency, FIELD_MANAGER, Write};
use crate::cli::{DryRun, DryRunArgs, JobSelectionArgs, KubeArgs, runs_to_keep};
use crate::client::Cluster;
use crate::clusters;
use crate::commands::KuulCommand;
use crate::config::Config;
use crate::error::{Error, Operation};
use crate::job_runs::runs_in_progress;
use crate::kuul_job::{MANAGED_BY, MANAGER};
use crate::maintenance::carry_out::select;
use crate::maintenance::{Selection, is_managed};
use crate::pools;
use crate::printer::{Printer, to_yaml};
use crate::set_plan::unified_diff;

/// Arguments of `kubectl kuul set`.
#[derive(Debug, Clone, Args)]
pub struct SetFieldArgs {
    #[command(subcommand)]
    pub field: Field,
}

/// What to change.
#[derive(Debug, Clone, Subcommand)]
pub enum Field {
    /// Change when the jobs run: NAME... SCHEDULE, e.g. '0 3 * * *' or @daily
    #[command(
        override_usage = "kubectl kuul set schedule (NAME... | -l SELECTOR | --all) SCHEDULE [--tz ZONE]"
    )]
    Schedule {
        #[command(flatten)]
        target: Target,
        /// IANA time zone the schedule is read in, e.g. Europe/Berlin (default: the job's)
        #[arg(long = "tz", value_name = "ZONE")]
        zone: Option<String>,
    },
    /// Change the image of the jobs' container: NAME... IMAGE
    #[command(override_usage = "kubectl kuul set image (NAME... | -l SELECTOR | --all) IMAGE")]
    Image {
        #[command(flatten)]
        target: Target,
    },
    /// Move the jobs to another pool of nodes: NAME... POOL
    #[command(
        override_usage = "kubectl kuul set pool (NAME... | -l SELECTOR | --all) POOL [--dedicated]"
    )]
    Pool {
        #[command(flatten)]
        target: Target,
        /// The pool is dedicated (`kubectl kuul label-nodes POOL --dedicated`): tolerate
        /// its taint
        #[arg(long)]
        dedicated: bool,
    },
    /// Change the CPU and memory of the jobs' container (requests equal to limits)
    #[command(
        override_usage = "kubectl kuul set resources (NAME... | -l SELECTOR | --all) [--cpu QUANTITY] [--memory QUANTITY]"
    )]
    Resources {
        #[command(flatten)]
        target: Target,
        /// CPU request and limit, e.g. 500m
        #[arg(long, value_name = "QUANTITY", allow_negative_numbers = true)]
        cpu: Option<String>,
        /// Memory request and limit, e.g. 512Mi
        #[arg(long, value_name = "QUANTITY", allow_negative_numbers = true)]
        memory: Option<String>,
    },
    /// Change how many finished runs the cluster keeps
    #[command(
        override_usage = "kubectl kuul set history (NAME... | -l SELECTOR | --all) [--succeeded N] [--failed N]"
    )]
    History {
        #[command(flatten)]
        target: Target,
        /// Successful runs to keep (successfulJobsHistoryLimit)
        #[arg(long, value_name = "N", value_parser = runs_to_keep, allow_negative_numbers = true)]
        succeeded: Option<i32>,
        /// Failed runs to keep (failedJobsHistoryLimit)
        #[arg(long, value_name = "N", value_parser = runs_to_keep, allow_negative_numbers = true)]
        failed: Option<i32>,
    },
    /// Stop runs that take longer than DURATION (activeDeadlineSeconds), or none
    #[command(
        override_usage = "kubectl kuul set deadline (NAME... | -l SELECTOR | --all) (DURATION | none)"
    )]
    Deadline {
        #[command(flatten)]
        target: Target,
    },
    /// Change what happens when a run is due while the last still runs: Forbid, Replace
    /// or Allow
    #[command(
        override_usage = "kubectl kuul set concurrency (NAME... | -l SELECTOR | --all) (Forbid | Replace | Allow)"
    )]
    Concurrency {
        #[command(flatten)]
        target: Target,
    },
}

/// The jobs to change and how: shared by every `set` subcommand.
// The field docs are the `--help` text, where backticks would show.
#[allow(clippy::doc_markdown)]
#[derive(Debug, Clone, Args)]
pub struct Target {
    #[command(flatten)]
    pub jobs: JobSelectionArgs,

    /// Also change jobs that belong to a job set (label kuul.io/set); the next `apply -f`
    /// of the set puts its value back, and `diff -f` shows the drift until then
    #[arg(long)]
    pub force: bool,

    /// kuul config file (the pool label key, the registry of images that name none;
    /// default: ./kuul.yaml, then $KUUL_CONFIG, then ~/.config/kuul/config.yaml)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub dry_run: DryRunArgs,
}

impl KuulCommand for SetFieldArgs {
    const NAME: &'static str = "set";
    const ABOUT: &'static str =
        "Change a field of Kuul jobs in place: schedule, image, pool, resources, and more.";
    const LONG_ABOUT: &'static str = include_str!("help/set.txt");

    async fn run(self, kube: KubeArgs, printer: Printer) -> Result<(), Error> {
        let (target, value) = self.field.target_and_value()?;
        let config = Config::load(target.config.as_deref())?;
        let change = self.field.change(value.as_deref(), &config)?;
        let selection = target.jobs.selection()?;
        let contexts = clusters::selected(&target.jobs.contexts, &kube)?;
        if contexts.len() > 1 {
            return Err(Error::InvalidInput {
                message: format!(
                    "set changes the jobs of one cluster at a time, and {} contexts are selected",
                    contexts.len()
                ),
                hint: Some("run it once per cluster, with one --context".to_owned()),
            });
        }
        let cluster = Cluster::connect(&kube).await?;
        let key = config.defaults.pool_label_key.clone();
        Setting {
            cluster: &cluster,
            change: &change,
            target: &target,
            selection: &selection,
            pool_label_key: &key,
            printer,
        }
        .run()
        .await
    }
}

impl Field {
    /// The shared flags, and the value the last positional argument holds for the
    /// subcommands that take one (`NAME... VALUE`).
    fn target_and_value(&self) -> Result<(Target, Option<String>), Error> {
        let (target, value_name) = match self {
            Self::Schedule { target, .. } => (target, Some("SCHEDULE")),
            Self::Image { target } => (target, Some("IMAGE")),
            Self::Pool { target, .. } => (target, Some("POOL")),
            Self::Deadline { target } => (target, Some("DURATION")),
            Self::Concurrency { target } => (target, Some("POLICY")),
            Self::Resources { target, .. } | Self::History { target, .. } => (target, None),
        };
        let mut target = target.clone();
        let Some(value_name) = value_name else {
            return Ok((target, None));
        };
        let picked = target.jobs.selector.is_some() || target.jobs.all;
        let needed = if picked { 1 } else { 2 };
        if target.jobs.names.len() < needed {
            let what = self.name();
            return Err(Error::InvalidInput {
                message: if target.jobs.names.is_empty() {
                    format!("set {what} needs a {value_name}")
                } else {
                    format!(
                        "set {what} needs the job names and then a {value_name}; got only {:?}",
                        target.jobs.names[0]
                    )
                },
                hint: Some(format!(
                    "kubectl kuul set {what} NAME... {value_name} (or -l SELECTOR / --all, then {value_name})"
                )),
            });
        }
        let value = target.jobs.names.pop();
        Ok((target, value))
    }

    /// The subcommand's name.
    fn name(&self) -> &'static str {
        match self {
            Self::Schedule { .. } => "schedule",
            Self::Image { .. } => "image",
            Self::Pool { .. } => "pool",
            Self::Resources { .. } => "resources",
            Self::History { .. } => "history",
            Self::Deadline { .. } => "deadline",
            Self::Concurrency { .. } => "concurrency",
        }
    }

    /// The change, its values checked.
    fn change(&self, value: Option<&str>, config: &Config) -> Result<Change, Error> {
        let value = value.unwrap_or_default();
        let missing = match self {
            Self::Resources {
                cpu: None,
                memory: None,
                ..
            } => Some(("--cpu, --memory or both", "--memory 1Gi")),
            Self::History {
                succeeded: None,
                failed: None,
                ..
            } => Some(("--succeeded, --failed or both", "--succeeded 10")),
            _ => None,
        };
        if let Some((flags, example)) = missing {
            return Err(Error::InvalidInput {
                message: format!("set {} needs {flags}: nothing to set", self.name()),
                hint: Some(format!(
                    "e.g. kubectl kuul set {} NAME {example}",
                    self.name()
                )),
            });
        }
        let change = match self {
            Self::Schedule { zone, .. } => Change::schedule(value, zone.as_deref()),
            Self::Image { .. } => Change::image(value, config.defaults.registry.as_deref()),
            Self::Pool { dedicated, .. } => Change::pool(value, *dedicated),
            Self::Resources { cpu, memory, .. } => {
                Change::resources(cpu.as_deref(), memory.as_deref())
            }
            Self::History {
                succeeded, failed, ..
            } => Change::history(*succeeded, *failed),
            Self::Deadline { .. } => Change::deadline(value),
            Self::Concurrency { .. } => {
                Concurrency::parse("POLICY", value).map(Change::Concurrency)
            }
        };
        Ok(change?)
    }
}

/// One `set` on one cluster.
struct Setting<'a> {
    cluster: &'a Cluster,
    change: &'a Change,
    target: &'a Target,
    selection: &'a Selection,
    pool_label_key: &'a str,
    printer: Printer,
}

/// What became of one job.
enum Outcome {
    /// The field already had the value: nothing was sent.
    Unchanged { shown: String },
    /// Written (or, in a dry run, the diff of what would be).
    Changed {
        before: String,
        after: Box<CronJob>,
        diff: Option<String>,
        /// The runs in progress, which keep their old spec; `Err` when they could not be
        /// read.
        running: Result<Vec<String>, Error>,
    },
}

impl Setting<'_> {
    async fn run(self) -> Result<(), Error> {
        let all_namespaces = self.target.jobs.all_namespaces;
        let (cronjobs, mut failures) = select(self.cluster, self.selection, all_namespaces).await?;
        let (cronjobs, unmanaged): (Vec<CronJob>, Vec<CronJob>) =
            cronjobs.into_iter().partition(|c| {
                !self.selection.is_bulk() || self.target.jobs.include_unmanaged || is_managed(c)
            });
        if !unmanaged.is_empty() {
            let names: Vec<String> = unmanaged.iter().map(|c| self.named(c)).collect();
            self.printer.info(format_args!(
                "left alone {} CronJob(s) without {MANAGED_BY}={MANAGER}: {} (name them, or pass --include-unmanaged)",
                names.len(),
                names.join(", ")
            ));
        }
        if cronjobs.is_empty() && failures.is_empty() {
            let place = if all_namespaces {
                "any namespace".to_owned()
            } else {
                format!("namespace {:?}", self.cluster.namespace())
            };
            self.printer
                .info(format_args!("no kuul jobs matched in {place}"));
            return Ok(());
        }
        let outcomes = Bulk::default()
            .run(cronjobs, |cronjob| {
                let this = &self;
                async move { this.one(&cronjob).await }
            })
            .await;
        let total = outcomes.len() + failures.len();
        let mut changed = Vec::new();
        let mut undone: Vec<(String, Option<Error>)> = failures
            .drain(..)
            .map(|(name, error)| (name, Some(error)))
            .collect();
        for outcome in outcomes {
            let name = self.named(&outcome.item);
            let cronjob = outcome.item.clone();
            match outcome.done() {
                Ok(result) => {
                    self.report(&cronjob, &result)?;
                    if let Outcome::Changed { after, .. } = result {
                        changed.push(*after);
                    }
                }
                Err(error) => undone.push((name, error)),
            }
        }
        self.warn_about(&changed).await;
        if undone.is_empty() {
            return Ok(());
        }
        let verb = format!("set the {} of", self.change.what());
        Err(bulk::undone(self.printer, &verb, "job(s)", total, undone))
    }

    /// Changes one job, or says why not.
    async fn one(&self, cronjob: &CronJob) -> Result<Outcome, Error> {
        if !self.target.force
            && let Some(refusal) = change::owned_by_set(cronjob)
        {
            return Err(Error::Halted {
                message: refusal,
                hint: None,
            });
        }
        let refused = |message: String| Error::Halted {
            message,
            hint: None,
        };
        let after = self
            .change
            .edit(cronjob, self.pool_label_key)
            .map_err(refused)?;
        let before = self.change.shown(cronjob, self.pool_label_key);
        if after == *cronjob {
            return Ok(Outcome::Unchanged { shown: before });
        }
        let dry_run = self.target.dry_run.dry_run;
        let stored = match dry_run {
            DryRun::Client => after,
            DryRun::Server | DryRun::None => self.write(cronjob, &after, dry_run).await?,
        };
        let diff = (!dry_run.writes()).then(|| {
            let namespace = cronjob.metadata.namespace.as_deref().unwrap_or_default();
            let name = cronjob.metadata.name.as_deref().unwrap_or_default();
            unified_diff(namespace, name, &view(cronjob), &view(&stored))
        });
        let running = if matches!(self.change, Change::History { .. }) {
            Ok(Vec::new())
        } else {
            runs_in_progress(self.cluster, cronjob).await.map(|jobs| {
                jobs.iter()
                    .filter_map(|job| job.metadata.name.clone())
                    .collect()
            })
        };
        Ok(Outcome::Changed {
            before,
            after: Box::new(stored),
            diff,
            running,
        })
    }

    /// Sends the change; returns the object as the API server has it (or would).
    async fn write(
        &self,
        cronjob: &CronJob,
        after: &CronJob,
        dry_run: DryRun,
    ) -> Result<CronJob, Error> {
        let namespace = cronjob.metadata.namespace.as_deref().unwrap_or_default();
        let name = cronjob.metadata.name.as_deref().unwrap_or_default();
        let api: Api<CronJob> = Api::namespaced(self.cluster.client().clone(), namespace);
        let server_dry_run = dry_run == DryRun::Server;
        let result = match self.change.patch(cronjob, after, self.pool_label_key) {
            Write::Apply(object) => {
                let mut params = PatchParams::apply(FIELD_MANAGER).force();
                params.dry_run = server_dry_run;
                api.patch(name, &params, &Patch::Apply(&object)).await
            }
            Write::Merge(object) => {
                let params = PatchParams {
                    field_manager: Some(FIELD_MANAGER.to_owned()),
                    dry_run: server_dry_run,
                    ..PatchParams::default()
                };
                api.patch(name, &params, &Patch::Merge(&object)).await
            }
        };
        result.map_err(|source| {
            self.cluster.error(
                Operation::new("patch", "cronjobs")
                    .named(name)
                    .in_namespace(namespace),
                source,
            )
        })
    }

    /// Prints what became of one job.
    fn report(&self, cronjob: &CronJob, outcome: &Outcome) -> Result<(), Error> {
        let name = self.named(cronjob);
        let what = self.change.what();
        match outcome {
            Outcome::Unchanged { shown } => {
                self.printer.line(format_args!(
                    "cronjob.batch/{name}: {what} unchanged ({shown})"
                ))?;
            }
            Outcome::Changed {
                before,
                after,
                diff,
                running,
            } => {
                if let Some(diff) = diff {
                    self.printer.data(diff)?;
                }
                let now = self.change.shown(after, self.pool_label_key);
                let dry = self.target.dry_run.dry_run.suffix();
                self.printer.line(format_args!(
                    "cronjob.batch/{name}: {what} {before} -> {now}{dry}"
                ))?;
                if let Change::Schedule { schedule, .. } = self.change {
                    let zone = after
                        .spec
                        .time_zone
                        .as_deref()
                        .and_then(|zone| zone.parse::<Tz>().ok());
                    self.printer
                        .line(format_args!("  {}", schedule.next_runs(zone, Utc::now())))?;
                }
                self.tell_runs_in_progress(cronjob, running);
            }
        }
        Ok(())
    }

    /// Runs already started keep the spec they started with.
    fn tell_runs_in_progress(&self, cronjob: &CronJob, running: &Result<Vec<String>, Error>) {
        match running {
            Ok(active) if active.is_empty() => {}
            Ok(active) => self.printer.info(format_args!(
                "  {} run(s) of {} in progress ({}) keep the old {}; the next run has the new one",
                active.len(),
                self.named(cronjob),
                active.join(", "),
                self.change.what()
            )),
            Err(error) => self.printer.warn(format_args!(
                "cannot tell whether runs of {} are in progress (they would keep the old {}): {error}",
                self.named(cronjob),
                self.change.what()
            )),
        }
    }

    /// Warns of what the new values will do: a pool without a ready node, requests no
    /// node can allocate, runs that may overlap, a schedule that never fires.
    async fn warn_about(&self, changed: &[CronJob]) {
        if changed.is_empty() {
            return;
        }
        match self.change {
            Change::Pool { .. } | Change::Resources { .. } => {}
            Change::Concurrency(Concurrency::Allow) => {
                self.printer.warn(format_args!(
                    "with Allow, a run may start while the last one still runs: two runs of the same job can overlap"
                ));
                return;
            }
            Change::Schedule { schedule, .. } => {
                if schedule.next_after(&Utc::now()).is_none() {
                    self.printer.warn(format_args!(
                        "the schedule {:?} never fires: no date matches it",
                        schedule.as_str()
                    ));
                }
                return;
            }
            _ => return,
        }
        let nodes: Vec<Node> = match self.cluster.nodes().await {
            Ok(nodes) => nodes,
            Err(error) => {
                self.printer.warn(format_args!(
                    "cannot check the nodes the jobs need: {error}"
                ));
                return;
            }
        };
        if let Change::Pool { pool, dedicated } = self.change {
            let members: Vec<&Node> = nodes
                .iter()
                .filter(|node| pools::pool_of(node, self.pool_label_key) == Some(pool.as_str()))
                .collect();
            let ready = members.iter().filter(|node| pools::is_ready(node)).count();
            if ready == 0 {
                let label = if *dedicated { " --dedicated" } else { "" };
                self.printer.warn(format_args!(
                    "pool {pool:?} has no ready node ({} node(s) labelled {}={pool}): the jobs' runs will stay Pending until one is (`kubectl kuul label-nodes {pool} NODE...{label}`)",
                    members.len(),
                    self.pool_label_key
                ));
                return;
            }
        }
        for cronjob in changed {
            if let Some(misfit) = pools::request_misfit(cronjob, &nodes, self.pool_label_key) {
                self.printer.warn(misfit);
            }
        }
    }

    /// The job as the output names it: `NAME`, or `NAMESPACE/NAME` across namespaces.
    fn named(&self, cronjob: &CronJob) -> String {
        let name = cronjob.metadata.name.as_deref().unwrap_or_default();
        match cronjob.metadata.namespace.as_deref() {
            Some(namespace) if self.target.jobs.all_namespaces => format!("{namespace}/{name}"),
            _ => name.to_owned(),
        }
    }
}

/// The `CronJob` as a diff shows it: what a person wrote, without the server's
/// bookkeeping (managed fields, versions, status).
fn view(cronjob: &CronJob) -> String {
    let mut shown = CronJob {
        metadata: kube::api::ObjectMeta {
            name: cronjob.metadata.name.clone(),
            namespace: cronjob.metadata.namespace.clone(),
            labels: cronjob.metadata.labels.clone(),
            annotations: cronjob.metadata.annotations.clone(),
            ..kube::api::ObjectMeta::default()
        },
        spec: cronjob.spec.clone(),
        status: None,
    };
    if let Some(annotations) = shown.metadata.annotations.as_mut() {
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
    to_yaml(&shown)
}
