//! A Kuul job: what a team asks for (image, schedule, pool, resources), checked the way
//! the API server will check it, and the `CronJob` that runs it.
//!
//! Every input is validated here, before anything is sent, so that a typo fails at once
//! with the flag, the bad value and what is allowed, instead of as an API error (or, for
//! an image reference, as a run that never starts). The `CronJob` is built from typed
//! k8s-openapi structs with the "Defaults" of docs/ARCHITECTURE.md; a template's `CronJob` goes
//! through [`check_cronjob`], the same checks, so both paths produce an object kuul
//! vouches for. Nothing here does I/O.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use chrono_tz::Tz;
use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{
    Container, EnvVar, LocalObjectReference, PodSpec, PodTemplateSpec, ResourceRequirements,
    Toleration,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::ObjectMeta;
use serde::Serialize;

use crate::error::Error;
use crate::quantity;
use crate::schedule::{SYNTAX_HINT, Schedule, go_duration};

/// The label that marks objects kuul made and manages.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// The value of [`MANAGED_BY`] on kuul's objects.
pub const MANAGER: &str = "kuul";
/// The label naming the Kuul job, on the `CronJob`, its Jobs and its Pods.
pub const JOB_LABEL: &str = "kuul.io/job";
/// The label naming the pool a job targets, on the `CronJob`.
pub const POOL_LABEL: &str = "kuul.io/pool";
/// The server-side apply field manager of everything `new` and `apply` write.
pub const FIELD_MANAGER: &str = "kuul-apply";
/// Job names add 11 characters to the `CronJob`'s name and must stay within 63.
pub const MAX_NAME_LEN: usize = 52;

/// Values that apply when a flag is not given: from the kuul config, else built in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults {
    /// Prefixed to image references that name no registry.
    pub registry: Option<String>,
    /// The node label whose value is the pool.
    pub pool_label_key: String,
    pub cpu: String,
    pub memory: String,
    pub history_success: i32,
    pub history_failed: i32,
    pub starting_deadline_seconds: i64,
}

impl Default for Defaults {
    /// Small enough for a script, enough for most checks; a long outage skips runs older
    /// than five minutes instead of starting them all at once.
    fn default() -> Self {
        Self {
            registry: None,
            pool_label_key: POOL_LABEL.to_owned(),
            cpu: "100m".to_owned(),
            memory: "128Mi".to_owned(),
            history_success: 3,
            history_failed: 3,
            starting_deadline_seconds: 300,
        }
    }
}

/// What the user asked for, as typed (flags of `kubectl kuul new`).
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub name: String,
    pub namespace: Option<String>,
    pub image: String,
    pub schedule: String,
    pub time_zone: Option<String>,
    pub pool: Option<String>,
    /// The pool is dedicated: tolerate its taint (`label-nodes --dedicated`).
    pub dedicated: bool,
    pub cpu: Option<String>,
    pub memory: Option<String>,
    /// `NAME=VALUE` items.
    pub env: Vec<String>,
    pub working_dir: Option<String>,
    pub active_deadline: Option<String>,
    pub starting_deadline: Option<String>,
    pub history_success: Option<i32>,
    pub history_failed: Option<i32>,
    pub image_pull_secrets: Vec<String>,
    /// `KEY=VALUE` items.
    pub labels: Vec<String>,
    pub command: Vec<String>,
}

/// A validated Kuul job.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KuulJob {
    pub name: String,
    pub namespace: Option<String>,
    pub image: String,
    #[serde(serialize_with = "as_string")]
    pub schedule: Schedule,
    #[serde(serialize_with = "zone_name")]
    pub time_zone: Option<Tz>,
    pub pool: Option<String>,
    /// Whether the runs tolerate the pool's `KEY=POOL:NoSchedule` taint.
    pub dedicated: bool,
    pub pool_label_key: String,
    pub cpu: String,
    pub memory: String,
    pub env: Vec<(String, String)>,
    pub working_dir: Option<String>,
    pub command: Vec<String>,
    pub active_deadline_seconds: Option<i64>,
    pub starting_deadline_seconds: i64,
    pub history_success: i32,
    pub history_failed: i32,
    pub image_pull_secrets: Vec<String>,
    /// The user's labels plus kuul's own.
    pub labels: BTreeMap<String, String>,
}

fn as_string<S: serde::Serializer>(value: &Schedule, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(value.as_str())
}

// serde's `serialize_with` hands over a reference to the field.
#[allow(clippy::ref_option, clippy::trivially_copy_pass_by_ref)]
fn zone_name<S: serde::Serializer>(value: &Option<Tz>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(zone) => s.serialize_str(zone.name()),
        None => s.serialize_none(),
    }
}

/// One rejected input: which flag (or field), the value, what is wrong and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: String,
    pub value: String,
    pub problem: String,
    pub allowed: String,
}

impl Invalid {
    /// The complaint about `value` given as `field`.
    pub fn new(
        field: &str,
        value: &str,
        problem: impl Into<String>,
        allowed: impl Into<String>,
    ) -> Self {
        Self {
            field: field.to_owned(),
            value: value.to_owned(),
            problem: problem.into(),
            allowed: allowed.into(),
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {} {:?}: {}",
            self.field, self.value, self.problem
        )
    }
}

impl From<Invalid> for Error {
    fn from(invalid: Invalid) -> Self {
        Error::InvalidInput {
            message: invalid.to_string(),
            hint: Some(invalid.allowed),
        }
    }
}

