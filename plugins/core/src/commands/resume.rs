//! `kubectl kuul resume`: resume suspended Kuul jobs.
//!
//! Only the command's place in the CLI exists so far; its flags and behaviour are
//! designed in their own issue, and until then it says so instead of pretending.

use clap::Args;

use crate::cli::KubeArgs;
use crate::commands::KuulCommand;
use crate::error::Error;
use crate::printer::Printer;

/// Arguments of `kubectl kuul resume`.
#[derive(Debug, Clone, Args)]
pub struct ResumeArgs {
    /// Name of the Kuul job to resume
    pub name: Option<String>,
}

impl KuulCommand for ResumeArgs {
    const NAME: &'static str = "resume";
    const ABOUT: &'static str = "Resume suspended Kuul jobs.";
    const LONG_ABOUT: &'static str = "Resume Kuul jobs that were suspended: one job, the jobs a selector picks, or all of them, for example after maintenance. Their schedules apply again from the next start time on.";

    async fn run(self, _kube: KubeArgs, _printer: Printer) -> Result<(), Error> {
        Err(Error::NotAvailable {
            command: Self::NAME,
        })
    }
}
