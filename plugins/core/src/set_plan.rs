//! What applying a job set would do to one cluster: for each job, create, update, leave
//! unchanged, refuse (a conflict), and for each `CronJob` the set no longer lists, prune.
//!
//! The decision compares only what kuul manages. The API server adds fields (uid,
//! resourceVersion, status) and defaults (dnsPolicy, terminationMessagePath, `suspend:
//! false`); other tools add labels and annotations. So the live object is first reduced
//! to the fields the desired object sets plus the fields field manager `kuul-apply`
//! owns according to its managedFields: the first so that defaults vanish, the second so
//! that a field the file stopped setting (which server-side apply would remove) shows as
//! a change. A job whose reduced live object equals the desired one is unchanged and is
//! not written, so a re-apply of the same files writes nothing. Everything here is pure
//! and tested with fixture objects; the command does the reading and writing.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::batch::v1::CronJob;
use serde_json::{Map, Value};
use similar::TextDiff;

use crate::job_set::SET_LABEL;
use crate::kuul_job::FIELD_MANAGER;
use crate::kuul_job::{MANAGED_BY, MANAGER};
use crate::printer::to_yaml;
use crate::quantity;

/// What happens to one `CronJob`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Unchanged,
    Prune,
    /// A `CronJob` of that name exists and is not this set's; nothing is written.
    Conflict,
}

impl Action {
    /// Whether the action writes to the cluster.
    pub fn writes(self) -> bool {
        matches!(self, Action::Create | Action::Update | Action::Prune)
    }
}

/// One `CronJob`'s part of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct SetStep {
    pub namespace: String,
    pub name: String,
    pub action: Action,
    /// Why, for a conflict or an adoption; empty otherwise.
    pub detail: String,
    /// What to apply (namespace set), for creates and updates.
    pub desired: Option<CronJob>,
    /// A unified diff of live against desired; empty when unchanged.
    pub diff: String,
    /// The uid of the live `CronJob` for a prune (its runs name it as their owner) and
    /// for an adoption (its earlier runs are labelled as kuul's).
    pub uid: Option<String>,
}

/// Choices of the command line that change the plan.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanOptions {
    /// Take over `CronJob`s of the same name that are not this set's.
    pub adopt: bool,
    /// Delete this set's `CronJob`s that the files no longer list.
    pub prune: bool,
}

/// Who a live `CronJob` belongs to, as far as applying a set is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Owner {
    ThisSet,
    OtherSet(String),
    KuulWithoutSet,
    Unmanaged,
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::ThisSet => f.write_str("this set"),
            Owner::OtherSet(set) => write!(f, "belongs to set {set:?}"),
            Owner::KuulWithoutSet => f.write_str("was made by kuul outside any set"),
            Owner::Unmanaged => write!(
                f,
                "is not managed by kuul (no label {MANAGED_BY}={MANAGER})"
            ),
        }
    }
}

fn owner(cronjob: &CronJob, set: &str) -> Owner {
    let labels = cronjob.metadata.labels.as_ref();
    let label = |key: &str| labels.and_then(|l| l.get(key)).map(String::as_str);
    if label(MANAGED_BY) != Some(MANAGER) {
        return Owner::Unmanaged;
    }
    match label(SET_LABEL) {
        Some(name) if name == set => Owner::ThisSet,
        Some(name) => Owner::OtherSet(name.to_owned()),
        None => Owner::KuulWithoutSet,
    }
}

/// Plans `desired` (each `CronJob` with its namespace set) against `live` (every
/// `CronJob` of the namespaces involved) for the set `set`. Steps come in the desired
/// order, then prunes by namespace and name.
pub fn plan(
    set: &str,
    desired: &[CronJob],
    live: &[CronJob],
    options: PlanOptions,
) -> Vec<SetStep> {
    let key = |c: &CronJob| {
        (
            c.metadata.namespace.clone().unwrap_or_default(),
            c.metadata.name.clone().unwrap_or_default(),
        )
    };
    let live_by_key: BTreeMap<(String, String), &CronJob> =
        live.iter().map(|c| (key(c), c)).collect();
    let mut steps: Vec<SetStep> = desired
        .iter()
        .map(|wanted| {
            let (namespace, name) = key(wanted);
            let current = live_by_key.get(&(namespace.clone(), name.clone())).copied();
            step_for(set, namespace, name, wanted, current, options.adopt)
        })
        .collect();
    if options.prune {
        let listed: Vec<(String, String)> = desired.iter().map(key).collect();
        for (at, current) in &live_by_key {
            if listed.contains(at) || owner(current, set) != Owner::ThisSet {
                continue;
            }
            let (namespace, name) = at.clone();
            let before = to_yaml(&managed_view(current, None));
            let diff = unified_diff(&namespace, &name, &before, "");
            steps.push(SetStep {
                namespace,
                name,
                action: Action::Prune,
                detail: "no longer listed".to_owned(),
                desired: None,
                diff,
                uid: current.metadata.uid.clone(),
            });
        }
    }
    steps
}

