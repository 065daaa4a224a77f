//! Helpers for kuul's integration tests (the modules of the one test binary in
//! `tests/it`): where the binaries, the test cluster and its kubectl are, a namespace per
//! test that cleans up after itself, waiting for a condition, and whatever more than one
//! test module needs.
//!
//! Integration tests run the real binaries against a real local control plane (see
//! docs/ARCHITECTURE.md, "Test tiers"). Each test works in its own namespace, and names
//! what it makes outside one after it, so the tests of all modules run in parallel in one
//! process and leave nothing behind. The cluster tier needs `tests/cluster/up` and its
//! exported `KUUL_TEST_KUBECONFIG`; binaries must be built first with
//! `cargo build --workspace --bins` (the Makefile does both).

use std::collections::BTreeMap;
use std::collections::hash_map::RandomState;
use std::ffi::OsString;
use std::hash::{BuildHasher, Hasher};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::api::{DeleteParams, DynamicObject, ListParams, LogParams, ObjectMeta, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Api, Client, Config};
use serde_json::{Value, json};

/// A schedule that does not fire while a test runs: midnight on the first of January.
pub const YEARLY: &str = "0 0 1 1 *";

/// The `spec.managedBy` of Jobs whose status a test writes itself: the Job controller
/// leaves such Jobs alone, so a test can make runs of any age and outcome at once.
pub const TEST_JOB_MANAGER: &str = "kuul.io/test";

/// The label that selects kwok's failure stage, and the annotation that picks the exit
/// code (kwok's kustomize/stage/pod/chaos/pod-container-running-failed.yaml).
const KWOK_FAIL_LABEL: &str = "pod-container-running-failed.stage.kwok.x-k8s.io";
const KWOK_FAIL_EXIT_CODE: &str = "pod-container-running-failed.stage.kwok.x-k8s.io/exit-code";

/// Pod metadata (`labels` and `annotations`) with which a pod on a kwok node fails, its
/// container exiting with `exit_code`.
pub fn kwok_failure(exit_code: i32) -> Value {
    json!({
        "labels": { KWOK_FAIL_LABEL: "true" },
        "annotations": { KWOK_FAIL_EXIT_CODE: exit_code.to_string() }
    })
}

/// The JSON object `base` with the keys of `extra` added (they win); `base` as it is
/// when either is not an object.
pub fn merged(base: &Value, extra: &Value) -> Value {
    let mut merged = base.clone();
    if let (Some(into), Some(from)) = (merged.as_object_mut(), extra.as_object()) {
        into.extend(from.clone());
    }
    merged
}

/// The kubeconfig of the local test cluster, from `KUUL_TEST_KUBECONFIG`.
///
/// # Panics
///
/// When `KUUL_TEST_KUBECONFIG` is not set, saying how to set it.
pub fn kubeconfig() -> PathBuf {
    env_path(
        "KUUL_TEST_KUBECONFIG",
        "KUUL_TEST_KUBECONFIG is not set: run `make test`, or `tests/cluster/up` and export its last line",
    )
}

/// The kubectl built for the test cluster, from `KUUL_TEST_KUBECTL`.
///
/// # Panics
///
/// When `KUUL_TEST_KUBECTL` is not set, saying how to set it.
pub fn kubectl() -> PathBuf {
    env_path(
        "KUUL_TEST_KUBECTL",
        "KUUL_TEST_KUBECTL is not set: run `make test`, or `tests/cluster/up` and export what it prints",
    )
}

fn env_path(var: &str, missing: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(value) if !value.is_empty() => PathBuf::from(value),
        _ => panic!("{missing}"),
    }
}

/// A kube client for the test cluster (from [`kubeconfig`], its current context).
pub async fn client() -> Client {
    let path = kubeconfig();
    let config = Kubeconfig::read_from(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let config = Config::from_custom_kubeconfig(config, &KubeConfigOptions::default())
        .await
        .unwrap_or_else(|e| panic!("invalid kubeconfig {}: {e}", path.display()));
    Client::try_from(config).expect("kube client for the test cluster")
}

/// The path of a built kuul binary, e.g. `bin("kubectl-kuul-run_now")`.
///
/// Binaries of other workspace crates are not built by `cargo test` for this crate
/// (`CARGO_BIN_EXE_*` only covers the test's own package), so they are looked up in the
/// profile directory this test binary runs from (`target/debug`, honouring
/// `CARGO_TARGET_DIR` and `--release`).
///
/// # Panics
///
/// When the binary does not exist, saying to run `cargo build --workspace --bins`.
pub fn bin(name: &str) -> PathBuf {
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    let path = profile_dir().join(&file);
    assert!(
        path.is_file(),
        "{} not found: run `cargo build --workspace --bins` before the integration tests",
        path.display()
    );
    path
}

/// `target/<profile>`: test executables run from `target/<profile>/deps`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("path of the running test executable");
    let dir = exe.parent().expect("test executable is in a directory");
    if dir.file_name() == Some("deps".as_ref()) {
        return dir
            .parent()
            .map_or_else(|| dir.to_path_buf(), Path::to_path_buf);
    }
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(target) => PathBuf::from(target).join("debug"),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug"),
    }
}

/// Polls `check` until it yields a value, or panics naming `what` once `limit` has
/// passed: the one way a test waits for what the cluster, Docker or a process does in
/// its own time. The first polls come quickly, then one a second, so that a quick
/// change is seen at once and a slow one does not flood the API server. A check may
/// `eprintln!` what it saw instead; the test harness shows it when the test fails.
///
/// # Panics
///
/// When `check` yields nothing within `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    let mut pause = Duration::from_millis(100);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(start.elapsed() < limit, "{what}: not seen within {limit:?}");
        // The poll interval, not a wait for anything: the loop checks again after it.
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}

/// The lines a child process writes to one of its pipes, read on a thread of their own,
/// so that a test can wait for a line while the process runs and still read them all
/// once it has ended.
pub struct Lines {
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Lines {
    /// Starts reading `pipe` (a child's `stdout` or `stderr`, taken from it).
    pub fn of(pipe: impl Read + Send + 'static) -> Self {
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                // Into the test's captured output, shown when it fails: both pipes of a
                // process in the order they wrote, where the panic shows only one.
                eprintln!("| {line}");
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            lines,
            seen: Vec::new(),
        }
    }

