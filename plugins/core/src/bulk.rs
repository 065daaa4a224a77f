//! Bulk writes: one API write per item, many at a time, every item accounted for.
//!
//! Commands such as `suspend --all` and `prune --yes` change tens to thousands of objects.
//! One request at a time is slow, all at once floods the API server, and stopping at the
//! first failure leaves an operator guessing what was done. [`Bulk::run`] runs an async
//! operation per item with at most `concurrency` in flight, retries an operation that
//! lost an optimistic-concurrency race (HTTP 409 with reason `Conflict`) a few times, and
//! returns one [`Attempted`] per item in the order the items came, so the caller can print
//! a summary that names every failure and exit 1 if there was any. Operations should be
//! idempotent (a server-side apply, a delete that treats "not found" as done), so that
//! running the command again finishes what a failed run left.
//!
//! A retry calls the operation again from the start, so an operation that reads the
//! object before writing it sees the winner's version the second time.
//!
//! When the API server dies mid-way (or stops answering within the request timeout),
//! every later write would fail the same way: once one has failed so, no new write is
//! started, the ones in flight end, and the rest are recorded as not attempted
//! ([`Attempted::skipped`]). The command then ends within the request timeout, and
//! [`undone`] says how many of which items were not done, with each distinct cause once.
//! Each write is one server-side apply, patch or delete, so no object is left half
//! written, and running the command again does the rest.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::stream::{self, StreamExt};

use crate::error::Error;
use crate::printer::Printer;

/// How many writes are in flight at once unless a command says otherwise. kubectl's
/// own bulk deletes are sequential; 16 keeps well inside the API server's default
/// max-in-flight (400 mutating requests) while making 10,000 deletes take seconds.
pub const DEFAULT_CONCURRENCY: usize = 16;

/// How many times an operation runs at most when it keeps hitting conflicts.
const DEFAULT_ATTEMPTS: u32 = 4;

/// The pause before the first retry; each later retry waits one step longer.
const RETRY_STEP: Duration = Duration::from_millis(25);

/// A bounded-concurrency runner of bulk writes.
#[derive(Debug, Clone, Copy)]
pub struct Bulk {
    concurrency: usize,
    attempts: u32,
}

impl Default for Bulk {
    fn default() -> Self {
        Self::new(DEFAULT_CONCURRENCY)
    }
}

/// What happened to one item.
#[derive(Debug)]
pub struct Attempted<I, T> {
    /// The item, as it was handed in.
    pub item: I,
    /// What the operation returned on its last attempt.
    pub result: Result<T, Error>,
    /// How many times the operation ran (more than 1 after conflicts; 0 when it was not
    /// started because the API server had stopped answering).
    pub attempts: u32,
}

impl<I, T> Attempted<I, T> {
    /// Whether the operation was never started, because an earlier one found the API
    /// server gone.
    pub fn skipped(&self) -> bool {
        self.attempts == 0
    }

    /// What came of the item: the operation's value, or why it was not done: its error,
    /// or `None` when it was never attempted (the form [`undone`] takes).
    pub fn done(self) -> Result<T, Option<Error>> {
        let skipped = self.skipped();
        self.result.map_err(|error| (!skipped).then_some(error))
    }
}

impl Bulk {
    /// A runner with at most `concurrency` operations in flight (at least 1).
    pub fn new(concurrency: usize) -> Self {
        Self {
            concurrency: concurrency.max(1),
            attempts: DEFAULT_ATTEMPTS,
        }
    }

    /// The same runner, running an operation at most `attempts` times (at least 1) when
    /// it keeps conflicting.
    #[must_use]
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    /// Runs `operation` once per item, at most `concurrency` at a time, retrying
    /// conflicts, and returns every item's outcome in the items' order. A failed item is
    /// recorded and the rest go on, unless the failure says that the API server is gone
    /// ([`server_gone`]): then no further item is started.
    pub async fn run<I, T, F, Fut>(
        &self,
        items: impl IntoIterator<Item = I>,
        operation: F,
    ) -> Vec<Attempted<I, T>>
    where
        I: Clone,
        F: Fn(I) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let operation = &operation;
        // Set by the first write that finds the API server gone.
        let gone = &AtomicBool::new(false);
        let mut outcomes: Vec<(usize, Attempted<I, T>)> =
            stream::iter(items.into_iter().enumerate())
                .map(|(index, item)| async move {
                    let mut attempts = 0;
                    let result = loop {
                        if gone.load(Ordering::Relaxed) {
                            break Err(not_attempted());
                        }
                        attempts += 1;
                        match operation(item.clone()).await {
                            Err(error) if is_conflict(&error) && attempts < self.attempts => {
                                tokio::time::sleep(RETRY_STEP * attempts).await;
                            }
                            result => {
                                if result.as_ref().is_err_and(server_gone) {
                                    gone.store(true, Ordering::Relaxed);
                                }
                                break result;
                            }
                        }
                    };
                    let attempted = Attempted {
                        item,
                        result,
                        attempts,
                    };
                    (index, attempted)
                })
                .buffer_unordered(self.concurrency)
                .collect()
                .await;
        outcomes.sort_by_key(|(index, _)| *index);
        outcomes.into_iter().map(|(_, outcome)| outcome).collect()
    }
}

