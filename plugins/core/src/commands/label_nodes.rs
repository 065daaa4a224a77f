//! `kubectl kuul label-nodes`: put nodes into pools, list pools, remove nodes from pools.
//!
//! Only the command's place in the CLI exists so far; its flags and behaviour are
//! designed in their own issue, and until then it says so instead of pretending.

use clap::Args;

use crate::cli::KubeArgs;
use crate::commands::KuulCommand;
use crate::error::Error;
use crate::printer::Printer;

/// Arguments of `kubectl kuul label-nodes`.
#[derive(Debug, Clone, Args)]
pub struct LabelNodesArgs {}

impl KuulCommand for LabelNodesArgs {
    const NAME: &'static str = "label-nodes";
    const ABOUT: &'static str = "Put nodes into pools, list pools, remove nodes from pools.";
    const LONG_ABOUT: &'static str = "Manage the node pools Kuul jobs run on: put nodes into a pool by labelling them (for example `prod` nodes that reach production networks, `internal` nodes that reach staging only), list the pools and their nodes, and remove nodes from pools.";

    async fn run(self, _kube: KubeArgs, _printer: Printer) -> Result<(), Error> {
        Err(Error::NotAvailable {
            command: Self::NAME,
        })
    }
}