    /// Blocks until the next line for which `wanted` holds, and returns it.
    ///
    /// # Panics
    ///
    /// When no such line comes within `limit`, or the pipe closes first, showing the
    /// lines read so far.
    pub fn until(&mut self, limit: Duration, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(e) => panic!(
                    "{what}: not seen within {limit:?} ({e}); the lines so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Every line, each with its newline, once the pipe has closed (the process ended).
    pub fn all(mut self) -> String {
        self.seen.extend(self.lines.iter());
        self.seen.iter().map(|line| format!("{line}\n")).collect()
    }
}

/// Runs `kubectl kuul COMMAND -n NAMESPACE ARGS` the given way against the test cluster,
/// with `NO_COLOR` set so that output is plain.
///
/// # Panics
///
/// When the command cannot be started.
pub fn kuul(
    via: Via,
    command: &str,
    namespace: impl AsRef<str>,
    args: &[&str],
) -> std::process::Output {
    via.command(command)
        .args(["-n", namespace.as_ref()])
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("run kubectl kuul {command}: {e}"))
}

/// The value of an environment variable the test harness exports.
///
/// # Panics
///
/// When it is not set, naming the harness that sets it.
pub fn harness_env(name: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| panic!("{name} is not set: run tests/integration (or make test)"))
}

/// Counts the names made by this process: all tests share it, and two of them may ask
/// for a name in the same nanosecond.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// `prefix-PID-NANOS-N`: a name no other test (of this process or another) uses, for
/// images and projects.
pub fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A client of the Docker daemon of the test harness (`tests/docker/up`).
///
/// # Panics
///
/// When the daemon cannot be reached, saying how to start it.
pub async fn docker() -> bollard::Docker {
    const HOW: &str = "run tests/integration, or eval \"$(tests/docker/up)\"";
    bollard::Docker::connect_with_local_defaults()
        .unwrap_or_else(|e| panic!("cannot reach Docker ({e}): {HOW}"))
        .negotiate_version()
        .await
        .unwrap_or_else(|e| panic!("Docker does not answer ({e}): {HOW}"))
}

