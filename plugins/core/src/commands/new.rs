//! `kubectl kuul new`: render a `CronJob` for a Kuul job, and print or apply it.
//!
//! Authoring a periodic job should take one command whose output can be reviewed,
//! committed, or applied at once. Everything is validated before anything is sent
//! ([`crate::kuul_job`]); the manifest opens with its next three run times, because
//! "when will this run?" is the question kubectl cannot answer. Applying is server-side
//! apply as field manager `kuul-apply`, without `spec.suspend`, so re-applying a job that
//! was suspended for maintenance never resumes it; a `CronJob` kuul does not manage is
//! only taken over with `--adopt`.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use clap::{Args, ValueEnum};
use k8s_openapi::api::batch::v1::CronJob;
use kube::Api;
use kube::api::{Patch, PatchParams};

use crate::cli::{DryRun, DryRunArgs, KubeArgs, runs_to_keep};
use crate::client::Cluster;
use crate::commands::KuulCommand;
use crate::config::Config;
use crate::error::{Error, Operation};
use crate::job_runs;
use crate::kuul_job::{FIELD_MANAGER, KuulJob, MANAGED_BY, MANAGER, Request};
use crate::printer::{Printer, to_json, to_yaml};
use crate::schedule::Schedule;
use crate::template;

/// Arguments of `kubectl kuul new`.
// The field docs are the `--help` text, where backticks around CronJob would show.
#[allow(clippy::doc_markdown)]
#[derive(Debug, Clone, Args)]
pub struct NewArgs {
    /// Name of the Kuul job (a DNS-1123 label of at most 52 characters)
    pub name: String,

    #[command(flatten)]
    pub job: Box<JobFlags>,

    /// Command and arguments of the container, after `--` (default: the image's entrypoint)
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,

    /// kuul config file with the team's defaults (default: ./kuul.yaml, then $KUUL_CONFIG,
    /// then ~/.config/kuul/config.yaml)
    #[arg(long, value_name = "FILE", help_heading = "Rendering")]
    pub config: Option<PathBuf>,

    /// Jinja template (minijinja) that renders the CronJob instead of the built-in one; it
    /// sees the job as `job` and each --set value as a variable
    #[arg(long, value_name = "FILE", help_heading = "Rendering")]
    pub template: Option<PathBuf>,

    /// Template variable; repeatable
    #[arg(
        long = "set",
        value_name = "KEY=VALUE",
        requires = "template",
        help_heading = "Rendering"
    )]
    pub set: Vec<String>,

    /// Output format of the CronJob (with --apply: print the server's object instead of a
    /// status line)
    #[arg(
        short = 'o',
        long = "output",
        value_enum,
        value_name = "FORMAT",
        help_heading = "Output"
    )]
    pub output: Option<ManifestFormat>,

    /// Write the rendered CronJob to FILE instead of stdout
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub out: Option<PathBuf>,

    /// Create or update the CronJob in the cluster (server-side apply, field manager
    /// kuul-apply; spec.suspend is left alone)
    #[arg(long, help_heading = "Writing")]
    pub apply: bool,

    /// Take over an existing CronJob that kuul does not manage (its runs get kuul's labels
    /// first)
    #[arg(long, requires = "apply", help_heading = "Writing")]
    pub adopt: bool,

    #[command(flatten)]
    pub dry_run: DryRunArgs,
}

/// The flags that describe the job itself; boxed so that `NewArgs` stays small enough to
/// sit in the umbrella's command enum next to the others.
// The field docs are the `--help` text, where backticks around CronJob would show.
#[allow(clippy::doc_markdown)]
#[derive(Debug, Clone, Args)]
pub struct JobFlags {
    /// Container image of the job, e.g. registry.example.com/ops/kuul:v3 (an image without
    /// a registry gets the config's registry)
    #[arg(long, value_name = "IMAGE", help_heading = "Job")]
    pub image: String,