const DNS_LABEL_RULE: &str =
    "lowercase letters, digits and '-', starting and ending with a letter or digit";

impl KuulJob {
    /// Checks every input and fills in the defaults.
    pub fn new(request: Request, defaults: &Defaults) -> Result<Self, Invalid> {
        check_job_name("NAME", &request.name)?;
        if let Some(namespace) = &request.namespace {
            check_namespace("--namespace", namespace)?;
        }
        let image = with_registry(&request.image, defaults.registry.as_deref());
        check_image("--image", &image)?;
        let schedule = Schedule::parse(&request.schedule).map_err(|why| {
            Invalid::new(
                "--schedule",
                &request.schedule,
                why.to_string(),
                SYNTAX_HINT,
            )
        })?;
        let time_zone = request
            .time_zone
            .as_deref()
            .map(|zone| parse_time_zone("--tz", zone))
            .transpose()?;
        if let Some(pool) = &request.pool {
            check_pool("--pool", pool)?;
        } else if request.dedicated {
            return Err(Invalid::new(
                "--dedicated",
                "true",
                "needs a pool",
                "name the pool whose taint to tolerate (--pool POOL, pool: in a jobs file), one made with `kubectl kuul label-nodes POOL --dedicated`",
            ));
        }
        check_label_key(
            "pool label key (config poolLabelKey)",
            &defaults.pool_label_key,
        )?;
        let cpu = request.cpu.unwrap_or_else(|| defaults.cpu.clone());
        check_quantity("--cpu", &cpu)?;
        let memory = request.memory.unwrap_or_else(|| defaults.memory.clone());
        check_quantity("--memory", &memory)?;
        let env = parse_env(&request.env)?;
        if let Some(dir) = &request.working_dir
            && dir.is_empty()
        {
            return Err(Invalid::new(
                "--working-dir",
                dir,
                "is empty",
                "a directory in the image, e.g. /work",
            ));
        }
        let active_deadline_seconds = request
            .active_deadline
            .as_deref()
            .map(|text| deadline_seconds("--active-deadline", text))
            .transpose()?;
        let starting_deadline_seconds = match request.starting_deadline.as_deref() {
            Some(text) => deadline_seconds("--starting-deadline", text)?,
            None => defaults.starting_deadline_seconds,
        };
        for secret in &request.image_pull_secrets {
            check_dns_subdomain("--image-pull-secret", secret)?;
        }
        let labels = labels(&request.name, request.pool.as_deref(), &request.labels)?;
        Ok(Self {
            name: request.name,
            namespace: request.namespace,
            image,
            schedule,
            time_zone,
            pool: request.pool,
            dedicated: request.dedicated,
            pool_label_key: defaults.pool_label_key.clone(),
            cpu,
            memory,
            env,
            working_dir: request.working_dir,
            command: request.command,
            active_deadline_seconds,
            starting_deadline_seconds,
            history_success: request.history_success.unwrap_or(defaults.history_success),
            history_failed: request.history_failed.unwrap_or(defaults.history_failed),
            image_pull_secrets: request.image_pull_secrets,
            labels,
        })
    }

    /// The labels kuul puts on the Jobs and Pods: the user's, the manager and the job.
    fn run_labels(&self) -> BTreeMap<String, String> {
        let mut labels = self.labels.clone();
        labels.remove(POOL_LABEL);
        labels
    }

    /// The `CronJob` that runs this job (docs/ARCHITECTURE.md, "Defaults"). `spec.suspend` is
    /// never set: it belongs to `kubectl kuul suspend`.
    pub fn to_cronjob(&self) -> CronJob {
        let quantities = BTreeMap::from([
            ("cpu".to_owned(), Quantity(self.cpu.clone())),
            ("memory".to_owned(), Quantity(self.memory.clone())),
        ]);
        let container = Container {
            name: self.name.clone(),
            image: Some(self.image.clone()),
            image_pull_policy: Some("IfNotPresent".to_owned()),
            command: (!self.command.is_empty()).then(|| self.command.clone()),
            working_dir: self.working_dir.clone(),
            env: (!self.env.is_empty()).then(|| {
                self.env
                    .iter()
                    .map(|(name, value)| EnvVar {
                        name: name.clone(),
                        value: Some(value.clone()),
                        ..EnvVar::default()
                    })
                    .collect()
            }),
            resources: Some(ResourceRequirements {
                requests: Some(quantities.clone()),
                limits: Some(quantities),
                ..ResourceRequirements::default()
            }),
            ..Container::default()
        };
        let pod = PodSpec {
            containers: vec![container],
            restart_policy: Some("Never".to_owned()),
            node_selector: self
                .pool
                .as_ref()
                .map(|pool| BTreeMap::from([(self.pool_label_key.clone(), pool.clone())])),
            tolerations: self.pool.as_ref().filter(|_| self.dedicated).map(|pool| {
                vec![Toleration {
                    key: Some(self.pool_label_key.clone()),
                    operator: Some("Equal".to_owned()),
                    value: Some(pool.clone()),
                    effect: Some("NoSchedule".to_owned()),
                    toleration_seconds: None,
                }]
            }),
            image_pull_secrets: (!self.image_pull_secrets.is_empty()).then(|| {
                self.image_pull_secrets
                    .iter()
                    .map(|name| LocalObjectReference { name: name.clone() })
                    .collect()
            }),
            ..PodSpec::default()
        };
        let run_labels = self.run_labels();
        CronJob {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                namespace: self.namespace.clone(),
                labels: Some(self.labels.clone()),
                ..ObjectMeta::default()
            },
            spec: CronJobSpec {
                schedule: self.schedule.as_str().to_owned(),
                time_zone: self.time_zone.map(|zone| zone.name().to_owned()),
                concurrency_policy: Some("Forbid".to_owned()),
                starting_deadline_seconds: Some(self.starting_deadline_seconds),
                successful_jobs_history_limit: Some(self.history_success),
                failed_jobs_history_limit: Some(self.history_failed),
                job_template: JobTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(run_labels.clone()),
                        ..ObjectMeta::default()
                    }),
                    spec: Some(JobSpec {
                        backoff_limit: Some(0),
                        active_deadline_seconds: self.active_deadline_seconds,
                        template: PodTemplateSpec {
                            metadata: Some(ObjectMeta {
                                labels: Some(run_labels),
                                ..ObjectMeta::default()
                            }),
                            spec: Some(pod),
                        },
                        ..JobSpec::default()
                    }),
                },
                ..CronJobSpec::default()
            },
            status: None,
        }
    }
}

