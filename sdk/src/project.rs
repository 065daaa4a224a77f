//! `kuul-image.yaml`: what a Kuul image is called, how it is built, and how it is tested.
//!
//! The file is written by hand, so every mistake must point at its line: values that need
//! checking (quantities, durations, regular expressions, the network) are typed so that
//! they are checked while the YAML is read, and the parser's location (`file:line`) ends up
//! in the error. Unknown keys are errors too, since a misspelt `exitcode` would otherwise
//! silently test nothing.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kuul_core::cli::parse_request_timeout;
use kuul_core::kuul_job::check_registry;
use kuul_core::{Error, quantity, yaml};
use serde::Deserialize;

/// The file name of a Kuul image project's description.
pub const FILE: &str = "kuul-image.yaml";

/// Where to see every key of the file, as a hint.
const EXAMPLE: &str =
    "`kubectl kuul image init NAME --dir DIR` writes an example kuul-image.yaml with every key";

/// A Kuul image project, as described by its `kuul-image.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Project {
    /// The image's repository name, e.g. `backup-image`.
    pub name: ImageName,
    /// The version tag, e.g. `1.4.0`.
    pub version: Tag,
    /// Where `push` sends the image, e.g. `registry.example.com/ops` (optional).
    #[serde(default)]
    pub registry: Option<String>,
    /// `--build-arg` defaults.
    #[serde(default)]
    pub build_args: BTreeMap<String, String>,
    /// The test cases `image test` runs.
    #[serde(default)]
    pub tests: Vec<Case>,
}

/// One test case: a container run as a pod would run it, and what it must do.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Case {
    pub name: String,
    /// The pod's `command`: replaces the image's entrypoint.
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// The pod's `args`: replaces the image's cmd.
    #[serde(default)]
    pub args: Option<Vec<String>>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub working_dir: Option<String>,
    /// `UID`, `UID:GID` or a user name known to the image.
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub resources: Resources,
    /// Kill the container after this long, e.g. `30s`.
    #[serde(default)]
    pub timeout: Option<KuulDuration>,
    #[serde(default)]
    pub network: Network,
    #[serde(default)]
    pub expect: Expect,
}

/// CPU and memory limits, as Kubernetes quantities.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    #[serde(default)]
    pub cpu: Option<Cpu>,
    #[serde(default)]
    pub memory: Option<Memory>,
}

/// The container's network: what a pod on a node can reach, or nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    #[default]
    Bridge,
    None,
}

impl Network {
    /// Docker's name for it.
    pub fn docker_mode(self) -> &'static str {
        match self {
            Network::Bridge => "bridge",
            Network::None => "none",
        }
    }
}

/// What a case must do to pass.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Expect {
    /// Default 0.
    #[serde(default)]
    pub exit_code: i64,
    #[serde(default)]
    pub stdout: TextExpect,
    #[serde(default)]
    pub stderr: TextExpect,
    #[serde(default)]
    pub max_duration: Option<KuulDuration>,
    /// What the container wrote to /dev/termination-log.
    #[serde(default)]
    pub termination_message: Option<TextExpect>,
}

/// Checks on a text: every `contains` and `matches` must hold, no `notContains` may.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TextExpect {
    #[serde(default)]
    pub contains: Vec<String>,
    #[serde(default)]
    pub matches: Vec<Pattern>,
    #[serde(default)]
    pub not_contains: Vec<String>,
}

/// A regular expression, compiled when the file is read.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct Pattern(pub regex::Regex);

impl TryFrom<String> for Pattern {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        regex::Regex::new(&text).map(Pattern).map_err(|e| {
            // The regex crate draws the pattern with a caret; its last line says why.
            let why = e.to_string();
            let why = why
                .lines()
                .last()
                .unwrap_or_default()
                .trim_start_matches("error: ");
            format!("{text:?} is not a regular expression: {why}")
        })
    }
}

/// A duration written as kubectl writes them: `30s`, `5m`, `1h30m`, or seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct KuulDuration(pub Duration);

impl TryFrom<String> for KuulDuration {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        match parse_request_timeout(&text) {
            Ok(kuul_core::cli::RequestTimeout(Some(duration))) => Ok(KuulDuration(duration)),
            Ok(kuul_core::cli::RequestTimeout(None)) => Err(format!(
                "{text:?} is zero: give a duration above zero, such as 30s, 5m or 1h30m"
            )),
            Err(_) => Err(format!(
                "{text:?} is not a duration such as 30s, 5m or 1h30m (or a number of seconds)"
            )),
        }
    }
}

/// A memory limit in bytes, written as a Kubernetes quantity (`64Mi`, `1Gi`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Memory(pub i64);