    /// Cron schedule, 5 fields as Kubernetes accepts them, e.g. '0 2 * * *', or @daily,
    /// @hourly, @every 1h
    #[arg(
        long,
        value_name = "CRON",
        allow_hyphen_values = true,
        help_heading = "Job"
    )]
    pub schedule: String,

    /// IANA time zone the schedule is read in, e.g. Europe/Berlin (default: the cluster's,
    /// usually UTC)
    #[arg(long = "tz", value_name = "ZONE", help_heading = "Job")]
    pub time_zone: Option<String>,

    /// Pool whose nodes run the job (nodeSelector on the pool label; default: any node)
    #[arg(long, value_name = "POOL", help_heading = "Job")]
    pub pool: Option<String>,

    /// The pool is dedicated (`kubectl kuul label-nodes POOL --dedicated`): tolerate its
    /// taint KEY=POOL:NoSchedule
    #[arg(long, requires = "pool", help_heading = "Job")]
    pub dedicated: bool,

    /// CPU request and limit, e.g. 500m (default: config, else 100m)
    #[arg(
        long,
        value_name = "QUANTITY",
        allow_negative_numbers = true,
        help_heading = "Job"
    )]
    pub cpu: Option<String>,

    /// Memory request and limit, e.g. 512Mi (default: config, else 128Mi)
    #[arg(
        long,
        value_name = "QUANTITY",
        allow_negative_numbers = true,
        help_heading = "Job"
    )]
    pub memory: Option<String>,

    /// Environment variable of the container; repeatable
    #[arg(long = "env", value_name = "NAME=VALUE", help_heading = "Job")]
    pub env: Vec<String>,

    /// Working directory of the container
    #[arg(long, value_name = "DIR", help_heading = "Job")]
    pub working_dir: Option<String>,

    /// Stop a run that takes longer, e.g. 30m or 2h (activeDeadlineSeconds; default: no limit)
    #[arg(
        long,
        value_name = "DURATION",
        allow_negative_numbers = true,
        help_heading = "Job"
    )]
    pub active_deadline: Option<String>,

    /// Skip a run that could not start within this long of its time, e.g. 300 or 5m
    /// (startingDeadlineSeconds; default: config, else 300)
    #[arg(
        long,
        value_name = "DURATION",
        allow_negative_numbers = true,
        help_heading = "Job"
    )]
    pub starting_deadline: Option<String>,

    /// Number of successful runs to keep (default: config, else 3)
    #[arg(long, value_name = "N", value_parser = runs_to_keep, allow_negative_numbers = true, help_heading = "Job")]
    pub history_success: Option<i32>,

    /// Number of failed runs to keep (default: config, else 3)
    #[arg(long, value_name = "N", value_parser = runs_to_keep, allow_negative_numbers = true, help_heading = "Job")]
    pub history_failed: Option<i32>,

    /// Secret for pulling the image from a private registry; repeatable
    #[arg(long = "image-pull-secret", value_name = "NAME", help_heading = "Job")]
    pub image_pull_secrets: Vec<String>,

    /// Label for the CronJob, its Jobs and Pods; repeatable
    #[arg(long = "label", value_name = "KEY=VALUE", help_heading = "Job")]
    pub labels: Vec<String>,
}

/// How `new` prints a `CronJob`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ManifestFormat {
    /// YAML, opening with a comment giving the next three runs
    #[default]
    Yaml,
    /// JSON
    Json,
}

impl NewArgs {
    fn request(&self, namespace: Option<String>) -> Request {
        let job = &*self.job;
        Request {
            name: self.name.clone(),
            namespace,
            image: job.image.clone(),
            schedule: job.schedule.clone(),
            time_zone: job.time_zone.clone(),
            pool: job.pool.clone(),
            dedicated: job.dedicated,
            cpu: job.cpu.clone(),
            memory: job.memory.clone(),
            env: job.env.clone(),
            working_dir: job.working_dir.clone(),
            active_deadline: job.active_deadline.clone(),
            starting_deadline: job.starting_deadline.clone(),
            history_success: job.history_success,
            history_failed: job.history_failed,
            image_pull_secrets: job.image_pull_secrets.clone(),
            labels: job.labels.clone(),
            command: self.command.clone(),
        }
    }
}

/// The comment that opens the YAML: the next three runs in the job's time zone, or why
/// there are none. Pure, for tests with a fixed `now`.
pub fn next_runs_comment(schedule: &Schedule, zone: Option<Tz>, now: DateTime<Utc>) -> String {
    format!("# {}", schedule.next_runs(zone, now))
}

/// The manifest as printed: YAML with the next-runs comment, or JSON.
pub fn manifest(cronjob: &CronJob, format: ManifestFormat, comment: &str) -> String {
    match format {
        ManifestFormat::Yaml => format!("{comment}\n{}", to_yaml(cronjob)),
        ManifestFormat::Json => to_json(cronjob),
    }
}