/// Checks a `CronJob` from any source (a template) as [`KuulJob::new`] checks flags, and
/// returns its schedule and time zone. Fields are named by their path in the object.
pub fn check_cronjob(cronjob: &CronJob) -> Result<(Schedule, Option<Tz>), Invalid> {
    let name = cronjob.metadata.name.as_deref().unwrap_or_default();
    check_job_name("metadata.name", name)?;
    let spec = &cronjob.spec;
    if let Some(suspend) = spec.suspend {
        return Err(Invalid::new(
            "spec.suspend",
            &suspend.to_string(),
            "is owned by `kubectl kuul suspend` and `resume`",
            "leave spec.suspend out so that applying never resumes a suspended job",
        ));
    }
    let schedule = Schedule::parse(&spec.schedule).map_err(|why| {
        Invalid::new(
            "spec.schedule",
            &spec.schedule,
            why.to_string(),
            SYNTAX_HINT,
        )
    })?;
    let time_zone = spec
        .time_zone
        .as_deref()
        .map(|zone| parse_time_zone("spec.timeZone", zone))
        .transpose()?;
    check_labels("metadata.labels", cronjob.metadata.labels.as_ref())?;
    let job = spec.job_template.spec.as_ref();
    let pod_template = job.map(|job| &job.template);
    check_labels(
        "spec.jobTemplate.metadata.labels",
        spec.job_template
            .metadata
            .as_ref()
            .and_then(|m| m.labels.as_ref()),
    )?;
    check_labels(
        "spec.jobTemplate.spec.template.metadata.labels",
        pod_template
            .and_then(|t| t.metadata.as_ref())
            .and_then(|m| m.labels.as_ref()),
    )?;
    let Some(pod) = pod_template.and_then(|t| t.spec.as_ref()) else {
        return Err(Invalid::new(
            "spec.jobTemplate.spec.template.spec",
            "",
            "is missing",
            "a pod spec with at least one container",
        ));
    };
    for (key, value) in pod.node_selector.iter().flatten() {
        let field = "spec.jobTemplate.spec.template.spec.nodeSelector";
        check_label_key(field, key)?;
        check_label_value(&format!("{field}.{key}"), value)?;
    }
    if pod.containers.is_empty() {
        return Err(Invalid::new(
            "spec.jobTemplate.spec.template.spec.containers",
            "[]",
            "has no container",
            "at least one container with an image",
        ));
    }
    for (index, container) in pod.containers.iter().enumerate() {
        let at = format!("spec.jobTemplate.spec.template.spec.containers[{index}]");
        check_dns_label(&format!("{at}.name"), &container.name, 63)?;
        let image = container.image.as_deref().unwrap_or_default();
        check_image(&format!("{at}.image"), image)?;
        for env in container.env.iter().flatten() {
            check_env_name(&format!("{at}.env"), &env.name)?;
        }
        if let Some(resources) = &container.resources {
            for (kind, values) in [
                ("requests", &resources.requests),
                ("limits", &resources.limits),
            ] {
                for (resource, quantity) in values.iter().flatten() {
                    check_quantity(&format!("{at}.resources.{kind}.{resource}"), &quantity.0)?;
                }
            }
        }
    }
    Ok((schedule, time_zone))
}

/// Puts kuul's labels on a `CronJob`, its Jobs and its Pods, whatever a template said, so
/// that every kuul command finds what `new` made.
pub fn stamp_kuul_labels(cronjob: &mut CronJob) {
    let name = cronjob.metadata.name.clone().unwrap_or_default();
    let stamp = |labels: &mut Option<BTreeMap<String, String>>| {
        let labels = labels.get_or_insert_with(BTreeMap::new);
        labels.insert(MANAGED_BY.to_owned(), MANAGER.to_owned());
        labels.insert(JOB_LABEL.to_owned(), name.clone());
    };
    stamp(&mut cronjob.metadata.labels);
    let template = &mut cronjob.spec.job_template;
    stamp(
        &mut template
            .metadata
            .get_or_insert_with(ObjectMeta::default)
            .labels,
    );
    if let Some(job) = &mut template.spec {
        stamp(
            &mut job
                .template
                .metadata
                .get_or_insert_with(ObjectMeta::default)
                .labels,
        );
    }
}

fn check_labels(field: &str, labels: Option<&BTreeMap<String, String>>) -> Result<(), Invalid> {
    for (key, value) in labels.into_iter().flatten() {
        check_label_key(field, key)?;
        check_label_value(&format!("{field}.{key}"), value)?;
    }
    Ok(())
}

