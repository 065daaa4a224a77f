//! `kubectl kuul prune`: delete finished runs of Kuul jobs.
//!
//! Only the command's place in the CLI exists so far; its flags and behaviour are
//! designed in their own issue, and until then it says so instead of pretending.

use clap::Args;

use crate::cli::KubeArgs;
use crate::commands::KuulCommand;
use crate::error::Error;
use crate::printer::Printer;

/// Arguments of `kubectl kuul prune`.
#[derive(Debug, Clone, Args)]
pub struct PruneArgs {}

impl KuulCommand for PruneArgs {
    const NAME: &'static str = "prune";
    const ABOUT: &'static str = "Delete finished runs of Kuul jobs.";
    const LONG_ABOUT: &'static str = "Delete finished runs of Kuul jobs (their Jobs and Pods) according to a policy, for example keeping only the most recent ones, so that old runs and their logs do not pile up in the cluster.";

    async fn run(self, _kube: KubeArgs, _printer: Printer) -> Result<(), Error> {
        Err(Error::NotAvailable {
            command: Self::NAME,
        })
    }
}