/// What `cmd` prints (stdout and stderr) in a container of `image`, run to its end
/// without a network and removed after.
///
/// # Panics
///
/// When the container cannot be created, started or read.
pub async fn container_output(docker: &bollard::Docker, image: &str, cmd: &[&str]) -> String {
    use bollard::query_parameters::{LogsOptionsBuilder, RemoveContainerOptionsBuilder};
    use futures_util::{StreamExt, TryStreamExt};
    let body = bollard::models::ContainerCreateBody {
        image: Some(image.to_owned()),
        cmd: Some(cmd.iter().map(|&c| c.to_owned()).collect()),
        host_config: Some(bollard::models::HostConfig {
            network_mode: Some("none".to_owned()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let id = docker
        .create_container(
            None::<bollard::query_parameters::CreateContainerOptions>,
            body,
        )
        .await
        .unwrap_or_else(|e| panic!("creating a container of {image}: {e}"))
        .id;
    let started = docker
        .start_container(
            &id,
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await;
    // A non-zero exit is reported as an error; the output is what matters here.
    let _ = docker.wait_container(&id, None).next().await;
    let logs: Result<Vec<_>, _> = docker
        .logs(
            &id,
            Some(
                LogsOptionsBuilder::default()
                    .stdout(true)
                    .stderr(true)
                    .build(),
            ),
        )
        .try_collect()
        .await;
    let remove = RemoveContainerOptionsBuilder::default().force(true).build();
    let _ = docker.remove_container(&id, Some(remove)).await;
    started.unwrap_or_else(|e| panic!("starting a container of {image}: {e}"));
    logs.unwrap_or_else(|e| panic!("reading a container's output: {e}"))
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// `kubectl-kuul-image` run in `dir`, with `dir` as its home, so that no Docker or
/// Podman credentials of the machine's user are read.
pub fn image_cmd(dir: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(bin("kubectl-kuul-image"));
    cmd.current_dir(dir)
        .env("HOME", dir)
        .env_remove("DOCKER_CONFIG")
        .env_remove("DOCKER_CONTEXT")
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("XDG_CONFIG_HOME");
    cmd
}

/// `kubectl kuul image push --registry REGISTRY --username USER --password-stdin` of the
/// project in `dir`, with `password` on stdin.
///
/// # Panics
///
/// When the binary cannot be run.
pub fn image_push(dir: &Path, registry: &str, user: &str, password: &str) -> std::process::Output {
    let mut child = image_cmd(dir)
        .args([
            "push",
            "--registry",
            registry,
            "--username",
            user,
            "--password-stdin",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run kubectl-kuul-image push");
    std::io::Write::write_all(
        child.stdin.as_mut().expect("stdin"),
        format!("{password}\n").as_bytes(),
    )
    .expect("write the password");
    drop(child.stdin.take());
    child
        .wait_with_output()
        .expect("kubectl-kuul-image push ends")
}

/// A command's output bytes as text, for assertions and failure messages.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts a command's exit code and returns its stdout; when the code differs, the
/// failure shows both streams.
///
/// # Panics
///
/// When the exit code is not `code`.
pub fn assert_exit(output: &std::process::Output, code: i32, what: &str) -> String {
    assert_eq!(
        output.status.code(),
        Some(code),
        "{what}\nstdout:\n{}\nstderr:\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// The job's entry in `kubectl kuul status NAME -o json`.
///
/// # Panics
///
/// When status fails or its output is not the JSON array it promises.
pub fn status_json(namespace: impl AsRef<str>, name: &str) -> Value {
    let output = kuul(Via::Umbrella, "status", namespace, &[name, "-o", "json"]);
    let stdout = assert_exit(&output, 0, "status -o json");
    let all: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("status -o json is not JSON ({e}): {stdout}"));
    all[0].clone()
}

/// Waits (up to 90 s: status waits out a grace period before some verdicts) until
/// status gives the job `health`, and returns its entry of `status -o json`.
pub async fn until_health(namespace: &TestNamespace, name: &str, health: &str) -> Value {
    eventually(
        Duration::from_secs(90),
        &format!("status calling {name} {health}"),
        || async {
            let status = status_json(namespace, name);
            (status["health"] == health).then_some(status)
        },
    )
    .await
}

/// PATH with the programs in `dir` first, then the system's folders (for `sh` and
/// friends): what kubectl searches for plugins.
pub fn path_with(dir: &Path) -> OsString {
    std::env::join_paths([dir, Path::new("/usr/bin"), Path::new("/bin")])
        .expect("PATH of the plugin folder")
}

/// Runs the test cluster's kubectl, which must succeed, and returns its stdout.
///
/// # Panics
///
/// When kubectl fails, showing what it printed.
pub fn kubectl_ok(args: &[&str]) -> String {
    let output = std::process::Command::new(kubectl())
        .env("KUBECONFIG", kubeconfig())
        .args(args)
        .output()
        .expect("run kubectl");
    assert_exit(&output, 0, &format!("kubectl {args:?}"))
}

/// A `ValidatingAdmissionPolicy` and its binding that deny `operation` (`CREATE`,
/// `UPDATE`) on a batch/v1 `resource` in one namespace wherever the CEL `expression` is
/// false, so that a test can make a real write fail. It matches only its own namespace,
/// so tests running in parallel are not affected, and is deleted on drop, so a failing
/// test does not leave it behind. Policies take effect a moment after they are made:
/// [`AdmissionDenial::until_enforced`] waits until this one is.
pub struct AdmissionDenial {
    name: String,
}

impl AdmissionDenial {
    /// # Panics
    ///
    /// When the policy cannot be written or applied.
    pub fn new(
        namespace: &str,
        operation: &str,
        resource: &str,
        expression: &str,
        message: &str,
    ) -> Self {
        let policy = format!("kuul-test-deny-{resource}-{namespace}");
        let manifest = serde_json::json!({ "apiVersion": "v1", "kind": "List", "items": [
            {
                "apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "ValidatingAdmissionPolicy",
                "metadata": { "name": policy },
                "spec": {
                    "failurePolicy": "Fail",
                    "matchConstraints": { "resourceRules": [{
                        "apiGroups": ["batch"], "apiVersions": ["v1"],
                        "operations": [operation], "resources": [resource]
                    }]},
                    "validations": [{ "expression": expression, "message": message }]
                }
            },
            {
                "apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "ValidatingAdmissionPolicyBinding",
                "metadata": { "name": policy },
                "spec": {
                    "policyName": policy, "validationActions": ["Deny"],
                    "matchResources": { "namespaceSelector": { "matchLabels": {
                        "kubernetes.io/metadata.name": namespace
                    }}}
                }
            }
        ]});
        let path = std::env::temp_dir().join(format!("{policy}.json"));
        std::fs::write(&path, manifest.to_string()).expect("write the policy manifest");
        let denial = Self { name: policy };
        kubectl_ok(&["apply", "-f", path.to_str().expect("utf-8 temp path")]);
        denial
    }

    /// Waits (up to 30 s) until the API server enforces the policy, which it does a
    /// moment after it is made, with nothing to watch: until `kubectl PROBE` (a
    /// server-side dry run of a write the policy denies) fails.
    ///
    /// # Panics
    ///
    /// When the probe still succeeds after 30 s.
    pub async fn until_enforced(&self, probe: &[&str]) {
        eventually(
            Duration::from_secs(30),
            &format!("policy {} denying kubectl {probe:?}", self.name),
            || async {
                let output = std::process::Command::new(kubectl())
                    .env("KUBECONFIG", kubeconfig())
                    .args(probe)
                    .output()
                    .expect("run kubectl");
                (!output.status.success()).then_some(())
            },
        )
        .await;
    }
}

impl Drop for AdmissionDenial {
    fn drop(&mut self) {
        for kind in [
            "validatingadmissionpolicybinding",
            "validatingadmissionpolicy",
        ] {
            let _ = std::process::Command::new(kubectl())
                .env("KUBECONFIG", kubeconfig())
                .args(["delete", kind, &self.name, "--ignore-not-found"])
                .output();
        }
    }
}

/// The three ways a user reaches a kuul command; cluster tests run each command all three
/// ways, because they must behave identically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// `kubectl kuul <command> ...`: kubectl's plugin lookup, with the built plugins on PATH.
    Kubectl,
    /// `kubectl-kuul-<command> ...`: the command's own plugin binary.
    Plugin,
    /// `kubectl-kuul <command> ...`: the umbrella.
    Umbrella,
}

impl Via {
    /// Every way, for tests that loop over them.
    pub const ALL: [Via; 3] = [Via::Kubectl, Via::Plugin, Via::Umbrella];

    /// The ways to reach a command that only the umbrella has (status, history, logs,
    /// apply, diff): there is no plugin binary of its own to run.
    pub const FOR_UMBRELLA_COMMANDS: [Via; 2] = [Via::Kubectl, Via::Umbrella];

    /// A command line that runs `kubectl kuul <command>` this way against the test
    /// cluster (`KUBECONFIG` set to [`kubeconfig`]); append the command's arguments.
    pub fn command(self, command: &str) -> std::process::Command {
        let mut cmd = match self {
            Via::Kubectl => {
                let mut cmd = std::process::Command::new(kubectl());
                cmd.env("PATH", path_with(&profile_dir()))
                    .args(["kuul", command]);
                cmd
            }
            Via::Plugin => std::process::Command::new(bin(&format!(
                "kubectl-kuul-{}",
                command.replace('-', "_")
            ))),
            Via::Umbrella => {
                let mut cmd = std::process::Command::new(bin("kubectl-kuul"));
                cmd.arg(command);
                cmd
            }
        };
        cmd.env("KUBECONFIG", kubeconfig());
        cmd
    }
}

/// A namespace of the test cluster that exists for the lifetime of a test.
///
/// Created with a unique name (`<prefix>-<random>`), deleted on drop without waiting
/// for the deletion to finish, so a failing test still cleans up.
pub struct TestNamespace {
    name: String,
    client: Client,
}

impl TestNamespace {
    /// Creates `<prefix>-<random suffix>`; the prefix should name the test.
    ///
    /// # Panics
    ///
    /// When the test cluster is not configured or the namespace cannot be created.
    pub async fn new(prefix: &str) -> Self {
        let client = client().await;
        let name = unique_name(prefix);
        let namespace = Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                labels: Some([("kuul.io/test".to_owned(), "true".to_owned())].into()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &namespace)
            .await
            .unwrap_or_else(|e| panic!("cannot create test namespace {name}: {e}"));
        service_account_ready(&client, &name).await;
        Self { name, client }
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The random end of the name, for names of the test's own outside the namespace
    /// (nodes, pools).
    pub fn suffix(&self) -> &str {
        self.name.rsplit('-').next().unwrap_or(&self.name)
    }

    /// A client for the test cluster (a cheap clone sharing connections).
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// The sorted names of the namespace's objects of kind `K` (Jobs, Pods, ...).
    ///
    /// # Panics
    ///
    /// When they cannot be listed.
    pub async fn names<K>(&self) -> Vec<String>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
        K::DynamicType: Default,
    {
        let api: Api<K> = Api::namespaced(self.client(), self.name());
        let mut names: Vec<String> = api
            .list(&ListParams::default())
            .await
            .unwrap_or_else(|e| panic!("list in {}: {e}", self.name))
            .items
            .into_iter()
            .filter_map(|object| object.meta().name.clone())
            .collect();
        names.sort();
        names
    }

    /// The resource version of each of the namespace's objects of kind `K`, by name: to
    /// prove that nothing was written.
    ///
    /// # Panics
    ///
    /// When they cannot be listed.
    pub async fn versions<K>(&self) -> BTreeMap<String, String>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
        K::DynamicType: Default,
    {
        let api: Api<K> = Api::namespaced(self.client(), self.name());
        api.list(&ListParams::default())
            .await
            .unwrap_or_else(|e| panic!("list in {}: {e}", self.name))
            .items
            .into_iter()
            .map(|object| {
                let meta = object.meta();
                (
                    meta.name.clone().unwrap_or_default(),
                    meta.resource_version.clone().unwrap_or_default(),
                )
            })
            .collect()
    }

    /// Has kwok serve `lines` as the log of the container `work` of `pod`, from a file
    /// written into `dir` (which must outlive the reads). kwok picks up the Logs object a
    /// moment after it is made: read the log with [`eventually`].
    ///
    /// # Panics
    ///
    /// When the file or the Logs object cannot be made.
    pub async fn serve_log(&self, dir: &Path, pod: &str, lines: &[&str]) {
        let file = dir.join(format!("{pod}.log"));
        // CRI log format: one `TIME STREAM F LINE` per line.
        let content: String = lines
            .iter()
            .enumerate()
            .map(|(i, line)| format!("2026-01-01T00:00:{i:02}Z stdout F {line}\n"))
            .collect();
        std::fs::write(&file, content).expect("write the log file");
        serve_kwok_log(self.client(), self.name(), pod, &file, false).await;
    }
}

impl AsRef<str> for TestNamespace {
    fn as_ref(&self) -> &str {
        &self.name
    }
}

/// Waits until the namespace's `default` ServiceAccount exists: the API server refuses a
/// pod before it does, and a control plane that has just started makes it late.
async fn service_account_ready(client: &Client, namespace: &str) {
    let accounts: Api<k8s_openapi::api::core::v1::ServiceAccount> =
        Api::namespaced(client.clone(), namespace);
    eventually(
        Duration::from_secs(60),
        &format!("the default ServiceAccount of {namespace}"),
        || async { accounts.get_opt("default").await.ok().flatten().map(|_| ()) },
    )
    .await;
}

/// Deletes the namespace `name` of the cluster of `kubeconfig`, from a drop: Drop cannot
/// await, and the test's runtime may be the one blocked in the drop, so the deletion runs
/// on its own thread, runtime and client.
fn delete_namespace(
    kubeconfig: PathBuf,
    name: String,
) -> std::thread::Result<Result<(), Box<dyn std::error::Error + Send + Sync>>> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            Api::<Namespace>::all(client_of(&kubeconfig).await)
                .delete(&name, &DeleteParams::background())
                .await
                .map(|_| ())
        })?;
        Ok(())
    })
    .join()
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        let deleted = delete_namespace(kubeconfig(), self.name.clone());
        match deleted {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("warning: cannot delete test namespace {}: {e}", self.name),
            Err(_) => eprintln!("warning: deleting test namespace {} panicked", self.name),
        }
    }
}

/// Simulated Nodes (kwok plays their kubelet) that one test makes, each with 8 CPUs and
/// 32 GiB: named `kuul-test-<the namespace's suffix>-<name>`, so that no other test
/// touches them, and deleted when the test ends, also when it fails.
pub struct FakeNodes {
    names: Vec<String>,
}

impl FakeNodes {
    /// Creates a node for each of `names`, with `labels` (e.g. a pool) besides kwok's.
    ///
    /// # Panics
    ///
    /// When a node cannot be created.
    pub async fn create(namespace: &TestNamespace, names: &[&str], labels: &Value) -> Self {
        let nodes: Api<Node> = Api::all(namespace.client());
        let mut made = Self { names: Vec::new() };
        for name in names {
            let name = format!("kuul-test-{}-{name}", namespace.suffix());
            let kwok = json!({ "type": "kwok", "kubernetes.io/hostname": name });
            let node: Node = serde_json::from_value(json!({
                "metadata": {
                    "name": name,
                    "labels": merged(&kwok, labels),
                    "annotations": { "kwok.x-k8s.io/node": "fake" }
                },
                "status": {
                    "allocatable": { "cpu": "8", "memory": "32Gi", "pods": "110" },
                    "capacity": { "cpu": "8", "memory": "32Gi", "pods": "110" }
                }
            }))
            .expect("a valid Node");
            nodes
                .create(&PostParams::default(), &node)
                .await
                .unwrap_or_else(|e| panic!("create test node {name}: {e}"));
            made.names.push(name);
        }
        made
    }

    /// The nodes' full names, in the order given.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Waits (up to a minute) until kwok reports every node Ready.
    pub async fn until_ready(&self) {
        let nodes: Api<Node> = Api::all(client().await);
        for name in &self.names {
            eventually(
                Duration::from_secs(60),
                &format!("node {name} Ready"),
                || async {
                    let node = nodes.get(name).await.expect("get test node");
                    let conditions = node.status?.conditions?;
                    conditions
                        .iter()
                        .any(|c| c.type_ == "Ready" && c.status == "True")
                        .then_some(())
                },
            )
            .await;
        }
    }
}

impl Drop for FakeNodes {
    fn drop(&mut self) {
        // As for TestNamespace: its own thread, runtime and client.
        let names = std::mem::take(&mut self.names);
        let deleted = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime to delete test nodes");
            runtime.block_on(async {
                let nodes: Api<Node> = Api::all(client().await);
                for name in names {
                    if let Err(e) = nodes.delete(&name, &DeleteParams::background()).await {
                        eprintln!("warning: cannot delete test node {name}: {e}");
                    }
                }
            });
        })
        .join();
        if deleted.is_err() {
            eprintln!("warning: deleting test nodes panicked");
        }
    }
}

/// `prefix-xxxxxxxx`, unique across parallel tests and test processes.
fn unique_name(prefix: &str) -> String {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    let suffix = format!("{:08x}", hasher.finish() & 0xffff_ffff);
    // Namespace names are DNS-1123 labels of at most 63 characters.
    let prefix: String = prefix
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(63 - 1 - suffix.len())
        .collect();
    format!("{}-{suffix}", prefix.trim_matches('-'))
}

/// A Kuul job as `new` labels it, on `schedule`, whose runs go to the kwok nodes of
/// `pool` (a pool without nodes keeps them pending), with the keys of `spec` added to its
/// spec (they win), e.g. history limits.
///
/// # Panics
///
/// When `spec` makes it no valid `CronJob`.
pub fn kuul_cronjob(
    name: &str,
    schedule: &str,
    suspend: bool,
    pool: &str,
    spec: &Value,
) -> CronJob {
    let base = json!({
        "schedule": schedule,
        "suspend": suspend,
        "jobTemplate": {
            "metadata": { "labels": { "kuul.io/job": name } },
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "metadata": { "labels": { "kuul.io/job": name } },
                    "spec": {
                        "restartPolicy": "Never",
                        "nodeSelector": { "kuul.io/pool": pool },
                        "containers": [{ "name": "work", "image": "kuul-base:busybox" }]
                    }
                }
            }
        }
    });
    serde_json::from_value(json!({
        "metadata": {
            "name": name,
            "labels": { "app.kubernetes.io/managed-by": "kuul", "kuul.io/job": name }
        },
        "spec": merged(&base, spec)
    }))
    .expect("a valid CronJob")
}

