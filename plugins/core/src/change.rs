//! One change to named fields of a Kuul job's `CronJob` (`kubectl kuul set`), decided
//! without I/O.
//!
//! A value is checked here exactly as `new` checks the same flag ([`crate::kuul_job`]),
//! before anything is sent. [`Change::edit`] makes the `CronJob` as it would be after the
//! change, which a client dry run diffs and which says whether anything changes at all;
//! [`Change::patch`] is what is sent: a server-side apply of only the fields named, as
//! field manager [`FIELD_MANAGER`], so that `kuul-apply` keeps every other field and the
//! next `apply -f` puts a job set's fields back. Removing a field (`set deadline none`)
//! is a merge patch instead: an apply can only drop fields its own manager owns.

use std::fmt;

use chrono_tz::Tz;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{PodSpec, Toleration};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use serde_json::{Map, Value, json};

use crate::job_set::SET_LABEL;
use crate::kuul_job::{
    Invalid, POOL_LABEL, check_image, check_pool, check_quantity, deadline_seconds,
    parse_time_zone, with_registry,
};
use crate::pools::DEDICATED_EFFECT;
use crate::schedule::{SYNTAX_HINT, Schedule};
use crate::set_plan::{applied_fields, owned_element};

/// The field manager of `kubectl kuul set`.
pub const FIELD_MANAGER: &str = "kuul-set";

/// `spec.concurrencyPolicy`: what the controller does when a run is due while the last
/// one still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concurrency {
    Forbid,
    Replace,
    Allow,
}

impl Concurrency {
    /// The policy `text` names, in any case.
    ///
    /// # Errors
    ///
    /// When it names none, saying which there are.
    pub fn parse(field: &str, text: &str) -> Result<Self, Invalid> {
        match text.to_ascii_lowercase().as_str() {
            "forbid" => Ok(Self::Forbid),
            "replace" => Ok(Self::Replace),
            "allow" => Ok(Self::Allow),
            _ => Err(Invalid::new(
                field,
                text,
                "is not a concurrency policy",
                "Forbid (kuul's default: a run never overlaps the last one), Replace (stop the last one) or Allow (overlap)",
            )),
        }
    }

    /// As the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Forbid => "Forbid",
            Self::Replace => "Replace",
            Self::Allow => "Allow",
        }
    }
}

/// A checked change of one kind of field.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// `spec.schedule`, and `spec.timeZone` when a zone is given.
    Schedule {
        schedule: Schedule,
        zone: Option<Tz>,
    },
    /// The image of the job's container.
    Image(String),
    /// The pool: the `kuul.io/pool` label, the nodeSelector on the pool label key, and
    /// the toleration of a dedicated pool's taint.
    Pool { pool: String, dedicated: bool },
    /// CPU and memory of the job's container, requests equal to limits.
    Resources {
        cpu: Option<String>,
        memory: Option<String>,
    },
    /// How many finished runs the controller keeps.
    History {
        succeeded: Option<i32>,
        failed: Option<i32>,
    },
    /// `activeDeadlineSeconds` of the runs; `None` removes it.
    Deadline(Option<i64>),
    /// `spec.concurrencyPolicy`.
    Concurrency(Concurrency),
}

impl Change {
    /// `set schedule`'s values, checked as `new --schedule` and `--tz` are.
    ///
    /// # Errors
    ///
    /// The first value that is not valid.
    pub fn schedule(text: &str, zone: Option<&str>) -> Result<Self, Invalid> {
        let schedule = Schedule::parse(text)
            .map_err(|why| Invalid::new("SCHEDULE", text, why.to_string(), SYNTAX_HINT))?;
        let zone = zone.map(|zone| parse_time_zone("--tz", zone)).transpose()?;
        Ok(Self::Schedule { schedule, zone })
    }

    /// `set image`'s value, with the config's registry when it names none, as `new`.
    ///
    /// # Errors
    ///
    /// When it is not an image reference.
    pub fn image(text: &str, registry: Option<&str>) -> Result<Self, Invalid> {
        let image = with_registry(text, registry);
        check_image("IMAGE", &image)?;
        Ok(Self::Image(image))
    }