/// What happened to the object, in kubectl's words.
fn outcome(before: Option<&CronJob>, after: &CronJob) -> &'static str {
    let Some(before) = before else {
        return "created";
    };
    let same = before.metadata.labels == after.metadata.labels
        && before.metadata.annotations == after.metadata.annotations
        && before.spec == after.spec;
    if same { "unchanged" } else { "configured" }
}

impl KuulCommand for NewArgs {
    const NAME: &'static str = "new";
    const ABOUT: &'static str = "Render a CronJob for a Kuul job, and print or apply it.";
    const LONG_ABOUT: &'static str = include_str!("help/new.txt");

    async fn run(self, mut kube: KubeArgs, printer: Printer) -> Result<(), Error> {
        let config = Config::load(self.config.as_deref())?;
        if kube.namespace.is_none() {
            kube.namespace.clone_from(&config.namespace);
        }
        let job = KuulJob::new(self.request(kube.namespace.clone()), &config.defaults)?;
        let cronjob = match &self.template {
            Some(path) => {
                let source = std::fs::read_to_string(path).map_err(|error| {
                    Error::InvalidInput {
                        message: format!(
                            "cannot read --template {}: {}",
                            path.display(),
                            crate::error::io_cause(&error)
                        ),
                        hint: Some(
                            "--template takes a Jinja template file that renders a batch/v1 CronJob"
                                .to_owned(),
                        ),
                    }
                })?;
                let variables = template::variables(&self.set)?;
                template::render(&source, path, &job, &variables)?
            }
            None => job.to_cronjob(),
        };
        let (schedule, zone) = crate::kuul_job::check_cronjob(&cronjob)?;
        let comment = next_runs_comment(&schedule, zone, Utc::now());
        if schedule.next_after(&Utc::now()).is_none() {
            printer.warn(format_args!(
                "the schedule {:?} never fires: no date matches it",
                schedule.as_str()
            ));
        }
        let format = self.output.unwrap_or_default();
        let rendered = manifest(&cronjob, format, &comment);
        let applying = (self.apply || self.dry_run.dry_run == DryRun::Server)
            && self.dry_run.dry_run != DryRun::Client;
        if let Some(path) = &self.out {
            std::fs::write(path, &rendered).map_err(|source| Error::Output { source })?;
            printer.info(format_args!("wrote {}", path.display()));
        } else if !applying {
            printer.data(&rendered)?;
        }
        if !applying {
            return Ok(());
        }
        let cluster = Cluster::connect(&kube).await?;
        let server_dry_run = self.dry_run.dry_run == DryRun::Server;
        let pool_key = &config.defaults.pool_label_key;
        let checked = [&cronjob];
        // Boxed: the apply and the node list together make a large future.
        let (applied, misfits) = tokio::join!(
            Box::pin(apply(&cluster, cronjob.clone(), self.adopt, server_dry_run)),
            Box::pin(cluster.misfits(&checked, pool_key))
        );
        let applied = applied?;
        for misfit in misfits {
            printer.warn(misfit);
        }
        if let Some(format) = self.output {
            let mut applied_object = applied.object;
            applied_object.metadata.managed_fields = None;
            printer.data(&manifest(&applied_object, format, &comment))
        } else {
            let suffix = if server_dry_run {
                " (server dry run)"
            } else {
                ""
            };
            printer.line(format_args!(
                "cronjob.batch/{} {}{suffix}",
                job.name, applied.outcome
            ))
        }
    }
}

struct Applied {
    object: CronJob,
    outcome: &'static str,
}

