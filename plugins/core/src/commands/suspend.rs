//! `kubectl kuul suspend`: suspend Kuul jobs, for example for maintenance.
//!
//! Only the command's place in the CLI exists so far; its flags and behaviour are
//! designed in their own issue, and until then it says so instead of pretending.

use clap::Args;

use crate::cli::KubeArgs;
use crate::commands::KuulCommand;
use crate::error::Error;
use crate::printer::Printer;

/// Arguments of `kubectl kuul suspend`.
#[derive(Debug, Clone, Args)]
pub struct SuspendArgs {
    /// Name of the Kuul job to suspend
    pub name: Option<String>,
}

impl KuulCommand for SuspendArgs {
    const NAME: &'static str = "suspend";
    const ABOUT: &'static str = "Suspend Kuul jobs, for example for maintenance.";
    const LONG_ABOUT: &'static str = "Suspend Kuul jobs so that no new runs start: one job, the jobs a selector picks, or all of them, for example during maintenance. Who suspended a job, why and when is recorded on it, and a later apply does not silently resume it.";

    async fn run(self, _kube: KubeArgs, _printer: Printer) -> Result<(), Error> {
        Err(Error::NotAvailable {
            command: Self::NAME,
        })
    }
}