impl TryFrom<String> for Memory {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        parse_memory(&text).map(Memory)
    }
}

/// A CPU limit in nano-CPUs, written as a Kubernetes quantity (`500m`, `2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Cpu(pub i64);

impl TryFrom<String> for Cpu {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        parse_cpu(&text).map(Cpu)
    }
}

/// An image repository name: lower-case letters, digits and `.`, `_`, `-`, `/`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct ImageName(pub String);

impl TryFrom<String> for ImageName {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        check_image_name(&text).map(|()| ImageName(text))
    }
}

impl fmt::Display for ImageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An image tag: letters, digits, `_`, `.`, `-`, at most 128, not starting with `.` or `-`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Tag(pub String);

impl TryFrom<String> for Tag {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let valid = !text.is_empty()
            && text.len() <= 128
            && !text.starts_with(['.', '-'])
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if valid {
            Ok(Tag(text))
        } else {
            Err(format!(
                "{text:?} is not a Docker tag: letters, digits, '_', '.' and '-', at most 128, \
                 not starting with '.' or '-', e.g. 1.4.0"
            ))
        }
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a repository name as Docker accepts it (without registry or tag).
pub fn check_image_name(text: &str) -> Result<(), String> {
    let component_ok = |c: &str| {
        !c.is_empty()
            && c.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && c.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
            && c.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            })
    };
    if !text.is_empty() && text.len() <= 128 && text.split('/').all(component_ok) {
        Ok(())
    } else {
        Err(format!(
            "{text:?} is not an image name: lower-case letters, digits, '.', '_' and '-' \
             (starting and ending with a letter or digit), parts separated by '/'"
        ))
    }
}

/// Bytes of a memory quantity (`64Mi`), rounded up as Kubernetes does.
pub fn parse_memory(text: &str) -> Result<i64, String> {
    let invalid = || format!("{text:?} is not a memory size such as 64Mi, 1Gi or 500M");
    let value = quantity::value(text).ok_or_else(invalid)?;
    if value < 1.0 {
        return Err(invalid());
    }
    // Quantities fit in i64 for any memory a container can have.
    #[allow(clippy::cast_possible_truncation)]
    Ok(value.ceil() as i64)
}

/// Nano-CPUs of a CPU quantity (`500m` is 500 000 000).
pub fn parse_cpu(text: &str) -> Result<i64, String> {
    let invalid =
        || format!("{text:?} is not a CPU quantity of at least 1m, such as 250m, 0.5 or 2");
    let value = quantity::value(text).ok_or_else(invalid)?;
    // Kubernetes' CPU resolution is 1m.
    if value < 1e-3 {
        return Err(invalid());
    }
    #[allow(clippy::cast_possible_truncation)]
    Ok((value * 1e9).round() as i64)
}

impl Project {
    /// Reads `kuul-image.yaml` from `dir`.
    pub fn load(dir: &Path) -> Result<Self, Error> {
        let path = dir.join(FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::InvalidInput {
            message: format!(
                "cannot read {}: {}",
                path.display(),
                kuul_core::error::io_cause(&e)
            ),
            hint: Some(format!(
                "run this in a Kuul image project (one with {FILE}), pass --dir, or create one with `kubectl kuul image init NAME`"
            )),
        })?;
        Self::parse(&text, &path)
    }