/// A prefix of its own in the bucket of the test harness's S3-compatible store
/// (`tests/objstore/up`, which exports `KUUL_TEST_S3_*`), so that tests running in
/// parallel never see each other's objects. `tests/objstore/down` removes them all.
pub struct TestBucket {
    endpoint: String,
    bucket: String,
    access_key: String,
    secret_key: String,
    prefix: String,
}

impl TestBucket {
    /// A new prefix, `<prefix>-<unique>`, in the harness's bucket.
    ///
    /// # Panics
    ///
    /// When the harness's variables are not set.
    pub fn new(prefix: &str) -> Self {
        Self {
            endpoint: harness_env("KUUL_TEST_S3_ENDPOINT"),
            bucket: harness_env("KUUL_TEST_S3_BUCKET"),
            access_key: harness_env("KUUL_TEST_S3_ACCESS_KEY"),
            secret_key: harness_env("KUUL_TEST_S3_SECRET_KEY"),
            prefix: unique(prefix),
        }
    }

    /// `s3://BUCKET/PREFIX`.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    /// The store's endpoint, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The access key and secret of the harness's identity that may write.
    pub fn keys(&self) -> (&str, &str) {
        (&self.access_key, &self.secret_key)
    }

    /// Gives `cmd` the AWS environment of the harness's identity that may write: keys,
    /// endpoint and region, and no shared files or profile of the machine's user.
    pub fn credentials<'a>(
        &self,
        cmd: &'a mut std::process::Command,
    ) -> &'a mut std::process::Command {
        self.credentials_of(cmd, &self.access_key, &self.secret_key)
    }

    /// [`TestBucket::credentials`] with other keys: a wrong secret, or the harness's
    /// identity that may only read (`KUUL_TEST_S3_READER_*`).
    pub fn credentials_of<'a>(
        &self,
        cmd: &'a mut std::process::Command,
        access_key: &str,
        secret_key: &str,
    ) -> &'a mut std::process::Command {
        cmd.env("AWS_ACCESS_KEY_ID", access_key)
            .env("AWS_SECRET_ACCESS_KEY", secret_key)
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
    }

    fn client(&self) -> object_store::aws::AmazonS3 {
        // reqwest takes the process's TLS provider (see kuul-core's archive store).
        let _ = rustls::crypto::ring::default_provider().install_default();
        object_store::aws::AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_bucket_name(&self.bucket)
            .with_access_key_id(&self.access_key)
            .with_secret_access_key(&self.secret_key)
            .build()
            .expect("an S3 client for the test store")
    }

    /// Every object under the prefix, by its path below it, with its ETag and size: what
    /// a test compares to prove that nothing was written again.
    ///
    /// # Panics
    ///
    /// When the store cannot be listed.
    pub async fn objects(&self) -> BTreeMap<String, String> {
        use futures_util::TryStreamExt;
        use object_store::ObjectStore;
        let prefix = object_store::path::Path::from(self.prefix.as_str());
        let objects: Vec<object_store::ObjectMeta> = self
            .client()
            .list(Some(&prefix))
            .try_collect()
            .await
            .unwrap_or_else(|e| panic!("list {}: {e}", self.url()));
        objects
            .into_iter()
            .map(|object| {
                let path = object.location.as_ref();
                let below = path
                    .strip_prefix(&format!("{}/", self.prefix))
                    .unwrap_or(path)
                    .to_owned();
                let version = format!("{} {}", object.e_tag.unwrap_or_default(), object.size);
                (below, version)
            })
            .collect()
    }

    /// The object at `path` below the prefix.
    ///
    /// # Panics
    ///
    /// When it cannot be read.
    pub async fn get(&self, path: &str) -> Vec<u8> {
        use object_store::ObjectStoreExt;
        let location = object_store::path::Path::from(format!("{}/{path}", self.prefix));
        let url = self.url();
        let result = self
            .client()
            .get(&location)
            .await
            .unwrap_or_else(|e| panic!("get {url}/{path}: {e}"));
        result
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("read {url}/{path}: {e}"))
            .to_vec()
    }
}