    /// `set pool`'s value.
    ///
    /// # Errors
    ///
    /// When it is not a pool name.
    pub fn pool(pool: &str, dedicated: bool) -> Result<Self, Invalid> {
        check_pool("POOL", pool)?;
        Ok(Self::Pool {
            pool: pool.to_owned(),
            dedicated,
        })
    }

    /// `set resources`' values: at least one.
    ///
    /// # Errors
    ///
    /// When neither is given, or one is not a positive quantity.
    pub fn resources(cpu: Option<&str>, memory: Option<&str>) -> Result<Self, Invalid> {
        if cpu.is_none() && memory.is_none() {
            return Err(nothing_to_set(
                "--cpu or --memory",
                "--cpu 500m, --memory 1Gi",
            ));
        }
        if let Some(cpu) = cpu {
            check_quantity("--cpu", cpu)?;
        }
        if let Some(memory) = memory {
            check_quantity("--memory", memory)?;
        }
        Ok(Self::Resources {
            cpu: cpu.map(str::to_owned),
            memory: memory.map(str::to_owned),
        })
    }

    /// `set history`'s values (already whole numbers from 0): at least one.
    ///
    /// # Errors
    ///
    /// When neither is given.
    pub fn history(succeeded: Option<i32>, failed: Option<i32>) -> Result<Self, Invalid> {
        if succeeded.is_none() && failed.is_none() {
            return Err(nothing_to_set(
                "--succeeded or --failed",
                "--succeeded 5, --failed 10",
            ));
        }
        Ok(Self::History { succeeded, failed })
    }

    /// `set deadline`'s value: a duration as `new --active-deadline` takes it, or `none`.
    ///
    /// # Errors
    ///
    /// When it is neither.
    pub fn deadline(text: &str) -> Result<Self, Invalid> {
        if text.eq_ignore_ascii_case("none") {
            return Ok(Self::Deadline(None));
        }
        deadline_seconds("DURATION", text)
            .map(|seconds| Self::Deadline(Some(seconds)))
            .map_err(|mut invalid| {
                invalid
                    .allowed
                    .push_str(", or none to let runs take as long as they need");
                invalid
            })
    }