    /// Parses and validates the text of `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Self, Error> {
        if yaml::is_blank(text) {
            return Err(Error::InvalidInput {
                message: format!(
                    "{}: has no content: the file is empty or only comments",
                    path.display()
                ),
                hint: Some(format!(
                    "{FILE} needs at least name: and version:; {EXAMPLE}"
                )),
            });
        }
        let project: Project = serde_saphyr::from_str(text).map_err(|error| {
            let problem = yaml::problem(text, &error);
            // `tests.expect.exitCode` in case `works` reads as that case's `expect.exitCode`.
            let (case, key) = match (problem.key.as_deref(), &problem.item) {
                (Some("tests"), Some(case)) => (Some(case), None),
                (Some(key), Some(case)) if key.starts_with("tests.") => {
                    (Some(case), Some(&key["tests.".len()..]))
                }
                (key, _) => (None, key),
            };
            let case = case.map_or_else(String::new, |c| format!(" test case {c:?}:"));
            let key = key.map_or_else(String::new, |k| format!(" {k}:"));
            Error::InvalidInput {
                message: format!(
                    "{}{}:{case}{key} {}",
                    path.display(),
                    problem.at_line(),
                    problem.message
                ),
                hint: Some(problem.hint(key_hint, EXAMPLE)),
            }
        })?;
        project.check(path)?;
        Ok(project)
    }

    /// The checks that span several values, or need kuul's own validators.
    fn check(&self, path: &Path) -> Result<(), Error> {
        let invalid = |message: String, hint: &str| Error::InvalidInput {
            message: format!("{}: {message}", path.display()),
            hint: Some(hint.to_owned()),
        };
        let env_rule = "letters, digits, '_', '-' and '.', not starting with a digit, e.g. DB_HOST";
        if let Some(registry) = &self.registry {
            check_registry("registry", registry).map_err(|bad| {
                invalid(
                    format!("registry: {:?} {}", bad.value, bad.problem),
                    &bad.allowed,
                )
            })?;
        }
        let mut seen = std::collections::BTreeSet::new();
        for case in &self.tests {
            if case.name.trim().is_empty() {
                return Err(invalid(
                    "a test case has an empty name".to_owned(),
                    "every case has a name of its own, e.g. name: works",
                ));
            }
            if !seen.insert(case.name.as_str()) {
                return Err(invalid(
                    format!("test case {:?} is defined twice", case.name),
                    "every case has a name of its own: rename or remove one",
                ));
            }
            if let Some(bad) = case.env.keys().find(|k| !valid_env_name(k)) {
                return Err(invalid(
                    format!(
                        "test case {:?}: env: {bad:?} is not a valid variable name",
                        case.name
                    ),
                    env_rule,
                ));
            }
        }
        if let Some(bad) = self.build_args.keys().find(|k| !valid_env_name(k)) {
            return Err(invalid(
                format!("buildArgs: {bad:?} is not a valid variable name"),
                env_rule,
            ));
        }
        Ok(())
    }

    /// The local repository the image is tagged with: `registry/name` or `name`.
    pub fn repository(&self, registry: Option<&str>) -> String {
        match registry.or(self.registry.as_deref()) {
            Some(registry) => format!("{}/{}", registry.trim_end_matches('/'), self.name),
            None => self.name.0.clone(),
        }
    }

    /// `repository:version`, the image `test` runs unless told otherwise.
    pub fn image(&self, registry: Option<&str>) -> String {
        format!("{}:{}", self.repository(registry), self.version)
    }
}

/// What a key of `kuul-image.yaml` takes, as the hint when its value has the wrong type.
fn key_hint(key: &str) -> Option<&'static str> {
    Some(match key {
        "tests" => "a list of test cases, each `- name: NAME` with what it runs and expects",
        "tests.command" | "tests.args" => "a list of words, e.g. command: [/bin/sh, -c, 'echo hi']",
        "tests.env" => "a mapping of NAME: VALUE, e.g. env: {TARGET: staging}",
        "buildArgs" => {
            "a mapping of NAME: VALUE, e.g. buildArgs: {BASE_IMAGE: debian:bookworm-slim}"
        }
        "tests.expect.exitCode" => "the exit code the case must end with, e.g. exitCode: 3",
        _ => return None,
    })
}

