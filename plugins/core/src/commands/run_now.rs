//! `kubectl kuul run-now`: start a run of a Kuul job now.
//!
//! Debugging a periodic job means running it on demand, then watching that run through.
//! The command creates the Job `kubectl create job --from=cronjob/NAME` would (see
//! [`crate::runs`]), first making sure it does not overlap a run in progress when the
//! `CronJob` forbids that, since the `CronJob` controller does not count manual runs as
//! active; then, if asked, it waits for the run and streams its logs ([`crate::watch`]).

use clap::{Args, ValueEnum};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use kube::Api;
use kube::api::PostParams;

use crate::cli::{
    BlockedTimeoutArgs, DryRun, DryRunArgs, KubeArgs, RequestTimeout, parse_request_timeout,
};
use crate::client::Cluster;
use crate::commands::KuulCommand;
use crate::error::{Error, Operation};
use crate::job_runs;
use crate::printer::Printer;
use crate::runs::{self, Overlap};
use crate::watch::{self, WaitOptions};

/// Arguments of `kubectl kuul run-now`.
#[derive(Debug, Clone, Args)]
pub struct RunNowArgs {
    /// Name of the Kuul job (its `CronJob`)
    pub name: String,

    /// Name of the Job to create (default: NAME-manual-XXXXX)
    #[arg(long = "name", value_name = "JOBNAME")]
    pub job_name: Option<String>,

    /// Start even while a run is in progress and the `CronJob`'s concurrencyPolicy is Forbid
    #[arg(long)]
    pub force: bool,

    /// Wait until the run finishes; exit 0 if it succeeded, 4 if it failed
    #[arg(long)]
    pub wait: bool,

    /// Stream the run's logs while waiting (implies --wait)
    #[arg(long)]
    pub follow: bool,

    /// Stop waiting after this long, e.g. 30s, 10m, 1h (default: no limit); the run goes on
    #[arg(long, value_name = "DURATION", value_parser = parse_request_timeout)]
    pub timeout: Option<RequestTimeout>,

    #[command(flatten)]
    pub blocked: BlockedTimeoutArgs,

    #[command(flatten)]
    pub dry_run: DryRunArgs,

    /// Print the Job as yaml or json, or its kind/name (default: yaml for --dry-run,
    /// else `job.batch/JOBNAME created`)
    #[arg(short = 'o', long = "output", value_enum, value_name = "FORMAT")]
    pub output: Option<JobFormat>,
}

/// The `-o` formats of `run-now`, as `kubectl create` knows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum JobFormat {
    Yaml,
    Json,
    /// `job.batch/JOBNAME`
    Name,
}

impl RunNowArgs {
    /// Whether to wait for the run to finish.
    fn waits(&self) -> bool {
        self.wait || self.follow
    }

    /// Rejects contradictory flags before anything is sent.
    fn check(&self) -> Result<(), Error> {
        crate::kuul_job::check_job_name("NAME", &self.name)?;
        if let Some(name) = &self.job_name {
            runs::check_job_name(name).map_err(|message| Error::InvalidInput {
                message,
                hint: None,
            })?;
        }
        if self.waits() && !self.dry_run.dry_run.writes() {
            return Err(Error::InvalidInput {
                message: "--wait and --follow cannot be combined with --dry-run: nothing runs"
                    .to_owned(),
                hint: Some("drop --dry-run, or drop --wait/--follow".to_owned()),
            });
        }
        if self.timeout.is_some() && !self.waits() {
            return Err(Error::InvalidInput {
                message: "--timeout limits waiting: use it with --wait or --follow".to_owned(),
                hint: Some("add --wait or --follow, or drop --timeout".to_owned()),
            });
        }
        Ok(())
    }
}

impl KuulCommand for RunNowArgs {
    const NAME: &'static str = "run-now";
    const ABOUT: &'static str = "Start a run of a Kuul job now.";
    const LONG_ABOUT: &'static str = include_str!("help/run-now.txt");

