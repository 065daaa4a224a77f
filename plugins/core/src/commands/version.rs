//! `kubectl kuul version`: which kuul this is, and which Kubernetes it talks to.
//!
//! The first thing asked in a bug report, so it answers like `kubectl version` does,
//! in the same shapes (text, or `clientVersion`/`serverVersion` as JSON or YAML), and
//! still prints the client version when the cluster cannot be reached.
//!
//! It also warns when the server is older than [`OLDEST_SUPPORTED`]: the plugins are
//! built against the Kubernetes API of k8s-openapi's `earliest` version (1.33), and
//! an older server may lack fields they set.

use clap::{Args, ValueEnum};
use k8s_openapi::apimachinery::pkg::version::Info;
use serde::Serialize;

use crate::cli::KubeArgs;
use crate::client::Cluster;
use crate::commands::KuulCommand;
use crate::error::{COMMIT, Error, Operation, VERSION};
use crate::printer::{Printer, to_json, to_yaml};

/// Arguments of `kubectl kuul version`.
#[derive(Debug, Clone, Args)]
pub struct VersionArgs {
    /// Print the client version only, without contacting the cluster
    #[arg(long)]
    pub client: bool,

    /// Print as json or yaml instead of text
    #[arg(short = 'o', long = "output", value_enum)]
    pub output: Option<VersionFormat>,
}

/// The formats `kubectl version -o` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VersionFormat {
    Json,
    Yaml,
}

/// The version of this kuul build, shaped like kubectl's `clientVersion`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientVersion {
    pub major: String,
    pub minor: String,
    pub git_version: String,
    /// The commit the binary was built from, or `unknown`.
    pub git_commit: String,
    /// `os/arch` in Go's spelling, as kubectl prints it.
    pub platform: String,
}

impl ClientVersion {
    /// This build.
    pub fn current() -> Self {
        let mut parts = VERSION.split('.');
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            other => other,
        };
        Self {
            major: parts.next().unwrap_or_default().to_owned(),
            minor: parts.next().unwrap_or_default().to_owned(),
            git_version: format!("v{VERSION}"),
            git_commit: COMMIT.to_owned(),
            platform: format!("{}/{arch}", std::env::consts::OS),
        }
    }
}

/// The oldest Kubernetes minor version (1.x) the plugins support: k8s-openapi 0.29's
/// `earliest` API version.
pub const OLDEST_SUPPORTED: (u32, u32) = (1, 33);