/// Whether a failed write says that the API server is gone: it cannot be reached, or
/// did not answer within the request timeout. Every later write would fail alike.
pub fn server_gone(error: &Error) -> bool {
    matches!(error, Error::Unreachable { .. } | Error::Timeout { .. })
}

/// The error of an item that was never attempted.
fn not_attempted() -> Error {
    Error::Halted {
        message: "not attempted: the API server had stopped answering".to_owned(),
        hint: None,
    }
}

/// Says what a bulk command left undone, after it has said what it did, and returns the
/// error that ends it (exit 1): how many of the `total` items (`noun`, e.g. `job(s)`)
/// it could not `verb`, how many of those were not attempted, and their names. `undone`
/// holds each item's name and its error, or `None` when it was not attempted. Each
/// distinct error is printed once, with the number of other items it hit: a dead API
/// server fails sixteen writes in flight with the same sentence.
pub fn undone(
    printer: Printer,
    verb: &str,
    noun: &str,
    total: usize,
    mut undone: Vec<(String, Option<Error>)>,
) -> Error {
    undone.sort_by(|a, b| a.0.cmp(&b.0));
    for (error, count) in causes(&undone) {
        printer.error(error);
        if count > 1 {
            printer.info(format_args!("(the same for {} more {noun})", count - 1));
        }
    }
    let skipped = undone.iter().filter(|(_, error)| error.is_none()).count();
    let not_attempted = if skipped > 0 {
        format!(" ({skipped} not attempted once the API server stopped answering)")
    } else {
        String::new()
    };
    let names: Vec<&str> = undone.iter().map(|(name, _)| name.as_str()).collect();
    Error::Halted {
        message: format!(
            "could not {verb} {} of {total} {noun}{not_attempted}: {}",
            undone.len(),
            names.join(", ")
        ),
        hint: Some(
            "fix the cause and run the same command again: it changes only what is left".to_owned(),
        ),
    }
}

/// Each distinct error among `undone` (as the user reads it), with how many items it hit.
fn causes(undone: &[(String, Option<Error>)]) -> Vec<(&Error, usize)> {
    let mut by_report: BTreeMap<String, (&Error, usize)> = BTreeMap::new();
    for error in undone.iter().filter_map(|(_, error)| error.as_ref()) {
        by_report.entry(error.report()).or_insert((error, 0)).1 += 1;
    }
    by_report.into_values().collect()
}

