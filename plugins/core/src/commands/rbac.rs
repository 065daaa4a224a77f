//! `kubectl kuul rbac`: the Role (or `ClusterRole`) a team member needs for kuul, and its
//! bindings, printed for `kubectl apply -f -`.
//!
//! Cluster admins should not have to read kuul's source to grant it, nor grant `edit` to
//! be safe. The rules come from [`crate::rbac::RULES`], the one table of what each
//! command calls; this command only chooses the role, where it applies and to whom.

use clap::{Args, ValueEnum};

use crate::cli::{KubeArgs, KubeconfigEntryArgs};
use crate::client::Cluster;
use crate::commands::KuulCommand;
use crate::error::Error;
use crate::kuul_job::check_namespace;
use crate::printer::{Printer, to_json, to_yaml};
use crate::rbac::{Grantee, Manifest, Persona, Reach, manifests};

/// Arguments of `kubectl kuul rbac`.
#[derive(Debug, Clone, Args)]
pub struct RbacArgs {
    /// The role: viewer (status, history, logs), operator (also new, apply, run-now,
    /// suspend, resume, prune), label-nodes (cluster-wide) or archiver (archive)
    #[arg(value_enum, value_name = "ROLE")]
    pub role: RoleName,

    /// A `ClusterRole` for every namespace instead of a Role in -n NAMESPACE
    #[arg(long)]
    pub cluster: bool,

    /// Bind the role to this user (repeatable)
    #[arg(long, value_name = "NAME")]
    pub user: Vec<String>,

    /// Bind the role to this group (repeatable)
    #[arg(long, value_name = "NAME")]
    pub group: Vec<String>,

    /// Bind the role to this service account, NAMESPACE:NAME (repeatable)
    #[arg(long, value_name = "NAMESPACE:NAME")]
    pub serviceaccount: Vec<String>,

    /// Print as yaml (documents) or json (a List)
    #[arg(short = 'o', long = "output", value_enum, default_value_t = RbacFormat::Yaml)]
    pub output: RbacFormat,

    /// `--cluster` and `--user` above are this command's own, as in `kubectl create
    /// rolebinding`; kubectl's (which kubeconfig cluster and user) give way to them here.
    #[command(flatten)]
    pub kubeconfig_entries: KubeconfigEntryArgs,
}

/// The roles `rbac` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleName {
    /// Read jobs, runs and logs
    Viewer,
    /// Read, create and change jobs, start and delete runs
    Operator,
    /// Put nodes into pools (cluster-wide)
    LabelNodes,
    /// Copy finished runs and their logs to an archive (what `archive --install` runs as)
    Archiver,
}

impl From<RoleName> for Persona {
    fn from(role: RoleName) -> Self {
        match role {
            RoleName::Viewer => Persona::Viewer,
            RoleName::Operator => Persona::Operator,
            RoleName::LabelNodes => Persona::LabelNodes,
            RoleName::Archiver => Persona::Archiver,
        }
    }
}

/// The formats of `rbac -o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RbacFormat {
    Yaml,
    Json,
}

impl RbacArgs {
    /// The grantees from --user, --group and --serviceaccount, checked.
    fn grantees(&self) -> Result<Vec<Grantee>, Error> {
        let mut grantees = Vec::new();
        for (flag, names, make) in [
            ("--user", &self.user, Grantee::User as fn(String) -> Grantee),
            ("--group", &self.group, Grantee::Group),
        ] {
            for name in names {
                if name.trim().is_empty() {
                    let example = if flag == "--user" {
                        "alice@example.com"
                    } else {
                        "ops-oncall"
                    };
                    return Err(invalid(
                        format!("invalid {flag} {name:?}: is blank"),
                        Some(format!(
                            "the name the cluster authenticates, e.g. {flag} {example}"
                        )),
                    ));
                }
                grantees.push(make(name.clone()));
            }
        }
        for account in &self.serviceaccount {
            grantees.push(service_account(account)?);
        }
        Ok(grantees)
    }
}

/// `NAMESPACE:NAME` of --serviceaccount, as `kubectl create rolebinding` spells it.
fn service_account(text: &str) -> Result<Grantee, Error> {
    let dns_label = |part: &str| {
        !part.is_empty()
            && part.len() <= 63
            && part
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !part.starts_with('-')
            && !part.ends_with('-')
    };
    let problem = match text.split_once(':') {
        None => "has no ':' between NAMESPACE and NAME".to_owned(),
        Some((namespace, _)) if !dns_label(namespace) => {
            format!("the namespace {namespace:?} is not a DNS-1123 label")
        }
        Some((_, "")) => "has no NAME after the ':'".to_owned(),
        Some((namespace, name)) => {
            return Ok(Grantee::ServiceAccount {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
            });
        }
    };
    Err(invalid(
        format!("invalid --serviceaccount {text:?}: {problem}"),
        Some(
            "NAMESPACE:NAME of the service account, e.g. --serviceaccount ops:kuul-bot".to_owned(),
        ),
    ))
}