fn step_for(
    set: &str,
    namespace: String,
    name: String,
    wanted: &CronJob,
    current: Option<&CronJob>,
    adopt: bool,
) -> SetStep {
    let after = to_yaml(wanted);
    let Some(current) = current else {
        let diff = unified_diff(&namespace, &name, "", &after);
        return SetStep {
            namespace,
            name,
            action: Action::Create,
            detail: String::new(),
            desired: Some(wanted.clone()),
            diff,
            uid: None,
        };
    };
    let owner = owner(current, set);
    let before_value = managed_view(current, Some(wanted));
    let wanted_value = serde_json::to_value(wanted).unwrap_or(Value::Null);
    let diff = if before_value == wanted_value {
        String::new()
    } else {
        unified_diff(&namespace, &name, &to_yaml(&before_value), &after)
    };
    // Only runs kuul did not make lack its labels.
    let adopting = adopt && owner == Owner::Unmanaged;
    let (action, detail) = match owner {
        Owner::ThisSet if diff.is_empty() => (Action::Unchanged, String::new()),
        Owner::ThisSet => (Action::Update, String::new()),
        other if adopt => (Action::Update, format!("adopted: it {other}")),
        other => (
            Action::Conflict,
            format!("cronjob {namespace}/{name} {other}; pass --adopt to take it over"),
        ),
    };
    SetStep {
        namespace,
        name,
        action,
        detail,
        desired: (action == Action::Update).then(|| wanted.clone()),
        diff,
        uid: adopting.then(|| current.metadata.uid.clone()).flatten(),
    }
}

/// The live object reduced to what kuul manages: the fields `desired` sets and the
/// fields `kuul-apply` owns.
pub fn managed_view(live: &CronJob, desired: Option<&CronJob>) -> Value {
    let owned = applied_fields(live, FIELD_MANAGER);
    let live = serde_json::to_value(live).unwrap_or(Value::Null);
    let desired = desired.map(|d| serde_json::to_value(d).unwrap_or(Value::Null));
    let mut view = project(&live, desired.as_ref(), owned.as_ref(), false).unwrap_or(Value::Null);
    // Identity is compared by the plan, not diffed.
    for key in ["apiVersion", "kind"] {
        if let (Some(object), Some(value)) = (view.as_object_mut(), live.get(key)) {
            object.insert(key.to_owned(), value.clone());
        }
    }
    view
}

/// The fieldsV1 of what `manager` owns of `live` by server-side apply, if anything.
pub fn applied_fields(live: &CronJob, manager: &str) -> Option<Value> {
    live.metadata
        .managed_fields
        .iter()
        .flatten()
        .find(|entry| {
            entry.manager.as_deref() == Some(manager) && entry.operation.as_deref() == Some("Apply")
        })
        .and_then(|entry| entry.fields_v1.as_ref())
        .map(|fields| fields.0.clone())
}

