//! Which archive a command uses, from its flags and the kuul config: the store (`--to` or
//! `--archive`, else the config's `archive:`), the S3 endpoint, and the cluster's name in
//! it. Every flag is checked before anything is read or sent ([`target`]); opening
//! ([`Target::open`]) reads the kubeconfig for the cluster's name and sends nothing.

use super::store::Store;
use super::{StoreUrl, check_cluster_name, cluster_folder, kubeconfig_cluster};
use crate::cli::{KubeArgs, StoreArgs};
use crate::config::Config;
use crate::error::Error;
use crate::kubeconfig;

/// An archive named on the command line or in the config, its flags checked.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: StoreUrl,
    endpoint: Option<String>,
    cluster_name: Option<String>,
}

/// An open archive: its store, and the name the cluster's runs are filed under.
#[derive(Clone)]
pub struct Archive {
    pub store: Store,
    /// The cluster's name as given (`--cluster-name`, or the kubeconfig's).
    pub cluster: String,
}

impl Archive {
    /// The cluster's folder in the store ([`cluster_folder`]).
    pub fn cluster_folder(&self) -> String {
        cluster_folder(&self.cluster)
    }
}

/// The archive `given` (the flag `flag`) names, else the config's `archive:`; `None`
/// when neither names one. `--endpoint` and `--cluster-name` are checked with it, and are
/// a mistake without an archive. Every mistake is a usage error, found before any I/O
/// but reading the config.
pub fn target(flag: &str, given: Option<&str>, flags: &StoreArgs) -> Result<Option<Target>, Error> {
    let (flag, text) = if let Some(text) = given {
        (flag, text.to_owned())
    } else if let Some(text) = Config::load(flags.config.as_deref())?.archive {
        ("archive (kuul config)", text)
    } else {
        let stray = [
            ("--endpoint", flags.endpoint.is_some()),
            ("--cluster-name", flags.cluster_name.is_some()),
        ];
        if let Some((stray, _)) = stray.iter().find(|(_, given)| *given) {
            return Err(Error::InvalidInput {
                message: format!("{stray} needs an archive, and none is named"),
                hint: Some(format!(
                    "pass {flag} s3://BUCKET/PREFIX or {flag} FOLDER, or set `archive:` in the kuul config"
                )),
            });
        }
        return Ok(None);
    };
    let cwd = std::env::current_dir().unwrap_or_default();
    let url = StoreUrl::parse(flag, &text, &cwd)?;
    if let Some(endpoint) = &flags.endpoint {
        if !url.is_s3() {
            return Err(Error::InvalidInput {
                message: format!("--endpoint is for s3:// stores, and {flag} is a folder"),
                hint: Some("drop --endpoint, or name an s3://BUCKET/PREFIX store".to_owned()),
            });
        }
        check_endpoint(endpoint)?;
    }
    if let Some(name) = &flags.cluster_name {
        check_cluster_name("--cluster-name", name)?;
    }
    Ok(Some(Target {
        url,
        endpoint: flags.endpoint.clone(),
        cluster_name: flags.cluster_name.clone(),
    }))
}

impl Target {
    /// Opens the store and settles the cluster's name: `--cluster-name`, else the
    /// kubeconfig cluster the connection flags select. In a pod, or with `--server` alone,
    /// there is no such name, and `--cluster-name` must say it.
    pub fn open(&self, kube: &KubeArgs) -> Result<Archive, Error> {
        let cluster = if let Some(name) = &self.cluster_name {
            name.clone()
        } else {
            let found = kubeconfig::find(kube)?;
            kubeconfig_cluster(&found.kubeconfig, kube).ok_or_else(|| Error::InvalidInput {
                message: format!(
                    "{} names no cluster to file the runs under in the archive",
                    found.origin
                ),
                hint: Some("pass --cluster-name NAME, e.g. prod-eu".to_owned()),
            })?
        };
        let store = Store::open(&self.url, self.endpoint.as_deref())?;
        Ok(Archive { store, cluster })
    }
}

/// `--endpoint` is an http or https URL with a host.
fn check_endpoint(endpoint: &str) -> Result<(), Error> {
    let host = endpoint
        .strip_prefix("https://")
        .or_else(|| endpoint.strip_prefix("http://"))
        .map(|rest| rest.split('/').next().unwrap_or_default());
    match host {
        Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => Ok(()),
        _ => Err(Error::InvalidInput {
            message: format!(
                "invalid --endpoint {endpoint:?}: it is not an http:// or https:// URL"
            ),
            hint: Some("e.g. --endpoint https://s3.eu-west-1.amazonaws.com".to_owned()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::try_parse;

    fn flags(words: &[&str]) -> StoreArgs {
        try_parse(words).unwrap()
    }

    #[test]
    fn bad_flags_are_usage_errors_before_anything_is_read() {
        for (given, words, message) in [
            (
                "gs://b/x",
                &[][..],
                "invalid --to \"gs://b/x\": kuul archives to s3:// and file:// stores, not gs://",
            ),
            (
                "/tmp/a",
                &["--endpoint", "http://x"],
                "--endpoint is for s3:// stores, and --to is a folder",
            ),
            (
                "s3://kuul-logs",
                &["--endpoint", "127.0.0.1:9000"],
                "invalid --endpoint \"127.0.0.1:9000\": it is not an http:// or https:// URL",
            ),
            (
                "s3://kuul-logs",
                &["--cluster-name", "a/b"],
                "invalid --cluster-name \"a/b\": it names a folder of the archive",
            ),
        ] {
            let error = target("--to", Some(given), &flags(words)).unwrap_err();
            assert_eq!(error.exit_status(), crate::error::ExitStatus::Usage);
            assert_eq!(error.to_string(), message);
        }
        let fine = flags(&["--endpoint", "http://127.0.0.1:18333"]);
        let fine = target("--to", Some("s3://kuul-logs/prod"), &fine).unwrap();
        assert!(fine.unwrap().url.is_s3());
    }

    #[test]
    fn without_a_flag_the_configs_archive_is_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("kuul.yaml");
        let path = config.to_str().unwrap();
        std::fs::write(&config, "namespace: ops\n").unwrap();
        assert!(
            target("--archive", None, &flags(&["--config", path]))
                .unwrap()
                .is_none()
        );
        let error = target(
            "--archive",
            None,
            &flags(&["--config", path, "--endpoint", "http://x"]),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "--endpoint needs an archive, and none is named"
        );
        std::fs::write(&config, "archive: s3://kuul-logs/from-config\n").unwrap();
        let found = target("--archive", None, &flags(&["--config", path])).unwrap();
        assert_eq!(found.unwrap().url.to_string(), "s3://kuul-logs/from-config");
        std::fs::write(&config, "archive: gs://x\n").unwrap();
        let error = target("--to", None, &flags(&["--config", path])).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("invalid archive (kuul config) \"gs://x\""),
            "{error}"
        );
    }
}
