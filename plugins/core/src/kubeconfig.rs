//! Which server, credentials and namespace a command uses: the kubeconfig as kubectl
//! finds it, or the pod's service account, with kubectl's connection flags applied the
//! way client-go's clientcmd applies them.
//!
//! kubectl users mix a kubeconfig with flags (`--context prod --as alice`), connect with
//! flags alone (`--server URL --token T`), or run in a pod with nothing but its service
//! account. kuul must reach the same server with the same credentials kubectl would, and
//! name the file, context, cluster or user that is missing when it cannot. [`find`] reads
//! files and the environment; [`select`] is pure, so that the precedence is unit-tested
//! with fixed kubeconfigs.

use std::env;
use std::path::{Path, PathBuf};

use kube::config::NamedContext;
use kube::config::{AuthInfo, Cluster, Context, Kubeconfig, NamedAuthInfo, NamedCluster};

use crate::cli::KubeArgs;
use crate::error::Error;

/// The context name of the in-cluster configuration, as errors name it.
pub const IN_CLUSTER: &str = "in-cluster";

/// Where a pod's service account is mounted.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// A kubeconfig, and how errors name where it came from.
#[derive(Debug, Clone)]
pub struct Found {
    pub kubeconfig: Kubeconfig,
    /// `kubeconfig PATH`, `KUBECONFIG=LIST`, the in-cluster configuration, or the flags.
    pub origin: String,
}

/// What the flags and the kubeconfig select: one context, its cluster and its user, with
/// the flags applied, ready for `kube::Config::from_custom_kubeconfig`.
#[derive(Debug, Clone)]
pub struct Selected {
    /// The context's name, for errors; empty when the flags alone say where (`--server`
    /// with no kubeconfig).
    pub context: String,
    /// A kubeconfig holding only that context, cluster and user, as its current context.
    pub kubeconfig: Kubeconfig,
}

/// The configuration kubectl would use, in kubectl's order: `--kubeconfig`, else the
/// files `KUBECONFIG` lists (merged; missing ones skipped), else `~/.kube/config`. When
/// none is found: the flags alone when `--server` says where to go, else the pod's
/// service account when run in a pod ([`in_cluster`]).
pub fn find(flags: &KubeArgs) -> Result<Found, Error> {
    let searched = match locate(flags.kubeconfig.as_deref())? {
        Ok(found) => return Ok(found),
        Err(searched) => searched,
    };
    let entry = [
        ("--context", flags.context()),
        ("--cluster", flags.cluster.as_deref()),
        ("--user", flags.user.as_deref()),
    ]
    .into_iter()
    .find_map(|(flag, name)| name.map(|name| format!("{flag} {name}")));
    if let Some(entry) = entry {
        return Err(Error::NoKubeconfig {
            searched: format!("{entry} names a kubeconfig entry, but {searched}"),
        });
    }
    if flags.server.is_some() {
        return Ok(Found {
            kubeconfig: Kubeconfig::default(),
            origin: "the command line (--server, no kubeconfig)".to_owned(),
        });
    }
    let var = |name: &str| env::var(name).ok();
    match in_cluster(var, Path::new(SERVICE_ACCOUNT_DIR)) {
        Ok(kubeconfig) => Ok(Found {
            kubeconfig,
            origin: format!("the in-cluster configuration ({SERVICE_ACCOUNT_DIR})"),
        }),
        Err(not_in_cluster) => Err(Error::NoKubeconfig {
            searched: format!("{searched}, and {not_in_cluster}"),
        }),
    }
}

/// The names of the contexts the kubeconfig defines (`--kubeconfig`, else as kubectl
/// finds it), sorted: what `apply --contexts GLOB` matches against.
pub fn context_names(kubeconfig: Option<&Path>) -> Result<Vec<String>, Error> {
    let found = locate(kubeconfig)?.map_err(|searched| Error::NoKubeconfig { searched })?;
    let mut names: Vec<String> = found
        .kubeconfig
        .contexts
        .into_iter()
        .map(|c| c.name)
        .collect();
    names.sort();
    Ok(names)
}