/// `--label` items, and kuul's own labels, which a user may not override.
fn labels(
    name: &str,
    pool: Option<&str>,
    items: &[String],
) -> Result<BTreeMap<String, String>, Invalid> {
    let mut labels = BTreeMap::new();
    for item in items {
        let Some((key, value)) = item.split_once('=') else {
            return Err(Invalid::new(
                "--label",
                item,
                "has no '='",
                "KEY=VALUE, e.g. team=ops",
            ));
        };
        // The whole item is shown, with which half of it is wrong.
        let part = |what: &str, invalid: Invalid| {
            let problem = format!("the {what} {:?} {}", invalid.value, invalid.problem);
            Invalid::new("--label", item, problem, invalid.allowed)
        };
        check_label_key("--label", key).map_err(|invalid| part("key", invalid))?;
        check_label_value("--label", value).map_err(|invalid| part("value", invalid))?;
        if [MANAGED_BY, JOB_LABEL, POOL_LABEL].contains(&key) {
            return Err(Invalid::new(
                "--label",
                item,
                format!("{key} is set by kuul"),
                "use --pool for the pool; the job label is the job's NAME",
            ));
        }
        labels.insert(key.to_owned(), value.to_owned());
    }
    labels.insert(MANAGED_BY.to_owned(), MANAGER.to_owned());
    labels.insert(JOB_LABEL.to_owned(), name.to_owned());
    if let Some(pool) = pool {
        labels.insert(POOL_LABEL.to_owned(), pool.to_owned());
    }
    Ok(labels)
}

fn parse_env(items: &[String]) -> Result<Vec<(String, String)>, Invalid> {
    let mut env: Vec<(String, String)> = Vec::new();
    for item in items {
        let Some((name, value)) = item.split_once('=') else {
            return Err(Invalid::new(
                "--env",
                item,
                "has no '='",
                "NAME=VALUE, e.g. --env DB_HOST=db.internal",
            ));
        };
        check_env_name("--env", name)?;
        if env.iter().any(|(known, _)| known == name) {
            return Err(Invalid::new(
                "--env",
                item,
                format!("{name} is given twice"),
                "give each variable once",
            ));
        }
        env.push((name.to_owned(), value.to_owned()));
    }
    Ok(env)
}

/// A deadline as seconds: a plain number of seconds, or a Go duration such as 90m or 2h.
pub fn deadline_seconds(field: &str, text: &str) -> Result<i64, Invalid> {
    let allowed = "a positive number of seconds, or a duration such as 90s, 30m, 2h";
    let duration = match text.parse::<u64>() {
        Ok(seconds) => Ok(Duration::from_secs(seconds)),
        Err(_) if text.starts_with('-') => Err("is negative".to_owned()),
        Err(_) if text.parse::<f64>().is_ok() => Err("is not a whole number of seconds".to_owned()),
        Err(_) => go_duration(text),
    }
    .map_err(|why| Invalid::new(field, text, why, allowed))?;
    if duration.subsec_nanos() != 0 {
        return Err(Invalid::new(
            field,
            text,
            "is not a whole number of seconds",
            allowed,
        ));
    }
    match i64::try_from(duration.as_secs()) {
        Ok(0) => Err(Invalid::new(field, text, "is zero", allowed)),
        Ok(seconds) => Ok(seconds),
        Err(_) => Err(Invalid::new(field, text, "is too long", allowed)),
    }
}

/// A time zone the API server knows: an IANA name, case as in the database, not "Local".
/// chrono-tz carries the IANA database; the server uses its host's or Go's copy, which
/// may lag behind for very new zones.
pub fn parse_time_zone(field: &str, text: &str) -> Result<Tz, Invalid> {
    let allowed = "an IANA time zone name such as UTC, Europe/Berlin or America/New_York";
    if text.eq_ignore_ascii_case("local") {
        return Err(Invalid::new(
            field,
            text,
            "is not an explicit time zone",
            allowed,
        ));
    }
    text.parse::<Tz>().map_err(|_| {
        Invalid::new(
            field,
            text,
            "is not a known time zone (names are case-sensitive)",
            allowed,
        )
    })
}

/// A Kuul job name: a DNS-1123 label short enough for the Job names derived from it.
pub fn check_job_name(field: &str, name: &str) -> Result<(), Invalid> {
    check_dns_label(field, name, MAX_NAME_LEN)
}

fn check_dns_label(field: &str, text: &str, max: usize) -> Result<(), Invalid> {
    let allowed = format!("at most {max} {DNS_LABEL_RULE}, e.g. backup-db");
    if text.is_empty() {
        return Err(Invalid::new(field, text, "is empty", allowed));
    }
    if text.len() > max {
        return Err(Invalid::new(
            field,
            text,
            format!("is {} characters long, more than {max}", text.len()),
            allowed,
        ));
    }
    if !is_dns_label(text) {
        return Err(Invalid::new(
            field,
            text,
            "is not a DNS-1123 label",
            allowed,
        ));
    }
    Ok(())
}

fn is_dns_label(text: &str) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

fn is_dns_subdomain(text: &str) -> bool {
    !text.is_empty() && text.len() <= 253 && text.split('.').all(is_dns_label)
}

pub fn check_dns_subdomain(field: &str, text: &str) -> Result<(), Invalid> {
    if is_dns_subdomain(text) {
        Ok(())
    } else {
        Err(Invalid::new(
            field,
            text,
            "is not a DNS-1123 subdomain",
            format!("dot-separated parts of {DNS_LABEL_RULE}, at most 253 characters"),
        ))
    }
}