/// Environment variable names as Kubernetes accepts them (C identifiers, plus `-` and `.`).
pub fn valid_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// The project directory from `--dir`, defaulting to the current one.
pub fn dir_or_current(dir: Option<&Path>) -> PathBuf {
    dir.map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Project, String> {
        Project::parse(text, Path::new("kuul-image.yaml")).map_err(|e| e.to_string())
    }

    const FULL: &str = r"
name: backup-image
version: 1.2.0
registry: registry.example.com/ops
buildArgs:
  BASE_IMAGE: debian:bookworm-slim
tests:
  - name: runs
    command: [/bin/sh, -c]
    args: ['echo hi']
    env: {TARGET: staging}
    workingDir: /tmp
    user: '1000:1000'
    resources: {cpu: 500m, memory: 64Mi}
    timeout: 1m30s
    network: none
    expect:
      exitCode: 3
      stdout: {contains: [hi], matches: ['^h.$'], notContains: [error]}
      stderr: {notContains: [panic]}
      maxDuration: 10s
      terminationMessage: {matches: ['^ok']}
  - name: defaults
";

    #[test]
    fn a_full_file_reads_with_every_key() {
        let project = parse(FULL).unwrap();
        assert_eq!(project.name.0, "backup-image");
        assert_eq!(
            project.image(None),
            "registry.example.com/ops/backup-image:1.2.0"
        );
        assert_eq!(
            project.image(Some("127.0.0.1:5000/")),
            "127.0.0.1:5000/backup-image:1.2.0"
        );
        let case = &project.tests[0];
        assert_eq!(case.resources.cpu, Some(Cpu(500_000_000)));
        assert_eq!(case.resources.memory, Some(Memory(64 * 1024 * 1024)));
        assert_eq!(case.timeout, Some(KuulDuration(Duration::from_secs(90))));
        assert_eq!(case.network, Network::None);
        assert_eq!(case.expect.exit_code, 3);
        assert!(case.expect.stdout.matches[0].0.is_match("hi"));
        let defaults = &project.tests[1];
        assert_eq!(defaults.network, Network::Bridge);
        assert_eq!(defaults.expect.exit_code, 0);
        assert!(defaults.command.is_none() && defaults.timeout.is_none());
    }

    #[test]
    fn unknown_keys_name_the_key_and_line() {
        let error =
            parse("name: x\nversion: '1'\ntests:\n  - name: a\n    exitcode: 1\n").unwrap_err();
        assert_eq!(
            error,
            "kuul-image.yaml:5: test case \"a\": unknown key \"exitcode\""
        );
    }

    #[test]
    fn invalid_values_name_the_case_key_value_and_line() {
        for (text, expected) in [
            (
                "name: x\nversion: '1'\ntests:\n  - name: a\n    resources: {memory: lots}\n",
                "kuul-image.yaml:5: test case \"a\": resources.memory: \"lots\" is not a memory size such as 64Mi, 1Gi or 500M",
            ),
            (
                "name: x\nversion: '1'\ntests:\n  - name: a\n    resources:\n      cpu: '-1'\n",
                "kuul-image.yaml:6: test case \"a\": resources.cpu: \"-1\" is not a CPU quantity of at least 1m, such as 250m, 0.5 or 2",
            ),
            (
                "name: x\nversion: '1'\ntests:\n  - name: a\n    timeout: soon\n",
                "kuul-image.yaml:5: test case \"a\": timeout: \"soon\" is not a duration such as 30s, 5m or 1h30m (or a number of seconds)",
            ),
            (
                "name: x\nversion: '1'\ntests:\n  - name: a\n    network: host\n",
                "kuul-image.yaml:5: test case \"a\": network: \"host\" is not allowed",
            ),
            (
                "name: x\nversion: '1'\ntests:\n  - name: a\n    expect:\n      stdout: {matches: ['(']}\n",
                "kuul-image.yaml:6: test case \"a\": expect.stdout.matches: \"(\" is not a regular expression: unclosed group",
            ),
            (
                "name: Backup\nversion: '1'\n",
                "kuul-image.yaml:1: name: \"Backup\" is not an image name: lower-case letters, digits, '.', '_' and '-' (starting and ending with a letter or digit), parts separated by '/'",
            ),
            (
                "name: x\nversion: -1\n",
                "kuul-image.yaml:2: version: \"-1\" is not a Docker tag: letters, digits, '_', '.' and '-', at most 128, not starting with '.' or '-', e.g. 1.4.0",
            ),
        ] {
            assert_eq!(parse(text).unwrap_err(), expected, "{text}");
        }
    }

    #[test]
    fn cross_checks_name_the_case() {
        let twice = parse("name: x\nversion: '1'\ntests:\n  - name: a\n  - name: a\n").unwrap_err();
        assert_eq!(twice, "kuul-image.yaml: test case \"a\" is defined twice");
        let env =
            parse("name: x\nversion: '1'\ntests:\n  - name: a\n    env: {'1X': y}\n").unwrap_err();
        assert_eq!(
            env,
            "kuul-image.yaml: test case \"a\": env: \"1X\" is not a valid variable name"
        );
        assert_eq!(
            parse("version: '1'\n").unwrap_err(),
            "kuul-image.yaml:1: missing key \"name\""
        );
        assert_eq!(
            parse("name: x\nversion: '1'\ntests: {}\n").unwrap_err(),
            "kuul-image.yaml:3: tests: expected a list (`- ITEM` lines, or [A, B]), found a mapping"
        );
        assert_eq!(
            parse("name: x\nversion: '1'\nregistry: https://r.example.com\n").unwrap_err(),
            "kuul-image.yaml: registry: \"https://r.example.com\" has a scheme: a registry is named without https://"
        );
        assert_eq!(
            parse("# soon\n").unwrap_err(),
            "kuul-image.yaml: has no content: the file is empty or only comments"
        );
    }

    #[test]
    fn quantities_convert_as_kubernetes_reads_them() {
        assert_eq!(parse_memory("128Mi"), Ok(134_217_728));
        assert_eq!(parse_memory("1G"), Ok(1_000_000_000));
        assert_eq!(parse_memory("1.5Ki"), Ok(1536));
        assert_eq!(parse_cpu("250m"), Ok(250_000_000));
        assert_eq!(parse_cpu("2"), Ok(2_000_000_000));
        assert_eq!(parse_cpu("0.5"), Ok(500_000_000));
        for bad in ["", "0", "1KB", "m", "1.2.3", "-5"] {
            assert!(parse_memory(bad).is_err(), "{bad}");
        }
    }
}
