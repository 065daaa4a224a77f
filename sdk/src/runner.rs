//! Running one container to its end with the local Docker daemon, the way a Job's pod runs.
//!
//! A test must never leave a container behind: each container is removed when its run
//! ends, whatever the outcome, and every container carries [`RUN_LABEL`] with the run's
//! id, so that a run interrupted by Ctrl-C (whose futures are dropped mid-flight) can
//! find and remove what it started ([`remove_run`]). The termination message is read as
//! the kubelet provides it: a host file mounted at /dev/termination-log, writable by any
//! user, which only works when the daemon shares this machine's files.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::errors::Error as DockerError;
use bollard::models::ContainerState;
use bollard::query_parameters::{
    KillContainerOptionsBuilder, ListContainersOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, StartContainerOptions,
};
use futures_util::StreamExt;
use kuul_core::{Error, Printer};

use crate::docker::Daemon;
use crate::spec::{ContainerSpec, RUN_LABEL};

/// The exit code of a process ended by SIGKILL (128 + 9).
const SIGKILL_EXIT: i64 = 137;
/// How long to wait for Docker's out-of-memory event after a SIGKILL exit, and how often
/// to look.
const OOM_EVENT_GRACE: Duration = Duration::from_secs(2);
const OOM_EVENT_POLL: Duration = Duration::from_millis(100);

/// What to do with the container's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Keep it in the [`ContainerOutcome`], for expectations.
    Capture,
    /// Copy it to the printer's stdout and stderr as it comes, as `kubectl logs -f` would.
    Stream(Printer),
}

/// What happened to a container, as far as a test case or a local run cares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerOutcome {
    /// `None` if the container never reported one.
    pub exit_code: Option<i64>,
    pub oom_killed: bool,
    /// Killed by a SIGKILL nobody sent while under a memory limit, without Docker
    /// reporting an out-of-memory kill: some kernels never tell it.
    pub likely_oom_killed: bool,
    /// Killed because it ran past its timeout.
    pub timed_out: bool,
    pub duration: Duration,
    pub stdout: String,
    pub stderr: String,
    /// `None` when it could not be read (a remote daemon), `Some("")` when left empty.
    pub termination_message: Option<String>,
}

/// Runs `spec` as one container labelled with `run_id`, to its end (or its timeout),
/// and removes it.
pub async fn run(
    daemon: &Daemon,
    spec: &ContainerSpec,
    run_id: &str,
    output: Output,
) -> Result<ContainerOutcome, Error> {
    let docker = &daemon.docker;
    let termination_log = if daemon.is_local() {
        Some(termination_log_file().map_err(|source| Error::Halted {
            message: format!(
                "cannot create a termination-log file: {}",
                kuul_core::error::io_cause(&source)
            ),
            hint: None,
        })?)
    } else {
        None
    };
    let mut spec = spec.clone();
    spec.labels.insert(RUN_LABEL.to_owned(), run_id.to_owned());
    let host_path = termination_log
        .as_ref()
        .map(|f| f.path().to_string_lossy().into_owned());
    let body = spec.to_docker(host_path.as_deref());
    let created = docker
        .create_container(None, body)
        .await
        .map_err(|e| create_error(daemon, &spec.image, e))?;
    let result = run_created(docker, daemon, &created.id, &spec, output).await;
    let removed = docker
        .remove_container(
            &created.id,
            Some(RemoveContainerOptionsBuilder::default().force(true).build()),
        )
        .await;
    let mut outcome = result?;
    removed.map_err(|e| daemon.error(format!("remove container {}", short(&created.id)), e))?;
    if let Some(file) = termination_log {
        outcome.termination_message =
            Some(std::fs::read_to_string(file.path()).unwrap_or_default());
    }
    Ok(outcome)
}