fn invalid(message: String, hint: Option<String>) -> Error {
    Error::InvalidInput { message, hint }
}

/// The printed text: YAML documents, or one JSON `List`. Pure, for tests.
pub fn render(format: RbacFormat, manifests: &[Manifest]) -> String {
    let values: Vec<serde_json::Value> = manifests.iter().map(Manifest::to_value).collect();
    match format {
        RbacFormat::Json => to_json(&serde_json::json!({
            "apiVersion": "v1",
            "kind": "List",
            "items": values,
        })),
        RbacFormat::Yaml => values.iter().fold(String::new(), |mut text, value| {
            text.push_str("---\n");
            text.push_str(&to_yaml(value));
            text
        }),
    }
}

impl KuulCommand for RbacArgs {
    const NAME: &'static str = "rbac";
    const ABOUT: &'static str = "Print the RBAC role and bindings a kuul user needs.";
    const LONG_ABOUT: &'static str = "Print the Role (or ClusterRole) that a kuul role needs, \
        and bindings to the users, groups or service accounts given, for `kubectl apply -f -`. \
        Nothing is written to the cluster.\n\n\
        viewer can run status, history, logs, diff and version; operator can also run new, \
        apply, run-now, suspend, resume and prune; label-nodes can put nodes into pools, \
        which is cluster-wide; archiver can run archive, and is what the archiver that \
        `archive --install` runs in the cluster is granted. A namespaced role comes with a ClusterRole to read Nodes \
        (for status's pools), bound per namespace.\n\n\
        Examples:\n  \
        kubectl kuul rbac viewer -n ops --group ops-team | kubectl apply -f -\n  \
        kubectl kuul rbac operator -n ops --serviceaccount ops:deployer | kubectl apply -f -\n  \
        kubectl kuul rbac operator --cluster --user alice@example.com\n  \
        kubectl kuul rbac label-nodes --group platform";

    async fn run(self, kube: KubeArgs, printer: Printer) -> Result<(), Error> {
        let grantees = self.grantees()?;
        let persona = Persona::from(self.role);
        if self.cluster && kube.namespace.is_some() {
            return Err(invalid(
                "--cluster and -n/--namespace exclude each other".to_owned(),
                Some("--cluster grants the role in every namespace; -n in one".to_owned()),
            ));
        }
        if persona == Persona::LabelNodes && kube.namespace.is_some() {
            return Err(invalid(
                "label-nodes changes Nodes, which belong to no namespace: -n does not apply"
                    .to_owned(),
                Some("drop -n: the label-nodes role is a ClusterRole".to_owned()),
            ));
        }
        if let Some(namespace) = &kube.namespace {
            check_namespace("--namespace", namespace)?;
        }
        let reach = if self.cluster || persona == Persona::LabelNodes {
            Reach::Cluster
        } else if let Some(namespace) = &kube.namespace {
            Reach::Namespace(namespace.clone())
        } else {
            // Like kubectl: the context's namespace; nothing is sent to the server.
            Reach::Namespace(Cluster::connect(&kube).await?.namespace().to_owned())
        };
        if grantees.is_empty() {
            printer.info(
                "no --user, --group or --serviceaccount given: printing the roles without bindings",
            );
        }
        printer.data(&render(self.output, &manifests(persona, &reach, &grantees)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> RbacArgs {
        crate::cli::try_parse(args).unwrap()
    }

    #[test]
    fn grantees_in_the_order_of_kind() {
        let args = parse(&[
            "operator",
            "--serviceaccount",
            "ops:bot",
            "--group",
            "team",
            "--user",
            "alice",
        ]);
        assert_eq!(
            args.grantees().unwrap(),
            [
                Grantee::User("alice".into()),
                Grantee::Group("team".into()),
                Grantee::ServiceAccount {
                    namespace: "ops".into(),
                    name: "bot".into()
                },
            ]
        );
    }

    #[test]
    fn bad_service_accounts_are_named() {
        for bad in ["bot", ":bot", "ops:", "Ops:bot"] {
            let error = service_account(bad).unwrap_err();
            assert!(error.to_string().contains(&format!("{bad:?}")), "{error}");
            assert_eq!(error.exit_status(), crate::ExitStatus::Usage);
        }
        let blank = parse(&["viewer", "--user", " "]).grantees().unwrap_err();
        assert_eq!(blank.to_string(), "invalid --user \" \": is blank");
    }

    #[test]
    fn yaml_documents_and_json_list() {
        let out = manifests(
            Persona::Viewer,
            &Reach::Namespace("ops".into()),
            &[Grantee::Group("team".into())],
        );
        let yaml = render(RbacFormat::Yaml, &out);
        assert_eq!(yaml.matches("---\n").count(), 4, "{yaml}");
        assert!(
            yaml.starts_with("---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\n"),
            "{yaml}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&render(RbacFormat::Json, &out)).unwrap();
        assert_eq!(json["kind"], "List");
        assert_eq!(json["items"].as_array().unwrap().len(), 4);
    }
}
