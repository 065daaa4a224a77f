//! `kubectl kuul archive --to URL`: copy every finished run of the selected Kuul jobs
//! (its record and its logs) to a folder or S3-compatible object storage, so that runs
//! outlive the history limits and `prune`.
//!
//! The flags are checked first (the store URL, the endpoint, the cluster's name), then
//! the store is asked once whether it takes the credentials, the runs are read
//! ([`crate::archive::copy::runs_of`]), each job's folder in the store is listed once to
//! skip the runs already there, and the rest are copied with [`Bulk`], one failure not
//! stopping the others. A store that refuses the credentials stops everything at once,
//! since every write would fail alike.

use clap::Args;

use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::api::{Patch, PatchParams};
use kube::{Api, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::archive::copy;
use crate::archive::install::{self, ARCHIVER, Install, Objects};
use crate::archive::open::{self, Archive, Target};
use crate::cli::{JobSelectionArgs, KubeArgs, StoreArgs};
use crate::client::Cluster;
use crate::commands::KuulCommand;
use crate::config::Config;
use crate::error::{Error, Operation};
use crate::kuul_job::FIELD_MANAGER;
use crate::maintenance::Selection;
use crate::maintenance::carry_out::select;
use crate::maintenance::is_managed;
use crate::printer::Printer;
use crate::printer::to_yaml;
use crate::rbac::Manifest;

/// Arguments of `kubectl kuul archive`.
#[derive(Debug, Clone, Args)]
pub struct ArchiveArgs {
    #[command(flatten)]
    pub jobs: JobSelectionArgs,

    // Help in `help = ...`: clippy would have the URLs of a doc comment in backticks,
    // which clap would show.
    #[arg(
        long,
        value_name = "URL",
        help = "The store: s3://BUCKET/PREFIX, file:///PATH or a folder (default: the config's archive)"
    )]
    pub to: Option<String>,

    #[command(flatten)]
    pub store: StoreArgs,

    #[command(flatten)]
    pub install: InstallArgs,
}

/// Flags of `archive --install`.
#[derive(Debug, Clone, Default, Args)]
pub struct InstallArgs {
    /// Install an archiver in the cluster instead: a Kuul job that archives the selected jobs
    /// every --every, with a service account that may do just that
    #[arg(long)]
    pub install: bool,

    /// How often the archiver runs, e.g. 5m, 15m, 1h (minutes that divide an hour, hours
    /// that divide a day)
    #[arg(long, value_name = "DURATION", requires = "install")]
    pub every: Option<String>,

    /// The archiver's image: kubectl-kuul at /usr/local/bin (built from images/archiver)
    #[arg(long, value_name = "IMAGE", requires = "install")]
    pub image: Option<String>,

    /// A Secret whose keys become the archiver's environment, e.g. `AWS_ACCESS_KEY_ID` and
    /// `AWS_SECRET_ACCESS_KEY`
    #[arg(long, value_name = "NAME", requires = "install")]
    pub secret: Option<String>,

    /// The pool the archiver runs in
    #[arg(long, value_name = "POOL", requires = "install")]
    pub pool: Option<String>,

    /// Tolerate the pool's taint (a pool made with label-nodes --dedicated)
    #[arg(long, requires = "install")]
    pub dedicated: bool,

    /// An image pull secret for the archiver's image (repeatable)
    #[arg(long, value_name = "NAME", requires = "install")]
    pub image_pull_secret: Vec<String>,

    /// Print the archiver's objects as YAML instead of applying them
    #[arg(long, requires = "install")]
    pub dry_run: bool,
}

impl KuulCommand for ArchiveArgs {
    const NAME: &'static str = "archive";
    const ABOUT: &'static str =
        "Copy the finished runs of Kuul jobs (records and logs) to a folder or S3.";
    const LONG_ABOUT: &'static str = include_str!("help/archive.txt");