/// Reads the kubeconfig kubectl would read: `Ok(Err(searched))` when there is none,
/// saying where it looked; an error when a file is there but cannot be read or parsed.
fn locate(flag: Option<&Path>) -> Result<Result<Found, String>, Error> {
    if let Some(path) = flag {
        let origin = format!("kubeconfig {}", path.display());
        return read(path, &origin).map(|kubeconfig| Ok(Found { kubeconfig, origin }));
    }
    if let Some(value) = env::var_os("KUBECONFIG") {
        let paths: Vec<PathBuf> = env::split_paths(&value)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        if !paths.is_empty() {
            let origin = format!("KUBECONFIG={}", value.to_string_lossy());
            // kubectl skips listed files that do not exist; so do we.
            let existing: Vec<&PathBuf> = paths.iter().filter(|p| p.exists()).collect();
            if existing.is_empty() {
                return Ok(Err(format!("none of the files in {origin} exist")));
            }
            let mut merged = Kubeconfig::default();
            for path in existing {
                let next = read(path, &origin)?;
                merged = merged.merge(next).map_err(|source| Error::Kubeconfig {
                    origin: origin.clone(),
                    source,
                })?;
            }
            return Ok(Ok(Found {
                kubeconfig: merged,
                origin,
            }));
        }
    }
    let Some(home) = env::home_dir() else {
        return Ok(Err(
            "KUBECONFIG is not set and the home directory is unknown".to_owned(),
        ));
    };
    let path = home.join(".kube").join("config");
    if !path.exists() {
        return Ok(Err(format!(
            "KUBECONFIG is not set and {} does not exist",
            path.display()
        )));
    }
    let origin = format!("kubeconfig {}", path.display());
    read(&path, &origin).map(|kubeconfig| Ok(Found { kubeconfig, origin }))
}

fn read(path: &Path, origin: &str) -> Result<Kubeconfig, Error> {
    Kubeconfig::read_from(path).map_err(|source| Error::Kubeconfig {
        origin: origin.to_owned(),
        source,
    })
}

/// The configuration of a pod, as kubectl's in-cluster configuration: the API server at
/// `KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT`, the service account token and CA
/// certificate in `dir`, and the namespace `POD_NAMESPACE`, else the service account's,
/// else `default`, as one context named [`IN_CLUSTER`]. The token file is named, not
/// read, so that a token the kubelet rotates is read afresh. `Err` says why this is not
/// such a pod. `var` reads the environment.
pub fn in_cluster(var: impl Fn(&str) -> Option<String>, dir: &Path) -> Result<Kubeconfig, String> {
    let set = |name: &str| var(name).filter(|value| !value.is_empty());
    let Some(host) = set("KUBERNETES_SERVICE_HOST") else {
        return Err(
            "this is not a pod with a service account (KUBERNETES_SERVICE_HOST is not set)"
                .to_owned(),
        );
    };
    let Some(port) = set("KUBERNETES_SERVICE_PORT") else {
        return Err(
            "this is not a pod with a service account (KUBERNETES_SERVICE_PORT is not set)"
                .to_owned(),
        );
    };
    let token = dir.join("token");
    if !token.is_file() {
        return Err(format!(
            "the pod's service account token {} does not exist (is automountServiceAccountToken off?)",
            token.display()
        ));
    }
    // An IPv6 address goes in brackets in a URL.
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host
    };
    // Without the CA file, kubectl goes on with the system's roots; so do we.
    let ca = dir.join("ca.crt");
    let namespace = set("POD_NAMESPACE").or_else(|| {
        std::fs::read_to_string(dir.join("namespace"))
            .ok()
            .map(|text| text.trim().to_owned())
            .filter(|text| !text.is_empty())
    });
    let cluster = Cluster {
        server: Some(format!("https://{host}:{port}")),
        certificate_authority: ca.is_file().then(|| ca.display().to_string()),
        ..Cluster::default()
    };
    let user = AuthInfo {
        token_file: Some(token.display().to_string()),
        ..AuthInfo::default()
    };
    Ok(single(IN_CLUSTER, cluster, user, namespace))
}