    async fn run(self, kube: KubeArgs, printer: Printer) -> Result<(), Error> {
        self.check()?;
        let cluster = Cluster::connect(&kube).await?;
        let namespace = cluster.namespace().to_owned();
        let get = cluster.get::<CronJob>(&namespace, &self.name, "cronjobs");
        // A Kuul job's runs carry its name in the kuul job label, so they are listed at the
        // same time as the CronJob is read, saving a round trip; a CronJob whose template
        // says otherwise has its runs listed again once it is known.
        let guessed = format!("{}={}", runs::JOB_LABEL, self.name);
        let listed = cluster.list_selected::<Job>(Some(&namespace), &guessed, "jobs");
        let (cronjob, user, listed) = tokio::join!(get, cluster.user_name(), listed);
        let cronjob = cronjob?;

        let running = match listed {
            Ok(jobs) if runs::runs_selector(&cronjob).as_deref() == Some(guessed.as_str()) => {
                runs::runs_in_progress(&cronjob, &jobs)
                    .into_iter()
                    .cloned()
                    .collect()
            }
            // Also when the guess failed (forbidden, say): the list below reports it.
            _ => job_runs::runs_in_progress(&cluster, &cronjob).await?,
        };
        match runs::overlap(&cronjob, &running.iter().collect::<Vec<_>>(), self.force) {
            Overlap::Clear => {}
            Overlap::Refused { running } => {
                return Err(Error::Halted {
                    message: format!(
                        "cronjob {:?} in namespace {namespace:?} forbids overlapping runs and {} still running",
                        self.name,
                        jobs_phrase(&running)
                    ),
                    hint: Some(
                        "wait for it to finish, or pass --force to start another run anyway"
                            .to_owned(),
                    ),
                });
            }
            Overlap::Tolerated { running } => printer.warn(format_args!(
                "{} still running; this run overlaps it",
                jobs_phrase(&running)
            )),
        }

        let job_name = self
            .job_name
            .clone()
            .unwrap_or_else(|| runs::manual_run_name(&self.name, &runs::random_suffix()));
        let mut job = runs::manual_job(&cronjob, &job_name, user.as_deref());
        let run_id = runs::new_run_id();
        runs::mark_run(&mut job, &run_id);
        if self.dry_run.dry_run == DryRun::Client {
            return print_job(printer, &job, self.output.unwrap_or(JobFormat::Yaml));
        }

        let jobs: Api<Job> = Api::namespaced(cluster.client().clone(), &namespace);
        let params = PostParams {
            dry_run: self.dry_run.dry_run == DryRun::Server,
            ..PostParams::default()
        };
        let created = create_once(&cluster, &jobs, &params, &job, &run_id).await?;
        match (self.output, self.dry_run.dry_run) {
            (Some(format), _) => print_job(printer, &created, format)?,
            (None, DryRun::Server) => print_job(printer, &created, JobFormat::Yaml)?,
            (None, _) => printer.line(format_args!("job.batch/{job_name} created"))?,
        }
        if !self.waits() {
            return Ok(());
        }
        let options = WaitOptions {
            follow: self.follow,
            timeout: self.timeout.and_then(|t| t.0),
            blocked_timeout: self.blocked.blocked_timeout.0,
        };
        watch::until_finished(&cluster, &created, options, printer).await
    }
}

/// Creates the run's Job. The client sends a create again when the API server answers
/// 429 or 5xx, and a create that went through although its answer was lost is then
/// refused with 409 `AlreadyExists`: the Job found under the name is taken as created
/// only when it carries this run's id, so that the run exists once, and a Job of the same
/// name made by anyone else is still refused.
async fn create_once(
    cluster: &Cluster,
    jobs: &Api<Job>,
    params: &PostParams,
    job: &Job,
    run_id: &str,
) -> Result<Job, Error> {
    let name = job.metadata.name.clone().unwrap_or_default();
    let operation = || {
        Operation::new("create", "jobs")
            .named(&name)
            .in_namespace(jobs.namespace().unwrap_or_default())
    };
    match jobs.create(params, job).await {
        Ok(created) => Ok(created),
        Err(kube::Error::Api(status)) if status.is_already_exists() && !params.dry_run => {
            match jobs.get_opt(&name).await {
                Ok(Some(existing)) if runs::is_run(&existing, run_id) => Ok(existing),
                _ => Err(cluster.error(operation(), kube::Error::Api(status))),
            }
        }
        Err(source) => Err(cluster.error(operation(), source)),
    }
}

/// `job.batch/a is` or `job.batch/a, job.batch/b are`.
fn jobs_phrase(names: &[String]) -> String {
    let list: Vec<String> = names.iter().map(|n| format!("job.batch/{n}")).collect();
    let verb = if list.len() == 1 { "is" } else { "are" };
    format!("{} {verb}", list.join(", "))
}

fn print_job(printer: Printer, job: &Job, format: JobFormat) -> Result<(), Error> {
    match format {
        JobFormat::Yaml => printer.yaml(job),
        JobFormat::Json => printer.json(job),
        JobFormat::Name => printer.line(format_args!(
            "job.batch/{}",
            job.metadata.name.as_deref().unwrap_or_default()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn parse(args: &[&str]) -> Result<RunNowArgs, clap::Error> {
        crate::cli::try_parse(args)
    }

    #[test]
    fn follow_implies_wait_and_timeout_takes_kubectl_durations() {
        let args = parse(&["backup", "--follow", "--timeout", "2m30s"]).unwrap();
        assert!(args.waits());
        assert_eq!(args.timeout.unwrap().0, Some(Duration::from_secs(150)));
        assert!(args.check().is_ok());
    }

    #[test]
    fn contradictory_flags_are_usage_errors() {
        for bad in [
            &["backup", "--wait", "--dry-run=server"][..],
            &["backup", "--timeout", "1m"],
            &["backup", "--name", "Not_A_Name"],
            &["backup", "--name", &"x".repeat(64)],
        ] {
            let error = parse(bad).unwrap().check().unwrap_err();
            assert_eq!(
                error.exit_status(),
                crate::error::ExitStatus::Usage,
                "{bad:?}: {error}"
            );
        }
    }

    #[test]
    fn overlap_messages_name_the_running_jobs() {
        assert_eq!(jobs_phrase(&["a".to_owned()]), "job.batch/a is");
        assert_eq!(
            jobs_phrase(&["a".to_owned(), "b".to_owned()]),
            "job.batch/a, job.batch/b are"
        );
    }
}