/// The real node of the test cluster (pool `real`, tainted `kuul.io/pool=real:NoSchedule`),
/// where containers really run.
pub const REAL_NODE: &str = "kuul-real-1";

/// Fails the calling test at once, saying why, unless the real node is Ready: a test
/// that needs it must not wait out its timeouts, nor pass without having run, when the
/// cluster was started without it (`KUUL_REAL_NODE=0`) or it is down.
///
/// # Panics
///
/// When the real node is missing or not Ready.
pub async fn require_real_node() {
    let nodes: Api<Node> = Api::all(client().await);
    let ready = match nodes.get_opt(REAL_NODE).await {
        Ok(Some(node)) => node
            .status
            .and_then(|status| status.conditions)
            .unwrap_or_default()
            .iter()
            .any(|condition| condition.type_ == "Ready" && condition.status == "True"),
        Ok(None) => false,
        Err(error) => panic!("cannot read the real node {REAL_NODE}: {error}"),
    };
    assert!(
        ready,
        "this test needs the real node {REAL_NODE}, which is not Ready: tests/cluster/up starts it \
         (as root, without KUUL_REAL_NODE=0); tests/cluster/node-up starts it on a running cluster"
    );
}

/// The fault tests' own cluster (`tests/cluster/up-faults`), whose API server they kill
/// and restart: `tests/integration` exports its kubeconfig as
/// `KUUL_TEST_FAULTS_KUBECONFIG` and its state folder as `KUUL_TEST_FAULTS_CLUSTER_DIR`.
/// No other test uses it, and one fault test at a time has it: [`FaultCluster::take`]
/// waits for its turn, so that one test's restart does not land in another's run.
pub struct FaultCluster {
    _turn: std::sync::MutexGuard<'static, ()>,
}

