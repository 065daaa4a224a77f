//! The kuul configuration: a team's defaults (registry, namespace, pool label key,
//! resources, history limits, starting deadline), so that flags stay short.
//!
//! Settings come from, first match wins for each key: flags, `--config FILE` or
//! `./kuul.yaml`, `$KUUL_CONFIG`, `~/.config/kuul/config.yaml`, built-in defaults. A key
//! kuul does not know is an error naming it, because a misspelt default that silently
//! does nothing is worse than no default. Reading files is kept apart from merging them,
//! so the precedence is tested without touching the file system.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::Error;
use crate::kuul_job::{
    Defaults, Invalid, check_label_key, check_namespace, check_quantity, check_registry,
};
use crate::yaml;

/// The file name looked for in the current directory.
pub const LOCAL_FILE: &str = "kuul.yaml";
/// The environment variable naming a config file.
pub const ENV_VAR: &str = "KUUL_CONFIG";

/// One config file's settings; every key is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConfigFile {
    /// Registry host (and path) prefixed to image references that name none.
    pub registry: Option<String>,
    /// Namespace used when `-n` is not given.
    pub namespace: Option<String>,
    /// The node label that holds the pool (default `kuul.io/pool`).
    pub pool_label_key: Option<String>,
    pub resources: Option<Resources>,
    pub history_limits: Option<HistoryLimits>,
    pub starting_deadline_seconds: Option<i64>,
    /// The store `archive` writes to when `--to` is not given, e.g. `s3://bucket/prefix`.
    pub archive: Option<String>,
}

/// Default CPU and memory (requests and limits alike).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    pub cpu: Option<String>,
    pub memory: Option<String>,
}

/// How many finished runs to keep.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryLimits {
    pub successful: Option<i32>,
    pub failed: Option<i32>,
}

/// The merged configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub defaults: Defaults,
    pub namespace: Option<String>,
    /// The archive's store URL, unchecked (`archive` checks it as it checks `--to`).
    pub archive: Option<String>,
}

impl Config {
    /// Merges files given highest precedence first over the built-in defaults.
    pub fn merge(files: &[ConfigFile]) -> Self {
        fn first<T: Clone>(
            files: &[ConfigFile],
            get: impl Fn(&ConfigFile) -> Option<T>,
        ) -> Option<T> {
            files.iter().find_map(get)
        }
        let built_in = Defaults::default();
        let defaults = Defaults {
            registry: first(files, |f| f.registry.clone()),
            pool_label_key: first(files, |f| f.pool_label_key.clone())
                .unwrap_or(built_in.pool_label_key),
            cpu: first(files, |f| f.resources.as_ref()?.cpu.clone()).unwrap_or(built_in.cpu),
            memory: first(files, |f| f.resources.as_ref()?.memory.clone())
                .unwrap_or(built_in.memory),
            history_success: first(files, |f| f.history_limits.as_ref()?.successful)
                .unwrap_or(built_in.history_success),
            history_failed: first(files, |f| f.history_limits.as_ref()?.failed)
                .unwrap_or(built_in.history_failed),
            starting_deadline_seconds: first(files, |f| f.starting_deadline_seconds)
                .unwrap_or(built_in.starting_deadline_seconds),
        };
        Self {
            defaults,
            namespace: first(files, |f| f.namespace.clone()),
            archive: first(files, |f| f.archive.clone()),
        }
    }

    /// Reads the config files that exist, in precedence order, and merges them.
    /// `explicit` is `--config`; it, like `$KUUL_CONFIG`, must exist when given.
    pub fn load(explicit: Option<&Path>) -> Result<Self, Error> {
        let mut files = Vec::new();
        for (path, required) in sources(explicit) {
            if let Some(file) = read(&path, required)? {
                files.push(file);
            }
        }
        Ok(Self::merge(&files))
    }
}

/// The files to read, highest precedence first, and whether each must exist.
fn sources(explicit: Option<&Path>) -> Vec<(PathBuf, bool)> {
    let mut sources = vec![match explicit {
        Some(path) => (path.to_path_buf(), true),
        None => (PathBuf::from(LOCAL_FILE), false),
    }];
    if let Some(path) = std::env::var_os(ENV_VAR).filter(|v| !v.is_empty()) {
        sources.push((PathBuf::from(path), true));
    }
    if let Some(home) = std::env::home_dir() {
        sources.push((home.join(".config").join("kuul").join("config.yaml"), false));
    }
    sources
}