/// The context, cluster and user that `flags` select in `found`, with the flags applied
/// as kubectl applies them:
///
/// - `--context`, else the current context; it must exist. Without either, only
///   `--server` can say where to go.
/// - `--cluster` and `--user` pick other entries of the kubeconfig, which must exist;
///   a user the context names but the kubeconfig lacks is no user, as in kubectl.
/// - `--server`, `--tls-server-name`, `--certificate-authority` and
///   `--insecure-skip-tls-verify` replace the cluster's fields. A CA or
///   `--insecure-skip-tls-verify` replaces both the CA and the insecure setting, and
///   `--server` drops the kubeconfig's `tls-server-name`, which belongs to the old
///   address.
/// - `--token` replaces the user's token, token file, basic auth, auth provider and exec
///   plugin (kubectl runs no exec plugin when a token is given). Like kubectl, it keeps
///   the user's client certificate: an API server then authenticates the certificate.
/// - `--client-certificate` and `--client-key` replace the user's certificate and key,
///   `--as`, `--as-group` and `--as-uid` its impersonation.
pub fn select(found: &Found, flags: &KubeArgs) -> Result<Selected, Error> {
    let Found { kubeconfig, origin } = found;
    let names = |kind: fn(&Kubeconfig) -> Vec<&str>| {
        let mut names: Vec<String> = kind(kubeconfig).into_iter().map(str::to_owned).collect();
        names.sort();
        names
    };
    let context_name = flags
        .context()
        .or(kubeconfig.current_context.as_deref())
        .filter(|name| !name.is_empty());
    let context = match context_name {
        Some(name) => kubeconfig
            .contexts
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| Error::ContextNotFound {
                context: name.to_owned(),
                origin: origin.clone(),
                available: names(|k| k.contexts.iter().map(|c| c.name.as_str()).collect()),
            })?
            .context
            .clone()
            .unwrap_or_default(),
        None if flags.server.is_some() => Context::default(),
        None => {
            return Err(Error::NoCurrentContext {
                origin: origin.clone(),
                available: names(|k| k.contexts.iter().map(|c| c.name.as_str()).collect()),
            });
        }
    };
    let clusters = || names(|k| k.clusters.iter().map(|c| c.name.as_str()).collect());
    let mut cluster = match &flags.cluster {
        Some(name) => find_cluster(kubeconfig, name).ok_or_else(|| Error::EntryNotFound {
            kind: "cluster",
            name: name.clone(),
            origin: origin.clone(),
            available: clusters(),
        })?,
        None => match find_cluster(kubeconfig, &context.cluster) {
            Some(cluster) => cluster,
            None if flags.server.is_some() => Cluster::default(),
            None => {
                return Err(Error::EntryNotFound {
                    kind: "cluster",
                    name: context.cluster.clone(),
                    origin: format!(
                        "{origin}, which context {:?} names",
                        context_name.unwrap_or_default()
                    ),
                    available: clusters(),
                });
            }
        },
    };
    let mut user = match &flags.user {
        Some(name) => find_user(kubeconfig, name).ok_or_else(|| Error::EntryNotFound {
            kind: "user",
            name: name.clone(),
            origin: origin.clone(),
            available: names(|k| k.auth_infos.iter().map(|u| u.name.as_str()).collect()),
        })?,
        None => context
            .user
            .as_deref()
            .and_then(|name| find_user(kubeconfig, name))
            .unwrap_or_default(),
    };
    override_cluster(&mut cluster, flags)?;
    override_user(&mut user, flags)?;
    let name = context_name.unwrap_or_default();
    Ok(Selected {
        context: name.to_owned(),
        kubeconfig: single(name, cluster, user, context.namespace),
    })
}

