//! `kubectl kuul run-now`: start a run of a Kuul job now.
//!
//! Only the command's place in the CLI exists so far; its flags and behaviour are
//! designed in their own issue, and until then it says so instead of pretending.

use clap::Args;

use crate::cli::KubeArgs;
use crate::commands::KuulCommand;
use crate::error::Error;
use crate::printer::Printer;

/// Arguments of `kubectl kuul run-now`.
#[derive(Debug, Clone, Args)]
pub struct RunNowArgs {
    /// Name of the Kuul job (its `CronJob`)
    pub name: String,
}

impl KuulCommand for RunNowArgs {
    const NAME: &'static str = "run-now";
    const ABOUT: &'static str = "Start a run of a Kuul job now.";
    const LONG_ABOUT: &'static str = "Start a run of a Kuul job now, without waiting for its schedule: create a Job from its CronJob, as `kubectl create job --from=cronjob/NAME` does, optionally wait for it to finish and stream its logs. Useful for debugging a job and for running it once after a fix.";

    async fn run(self, _kube: KubeArgs, _printer: Printer) -> Result<(), Error> {
        Err(Error::NotAvailable {
            command: Self::NAME,
        })
    }
}