/// Server-side apply of `cronjob` in the cluster's namespace, refusing to take over a
/// `CronJob` kuul does not manage unless `adopt`.
async fn apply(
    cluster: &Cluster,
    mut cronjob: CronJob,
    adopt: bool,
    dry_run: bool,
) -> Result<Applied, Error> {
    let namespace = cluster.namespace().to_owned();
    let name = cronjob.metadata.name.clone().unwrap_or_default();
    cronjob.metadata.namespace = Some(namespace.clone());
    let api: Api<CronJob> = Api::namespaced(cluster.client().clone(), &namespace);
    let operation = |verb| {
        Operation::new(verb, "cronjobs")
            .named(name.clone())
            .in_namespace(namespace.clone())
    };
    let before = api
        .get_opt(&name)
        .await
        .map_err(|source| cluster.error(operation("get"), source))?;
    if let Some(existing) = &before {
        let managed = existing
            .metadata
            .labels
            .as_ref()
            .and_then(|labels| labels.get(MANAGED_BY))
            .is_some_and(|value| value == MANAGER);
        if !managed && !adopt {
            // Refusing to overwrite someone else's object: the operation failed (exit 1).
            return Err(Error::Halted {
                message: format!(
                    "cronjob {name:?} in namespace {namespace:?} exists and is not managed by kuul (no label {MANAGED_BY}={MANAGER})"
                ),
                hint: Some("pass --adopt to take it over, or choose another NAME".to_owned()),
            });
        }
        // Its earlier runs are labelled before it is taken over, as apply --adopt does.
        if let (false, Some(uid)) = (managed, existing.metadata.uid.as_deref()) {
            job_runs::label_earlier_runs(cluster, &namespace, uid, &cronjob, dry_run).await?;
        }
    }
    let mut params = PatchParams::apply(FIELD_MANAGER).force();
    params.dry_run = dry_run;
    let object = api
        .patch(&name, &params, &Patch::Apply(&cronjob))
        .await
        .map_err(|source| cluster.error(operation("apply"), source))?;
    let outcome = outcome(before.as_ref(), &object);
    Ok(Applied { object, outcome })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kuul_job::Defaults;
    use chrono::TimeZone;

    fn job() -> KuulJob {
        let mut request = Request {
            name: "backup-db".to_owned(),
            image: "registry.example.com/ops/kuul:v3".to_owned(),
            schedule: "0 2 * * *".to_owned(),
            time_zone: Some("Europe/Berlin".to_owned()),
            pool: Some("prod".to_owned()),
            cpu: Some("500m".to_owned()),
            memory: Some("512Mi".to_owned()),
            env: vec!["DB_HOST=db.internal".to_owned()],
            working_dir: Some("/work".to_owned()),
            active_deadline: Some("2h".to_owned()),
            image_pull_secrets: vec!["registry-login".to_owned()],
            labels: vec!["team=ops".to_owned()],
            command: vec!["./backup.sh".to_owned(), "prod-db".to_owned()],
            ..Request::default()
        };
        request.namespace = Some("ops".to_owned());
        KuulJob::new(request, &Defaults::default()).unwrap()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 28, 12, 0, 0).unwrap()
    }

    #[test]
    fn rendered_yaml_of_a_backup_job() {
        let job = job();
        let comment = next_runs_comment(&job.schedule, job.time_zone, now());
        insta::assert_snapshot!(manifest(&job.to_cronjob(), ManifestFormat::Yaml, &comment));
    }

    #[test]
    fn next_runs_in_the_jobs_zone_across_a_dst_change() {
        let job = job();
        assert_eq!(
            next_runs_comment(&job.schedule, job.time_zone, now()),
            "# next runs (Europe/Berlin): 2025-03-29 02:00 CET, 2025-03-31 02:00 CEST, 2025-04-01 02:00 CEST"
        );
        let never = Schedule::parse("0 0 31 2 *").unwrap();
        assert_eq!(
            next_runs_comment(&never, None, now()),
            "# next runs (UTC): never; the schedule matches no date"
        );
    }

    #[test]
    fn json_is_the_object_alone() {
        let text = manifest(&job().to_cronjob(), ManifestFormat::Json, "# x");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["kind"], "CronJob");
        assert_eq!(value["spec"]["timeZone"], "Europe/Berlin");
    }

    #[test]
    fn yaml_round_trips_to_the_same_cronjob() {
        let cronjob = job().to_cronjob();
        let text = manifest(&cronjob, ManifestFormat::Yaml, "# x");
        let parsed: CronJob = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(parsed, cronjob);
    }

    #[test]
    fn outcomes_like_kubectl() {
        let cronjob = job().to_cronjob();
        assert_eq!(outcome(None, &cronjob), "created");
        assert_eq!(outcome(Some(&cronjob), &cronjob), "unchanged");
        let mut changed = cronjob.clone();
        changed.spec.schedule = "@hourly".to_owned();
        assert_eq!(outcome(Some(&cronjob), &changed), "configured");
    }
}
