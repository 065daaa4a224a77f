//! Waiting for a run to finish: `run-now --wait` and `--follow`.
//!
//! Someone who starts a run by hand wants to see it through: where its pod is, its logs
//! as they come, and an exit code that says whether the work succeeded. This module
//! watches the Job and its pods (by watch, never by polling), shows progress on stderr (a
//! spinner on a terminal, plain lines otherwise), streams logs to stdout, and turns the
//! end into an outcome: success, the work failed (exit 4), or kuul stopped waiting
//! (timeout, Ctrl-C, the Job deleted) while the run goes on.
//!
//! A wait can be long, and the API server may restart meanwhile (an upgrade), drop the
//! connection, or answer 410 Gone for an expired resource version. None of that ends the
//! wait: the watches resume with backoff ([`Backoff`]), a line on stderr says that kuul
//! is reconnecting ([`Reconnecting`], which `status --watch` uses too), and a log stream
//! that was cut is opened again from the time of its last line, skipping the lines
//! already printed ([`Position`]). Errors that no retry mends (403, a namespace that does
//! not exist) end the wait with the usual sentence.

use std::collections::HashSet;
use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::{AsyncBufReadExt, StreamExt, TryStreamExt, stream};
use indicatif::ProgressBar;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event as KubeEvent, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{ListParams, LogParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event, watcher};
use tokio::task::JoinSet;

use crate::blocked::{self, Blocker};
use crate::client::Cluster;
use crate::error::{Error, Operation};
use crate::printer::Printer;
use crate::retry::{Backoff, is_transient};
use crate::runs::{self, CONTROLLER_UID_LABEL, Finished, PodProgress, Stopping};

/// How long logs may keep arriving after the run has finished.
const LOG_GRACE: Duration = Duration::from_secs(10);
/// After the run has finished, a log stream this long without a line is taken as
/// complete: a kubelet closes a follow stream when the container exits, but not every
/// log server does.
const LOG_QUIET: Duration = Duration::from_secs(1);

/// What to do while waiting.
#[derive(Debug, Clone, Copy)]
pub struct WaitOptions {
    /// Stream the pods' logs to stdout.
    pub follow: bool,
    /// Stop waiting after this long.
    pub timeout: Option<Duration>,
    /// Stop waiting (exit 4) once the run has been unable to start this long.
    pub blocked_timeout: Option<Duration>,
}

/// Waits until `job` (as created) has finished; `Ok` if it succeeded.
///
/// Errors: [`Error::WorkFailed`] when the run failed, [`Error::Halted`] on timeout or
/// when the Job disappears, [`Error::Interrupted`] on Ctrl-C, and API errors.
pub async fn until_finished(
    cluster: &Cluster,
    job: &Job,
    options: WaitOptions,
    printer: Printer,
) -> Result<(), Error> {
    let run = Run {
        name: job.metadata.name.clone().unwrap_or_default(),
        uid: job.metadata.uid.clone().unwrap_or_default(),
        created: job
            .metadata
            .creation_timestamp
            .as_ref()
            .map(crate::time::utc),
        namespace: cluster.namespace().to_owned(),
        pod_selector: format!(
            "{CONTROLLER_UID_LABEL}={}",
            job.metadata.uid.as_deref().unwrap_or_default()
        ),
    };
    let progress = Progress::new(printer, &run.name, Reconnecting::new(cluster));
    let pods: Api<Pod> = Api::namespaced(cluster.client().clone(), &run.namespace);
    let mut logs = Logs::new(pods.clone(), progress.clone(), options.follow);
    let started = Instant::now();
    let watched = watch(cluster, &run, options, &progress, &mut logs).await;
    let outcome = match watched {
        Ok(outcome) => outcome,
        Err(error) => {
            progress.clear();
            return Err(error);
        }
    };

    // The pod watch may lag behind the Job's: read the pods once more, for their logs
    // and for what failed. The server that just answered the watch may be restarting:
    // this read is retried while it cannot be reached.
    let final_pods = final_pods(cluster, &pods, &run, &progress).await;
    let final_pods = match final_pods {
        Ok(pods) => pods,
        Err(error) => {
            progress.clear();
            return Err(error);
        }
    };
    for pod in &final_pods {
        logs.start_if_ready(pod);
    }
    logs.finish().await;
    progress.clear();
    let took = crate::time::elapsed(started.elapsed());
    match outcome {
        Finished::Succeeded => {
            printer.info(format_args!(
                "job.batch/{} succeeded after {took}",
                run.name
            ));
            Ok(())
        }
        Finished::Failed { reason, .. } => Err(Error::WorkFailed {
            message: runs::describe_failure(&run.name, reason.as_deref(), &final_pods),
        }),
    }
}

/// The run's pods as they are now, read again while the API server cannot be reached.
async fn final_pods(
    cluster: &Cluster,
    pods: &Api<Pod>,
    run: &Run,
    progress: &Progress,
) -> Result<Vec<Pod>, Error> {
    let mut backoff = Backoff::for_watches();
    loop {
        match pods
            .list(&ListParams::default().labels(&run.pod_selector))
            .await
        {
            Ok(list) => {
                progress.back();
                return Ok(list.items);
            }
            Err(source) => {
                let Some(cause) = outage(&source) else {
                    return Err(cluster.error(
                        Operation::new("list", "pods").in_namespace(&run.namespace),
                        source,
                    ));
                };
                progress.lost(&cause);
                tokio::time::sleep(backoff.step()).await;
            }
        }
    }
}

