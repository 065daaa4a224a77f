//! How a pod's container becomes a local Docker container.
//!
//! A Kuul image is only tested if it runs locally the way the kubelet will run it, so the
//! mapping is written once, here, and used both for `kuul-image.yaml` test cases and for
//! a live `CronJob`'s container (`image test --from-cronjob`, `run-now --local`). It is
//! the kubelet's: `command` replaces the image's entrypoint and, when `args` is absent,
//! its cmd too; `args` replaces the cmd; env, workingDir and the user are set as given;
//! the memory limit is a hard limit without swap; the CPU limit becomes nano-CPUs. Env
//! vars that come from Secrets or `ConfigMaps` cannot be reproduced from the cluster
//! without reading them, so they are listed, and can be supplied with `--env-file`.

use std::collections::BTreeMap;
use std::time::Duration;

use bollard::models::{ContainerCreateBody, HostConfig};
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::Container;

use crate::project::{Case, Network, parse_cpu, parse_memory};

/// The label every container the SDK starts carries, valued with the run's id, so that
/// an interrupted run can find and remove its containers.
pub const RUN_LABEL: &str = "kuul.io/image-test";

/// Where Kubernetes lets a container leave its termination message.
pub const TERMINATION_LOG: &str = "/dev/termination-log";

/// A container to run, in pod terms.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerSpec {
    pub image: String,
    /// The pod's `command`.
    pub command: Option<Vec<String>>,
    /// The pod's `args`.
    pub args: Option<Vec<String>>,
    pub env: Vec<(String, String)>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub memory_bytes: Option<i64>,
    pub nano_cpus: Option<i64>,
    pub network: Network,
    /// Killed after this long.
    pub timeout: Option<Duration>,
    pub labels: BTreeMap<String, String>,
}

impl ContainerSpec {
    /// The container of a `kuul-image.yaml` test case, running `image`.
    pub fn from_case(case: &Case, image: &str) -> Self {
        Self {
            image: image.to_owned(),
            command: case.command.clone(),
            args: case.args.clone(),
            env: case
                .env
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            working_dir: case.working_dir.clone(),
            user: case.user.clone(),
            memory_bytes: case.resources.memory.map(|m| m.0),
            nano_cpus: case.resources.cpu.map(|c| c.0),
            network: case.network,
            timeout: case.timeout.map(|t| t.0),
            labels: BTreeMap::new(),
        }
    }

    /// Docker's create body. `termination_log` is a host file bind-mounted where the
    /// kubelet mounts its own (`None` when the daemon cannot see our files).
    pub fn to_docker(&self, termination_log: Option<&str>) -> ContainerCreateBody {
        // The kubelet ignores the image's cmd when only `command` is set.
        let cmd = match (&self.command, &self.args) {
            (_, Some(args)) => Some(args.clone()),
            (Some(_), None) => Some(Vec::new()),
            (None, None) => None,
        };
        let binds = termination_log.map(|host| vec![format!("{host}:{TERMINATION_LOG}")]);
        ContainerCreateBody {
            image: Some(self.image.clone()),
            entrypoint: self.command.clone(),
            cmd,
            env: (!self.env.is_empty())
                .then(|| self.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            working_dir: self.working_dir.clone(),
            user: self.user.clone(),
            labels: (!self.labels.is_empty()).then(|| self.labels.clone().into_iter().collect()),
            host_config: Some(HostConfig {
                memory: self.memory_bytes,
                // No swap beyond the limit, as on a Kubernetes node.
                memory_swap: self.memory_bytes,
                nano_cpus: self.nano_cpus,
                network_mode: Some(self.network.docker_mode().to_owned()),
                binds,
                ..HostConfig::default()
            }),
            ..ContainerCreateBody::default()
        }
    }
}

/// A `CronJob`'s first container as a local container, and what could not be reproduced.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalRun {
    pub spec: ContainerSpec,
    /// Env vars whose values live in the cluster (Secrets, `ConfigMaps`, fields), by name
    /// with where they come from, e.g. `DB_PASSWORD (secret db/password)`.
    pub not_reproduced: Vec<(String, String)>,
}

