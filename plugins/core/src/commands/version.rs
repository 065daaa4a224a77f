//! `kubectl kuul version`: which kuul this is, and which Kubernetes it talks to.
//!
//! The first thing asked in a bug report, so it answers like `kubectl version` does,
//! in the same shapes (text, or `clientVersion`/`serverVersion` as JSON or YAML), and
//! still prints the client version when the cluster cannot be reached.

use clap::{Args, ValueEnum};
use k8s_openapi::apimachinery::pkg::version::Info;
use serde::Serialize;

use crate::cli::KubeArgs;
use crate::client::Cluster;
use crate::commands::KuulCommand;
use crate::error::{Error, Operation, VERSION};
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
            platform: format!("{}/{arch}", std::env::consts::OS),
        }
    }
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
            Ok(server) => printer.data(&render(self.output, &client, Some(&server))),
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
    fn current_version_is_this_crate() {
        let current = ClientVersion::current();
        assert_eq!(current.git_version, format!("v{VERSION}"));
        assert!(current.platform.contains('/'));
    }
}
