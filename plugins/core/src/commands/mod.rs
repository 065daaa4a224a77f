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
pub mod archive;
pub mod completion;
pub mod diff;
pub mod failover;
pub mod history;
pub mod label_nodes;
pub mod logs;
pub mod new;
pub mod prune;
pub mod rbac;
pub mod resume;
pub mod run_now;
pub mod set;
pub mod status;
pub mod stop;
pub mod suspend;
pub mod version;

pub use apply::ApplyArgs;
pub use archive::ArchiveArgs;
pub use completion::CompletionArgs;
pub use diff::DiffArgs;
pub use failover::FailoverArgs;
pub use history::HistoryArgs;
pub use label_nodes::LabelNodesArgs;
pub use logs::LogsArgs;
pub use new::NewArgs;
pub use prune::PruneArgs;
pub use rbac::RbacArgs;
pub use resume::ResumeArgs;
pub use run_now::RunNowArgs;
pub use set::SetFieldArgs;
pub use status::StatusArgs;
pub use stop::StopArgs;
pub use suspend::SuspendArgs;
pub use version::VersionArgs;

/// A kuul command: its arguments, its names and help, and what it does.
pub trait KuulCommand: Args {
    /// The subcommand as typed after `kubectl kuul`, e.g. `run-now`.
    const NAME: &'static str;
    /// One line for command lists.
    const ABOUT: &'static str;
    /// What `--help` shows, as written in the source: paragraphs may be wrapped for
    /// reading (most live in `commands/help/NAME.txt`); clap gets [`Self::long_help`].
    const LONG_ABOUT: &'static str;

    /// [`Self::LONG_ABOUT`] with its paragraphs unwrapped, for clap to wrap to the
    /// terminal's width.
    fn long_help() -> String {
        unwrap_paragraphs(Self::LONG_ABOUT)
    }

    /// Does the work. `kube` holds the connection flags, which are global so they may
    /// come before the subcommand.
    fn run(self, kube: KubeArgs, printer: Printer) -> impl Future<Output = Result<(), Error>>;
}

/// Joins the lines of each paragraph of `text` into one: a line that starts with neither
/// a space nor a blank continues the line before it, unless that one is indented (a list
/// or an example). Indented lines and blank lines stay as they are.
pub fn unwrap_paragraphs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut previous_is_prose = false;
    for (index, line) in text.trim_end().lines().enumerate() {
        let prose = line.starts_with(|c: char| !c.is_whitespace());
        if prose && previous_is_prose {
            out.push(' ');
        } else if index > 0 {
            out.push('\n');
        }
        out.push_str(line);
        previous_is_prose = prose;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::unwrap_paragraphs;

    #[test]
    fn prose_lines_join_and_lists_keep_their_lines() {
        let text = "Show jobs at a\nglance:\n  ok    fine\n  bad   not\nfine at all\n\nExamples:\n  kubectl kuul status\n";
        assert_eq!(
            unwrap_paragraphs(text),
            "Show jobs at a glance:\n  ok    fine\n  bad   not\nfine at all\n\nExamples:\n  kubectl kuul status"
        );
    }

    #[test]
    fn one_line_paragraphs_are_unchanged() {
        let text = "One.\n\nTwo, three.";
        assert_eq!(unwrap_paragraphs(text), text);
    }
}