fn find_cluster(kubeconfig: &Kubeconfig, name: &str) -> Option<Cluster> {
    let named = kubeconfig.clusters.iter().find(|c| c.name == name)?;
    Some(named.cluster.clone().unwrap_or_default())
}

fn find_user(kubeconfig: &Kubeconfig, name: &str) -> Option<AuthInfo> {
    let named = kubeconfig.auth_infos.iter().find(|u| u.name == name)?;
    Some(named.auth_info.clone().unwrap_or_default())
}

fn override_cluster(cluster: &mut Cluster, flags: &KubeArgs) -> Result<(), Error> {
    if let Some(server) = &flags.server {
        cluster.server = Some(server_url(server)?);
    }
    if flags.insecure_skip_tls_verify || flags.certificate_authority.is_some() {
        cluster.insecure_skip_tls_verify = Some(flags.insecure_skip_tls_verify);
        cluster.certificate_authority = flags
            .certificate_authority
            .as_ref()
            .map(|path| path.display().to_string());
        cluster.certificate_authority_data = None;
    }
    if flags.tls_server_name.is_some() || flags.server.is_some() {
        cluster.tls_server_name.clone_from(&flags.tls_server_name);
    }
    Ok(())
}

fn override_user(user: &mut AuthInfo, flags: &KubeArgs) -> Result<(), Error> {
    if let Some(token) = &flags.token {
        *user = AuthInfo {
            token: Some(token.secret().to_owned().into()),
            client_certificate: user.client_certificate.take(),
            client_certificate_data: user.client_certificate_data.take(),
            client_key: user.client_key.take(),
            client_key_data: user.client_key_data.take(),
            impersonate: user.impersonate.take(),
            impersonate_uid: user.impersonate_uid.take(),
            impersonate_groups: user.impersonate_groups.take(),
            impersonate_user_extra: user.impersonate_user_extra.take(),
            ..AuthInfo::default()
        };
    }
    if let (Some(certificate), Some(key)) = (&flags.client_certificate, &flags.client_key) {
        user.client_certificate = Some(certificate.display().to_string());
        user.client_certificate_data = None;
        user.client_key = Some(key.display().to_string());
        user.client_key_data = None;
    }
    if flags.impersonate.is_some() {
        user.impersonate.clone_from(&flags.impersonate);
    }
    if !flags.impersonate_groups.is_empty() {
        user.impersonate_groups = Some(flags.impersonate_groups.clone());
    }
    if flags.impersonate_uid.is_some() {
        user.impersonate_uid.clone_from(&flags.impersonate_uid);
    }
    if user.impersonate.is_none() {
        let without = if flags.impersonate_uid.is_some() {
            Some("--as-uid")
        } else if !flags.impersonate_groups.is_empty() {
            Some("--as-group")
        } else {
            None
        };
        if let Some(flag) = without {
            return Err(Error::InvalidInput {
                message: format!("{flag} needs --as: impersonation acts as a user"),
                hint: Some(format!("pass --as USER with {flag}")),
            });
        }
    }
    Ok(())
}

/// `--server` as a URL: `https://` is assumed when no scheme is given, as kubectl assumes
/// it for a server it reaches with TLS.
fn server_url(server: &str) -> Result<String, Error> {
    let url = if server.contains("://") {
        server.to_owned()
    } else {
        format!("https://{server}")
    };
    let host = url
        .split_once("://")
        .map(|(scheme, rest)| (scheme, rest.split('/').next().unwrap_or_default()));
    match host {
        Some(("https" | "http", host))
            if !host.is_empty() && !host.contains(char::is_whitespace) =>
        {
            Ok(url)
        }
        _ => Err(Error::InvalidInput {
            message: format!(
                "invalid --server {server:?}: expected a URL such as https://10.0.0.1:6443"
            ),
            hint: None,
        }),
    }
}

