//! Where output goes and how it looks: data to stdout, everything else to stderr.
//!
//! Scripts pipe kuul's stdout into `jq`, `head` or other commands, so stdout carries only
//! the data asked for and messages go to stderr. A reader that closes the pipe early is
//! normal use, not an error: writes report [`Error::StdoutClosed`], which ends the
//! process quietly with status 0 instead of a panic.
//!
//! The terminal policy lives here and nowhere else: whether stdout and stderr are
//! terminals, `NO_COLOR`, and so whether data may use symbols and redraw, and whether
//! progress is a spinner or bar on stderr or plain lines. Commands ask the printer.

use std::fmt::Display;
use std::io::{self, IsTerminal, Write};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::cli::HeadersArgs;
use crate::error::Error;

/// How often a spinner moves.
const TICK: Duration = Duration::from_millis(120);

/// The one way commands print.
// Four independent switches of one small Copy value; an enum per switch would say no more.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Printer {
    stdout_terminal: bool,
    stderr_terminal: bool,
    no_color: bool,
    /// Whether tables open with their header line (`--no-headers` turns it off).
    headers: bool,
}

impl Default for Printer {
    fn default() -> Self {
        Self::new()
    }
}

impl Printer {
    /// A printer for this process's stdout and stderr, as they are now.
    pub fn new() -> Self {
        Self {
            stdout_terminal: io::stdout().is_terminal(),
            stderr_terminal: io::stderr().is_terminal(),
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
            headers: true,
        }
    }

    /// A printer that behaves as if stdout and stderr were (or were not) terminals, and
    /// `NO_COLOR` was (or was not) set: for tests.
    pub fn with_terminals(stdout: bool, stderr: bool, no_color: bool) -> Self {
        Self {
            stdout_terminal: stdout,
            stderr_terminal: stderr,
            no_color,
            headers: true,
        }
    }

    /// This printer, printing tables with their header line or (`--no-headers`) without.
    #[must_use]
    pub fn with_headers(self, headers: HeadersArgs) -> Self {
        Self {
            headers: headers.shown(),
            ..self
        }
    }

    /// Whether data on stdout is plain ASCII: stdout is not a terminal (a pipe, a file,
    /// a script), or `NO_COLOR` is set.
    pub fn ascii(&self) -> bool {
        self.no_color || !self.stdout_terminal
    }

    /// Whether a display on stdout may redraw itself on a timer (`status --watch` keeps
    /// ages true): only for a person at a terminal, never into a pipe.
    pub fn redraws(&self) -> bool {
        self.stdout_terminal
    }

    /// Whether progress on stderr is drawn (spinners, bars) rather than told in lines.
    pub fn draws_progress(&self) -> bool {
        self.stderr_terminal
    }

    /// A spinner on stderr showing `template` (indicatif's syntax) and `message`, ticking
    /// on its own; `None` when stderr is not a terminal, so the caller prints lines.
    pub fn spinner(&self, template: &str, message: impl Into<String>) -> Option<ProgressBar> {
        self.draws_progress().then(|| {
            let style = ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            let spinner = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
                .with_style(style)
                .with_message(message.into());
            spinner.enable_steady_tick(TICK);
            spinner
        })
    }

    /// A set of progress bars on stderr; `None` when stderr is not a terminal.
    pub fn bars(&self) -> Option<MultiProgress> {
        self.draws_progress()
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))
    }

    /// Passes bytes through to stdout unchanged (a container's own output).
    pub fn raw_stdout(&self, bytes: &[u8]) -> Result<(), Error> {
        let mut out = io::stdout().lock();
        out.write_all(bytes)
            .and_then(|()| out.flush())
            .map_err(output_error)
    }

    /// Passes bytes through to stderr unchanged (a container's own error output).
    pub fn raw_stderr(&self, bytes: &[u8]) {
        // If stderr itself is gone there is nobody left to tell.
        let _ = io::stderr().lock().write_all(bytes);
    }

    /// Writes data to stdout as is (include the trailing newline).
    pub fn data(&self, text: &str) -> Result<(), Error> {
        self.raw_stdout(text.as_bytes())
    }

    /// Writes a table to stdout: with its header line, or only its rows after
    /// `--no-headers` ([`Printer::with_headers`]).
    pub fn table(&self, table: &crate::table::Table) -> Result<(), Error> {
        if self.headers {
            self.data(&table.to_string())
        } else {
            self.data(&table.rows_only())
        }
    }

    /// Writes one line of data to stdout.
    pub fn line(&self, line: impl Display) -> Result<(), Error> {
        self.data(&format!("{line}\n"))
    }

    /// Writes a value to stdout as indented JSON, as `kubectl -o json` does.
    pub fn json<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), Error> {
        self.data(&to_json(value))
    }

    /// Writes a value to stdout as YAML, as `kubectl -o yaml` does.
    pub fn yaml<T: Serialize>(&self, value: &T) -> Result<(), Error> {
        self.data(&to_yaml(value))
    }

    /// A progress or status message, on stderr.
    pub fn info(&self, message: impl Display) {
        message_line(format_args!("{message}"));
    }

    /// A warning, on stderr, prefixed `warning: `.
    pub fn warn(&self, message: impl Display) {
        message_line(format_args!("warning: {message}"));
    }

    /// An error, on stderr, as [`Error::report`] words it.
    pub fn error(&self, error: &Error) {
        // If stderr itself is gone there is nobody left to tell.
        let _ = io::stderr().lock().write_all(error.report().as_bytes());
    }
}

/// Indented JSON with a trailing newline.
pub fn to_json<T: Serialize + ?Sized>(value: &T) -> String {
    // Serializing plain data structures into a string cannot fail.
    let mut text = serde_json::to_string_pretty(value).expect("value serializes to JSON");
    text.push('\n');
    text
}

/// YAML with a trailing newline.
pub fn to_yaml<T: Serialize>(value: &T) -> String {
    let mut text = serde_saphyr::to_string(value).expect("value serializes to YAML");
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

fn output_error(source: io::Error) -> Error {
    if source.kind() == io::ErrorKind::BrokenPipe {
        Error::StdoutClosed
    } else {
        Error::Output { source }
    }
}

fn message_line(args: std::fmt::Arguments<'_>) {
    // If stderr itself is gone there is nobody left to tell.
    let _ = writeln!(io::stderr().lock(), "{args}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_ascii_unless_stdout_is_a_terminal_without_no_color() {
        assert!(!Printer::with_terminals(true, true, false).ascii());
        assert!(Printer::with_terminals(true, true, true).ascii());
        assert!(Printer::with_terminals(false, true, false).ascii());
    }

    #[test]
    fn only_a_terminal_gets_redraws_and_drawn_progress() {
        let piped = Printer::with_terminals(false, false, false);
        assert!(!piped.redraws());
        assert!(piped.spinner("{msg}", "x").is_none());
        assert!(piped.bars().is_none());
        let stderr_only = Printer::with_terminals(false, true, true);
        assert!(!stderr_only.redraws());
        assert!(stderr_only.draws_progress());
        assert!(Printer::with_terminals(true, false, false).redraws());
    }

    #[test]
    fn only_verdicts_go_without_the_error_prefix() {
        let differs = Error::Differs {
            message: "2 CronJobs differ".to_owned(),
        };
        let halted = Error::Halted {
            message: "gave up".to_owned(),
            hint: None,
        };
        assert!(differs.is_verdict());
        assert!(!halted.is_verdict());
    }
}