fn read(path: &Path, required: bool) -> Result<Option<ConfigFile>, Error> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && !required => return Ok(None),
        Err(error) => {
            return Err(Error::InvalidInput {
                message: format!(
                    "cannot read kuul config {}: {}",
                    path.display(),
                    crate::error::io_cause(&error)
                ),
                hint: Some(format!("check --config or ${ENV_VAR}")),
            });
        }
    };
    parse(&text, path).map(Some)
}

/// What a config file looks like, for the hint of a file that does not read.
const SHAPE: &str = "a kuul config file is a mapping of settings, e.g. `registry: registry.example.com` and `resources: {cpu: 500m}`";

/// What a key of a config file takes, as the hint when its value has the wrong type.
fn key_hint(key: &str) -> Option<&'static str> {
    Some(match key {
        "resources" => "resources: {cpu: 500m, memory: 512Mi}",
        "historyLimits" => "historyLimits: {successful: N, failed: N}",
        "historyLimits.successful" | "historyLimits.failed" => {
            "the number of runs to keep, 0 or more"
        }
        "startingDeadlineSeconds" => "a whole number of seconds, e.g. 300",
        "archive" => "the store archive writes to, e.g. `archive: s3://kuul-logs/prod`",
        _ => return None,
    })
}

/// Parses one config file and checks its values; `origin` names it in errors. A file
/// with nothing but comments sets nothing.
pub fn parse(text: &str, origin: &Path) -> Result<ConfigFile, Error> {
    if yaml::is_blank(text) {
        return Ok(ConfigFile::default());
    }
    let file: ConfigFile = serde_saphyr::from_str(text).map_err(|error| {
        let problem = yaml::problem(text, &error);
        Error::InvalidInput {
            message: format!(
                "kuul config {}{}: {problem}",
                origin.display(),
                problem.at_line()
            ),
            hint: Some(problem.hint(key_hint, SHAPE)),
        }
    })?;
    file.check().map_err(|invalid| Error::InvalidInput {
        message: format!(
            "kuul config {}: {}: {:?} {}",
            origin.display(),
            invalid.field,
            invalid.value,
            invalid.problem
        ),
        hint: Some(invalid.allowed),
    })?;
    Ok(file)
}

