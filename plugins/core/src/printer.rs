//! Where output goes: data to stdout, everything else to stderr.
//!
//! Scripts pipe kuul's stdout into `jq`, `head` or other commands, so stdout carries only
//! the data asked for and messages go to stderr. A reader that closes the pipe early is
//! normal use, not an error: writes report [`Error::StdoutClosed`], which ends the
//! process quietly with status 0 instead of a panic.

use std::fmt::Display;
use std::io::{self, Write};

use serde::Serialize;

use crate::error::Error;

/// The one way commands print.
#[derive(Debug, Clone, Copy, Default)]
pub struct Printer {
    _private: (),
}

impl Printer {
    /// A printer for this process's stdout and stderr.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes data to stdout as is (include the trailing newline).
    pub fn data(&self, text: &str) -> Result<(), Error> {
        let mut out = io::stdout().lock();
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(output_error)
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

    /// An error, on stderr, prefixed `error: `, followed by its `hint:` line if any.
    /// A closed stdout prints nothing: the reader has gone away on purpose.
    pub fn error(&self, error: &Error) {
        if matches!(error, Error::StdoutClosed) {
            return;
        }
        if matches!(error, Error::Differs { .. }) {
            message_line(format_args!("{error}"));
            return;
        }
        message_line(format_args!("error: {error}"));
        if let Some(hint) = error.hint() {
            message_line(format_args!("hint: {hint}"));
        }
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
