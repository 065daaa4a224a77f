//! One module per kuul command, each a clap `Args` struct plus the async work it does.
//!
//! A command is written once and wired twice: into its own thin binary
//! (`kubectl-kuul-run_now`) through [`crate::run::plugin`], and into the umbrella
//! `kubectl-kuul` as a subcommand. [`KuulCommand`] carries what both need, so the name,
//! help text and behaviour cannot drift apart.

use std::future::Future;

use clap::Args;

use crate::cli::KubeArgs;
use crate::error::Error;
use crate::printer::Printer;

pub mod apply;
pub mod completion;
pub mod diff;
pub mod history;
pub mod label_nodes;
pub mod logs;
pub mod new;
pub mod prune;
pub mod rbac;
pub mod resume;
pub mod run_now;
pub mod status;
pub mod suspend;
pub mod version;

pub use apply::ApplyArgs;
pub use completion::CompletionArgs;
pub use diff::DiffArgs;
pub use history::HistoryArgs;
pub use label_nodes::LabelNodesArgs;
pub use logs::LogsArgs;
pub use new::NewArgs;
pub use prune::PruneArgs;
pub use rbac::RbacArgs;
pub use resume::ResumeArgs;
pub use run_now::RunNowArgs;
pub use status::StatusArgs;
pub use suspend::SuspendArgs;
pub use version::VersionArgs;

/// A kuul command: its arguments, its names and help, and what it does.
pub trait KuulCommand: Args {
    /// The subcommand as typed after `kubectl kuul`, e.g. `run-now`.
    const NAME: &'static str;
    /// One line for command lists.
    const ABOUT: &'static str;
    /// The paragraph `--help` shows.
    const LONG_ABOUT: &'static str;

    /// Does the work. `kube` holds the connection flags, which are global so they may
    /// come before the subcommand.
    fn run(self, kube: KubeArgs, printer: Printer) -> impl Future<Output = Result<(), Error>>;
}