async fn run_created(
    docker: &Docker,
    daemon: &Daemon,
    id: &str,
    spec: &ContainerSpec,
    output: Output,
) -> Result<ContainerOutcome, Error> {
    docker
        .start_container(id, None::<StartContainerOptions>)
        .await
        .map_err(|e| daemon.error(format!("start a container from {}", spec.image), e))?;
    let started = Instant::now();
    let streaming = async {
        if let Output::Stream(printer) = output {
            stream_logs(docker, id, printer).await;
        }
    };
    let waiting = async {
        match spec.timeout {
            Some(limit) => {
                if let Ok(done) = tokio::time::timeout(limit, wait_until_exit(docker, id)).await {
                    done.map(|()| false)
                } else {
                    let kill = KillContainerOptionsBuilder::default()
                        .signal("KILL")
                        .build();
                    // It may have exited just now; the wait below tells.
                    let _ = docker.kill_container(id, Some(kill)).await;
                    wait_until_exit(docker, id).await.map(|()| true)
                }
            }
            None => wait_until_exit(docker, id).await.map(|()| false),
        }
    };
    let ((), timed_out) = tokio::join!(streaming, waiting);
    let timed_out =
        timed_out.map_err(|e| daemon.error(format!("wait for container {}", short(id)), e))?;
    let duration = started.elapsed();
    let inspect = || async {
        docker
            .inspect_container(id, None)
            .await
            .map_err(|e| daemon.error(format!("inspect container {}", short(id)), e))
            .map(|c| c.state.unwrap_or_default())
    };
    let mut state = inspect().await?;
    // Docker learns of an out-of-memory kill from an event of its own, which can arrive
    // after the exit: a SIGKILL we did not send gets a short grace to be recognised.
    let mut grace = OOM_EVENT_GRACE;
    while killed_by_someone_else(&state, timed_out)
        && state.oom_killed != Some(true)
        && !grace.is_zero()
    {
        tokio::time::sleep(OOM_EVENT_POLL).await;
        grace = grace.saturating_sub(OOM_EVENT_POLL);
        state = inspect().await?;
    }
    let mut outcome = ended(&state, timed_out, spec.memory_bytes.is_some(), duration);
    if output == Output::Capture {
        let (stdout, stderr) = collect_logs(docker, id)
            .await
            .map_err(|e| daemon.error(format!("read the logs of container {}", short(id)), e))?;
        outcome.stdout = stdout;
        outcome.stderr = stderr;
    }
    Ok(outcome)
}

/// Whether the container ended by a SIGKILL that kuul did not send (its timeout).
fn killed_by_someone_else(state: &ContainerState, timed_out: bool) -> bool {
    state.exit_code == Some(SIGKILL_EXIT) && !timed_out
}

/// What a stopped container's state says about its end; `memory_limited` when it ran
/// under a memory limit.
fn ended(
    state: &ContainerState,
    timed_out: bool,
    memory_limited: bool,
    duration: Duration,
) -> ContainerOutcome {
    let oom_killed = state.oom_killed.unwrap_or(false);
    ContainerOutcome {
        exit_code: state.exit_code,
        oom_killed,
        // Some kernels never report it; under a memory limit, a SIGKILL nobody sent
        // is the OOM killer's all the same.
        likely_oom_killed: killed_by_someone_else(state, timed_out)
            && !oom_killed
            && memory_limited,
        timed_out,
        duration,
        ..ContainerOutcome::default()
    }
}

/// Waits until the container stops; its exit code is read by inspecting it afterwards.
async fn wait_until_exit(docker: &Docker, id: &str) -> Result<(), DockerError> {
    let mut waits = docker.wait_container(id, None);
    match waits.next().await {
        // bollard reports a non-zero exit as an error; it is an exit all the same.
        Some(Ok(_) | Err(DockerError::DockerContainerWaitError { .. })) | None => Ok(()),
        Some(Err(e)) => Err(e),
    }
}

async fn collect_logs(docker: &Docker, id: &str) -> Result<(String, String), DockerError> {
    let options = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .build();
    let mut logs = docker.logs(id, Some(options));
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    while let Some(chunk) = logs.next().await {
        match chunk? {
            LogOutput::StdErr { message } => stderr.extend_from_slice(&message),
            other => stdout.extend_from_slice(&other.into_bytes()),
        }
    }
    Ok((
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    ))
}

/// Copies the container's output to ours until it stops. Losing a log line is not worth
/// failing the run for, so read errors end the copy quietly.
async fn stream_logs(docker: &Docker, id: &str, printer: Printer) {
    let options = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .follow(true)
        .build();
    let mut logs = docker.logs(id, Some(options));
    while let Some(Ok(chunk)) = logs.next().await {
        match chunk {
            LogOutput::StdErr { message } => printer.raw_stderr(&message),
            other => {
                let _ = printer.raw_stdout(&other.into_bytes());
            }
        }
    }
}

/// Runs `work` until it ends or Ctrl-C; on Ctrl-C, removes every container of `run_id`
/// (also those whose creation was still in flight) and reports the interruption.
pub async fn interruptible<T>(
    daemon: &Daemon,
    run_id: &str,
    work: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    tokio::select! {
        result = work => result,
        _ = tokio::signal::ctrl_c() => {
            let mut removed = remove_run(daemon, run_id).await?;
            tokio::time::sleep(CLEANUP_GRACE).await;
            removed += remove_run(daemon, run_id).await?;
            Err(Error::Interrupted {
                message: format!("interrupted; removed {removed} container(s) of this run"),
                hint: "nothing is left running".to_owned(),
            })
        }
    }
}