    async fn run(self, kube: KubeArgs, printer: Printer) -> Result<(), Error> {
        if self.jobs.contexts.contexts.is_some() || kube.context.len() > 1 {
            return Err(Error::InvalidInput {
                message: "archive works on one cluster at a time".to_owned(),
                hint: Some(
                    "run it once per --context: each cluster's runs go into its own folder"
                        .to_owned(),
                ),
            });
        }
        if self.install.install {
            return self.install(&kube, printer).await;
        }
        let selection = self.jobs.selection()?;
        let target = self.target()?;
        let Archive {
            store,
            cluster: cluster_name,
        } = target.open(&kube)?;
        let cluster = Cluster::connect(&kube).await?;
        // A refused credential says so once, before anything is read.
        store.check().await?;

        let (cronjobs, mut failures) =
            select(&cluster, &selection, self.jobs.all_namespaces).await?;
        let (cronjobs, unmanaged): (Vec<_>, Vec<_>) = cronjobs
            .into_iter()
            .partition(|c| !selection.is_bulk() || self.jobs.include_unmanaged || is_managed(c));
        if !unmanaged.is_empty() {
            printer.info(format_args!(
                "left alone {} CronJob(s) kuul does not manage (name them, or pass --include-unmanaged)",
                unmanaged.len()
            ));
        }
        let scope = (!self.jobs.all_namespaces).then(|| cluster.namespace());
        let runs = copy::runs_of(&cluster, &cronjobs, scope, &cluster_name).await?;

        let archiving = copy::archive_runs(&cluster, &store, &runs.finished, printer, true).await?;
        failures.extend(archiving.failures);
        let tally = Tally {
            archived: archiving.archived,
            skipped: archiving.already_there,
            failed: failures.len(),
            in_progress: runs.in_progress,
        };
        for (what, error) in &failures {
            printer.warn(format_args!("{what}: {error}"));
        }
        printer.line(tally.summary(store.url()))?;
        if tally.failed > 0 {
            return Err(Error::Halted {
                message: format!(
                    "{} of the runs could not be archived (see above)",
                    tally.failed
                ),
                hint: Some("run the same archive again: it copies only what is missing".to_owned()),
            });
        }
        Ok(())
    }
}

impl ArchiveArgs {
    /// `--install`: checks every flag, then applies the archiver's account, role and
    /// `CronJob` ([`crate::archive::install`]).
    async fn install(&self, kube: &KubeArgs, printer: Printer) -> Result<(), Error> {
        let selection = match self.jobs.selection()? {
            Selection::Named(names) => names,
            Selection::Selector(selector) => vec!["--selector".to_owned(), selector],
            Selection::All => vec!["--all".to_owned()],
        };
        let mut selection = selection;
        if self.jobs.include_unmanaged {
            selection.push("--include-unmanaged".to_owned());
        }
        let target = self.target()?;
        if !target.url.is_s3() {
            return Err(Error::InvalidInput {
                message: format!(
                    "--install archives from a pod, which cannot write to this machine's folder {}",
                    target.url
                ),
                hint: Some("archive to object storage: --to s3://BUCKET/PREFIX".to_owned()),
            });
        }
        let schedule = install::schedule_every(self.install.every.as_deref().unwrap_or("5m"))?;
        let Some(image) = self.install.image.clone() else {
            return Err(Error::InvalidInput {
                message: "--install needs --image: the archiver's image".to_owned(),
                hint: Some(
                    "an image with kubectl-kuul at /usr/local/bin, built from images/archiver with `kubectl kuul image build`"
                        .to_owned(),
                ),
            });
        };
        let config = Config::load(self.store.config.as_deref())?;
        let mut plan = Install {
            namespace: kube
                .namespace
                .clone()
                .unwrap_or_else(|| "default".to_owned()),
            all_namespaces: self.jobs.all_namespaces,
            image,
            schedule,
            store: target.url.clone(),
            endpoint: self.store.endpoint.clone(),
            cluster_name: self.store.cluster_name.clone().unwrap_or_default(),
            selection,
            secret: self.install.secret.clone(),
            pool: self.install.pool.clone(),
            dedicated: self.install.dedicated,
            image_pull_secrets: self.install.image_pull_secret.clone(),
        };
        // Every flag is checked before the kubeconfig is read.
        plan.objects(&config.defaults)?;
        let archive = target.open(kube)?;
        let cluster = Cluster::connect(kube).await?;
        let namespace = cluster.namespace().to_owned();
        plan.namespace.clone_from(&namespace);
        plan.cluster_name = archive.cluster;
        let objects = plan.objects(&config.defaults)?;
        if self.install.dry_run {
            // Kubernetes objects always serialize.
            let mut documents =
                vec![serde_json::to_value(&objects.service_account).unwrap_or_default()];
            documents.extend(objects.rbac.iter().map(Manifest::to_value));
            documents.push(serde_json::to_value(&objects.cronjob).unwrap_or_default());
            for document in documents {
                printer.data(&format!("---\n{}", to_yaml(&document)))?;
            }
            return Ok(());
        }
        // Without its Secret the archiver's pods would never start
        // (CreateContainerConfigError): say so now, before anything is written.
        if let Some(secret) = &plan.secret {
            let found: Result<Secret, Error> = cluster.get(&namespace, secret, "secrets").await;
            if let Err(Error::NotFound { .. }) = found {
                return Err(Error::Halted {
                    message: format!(
                        "secret {secret:?} not found in namespace {namespace:?}: the archiver's pods could not start without it"
                    ),
                    hint: Some(format!(
                        "create it first, e.g. kubectl create secret generic {secret} -n {namespace} --from-literal=AWS_ACCESS_KEY_ID=... --from-literal=AWS_SECRET_ACCESS_KEY=..."
                    )),
                });
            }
            found?;
        }
        apply_all(&cluster, &namespace, &objects, printer).await?;
        printer.info(format_args!(
            "the archiver runs {} ({}) and archives to {}; see it with `kubectl kuul status {ARCHIVER} -n {namespace}`, start it now with `kubectl kuul run-now {ARCHIVER} -n {namespace} --follow`",
            self.install.every.as_deref().unwrap_or("5m"),
            plan.schedule,
            target.url
        ));
        Ok(())
    }