    /// The kind of field, as the subcommand names it.
    pub fn what(&self) -> &'static str {
        match self {
            Self::Schedule { .. } => "schedule",
            Self::Image(_) => "image",
            Self::Pool { .. } => "pool",
            Self::Resources { .. } => "resources",
            Self::History { .. } => "history",
            Self::Deadline(_) => "deadline",
            Self::Concurrency(_) => "concurrency",
        }
    }

    /// The `CronJob` as it would be after the change.
    ///
    /// # Errors
    ///
    /// When the change cannot be made to this `CronJob`: a container change where no
    /// container is the job's.
    pub fn edit(&self, cronjob: &CronJob, pool_label_key: &str) -> Result<CronJob, String> {
        let mut after = cronjob.clone();
        let spec = &mut after.spec;
        match self {
            Self::Schedule { schedule, zone } => {
                schedule.as_str().clone_into(&mut spec.schedule);
                if let Some(zone) = zone {
                    spec.time_zone = Some(zone.name().to_owned());
                }
            }
            Self::Image(image) => {
                let index = job_container(cronjob)?;
                pod_spec_mut(&mut after).containers[index].image = Some(image.clone());
            }
            Self::Pool { pool, dedicated } => {
                after
                    .metadata
                    .labels
                    .get_or_insert_default()
                    .insert(POOL_LABEL.to_owned(), pool.clone());
                let pod = pod_spec_mut(&mut after);
                pod.node_selector
                    .get_or_insert_default()
                    .insert(pool_label_key.to_owned(), pool.clone());
                let mut tolerations: Vec<Toleration> = pod
                    .tolerations
                    .take()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|t| t.key.as_deref() != Some(pool_label_key))
                    .collect();
                if *dedicated {
                    tolerations.push(dedicated_toleration(pool_label_key, pool));
                }
                pod.tolerations = (!tolerations.is_empty()).then_some(tolerations);
            }
            Self::Resources { cpu, memory } => {
                let index = job_container(cronjob)?;
                let container = &mut pod_spec_mut(&mut after).containers[index];
                let resources = container.resources.get_or_insert_default();
                for (name, value) in [("cpu", cpu), ("memory", memory)] {
                    if let Some(value) = value {
                        for side in [&mut resources.requests, &mut resources.limits] {
                            side.get_or_insert_default()
                                .insert(name.to_owned(), Quantity(value.clone()));
                        }
                    }
                }
            }
            Self::History { succeeded, failed } => {
                if let Some(n) = succeeded {
                    spec.successful_jobs_history_limit = Some(*n);
                }
                if let Some(n) = failed {
                    spec.failed_jobs_history_limit = Some(*n);
                }
            }
            Self::Deadline(seconds) => {
                spec.job_template
                    .spec
                    .get_or_insert_default()
                    .active_deadline_seconds = *seconds;
            }
            Self::Concurrency(policy) => {
                spec.concurrency_policy = Some(policy.as_str().to_owned());
            }
        }
        Ok(after)
    }

    /// What is sent to make `after` (from [`Change::edit`]) of `live`: the fields named,
    /// plus those [`FIELD_MANAGER`] owns already at their live values. An apply states
    /// everything its manager wants: a field it owned and leaves out would be removed.
    pub fn patch(&self, live: &CronJob, after: &CronJob, pool_label_key: &str) -> Write {
        let namespace = live.metadata.namespace.as_deref().unwrap_or_default();
        let name = live.metadata.name.as_deref().unwrap_or_default();
        let spec = &after.spec;
        let body = match self {
            Self::Schedule { zone, .. } => {
                let mut fields = json!({ "schedule": spec.schedule });
                if zone.is_some() {
                    fields["timeZone"] = json!(spec.time_zone);
                }
                json!({ "spec": fields })
            }
            Self::Image(image) => container_patch(after, json!({ "image": image })),
            Self::Pool { pool, .. } => {
                // The toleration list is one the API replaces whole: sent whole, and sent
                // empty to drop the last toleration of the old pool.
                let tolerations = pod_spec(after)
                    .and_then(|p| p.tolerations.clone())
                    .unwrap_or_default();
                json!({
                    "metadata": { "labels": { POOL_LABEL: pool } },
                    "spec": { "jobTemplate": { "spec": { "template": { "spec": {
                        "nodeSelector": { pool_label_key: pool },
                        "tolerations": tolerations,
                    } } } } }
                })
            }
            Self::Resources { cpu, memory } => {
                let mut quantities = Map::new();
                for (key, value) in [("cpu", cpu), ("memory", memory)] {
                    if let Some(value) = value {
                        quantities.insert(key.to_owned(), json!(value));
                    }
                }
                let quantities = Value::Object(quantities);
                container_patch(
                    after,
                    json!({ "resources": { "requests": quantities, "limits": quantities } }),
                )
            }
            Self::History { succeeded, failed } => {
                let mut fields = Map::new();
                if succeeded.is_some() {
                    fields.insert(
                        "successfulJobsHistoryLimit".to_owned(),
                        json!(spec.successful_jobs_history_limit),
                    );
                }
                if failed.is_some() {
                    fields.insert(
                        "failedJobsHistoryLimit".to_owned(),
                        json!(spec.failed_jobs_history_limit),
                    );
                }
                json!({ "spec": fields })
            }
            Self::Deadline(None) => {
                return Write::Merge(json!({
                    "spec": { "jobTemplate": { "spec": { "activeDeadlineSeconds": null } } }
                }));
            }
            Self::Deadline(Some(seconds)) => json!({
                "spec": { "jobTemplate": { "spec": { "activeDeadlineSeconds": seconds } } }
            }),
            Self::Concurrency(policy) => {
                json!({ "spec": { "concurrencyPolicy": policy.as_str() } })
            }
        };
        let mut object = owned_fields(live, FIELD_MANAGER);
        merge(
            &mut object,
            json!({
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "metadata": { "name": name, "namespace": namespace },
            }),
        );
        merge(&mut object, body);
        Write::Apply(object)
    }

    /// The value of the changed fields in `cronjob`, for `before -> after` lines.
    pub fn shown(&self, cronjob: &CronJob, pool_label_key: &str) -> String {
        let spec = &cronjob.spec;
        let container = job_container(cronjob)
            .ok()
            .and_then(|index| pod_spec(cronjob).map(|pod| &pod.containers[index]));
        match self {
            Self::Schedule { .. } => format!(
                "{:?} ({})",
                spec.schedule,
                spec.time_zone
                    .as_deref()
                    .unwrap_or("the cluster's time zone")
            ),
            Self::Image(_) => container
                .and_then(|c| c.image.clone())
                .unwrap_or_else(|| "none".to_owned()),
            Self::Pool { .. } => {
                let pod = pod_spec(cronjob);
                let pool = pod
                    .and_then(|p| p.node_selector.as_ref())
                    .and_then(|s| s.get(pool_label_key));
                let dedicated = pod.and_then(|p| p.tolerations.as_ref()).is_some_and(|t| {
                    t.iter().any(|t| {
                        t.key.as_deref() == Some(pool_label_key) && t.value.as_ref() == pool
                    })
                });
                match (pool, dedicated) {
                    (Some(pool), true) => format!("{pool} (dedicated)"),
                    (Some(pool), false) => pool.clone(),
                    (None, _) => "any node".to_owned(),
                }
            }
            Self::Resources { .. } => {
                let amount = |name: &str| {
                    container
                        .and_then(|c| c.resources.as_ref())
                        .and_then(|r| r.limits.as_ref().or(r.requests.as_ref()))
                        .and_then(|q| q.get(name))
                        .map_or_else(|| "no limit".to_owned(), |q| q.0.clone())
                };
                format!("cpu {}, memory {}", amount("cpu"), amount("memory"))
            }
            Self::History { .. } => format!(
                "keep {} succeeded, {} failed",
                spec.successful_jobs_history_limit.unwrap_or(3),
                spec.failed_jobs_history_limit.unwrap_or(1)
            ),
            Self::Deadline(_) => spec
                .job_template
                .spec
                .as_ref()
                .and_then(|s| s.active_deadline_seconds)
                .map_or_else(|| "none".to_owned(), seconds_shown),
            Self::Concurrency(_) => spec
                .concurrency_policy
                .clone()
                .unwrap_or_else(|| "Allow".to_owned()),
        }
    }
}