/// Removes every container of run `run_id` (after Ctrl-C). Returns how many it removed.
pub async fn remove_run(daemon: &Daemon, run_id: &str) -> Result<usize, Error> {
    let filters = HashMap::from([("label", vec![format!("{RUN_LABEL}={run_id}")])]);
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    let containers = daemon
        .docker
        .list_containers(Some(options))
        .await
        .map_err(|e| daemon.error("list the test containers", e))?;
    let mut removed = 0;
    for id in containers.into_iter().filter_map(|c| c.id) {
        let force = RemoveContainerOptionsBuilder::default().force(true).build();
        if daemon
            .docker
            .remove_container(&id, Some(force))
            .await
            .is_ok()
        {
            removed += 1;
        }
    }
    Ok(removed)
}

/// A run id: unique enough to tell this run's containers from any other's.
pub fn new_run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{}-{nanos:09}", std::process::id())
}

fn termination_log_file() -> std::io::Result<tempfile::NamedTempFile> {
    let file = tempfile::Builder::new()
        .prefix("kuul-termination-log-")
        .tempfile()?;
    // The container's user is rarely ours; the kubelet's file is world-writable too.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(0o666))?;
    }
    Ok(file)
}

fn create_error(daemon: &Daemon, image: &str, error: DockerError) -> Error {
    match error {
        DockerError::DockerResponseServerError {
            status_code: 404, ..
        } => Error::Halted {
            message: format!("image {image} is not in the local Docker daemon"),
            hint: Some(
                "build it first with `kubectl kuul image build`, or pass --image".to_owned(),
            ),
        },
        other => daemon.error(format!("create a container from {image}"), other),
    }
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// How long a stopped run may take to be cleaned up after Ctrl-C before giving up.
pub const CLEANUP_GRACE: Duration = Duration::from_millis(500);

#[cfg(test)]
mod tests {
    use super::*;

    fn state(exit_code: i64, oom_killed: Option<bool>) -> ContainerState {
        ContainerState {
            exit_code: Some(exit_code),
            oom_killed,
            ..ContainerState::default()
        }
    }

    const TOOK: Duration = Duration::from_millis(1500);

    #[test]
    fn a_plain_exit_is_its_code() {
        let outcome = ended(&state(3, Some(false)), false, true, TOOK);
        assert_eq!(outcome.exit_code, Some(3));
        assert!(!outcome.oom_killed && !outcome.likely_oom_killed && !outcome.timed_out);
        assert_eq!(outcome.duration, TOOK);
    }

    #[test]
    fn out_of_memory_as_docker_reports_it_or_as_a_sigkill_under_a_limit() {
        let reported = ended(&state(137, Some(true)), false, true, TOOK);
        assert!(reported.oom_killed && !reported.likely_oom_killed);
        let unreported = ended(&state(137, Some(false)), false, true, TOOK);
        assert!(!unreported.oom_killed && unreported.likely_oom_killed);
        // Without a memory limit a SIGKILL is someone's kill -9, not the OOM killer.
        let no_limit = ended(&state(137, None), false, false, TOOK);
        assert!(!no_limit.oom_killed && !no_limit.likely_oom_killed);
    }

    #[test]
    fn our_own_kill_at_the_timeout_is_a_timeout_not_an_oom() {
        assert!(!killed_by_someone_else(&state(137, None), true));
        assert!(killed_by_someone_else(&state(137, None), false));
        let outcome = ended(&state(137, Some(false)), true, true, TOOK);
        assert!(outcome.timed_out && !outcome.likely_oom_killed);
    }

    #[test]
    fn a_missing_image_says_to_build_it() {
        let daemon = Daemon {
            // Never connected: only the error wording is under test.
            docker: Docker::connect_with_http(
                "http://127.0.0.1:1",
                1,
                bollard::API_DEFAULT_VERSION,
            )
            .unwrap(),
            host: "tcp://127.0.0.1:1".to_owned(),
            bridge: None,
        };
        let missing = DockerError::DockerResponseServerError {
            status_code: 404,
            message: "No such image: kuul/backup:1".to_owned(),
        };
        let error = create_error(&daemon, "kuul/backup:1", missing);
        assert_eq!(
            error.to_string(),
            "image kuul/backup:1 is not in the local Docker daemon"
        );
        assert!(error.hint().unwrap().contains("kubectl kuul image build"));
        let refused = DockerError::DockerResponseServerError {
            status_code: 500,
            message: "no space left on device ".to_owned(),
        };
        assert_eq!(
            create_error(&daemon, "kuul/backup:1", refused).to_string(),
            "cannot create a container from kuul/backup:1: no space left on device"
        );
    }

    #[test]
    fn run_ids_differ_and_ids_shorten_like_docker() {
        assert_ne!(new_run_id(), {
            std::thread::sleep(Duration::from_millis(1));
            new_run_id()
        });
        assert_eq!(short("0123456789abcdef0123"), "0123456789ab");
        assert_eq!(short("abc"), "abc");
    }

    #[cfg(unix)]
    #[test]
    fn the_termination_log_is_writable_by_any_container_user() {
        use std::os::unix::fs::PermissionsExt;
        let file = termination_log_file().unwrap();
        let mode = std::fs::metadata(file.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o666);
    }
}
