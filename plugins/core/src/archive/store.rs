//! Reading and writing an archive's store: a folder or S3-compatible object storage,
//! both through the `object_store` crate, so that every store behaves alike.
//!
//! Four operations are all the archive needs, and all a reader needs: write an object
//! only if it is absent ([`Store::create`], the "written once" rule: S3's
//! `If-None-Match: *`, an exclusive create on a folder), read one ([`Store::get`]), and
//! list what a folder holds ([`Store::list`]). Errors name the store and the object, and
//! tell a refused credential apart, since then every other write fails alike.
//!
//! S3 settings come from the usual AWS environment (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ENDPOINT_URL`, ...)
//! and from the shared files' profile (`AWS_PROFILE`, `~/.aws/credentials`,
//! `~/.aws/config`) where the environment says nothing; `--endpoint` wins over both.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::{Path, PathPart};
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, RetryConfig};

use super::StoreUrl;
use crate::error::Error;

/// How long a request to the store is retried at most (`object_store`'s default is three
/// minutes, too long for a person waiting on a store that is down).
const RETRY_TIMEOUT: Duration = Duration::from_secs(20);
const MAX_RETRIES: usize = 3;

/// What [`Store::check`] reads: an object no archive holds.
const PROBE: &str = ".kuul-check";

/// An open store.
#[derive(Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    url: String,
}

/// What [`Store::create`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// The object was written now.
    Written,
    /// An object was there already, and was left as it was.
    AlreadyThere,
}

impl Store {
    /// Opens the store `url` names; `endpoint` (`--endpoint`) is the S3 endpoint. Sends
    /// nothing: a wrong credential shows on the first request.
    pub fn open(url: &StoreUrl, endpoint: Option<&str>) -> Result<Self, Error> {
        let name = url.to_string();
        let inner: Arc<dyn ObjectStore> = match url {
            StoreUrl::Folder(folder) => {
                std::fs::create_dir_all(folder).map_err(|source| {
                    Error::store("create the folder", &name, false, None, source)
                })?;
                let local = LocalFileSystem::new_with_prefix(folder).map_err(|source| {
                    Error::store("open the folder", &name, false, None, source)
                })?;
                Arc::new(local)
            }
            StoreUrl::S3 { bucket, prefix } => {
                // reqwest uses the process's default TLS provider; kube's is ring too.
                let _ = rustls::crypto::ring::default_provider().install_default();
                let s3 = s3_builder(bucket, endpoint, &|name| std::env::var(name).ok())
                    .build()
                    .map_err(|source| {
                        Error::store("open the bucket", &name, false, None, source)
                    })?;
                if prefix.is_empty() {
                    Arc::new(s3)
                } else {
                    Arc::new(PrefixStore::new(s3, path(prefix)))
                }
            }
        };
        Ok(Self { inner, url: name })
    }

    /// The store's URL, as errors and messages name it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Writes `bytes` at `parts` (folders, then the file's name) unless an object is
    /// there already, in one atomic step: two writers never both write it.
    pub async fn create(&self, parts: &[&str], bytes: Vec<u8>) -> Result<Created, Error> {
        let location = path(parts);
        let options = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self.inner.put_opts(&location, bytes.into(), options).await {
            Ok(_) => Ok(Created::Written),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(Created::AlreadyThere),
            Err(source) => Err(self.error("write", parts, source)),
        }
    }