/// How a change is sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// A server-side apply of this partial object, forced, as [`FIELD_MANAGER`].
    Apply(Value),
    /// A JSON merge patch (to remove a field), as [`FIELD_MANAGER`].
    Merge(Value),
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.what())
    }
}

/// Why `set` leaves a job alone unless forced: it belongs to a job set, whose files
/// `apply` makes it match again.
pub fn owned_by_set(cronjob: &CronJob) -> Option<String> {
    let set = cronjob.metadata.labels.as_ref()?.get(SET_LABEL)?;
    let name = cronjob.metadata.name.as_deref().unwrap_or_default();
    Some(format!(
        "{name} belongs to set {set}, applied from files; change it there, or pass --force (the next apply puts it back)"
    ))
}

/// The index of the job's own container: the only one, or the one named like the job
/// (as `new` names it).
///
/// # Errors
///
/// When there are several and none has the job's name, or none at all.
pub fn job_container(cronjob: &CronJob) -> Result<usize, String> {
    let name = cronjob.metadata.name.as_deref().unwrap_or_default();
    let containers = pod_spec(cronjob).map_or(&[][..], |pod| pod.containers.as_slice());
    match containers {
        [] => Err(format!("cronjob {name} has no container")),
        [_] => Ok(0),
        several => several
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| {
                let names: Vec<&str> = several.iter().map(|c| c.name.as_str()).collect();
                format!(
                    "cronjob {name} has {} containers ({}) and none is named {name}: change it with kubectl",
                    several.len(),
                    names.join(", ")
                )
            }),
    }
}

fn pod_spec(cronjob: &CronJob) -> Option<&PodSpec> {
    crate::pools::pod_spec(cronjob)
}