/// Keeps the parts of `live` that `desired` has or that the `owned` fieldsV1 node
/// claims; `None` when nothing is left. `quantities`: the values are resource quantities,
/// which the server stores in canonical form (`0.5` as `500m`, `1024Mi` as `1Gi`).
fn project(
    live: &Value,
    desired: Option<&Value>,
    owned: Option<&Value>,
    quantities: bool,
) -> Option<Value> {
    let owned_map = owned.and_then(Value::as_object);
    match live {
        Value::Object(fields) => {
            let wanted = desired.and_then(Value::as_object);
            let mut out = Map::new();
            for (key, value) in fields {
                let wanted_value = wanted.and_then(|w| w.get(key));
                let owned_value = owned_map.and_then(|o| o.get(&format!("f:{key}")));
                if wanted_value.is_none() && owned_value.is_none() {
                    continue;
                }
                let quantities = quantities || key == "requests" || key == "limits";
                if let Some(kept) = project(value, wanted_value, owned_value, quantities) {
                    out.insert(key.clone(), kept);
                }
            }
            if out.is_empty() && wanted.is_none() {
                // Owned once, but what is left there now belongs to others.
                return None;
            }
            Some(Value::Object(out))
        }
        Value::Array(items) => {
            let wanted = desired.and_then(Value::as_array);
            let Some(wanted) = wanted else {
                return Some(live.clone());
            };
            let kept: Vec<Value> = items
                .iter()
                .enumerate()
                .filter_map(|(index, item)| {
                    let owned_item = owned_map.and_then(|o| owned_element(o, item));
                    let wanted_item = wanted.get(index);
                    if wanted_item.is_none() && owned_item.is_none() && owned_map.is_some() {
                        // Added by another manager to a list kuul sets item by item.
                        return None;
                    }
                    project(item, wanted_item, owned_item, false)
                })
                .collect();
            Some(Value::Array(kept))
        }
        Value::String(text) if quantities => {
            let same = desired
                .and_then(Value::as_str)
                .is_some_and(|wanted| same_quantity(wanted, text));
            Some(if same { desired.cloned() } else { None }.unwrap_or_else(|| live.clone()))
        }
        scalar => Some(scalar.clone()),
    }
}

/// Whether two quantities are the same amount, however written.
fn same_quantity(a: &str, b: &str) -> bool {
    match (quantity::value(a), quantity::value(b)) {
        (Some(x), Some(y)) => (x - y).abs() <= f64::EPSILON * x.abs().max(y.abs()) * 4.0,
        _ => a == b,
    }
}

/// The fieldsV1 node of a list item: `k:{"name":"x"}` for keyed lists, `v:"x"` for sets.
pub(crate) fn owned_element<'a>(owned: &'a Map<String, Value>, item: &Value) -> Option<&'a Value> {
    owned.iter().find_map(|(key, node)| {
        if let Some(keys) = key.strip_prefix("k:") {
            let keys: Map<String, Value> = serde_json::from_str(keys).ok()?;
            keys.iter()
                .all(|(field, value)| item.get(field) == Some(value))
                .then_some(node)
        } else if let Some(value) = key.strip_prefix("v:") {
            (serde_json::from_str::<Value>(value).ok()? == *item).then_some(node)
        } else {
            None
        }
    })
}