/// Whose turn it is on the fault tests' cluster.
static FAULT_CLUSTER_TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl FaultCluster {
    /// Waits for the cluster, then makes sure its API server runs (a test that failed
    /// may have left it stopped).
    ///
    /// # Panics
    ///
    /// When the harness did not set the cluster up, or its API server does not start.
    pub fn take() -> Self {
        let turn = FAULT_CLUSTER_TURN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let cluster = Self { _turn: turn };
        cluster.apiserver("--start");
        cluster
    }

    /// Its kubeconfig.
    ///
    /// # Panics
    ///
    /// When `KUUL_TEST_FAULTS_KUBECONFIG` is not set.
    pub fn kubeconfig(&self) -> PathBuf {
        PathBuf::from(harness_env("KUUL_TEST_FAULTS_KUBECONFIG"))
    }

    /// A kube client for it.
    ///
    /// # Panics
    ///
    /// When its kubeconfig cannot be read.
    pub async fn client(&self) -> Client {
        client_of(&self.kubeconfig()).await
    }

    /// `kubectl kuul COMMAND` the given way against this cluster; append the arguments.
    pub fn command(&self, via: Via, command: &str) -> std::process::Command {
        let mut cmd = via.command(command);
        cmd.env("KUBECONFIG", self.kubeconfig())
            .env("NO_COLOR", "1");
        cmd
    }

    /// Kills its API server and starts it again; returns how long it took until the
    /// server was ready again.
    pub fn restart_apiserver(&self) -> Duration {
        let started = Instant::now();
        self.apiserver("restart");
        started.elapsed()
    }

    /// Kills its API server, which stays dead until [`FaultCluster::start_apiserver`] (or
    /// the next test's [`FaultCluster::take`]).
    pub fn stop_apiserver(&self) {
        self.apiserver("--stop");
    }

    /// Starts its API server and waits until it is ready; returns how long that took.
    pub fn start_apiserver(&self) -> Duration {
        let started = Instant::now();
        self.apiserver("--start");
        started.elapsed()
    }

    fn apiserver(&self, action: &str) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("cluster/restart-apiserver");
        let output = std::process::Command::new(&script)
            .arg(action)
            .env(
                "KUUL_CLUSTER_DIR",
                harness_env("KUUL_TEST_FAULTS_CLUSTER_DIR"),
            )
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", script.display()));
        assert_exit(&output, 0, &format!("restart-apiserver {action}"));
        eprint!("{}", text(&output.stderr));
    }

    /// A namespace of this cluster for the test, deleted when it ends.
    ///
    /// # Panics
    ///
    /// When it cannot be created.
    pub async fn namespace(&self, prefix: &str) -> FaultNamespace {
        self.namespace_named(&unique_name(prefix)).await
    }

    /// A namespace of this cluster named `name` (the name of a [`TestNamespace`] of the
    /// shared cluster, for a job that lives on both), deleted when it ends.
    ///
    /// # Panics
    ///
    /// When it cannot be created.
    pub async fn namespace_named(&self, name: &str) -> FaultNamespace {
        let kubeconfig = self.kubeconfig();
        let client = client_of(&kubeconfig).await;
        let name = name.to_owned();
        let namespace: Namespace = serde_json::from_value(json!({
            "metadata": { "name": name, "labels": { "kuul.io/test": "true" } }
        }))
        .expect("a valid Namespace");
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &namespace)
            .await
            .unwrap_or_else(|e| panic!("cannot create test namespace {name}: {e}"));
        service_account_ready(&client, &name).await;
        FaultNamespace {
            name,
            client,
            kubeconfig,
        }
    }
}

/// The names of the Jobs in `namespace`, sorted.
///
/// # Panics
///
/// When they cannot be listed.
pub async fn job_names(client: Client, namespace: &str) -> Vec<String> {
    let mut names: Vec<String> =
        Api::<k8s_openapi::api::batch::v1::Job>::namespaced(client, namespace)
            .list(&ListParams::default())
            .await
            .expect("list Jobs")
            .items
            .into_iter()
            .filter_map(|job| job.metadata.name)
            .collect();
    names.sort();
    names
}

/// The shared cluster and the fault tests' cluster as two contexts of one kubeconfig,
/// `kuul-a` and `kuul-b` (clusters and users renamed alike), for the commands that work
/// on several clusters. It holds the fault tests' cluster's turn ([`FaultCluster::take`]),
/// so a test may stop that cluster's API server to make a cluster unreachable.
pub struct TwoClusters {
    pub other: FaultCluster,
    dir: tempfile::TempDir,
}