fn pod_spec_mut(cronjob: &mut CronJob) -> &mut PodSpec {
    cronjob
        .spec
        .job_template
        .spec
        .get_or_insert_default()
        .template
        .spec
        .get_or_insert_default()
}

/// A patch of the job's container: `fields` beside its name, the key of the list.
fn container_patch(after: &CronJob, fields: Value) -> Value {
    let name = job_container(after)
        .ok()
        .and_then(|index| pod_spec(after).map(|pod| pod.containers[index].name.clone()))
        .unwrap_or_default();
    let mut container = json!({ "name": name });
    merge(&mut container, fields);
    json!({ "spec": { "jobTemplate": { "spec": { "template": { "spec": {
        "containers": [container]
    } } } } } })
}

fn dedicated_toleration(key: &str, pool: &str) -> Toleration {
    Toleration {
        key: Some(key.to_owned()),
        operator: Some("Equal".to_owned()),
        value: Some(pool.to_owned()),
        effect: Some(DEDICATED_EFFECT.to_owned()),
        toleration_seconds: None,
    }
}

/// Adds the fields of the object `from` to the object `into`, recursively; list items
/// with a `name` (containers) are merged with the item of the same name, other lists
/// replaced.
fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(into), Value::Object(from)) => {
            for (key, value) in from {
                match into.get_mut(&key) {
                    Some(existing)
                        if (existing.is_object() && value.is_object())
                            || (named_items(existing) && named_items(&value)) =>
                    {
                        merge(existing, value);
                    }
                    _ => {
                        into.insert(key, value);
                    }
                }
            }
        }
        (Value::Array(into), Value::Array(from))
            if named_items_of(into) && named_items_of(&from) =>
        {
            for item in from {
                match into
                    .iter_mut()
                    .find(|old| old.get("name") == item.get("name"))
                {
                    Some(old) => merge(old, item),
                    None => into.push(item),
                }
            }
        }
        (into, from) => *into = from,
    }
}

fn named_items(value: &Value) -> bool {
    value.as_array().is_some_and(|items| named_items_of(items))
}

fn named_items_of(items: &[Value]) -> bool {
    !items.is_empty()
        && items
            .iter()
            .all(|item| item.get("name").is_some_and(Value::is_string))
}

/// The parts of `live` that `manager` owns by server-side apply, by its managed-fields
/// entry: an object with only those fields (list items with their keys). An empty
/// object when it owns nothing.
pub fn owned_fields(live: &CronJob, manager: &str) -> Value {
    let owned = applied_fields(live, manager);
    let live = serde_json::to_value(live).unwrap_or(Value::Null);
    owned
        .and_then(|owned| project(&live, &owned))
        .unwrap_or_else(|| json!({}))
}

/// `value` reduced to what the fieldsV1 node `owned` names; `None` when nothing of it is
/// there. A node without children (`{}` or only `"."`) takes the value whole.
fn project(value: &Value, owned: &Value) -> Option<Value> {
    let node = owned.as_object()?;
    if node.keys().all(|key| key == ".") {
        return Some(value.clone());
    }
    match value {
        Value::Object(fields) => {
            let mut out = Map::new();
            for (key, child) in node {
                let Some(field) = key.strip_prefix("f:") else {
                    continue;
                };
                if let Some(kept) = fields.get(field).and_then(|v| project(v, child)) {
                    out.insert(field.to_owned(), kept);
                }
            }
            Some(Value::Object(out))
        }
        Value::Array(items) => {
            let kept: Vec<Value> = items
                .iter()
                .filter_map(|item| project(item, owned_element(node, item)?))
                .collect();
            Some(Value::Array(kept))
        }
        scalar => Some(scalar.clone()),
    }
}

fn nothing_to_set(flags: &str, example: &str) -> Invalid {
    Invalid::new(
        flags,
        "",
        "nothing to set: neither is given",
        format!("give one or both, e.g. {example}"),
    )
}