/// A Node's name: a DNS-1123 subdomain, as the API server requires.
pub fn check_node_name(field: &str, name: &str) -> Result<(), Invalid> {
    check_dns_subdomain(field, name).map_err(|mut invalid| {
        invalid.allowed = format!(
            "a node's name: dot-separated parts of {DNS_LABEL_RULE}, e.g. node-1 (`kubectl get nodes` lists them)"
        );
        invalid
    })
}

/// A pool is a label value of the nodes' pool label, and may not be empty.
pub fn check_pool(field: &str, pool: &str) -> Result<(), Invalid> {
    if pool.is_empty() {
        return Err(Invalid::new(
            field,
            pool,
            "is empty",
            "a pool name such as prod or internal",
        ));
    }
    check_label_value(field, pool)
}

fn is_label_value(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.is_empty()
        || (bytes.len() <= 63
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && bytes[0].is_ascii_alphanumeric()
            && bytes[bytes.len() - 1].is_ascii_alphanumeric())
}

/// A label value: empty, or at most 63 letters, digits, '-', '_' or '.'.
pub fn check_label_value(field: &str, value: &str) -> Result<(), Invalid> {
    if is_label_value(value) {
        Ok(())
    } else {
        Err(Invalid::new(
            field,
            value,
            "is not a valid label value",
            "at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
        ))
    }
}

/// A label key: an optional DNS subdomain prefix and '/', then a name like a label value.
pub fn check_label_key(field: &str, key: &str) -> Result<(), Invalid> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let valid = !name.is_empty() && is_label_value(name) && prefix.is_none_or(is_dns_subdomain);
    if valid {
        Ok(())
    } else {
        Err(Invalid::new(
            field,
            key,
            "is not a valid label key",
            "an optional DNS subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.'",
        ))
    }
}

/// Environment variable names as Kubernetes has always accepted them (newer servers accept
/// more, but a name a shell cannot use is a mistake in a job).
fn check_env_name(field: &str, name: &str) -> Result<(), Invalid> {
    let bytes = name.as_bytes();
    let ok_first = |b: &u8| b.is_ascii_alphabetic() || matches!(b, b'-' | b'.' | b'_');
    let valid = bytes.first().is_some_and(ok_first)
        && bytes.iter().all(|b| ok_first(b) || b.is_ascii_digit());
    if valid {
        Ok(())
    } else {
        Err(Invalid::new(
            field,
            name,
            "is not a valid environment variable name",
            "letters, digits, '_', '-' and '.', not starting with a digit, e.g. DB_HOST",
        ))
    }
}

/// A Kubernetes quantity (`500m`, `0.5`, `512Mi`, `1e3`), greater than zero.
pub fn check_quantity(field: &str, text: &str) -> Result<(), Invalid> {
    let allowed = "a positive quantity such as 250m or 0.5 (CPU), 512Mi or 1Gi (memory)";
    match quantity::value(text) {
        None => {
            let unit = text.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
            let problem = match unit.strip_suffix('B') {
                // Storage vendors' units, which Kubernetes does not take.
                Some(prefix @ ("k" | "K" | "M" | "G" | "T" | "P" | "E")) => format!(
                    "is not a Kubernetes quantity ({unit} is not a unit: {} counts in 1000s, {}i in 1024s)",
                    prefix.replace('K', "k"),
                    prefix.to_ascii_uppercase()
                ),
                _ => "is not a Kubernetes quantity".to_owned(),
            };
            Err(Invalid::new(field, text, problem, allowed))
        }
        Some(value) if value > 0.0 => Ok(()),
        Some(_) => Err(Invalid::new(
            field,
            text,
            "is not greater than zero",
            allowed,
        )),
    }
}

/// Adds the configured registry to a reference that names none (`ops/kuul:v3`).
pub fn with_registry(image: &str, registry: Option<&str>) -> String {
    match registry {
        Some(registry) if !image.is_empty() && image_domain(image).is_none() => {
            format!("{}/{image}", registry.trim_end_matches('/'))
        }
        _ => image.to_owned(),
    }
}

/// The registry part of a reference: the first component when it has a '.' or ':' or is
/// `localhost`, as Docker decides.
fn image_domain(image: &str) -> Option<&str> {
    let (first, _) = image.split_once('/')?;
    (first.contains(['.', ':']) || first == "localhost").then_some(first)
}

/// A registry that image references are prefixed with: `HOST[:PORT][/PATH]`, as in
/// `registry.example.com/ops`.
pub fn check_registry(field: &str, text: &str) -> Result<(), Invalid> {
    let allowed =
        "HOST[:PORT][/PATH] with a lowercase path, e.g. registry.example.com/ops or localhost:5000";
    let fail = |problem: &str| Err(Invalid::new(field, text, problem, allowed));
    if text.is_empty() {
        return fail("is empty");
    }
    if text.contains("://") {
        return fail("has a scheme: a registry is named without https://");
    }
    let trimmed = text.trim_end_matches('/');
    let (host, path) = match trimmed.split_once('/') {
        Some((host, path)) => (host, Some(path)),
        None => (trimmed, None),
    };
    if let Some(problem) = port_problem(host) {
        return fail(&problem);
    }
    if !is_registry(host) {
        return fail("has an invalid host (letters, digits, '.' and '-', then an optional :PORT)");
    }
    if path.is_some_and(|path| !path.split('/').all(is_path_component)) {
        return fail(
            "has an invalid path (lowercase letters and digits, separated by '.', '_', '__' or '-', and '/')",
        );
    }
    Ok(())
}