/// The run being waited for.
struct Run {
    name: String,
    uid: String,
    created: Option<chrono::DateTime<Utc>>,
    namespace: String,
    /// Selects the Job's pods by its uid, which a later Job of the same name lacks.
    pod_selector: String,
}

impl Run {
    fn stop_hint(&self) -> String {
        let Self {
            name, namespace, ..
        } = self;
        format!(
            "it keeps running: `kubectl get job -n {namespace} {name} -w` follows it, `kubectl delete job -n {namespace} {name}` stops it"
        )
    }

    fn blocked_hint(&self) -> String {
        let Self {
            name, namespace, ..
        } = self;
        format!(
            "the run is left as it is: fix the cause and it starts; `kubectl delete job -n {namespace} {name}` deletes it"
        )
    }

    /// How long the run has existed: a run found blocked has been so since about then.
    fn age(&self) -> Duration {
        self.created
            .and_then(|created| (Utc::now() - created).to_std().ok())
            .unwrap_or_default()
    }
}

/// What keeps the run from starting, as far as the watches have told.
#[derive(Default)]
struct Blocking {
    /// The newest pod's blocker, by pod name; a pod that is on its way has `None`.
    pods: std::collections::BTreeMap<String, (Option<chrono::DateTime<Utc>>, Option<Blocker>)>,
    /// The Job's newest `FailedCreate` event, which matters while it has no pod.
    failed_create: Option<Blocker>,
    /// Since when the run has been blocked without a break.
    since: Option<Instant>,
    /// Causes already printed, so that a pull flapping between `ErrImagePull` and
    /// `ImagePullBackOff` is reported once.
    told: HashSet<String>,
}

impl Blocking {
    fn pod_seen(&mut self, pod: &Pod) {
        let created = pod
            .metadata
            .creation_timestamp
            .as_ref()
            .map(crate::time::utc);
        self.pods.insert(
            pod.metadata.name.clone().unwrap_or_default(),
            (created, Blocker::of_pod(pod)),
        );
    }

    fn event_seen(&mut self, event: &KubeEvent) {
        if let Some(blocker) = Blocker::of_event(event) {
            blocked::keep_newest(&mut self.failed_create, blocker);
        }
    }

    fn current(&self) -> Option<&Blocker> {
        match self.pods.values().max_by_key(|(created, _)| *created) {
            Some((_, blocker)) => blocker.as_ref(),
            None => self.failed_create.as_ref(),
        }
    }

    /// Takes in what changed; returns the cause to print when it is news.
    fn update(&mut self, run: &Run, limit: Option<Duration>) -> Option<String> {
        let Some(blocker) = self.current() else {
            self.since = None;
            return None;
        };
        let cause = blocker.cause();
        if self.since.is_none() {
            // A run found blocked (logs -f on an old run) has been so since it was
            // made; never count more than the limit, so it is reported at once.
            let already = run.age().min(limit.unwrap_or_default());
            let now = Instant::now();
            self.since = Some(now.checked_sub(already).unwrap_or(now));
        }
        self.told.insert(cause.clone()).then_some(cause)
    }
}

/// Watches the Job and its pods until the Job finishes, showing progress and starting
/// log streams on the way.
async fn watch(
    cluster: &Cluster,
    run: &Run,
    options: WaitOptions,
    progress: &Progress,
    logs: &mut Logs,
) -> Result<Finished, Error> {
    // Boxed: three watchers make a large future.
    let mut events = Box::pin(watches(cluster, run));
    let timeout = options.timeout;
    let mut deadline = pin!(async {
        match timeout {
            Some(limit) => tokio::time::sleep(limit).await,
            None => std::future::pending().await,
        }
    });
    let mut interrupted = pin!(tokio::signal::ctrl_c());
    let name = &run.name;
    let mut waiting = Waiting {
        run,
        blocking: Blocking::default(),
        blocked_timeout: options.blocked_timeout,
        events_unreadable: false,
    };
    loop {
        let blocked_until = waiting
            .blocking
            .since
            .zip(options.blocked_timeout)
            .map(|(since, limit)| since + limit);
        let blocked_for_too_long = async {
            match blocked_until {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(seen)) => {
                    progress.back();
                    if let Seen::Pod(event) = &seen
                        && let Event::Apply(pod) | Event::InitApply(pod) = event.as_ref()
                    {
                        progress.show(&PodProgress::of(pod));
                        logs.start_if_ready(pod);
                    }
                    match waiting.take(seen) {
                        Next::Wait => {}
                        Next::Finished(finished) => return Ok(finished),
                        Next::Stop(error) => return Err(error),
                        Next::Tell(cause) => {
                            progress.warn(&format!("job.batch/{name} cannot start: {cause}"));
                        }
                        Next::EventsUnreadable(error) => {
                            let error = failure(cluster, watch_operation(&run.namespace), *error);
                            progress.warn(&format!(
                                "{error}; if the Job cannot create its pod, kuul cannot say why"
                            ));
                        }
                    }
                }
                Some(Err(error)) => match interruption(&error) {
                    Some(Interruption::Outage(cause)) => progress.lost(&cause),
                    Some(Interruption::Routine) => {}
                    None => {
                        return Err(failure(cluster, watch_operation(&run.namespace), error));
                    }
                },
                None => {
                    return Err(Error::Halted {
                        message: format!("the watch of job.batch/{name} ended before it finished"),
                        hint: Some(run.stop_hint()),
                    });
                }
            },
            () = blocked_for_too_long => return Err(waiting.blocked()),
            () = &mut deadline => {
                let limit = timeout.map(crate::time::elapsed).unwrap_or_default();
                return Err(Error::Halted {
                    message: format!("job.batch/{name} did not finish within {limit}"),
                    hint: Some(run.stop_hint()),
                });
            }
            _ = &mut interrupted => {
                return Err(Error::Interrupted {
                    message: format!("stopped waiting for job.batch/{name}"),
                    hint: run.stop_hint(),
                });
            }
        }
    }
}