/// Seconds as a duration a person reads, exactly as a flag takes it: `90s` as `1m30s`,
/// `2h`, `1h30m`.
fn seconds_shown(seconds: i64) -> String {
    use std::fmt::Write as _;
    let (hours, minutes, rest) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    let mut out = String::new();
    for (amount, unit) in [(hours, 'h'), (minutes, 'm')] {
        if amount > 0 {
            let _ = write!(out, "{amount}{unit}");
        }
    }
    if rest > 0 || out.is_empty() {
        let _ = write!(out, "{rest}s");
    }
    out
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry};

    use super::*;
    use crate::kuul_job::{Defaults, KuulJob, Request};

    fn job() -> CronJob {
        let request = Request {
            name: "backup".to_owned(),
            namespace: Some("ops".to_owned()),
            image: "kuul-base:busybox".to_owned(),
            schedule: "0 2 * * *".to_owned(),
            pool: Some("prod".to_owned()),
            dedicated: true,
            ..Request::default()
        };
        KuulJob::new(request, &Defaults::default())
            .expect("a valid job")
            .to_cronjob()
    }

    /// `job` as the server has it after kuul-set applied `fields` to it before.
    fn owned_by_kuul_set(mut job: CronJob, fields: Value) -> CronJob {
        job.metadata.managed_fields = Some(vec![ManagedFieldsEntry {
            manager: Some(FIELD_MANAGER.to_owned()),
            operation: Some("Apply".to_owned()),
            fields_v1: Some(FieldsV1(fields)),
            ..ManagedFieldsEntry::default()
        }]);
        job
    }

    fn sent(change: &Change, live: &CronJob) -> Value {
        let after = change.edit(live, POOL_LABEL).expect("an edit");
        match change.patch(live, &after, POOL_LABEL) {
            Write::Apply(object) => object,
            Write::Merge(object) => panic!("an apply, not the merge patch {object}"),
        }
    }

    #[test]
    fn values_are_checked_as_new_checks_them() {
        assert_eq!(
            Change::schedule("61 * * * *", None).unwrap_err().field,
            "SCHEDULE"
        );
        assert_eq!(
            Change::schedule("@daily", Some("Mars/Base"))
                .unwrap_err()
                .field,
            "--tz"
        );
        assert_eq!(
            Change::image("Not An Image", None).unwrap_err().field,
            "IMAGE"
        );
        assert_eq!(
            Change::image("ops/kuul:v3", Some("registry.example.com")).unwrap(),
            Change::Image("registry.example.com/ops/kuul:v3".to_owned())
        );
        assert_eq!(Change::pool("bad pool", false).unwrap_err().field, "POOL");
        assert!(
            Change::resources(None, None)
                .unwrap_err()
                .problem
                .contains("nothing to set")
        );
        assert_eq!(
            Change::resources(Some("0"), None).unwrap_err().field,
            "--cpu"
        );
        assert!(Change::history(None, None).is_err());
        assert_eq!(Change::deadline("none").unwrap(), Change::Deadline(None));
        assert_eq!(
            Change::deadline("90m").unwrap(),
            Change::Deadline(Some(5400))
        );
        let invalid = Change::deadline("0").unwrap_err();
        assert!(
            invalid
                .allowed
                .ends_with("or none to let runs take as long as they need")
        );
        assert_eq!(
            Concurrency::parse("POLICY", "replace").unwrap(),
            Concurrency::Replace
        );
        assert_eq!(
            Concurrency::parse("POLICY", "sometimes").unwrap_err().field,
            "POLICY"
        );
    }

    #[test]
    fn an_apply_names_only_the_changed_fields_with_the_list_key() {
        let live = job();
        let change = Change::image("kuul-base:v2", None).unwrap();
        assert_eq!(
            sent(&change, &live),
            json!({
                "apiVersion": "batch/v1", "kind": "CronJob",
                "metadata": { "name": "backup", "namespace": "ops" },
                "spec": { "jobTemplate": { "spec": { "template": { "spec": {
                    "containers": [{ "name": "backup", "image": "kuul-base:v2" }]
                } } } } }
            })
        );
        let change = Change::history(None, Some(9)).unwrap();
        assert_eq!(
            sent(&change, &live)["spec"],
            json!({ "failedJobsHistoryLimit": 9 })
        );
    }

    #[test]
    fn an_apply_keeps_what_kuul_set_owned_before() {
        // kuul-set set the image and the schedule earlier; a resources change must send
        // both again, or the API server would remove them.
        let mut live = job();
        live.spec.schedule = "0 5 * * *".to_owned();
        let live = owned_by_kuul_set(
            live,
            json!({
                "f:spec": {
                    "f:schedule": {},
                    "f:jobTemplate": { "f:spec": { "f:template": { "f:spec": { "f:containers": {
                        "k:{\"name\":\"backup\"}": { ".": {}, "f:name": {}, "f:image": {} }
                    } } } } }
                }
            }),
        );
        let change = Change::resources(None, Some("1Gi")).unwrap();
        let object = sent(&change, &live);
        assert_eq!(object["spec"]["schedule"], "0 5 * * *");
        assert_eq!(
            object["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"],
            json!([{
                "name": "backup",
                "image": "kuul-base:busybox",
                "resources": { "requests": { "memory": "1Gi" }, "limits": { "memory": "1Gi" } }
            }])
        );
    }

    #[test]
    fn a_pool_change_moves_the_toleration_and_label() {
        let live = job();
        let change = Change::pool("internal", false).unwrap();
        let after = change.edit(&live, POOL_LABEL).unwrap();
        assert_eq!(change.shown(&live, POOL_LABEL), "prod (dedicated)");
        assert_eq!(change.shown(&after, POOL_LABEL), "internal");
        let object = sent(&change, &live);
        assert_eq!(
            object["metadata"]["labels"],
            json!({ POOL_LABEL: "internal" })
        );
        let pod = &object["spec"]["jobTemplate"]["spec"]["template"]["spec"];
        assert_eq!(pod["nodeSelector"], json!({ POOL_LABEL: "internal" }));
        assert_eq!(
            pod["tolerations"],
            json!([]),
            "the old pool's toleration is dropped"
        );
        let dedicated = Change::pool("internal", true).unwrap();
        let after = dedicated.edit(&live, POOL_LABEL).unwrap();
        assert_eq!(dedicated.shown(&after, POOL_LABEL), "internal (dedicated)");
    }

    #[test]
    fn removing_the_deadline_is_a_merge_patch_and_durations_show_exactly() {
        let mut live = job();
        live.spec
            .job_template
            .spec
            .as_mut()
            .unwrap()
            .active_deadline_seconds = Some(5400);
        let change = Change::deadline("none").unwrap();
        assert_eq!(change.shown(&live, POOL_LABEL), "1h30m");
        let after = change.edit(&live, POOL_LABEL).unwrap();
        assert_eq!(change.shown(&after, POOL_LABEL), "none");
        assert_eq!(
            change.patch(&live, &after, POOL_LABEL),
            Write::Merge(json!({
                "spec": { "jobTemplate": { "spec": { "activeDeadlineSeconds": null } } }
            }))
        );
        assert_eq!(seconds_shown(90), "1m30s");
        assert_eq!(seconds_shown(7200), "2h");
    }

    #[test]
    fn a_set_member_is_refused_and_a_job_without_its_container_cannot_change() {
        let mut live = job();
        assert_eq!(owned_by_set(&live), None);
        live.metadata
            .labels
            .get_or_insert_default()
            .insert(SET_LABEL.to_owned(), "team-ops".to_owned());
        assert_eq!(
            owned_by_set(&live).unwrap(),
            "backup belongs to set team-ops, applied from files; change it there, or pass --force (the next apply puts it back)"
        );
        let pod = pod_spec_mut(&mut live);
        let mut sidecar = pod.containers[0].clone();
        sidecar.name = "sidecar".to_owned();
        pod.containers[0].name = "main".to_owned();
        pod.containers.push(sidecar);
        let error = Change::image("x:1", None)
            .unwrap()
            .edit(&live, POOL_LABEL)
            .unwrap_err();
        assert!(
            error.contains("has 2 containers (main, sidecar) and none is named backup"),
            "{error}"
        );
    }
}