    /// The store (`--to`, else the config's `archive`), with the other flags checked
    /// before anything is read.
    fn target(&self) -> Result<Target, Error> {
        open::target("--to", self.to.as_deref(), &self.store)?.ok_or_else(|| Error::InvalidInput {
            message: "no store to archive to".to_owned(),
            hint: Some(
                "pass --to s3://BUCKET/PREFIX or --to FOLDER, or set `archive:` in the kuul config"
                    .to_owned(),
            ),
        })
    }
}

/// Applies the archiver's objects in order: its account, its role and binding, then its
/// `CronJob`, so that no run starts without its rights.
async fn apply_all(
    cluster: &Cluster,
    namespace: &str,
    objects: &Objects,
    printer: Printer,
) -> Result<(), Error> {
    let client = cluster.client().clone();
    apply(
        cluster,
        Api::<ServiceAccount>::namespaced(client.clone(), namespace),
        &objects.service_account,
        Operation::new("apply", "serviceaccounts").in_namespace(namespace),
        printer,
    )
    .await?;
    for manifest in &objects.rbac {
        let operation = |resource| Operation::new("apply", resource);
        match manifest {
            Manifest::Role(role) => {
                let api = Api::<Role>::namespaced(client.clone(), namespace);
                let op = operation("roles").in_namespace(namespace);
                apply(cluster, api, role, op, printer).await?;
            }
            Manifest::RoleBinding(binding) => {
                let api = Api::<RoleBinding>::namespaced(client.clone(), namespace);
                let op = operation("rolebindings").in_namespace(namespace);
                apply(cluster, api, binding, op, printer).await?;
            }
            Manifest::ClusterRole(role) => {
                let api = Api::<ClusterRole>::all(client.clone());
                apply(cluster, api, role, operation("clusterroles"), printer).await?;
            }
            Manifest::ClusterRoleBinding(binding) => {
                let api = Api::<ClusterRoleBinding>::all(client.clone());
                let op = operation("clusterrolebindings");
                apply(cluster, api, binding, op, printer).await?;
            }
        }
    }
    apply(
        cluster,
        Api::<CronJob>::namespaced(client, namespace),
        &objects.cronjob,
        Operation::new("apply", "cronjobs").in_namespace(namespace),
        printer,
    )
    .await?;
    Ok(())
}

/// Server-side applies `object` as kuul's own (the field manager `new` and `apply` use),
/// and prints it as `kubectl apply --server-side` does: `KIND/NAME serverside-applied`.
async fn apply<K>(
    cluster: &Cluster,
    api: Api<K>,
    object: &K,
    operation: Operation,
    printer: Printer,
) -> Result<(), Error>
where
    K: Resource + Clone + Serialize + DeserializeOwned + std::fmt::Debug,
    K::DynamicType: Default,
{
    let name = object.meta().name.clone().unwrap_or_default();
    let operation = operation.named(&name);
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api.patch(&name, &params, &Patch::Apply(object))
        .await
        .map_err(|source| cluster.error(operation, source))?;
    let kind = K::kind(&K::DynamicType::default()).to_lowercase();
    let group = K::group(&K::DynamicType::default()).to_string();
    let kind = if group.is_empty() {
        kind
    } else {
        format!("{kind}.{group}")
    };
    printer.line(format_args!("{kind}/{name} serverside-applied"))
}

/// What became of the runs.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    archived: usize,
    skipped: usize,
    failed: usize,
    in_progress: usize,
}

impl Tally {
    /// `archived 3 runs to s3://b/p; 12 already there; 1 failed; 2 in progress not archived`.
    fn summary(&self, store: &str) -> String {
        let runs = |n: usize| if n == 1 { "run" } else { "runs" };
        let mut summary = format!(
            "archived {} {} to {store}",
            self.archived,
            runs(self.archived)
        );
        for (count, what) in [
            (self.skipped, "already there"),
            (self.failed, "failed"),
            (self.in_progress, "in progress, not archived"),
        ] {
            if count > 0 {
                summary = format!("{summary}; {count} {what}");
            }
        }
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_counts_every_run() {
        let tally = Tally {
            archived: 3,
            skipped: 12,
            failed: 1,
            in_progress: 2,
        };
        assert_eq!(
            tally.summary("s3://kuul-logs/prod"),
            "archived 3 runs to s3://kuul-logs/prod; 12 already there; 1 failed; 2 in progress, not archived"
        );
        assert_eq!(
            Tally {
                archived: 1,
                ..Tally::default()
            }
            .summary("/var/kuul"),
            "archived 1 run to /var/kuul"
        );
    }
}