/// Waits until the Job controller has failed each of `runs` (namespace and Job name),
/// which were just asked to stop: by one watch per Job, never by polling, for at most
/// `limit`. Returns where each run is, in the order of `runs`: [`Stopping::Pending`] for
/// those the controller has not acted on in time, [`Stopping::Terminating`] for those
/// whose pods were still terminating then. Outages of the API server are ridden out (said once on
/// stderr) until the limit; an error no retry mends (403) ends the wait.
pub async fn until_stopped(
    cluster: &Cluster,
    runs: &[(String, String)],
    limit: Duration,
    printer: Printer,
) -> Result<Vec<Stopping>, Error> {
    let mut states = vec![Stopping::Pending; runs.len()];
    if runs.is_empty() {
        return Ok(states);
    }
    let client = cluster.client().clone();
    let watches = runs.iter().enumerate().map(|(at, (namespace, name))| {
        watcher(
            Api::<Job>::namespaced(client.clone(), namespace),
            watcher::Config::default().fields(&format!("metadata.name={name}")),
        )
        .backoff(Backoff::for_watches())
        .map_ok(move |event| (at, event))
        .boxed()
    });
    let mut events = stream::select_all(watches);
    let deadline = tokio::time::sleep(limit);
    let mut deadline = pin!(deadline);
    let mut reconnecting = Reconnecting::new(cluster);
    let mut pending = runs.len();
    while pending > 0 {
        tokio::select! {
            event = events.next() => match event {
                Some(Ok((at, event))) => {
                    if let Some(line) = reconnecting.back() {
                        printer.info(line);
                    }
                    let seen = match event {
                        Event::Apply(job) | Event::InitApply(job) => runs::stopping(&job),
                        Event::Delete(_) => Stopping::Gone,
                        Event::Init | Event::InitDone => continue,
                    };
                    let waiting = |state| matches!(state, Stopping::Pending | Stopping::Terminating);
                    if waiting(states[at]) {
                        if !waiting(seen) {
                            pending -= 1;
                        }
                        states[at] = seen;
                    }
                }
                Some(Err(error)) => match interruption(&error) {
                    Some(Interruption::Outage(cause)) => {
                        if let Some(line) = reconnecting.lost(&cause) {
                            printer.warn(line);
                        }
                    }
                    Some(Interruption::Routine) => {}
                    None => {
                        let operation = Operation::new("watch", "jobs");
                        return Err(failure(cluster, operation, error));
                    }
                },
                None => break,
            },
            () = &mut deadline => break,
        }
    }
    Ok(states)
}

/// The Job, its pods and its `FailedCreate` events, as one stream.
fn watches(
    cluster: &Cluster,
    run: &Run,
) -> impl futures_util::Stream<Item = Result<Seen, watcher::Error>> + Send + 'static {
    let client = cluster.client().clone();
    let job_events = watcher(
        Api::<Job>::namespaced(client.clone(), &run.namespace),
        watcher::Config::default().fields(&format!("metadata.name={}", run.name)),
    )
    .backoff(Backoff::for_watches())
    .map_ok(|event| Seen::Job(Box::new(event)));
    let pod_events = watcher(
        Api::<Pod>::namespaced(client.clone(), &run.namespace),
        watcher::Config::default().labels(&run.pod_selector),
    )
    .backoff(Backoff::for_watches())
    .map_ok(|event| Seen::Pod(Box::new(event)));
    // Why the Job has no pod, when it has none: its FailedCreate events. Reading them
    // is a help, not a need: an error here (other than an outage, which all the watches
    // ride out) is told once and the wait goes on.
    let create_events = watcher(
        Api::<KubeEvent>::namespaced(client, &run.namespace),
        watcher::Config::default().fields(&format!(
            "{},involvedObject.uid={}",
            blocked::failed_create_selector(),
            run.uid
        )),
    )
    .backoff(Backoff::for_watches())
    .map(|event| match event {
        Ok(event) => Ok(Seen::FailedCreate(Box::new(event))),
        Err(error) if interruption(&error).is_some() => Err(error),
        Err(error) => Ok(Seen::EventsUnreadable(Box::new(error))),
    });
    stream::select(stream::select(job_events, pod_events), create_events)
}

/// What the wait knows between events: the state machine of a wait, apart from the
/// watches, the progress display and the log streams, so that it can be unit-tested.
struct Waiting<'a> {
    run: &'a Run,
    blocking: Blocking,
    blocked_timeout: Option<Duration>,
    events_unreadable: bool,
}

/// What one event means for the wait.
enum Next {
    /// Nothing to do but wait on.
    Wait,
    /// The Job has finished.
    Finished(Finished),
    /// The wait ends without an outcome (the Job was deleted).
    Stop(Error),
    /// The run cannot start, for a cause not told before.
    Tell(String),
    /// The events cannot be read, said once; the wait goes on without them.
    EventsUnreadable(Box<watcher::Error>),
}

