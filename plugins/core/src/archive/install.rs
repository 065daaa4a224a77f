//! The archiver that `archive --install` puts into a cluster, so that runs are archived
//! before the `CronJob` controller deletes them: a Kuul job (a `CronJob` made the way
//! `new` makes one) whose pods run `kubectl-kuul archive` with the pod's own service
//! account, a `ServiceAccount`, and the role of [`Persona::Archiver`] bound to it, with
//! exactly the rights `archive` needs (the rbac rule table). This module renders them
//! without I/O; the command applies them.

use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{EnvFromSource, SecretEnvSource, ServiceAccount};
use kube::api::ObjectMeta;

use super::StoreUrl;
use crate::error::Error;
use crate::kuul_job::{Defaults, KuulJob, POOL_LABEL, Request, check_dns_subdomain};
use crate::rbac::{self, Grantee, Manifest, Persona, Reach};

/// The name of the archiver's `CronJob`, `ServiceAccount` and role.
pub const ARCHIVER: &str = "kuul-archiver";

/// Where an archiver image keeps the binary (`images/archiver`).
pub const BINARY: &str = "/usr/local/bin/kubectl-kuul";

/// The archiver's requests and limits: it holds the runs of the jobs it archives as
/// records (about 45 MB for 2,000 runs), more than a small job's default.
const CPU: &str = "200m";
const MEMORY: &str = "256Mi";

/// Turns `--every` into a schedule: minutes that divide an hour, or hours that divide a
/// day, so that the runs are evenly spaced, as cron can say it.
pub fn schedule_every(text: &str) -> Result<String, Error> {
    let invalid = || {
        Error::InvalidInput {
        message: format!("invalid --every {text:?}: the archiver runs on a cron schedule"),
        hint: Some(
            "minutes that divide an hour (1m, 2m, 5m, 10m, 15m, 30m, ...) or hours that divide a day (1h, 2h, 3h, 4h, 6h, 8h, 12h, 24h)"
                .to_owned(),
        ),
    }
    };
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .ok_or_else(invalid)?,
    );
    let n: u32 = number.parse().map_err(|_| invalid())?;
    match unit {
        "m" if n == 1 => Ok("* * * * *".to_owned()),
        "m" if n > 1 && n < 60 && 60 % n == 0 => Ok(format!("*/{n} * * * *")),
        "h" if n == 1 => Ok("0 * * * *".to_owned()),
        "h" if n > 1 && n < 24 && 24 % n == 0 => Ok(format!("0 */{n} * * *")),
        "h" if n == 24 => Ok("0 0 * * *".to_owned()),
        "d" if n == 1 => Ok("0 0 * * *".to_owned()),
        _ => Err(invalid()),
    }
}

/// What the archiver is to do, every flag checked.
#[derive(Debug, Clone)]
pub struct Install {
    pub namespace: String,
    /// Archive the selected jobs of every namespace (`-A`): the role is then a
    /// `ClusterRole`.
    pub all_namespaces: bool,
    pub image: String,
    /// A cron schedule ([`schedule_every`]).
    pub schedule: String,
    pub store: StoreUrl,
    pub endpoint: Option<String>,
    /// The cluster's name in the archive, as the installer's kubeconfig names it: the pod
    /// has no such name of its own.
    pub cluster_name: String,
    /// Which jobs: job names, `-l SELECTOR` or `--all`, as the archiver is to be told.
    pub selection: Vec<String>,
    /// A Secret whose keys become the archiver's environment (the store's credentials).
    pub secret: Option<String>,
    pub pool: Option<String>,
    pub dedicated: bool,
    pub image_pull_secrets: Vec<String>,
}

/// The objects of an installed archiver, in the order they are applied.
#[derive(Debug, Clone)]
pub struct Objects {
    pub service_account: ServiceAccount,
    pub rbac: Vec<Manifest>,
    pub cronjob: CronJob,
}

impl Install {
    /// The arguments of the archiver's `kubectl-kuul` in the pod.
    pub fn command(&self) -> Vec<String> {
        let mut command = vec![BINARY.to_owned(), "archive".to_owned()];
        command.extend(self.selection.iter().cloned());
        if self.all_namespaces {
            command.push("--all-namespaces".to_owned());
        } else {
            command.extend(["--namespace".to_owned(), self.namespace.clone()]);
        }
        command.extend(["--to".to_owned(), self.store.to_string()]);
        if let Some(endpoint) = &self.endpoint {
            command.extend(["--endpoint".to_owned(), endpoint.clone()]);
        }
        command.extend(["--cluster-name".to_owned(), self.cluster_name.clone()]);
        command
    }

