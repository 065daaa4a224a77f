//! `kubectl kuul new`: render a `CronJob` for a Kuul job, and print or apply it.
//!
//! Only the command's place in the CLI exists so far; its flags and behaviour are
//! designed in their own issue, and until then it says so instead of pretending.

use clap::Args;

use crate::cli::KubeArgs;
use crate::commands::KuulCommand;
use crate::error::Error;
use crate::printer::Printer;

/// Arguments of `kubectl kuul new`.
#[derive(Debug, Clone, Args)]
pub struct NewArgs {
    /// Name of the Kuul job (a DNS-1123 label of at most 52 characters)
    pub name: String,
}

impl KuulCommand for NewArgs {
    const NAME: &'static str = "new";
    const ABOUT: &'static str = "Render a CronJob for a Kuul job, and print or apply it.";
    const LONG_ABOUT: &'static str = "Render a CronJob for a Kuul job, and print or apply it. The CronJob runs the job's Kuul image on its schedule, on the nodes of its pool, with CPU and memory limits, never overlapping its previous run, keeping its last runs for inspection, and labelled as managed by kuul.";

    async fn run(self, _kube: KubeArgs, _printer: Printer) -> Result<(), Error> {
        Err(Error::NotAvailable {
            command: Self::NAME,
        })
    }
}