/// Maps the first container of `cronjob`'s pod template; `env_file` values fill (or
/// override) env vars by name. Errors say why the `CronJob` cannot be run locally.
pub fn from_cronjob(cronjob: &CronJob, env_file: &[(String, String)]) -> Result<LocalRun, String> {
    let job_spec = cronjob.spec.job_template.spec.as_ref();
    let pod = job_spec
        .and_then(|s| s.template.spec.as_ref())
        .ok_or("its job template has no pod spec")?;
    let container: &Container = pod
        .containers
        .first()
        .ok_or("its pod template has no containers")?;
    let image = container
        .image
        .clone()
        .filter(|i| !i.is_empty())
        .ok_or_else(|| format!("container {:?} names no image", container.name))?;

    let mut env = Vec::new();
    let mut not_reproduced = Vec::new();
    for var in container.env.iter().flatten() {
        if let Some(source) = &var.value_from {
            not_reproduced.push((var.name.clone(), describe_source(source)));
        } else {
            env.push((var.name.clone(), var.value.clone().unwrap_or_default()));
        }
    }
    for from in container.env_from.iter().flatten() {
        let what = match (&from.secret_ref, &from.config_map_ref) {
            (Some(s), _) => format!("all keys of secret {}", s.name),
            (_, Some(c)) => format!("all keys of configMap {}", c.name),
            _ => "an envFrom source".to_owned(),
        };
        not_reproduced.push((
            from.prefix
                .clone()
                .map_or_else(|| "*".to_owned(), |p| format!("{p}*")),
            what,
        ));
    }
    for (name, value) in env_file {
        not_reproduced.retain(|(n, _)| n != name);
        match env.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1.clone_from(value),
            None => env.push((name.clone(), value.clone())),
        }
    }

    let limits = container.resources.as_ref().and_then(|r| r.limits.as_ref());
    let limit = |key: &str| limits.and_then(|l| l.get(key)).map(|q| q.0.as_str());
    let memory_bytes = limit("memory").map(parse_memory).transpose()?;
    let nano_cpus = limit("cpu").map(parse_cpu).transpose()?;

    let security = container.security_context.as_ref();
    let pod_security = pod.security_context.as_ref();
    let uid = security
        .and_then(|s| s.run_as_user)
        .or_else(|| pod_security.and_then(|s| s.run_as_user));
    let gid = security
        .and_then(|s| s.run_as_group)
        .or_else(|| pod_security.and_then(|s| s.run_as_group));
    let user = match (uid, gid) {
        (Some(uid), Some(gid)) => Some(format!("{uid}:{gid}")),
        (Some(uid), None) => Some(uid.to_string()),
        (None, Some(gid)) => Some(format!("0:{gid}")),
        (None, None) => None,
    };

    let timeout = job_spec
        .and_then(|s| s.active_deadline_seconds)
        .and_then(|s| u64::try_from(s).ok())
        .map(Duration::from_secs);
    let mut labels = BTreeMap::new();
    if let Some(job) = cronjob.metadata.name.as_ref() {
        labels.insert(kuul_core::kuul_job::JOB_LABEL.to_owned(), job.clone());
    }
    let spec = ContainerSpec {
        image,
        command: container.command.clone(),
        args: container.args.clone(),
        env,
        working_dir: container.working_dir.clone(),
        user,
        memory_bytes,
        nano_cpus,
        network: Network::Bridge,
        timeout,
        labels,
    };
    Ok(LocalRun {
        spec,
        not_reproduced,
    })
}

fn describe_source(source: &k8s_openapi::api::core::v1::EnvVarSource) -> String {
    if let Some(s) = &source.secret_key_ref {
        format!("secret {}/{}", s.name, s.key)
    } else if let Some(c) = &source.config_map_key_ref {
        format!("configMap {}/{}", c.name, c.key)
    } else if let Some(f) = &source.field_ref {
        format!("field {}", f.field_path)
    } else if let Some(r) = &source.resource_field_ref {
        format!("resource {}", r.resource)
    } else {
        "the cluster".to_owned()
    }
}

