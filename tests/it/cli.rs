//! The command line of every kuul binary, without a cluster: help, versions, usage
//! errors, and how kubeconfig problems and unreachable clusters are reported.
//!
//! Needs the binaries built first: `cargo build --workspace --bins`.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use kuul_tests::bin;
use predicates::prelude::*;
use tempfile::TempDir;

/// Every binary and the command line its usage shows.
const BINARIES: [(&str, &str); 8] = [
    ("kubectl-kuul", "kubectl kuul"),
    ("kubectl-kuul-new", "kubectl kuul new"),
    ("kubectl-kuul-run_now", "kubectl kuul run-now"),
    ("kubectl-kuul-suspend", "kubectl kuul suspend"),
    ("kubectl-kuul-resume", "kubectl kuul resume"),
    ("kubectl-kuul-prune", "kubectl kuul prune"),
    ("kubectl-kuul-label_nodes", "kubectl kuul label-nodes"),
    ("kubectl-kuul-image", "kubectl kuul image"),
];

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A binary run isolated from the developer's own kubeconfig.
fn kuul(name: &str, home: &Path) -> Command {
    let mut command = Command::new(bin(name));
    command.env_remove("KUBECONFIG").env("HOME", home);
    command
}

fn umbrella(home: &Path) -> Command {
    kuul("kubectl-kuul", home)
}

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A kubeconfig whose clusters listen nowhere: port 1 on loopback refuses connections.
struct Kubeconfigs {
    dir: TempDir,
}

impl Kubeconfigs {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn home(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, file: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(file);
        fs::write(&path, text).unwrap();
        path
    }

    /// Two contexts, `first` (current) and `second`, both at https://127.0.0.1:1.
    fn two_contexts(&self) -> PathBuf {
        self.write(
            "two-contexts",
            r"
apiVersion: v1
kind: Config
current-context: first
clusters:
- name: nowhere
  cluster:
    server: https://127.0.0.1:1
contexts:
- name: first
  context: {cluster: nowhere, user: someone}
- name: second
  context: {cluster: nowhere, user: someone, namespace: ops}
users:
- name: someone
  user: {token: not-a-real-token}
",
        )
    }
}

#[test]
fn every_binary_answers_help_with_its_kubectl_command_line() {
    let home = tempfile::tempdir().unwrap();
    for (name, command_line) in BINARIES {
        kuul(name, home.path())
            .arg("--help")
            .assert()
            .success()
            .stdout(predicate::str::contains(format!("Usage: {command_line} ")));
    }
}

#[test]
fn every_binary_answers_version() {
    let home = tempfile::tempdir().unwrap();
    for (name, command_line) in BINARIES {
        // e.g. `kubectl-kuul-run-now 0.1.0 (commit abc1234)`; `unknown` without git.
        let expected = format!(
            r"^{} {} \(commit ([0-9a-f]{{7,}}|unknown)\)\n$",
            command_line.replace(' ', "-"),
            VERSION.replace('.', r"\.")
        );
        kuul(name, home.path())
            .arg("--version")
            .assert()
            .success()
            .stdout(predicate::str::is_match(expected).unwrap());
    }
}

#[test]
fn every_binary_rejects_an_unknown_flag_with_exit_2() {
    let home = tempfile::tempdir().unwrap();
    for (name, _) in BINARIES {
        kuul(name, home.path())
            .arg("--no-such-flag")
            .assert()
            .code(2)
            .stderr(predicate::str::contains("--no-such-flag"));
    }
}

#[test]
fn thin_binaries_and_umbrella_subcommands_print_the_same_help() {
    let home = tempfile::tempdir().unwrap();
    for (name, command_line) in &BINARIES[1..] {
        let subcommand = command_line.rsplit(' ').next().unwrap();
        let thin = kuul(name, home.path()).arg("--help").output().unwrap();
        let umbrella = umbrella(home.path())
            .args([subcommand, "--help"])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&thin.stdout),
            String::from_utf8_lossy(&umbrella.stdout),
            "{name} --help differs from kubectl-kuul {subcommand} --help"
        );
    }
}