/// Whether the write lost a race with another writer and may succeed when retried. A
/// 409 that says the object already exists is not such a race.
pub fn is_conflict(error: &Error) -> bool {
    match error {
        Error::Conflict { source, .. } => {
            matches!(source.as_ref(), kube::Error::Api(status) if status.is_conflict())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use kube::core::Status;

    use super::*;
    use crate::error::Operation;

    fn api_error(code: u16, reason: &str) -> Error {
        let source = kube::Error::Api(
            Status::failure("the object has been modified", reason)
                .with_code(code)
                .boxed(),
        );
        let endpoint = crate::error::Endpoint {
            server: "https://127.0.0.1:1".to_owned(),
            context: "test".to_owned(),
        };
        Error::from_kube(
            source,
            Operation::new("patch", "cronjobs").named("backup"),
            &endpoint,
        )
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    }

    #[test]
    fn every_item_gets_an_outcome_in_order_even_after_failures() {
        let outcomes = runtime().block_on(Bulk::new(3).run(0..10, |n| async move {
            // Later items finish first, so completion order differs from input order.
            tokio::time::sleep(Duration::from_millis(10 - n)).await;
            if n % 4 == 1 {
                Err(api_error(403, "Forbidden"))
            } else {
                Ok(n * 10)
            }
        }));
        let items: Vec<u64> = outcomes.iter().map(|o| o.item).collect();
        assert_eq!(items, (0..10).collect::<Vec<_>>());
        let failed: Vec<u64> = outcomes
            .iter()
            .filter(|o| o.result.is_err())
            .map(|o| o.item)
            .collect();
        assert_eq!(failed, [1, 5, 9]);
        assert_eq!(outcomes[2].result.as_ref().unwrap(), &20);
    }

    #[test]
    fn never_more_than_the_bound_in_flight() {
        let in_flight = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let outcomes = runtime().block_on(Bulk::new(4).run(0..40, |_| async {
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(2)).await;
            in_flight.fetch_sub(1, Ordering::SeqCst);
            Ok::<_, Error>(())
        }));
        assert_eq!(outcomes.len(), 40);
        assert_eq!(peak.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn conflicts_are_retried_until_the_write_wins() {
        let calls = Mutex::new(Vec::new());
        let outcomes = runtime().block_on(Bulk::default().run(["a", "b"], |name| {
            let attempt = {
                let mut calls = calls.lock().unwrap();
                calls.push(name);
                calls.iter().filter(|c| **c == name).count()
            };
            async move {
                if name == "a" && attempt < 3 {
                    Err(api_error(409, "Conflict"))
                } else {
                    Ok(attempt)
                }
            }
        }));
        assert_eq!(outcomes[0].attempts, 3);
        assert_eq!(*outcomes[0].result.as_ref().unwrap(), 3);
        assert_eq!(outcomes[1].attempts, 1);
    }

    #[test]
    fn a_conflict_that_persists_gives_up_after_the_last_attempt() {
        let calls = AtomicUsize::new(0);
        let outcomes = runtime().block_on(Bulk::new(2).with_attempts(3).run(["a"], |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err::<(), _>(api_error(409, "Conflict")) }
        }));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!(outcomes[0].attempts, 3);
        assert!(matches!(outcomes[0].result, Err(Error::Conflict { .. })));
    }

    #[test]
    fn already_exists_and_other_errors_are_not_retried() {
        let calls = AtomicUsize::new(0);
        let outcomes = runtime().block_on(Bulk::default().run([409_u16, 404, 500], |code| {
            calls.fetch_add(1, Ordering::SeqCst);
            let reason = match code {
                409 => "AlreadyExists",
                404 => "NotFound",
                _ => "InternalError",
            };
            async move { Err::<(), _>(api_error(code, reason)) }
        }));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert!(outcomes.iter().all(|o| o.attempts == 1));
    }

    #[test]
    fn no_items_no_outcomes() {
        let outcomes = runtime()
            .block_on(Bulk::new(0).run(Vec::<u8>::new(), |_| async { Ok::<_, Error>(()) }));
        assert!(outcomes.is_empty());
    }

    fn unreachable() -> Error {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let endpoint = crate::error::Endpoint {
            server: "https://127.0.0.1:1".to_owned(),
            context: "test".to_owned(),
        };
        Error::from_kube(
            kube::Error::Service(Box::new(refused)),
            Operation::new("apply", "cronjobs"),
            &endpoint,
        )
    }

    #[test]
    fn once_the_api_server_is_gone_no_further_write_is_started() {
        let calls = AtomicUsize::new(0);
        let outcomes = runtime().block_on(Bulk::new(1).run(0..10, |n| {
            calls.fetch_add(1, Ordering::SeqCst);
            async move { if n >= 4 { Err(unreachable()) } else { Ok(n) } }
        }));
        assert_eq!(calls.load(Ordering::SeqCst), 5, "items 5.. are not sent");
        assert!(matches!(outcomes[4].result, Err(Error::Unreachable { .. })));
        assert!(!outcomes[4].skipped());
        assert!(outcomes[5..].iter().all(Attempted::skipped));
        assert_eq!(outcomes.len(), 10);
        let done: Vec<Result<u64, Option<Error>>> =
            outcomes.into_iter().map(Attempted::done).collect();
        assert!(done[..4].iter().all(Result::is_ok), "done");
        assert!(matches!(done[4], Err(Some(_))), "failed");
        assert!(matches!(done[9], Err(None)), "not attempted");
    }

    #[test]
    fn what_was_not_done_is_counted_and_named_and_each_cause_told_once() {
        let failures = vec![
            ("ops/a".to_owned(), Some(unreachable())),
            ("ops/b".to_owned(), Some(unreachable())),
            ("ops/d".to_owned(), Some(api_error(403, "Forbidden"))),
        ];
        let causes = causes(&failures);
        let counts: Vec<usize> = causes.iter().map(|(_, count)| *count).collect();
        assert_eq!(counts.iter().sum::<usize>(), 3);
        assert_eq!(causes.len(), 2, "one line per distinct error");
        // Only items never attempted, so nothing is printed.
        let printer = Printer::with_terminals(false, false, true);
        let skipped = vec![("ops/c".to_owned(), None), ("ops/b".to_owned(), None)];
        let error = undone(printer, "suspend", "job(s)", 500, skipped);
        assert_eq!(
            error.to_string(),
            "could not suspend 2 of 500 job(s) (2 not attempted once the API server stopped answering): ops/b, ops/c"
        );
        assert_eq!(error.exit_status(), crate::ExitStatus::Failed);
        let error = undone(
            printer,
            "change",
            "node(s)",
            2,
            vec![("n1".to_owned(), None)],
        );
        assert!(
            error
                .to_string()
                .starts_with("could not change 1 of 2 node(s) (")
        );
    }
}