/// A namespace: a DNS-1123 label of at most 63 characters.
pub fn check_namespace(field: &str, text: &str) -> Result<(), Invalid> {
    check_dns_label(field, text, 63).map_err(|mut invalid| {
        invalid.allowed = format!("at most 63 {DNS_LABEL_RULE}, e.g. ops");
        invalid
    })
}

/// An image reference in the Docker reference grammar:
/// `[host[:port]/]path[:tag][@algorithm:hex]`, path components lowercase.
pub fn check_image(field: &str, image: &str) -> Result<(), Invalid> {
    let allowed = "[REGISTRY[:PORT]/]PATH[:TAG][@sha256:DIGEST] with a lowercase path, e.g. registry.example.com/ops/kuul:v3";
    let fail = |problem: &str| Err(Invalid::new(field, image, problem, allowed));
    if image.is_empty() {
        return fail("is empty");
    }
    let (rest, digest) = match image.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (image, None),
    };
    if let Some(digest) = digest
        && !is_digest(digest)
    {
        return fail("has an invalid digest (expected e.g. sha256: and 64 hex digits)");
    }
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].split_once(':') {
        Some((_, tag)) => (&rest[..rest.len() - tag.len() - 1], Some(tag)),
        None => (rest, None),
    };
    if let Some(tag) = tag {
        let bytes = tag.as_bytes();
        let word = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
        let valid = !bytes.is_empty()
            && bytes.len() <= 128
            && word(&bytes[0])
            && bytes.iter().all(|b| word(b) || matches!(b, b'.' | b'-'));
        if !valid {
            return fail("has an invalid tag (letters, digits, '_', '.', '-', at most 128)");
        }
    }
    if name.len() > 255 {
        return fail("has a name longer than 255 characters");
    }
    let path = match image_domain(name) {
        Some(domain) => {
            if let Some(problem) = port_problem(domain) {
                return fail(&problem);
            }
            if !is_registry(domain) {
                return fail("has an invalid registry host");
            }
            &name[domain.len() + 1..]
        }
        None => name,
    };
    if !path.split('/').all(is_path_component) {
        return fail(
            "has an invalid path (lowercase letters and digits, separated by '.', '_', '__' or '-', and '/')",
        );
    }
    Ok(())
}

fn is_digest(digest: &str) -> bool {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return false;
    };
    let algorithm_ok = algorithm.split(['+', '.', '-', '_']).all(|part| {
        part.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
            && part.bytes().all(|b| b.is_ascii_alphanumeric())
    });
    let hex_ok = hex.len() >= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    let sha256_ok = algorithm != "sha256" || hex.len() == 64;
    algorithm_ok && hex_ok && sha256_ok
}

/// What is wrong with a registry host's port, if it has a number that is no port.
fn port_problem(domain: &str) -> Option<String> {
    let after_host = domain.rsplit_once(']').map_or(domain, |(_, after)| after);
    let port = after_host.rsplit_once(':')?.1;
    let number: u64 = port.parse().ok()?;
    (number == 0 || number > 65535).then(|| format!("has port {port}, outside 1-65535"))
}

fn is_registry(domain: &str) -> bool {
    let (host, port) = if let Some(rest) = domain.strip_prefix('[') {
        let Some((ipv6, after)) = rest.split_once(']') else {
            return false;
        };
        if ipv6.is_empty() || !ipv6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return false;
        }
        ("ipv6", after.strip_prefix(':'))
    } else {
        match domain.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (domain, None),
        }
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let host_ok = host.split('.').all(|part| {
        let bytes = part.as_bytes();
        !bytes.is_empty()
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
            && bytes[0] != b'-'
            && bytes[bytes.len() - 1] != b'-'
    });
    port_ok && host_ok
}