impl Waiting<'_> {
    /// Takes in one event.
    fn take(&mut self, seen: Seen) -> Next {
        match seen {
            Seen::Job(event) => match *event {
                Event::Apply(job) | Event::InitApply(job) => {
                    if let Some(finished) = runs::finished(&job) {
                        return Next::Finished(finished);
                    }
                }
                Event::Delete(_) => {
                    return Next::Stop(Error::Halted {
                        message: format!(
                            "job.batch/{} was deleted before it finished",
                            self.run.name
                        ),
                        hint: None,
                    });
                }
                Event::Init | Event::InitDone => {}
            },
            Seen::Pod(event) => match *event {
                Event::Apply(pod) | Event::InitApply(pod) => self.blocking.pod_seen(&pod),
                Event::Delete(pod) => {
                    let name = pod.metadata.name.unwrap_or_default();
                    self.blocking.pods.remove(&name);
                }
                Event::Init | Event::InitDone => {}
            },
            Seen::FailedCreate(event) => {
                if let Event::Apply(event) | Event::InitApply(event) = *event {
                    self.blocking.event_seen(&event);
                }
            }
            Seen::EventsUnreadable(error) => {
                if self.events_unreadable {
                    return Next::Wait;
                }
                self.events_unreadable = true;
                return Next::EventsUnreadable(error);
            }
        }
        match self.blocking.update(self.run, self.blocked_timeout) {
            Some(cause) => Next::Tell(cause),
            None => Next::Wait,
        }
    }

    /// The end of a wait for a run that stayed blocked past the blocked timeout.
    fn blocked(&self) -> Error {
        let cause = self
            .blocking
            .current()
            .map(Blocker::cause)
            .unwrap_or_default();
        let took = self
            .blocking
            .since
            .map(|since| crate::time::elapsed(since.elapsed()))
            .unwrap_or_default();
        Error::Blocked {
            message: format!(
                "job.batch/{} cannot start (for {took}): {cause}",
                self.run.name
            ),
            hint: self.run.blocked_hint(),
        }
    }
}

/// An event of one of the watches.
enum Seen {
    Job(Box<Event<Job>>),
    Pod(Box<Event<Pod>>),
    FailedCreate(Box<Event<KubeEvent>>),
    /// The events cannot be read (RBAC without events); the wait goes on without them.
    EventsUnreadable(Box<watcher::Error>),
}

/// How a watch error is taken when the watch goes on by itself.
#[derive(Debug, PartialEq, Eq)]
pub enum Interruption {
    /// Routine, so not told: 410 Gone (the resource version the watch resumed from has
    /// expired, as after most restarts; the watcher lists again at once), or a watch that
    /// was quiet for longer than `--request-timeout` (it is opened again).
    Routine,
    /// The API server cannot be reached, or answers 429 or 5xx, for now: the watch
    /// resumes with backoff, and [`Reconnecting`] says so once. Holds the cause in a few
    /// words.
    Outage(String),
}

/// What a watch error means: an [`Interruption`] the watch recovers from, or `None` for
/// an error that ends it (403, 404 of the namespace, 401, an answer kuul cannot read).
pub fn interruption(error: &watcher::Error) -> Option<Interruption> {
    match error {
        watcher::Error::WatchError(status) if status.code == 410 => Some(Interruption::Routine),
        watcher::Error::WatchFailed(source) if timed_out(source) => Some(Interruption::Routine),
        watcher::Error::WatchError(status) => {
            is_transient(status.code).then(|| Interruption::Outage(status_cause(status)))
        }
        watcher::Error::InitialListFailed(source)
        | watcher::Error::WatchStartFailed(source)
        | watcher::Error::WatchFailed(source) => match source {
            kube::Error::Api(status) if status.code == 410 => Some(Interruption::Routine),
            source => outage(source).map(Interruption::Outage),
        },
        watcher::Error::NoResourceVersion => None,
    }
}

/// The cause, in a few words, when a request failed because the API server cannot be
/// reached or is overloaded for now: worth trying again after a pause.
pub fn outage(error: &kube::Error) -> Option<String> {
    match error {
        kube::Error::Api(status) => is_transient(status.code).then(|| status_cause(status)),
        kube::Error::HyperError(_) | kube::Error::Service(_) => {
            let mut cause: &(dyn std::error::Error + 'static) = error;
            let mut io = None;
            while let Some(next) = cause.source() {
                // Credentials that cannot be had do not come back by waiting.
                if next.is::<kube::client::AuthError>() {
                    return None;
                }
                if let Some(found) = next.downcast_ref::<std::io::Error>() {
                    io = Some(found);
                }
                cause = next;
            }
            Some(match io {
                // rustls words a connection cut without TLS close_notify with a link.
                Some(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                    "connection closed".to_owned()
                }
                Some(io) => crate::error::io_cause(io),
                None => cause.to_string(),
            })
        }
        _ => None,
    }
}

/// Whether `error` is, at its root, a read that timed out (`--request-timeout`).
fn timed_out(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(io) = error.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::TimedOut
        {
            return true;
        }
        current = error.source();
    }
    false
}

fn status_cause(status: &kube::core::Status) -> String {
    if status.message.is_empty() {
        format!("{} {}", status.code, status.reason)
    } else {
        format!("{} {}", status.code, status.message)
    }
}

/// The operation a failed watch of the run names.
fn watch_operation(namespace: &str) -> Operation {
    Operation::new("watch", "jobs and pods").in_namespace(namespace)
}