    /// The objects to apply, the `CronJob` made and checked as `new` makes it.
    pub fn objects(&self, defaults: &Defaults) -> Result<Objects, Error> {
        let request = Request {
            name: ARCHIVER.to_owned(),
            namespace: Some(self.namespace.clone()),
            image: self.image.clone(),
            schedule: self.schedule.clone(),
            time_zone: None,
            pool: self.pool.clone(),
            dedicated: self.dedicated,
            cpu: Some(CPU.to_owned()),
            memory: Some(MEMORY.to_owned()),
            env: Vec::new(),
            working_dir: None,
            active_deadline: None,
            starting_deadline: None,
            history_success: None,
            history_failed: None,
            image_pull_secrets: self.image_pull_secrets.clone(),
            labels: Vec::new(),
            command: self.command(),
        };
        if let Some(secret) = &self.secret {
            check_dns_subdomain("--secret", secret)?;
        }
        let job = KuulJob::new(request, defaults)?;
        let mut cronjob = job.to_cronjob();
        if let Some(pod) = cronjob
            .spec
            .job_template
            .spec
            .as_mut()
            .and_then(|s| s.template.spec.as_mut())
        {
            pod.service_account_name = Some(ARCHIVER.to_owned());
            if let Some(secret) = &self.secret {
                for container in &mut pod.containers {
                    container.env_from = Some(vec![EnvFromSource {
                        secret_ref: Some(SecretEnvSource {
                            name: secret.clone(),
                            optional: Some(false),
                        }),
                        ..EnvFromSource::default()
                    }]);
                }
            }
        }
        let service_account = ServiceAccount {
            metadata: ObjectMeta {
                name: Some(ARCHIVER.to_owned()),
                namespace: Some(self.namespace.clone()),
                labels: Some(
                    job.labels
                        .iter()
                        .filter(|(key, _)| key.as_str() != POOL_LABEL)
                        .map(|(key, value)| (key.clone(), value.clone()))
                        .collect(),
                ),
                ..ObjectMeta::default()
            },
            ..ServiceAccount::default()
        };
        let reach = if self.all_namespaces {
            Reach::Cluster
        } else {
            Reach::Namespace(self.namespace.clone())
        };
        let grantee = Grantee::ServiceAccount {
            namespace: self.namespace.clone(),
            name: ARCHIVER.to_owned(),
        };
        let mut rbac = rbac::manifests(Persona::Archiver, &reach, &[grantee]);
        // One ClusterRoleBinding per namespace that runs an archiver, so that installing
        // a second one does not take the first one's rights away.
        for manifest in &mut rbac {
            if let Manifest::ClusterRoleBinding(binding) = manifest {
                binding.metadata.name = Some(format!("{ARCHIVER}-{}", self.namespace));
            }
        }
        Ok(Objects {
            service_account,
            rbac,
            cronjob,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_is_an_even_cron_schedule() {
        for (every, schedule) in [
            ("1m", "* * * * *"),
            ("5m", "*/5 * * * *"),
            ("30m", "*/30 * * * *"),
            ("1h", "0 * * * *"),
            ("6h", "0 */6 * * *"),
            ("24h", "0 0 * * *"),
            ("1d", "0 0 * * *"),
        ] {
            assert_eq!(schedule_every(every).unwrap(), schedule, "{every}");
        }
        for bad in [
            "7m", "60m", "0m", "5h", "2d", "5", "m", "", "5 m", "1.5h", "-5m",
        ] {
            let error = schedule_every(bad).unwrap_err();
            assert_eq!(
                error.exit_status(),
                crate::error::ExitStatus::Usage,
                "{bad}"
            );
            assert!(error.to_string().starts_with("invalid --every"), "{error}");
        }
    }

    fn install(all_namespaces: bool) -> Install {
        Install {
            namespace: "ops".to_owned(),
            all_namespaces,
            image: "registry.example.com/kuul/archiver:0.1.0".to_owned(),
            schedule: "*/5 * * * *".to_owned(),
            store: StoreUrl::S3 {
                bucket: "kuul-logs".to_owned(),
                prefix: vec!["prod".to_owned()],
            },
            endpoint: Some("http://minio.storage:9000".to_owned()),
            cluster_name: "prod-eu".to_owned(),
            selection: vec!["--all".to_owned()],
            secret: Some("kuul-archive-s3".to_owned()),
            pool: Some("internal".to_owned()),
            dedicated: false,
            image_pull_secrets: vec!["registry".to_owned()],
        }
    }

    #[test]
    fn the_archiver_is_a_kuul_job_with_its_own_account() {
        let objects = install(false).objects(&Defaults::default()).unwrap();
        let manifest = serde_json::json!({
            "serviceAccount": objects.service_account,
            "rbac": objects.rbac.iter().map(Manifest::to_value).collect::<Vec<_>>(),
            "cronJob": objects.cronjob,
        });
        insta::assert_yaml_snapshot!(manifest);
    }

    #[test]
    fn every_namespace_takes_a_cluster_role_bound_per_namespace() {
        let objects = install(true).objects(&Defaults::default()).unwrap();
        let names: Vec<(String, String)> = objects
            .rbac
            .iter()
            .map(|m| {
                let value = m.to_value();
                (
                    value["kind"].as_str().unwrap().to_owned(),
                    value["metadata"]["name"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                ("ClusterRole".to_owned(), "kuul-archiver".to_owned()),
                (
                    "ClusterRoleBinding".to_owned(),
                    "kuul-archiver-ops".to_owned()
                )
            ]
        );
        let command = install(true).command();
        assert!(
            command.contains(&"--all-namespaces".to_owned()),
            "{command:?}"
        );
        assert!(!command.contains(&"--namespace".to_owned()), "{command:?}");
    }
}