impl TwoClusters {
    /// The contexts' names: the shared cluster's, then the fault tests' cluster's.
    pub const CONTEXTS: [&'static str; 2] = ["kuul-a", "kuul-b"];

    /// Waits for the fault tests' cluster, then writes the kubeconfig of both.
    ///
    /// # Panics
    ///
    /// When the harness did not set both clusters up.
    pub fn take() -> Self {
        let other = FaultCluster::take();
        let mut merged = Kubeconfig::default();
        for (path, name) in [(kubeconfig(), "kuul-a"), (other.kubeconfig(), "kuul-b")] {
            let mut config = Kubeconfig::read_from(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let mut named = config
                .contexts
                .iter()
                .find(|c| Some(&c.name) == config.current_context.as_ref())
                .cloned()
                .expect("a current context");
            let context = named.context.clone().expect("a context");
            let cluster = config
                .clusters
                .iter_mut()
                .find(|c| c.name == context.cluster)
                .expect("the context's cluster");
            cluster.name = name.to_owned();
            merged.clusters.push(cluster.clone());
            let user_name = context.user.clone().expect("the context's user");
            let user = config
                .auth_infos
                .iter_mut()
                .find(|u| u.name == user_name)
                .expect("the context's user");
            user.name = name.to_owned();
            merged.auth_infos.push(user.clone());
            named.name = name.to_owned();
            if let Some(context) = named.context.as_mut() {
                context.cluster = name.to_owned();
                context.user = Some(name.to_owned());
                context.namespace = None;
            }
            merged.contexts.push(named);
        }
        merged.current_context = Some("kuul-a".to_owned());
        let dir = tempfile::tempdir().expect("temp dir");
        let yaml = serde_json::to_string_pretty(&merged).expect("a kubeconfig as JSON");
        std::fs::write(dir.path().join("kubeconfig"), yaml).expect("write the kubeconfig");
        Self { other, dir }
    }

    /// The kubeconfig with both contexts.
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    /// `kubectl kuul COMMAND` the given way with that kubeconfig; append the arguments
    /// (`--context kuul-a --context kuul-b`, or `--contexts 'kuul-*'`).
    pub fn command(&self, via: Via, command: &str) -> std::process::Command {
        let mut cmd = via.command(command);
        cmd.env("KUBECONFIG", self.kubeconfig())
            .env("NO_COLOR", "1");
        cmd
    }

    /// A namespace of the same name on both clusters, each deleted when the test ends.
    pub async fn namespace(&self, prefix: &str) -> (TestNamespace, FaultNamespace) {
        let here = TestNamespace::new(prefix).await;
        let there = self.other.namespace_named(here.name()).await;
        (here, there)
    }
}

/// A kube client for the cluster of `kubeconfig`, its current context.
async fn client_of(path: &Path) -> Client {
    let config = Kubeconfig::read_from(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let config = Config::from_custom_kubeconfig(config, &KubeConfigOptions::default())
        .await
        .unwrap_or_else(|e| panic!("invalid kubeconfig {}: {e}", path.display()));
    Client::try_from(config).expect("kube client")
}

/// A namespace of the fault tests' cluster ([`FaultCluster::namespace`]), deleted on drop
/// as [`TestNamespace`] is on the shared cluster.
pub struct FaultNamespace {
    name: String,
    client: Client,
    kubeconfig: PathBuf,
}

impl FaultNamespace {
    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A client for the fault tests' cluster.
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// Has kwok serve the file `log` as the log of the container `work` of `pod`,
    /// following it as it grows ([`GrowingLog`]).
    ///
    /// # Panics
    ///
    /// When the Logs object cannot be made.
    pub async fn follow_log(&self, pod: &str, log: &GrowingLog) {
        serve_kwok_log(self.client(), self.name(), pod, &log.path, true).await;
    }

    /// Waits until the API server hands out the log of `pod` (which kwok serves only a
    /// moment after its Logs object is made, and later still when kwok is catching up
    /// after an API server restart) and `line` is in it.
    ///
    /// # Panics
    ///
    /// When that is not so within a minute.
    pub async fn log_served(&self, pod: &str, line: &str) {
        let pods: Api<Pod> = Api::namespaced(self.client(), self.name());
        let what = format!("kwok serving the log of pod {pod} up to {line:?}");
        eventually(Duration::from_secs(60), &what, || async {
            match pods.logs(pod, &LogParams::default()).await {
                Ok(text) if text.lines().any(|l| l == line) => Some(()),
                Ok(text) => {
                    eprintln!("{what}: not yet; the log so far: {text:?}");
                    None
                }
                Err(e) => {
                    eprintln!("{what}: not yet: {e}");
                    None
                }
            }
        })
        .await;
    }
}

impl AsRef<str> for FaultNamespace {
    fn as_ref(&self) -> &str {
        &self.name
    }
}

impl Drop for FaultNamespace {
    fn drop(&mut self) {
        // As for TestNamespace: its own thread, runtime and client. The API server may
        // be the one a failed test left stopped; then the namespace stays, on a cluster
        // that only fault tests use and that tests/cluster/down removes.
        let deleted = delete_namespace(self.kubeconfig.clone(), self.name.clone());
        if !matches!(deleted, Ok(Ok(()))) {
            eprintln!("warning: cannot delete test namespace {}", self.name);
        }
    }
}

/// A container log that a test writes line by line while a command follows it, in the
/// CRI format kwok serves: each line with the time it is written.
pub struct GrowingLog {
    path: PathBuf,
}

impl GrowingLog {
    /// An empty log file in `dir` (which must outlive the reads).
    ///
    /// # Panics
    ///
    /// When the file cannot be made.
    pub fn new(dir: &Path, pod: &str) -> Self {
        let path = dir.join(format!("{pod}.log"));
        std::fs::write(&path, "").expect("create the log file");
        Self { path }
    }

    /// Appends `line`, stamped with the time now.
    ///
    /// # Panics
    ///
    /// When the file cannot be written.
    pub fn write(&self, line: &str) {
        use std::io::Write as _;
        let now = k8s_openapi::jiff::Timestamp::now();
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.path)
            .expect("open the log file");
        writeln!(file, "{now} stdout F {line}").expect("append to the log file");
    }
}

/// The number of requests API Priority and Fairness rejected (429) in the priority level
/// `level`, from the metrics of the cluster of `kubeconfig`.
pub fn rejected_requests(kubeconfig: &Path, level: &str) -> u64 {
    priority_level_metric(
        kubeconfig,
        "apiserver_flowcontrol_rejected_requests_total",
        level,
    )
}

/// The sum of the series of the API server metric `metric` for the priority level
/// `level` (e.g. `apiserver_flowcontrol_current_executing_requests`), from the metrics of
/// the cluster of `kubeconfig`.
///
/// # Panics
///
/// When the metrics cannot be read.
pub fn priority_level_metric(kubeconfig: &Path, metric: &str, level: &str) -> u64 {
    let output = std::process::Command::new(kubectl())
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["get", "--raw", "/metrics"])
        .output()
        .expect("run kubectl get --raw /metrics");
    let metrics = assert_exit(&output, 0, "kubectl get --raw /metrics");
    let series = format!("{metric}{{");
    let wanted = format!("priority_level=\"{level}\"");
    metrics
        .lines()
        .filter(|line| line.starts_with(&series) && line.contains(&wanted))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|count| {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let count = count as u64;
            count
        })
        .sum()
}

/// A ServiceAccount of a test namespace on the shared cluster whose requests the API
/// server throttles (`tests/cluster/throttle`): one concurrency share, no queue, so what
/// finds no free seat is rejected with 429. The `FlowSchema` and priority level are
/// deleted on drop; the account goes with the namespace.
pub struct Throttled {
    namespace: String,
    account: String,
    kubeconfig: PathBuf,
}

impl Throttled {
    /// Sets it up for `account` in `namespace`.
    ///
    /// # Panics
    ///
    /// When the script fails.
    pub fn new(namespace: &TestNamespace, account: &str) -> Self {
        let output = Self::script(&[namespace.name(), account]);
        let stdout = assert_exit(&output, 0, "tests/cluster/throttle");
        Self {
            namespace: namespace.name().to_owned(),
            account: account.to_owned(),
            kubeconfig: PathBuf::from(stdout.trim()),
        }
    }