/// A watch error that ends a watch, as the error the command reports.
pub fn failure(cluster: &Cluster, operation: Operation, error: watcher::Error) -> Error {
    match error {
        watcher::Error::InitialListFailed(source)
        | watcher::Error::WatchStartFailed(source)
        | watcher::Error::WatchFailed(source) => cluster.error(operation, source),
        watcher::Error::WatchError(status) => cluster.error(operation, kube::Error::Api(status)),
        watcher::Error::NoResourceVersion => Error::Halted {
            message: format!(
                "cannot {operation}: the API server sent a watch event without a resourceVersion"
            ),
            hint: None,
        },
    }
}

/// Says once per outage that the watches are reconnecting, and when they are back.
pub struct Reconnecting {
    server: String,
    since: Option<Instant>,
}

impl Reconnecting {
    /// For the watches of `cluster`.
    pub fn new(cluster: &Cluster) -> Self {
        Self {
            server: cluster.endpoint().server.clone(),
            since: None,
        }
    }

    /// A watch or read failed for `cause`: the line to print, the first time in an outage.
    pub fn lost(&mut self, cause: &str) -> Option<String> {
        if self.since.is_some() {
            return None;
        }
        self.since = Some(Instant::now());
        Some(format!(
            "reconnecting to the API server at {} ({cause}) ...",
            self.server
        ))
    }

    /// An event arrived: when it ends an outage, the line that says so.
    pub fn back(&mut self) -> Option<String> {
        let since = self.since.take()?;
        Some(format!(
            "reconnected to the API server after {}",
            crate::time::elapsed_tenths(since.elapsed())
        ))
    }
}

/// Progress on stderr: a spinner with the pod's phase, node and the elapsed time on a
/// terminal; otherwise a line each time the pod's state changes.
#[derive(Clone)]
struct Progress {
    printer: Printer,
    spinner: Option<ProgressBar>,
    last: Arc<Mutex<Option<String>>>,
    /// One outage of the API server for the watches and the log streams alike.
    reconnecting: Arc<Mutex<Reconnecting>>,
}

impl Progress {
    fn new(printer: Printer, job: &str, reconnecting: Reconnecting) -> Self {
        let spinner = printer.spinner(
            "{spinner} {msg} ({elapsed})",
            format!("job.batch/{job}: waiting for its pod"),
        );
        if spinner.is_none() {
            printer.info(format_args!("waiting for job.batch/{job} to finish"));
        }
        Self {
            printer,
            spinner,
            last: Arc::default(),
            reconnecting: Arc::new(Mutex::new(reconnecting)),
        }
    }

    /// A watch or a log stream lost the API server for `cause`: said once an outage.
    fn lost(&self, cause: &str) {
        let line = self
            .reconnecting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .lost(cause);
        if let Some(line) = line {
            self.warn(&line);
        }
    }

    /// A watch or a log stream has the API server again.
    fn back(&self) {
        let line = self
            .reconnecting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .back();
        if let Some(line) = line {
            self.info(&line);
        }
    }

    fn show(&self, pod: &PodProgress) {
        let line = pod.line();
        if let Some(spinner) = &self.spinner {
            spinner.set_message(line);
            return;
        }
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if last.as_deref() != Some(line.as_str()) {
            self.printer.info(&line);
            *last = Some(line);
        }
    }

    /// Writes a line of data to stdout without tearing the spinner.
    fn data_line(&self, line: &str) -> Result<(), Error> {
        match &self.spinner {
            Some(spinner) => spinner.suspend(|| self.printer.line(line)),
            None => self.printer.line(line),
        }
    }

    fn warn(&self, message: &str) {
        match &self.spinner {
            Some(spinner) => spinner.suspend(|| self.printer.warn(message)),
            None => self.printer.warn(message),
        }
    }

    fn info(&self, message: &str) {
        match &self.spinner {
            Some(spinner) => spinner.suspend(|| self.printer.info(message)),
            None => self.printer.info(message),
        }
    }

    fn clear(&self) {
        if let Some(spinner) = &self.spinner {
            spinner.finish_and_clear();
        }
    }
}

/// The logs of each of the run's pods, streamed once each as soon as it has started.
struct Logs {
    pods: Api<Pod>,
    progress: Progress,
    enabled: bool,
    started: HashSet<String>,
    streams: JoinSet<()>,
    last_line: Arc<Mutex<Instant>>,
}

impl Logs {
    fn new(pods: Api<Pod>, progress: Progress, enabled: bool) -> Self {
        Self {
            pods,
            progress,
            enabled,
            started: HashSet::new(),
            streams: JoinSet::new(),
            last_line: Arc::new(Mutex::new(Instant::now())),
        }
    }

    fn start_if_ready(&mut self, pod: &Pod) {
        let Some(name) = pod.metadata.name.clone() else {
            return;
        };
        if !self.enabled || !runs::has_logs(pod) || self.started.contains(&name) {
            return;
        }
        self.started.insert(name.clone());
        let log = PodLog {
            pods: self.pods.clone(),
            container: runs::log_container(pod),
            follow: !finished(pod),
            progress: self.progress.clone(),
            last_line: Arc::clone(&self.last_line),
            position: Position::default(),
            name,
        };
        self.streams.spawn(log.stream());
    }

    /// Lets the streams deliver what is left: until they end, fall quiet, or the grace
    /// period is over.
    async fn finish(mut self) {
        let finished = Instant::now();
        loop {
            let last_line = *self
                .last_line
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let quiet = last_line.max(finished).elapsed();
            if quiet >= LOG_QUIET {
                break;
            }
            if finished.elapsed() >= LOG_GRACE {
                self.progress.warn(&format!(
                    "stopped streaming logs {} after the run finished",
                    crate::time::elapsed(LOG_GRACE)
                ));
                break;
            }
            let wait = LOG_QUIET.saturating_sub(quiet);
            if let Ok(None) = tokio::time::timeout(wait, self.streams.join_next()).await {
                return;
            }
        }
        self.streams.abort_all();
    }
}