/// A kubeconfig with one context, named `name`, of `cluster` and `user`.
fn single(name: &str, cluster: Cluster, user: AuthInfo, namespace: Option<String>) -> Kubeconfig {
    // The entries' own names are never shown: errors name the context.
    let entry = "kuul";
    Kubeconfig {
        current_context: Some(name.to_owned()),
        contexts: vec![NamedContext {
            name: name.to_owned(),
            context: Some(Context {
                cluster: entry.to_owned(),
                user: Some(entry.to_owned()),
                namespace,
                ..Context::default()
            }),
            ..NamedContext::default()
        }],
        clusters: vec![NamedCluster {
            name: entry.to_owned(),
            cluster: Some(cluster),
            ..NamedCluster::default()
        }],
        auth_infos: vec![NamedAuthInfo {
            name: entry.to_owned(),
            auth_info: Some(user),
            ..NamedAuthInfo::default()
        }],
        ..Kubeconfig::default()
    }
}

#[cfg(test)]
mod tests {
    use kube::config::ExecConfig;

    use super::*;
    use crate::error::ExitStatus;

    /// Two clusters, three users and three contexts, one of them naming a cluster and a
    /// user that are not there.
    const KUBECONFIG: &str = r"
apiVersion: v1
kind: Config
current-context: ops
clusters:
- name: prod
  cluster:
    server: https://prod.example:6443
    certificate-authority-data: Q0EK
    tls-server-name: prod.internal
- name: staging
  cluster: {server: https://staging.example:6443, insecure-skip-tls-verify: true}
contexts:
- name: ops
  context: {cluster: prod, user: alice, namespace: ops}
- name: dev
  context: {cluster: staging, user: sso}
- name: ghost
  context: {cluster: gone, user: nobody}
users:
- name: alice
  user: {client-certificate-data: Y2VydAo=, client-key-data: a2V5Cg==}
- name: sso
  user:
    username: admin
    password: secret
    tokenFile: /var/run/token
    exec: {command: sso-login, apiVersion: client.authentication.k8s.io/v1}
- name: bot
  user: {token: bot-token}
";

    fn found() -> Found {
        Found {
            kubeconfig: Kubeconfig::from_yaml(KUBECONFIG).unwrap(),
            origin: "kubeconfig k".to_owned(),
        }
    }

    fn flags(words: &[&str]) -> KubeArgs {
        crate::cli::try_parse(words).unwrap()
    }

    fn selected(words: &[&str]) -> Selected {
        select(&found(), &flags(words)).unwrap()
    }

    fn refused(words: &[&str]) -> Error {
        select(&found(), &flags(words)).unwrap_err()
    }

    fn cluster(selected: &Selected) -> &Cluster {
        selected.kubeconfig.clusters[0].cluster.as_ref().unwrap()
    }

    fn user(selected: &Selected) -> &AuthInfo {
        selected.kubeconfig.auth_infos[0]
            .auth_info
            .as_ref()
            .unwrap()
    }

    fn namespace(selected: &Selected) -> Option<&str> {
        let context = selected.kubeconfig.contexts[0].context.as_ref().unwrap();
        context.namespace.as_deref()
    }

    #[test]
    fn the_current_context_unless_context_names_another() {
        let current = selected(&[]);
        assert_eq!(current.context, "ops");
        assert_eq!(current.kubeconfig.current_context.as_deref(), Some("ops"));
        assert_eq!(
            cluster(&current).server.as_deref(),
            Some("https://prod.example:6443")
        );
        assert_eq!(namespace(&current), Some("ops"));
        let dev = selected(&["--context", "dev"]);
        assert_eq!(dev.context, "dev");
        assert_eq!(
            cluster(&dev).server.as_deref(),
            Some("https://staging.example:6443")
        );
        assert_eq!(namespace(&dev), None);
    }

    #[test]
    fn an_unknown_context_lists_the_known_ones_sorted() {
        let error = refused(&["--context", "nope"]);
        assert_eq!(
            error.to_string(),
            r#"context "nope" not found in kubeconfig k (available: dev, ghost, ops)"#
        );
        assert_eq!(error.exit_status(), ExitStatus::Failed);
    }

    #[test]
    fn without_a_current_context_only_server_says_where() {
        let mut found = found();
        found.kubeconfig.current_context = None;
        assert!(matches!(
            select(&found, &flags(&[])),
            Err(Error::NoCurrentContext { .. })
        ));
        let flags = flags(&["--server", "https://10.0.0.1:6443", "--token", "t"]);
        let selected = select(&found, &flags).unwrap();
        assert_eq!(selected.context, "");
        assert_eq!(
            cluster(&selected).server.as_deref(),
            Some("https://10.0.0.1:6443")
        );
    }

    #[test]
    fn cluster_and_user_pick_other_entries_of_the_kubeconfig() {
        let picked = selected(&["--cluster", "staging", "--user", "bot"]);
        assert_eq!(picked.context, "ops");
        assert_eq!(
            cluster(&picked).server.as_deref(),
            Some("https://staging.example:6443")
        );
        assert!(user(&picked).token.is_some());
        assert!(user(&picked).client_certificate_data.is_none());
        // The context's namespace stays.
        assert_eq!(namespace(&picked), Some("ops"));
    }

    #[test]
    fn entries_the_flags_name_must_exist() {
        assert_eq!(
            refused(&["--cluster", "nope"]).to_string(),
            r#"cluster "nope" not found in kubeconfig k (available: prod, staging)"#
        );
        assert_eq!(
            refused(&["--user", "nope"]).to_string(),
            r#"user "nope" not found in kubeconfig k (available: alice, bot, sso)"#
        );
    }

    #[test]
    fn a_context_naming_a_missing_cluster_fails_unless_server_says_where() {
        assert_eq!(
            refused(&["--context", "ghost"]).to_string(),
            r#"cluster "gone" not found in kubeconfig k, which context "ghost" names (available: prod, staging)"#
        );
        let flags = ["--context", "ghost", "--server", "https://10.0.0.1:6443"];
        let ghost = selected(&flags);
        assert_eq!(
            cluster(&ghost).server.as_deref(),
            Some("https://10.0.0.1:6443")
        );
        // A user the context names but the kubeconfig lacks is no user, as in kubectl.
        assert!(user(&ghost).token.is_none());
    }

    #[test]
    fn server_replaces_the_address_and_drops_its_tls_server_name() {
        let moved = selected(&["--server", "https://10.0.0.1:6443"]);
        assert_eq!(
            cluster(&moved).server.as_deref(),
            Some("https://10.0.0.1:6443")
        );
        assert_eq!(cluster(&moved).tls_server_name, None);
        // The CA stays: the same cluster at another address.
        assert!(cluster(&moved).certificate_authority_data.is_some());
        let named = selected(&["-s", "10.0.0.1:6443", "--tls-server-name", "prod"]);
        assert_eq!(
            cluster(&named).server.as_deref(),
            Some("https://10.0.0.1:6443")
        );
        assert_eq!(cluster(&named).tls_server_name.as_deref(), Some("prod"));
        let renamed = selected(&["--tls-server-name", "other"]);
        assert_eq!(cluster(&renamed).tls_server_name.as_deref(), Some("other"));
        assert_eq!(
            cluster(&selected(&[])).tls_server_name.as_deref(),
            Some("prod.internal")
        );
    }

    #[test]
    fn a_server_that_is_no_url_is_a_usage_error() {
        for bad in ["ftp://x", "https://", "https:// x", "://x"] {
            let error = refused(&["--server", bad]);
            assert_eq!(error.exit_status(), ExitStatus::Usage, "{bad}: {error}");
            assert!(error.to_string().starts_with("invalid --server"), "{error}");
        }
        assert_eq!(
            server_url("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
    }

    #[test]
    fn a_certificate_authority_or_insecure_replaces_both_tls_settings() {
        let ca = selected(&["--context", "dev", "--certificate-authority", "/ca.crt"]);
        assert_eq!(
            cluster(&ca).certificate_authority.as_deref(),
            Some("/ca.crt")
        );
        assert_eq!(cluster(&ca).insecure_skip_tls_verify, Some(false));
        let insecure = selected(&["--insecure-skip-tls-verify"]);
        assert_eq!(cluster(&insecure).insecure_skip_tls_verify, Some(true));
        assert_eq!(cluster(&insecure).certificate_authority_data, None);
        assert_eq!(cluster(&insecure).certificate_authority, None);
        // kubectl's spelling of a false boolean changes nothing.
        let unchanged = selected(&["--context", "dev", "--insecure-skip-tls-verify=false"]);
        assert_eq!(cluster(&unchanged).insecure_skip_tls_verify, Some(true));
    }

    #[test]
    fn token_replaces_the_other_credentials_but_not_the_certificate() {
        let sso = selected(&["--context", "dev", "--token", "abc"]);
        let sso = user(&sso);
        assert!(sso.token.is_some());
        assert!(sso.token_file.is_none());
        assert!(sso.exec.is_none());
        assert!(sso.username.is_none() && sso.password.is_none());
        let alice = selected(&["--token", "abc"]);
        assert_eq!(
            user(&alice).client_certificate_data.as_deref(),
            Some("Y2VydAo=")
        );
        assert!(user(&alice).client_key_data.is_some());
    }

    #[test]
    fn client_certificate_flags_replace_the_users_data() {
        let flags = ["--client-certificate", "/c.crt", "--client-key", "/c.key"];
        let alice = selected(&flags);
        let alice = user(&alice);
        assert_eq!(alice.client_certificate.as_deref(), Some("/c.crt"));
        assert_eq!(alice.client_key.as_deref(), Some("/c.key"));
        assert!(alice.client_certificate_data.is_none());
        assert!(alice.client_key_data.is_none());
    }

    #[test]
    fn impersonation_flags_set_who_to_act_as() {
        let flags = [
            "--as",
            "bob",
            "--as-group",
            "ops",
            "--as-group",
            "dev",
            "--as-uid",
            "42",
        ];
        let bob = selected(&flags);
        let bob = user(&bob);
        assert_eq!(bob.impersonate.as_deref(), Some("bob"));
        assert_eq!(
            bob.impersonate_groups.as_deref(),
            Some(&["ops".to_owned(), "dev".to_owned()][..])
        );
        assert_eq!(bob.impersonate_uid.as_deref(), Some("42"));
        // The impersonation survives --token.
        let token = selected(&["--as", "bob", "--token", "abc"]);
        assert_eq!(user(&token).impersonate.as_deref(), Some("bob"));
    }

    #[test]
    fn groups_or_uid_without_a_user_to_act_as_are_a_usage_error() {
        for (words, flag) in [
            (&["--as-group", "ops"][..], "--as-group"),
            (&["--as-uid", "42"][..], "--as-uid"),
        ] {
            let error = refused(words);
            assert_eq!(error.exit_status(), ExitStatus::Usage);
            assert_eq!(
                error.to_string(),
                format!("{flag} needs --as: impersonation acts as a user")
            );
        }
        // A kubeconfig user that impersonates already takes groups.
        let mut found = found();
        let alice = found.kubeconfig.auth_infos[0].auth_info.as_mut().unwrap();
        alice.impersonate = Some("carol".to_owned());
        let selected = select(&found, &flags(&["--as-group", "ops"])).unwrap();
        assert_eq!(user(&selected).impersonate.as_deref(), Some("carol"));
    }

    #[test]
    fn exec_plugins_keep_running_without_token() {
        let dev = selected(&["--context", "dev"]);
        let exec: &ExecConfig = user(&dev).exec.as_ref().unwrap();
        assert_eq!(exec.command.as_deref(), Some("sso-login"));
    }

    fn service_account(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    fn pod_env(name: &str) -> Option<String> {
        match name {
            "KUBERNETES_SERVICE_HOST" => Some("10.96.0.1".to_owned()),
            "KUBERNETES_SERVICE_PORT" => Some("443".to_owned()),
            _ => None,
        }
    }

    #[test]
    fn in_a_pod_the_service_account_is_the_configuration() {
        let dir = service_account(&[("token", "t"), ("ca.crt", "ca"), ("namespace", "ops\n")]);
        let kubeconfig = in_cluster(pod_env, dir.path()).unwrap();
        let found = Found {
            kubeconfig,
            origin: "in-cluster".to_owned(),
        };
        let pod = select(&found, &KubeArgs::default()).unwrap();
        assert_eq!(pod.context, IN_CLUSTER);
        assert_eq!(
            cluster(&pod).server.as_deref(),
            Some("https://10.96.0.1:443")
        );
        let ca = dir.path().join("ca.crt").display().to_string();
        assert_eq!(cluster(&pod).certificate_authority, Some(ca));
        let token = dir.path().join("token").display().to_string();
        assert_eq!(user(&pod).token_file, Some(token));
        assert_eq!(namespace(&pod), Some("ops"));
        // The flags still apply.
        let flags = flags(&["--token", "abc", "--server", "https://10.0.0.1:6443"]);
        let overridden = select(&found, &flags).unwrap();
        assert!(user(&overridden).token_file.is_none());
        assert_eq!(
            cluster(&overridden).server.as_deref(),
            Some("https://10.0.0.1:6443")
        );
    }

    #[test]
    fn in_a_pod_pod_namespace_wins_and_ipv6_goes_in_brackets() {
        let dir = service_account(&[("token", "t"), ("namespace", "ops")]);
        let env = |name: &str| match name {
            "KUBERNETES_SERVICE_HOST" => Some("fd00::1".to_owned()),
            "POD_NAMESPACE" => Some("ci".to_owned()),
            other => pod_env(other),
        };
        let kubeconfig = in_cluster(env, dir.path()).unwrap();
        let cluster = kubeconfig.clusters[0].cluster.as_ref().unwrap();
        assert_eq!(cluster.server.as_deref(), Some("https://[fd00::1]:443"));
        // No CA file: the system's roots, as kubectl.
        assert_eq!(cluster.certificate_authority, None);
        let context = kubeconfig.contexts[0].context.as_ref().unwrap();
        assert_eq!(context.namespace.as_deref(), Some("ci"));
        let bare = service_account(&[("token", "t")]);
        let kubeconfig = in_cluster(pod_env, bare.path()).unwrap();
        let context = kubeconfig.contexts[0].context.as_ref().unwrap();
        assert_eq!(context.namespace, None, "the default namespace");
    }

    #[test]
    fn outside_a_pod_says_which_part_is_missing() {
        let dir = service_account(&[("token", "t")]);
        let no_host = in_cluster(|_| None, dir.path()).unwrap_err();
        assert!(
            no_host.contains("KUBERNETES_SERVICE_HOST is not set"),
            "{no_host}"
        );
        let no_port = |name: &str| (name == "KUBERNETES_SERVICE_HOST").then(|| "h".to_owned());
        let no_port = in_cluster(no_port, dir.path()).unwrap_err();
        assert!(
            no_port.contains("KUBERNETES_SERVICE_PORT is not set"),
            "{no_port}"
        );
        let empty = service_account(&[]);
        let no_token = in_cluster(pod_env, empty.path()).unwrap_err();
        assert!(no_token.contains("token"), "{no_token}");
        assert!(no_token.contains("does not exist"), "{no_token}");
    }
}