    /// A kubeconfig that authenticates as the account, in its namespace.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// The name of its priority level, as the API server's metrics label it.
    pub fn priority_level(&self) -> String {
        format!("kuul-throttle-{}-{}", self.namespace, self.account)
    }

    fn script(args: &[&str]) -> std::process::Output {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("cluster/throttle");
        let state = kubeconfig()
            .ancestors()
            .nth(3)
            .expect("the kubeconfig is in the cluster's state folder")
            .to_path_buf();
        std::process::Command::new(&script)
            .args(args)
            .env("KUUL_CLUSTER_DIR", state)
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", script.display()))
    }
}

impl Drop for Throttled {
    fn drop(&mut self) {
        let output = Self::script(&["--delete", &self.namespace, &self.account]);
        if !output.status.success() {
            eprintln!(
                "warning: cannot remove the throttling of {}: {}",
                self.account,
                text(&output.stderr)
            );
        }
    }
}

/// Starts the manual run `run` of the `CronJob` `job` in `ns` as `kubectl create job
/// --from` does, and waits until the Job controller has made it active (its pod made).
///
/// # Panics
///
/// When kubectl fails or the run is not active within 30 s.
pub async fn start_manual_run(ns: &TestNamespace, job: &str, run: &str) {
    use k8s_openapi::api::batch::v1::Job;
    kubectl_ok(&[
        "-n",
        ns.name(),
        "create",
        "job",
        run,
        &format!("--from=cronjob/{job}"),
    ]);
    let jobs: Api<Job> = Api::namespaced(ns.client(), ns.name());
    let active = |job: Option<&Job>| {
        job.and_then(|j| j.status.as_ref())
            .and_then(|s| s.active)
            .is_some_and(|n| n > 0)
    };
    tokio::time::timeout(
        Duration::from_secs(30),
        kube::runtime::wait::await_condition(jobs, run, active),
    )
    .await
    .expect("the run got a pod in time")
    .expect("watch the run");
}

/// A Job of the `CronJob` `owner` in `namespace` that the Job controller leaves alone
/// ([`TEST_JOB_MANAGER`]), started `ago` and still active: a run in progress whose
/// status and pods the test makes itself.
///
/// # Panics
///
/// When it cannot be created or its status written.
pub async fn active_test_run(
    client: Client,
    namespace: &str,
    owner: &k8s_openapi::api::batch::v1::CronJob,
    name: &str,
    ago: Duration,
) -> k8s_openapi::api::batch::v1::Job {
    use k8s_openapi::api::batch::v1::Job;
    use kube::api::{Patch, PatchParams};
    let jobs: Api<Job> = Api::namespaced(client, namespace);
    let kuul_job = owner.metadata.name.clone().expect("a named CronJob");
    let job: Job = serde_json::from_value(json!({
        "metadata": {
            "name": name,
            "labels": { "kuul.io/job": kuul_job },
            "ownerReferences": [{
                "apiVersion": "batch/v1", "kind": "CronJob", "name": kuul_job,
                "uid": owner.metadata.uid, "controller": true
            }]
        },
        "spec": {
            "managedBy": TEST_JOB_MANAGER,
            "template": {
                "metadata": { "labels": { "kuul.io/job": kuul_job } },
                "spec": { "restartPolicy": "Never",
                    "containers": [{ "name": "work", "image": "kuul-base:busybox" }] }
            }
        }
    }))
    .expect("a valid Job");
    jobs.create(&PostParams::default(), &job)
        .await
        .unwrap_or_else(|e| panic!("create Job {name}: {e}"));
    let started = k8s_openapi::jiff::Timestamp::now()
        .checked_sub(ago)
        .and_then(|at| at.round(k8s_openapi::jiff::Unit::Second))
        .expect("a start time");
    jobs.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({ "status": { "startTime": started.to_string(), "active": 1 } })),
    )
    .await
    .unwrap_or_else(|e| panic!("set the status of Job {name}: {e}"))
}

/// Has kwok serve `file` (CRI log format) as the log of container `work` of `pod` in
/// `namespace`, following it as it grows when `follow`: kwok's Logs object.
///
/// # Panics
///
/// When the Logs object cannot be made.
pub async fn serve_kwok_log(client: Client, namespace: &str, pod: &str, file: &Path, follow: bool) {
    let gvk = GroupVersionKind::gvk("kwok.x-k8s.io", "v1alpha1", "Logs");
    let logs: Api<DynamicObject> = Api::namespaced_with(
        client,
        namespace,
        &ApiResource::from_gvk_with_plural(&gvk, "logs"),
    );
    let object: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "Logs",
        "metadata": { "name": pod },
        "spec": { "logs": [{ "containers": ["work"], "logsFile": file, "follow": follow }] }
    }))
    .expect("a valid Logs object");
    logs.create(&PostParams::default(), &object)
        .await
        .unwrap_or_else(|e| panic!("create the Logs object of {pod}: {e}"));
}

/// Waits up to `limit` until the Job `name` in `namespace` has failed as a stopped run
/// does (`kubectl kuul stop`, `--stop-running`): a true `Failed` condition with reason
/// `DeadlineExceeded`, and kuul's `kuul.io/stopped-at` annotation; returns it.
///
/// # Panics
///
/// When it has not within `limit`.
pub async fn until_stopped(
    client: Client,
    namespace: &str,
    name: &str,
    limit: Duration,
) -> k8s_openapi::api::batch::v1::Job {
    use k8s_openapi::api::batch::v1::Job;
    let jobs: Api<Job> = Api::namespaced(client, namespace);
    eventually(limit, &format!("Job {name} failed as stopped"), || async {
        let job = jobs.get(name).await.ok()?;
        let failed = job.status.as_ref()?.conditions.as_ref()?.iter().any(|c| {
            c.type_ == "Failed"
                && c.status == "True"
                && c.reason.as_deref() == Some("DeadlineExceeded")
        });
        let marked = job
            .metadata
            .annotations
            .as_ref()
            .is_some_and(|a| a.contains_key("kuul.io/stopped-at"));
        (failed && marked).then_some(job)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_are_dns_labels_and_differ() {
        let a = unique_name("Run_Now");
        let b = unique_name("Run_Now");
        assert_ne!(a, b);
        assert!(a.starts_with("run-now-"), "{a}");
        let long = unique_name(&"x".repeat(100));
        assert!(long.len() <= 63, "{long}");
    }
}