/// `[a-z0-9]+` groups joined by `.`, `_`, `__` or runs of `-`.
fn is_path_component(part: &str) -> bool {
    let bytes = part.as_bytes();
    if bytes.is_empty() || !is_lower_alnum(bytes[0]) || !is_lower_alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if is_lower_alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !is_lower_alnum(bytes[i]) {
            i += 1;
        }
        let separator = &part[start..i];
        let ok = matches!(separator, "." | "_" | "__") || separator.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Request {
        Request {
            name: "backup-db".to_owned(),
            image: "registry.example.com/ops/kuul:v3".to_owned(),
            schedule: "0 2 * * *".to_owned(),
            ..Request::default()
        }
    }

    fn job(change: impl FnOnce(&mut Request)) -> Result<KuulJob, Invalid> {
        let mut request = request();
        change(&mut request);
        KuulJob::new(request, &Defaults::default())
    }

    fn rejected(change: impl FnOnce(&mut Request)) -> Invalid {
        job(change).expect_err("rejected")
    }

    #[test]
    fn defaults_land_where_design_md_says() {
        let cronjob = job(|_| {}).unwrap().to_cronjob();
        let spec = &cronjob.spec;
        assert_eq!(spec.concurrency_policy.as_deref(), Some("Forbid"));
        assert_eq!(spec.successful_jobs_history_limit, Some(3));
        assert_eq!(spec.failed_jobs_history_limit, Some(3));
        assert_eq!(spec.starting_deadline_seconds, Some(300));
        assert_eq!(spec.suspend, None);
        assert_eq!(spec.time_zone, None);
        let job = spec.job_template.spec.as_ref().unwrap();
        assert_eq!(job.backoff_limit, Some(0));
        let pod = job.template.spec.as_ref().unwrap();
        assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
        assert_eq!(pod.node_selector, None);
        let container = &pod.containers[0];
        assert_eq!(container.image_pull_policy.as_deref(), Some("IfNotPresent"));
        let resources = container.resources.as_ref().unwrap();
        assert_eq!(resources.requests, resources.limits);
        assert_eq!(resources.limits.as_ref().unwrap()["cpu"].0, "100m");
        assert_eq!(resources.limits.as_ref().unwrap()["memory"].0, "128Mi");
        for labels in [
            cronjob.metadata.labels.as_ref(),
            spec.job_template.metadata.as_ref().unwrap().labels.as_ref(),
            job.template.metadata.as_ref().unwrap().labels.as_ref(),
        ] {
            let labels = labels.unwrap();
            assert_eq!(labels[MANAGED_BY], "kuul");
            assert_eq!(labels[JOB_LABEL], "backup-db");
        }
        assert!(check_cronjob(&cronjob).is_ok());
    }

    #[test]
    fn pool_selects_nodes_by_the_configured_key() {
        let defaults = Defaults {
            pool_label_key: "kuul-type".to_owned(),
            ..Defaults::default()
        };
        let mut request = request();
        request.pool = Some("prod".to_owned());
        let cronjob = KuulJob::new(request, &defaults).unwrap().to_cronjob();
        assert_eq!(
            cronjob.metadata.labels.as_ref().unwrap()[POOL_LABEL],
            "prod"
        );
        let pod = cronjob
            .spec
            .job_template
            .spec
            .unwrap()
            .template
            .spec
            .unwrap();
        assert_eq!(pod.node_selector.unwrap()["kuul-type"], "prod");
    }

    #[test]
    fn registry_is_added_only_where_none_is_named() {
        assert_eq!(
            with_registry("ops/kuul:v3", Some("r.example.com")),
            "r.example.com/ops/kuul:v3"
        );
        assert_eq!(
            with_registry("kuul", Some("r.example.com/")),
            "r.example.com/kuul"
        );
        assert_eq!(
            with_registry("localhost:5000/kuul", Some("r.example.com")),
            "localhost:5000/kuul"
        );
        assert_eq!(with_registry("ops/kuul", None), "ops/kuul");
    }

    #[test]
    fn images() {
        let digest = format!("sha256:{}", "a".repeat(64));
        for good in [
            "busybox",
            "kuul-base:busybox",
            "registry.example.com/ops/kuul:v3",
            "localhost:5000/ops/kuul",
            "127.0.0.1:5000/a__b/c-d.e:1.0",
            "[::1]:5000/kuul:latest",
            &format!("kuul@{digest}"),
            &format!("r.example.com/kuul:v1@{digest}"),
        ] {
            assert!(check_image("--image", good).is_ok(), "{good} rejected");
        }
        for bad in [
            "",
            "Ops/kuul",
            "ops/kuul:",
            "ops//kuul",
            "ops/kuul:-v1",
            "kuul@sha256:abc",
            "ops/-kuul",
            "ops/kuul_",
            "r_x.com:port/kuul",
            "kuul:v1 ",
        ] {
            assert!(check_image("--image", bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn quantities() {
        for good in [
            "100m", "0.5", "1", "512Mi", "1Gi", "1e3", "1E-2", ".5", "2.", "+1k",
        ] {
            assert!(check_quantity("--cpu", good).is_ok(), "{good}");
        }
        for zero in ["0", "0m", "-1", "0.0Gi"] {
            let err = check_quantity("--cpu", zero).unwrap_err();
            assert_eq!(err.problem, "is not greater than zero", "{zero}");
        }
        for bad in ["", "m", "1.2.3", "1mi", "one", "1 Gi", "1e"] {
            let err = check_quantity("--cpu", bad).unwrap_err();
            assert_eq!(err.problem, "is not a Kubernetes quantity", "{bad:?}");
        }
        assert_eq!(
            check_quantity("--memory", "512MB").unwrap_err().problem,
            "is not a Kubernetes quantity (MB is not a unit: M counts in 1000s, Mi in 1024s)"
        );
        assert_eq!(
            check_quantity("--memory", "1KB").unwrap_err().problem,
            "is not a Kubernetes quantity (KB is not a unit: k counts in 1000s, Ki in 1024s)"
        );
    }

    #[test]
    fn node_names_are_dns_subdomains() {
        assert!(check_node_name("NODE", "ip-10-0-0-1.eu-west-1.compute.internal").is_ok());
        let invalid = check_node_name("NODE", "Node_1").unwrap_err();
        assert_eq!(invalid.problem, "is not a DNS-1123 subdomain");
        assert!(invalid.allowed.contains("kubectl get nodes"), "{invalid:?}");
    }

    #[test]
    fn registry_ports_are_ports() {
        assert!(check_registry("--registry", "localhost:5000/ops").is_ok());
        assert!(check_image("--image", "[::1]:5000/ops/kuul:v1").is_ok());
        for (bad, port) in [("localhost:0", "0"), ("r.example.com:70000/ops", "70000")] {
            let invalid = check_registry("--registry", bad).unwrap_err();
            assert_eq!(invalid.problem, format!("has port {port}, outside 1-65535"));
        }
        let invalid = check_image("--image", "localhost:99999/ops/kuul:v1").unwrap_err();
        assert_eq!(invalid.problem, "has port 99999, outside 1-65535");
    }

    #[test]
    fn each_validator_names_its_flag() {
        let cases: Vec<(&str, Invalid)> = vec![
            ("NAME", rejected(|r| r.name = "Backup".to_owned())),
            ("NAME", rejected(|r| r.name = "a".repeat(53))),
            ("--image", rejected(|r| r.image = "Ops/Kuul".to_owned())),
            (
                "--schedule",
                rejected(|r| r.schedule = "0 0 * * 7".to_owned()),
            ),
            (
                "--tz",
                rejected(|r| r.time_zone = Some("Mars/Olympus".to_owned())),
            ),
            ("--tz", rejected(|r| r.time_zone = Some("Local".to_owned()))),
            ("--pool", rejected(|r| r.pool = Some("prod!".to_owned()))),
            ("--pool", rejected(|r| r.pool = Some(String::new()))),
            ("--cpu", rejected(|r| r.cpu = Some("lots".to_owned()))),
            ("--memory", rejected(|r| r.memory = Some("0".to_owned()))),
            ("--env", rejected(|r| r.env = vec!["1X=y".to_owned()])),
            ("--env", rejected(|r| r.env = vec!["NOVALUE".to_owned()])),
            (
                "--env",
                rejected(|r| r.env = vec!["A=1".to_owned(), "A=2".to_owned()]),
            ),
            (
                "--working-dir",
                rejected(|r| r.working_dir = Some(String::new())),
            ),
            (
                "--active-deadline",
                rejected(|r| r.active_deadline = Some("soon".to_owned())),
            ),
            (
                "--starting-deadline",
                rejected(|r| r.starting_deadline = Some("-5".to_owned())),
            ),
            (
                "--image-pull-secret",
                rejected(|r| r.image_pull_secrets = vec!["Bad_Secret".to_owned()]),
            ),
            (
                "--label",
                rejected(|r| r.labels = vec!["kuul.io/job=x".to_owned()]),
            ),
            (
                "--label",
                rejected(|r| r.labels = vec!["bad key=x".to_owned()]),
            ),
            (
                "--namespace",
                rejected(|r| r.namespace = Some("Ops".to_owned())),
            ),
        ];
        for (field, invalid) in cases {
            assert_eq!(invalid.field, field, "{invalid}");
            assert!(!invalid.allowed.is_empty());
        }
    }

    #[test]
    fn deadlines_take_seconds_or_durations() {
        assert_eq!(deadline_seconds("f", "90"), Ok(90));
        assert_eq!(deadline_seconds("f", "2h"), Ok(7200));
        assert_eq!(deadline_seconds("f", "1m30s"), Ok(90));
        for bad in ["0", "0s", "1.5s", "-1", "x"] {
            assert!(deadline_seconds("f", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn error_is_one_line_and_a_hint() {
        let error = Error::from(rejected(|r| r.cpu = Some("lots".to_owned())));
        assert_eq!(
            error.to_string(),
            r#"invalid --cpu "lots": is not a Kubernetes quantity"#
        );
        assert!(error.hint().unwrap().contains("250m"));
        assert_eq!(error.exit_status(), crate::error::ExitStatus::Usage);
    }

    #[test]
    fn template_objects_get_the_same_checks() {
        let mut cronjob = job(|_| {}).unwrap().to_cronjob();
        cronjob.spec.suspend = Some(false);
        assert_eq!(check_cronjob(&cronjob).unwrap_err().field, "spec.suspend");
        let mut cronjob = job(|_| {}).unwrap().to_cronjob();
        cronjob.spec.schedule = "@every".to_owned();
        assert_eq!(check_cronjob(&cronjob).unwrap_err().field, "spec.schedule");
        let mut cronjob = job(|_| {}).unwrap().to_cronjob();
        let pod = cronjob.spec.job_template.spec.as_mut().unwrap();
        pod.template.spec.as_mut().unwrap().containers[0].image = Some("UPPER".to_owned());
        assert_eq!(
            check_cronjob(&cronjob).unwrap_err().field,
            "spec.jobTemplate.spec.template.spec.containers[0].image"
        );
    }

    #[test]
    fn stamping_restores_kuul_labels() {
        let mut cronjob = job(|_| {}).unwrap().to_cronjob();
        cronjob.metadata.labels = None;
        cronjob.spec.job_template.metadata = None;
        stamp_kuul_labels(&mut cronjob);
        assert_eq!(cronjob, job(|_| {}).unwrap().to_cronjob());
    }

    #[test]
    fn a_dedicated_pool_is_tolerated_and_needs_a_pool() {
        let pod = |cronjob: &CronJob| {
            cronjob
                .spec
                .job_template
                .spec
                .clone()
                .unwrap()
                .template
                .spec
                .unwrap()
        };
        let shared = job(|r| r.pool = Some("prod".to_owned())).unwrap();
        assert_eq!(pod(&shared.to_cronjob()).tolerations, None);
        let dedicated = job(|r| {
            r.pool = Some("prod".to_owned());
            r.dedicated = true;
        })
        .unwrap();
        let tolerations = pod(&dedicated.to_cronjob()).tolerations.unwrap();
        assert_eq!(
            serde_json::to_value(&tolerations).unwrap(),
            serde_json::json!([{ "key": "kuul.io/pool", "operator": "Equal", "value": "prod", "effect": "NoSchedule" }])
        );
        assert_eq!(rejected(|r| r.dedicated = true).field, "--dedicated");
    }
}
