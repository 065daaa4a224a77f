//! `kubectl kuul run-now`, with `--local`: the one place where run-now meets Docker.
//!
//! run-now lives in kuul-core, which must not depend on the SDK (the SDK depends on
//! core). So this wraps core's arguments with `--local` and `--env-file`: without
//! `--local` it is core's run-now unchanged; with it, the `CronJob`'s container runs on
//! the local Docker daemon ([`crate::local_run`]) and nothing is created in the cluster.
//! The umbrella and `kubectl-kuul-run_now` both wire this type, so they stay identical.

use std::path::PathBuf;

use clap::Args;
use kuul_core::commands::RunNowArgs;
use kuul_core::{Error, KubeArgs, KuulCommand, Printer};

/// Arguments of `kubectl kuul run-now`: core's, plus `--local`.
// The field docs are the `--help` text, where backticks around CronJob would show.
#[allow(clippy::doc_markdown)]
#[derive(Debug, Clone, Args)]
pub struct RunNowCommand {
    #[command(flatten)]
    pub args: RunNowArgs,

    /// Run the CronJob's container on the local Docker daemon instead of creating a Job:
    /// same command, args, env, workingDir, user and limits; exits with its exit code
    #[arg(long, help_heading = "Local run", conflicts_with_all = ["job_name", "force", "wait", "follow", "timeout", "output"])]
    pub local: bool,

    /// With --local: NAME=VALUE lines for env vars the cluster keeps in Secrets or
    /// ConfigMaps
    #[arg(
        long,
        value_name = "FILE",
        requires = "local",
        help_heading = "Local run"
    )]
    pub env_file: Option<PathBuf>,
}

impl KuulCommand for RunNowCommand {
    const NAME: &'static str = RunNowArgs::NAME;
    const ABOUT: &'static str = RunNowArgs::ABOUT;
    const LONG_ABOUT: &'static str = RunNowArgs::LONG_ABOUT;

    async fn run(self, kube: KubeArgs, printer: Printer) -> Result<(), Error> {
        if !self.local {
            // Boxed: run-now with --wait holds a CronJob, a Job and a watch across its
            // awaits, more than a future should carry on the stack.
            return Box::pin(self.args.run(kube, printer)).await;
        }
        kuul_core::kuul_job::check_job_name("NAME", &self.args.name)?;
        if !self.args.dry_run.dry_run.writes() {
            return Err(Error::InvalidInput {
                message:
                    "--local cannot be combined with --dry-run: it creates nothing in the cluster"
                        .to_owned(),
                hint: Some("drop --dry-run".to_owned()),
            });
        }
        crate::local_run::run(&kube, &self.args.name, self.env_file.as_deref(), printer).await
    }
}