/// Parses an env file as `docker run --env-file` does: `NAME=VALUE` lines, `#` comments
/// and blank lines skipped; a bare `NAME` takes the value from kuul's own environment.
pub fn parse_env_file(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, String> {
    let mut vars = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, value) = match line.split_once('=') {
            Some((name, value)) => (name, Some(value.to_owned())),
            None => (line.trim_end(), None),
        };
        if name.is_empty() {
            return Err(format!(
                "line {}: {line:?} has no NAME before the '='",
                number + 1
            ));
        }
        if !crate::project::valid_env_name(name) {
            return Err(format!(
                "line {}: {name:?} is not a valid variable name (letters, digits, '_', '-' and '.', not starting with a digit)",
                number + 1
            ));
        }
        if let Some(value) = value.or_else(|| lookup(name)) {
            vars.push((name.to_owned(), value));
        }
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::Project;

    fn case(yaml: &str) -> Case {
        let text = format!("name: x\nversion: '1'\ntests:\n{yaml}");
        Project::parse(&text, std::path::Path::new("k.yaml"))
            .unwrap()
            .tests
            .remove(0)
    }

    #[test]
    fn a_case_maps_like_a_pod() {
        let spec = ContainerSpec::from_case(
            &case(
                "  - name: a\n    command: [/bin/sh, -c]\n    args: ['exit 3']\n    env: {A: '1'}\n    workingDir: /w\n    user: '10:20'\n    resources: {cpu: 250m, memory: 32Mi}\n    network: none\n",
            ),
            "img:1",
        );
        let body = spec.to_docker(Some("/tmp/t"));
        assert_eq!(body.image.as_deref(), Some("img:1"));
        assert_eq!(
            body.entrypoint,
            Some(vec!["/bin/sh".to_owned(), "-c".to_owned()])
        );
        assert_eq!(body.cmd, Some(vec!["exit 3".to_owned()]));
        assert_eq!(body.env, Some(vec!["A=1".to_owned()]));
        assert_eq!(body.working_dir.as_deref(), Some("/w"));
        assert_eq!(body.user.as_deref(), Some("10:20"));
        let host = body.host_config.unwrap();
        assert_eq!(host.memory, Some(32 << 20));
        assert_eq!(host.memory_swap, Some(32 << 20));
        assert_eq!(host.nano_cpus, Some(250_000_000));
        assert_eq!(host.network_mode.as_deref(), Some("none"));
        assert_eq!(
            host.binds,
            Some(vec!["/tmp/t:/dev/termination-log".to_owned()])
        );
    }

    #[test]
    fn command_without_args_drops_the_image_cmd_and_nothing_keeps_both() {
        let only_command =
            ContainerSpec::from_case(&case("  - name: a\n    command: [run]\n"), "i");
        assert_eq!(only_command.to_docker(None).cmd, Some(Vec::new()));
        let only_args =
            ContainerSpec::from_case(&case("  - name: a\n    args: [--dry-run]\n"), "i");
        let body = only_args.to_docker(None);
        assert_eq!(body.entrypoint, None);
        assert_eq!(body.cmd, Some(vec!["--dry-run".to_owned()]));
        let neither = ContainerSpec::from_case(&case("  - name: a\n"), "i").to_docker(None);
        assert_eq!((neither.entrypoint, neither.cmd), (None, None));
        assert_eq!(neither.host_config.unwrap().memory, None);
    }

    fn cronjob() -> CronJob {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "backup"},
            "spec": {"schedule": "@daily", "jobTemplate": {"spec": {
                "activeDeadlineSeconds": 600,
                "template": {"spec": {
                    "restartPolicy": "Never",
                    "securityContext": {"runAsUser": 1000},
                    "containers": [{
                        "name": "backup", "image": "reg/ops/backup:1",
                        "command": ["/bin/sh", "-c"], "args": ["echo $A"],
                        "workingDir": "/srv",
                        "env": [
                            {"name": "A", "value": "1"},
                            {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
                            {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "mode"}}}
                        ],
                        "envFrom": [{"secretRef": {"name": "extra"}}],
                        "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}}
                    }, {"name": "sidecar", "image": "other"}]
                }}
            }}}
        }))
        .unwrap()
    }

    #[test]
    fn a_cronjob_maps_its_first_container_and_lists_what_stays_in_the_cluster() {
        let run = from_cronjob(&cronjob(), &[]).unwrap();
        let spec = &run.spec;
        assert_eq!(spec.image, "reg/ops/backup:1");
        assert_eq!(
            spec.command,
            Some(vec!["/bin/sh".to_owned(), "-c".to_owned()])
        );
        assert_eq!(spec.args, Some(vec!["echo $A".to_owned()]));
        assert_eq!(spec.env, vec![("A".to_owned(), "1".to_owned())]);
        assert_eq!(spec.working_dir.as_deref(), Some("/srv"));
        assert_eq!(spec.user.as_deref(), Some("1000"));
        assert_eq!(spec.memory_bytes, Some(128 << 20));
        assert_eq!(spec.nano_cpus, Some(500_000_000));
        assert_eq!(spec.timeout, Some(Duration::from_secs(600)));
        assert_eq!(spec.labels["kuul.io/job"], "backup");
        assert_eq!(
            run.not_reproduced,
            vec![
                ("PW".to_owned(), "secret db/password".to_owned()),
                ("MODE".to_owned(), "configMap cfg/mode".to_owned()),
                ("*".to_owned(), "all keys of secret extra".to_owned()),
            ]
        );
    }

    #[test]
    fn an_env_file_supplies_what_the_cluster_holds() {
        let file = parse_env_file("# db\nPW=s3cret\n\nA=2\nHOME_DIR\n", |n| {
            (n == "HOME_DIR").then(|| "/root".to_owned())
        })
        .unwrap();
        let run = from_cronjob(&cronjob(), &file).unwrap();
        assert_eq!(
            run.spec.env,
            vec![
                ("A".to_owned(), "2".to_owned()),
                ("PW".to_owned(), "s3cret".to_owned()),
                ("HOME_DIR".to_owned(), "/root".to_owned()),
            ]
        );
        assert_eq!(run.not_reproduced.len(), 2);
        assert_eq!(
            parse_env_file("1X=y\n", |_| None).unwrap_err(),
            "line 1: \"1X\" is not a valid variable name (letters, digits, '_', '-' and '.', not starting with a digit)"
        );
        assert_eq!(
            parse_env_file("A=1\n=2\n", |_| None).unwrap_err(),
            "line 2: \"=2\" has no NAME before the '='"
        );
    }

    #[test]
    fn a_cronjob_without_containers_says_so() {
        let mut empty = cronjob();
        let pod = empty
            .spec
            .job_template
            .spec
            .as_mut()
            .unwrap()
            .template
            .spec
            .as_mut()
            .unwrap();
        pod.containers.clear();
        assert_eq!(
            from_cronjob(&empty, &[]).unwrap_err(),
            "its pod template has no containers"
        );
    }
}