/// `diff -u` of two YAML texts, labelled with the object.
pub fn unified_diff(namespace: &str, name: &str, before: &str, after: &str) -> String {
    let object = format!("cronjob.batch/{name} -n {namespace}");
    TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("live {object}"), &format!("desired {object}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry};
    use serde_json::json;

    use super::*;
    use crate::kuul_job::{Defaults, KuulJob, Request};

    fn desired(name: &str, schedule: &str) -> CronJob {
        let mut cronjob = KuulJob::new(
            Request {
                name: name.to_owned(),
                namespace: Some("ops".to_owned()),
                image: "kuul-base:busybox".to_owned(),
                schedule: schedule.to_owned(),
                pool: Some("prod".to_owned()),
                env: vec!["A=1".to_owned()],
                ..Request::default()
            },
            &Defaults::default(),
        )
        .unwrap()
        .to_cronjob();
        cronjob
            .metadata
            .labels
            .as_mut()
            .unwrap()
            .insert(SET_LABEL.to_owned(), "ops".to_owned());
        cronjob
    }

    /// What the API server stores for an apply of `applied`: server fields, defaults,
    /// and kuul-apply's managedFields (for the fields `applied` sets, simplified).
    fn stored(applied: &CronJob) -> CronJob {
        let mut value = serde_json::to_value(applied).unwrap();
        let owned = fields_of(&value);
        value["metadata"]["uid"] = json!("1234");
        value["metadata"]["resourceVersion"] = json!("42");
        value["metadata"]["creationTimestamp"] = json!("2025-01-01T00:00:00Z");
        value["spec"]["suspend"] = json!(false);
        let pod = &mut value["spec"]["jobTemplate"]["spec"]["template"]["spec"];
        pod["dnsPolicy"] = json!("ClusterFirst");
        pod["containers"][0]["terminationMessagePath"] = json!("/dev/termination-log");
        value["status"] = json!({"lastScheduleTime": "2025-01-01T02:00:00Z"});
        let mut cronjob: CronJob = serde_json::from_value(value).unwrap();
        cronjob.metadata.managed_fields = Some(vec![ManagedFieldsEntry {
            manager: Some(FIELD_MANAGER.to_owned()),
            operation: Some("Apply".to_owned()),
            fields_v1: Some(FieldsV1(owned)),
            ..ManagedFieldsEntry::default()
        }]);
        cronjob
    }

    /// fieldsV1 for every field of `value`, keying list items by name where they have one.
    fn fields_of(value: &Value) -> Value {
        match value {
            Value::Object(fields) => Value::Object(
                fields
                    .iter()
                    .filter(|(key, _)| *key != "apiVersion" && *key != "kind")
                    .map(|(key, value)| (format!("f:{key}"), fields_of(value)))
                    .collect(),
            ),
            Value::Array(items) if items.iter().all(|i| i.get("name").is_some()) => Value::Object(
                items
                    .iter()
                    .map(|item| {
                        (
                            format!("k:{}", json!({"name": item["name"]})),
                            fields_of(item),
                        )
                    })
                    .collect(),
            ),
            _ => json!({}),
        }
    }

    #[test]
    fn what_the_server_adds_is_not_a_change() {
        let wanted = desired("backup", "@daily");
        let steps = plan(
            "ops",
            std::slice::from_ref(&wanted),
            &[stored(&wanted)],
            PlanOptions::default(),
        );
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].action, Action::Unchanged, "{}", steps[0].diff);
        assert!(steps[0].diff.is_empty());
        assert_eq!(steps[0].desired, None);
    }

    #[test]
    fn a_changed_schedule_is_an_update_with_a_diff() {
        let live = stored(&desired("backup", "@daily"));
        let steps = plan(
            "ops",
            &[desired("backup", "@hourly")],
            &[live],
            PlanOptions::default(),
        );
        assert_eq!(steps[0].action, Action::Update);
        assert!(
            steps[0].diff.contains("-  schedule: \"@daily\""),
            "{}",
            steps[0].diff
        );
        assert!(
            steps[0].diff.contains("+  schedule: \"@hourly\""),
            "{}",
            steps[0].diff
        );
        assert!(
            steps[0]
                .diff
                .starts_with("--- live cronjob.batch/backup -n ops\n+++ desired")
        );
    }

    #[test]
    fn a_field_the_file_stopped_setting_is_a_change() {
        let live = stored(&desired("backup", "@daily"));
        let mut wanted = desired("backup", "@daily");
        let pod = wanted
            .spec
            .job_template
            .spec
            .as_mut()
            .unwrap()
            .template
            .spec
            .as_mut()
            .unwrap();
        pod.containers[0].env = None;
        let steps = plan("ops", &[wanted], &[live], PlanOptions::default());
        assert_eq!(steps[0].action, Action::Update);
        assert!(
            steps[0].diff.contains("-          - env:"),
            "{}",
            steps[0].diff
        );
    }

    #[test]
    fn a_suspend_by_another_manager_is_not_a_change_unless_the_file_sets_it() {
        let wanted = desired("backup", "@daily");
        let mut live = stored(&wanted);
        live.spec.suspend = Some(true);
        let steps = plan(
            "ops",
            std::slice::from_ref(&wanted),
            &[live.clone()],
            PlanOptions::default(),
        );
        assert_eq!(steps[0].action, Action::Unchanged);
        let mut resumed = wanted;
        resumed.spec.suspend = Some(false);
        let steps = plan("ops", &[resumed], &[live], PlanOptions::default());
        assert_eq!(steps[0].action, Action::Update);
        assert!(
            steps[0].diff.contains("-  suspend: true"),
            "{}",
            steps[0].diff
        );
    }

    #[test]
    fn quantities_in_canonical_form_are_not_a_change() {
        let mut wanted = desired("backup", "@daily");
        let container = &mut wanted
            .spec
            .job_template
            .spec
            .as_mut()
            .unwrap()
            .template
            .spec
            .as_mut()
            .unwrap()
            .containers[0];
        let resources = container.resources.as_mut().unwrap();
        for (cpu, memory) in [
            (&mut resources.requests, "1024Mi"),
            (&mut resources.limits, "1024Mi"),
        ] {
            let values = cpu.as_mut().unwrap();
            values.insert("cpu".to_owned(), Quantity("0.5".to_owned()));
            values.insert("memory".to_owned(), Quantity(memory.to_owned()));
        }
        let mut live = stored(&wanted);
        let pod = &mut live.spec.job_template.spec.as_mut().unwrap().template.spec;
        let stored_resources = pod.as_mut().unwrap().containers[0]
            .resources
            .as_mut()
            .unwrap();
        for values in [&mut stored_resources.requests, &mut stored_resources.limits] {
            let values = values.as_mut().unwrap();
            values.insert("cpu".to_owned(), Quantity("500m".to_owned()));
            values.insert("memory".to_owned(), Quantity("1Gi".to_owned()));
        }
        let steps = plan(
            "ops",
            std::slice::from_ref(&wanted),
            &[live.clone()],
            PlanOptions::default(),
        );
        assert_eq!(steps[0].action, Action::Unchanged, "{}", steps[0].diff);
        let mut bigger = wanted;
        let pod = &mut bigger
            .spec
            .job_template
            .spec
            .as_mut()
            .unwrap()
            .template
            .spec;
        let limits = pod.as_mut().unwrap().containers[0]
            .resources
            .as_mut()
            .unwrap()
            .limits
            .as_mut()
            .unwrap();
        limits.insert("cpu".to_owned(), Quantity("1".to_owned()));
        let steps = plan("ops", &[bigger], &[live], PlanOptions::default());
        assert_eq!(steps[0].action, Action::Update);
        assert!(
            steps[0].diff.contains("-                cpu: 500m"),
            "{}",
            steps[0].diff
        );
        assert!(same_quantity("1e3", "1k"));
        assert!(same_quantity("0.1", "100m"));
        assert!(!same_quantity("100m", "100Mi"));
        assert!(!same_quantity("lots", "100m"));
    }

    #[test]
    fn labels_added_by_others_are_ignored() {
        let wanted = desired("backup", "@daily");
        let mut live = stored(&wanted);
        live.metadata
            .labels
            .as_mut()
            .unwrap()
            .insert("owner".to_owned(), "someone".to_owned());
        let steps = plan("ops", &[wanted], &[live], PlanOptions::default());
        assert_eq!(steps[0].action, Action::Unchanged, "{}", steps[0].diff);
    }

    #[test]
    fn new_jobs_are_created_and_unlisted_ones_of_this_set_only_are_pruned() {
        let mut other_set = stored(&desired("theirs", "@daily"));
        other_set
            .metadata
            .labels
            .as_mut()
            .unwrap()
            .insert(SET_LABEL.to_owned(), "web".to_owned());
        let mut unmanaged = stored(&desired("manual", "@daily"));
        unmanaged.metadata.labels = None;
        let gone = stored(&desired("gone", "@daily"));
        let live = [other_set, unmanaged, gone];
        let wanted = [desired("fresh", "@daily")];
        let steps = plan("ops", &wanted, &live, PlanOptions::default());
        assert_eq!(steps.len(), 1, "no pruning without --prune");
        assert_eq!(steps[0].action, Action::Create);
        assert!(steps[0].diff.contains("+  schedule: \"@daily\""));
        let steps = plan(
            "ops",
            &wanted,
            &live,
            PlanOptions {
                prune: true,
                adopt: false,
            },
        );
        let pruned: Vec<&str> = steps
            .iter()
            .filter(|s| s.action == Action::Prune)
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(pruned, ["gone"]);
        let gone = steps.iter().find(|s| s.name == "gone").unwrap();
        assert_eq!(gone.uid.as_deref(), Some("1234"));
    }

    #[test]
    fn a_name_taken_outside_the_set_is_a_conflict_unless_adopted() {
        let mut unmanaged = stored(&desired("backup", "@daily"));
        unmanaged.metadata.labels = None;
        let mut other = stored(&desired("report", "@daily"));
        other
            .metadata
            .labels
            .as_mut()
            .unwrap()
            .insert(SET_LABEL.to_owned(), "web".to_owned());
        let wanted = [desired("backup", "@daily"), desired("report", "@daily")];
        let live = [unmanaged, other];
        let steps = plan("ops", &wanted, &live, PlanOptions::default());
        assert_eq!(steps[0].action, Action::Conflict);
        assert_eq!(
            steps[0].detail,
            "cronjob ops/backup is not managed by kuul (no label app.kubernetes.io/managed-by=kuul); pass --adopt to take it over"
        );
        assert!(
            steps[1].detail.contains("belongs to set \"web\""),
            "{}",
            steps[1].detail
        );
        assert!(!Action::Conflict.writes());
        let steps = plan(
            "ops",
            &wanted,
            &live,
            PlanOptions {
                adopt: true,
                prune: false,
            },
        );
        assert!(steps.iter().all(|s| s.action == Action::Update));
        assert!(
            steps[0]
                .detail
                .starts_with("adopted: it is not managed by kuul")
        );
    }
}