/// Whether the pod's containers have ended, so that its log is complete.
fn finished(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    matches!(phase, Some("Succeeded" | "Failed"))
}

/// One pod's log, streamed to stdout until it is complete, opened again from where it
/// was cut when the connection drops.
struct PodLog {
    pods: Api<Pod>,
    name: String,
    container: Option<String>,
    /// Whether the pod still runs, so that its log is followed as it grows.
    follow: bool,
    progress: Progress,
    last_line: Arc<Mutex<Instant>>,
    position: Position,
}

/// How one attempt at reading a log ended.
enum Cut {
    /// The API server could not be reached, or the connection dropped: try again.
    Lost(String),
    /// Nothing came for longer than `--request-timeout`: open it again, untold.
    Quiet,
    /// An error no retry mends (the pod is gone, the log cannot be read).
    Failed(String),
    /// stdout is closed: nobody reads any more.
    Closed,
}

impl PodLog {
    /// Streams the log until it is complete; says why when it cannot.
    async fn stream(mut self) {
        let mut backoff = Backoff::for_watches();
        loop {
            let read = self.read().await;
            match read {
                Ok(()) if !self.follow => return,
                // A follow stream the kubelet closed because the container ended, or one
                // a server going away closed (the pod says which), or one quiet for longer
                // than the request timeout: opened again, untold.
                Ok(()) | Err(Cut::Quiet) => {}
                Err(Cut::Lost(cause)) => self.progress.lost(&cause),
                Err(Cut::Failed(error)) => {
                    self.progress.warn(&format!(
                        "cannot stream the logs of pod {}: {error}",
                        self.name
                    ));
                    return;
                }
                Err(Cut::Closed) => return,
            }
            tokio::time::sleep(backoff.step()).await;
            match self.pods.get(&self.name).await {
                // The rest of a finished pod's log is read once more, whole.
                Ok(pod) => self.follow = !finished(&pod),
                Err(error) => {
                    if let Some(cause) = outage(&error) {
                        self.progress.lost(&cause);
                        continue;
                    }
                    self.progress.warn(&format!(
                        "cannot stream the logs of pod {}: {error}",
                        self.name
                    ));
                    return;
                }
            }
            self.progress.back();
            kube::runtime::utils::Backoff::reset(&mut backoff);
        }
    }

    /// One request for the log, from where the last one got to, printing the lines not
    /// printed before.
    async fn read(&mut self) -> Result<(), Cut> {
        let params = LogParams {
            container: self.container.clone(),
            follow: self.follow,
            timestamps: true,
            since_time: self.position.resume(),
            ..LogParams::default()
        };
        let stream = self.pods.log_stream(&self.name, &params).await;
        let mut lines = match stream {
            Ok(stream) => stream.lines(),
            Err(error) => {
                return Err(match outage(&error) {
                    Some(cause) => Cut::Lost(cause),
                    None => Cut::Failed(error.to_string()),
                });
            }
        };
        while let Some(line) = lines.next().await {
            let line = line.map_err(|error| {
                if timed_out(&error) {
                    Cut::Quiet
                } else {
                    Cut::Lost(crate::error::io_cause(&error))
                }
            })?;
            if let Some(text) = self.position.take(&line) {
                if self.progress.data_line(text).is_err() {
                    return Err(Cut::Closed);
                }
                *self
                    .last_line
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Instant::now();
            }
        }
        Ok(())
    }
}

/// Where a log got to, so that a log opened again prints no line twice. Lines come with
/// the time the container wrote them (`timestamps=true`); a log is opened again from the
/// second of the last line printed (the API takes whole seconds), and of the lines it
/// sends again, those older than the last one printed and the first as many of its time
/// as were printed are skipped.
#[derive(Debug, Default)]
struct Position {
    /// The time of the last line printed.
    last: Option<Timestamp>,
    /// How many lines with exactly that time were printed.
    at_last: usize,
    /// How many lines with exactly that time are still to be skipped in this read.
    skip: usize,
}

impl Position {
    /// The `sinceTime` to open the log with: nothing the first time, then the second of
    /// the last line printed. Also starts skipping what that read sends again.
    fn resume(&mut self) -> Option<Timestamp> {
        let last = self.last?;
        self.skip = self.at_last;
        Timestamp::from_second(last.as_second()).ok()
    }