    /// The object at `parts`, or `None` when there is none.
    pub async fn get(&self, parts: &[&str]) -> Result<Option<Vec<u8>>, Error> {
        let location = path(parts);
        let read = async {
            let result = self.inner.get(&location).await?;
            result.bytes().await
        };
        match read.await {
            Ok(bytes) => Ok(Some(bytes.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(source) => Err(self.error("read", parts, source)),
        }
    }

    /// The paths (relative to `folder`, e.g. `RUN/run.json`) of the objects under
    /// `folder`, at any depth, sorted; with `after`, only those that sort after it, which
    /// S3 answers without reading the ones before.
    pub async fn list(&self, folder: &[&str], after: Option<&str>) -> Result<Vec<String>, Error> {
        let prefix = path(folder);
        let listing = match after {
            Some(after) => self
                .inner
                .list_with_offset(Some(&prefix), &prefix.clone().join(after)),
            None => self.inner.list(Some(&prefix)),
        };
        let objects: Vec<_> = listing
            .try_collect()
            .await
            .map_err(|source| self.error("list", folder, source))?;
        let mut names: Vec<String> = objects
            .into_iter()
            .filter_map(|object| {
                object.location.prefix_match(&prefix).map(|parts| {
                    parts
                        .map(|p| p.as_ref().to_owned())
                        .collect::<Vec<_>>()
                        .join("/")
                })
            })
            .collect();
        names.sort();
        Ok(names)
    }

    /// Whether the store answers and takes the credentials: a read of an object that is
    /// not there, one request, so that a refusal is said once before any work.
    pub async fn check(&self) -> Result<(), Error> {
        // A GET rather than a HEAD: S3 explains a refusal in the body of its answer.
        match self.inner.get(&path(&[PROBE])).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(source) => Err(self.error("reach", &[], source)),
        }
    }

    fn error(&self, operation: &'static str, parts: &[&str], source: object_store::Error) -> Error {
        let location = if parts.is_empty() {
            self.url.clone()
        } else {
            format!("{}/{}", self.url.trim_end_matches('/'), parts.join("/"))
        };
        let (denied, cause) = describe(&source);
        Error::store(operation, location, denied, cause, source)
    }
}

/// The object path of `parts`, each one folder or file name (a `/` in one is escaped).
fn path<S: AsRef<str>>(parts: &[S]) -> Path {
    parts
        .iter()
        .map(|part| PathPart::from(part.as_ref()))
        .collect()
}

/// Whether the store refused the credentials, and a few words for why it failed, when
/// the error's own innermost words would not do: S3's error code, from its XML answer.
fn describe(error: &object_store::Error) -> (bool, Option<String>) {
    let text = error.to_string();
    let code = s3_code(&text);
    match error {
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => (
            true,
            Some(match code {
                Some(code) => format!("access denied ({code})"),
                None => "access denied".to_owned(),
            }),
        ),
        object_store::Error::NotFound { .. } => (
            false,
            Some(match code {
                Some(code) => format!("not found ({code})"),
                None => "not found".to_owned(),
            }),
        ),
        _ => {
            // A 403 that object_store left generic is a refusal all the same.
            let denied = matches!(
                code.as_deref(),
                Some("AccessDenied" | "InvalidAccessKeyId" | "SignatureDoesNotMatch")
            );
            (
                denied,
                code.map(|code| format!("the store answered {code}")),
            )
        }
    }
}

/// The `<Code>` of an S3 error response quoted in `text`.
fn s3_code(text: &str) -> Option<String> {
    let start = text.find("<Code>")? + "<Code>".len();
    let end = start + text[start..].find("</Code>")?;
    let code = &text[start..end];
    (!code.is_empty() && code.chars().all(|c| c.is_ascii_alphanumeric())).then(|| code.to_owned())
}

/// An S3 client for `bucket`: settings from the environment (`var`), else from the AWS
/// profile's files, and `endpoint` over both. Plain HTTP is allowed when the endpoint
/// says `http://` (a store on this machine or inside the cluster).
fn s3_builder(
    bucket: &str,
    endpoint: Option<&str>,
    var: &dyn Fn(&str) -> Option<String>,
) -> AmazonS3Builder {
    let mut builder = AmazonS3Builder::from_env();
    let profile = Profile::read(var);
    let unset = |builder: &AmazonS3Builder, key| builder.get_config_value(&key).is_none();
    // An access key from the environment comes with its own secret and token: the
    // profile's keys apply only when the environment has none.
    let keys = if unset(&builder, AmazonS3ConfigKey::AccessKeyId) {
        vec![
            (AmazonS3ConfigKey::AccessKeyId, &profile.access_key_id),
            (
                AmazonS3ConfigKey::SecretAccessKey,
                &profile.secret_access_key,
            ),
            (AmazonS3ConfigKey::Token, &profile.session_token),
        ]
    } else {
        Vec::new()
    };
    let settings = [
        (AmazonS3ConfigKey::Region, &profile.region),
        (AmazonS3ConfigKey::Endpoint, &profile.endpoint_url),
    ];
    for (key, value) in keys.into_iter().chain(settings) {
        if let Some(value) = value
            && unset(&builder, key)
        {
            builder = builder.with_config(key, value);
        }
    }
    if let Some(endpoint) = endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    let http = builder
        .get_config_value(&AmazonS3ConfigKey::Endpoint)
        .is_some_and(|endpoint| endpoint.starts_with("http://"));
    builder
        .with_bucket_name(bucket)
        .with_allow_http(http)
        .with_retry(RetryConfig {
            max_retries: MAX_RETRIES,
            retry_timeout: RETRY_TIMEOUT,
            ..RetryConfig::default()
        })
}

/// What the AWS shared files say for the profile `AWS_PROFILE` (else `default`): keys
/// from the credentials file, region and endpoint from the config file.
#[derive(Debug, Default, PartialEq, Eq)]
struct Profile {
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    session_token: Option<String>,
    region: Option<String>,
    endpoint_url: Option<String>,
}

impl Profile {
    fn read(var: &dyn Fn(&str) -> Option<String>) -> Self {
        let home = std::env::home_dir();
        let file = |variable: &str, name: &str| {
            var(variable)
                .map(std::path::PathBuf::from)
                .or_else(|| home.as_ref().map(|home| home.join(".aws").join(name)))
                .and_then(|path| std::fs::read_to_string(path).ok())
                .unwrap_or_default()
        };
        let profile = var("AWS_PROFILE").unwrap_or_else(|| "default".to_owned());
        Self::of(
            &profile,
            &file("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
            &file("AWS_CONFIG_FILE", "config"),
        )
    }

    /// The profile `name` of the two files' texts. The credentials file names sections
    /// `[NAME]`; the config file `[profile NAME]`, except `[default]`.
    fn of(name: &str, credentials: &str, config: &str) -> Self {
        let keys = section(credentials, name);
        let config_section = if name == "default" {
            "default".to_owned()
        } else {
            format!("profile {name}")
        };
        let settings = section(config, &config_section);
        let get = |map: &HashMap<String, String>, key: &str| map.get(key).cloned();
        Self {
            access_key_id: get(&keys, "aws_access_key_id")
                .or_else(|| get(&settings, "aws_access_key_id")),
            secret_access_key: get(&keys, "aws_secret_access_key")
                .or_else(|| get(&settings, "aws_secret_access_key")),
            session_token: get(&keys, "aws_session_token")
                .or_else(|| get(&settings, "aws_session_token")),
            region: get(&settings, "region"),
            endpoint_url: get(&settings, "endpoint_url"),
        }
    }
}

/// The `key = value` lines of the INI section `[name]` of `text`.
fn section(text: &str, name: &str) -> HashMap<String, String> {
    let mut inside = false;
    let mut values = HashMap::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = header.trim() == name;
            continue;
        }
        if inside && let Some((key, value)) = line.split_once('=') {
            values.insert(key.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREDENTIALS: &str = "
[default]
aws_access_key_id = AKIDEFAULT
aws_secret_access_key = secret-default

[ops]
aws_access_key_id=AKIDOPS
aws_secret_access_key=secret-ops
aws_session_token = token-ops
";
    const CONFIG: &str = "
[default]
region = eu-west-1
# a comment
[profile ops]
region = eu-central-1
endpoint_url = http://127.0.0.1:18333
";

    #[test]
    fn a_profile_takes_keys_from_credentials_and_settings_from_config() {
        let ops = Profile::of("ops", CREDENTIALS, CONFIG);
        assert_eq!(
            ops,
            Profile {
                access_key_id: Some("AKIDOPS".to_owned()),
                secret_access_key: Some("secret-ops".to_owned()),
                session_token: Some("token-ops".to_owned()),
                region: Some("eu-central-1".to_owned()),
                endpoint_url: Some("http://127.0.0.1:18333".to_owned()),
            }
        );
        let default = Profile::of("default", CREDENTIALS, CONFIG);
        assert_eq!(default.access_key_id.as_deref(), Some("AKIDEFAULT"));
        assert_eq!(default.region.as_deref(), Some("eu-west-1"));
        assert_eq!(default.endpoint_url, None);
        assert_eq!(Profile::of("nope", CREDENTIALS, CONFIG), Profile::default());
    }

    #[test]
    fn s3_codes_come_from_the_answer() {
        let text = "Generic S3 error: ... 403 Forbidden: <?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code><Message>x</Message></Error>";
        assert_eq!(s3_code(text).as_deref(), Some("SignatureDoesNotMatch"));
        assert_eq!(s3_code("connection refused"), None);
    }

    #[test]
    fn paths_escape_what_would_split_a_folder() {
        assert_eq!(path(&["kuul", "ops", "a/b"]).as_ref(), "kuul/ops/a%2Fb");
    }

    #[test]
    fn the_endpoint_flag_wins_and_http_is_allowed_for_it() {
        let none = |_: &str| None;
        let builder = s3_builder("kuul-logs", Some("http://127.0.0.1:18333"), &none);
        assert_eq!(
            builder
                .get_config_value(&AmazonS3ConfigKey::Endpoint)
                .as_deref(),
            Some("http://127.0.0.1:18333")
        );
        assert_eq!(
            builder
                .get_config_value(&AmazonS3ConfigKey::Bucket)
                .as_deref(),
            Some("kuul-logs")
        );
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn a_folder_store_writes_once_reads_and_lists() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("archive");
        let store = Store::open(&StoreUrl::Folder(folder.clone()), None).unwrap();
        runtime().block_on(async {
            let run = ["kuul", "ops", "b", "b-1"];
            let file = |name: &'static str| [run[0], run[1], run[2], run[3], name];
            assert_eq!(
                store
                    .create(&file("work.log"), b"one\n".to_vec())
                    .await
                    .unwrap(),
                Created::Written
            );
            assert_eq!(
                store
                    .create(&file("work.log"), b"two\n".to_vec())
                    .await
                    .unwrap(),
                Created::AlreadyThere
            );
            assert_eq!(
                store.get(&file("work.log")).await.unwrap().as_deref(),
                Some(&b"one\n"[..])
            );
            assert_eq!(store.get(&file("run.json")).await.unwrap(), None);
            store
                .create(&file("run.json"), b"{}".to_vec())
                .await
                .unwrap();
            store
                .create(&["kuul", "ops", "b", "b-2", "run.json"], b"{}".to_vec())
                .await
                .unwrap();
            let all = store.list(&["kuul", "ops", "b"], None).await.unwrap();
            assert_eq!(all, ["b-1/run.json", "b-1/work.log", "b-2/run.json"]);
            let later = store
                .list(&["kuul", "ops", "b"], Some("b-2"))
                .await
                .unwrap();
            assert_eq!(later, ["b-2/run.json"]);
            assert!(
                store
                    .list(&["kuul", "other"], None)
                    .await
                    .unwrap()
                    .is_empty()
            );
        });
        assert_eq!(
            std::fs::read_to_string(folder.join("kuul/ops/b/b-1/work.log")).unwrap(),
            "one\n"
        );
    }
}