/// A warning when `server` is older than [`OLDEST_SUPPORTED`]; nothing when it is
/// supported or its version cannot be read. Managed clusters report minors like `33+`.
pub fn server_too_old(server: &Info) -> Option<String> {
    let number = |text: &str| {
        let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u32>().ok()
    };
    let version = (number(&server.major)?, number(&server.minor)?);
    (version < OLDEST_SUPPORTED).then(|| {
        format!(
            "the Kubernetes server ({}) is older than {}.{}, the oldest version kuul supports; \
             some commands may fail or behave differently",
            server.git_version, OLDEST_SUPPORTED.0, OLDEST_SUPPORTED.1
        )
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Versions<'a> {
    client_version: &'a ClientVersion,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_version: Option<&'a Info>,
}

/// The output of `version`: text lines, or one JSON/YAML document. Pure, for tests.
pub fn render(
    format: Option<VersionFormat>,
    client: &ClientVersion,
    server: Option<&Info>,
) -> String {
    let versions = Versions {
        client_version: client,
        server_version: server,
    };
    match format {
        Some(VersionFormat::Json) => to_json(&versions),
        Some(VersionFormat::Yaml) => to_yaml(&versions),
        None => {
            let mut text = format!("Client Version: {}\n", client.git_version);
            if let Some(server) = server {
                text = format!("{text}Server Version: {}\n", server.git_version);
            }
            text
        }
    }
}

impl KuulCommand for VersionArgs {
    const NAME: &'static str = "version";
    const ABOUT: &'static str = "Print the kuul version and the Kubernetes server version.";
    const LONG_ABOUT: &'static str = "Print the kuul version and the version of the Kubernetes \
        API server of the current context, as `kubectl version` does. With --client, the \
        cluster is not contacted.";

    async fn run(self, kube: KubeArgs, printer: Printer) -> Result<(), Error> {
        let client = ClientVersion::current();
        if self.client {
            return printer.data(&render(self.output, &client, None));
        }
        let server = async {
            let cluster = Cluster::connect(&kube).await?;
            cluster
                .client()
                .apiserver_version()
                .await
                .map_err(|source| cluster.error(Operation::new("get", "version"), source))
        }
        .await;
        match server {
            Ok(server) => {
                if let Some(warning) = server_too_old(&server) {
                    printer.warn(warning);
                }
                printer.data(&render(self.output, &client, Some(&server)))
            }
            Err(error) => {
                // Like kubectl: what is known is printed before the error.
                printer.data(&render(self.output, &client, None))?;
                Err(error)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> ClientVersion {
        ClientVersion {
            major: "0".to_owned(),
            minor: "1".to_owned(),
            git_version: "v0.1.0".to_owned(),
            git_commit: "abc1234".to_owned(),
            platform: "linux/amd64".to_owned(),
        }
    }

    fn server() -> Info {
        Info {
            major: "1".to_owned(),
            minor: "36".to_owned(),
            git_version: "v1.36.3".to_owned(),
            platform: "linux/amd64".to_owned(),
            ..Info::default()
        }
    }

    #[test]
    fn text_like_kubectl() {
        assert_eq!(
            render(None, &client(), Some(&server())),
            "Client Version: v0.1.0\nServer Version: v1.36.3\n"
        );
        assert_eq!(render(None, &client(), None), "Client Version: v0.1.0\n");
    }

    #[test]
    fn json_has_kubectls_shape() {
        let text = render(Some(VersionFormat::Json), &client(), Some(&server()));
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["clientVersion"]["gitVersion"], "v0.1.0");
        assert_eq!(value["clientVersion"]["platform"], "linux/amd64");
        assert_eq!(value["serverVersion"]["gitVersion"], "v1.36.3");
        assert_eq!(value["serverVersion"]["minor"], "36");
        let client_only = render(Some(VersionFormat::Json), &client(), None);
        assert!(!client_only.contains("serverVersion"), "{client_only}");
    }

    #[test]
    fn yaml_has_kubectls_shape() {
        let text = render(Some(VersionFormat::Yaml), &client(), Some(&server()));
        assert!(text.starts_with("clientVersion:\n"), "{text}");
        assert!(text.contains("gitVersion: v1.36.3"), "{text}");
    }

    #[test]
    fn warns_only_below_the_oldest_supported_minor() {
        let at = |major: &str, minor: &str| Info {
            major: major.to_owned(),
            minor: minor.to_owned(),
            git_version: format!("v{major}.{minor}.0"),
            ..Info::default()
        };
        let warning = server_too_old(&at("1", "32")).unwrap();
        assert!(warning.contains("v1.32.0"), "{warning}");
        assert!(warning.contains("older than 1.33"), "{warning}");
        assert!(server_too_old(&at("1", "31+")).is_some());
        assert!(server_too_old(&at("1", "33")).is_none());
        assert!(server_too_old(&at("1", "36+")).is_none());
        assert!(server_too_old(&at("2", "0")).is_none());
        assert!(server_too_old(&at("", "")).is_none());
    }

    #[test]
    fn json_names_the_commit() {
        let text = render(Some(VersionFormat::Json), &client(), None);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["clientVersion"]["gitCommit"], "abc1234");
    }

    #[test]
    fn current_version_is_this_crate() {
        let current = ClientVersion::current();
        assert_eq!(current.git_version, format!("v{VERSION}"));
        assert!(current.platform.contains('/'));
        assert_eq!(current.git_commit, COMMIT);
    }
}