#[test]
fn version_client_needs_no_cluster() {
    let home = tempfile::tempdir().unwrap();
    umbrella(home.path())
        .args(["version", "--client"])
        .assert()
        .success()
        .stdout(format!("Client Version: v{VERSION}\n"))
        .stderr("");
    let output = umbrella(home.path())
        .args(["version", "--client", "-o", "json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["clientVersion"]["gitVersion"], format!("v{VERSION}"));
    assert!(json.get("serverVersion").is_none());
}

#[test]
fn missing_kubeconfig_file_is_named_in_one_line() {
    let home = tempfile::tempdir().unwrap();
    umbrella(home.path())
        .args(["version", "--kubeconfig", "/nonexistent"])
        .assert()
        .code(1)
        .stdout(format!("Client Version: v{VERSION}\n"))
        .stderr("error: cannot read kubeconfig /nonexistent: no such file or directory\n");
}

#[test]
fn unknown_context_is_named_with_the_available_ones() {
    let configs = Kubeconfigs::new();
    let kubeconfig = configs.two_contexts();
    umbrella(configs.home())
        .args(["version", "--context", "nope", "--kubeconfig"])
        .arg(&kubeconfig)
        .assert()
        .code(1)
        .stderr(format!(
            "error: context \"nope\" not found in kubeconfig {} (available: first, second)\n",
            kubeconfig.display()
        ));
}

#[test]
fn unreachable_server_is_one_sentence_naming_server_and_context() {
    let configs = Kubeconfigs::new();
    let kubeconfig = configs.two_contexts();
    let output = umbrella(configs.home())
        .args(["version", "--context", "second", "--kubeconfig"])
        .arg(&kubeconfig)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr_of(&output);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines[0],
        "error: cannot reach the Kubernetes API server at https://127.0.0.1:1/ (context \"second\"): connection refused",
        "{stderr}"
    );
    assert!(
        lines.len() == 1 || (lines.len() == 2 && lines[1].starts_with("hint: ")),
        "{stderr}"
    );
}

#[test]
fn kubeconfig_env_merges_its_files_like_kubectl() {
    let configs = Kubeconfigs::new();
    let first = configs.two_contexts();
    let second = configs.write(
        "only-in-second",
        r"
apiVersion: v1
kind: Config
current-context: elsewhere
clusters:
- name: other
  cluster:
    server: https://127.0.0.1:2
contexts:
- name: third
  context: {cluster: other, user: someone-else}
users:
- name: someone-else
  user: {token: not-a-real-token}
",
    );
    let missing = configs.home().join("missing");
    let list = std::env::join_paths([&first, &missing, &second]).unwrap();
    // A context defined only in the second file is found, so the error is the
    // connection to its server, not an unknown context.
    umbrella(configs.home())
        .env("KUBECONFIG", &list)
        .args(["version", "--context", "third"])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with(
            "error: cannot reach the Kubernetes API server at https://127.0.0.1:2/ (context \"third\")",
        ));
    // The first file's current-context wins, as in kubectl.
    umbrella(configs.home())
        .env("KUBECONFIG", &list)
        .arg("version")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("(context \"first\")"));
}

#[test]
fn no_kubeconfig_at_all_says_where_it_looked() {
    let home = tempfile::tempdir().unwrap();
    umbrella(home.path())
        .arg("version")
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with(
            "error: no kubeconfig found: KUBECONFIG is not set and ",
        ))
        .stderr(predicate::str::contains(
            "hint: pass --kubeconfig PATH or set KUBECONFIG",
        ));
}

#[test]
fn closed_stdout_ends_quietly_with_exit_0() {
    let home = tempfile::tempdir().unwrap();
    for args in [
        &["version", "--client"][..],
        &["version", "--client", "-o", "yaml"],
        &["--help"],
    ] {
        // A pipe whose reading end is closed before kuul starts, as after `| head`: kuul's
        // first write meets a broken pipe.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let output = std::process::Command::new(bin("kubectl-kuul"))
            .args(args)
            .env_remove("KUBECONFIG")
            .env("HOME", home.path())
            .stdout(writer)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{args:?}: {output:?}");
        assert_eq!(stderr_of(&output), "", "{args:?}");
    }
}

#[cfg(unix)]
mod exec_auth {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn script(configs: &Kubeconfigs, body: &str) -> PathBuf {
        let path = configs.write("credential-plugin", &format!("#!/bin/sh\n{body}"));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn exec_kubeconfig(configs: &Kubeconfigs, plugin: &Path) -> PathBuf {
        configs.write(
            "exec",
            &format!(
                r"
apiVersion: v1
kind: Config
current-context: cloud
clusters:
- name: nowhere
  cluster:
    server: https://127.0.0.1:1
contexts:
- name: cloud
  context: {{cluster: nowhere, user: cloud-user}}
users:
- name: cloud-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: {}
      interactiveMode: Never
",
                plugin.display()
            ),
        )
    }

    #[test]
    fn exec_plugin_runs_before_the_connection_is_tried() {
        let configs = Kubeconfigs::new();
        let marker = configs.home().join("plugin-ran");
        let plugin = script(
            &configs,
            &format!(
                "touch '{}'\necho '{{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"from-plugin\"}}}}'\n",
                marker.display()
            ),
        );
        let kubeconfig = exec_kubeconfig(&configs, &plugin);
        umbrella(configs.home())
            .args(["version", "--kubeconfig"])
            .arg(&kubeconfig)
            .assert()
            .code(1)
            .stderr(predicate::str::starts_with(
                "error: cannot reach the Kubernetes API server at https://127.0.0.1:1/ (context \"cloud\"): connection refused",
            ));
        assert!(marker.exists(), "the exec credential plugin was not run");
    }

    #[test]
    fn failing_exec_plugin_is_a_credentials_error() {
        let configs = Kubeconfigs::new();
        let plugin = script(&configs, "echo 'token expired, log in again' >&2\nexit 3\n");
        let kubeconfig = exec_kubeconfig(&configs, &plugin);
        umbrella(configs.home())
            .args(["version", "--kubeconfig"])
            .arg(&kubeconfig)
            .assert()
            .code(1)
            .stderr(
                "error: cannot get credentials for context \"cloud\": the exec credential plugin \
                 failed (exit status: 3): token expired, log in again\n",
            );
    }
}