impl ConfigFile {
    /// Checks each value as the flag it stands in for is checked, naming it by its key,
    /// so that a bad default fails here and not as a flag the user never gave.
    fn check(&self) -> Result<(), Invalid> {
        if let Some(registry) = &self.registry {
            check_registry("registry", registry)?;
        }
        if let Some(namespace) = &self.namespace {
            check_namespace("namespace", namespace)?;
        }
        if let Some(key) = &self.pool_label_key {
            check_label_key("poolLabelKey", key)?;
        }
        if let Some(resources) = &self.resources {
            for (field, value) in [
                ("resources.cpu", &resources.cpu),
                ("resources.memory", &resources.memory),
            ] {
                if let Some(value) = value {
                    check_quantity(field, value)?;
                }
            }
        }
        if let Some(limits) = &self.history_limits {
            for (field, value) in [
                ("historyLimits.successful", limits.successful),
                ("historyLimits.failed", limits.failed),
            ] {
                if let Some(n) = value.filter(|n| *n < 0) {
                    return Err(Invalid {
                        field: field.to_owned(),
                        value: n.to_string(),
                        problem: "is negative".to_owned(),
                        allowed: "the number of runs to keep, 0 or more".to_owned(),
                    });
                }
            }
        }
        if let Some(seconds) = self.starting_deadline_seconds.filter(|s| *s <= 0) {
            return Err(Invalid {
                field: "startingDeadlineSeconds".to_owned(),
                value: seconds.to_string(),
                problem: "is not a positive number of seconds".to_owned(),
                allowed: "a whole number of seconds, more than 0, e.g. 300".to_owned(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> ConfigFile {
        parse(text, Path::new("kuul.yaml")).unwrap()
    }

    #[test]
    fn built_in_defaults_without_files() {
        let config = Config::merge(&[]);
        assert_eq!(config.defaults, Defaults::default());
        assert_eq!(config.namespace, None);
    }

    #[test]
    fn each_key_comes_from_the_first_file_that_sets_it() {
        let local = file("resources:\n  cpu: 250m\nnamespace: ops\n");
        let env = file("resources:\n  cpu: 1\n  memory: 1Gi\nregistry: r.example.com\n");
        let home = file(
            "poolLabelKey: kuul-type\nnamespace: home\nhistoryLimits:\n  failed: 5\nstartingDeadlineSeconds: 60\n",
        );
        let config = Config::merge(&[local, env, home]);
        assert_eq!(config.defaults.cpu, "250m");
        assert_eq!(config.defaults.memory, "1Gi");
        assert_eq!(config.defaults.registry.as_deref(), Some("r.example.com"));
        assert_eq!(config.defaults.pool_label_key, "kuul-type");
        assert_eq!(config.defaults.history_failed, 5);
        assert_eq!(config.defaults.history_success, 3);
        assert_eq!(config.defaults.starting_deadline_seconds, 60);
        assert_eq!(config.namespace.as_deref(), Some("ops"));
        assert_eq!(config.archive, None);
        let archive = file("archive: s3://kuul-logs/prod\n");
        let config = Config::merge(&[file("namespace: ops\n"), archive]);
        assert_eq!(config.archive.as_deref(), Some("s3://kuul-logs/prod"));
        let error = parse("archive: [s3]\n", Path::new("k")).unwrap_err();
        assert!(
            error
                .hint()
                .unwrap()
                .contains("archive: s3://kuul-logs/prod"),
            "{error}"
        );
    }

    #[test]
    fn unknown_keys_are_named() {
        let error = parse("registry: r\nregistery: typo\n", Path::new("/x/kuul.yaml")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "kuul config /x/kuul.yaml:2: unknown key \"registery\""
        );
        assert!(error.hint().unwrap().contains("registry, namespace"));
        assert_eq!(error.exit_status(), crate::error::ExitStatus::Usage);
        let nested = parse("resources:\n  gpu: 1\n", Path::new("k")).unwrap_err();
        assert_eq!(
            nested.to_string(),
            "kuul config k:2: resources: unknown key \"gpu\""
        );
    }

    #[test]
    fn values_are_checked_under_their_keys() {
        let error = |text: &str| parse(text, Path::new("k")).unwrap_err().to_string();
        assert_eq!(
            error("resources: {cpu: lots}\n"),
            "kuul config k: resources.cpu: \"lots\" is not a Kubernetes quantity"
        );
        assert_eq!(
            error("historyLimits: {failed: -1}\n"),
            "kuul config k: historyLimits.failed: \"-1\" is negative"
        );
        assert_eq!(
            error("startingDeadlineSeconds: 0\n"),
            "kuul config k: startingDeadlineSeconds: \"0\" is not a positive number of seconds"
        );
        assert_eq!(
            error("registry: https://r.example.com\n"),
            "kuul config k: registry: \"https://r.example.com\" has a scheme: a registry is named without https://"
        );
        assert!(error("namespace: Ops\n").contains("namespace: \"Ops\""));
        assert!(error("poolLabelKey: a b\n").contains("poolLabelKey: \"a b\""));
        assert_eq!(
            parse("# later\n", Path::new("k")).unwrap(),
            ConfigFile::default()
        );
    }

    #[test]
    fn explicit_file_must_exist_and_replaces_the_local_one() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.yaml");
        let error = Config::load(Some(&missing)).unwrap_err();
        assert!(error.to_string().contains("nope.yaml"), "{error}");
        let path = dir.path().join("team.yaml");
        std::fs::write(&path, "resources: {memory: 256Mi}\n").unwrap();
        assert_eq!(sources(Some(&path))[0], (path.clone(), true));
        assert_eq!(sources(None)[0], (PathBuf::from(LOCAL_FILE), false));
        let config = Config::load(Some(&path)).unwrap();
        assert_eq!(config.defaults.memory, "256Mi");
    }
}