    /// The text of `line` (`TIME TEXT`) to print, or `None` when it was printed before.
    fn take<'a>(&mut self, line: &'a str) -> Option<&'a str> {
        let Some((time, text)) = line
            .split_once(' ')
            .and_then(|(time, text)| Some((time.parse::<Timestamp>().ok()?, text)))
        else {
            // Without a time (which the API always sends) the line cannot be placed.
            return Some(line);
        };
        match self.last {
            Some(last) if time < last => None,
            Some(last) if time == last && self.skip > 0 => {
                self.skip -= 1;
                None
            }
            Some(last) if time == last => {
                self.at_last += 1;
                Some(text)
            }
            _ => {
                self.last = Some(time);
                self.at_last = 1;
                self.skip = 0;
                Some(text)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(created: Option<chrono::DateTime<Utc>>) -> Run {
        Run {
            name: "backup-manual-x".to_owned(),
            uid: "uid".to_owned(),
            created,
            namespace: "ops".to_owned(),
            pod_selector: String::new(),
        }
    }

    fn pod(name: &str, waiting: Option<&str>) -> Pod {
        let state = match waiting {
            Some(reason) => json!({ "waiting": {
                "reason": reason, "message": "failed to resolve image: x: not found"
            }}),
            None => json!({ "running": {} }),
        };
        serde_json::from_value(json!({
            "metadata": { "name": name, "creationTimestamp": "2026-03-02T07:00:00Z" },
            "status": {
                "phase": if waiting.is_some() { "Pending" } else { "Running" },
                "containerStatuses": [{
                    "name": "work", "image": "registry.local/backup:v9", "imageID": "",
                    "ready": false, "restartCount": 0, "state": state
                }]
            }
        }))
        .unwrap()
    }

    #[test]
    fn a_flapping_pull_is_told_once_and_a_running_pod_ends_the_block() {
        let run = run(None);
        let limit = Some(Duration::from_secs(120));
        let mut blocking = Blocking::default();
        blocking.pod_seen(&pod("p", Some("ErrImagePull")));
        let told = blocking.update(&run, limit).unwrap();
        assert_eq!(
            told,
            "image registry.local/backup:v9 cannot be pulled (ErrImagePull: not found)"
        );
        let since = blocking.since.unwrap();
        blocking.pod_seen(&pod("p", Some("ImagePullBackOff")));
        assert!(
            blocking.update(&run, limit).is_some(),
            "a new cause is told"
        );
        blocking.pod_seen(&pod("p", Some("ErrImagePull")));
        assert_eq!(blocking.update(&run, limit), None, "told before");
        assert_eq!(blocking.since, Some(since), "still the same block");
        blocking.pod_seen(&pod("p", None));
        assert_eq!(blocking.update(&run, limit), None);
        assert_eq!(blocking.since, None, "the pod runs");
    }

    #[test]
    fn failed_creates_count_only_while_the_job_has_no_pod() {
        let event: KubeEvent = serde_json::from_value(json!({
            "metadata": { "name": "e" },
            "involvedObject": { "kind": "Job", "uid": "uid" },
            "reason": "FailedCreate",
            "message": "Error creating: pods \"x\" is forbidden: exceeded quota: q"
        }))
        .unwrap();
        // A run made long ago is reported as blocked for that long, up to the limit.
        let old = run(Some(Utc::now() - chrono::TimeDelta::minutes(10)));
        let limit = Some(Duration::from_secs(120));
        let mut blocking = Blocking::default();
        blocking.event_seen(&event);
        assert!(
            blocking
                .update(&old, limit)
                .unwrap()
                .contains("exceeded quota: q")
        );
        assert!(blocking.since.unwrap().elapsed() >= Duration::from_secs(119));
        blocking.pod_seen(&pod("p", None));
        assert_eq!(blocking.update(&old, limit), None);
        assert_eq!(blocking.since, None, "a pod exists and runs");
    }

    fn job(condition: Option<&str>) -> Event<Job> {
        let conditions = condition.map_or_else(Vec::new, |type_| {
            vec![json!({ "type": type_, "status": "True", "reason": "BackoffLimitExceeded" })]
        });
        Event::Apply(
            serde_json::from_value(json!({
                "metadata": { "name": "backup-manual-x" },
                "status": { "conditions": conditions }
            }))
            .unwrap(),
        )
    }

    fn seen_pod(event: Event<Pod>) -> Seen {
        Seen::Pod(Box::new(event))
    }

    fn waiting(run: &Run) -> Waiting<'_> {
        Waiting {
            run,
            blocking: Blocking::default(),
            blocked_timeout: Some(Duration::from_secs(120)),
            events_unreadable: false,
        }
    }

    #[test]
    fn a_wait_ends_when_the_job_finishes_either_way() {
        let run = run(None);
        let mut wait = waiting(&run);
        assert!(matches!(
            wait.take(Seen::Job(Box::new(job(None)))),
            Next::Wait
        ));
        assert!(matches!(
            wait.take(Seen::Job(Box::new(job(Some("Complete"))))),
            Next::Finished(Finished::Succeeded)
        ));
        let mut wait = waiting(&run);
        assert!(matches!(
            wait.take(Seen::Job(Box::new(job(Some("Failed"))))),
            Next::Finished(Finished::Failed { reason: Some(reason), .. })
                if reason == "BackoffLimitExceeded"
        ));
    }

    #[test]
    fn a_deleted_job_stops_the_wait_with_a_sentence() {
        let run = run(None);
        let mut wait = waiting(&run);
        let Event::Apply(deleted) = job(None) else {
            unreachable!()
        };
        match wait.take(Seen::Job(Box::new(Event::Delete(deleted)))) {
            Next::Stop(error) => assert_eq!(
                error.to_string(),
                "job.batch/backup-manual-x was deleted before it finished"
            ),
            _ => panic!("a deleted Job ends the wait"),
        }
    }

    #[test]
    fn a_blocked_pod_is_told_once_until_it_goes_away() {
        let run = run(None);
        let mut wait = waiting(&run);
        let blocked = pod("p", Some("ErrImagePull"));
        assert!(
            matches!(wait.take(seen_pod(Event::Apply(blocked.clone()))), Next::Tell(cause) if cause.contains("cannot be pulled"))
        );
        assert!(matches!(
            wait.take(seen_pod(Event::Apply(blocked.clone()))),
            Next::Wait
        ));
        assert!(wait.blocking.since.is_some());
        let error = wait.blocked();
        assert!(
            error
                .to_string()
                .starts_with("job.batch/backup-manual-x cannot start (for "),
            "{error}"
        );
        assert_eq!(error.exit_status(), crate::ExitStatus::WorkFailed);
        // The pod is deleted (the Job makes another): nothing blocks any more.
        assert!(matches!(
            wait.take(seen_pod(Event::Delete(blocked))),
            Next::Wait
        ));
        assert_eq!(wait.blocking.since, None);
    }

    #[test]
    fn unreadable_events_are_said_once_and_the_wait_goes_on() {
        let run = run(None);
        let mut wait = waiting(&run);
        let unreadable = || Seen::EventsUnreadable(Box::new(watcher::Error::NoResourceVersion));
        assert!(matches!(wait.take(unreadable()), Next::EventsUnreadable(_)));
        assert!(matches!(wait.take(unreadable()), Next::Wait));
        assert!(matches!(
            wait.take(Seen::Job(Box::new(job(None)))),
            Next::Wait
        ));
    }

    fn status(code: u16, reason: &str) -> Box<kube::core::Status> {
        kube::core::Status::failure("the server says so", reason)
            .with_code(code)
            .boxed()
    }

    #[test]
    fn outages_and_410_are_ridden_out_but_403_and_404_end_the_watch() {
        let refused = || {
            kube::Error::Service(Box::new(std::io::Error::from(
                std::io::ErrorKind::ConnectionRefused,
            )))
        };
        assert_eq!(
            interruption(&watcher::Error::WatchStartFailed(refused())),
            Some(Interruption::Outage("connection refused".to_owned()))
        );
        assert_eq!(
            interruption(&watcher::Error::WatchFailed(refused())),
            Some(Interruption::Outage("connection refused".to_owned()))
        );
        let cut = kube::Error::Service(Box::new(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "peer closed connection without sending TLS close_notify: https://docs.rs/rustls",
        )));
        assert_eq!(
            outage(&cut).as_deref(),
            Some("connection closed"),
            "no link in a one-line message"
        );
        assert_eq!(
            interruption(&watcher::Error::WatchError(status(410, "Expired"))),
            Some(Interruption::Routine)
        );
        let quiet =
            kube::Error::Service(Box::new(std::io::Error::from(std::io::ErrorKind::TimedOut)));
        assert_eq!(
            interruption(&watcher::Error::WatchFailed(quiet)),
            Some(Interruption::Routine),
            "a watch quiet for longer than the request timeout is opened again, untold"
        );
        assert_eq!(
            interruption(&watcher::Error::InitialListFailed(kube::Error::Api(
                status(503, "ServiceUnavailable")
            ))),
            Some(Interruption::Outage("503 the server says so".to_owned()))
        );
        assert!(matches!(
            interruption(&watcher::Error::WatchError(status(429, "TooManyRequests"))),
            Some(Interruption::Outage(_))
        ));
        for code in [401, 403, 404] {
            let error = watcher::Error::InitialListFailed(kube::Error::Api(status(code, "No")));
            assert_eq!(interruption(&error), None, "{code}");
        }
        assert_eq!(interruption(&watcher::Error::NoResourceVersion), None);
    }

    #[test]
    fn an_outage_is_told_once_and_its_end_once() {
        let mut reconnecting = Reconnecting {
            server: "https://127.0.0.1:16444".to_owned(),
            since: None,
        };
        assert_eq!(reconnecting.back(), None, "nothing was lost");
        assert_eq!(
            reconnecting.lost("connection refused").as_deref(),
            Some(
                "reconnecting to the API server at https://127.0.0.1:16444 (connection refused) ..."
            )
        );
        assert_eq!(reconnecting.lost("connection refused"), None);
        assert!(
            reconnecting
                .back()
                .unwrap()
                .starts_with("reconnected to the API server after ")
        );
        assert_eq!(reconnecting.back(), None);
        assert!(reconnecting.lost("503 the server says so").is_some());
    }

    #[test]
    fn a_log_opened_again_prints_no_line_twice_and_loses_none() {
        let mut position = Position::default();
        assert_eq!(
            position.resume(),
            None,
            "the first read starts at the beginning"
        );
        let first = [
            "2026-03-02T07:00:00.100000000Z one",
            "2026-03-02T07:00:01.200000000Z earlier in the second",
            "2026-03-02T07:00:01.500000000Z two",
            "2026-03-02T07:00:01.500000000Z two again",
        ];
        let printed: Vec<&str> = first.iter().filter_map(|l| position.take(l)).collect();
        assert_eq!(
            printed,
            ["one", "earlier in the second", "two", "two again"]
        );
        // Cut here; the log is opened again from the second of the last line.
        assert_eq!(
            position.resume(),
            Some("2026-03-02T07:00:01Z".parse().unwrap())
        );
        let again = [
            "2026-03-02T07:00:01.200000000Z earlier in the second",
            "2026-03-02T07:00:01.500000000Z two",
            "2026-03-02T07:00:01.500000000Z two again",
            "2026-03-02T07:00:01.500000000Z a third at the same time",
            "2026-03-02T07:00:02.000000000Z three",
        ];
        let printed: Vec<&str> = again.iter().filter_map(|l| position.take(l)).collect();
        assert_eq!(printed, ["a third at the same time", "three"]);
        assert_eq!(position.take("no time here"), Some("no time here"));
    }
}
