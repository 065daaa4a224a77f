//! Whether a Kuul job is healthy, and what `status` shows about it.
//!
//! `kubectl get cronjobs` shows neither the next run, nor the last result, nor whether a
//! job quietly stopped running. This module decides, from a `CronJob`, its Jobs and the
//! cluster's Nodes as listed (and a fixed `now`), one [`Health`] per job and the facts
//! behind it, and lays them out as the `status` table. It does no I/O.
//!
//! The rules, in the order they win:
//! - **suspended**: `spec.suspend` is true (nothing else is judged: no run is due);
//! - **unschedulable**: no node is Ready, schedulable, carries every label of the pod
//!   template's nodeSelector and has no NoSchedule/NoExecute taint the pod does not
//!   tolerate;
//! - **blocked**: a run has been in progress for at least [`BLOCKED_GRACE`] without its
//!   pod running, because something keeps it from starting ([`crate::blocked`]): the
//!   scheduler refuses it, its image cannot be pulled, its container cannot be created,
//!   or the Job cannot create its pod at all;
//! - **stuck**: a run has been active longer than its `activeDeadlineSeconds` (the Job
//!   controller should have ended it), or longer than [`STUCK_FACTOR`] times the median
//!   duration of the last successful runs, and at least [`STUCK_FLOOR`];
//! - **overdue**: the first scheduled time after the last one the controller acted on
//!   (`status.lastScheduleTime`, the `CronJob`'s creation, or the last change of
//!   `spec.suspend`, whichever is latest) passed more than the grace
//!   period ago: `startingDeadlineSeconds` (until then the controller may still start
//!   it late), and at least [`OVERDUE_FLOOR`] for the controller's own latency;
//! - **failing**: the newest finished run failed;
//! - **ok** otherwise.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{Container, Node, PodSpec, Taint, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry};
use serde::Serialize;

use crate::blocked::{BLOCKED_GRACE, BlockedRun};
use crate::history::{RunRecord, RunResult, zone_of};
use crate::maintenance::{SUSPEND_REASON, SUSPENDED_BY};
use crate::pools;
use crate::schedule::Schedule;
use crate::table::Table;
use crate::time::rfc3339;

/// The least time a scheduled run may be late before the job counts as overdue.
pub const OVERDUE_FLOOR: TimeDelta = TimeDelta::seconds(60);
/// An active run taking this many times its usual duration is stuck.
pub const STUCK_FACTOR: i32 = 5;
/// ... but never before it has been active this long.
pub const STUCK_FLOOR: TimeDelta = TimeDelta::minutes(10);
/// How many successful runs make "usual", and how many results RECENT shows.
pub const RECENT_RUNS: usize = 5;

/// A Kuul job's health, from best to worst news.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Ok,
    Suspended,
    /// Suspended on a standby cluster, ready for a failover ([`crate::standby`]).
    Standby,
    Failing,
    Overdue,
    Stuck,
    Blocked,
    Unschedulable,
}

impl Health {
    /// Whether `status --check` reports it (and exits 4).
    pub fn is_problem(self) -> bool {
        !matches!(self, Self::Ok | Self::Suspended | Self::Standby)
    }
}

impl std::fmt::Display for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = serde_json::to_value(self).ok();
        f.write_str(text.as_ref().and_then(|v| v.as_str()).unwrap_or_default())
    }
}

/// The last run `status` names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LastRun {
    pub name: String,
    #[serde(with = "rfc3339")]
    pub created: Option<DateTime<Utc>>,
    pub result: RunResult,
}

/// One row of `status`, and its `-o json` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobStatus {
    /// The kubeconfig context it was read through, when `status` reads several clusters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    pub namespace: String,
    pub name: String,
    pub schedule: String,
    pub time_zone: Option<String>,
    pub pool: Option<String>,
    pub suspended: bool,
    pub suspended_by: Option<String>,
    pub suspend_reason: Option<String>,
    /// Runs in progress the controller started.
    pub active_scheduled: usize,
    /// Runs in progress started by hand.
    pub active_manual: usize,
    pub last_run: Option<LastRun>,
    #[serde(with = "rfc3339")]
    pub last_success: Option<DateTime<Utc>>,
    #[serde(with = "rfc3339")]
    pub next_run: Option<DateTime<Utc>>,
    /// Results of the newest finished runs, oldest first.
    pub recent: Vec<RunResult>,
    pub health: Health,
    /// Why the health is not ok, in one sentence.
    pub problem: Option<String>,
    /// The run that cannot start, and why, when the health is blocked.
    pub blocked: Option<BlockedRun>,
    pub image: Option<String>,
    pub command: Vec<String>,
    pub limits: Option<String>,
    pub active_deadline_seconds: Option<i64>,
}

/// What the health of every job is judged against.
#[derive(Debug, Clone, Copy)]
pub struct ClusterView<'a> {
    /// The Nodes, or `None` when they could not be read (then no job is unschedulable).
    pub nodes: Option<&'a [Node]>,
    /// The pool label key (`kuul.io/pool` unless configured).
    pub pool_key: &'a str,
    pub now: DateTime<Utc>,
}

/// Judges one job from its `CronJob` and its runs (the Jobs it controls, any order).
pub fn assess(cronjob: &CronJob, runs: &[RunRecord], view: ClusterView<'_>) -> JobStatus {
    let now = view.now;
    let spec = &cronjob.spec;
    let annotations = cronjob.metadata.annotations.clone().unwrap_or_default();
    let pod_spec = pools::pod_spec(cronjob);
    let container = pod_spec.and_then(|p| p.containers.first());
    let mut runs: Vec<&RunRecord> = runs.iter().collect();
    runs.sort_by(|a, b| (b.created, &b.run).cmp(&(a.created, &a.run)));
    let finished: Vec<&RunRecord> = runs
        .iter()
        .copied()
        .filter(|r| r.result.is_finished())
        .collect();
    let active: Vec<&RunRecord> = runs
        .iter()
        .copied()
        .filter(|r| !r.result.is_finished())
        .collect();
    let last_success = last_success(cronjob, &runs);
    let suspended = spec.suspend == Some(true);
    let zone = zone_of(cronjob);
    let schedule = Schedule::parse(&spec.schedule).ok();
    let next_run = schedule
        .as_ref()
        .filter(|_| !suspended)
        .and_then(|s| s.next_after(&now.with_timezone(&zone)))
        .map(|t| t.to_utc());
    let mut recent: Vec<RunResult> = finished
        .iter()
        .take(RECENT_RUNS)
        .map(|r| r.result)
        .collect();
    recent.reverse();

    let deadline = spec
        .job_template
        .spec
        .as_ref()
        .and_then(|s| s.active_deadline_seconds);
    let blocked_run = blocked(cronjob, &active, now);
    let (health, problem) = if crate::standby::standby_for(cronjob).is_some() {
        (Health::Standby, None)
    } else if suspended {
        (Health::Suspended, None)
    } else if let Some(problem) = pod_spec.and_then(|p| unschedulable(p, view)) {
        (Health::Unschedulable, Some(problem))
    } else if let Some(run) = &blocked_run {
        (Health::Blocked, Some(run.sentence(now)))
    } else if let Some(problem) = stuck(&active, &finished, deadline, now) {
        (Health::Stuck, Some(problem))
    } else if let Some(problem) = schedule.as_ref().and_then(|s| overdue(cronjob, s, now)) {
        (Health::Overdue, Some(problem))
    } else if let Some(failed) = finished.first().filter(|r| r.result == RunResult::Failed) {
        (Health::Failing, Some(failure(failed)))
    } else {
        (Health::Ok, None)
    };

    JobStatus {
        context: None,
        namespace: cronjob.metadata.namespace.clone().unwrap_or_default(),
        name: cronjob.metadata.name.clone().unwrap_or_default(),
        schedule: spec.schedule.clone(),
        time_zone: spec.time_zone.clone(),
        pool: pools::targeted_pool(cronjob, view.pool_key).map(str::to_owned),
        suspended,
        suspended_by: annotations.get(SUSPENDED_BY).cloned().filter(|_| suspended),
        suspend_reason: annotations
            .get(SUSPEND_REASON)
            .cloned()
            .filter(|_| suspended),
        active_scheduled: active.iter().filter(|r| !r.trigger.is_manual()).count(),
        active_manual: active.iter().filter(|r| r.trigger.is_manual()).count(),
        last_run: runs.first().map(|r| LastRun {
            name: r.run.clone(),
            created: r.created,
            result: r.result,
        }),
        last_success,
        next_run,
        recent,
        blocked: blocked_run.filter(|_| health == Health::Blocked),
        health,
        problem,
        image: container.and_then(|c| c.image.clone()),
        command: container
            .map(|c| c.command.iter().chain(&c.args).flatten().cloned().collect())
            .unwrap_or_default(),
        limits: container.and_then(limits),
        active_deadline_seconds: deadline,
    }
}

/// When the job last succeeded: its newest successful run, or what the controller
/// recorded (runs beyond the history limit are gone).
fn last_success(cronjob: &CronJob, runs: &[&RunRecord]) -> Option<DateTime<Utc>> {
    runs.iter()
        .filter(|r| r.result == RunResult::Succeeded)
        .filter_map(|r| r.finished)
        .chain(
            cronjob
                .status
                .as_ref()
                .and_then(|s| s.last_successful_time.as_ref())
                .map(crate::time::utc),
        )
        .max()
}

/// `cpu=500m,memory=512Mi`.
fn limits(container: &Container) -> Option<String> {
    let limits = container.resources.as_ref()?.limits.as_ref()?;
    Some(
        limits
            .iter()
            .map(|(k, v)| format!("{k}={}", v.0))
            .collect::<Vec<_>>()
            .join(","),
    )
}

/// Why no node can take the job's pods, or `None` when one can.
fn unschedulable(pod: &PodSpec, view: ClusterView<'_>) -> Option<String> {
    let nodes = view.nodes?;
    let selector = pod.node_selector.clone().unwrap_or_default();
    let tolerations = pod.tolerations.as_deref().unwrap_or_default();
    let fits = |node: &Node| {
        let labels = node.metadata.labels.clone().unwrap_or_default();
        pools::is_ready(node)
            && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
            && node
                .spec
                .as_ref()
                .and_then(|s| s.taints.as_deref())
                .unwrap_or_default()
                .iter()
                .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
                .all(|t| tolerations.iter().any(|tol| tolerates(tol, t)))
    };
    if nodes.iter().any(fits) {
        return None;
    }
    Some(match selector.get(view.pool_key) {
        Some(pool) => format!("no ready node in pool {pool:?} can take its pods"),
        None if selector.is_empty() => "no ready node can take its pods".to_owned(),
        None => format!(
            "no ready node matches its nodeSelector {}",
            labels(&selector)
        ),
    })
}

fn labels(selector: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.join(",")
}

/// Whether a toleration lets a pod onto a node with this taint, as the scheduler decides.
fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    let effect_ok = toleration
        .effect
        .as_deref()
        .is_none_or(|e| e.is_empty() || e == taint.effect);
    let key = toleration.key.as_deref().unwrap_or_default();
    let exists = toleration.operator.as_deref() == Some("Exists");
    let key_ok = (key.is_empty() && exists) || key == taint.key;
    let value_ok = exists
        || toleration.value.as_deref().unwrap_or_default()
            == taint.value.as_deref().unwrap_or_default();
    effect_ok && key_ok && value_ok
}

/// The oldest run in progress that has not started for [`BLOCKED_GRACE`] because
/// something keeps it from starting. `active` is newest first.
fn blocked(cronjob: &CronJob, active: &[&RunRecord], now: DateTime<Utc>) -> Option<BlockedRun> {
    let forbid = cronjob.spec.concurrency_policy.as_deref() == Some("Forbid");
    let run = active.iter().rev().find(|r| {
        r.blocker.is_some()
            && r.created
                .is_some_and(|created| now - created >= BLOCKED_GRACE)
    })?;
    Some(BlockedRun {
        run: run.run.clone(),
        blocker: run.blocker.clone()?,
        since: run.created,
        blocks_schedule: forbid && !run.trigger.is_manual(),
    })
}

/// Why an active run is stuck, or `None`. `finished` is newest first.
fn stuck(
    active: &[&RunRecord],
    finished: &[&RunRecord],
    deadline: Option<i64>,
    now: DateTime<Utc>,
) -> Option<String> {
    let mut usual: Vec<TimeDelta> = finished
        .iter()
        .filter(|r| r.result == RunResult::Succeeded)
        .take(RECENT_RUNS)
        .filter_map(|r| r.duration(now))
        .collect();
    usual.sort();
    let median = usual.get(usual.len() / 2).copied();
    active.iter().find_map(|run| {
        let running = run.duration(now)?;
        let took = crate::time::elapsed(running.to_std().unwrap_or_default());
        if let Some(limit) = deadline.filter(|&d| running > TimeDelta::seconds(d)) {
            return Some(format!(
                "run {} has been active {took}, past its deadline of {limit}s",
                run.run
            ));
        }
        let median = median?;
        let limit = (median * STUCK_FACTOR).max(STUCK_FLOOR);
        (running > limit).then(|| {
            format!(
                "run {} has been active {took}; its runs usually take {}",
                run.run,
                crate::time::elapsed(median.to_std().unwrap_or_default())
            )
        })
    })
}

/// Why the job is overdue, or `None`.
fn overdue(cronjob: &CronJob, schedule: &Schedule, now: DateTime<Utc>) -> Option<String> {
    let last = cronjob
        .status
        .as_ref()
        .and_then(|s| s.last_schedule_time.as_ref())
        .map(crate::time::utc);
    let created = cronjob
        .metadata
        .creation_timestamp
        .as_ref()
        .map(crate::time::utc);
    let since = last
        .into_iter()
        .chain(created)
        .chain(suspend_changed(cronjob))
        .max()?;
    let zone = zone_of(cronjob);
    let due = schedule.next_after(&since.with_timezone(&zone))?.to_utc();
    let grace = cronjob
        .spec
        .starting_deadline_seconds
        .map_or(OVERDUE_FLOOR, TimeDelta::seconds)
        .max(OVERDUE_FLOOR);
    (now - due > grace).then(|| {
        let late = crate::time::age(Some(due), now);
        match last {
            Some(last) => format!(
                "the run due at {} did not start ({late} late; last started run {})",
                crate::time::stamp(due),
                crate::time::stamp(last)
            ),
            None => format!(
                "the run due at {} did not start ({late} late; no run ever started)",
                crate::time::stamp(due)
            ),
        }
    })
}

/// Drops from a listed `CronJob` what judging it never reads: of its managed fields, only
/// the entries that own `spec.suspend` stay, reduced to that field and their time (what
/// [`suspend_changed`] reads). A server-side apply's entry holds the whole spec, and
/// thousands of them add up.
pub fn trim_cronjob(cronjob: &mut CronJob) {
    let Some(entries) = cronjob.metadata.managed_fields.take() else {
        return;
    };
    let kept: Vec<ManagedFieldsEntry> = entries
        .into_iter()
        .filter(owns_suspend)
        .map(|entry| ManagedFieldsEntry {
            fields_v1: Some(FieldsV1(serde_json::json!({"f:spec": {"f:suspend": {}}}))),
            manager: entry.manager,
            operation: entry.operation,
            time: entry.time,
            ..ManagedFieldsEntry::default()
        })
        .collect();
    cronjob.metadata.managed_fields = (!kept.is_empty()).then_some(kept);
}

fn owns_suspend(entry: &ManagedFieldsEntry) -> bool {
    entry
        .fields_v1
        .as_ref()
        .is_some_and(|fields| fields.0.pointer("/f:spec/f:suspend").is_some())
}

/// When `spec.suspend` last changed, from the managed fields: a resumed job is not late
/// for the runs it skipped while suspended. (The API server stores no no-op write, so a
/// re-apply that changes nothing does not move this time.)
fn suspend_changed(cronjob: &CronJob) -> Option<DateTime<Utc>> {
    cronjob
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|entry| owns_suspend(entry))
        .filter_map(|entry| entry.time.as_ref().map(crate::time::utc))
        .max()
}

fn failure(run: &RunRecord) -> String {
    let mut text = format!("run {} failed", run.run);
    if let Some(code) = run.exit_code.filter(|&c| c != 0) {
        text = format!("{text} with exit code {code}");
    }
    if let Some(reason) = &run.reason {
        text = format!("{text} ({reason})");
    }
    if let Some(message) = &run.message {
        text = format!("{text}: {message}");
    }
    text
}

/// The RECENT strip: `✓✓✗✓`, or `++x+` in ASCII (no TTY, or `NO_COLOR`).
pub fn strip(recent: &[RunResult], ascii: bool) -> String {
    if recent.is_empty() {
        return "-".to_owned();
    }
    recent
        .iter()
        .map(|r| match (r, ascii) {
            (RunResult::Succeeded, false) => '✓',
            (RunResult::Succeeded, true) => '+',
            (_, false) => '✗',
            (_, true) => 'x',
        })
        .collect()
}

/// How the table is laid out.
// Each is a column or a way of drawing, chosen on its own.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, Copy, Default)]
pub struct Layout {
    /// A CONTEXT column (several clusters).
    pub contexts: bool,
    /// `-o wide`: absolute next run, image, command, limits, deadline.
    pub wide: bool,
    /// A NAMESPACE column (`-A`).
    pub namespaces: bool,
    /// RECENT in ASCII.
    pub ascii: bool,
}

/// The `status` table, one row per job in the order given.
pub fn table(statuses: &[JobStatus], layout: Layout, now: DateTime<Utc>) -> Table {
    let mut headers = vec![];
    if layout.contexts {
        headers.push("context");
    }
    if layout.namespaces {
        headers.push("namespace");
    }
    headers.extend([
        "name",
        "schedule",
        "tz",
        "pool",
        "suspended",
        "active",
        "last run",
        "last success",
        "next run",
        "recent",
        "health",
    ]);
    if layout.wide {
        headers.extend(["next run at", "image", "command", "limits", "deadline"]);
    }
    let mut table = Table::new(headers);
    let dash = || "-".to_owned();
    for status in statuses {
        let mut row = vec![];
        if layout.contexts {
            row.push(status.context.clone().unwrap_or_else(dash));
        }
        if layout.namespaces {
            row.push(status.namespace.clone());
        }
        let suspended = match (status.suspended, &status.suspend_reason) {
            (false, _) => "no".to_owned(),
            (true, Some(reason)) => format!("yes ({reason})"),
            (true, None) => "yes".to_owned(),
        };
        let active = match status.active_manual {
            0 => status.active_scheduled.to_string(),
            manual => format!("{} + {manual} manual", status.active_scheduled),
        };
        let last_run = status.last_run.as_ref().map_or_else(dash, |run| {
            format!(
                "{} ago ({})",
                crate::time::age(run.created, now),
                run.result
            )
        });
        row.extend([
            status.name.clone(),
            status.schedule.clone(),
            status.time_zone.clone().unwrap_or_else(dash),
            status.pool.clone().unwrap_or_else(dash),
            suspended,
            active,
            last_run,
            status.last_success.map_or_else(dash, |at| {
                format!("{} ago", crate::time::age(Some(at), now))
            }),
            status
                .next_run
                .map_or_else(dash, |at| format!("in {}", crate::time::age(Some(now), at))),
            strip(&status.recent, layout.ascii),
            status.health.to_string(),
        ]);
        if layout.wide {
            row.extend([
                status.next_run.map_or_else(dash, crate::time::stamp),
                status.image.clone().unwrap_or_else(dash),
                if status.command.is_empty() {
                    dash()
                } else {
                    status.command.join(" ")
                },
                status.limits.clone().unwrap_or_else(dash),
                status
                    .active_deadline_seconds
                    .map_or_else(dash, |s| format!("{s}s")),
            ]);
        }
        table.row(row);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::tests::{at, job, pod};
    use crate::history::{pods_of, runs_of};
    use k8s_openapi::api::batch::v1::Job;
    use k8s_openapi::api::core::v1::Pod;
    use serde_json::{Value, json};

    fn cronjob(extra: &Value) -> CronJob {
        let mut value = json!({
            "metadata": {
                "name": "backup-db", "namespace": "ops", "uid": "cronjob-uid",
                "creationTimestamp": "2026-01-01T00:00:00Z"
            },
            "spec": {
                "schedule": "0 2 * * *",
                "timeZone": "Europe/Berlin",
                "startingDeadlineSeconds": 300,
                "jobTemplate": { "spec": {
                    "template": { "spec": {
                        "nodeSelector": { "kuul.io/pool": "prod" },
                        "containers": [{
                            "name": "work", "image": "registry.local/backup:v3",
                            "command": ["/backup.sh"], "args": ["--all"],
                            "resources": { "limits": { "cpu": "500m", "memory": "512Mi" } }
                        }]
                    }}
                }}
            },
            "status": { "lastScheduleTime": "2026-03-02T01:00:00Z" }
        });
        merge(&mut value, extra);
        serde_json::from_value(value).unwrap()
    }

    fn merge(into: &mut Value, from: &Value) {
        match (into, from) {
            (Value::Object(a), Value::Object(b)) => {
                for (k, v) in b {
                    merge(a.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
            (a, b) => *a = b.clone(),
        }
    }

    fn node(name: &str, pool: &str, ready: bool) -> Node {
        serde_json::from_value(json!({
            "metadata": { "name": name, "labels": { "kuul.io/pool": pool } },
            "status": { "conditions": [{ "type": "Ready", "status": if ready { "True" } else { "False" } }] }
        }))
        .unwrap()
    }

    fn nodes() -> Vec<Node> {
        vec![
            node("kuul-prod-1", "prod", true),
            node("kuul-internal-1", "internal", false),
        ]
    }

    fn records(jobs: &[Job], pods: &[Pod]) -> Vec<RunRecord> {
        let cj = cronjob(&json!({}));
        runs_of(&cj, jobs)
            .into_iter()
            .map(|j| RunRecord::of(j, &pods_of(j, pods)))
            .collect()
    }

    fn scheduled(name: &str, day: u32, result: &str, seconds: u32) -> Job {
        job(
            name,
            &format!("2026-03-{day:02}T01:00:00Z"),
            Some(result),
            &format!(
                "2026-03-{day:02}T01:{:02}:{:02}Z",
                seconds / 60,
                seconds % 60
            ),
            &json!({ crate::history::SCHEDULED_ANNOTATION: format!("2026-03-{day:02}T01:00:00Z") }),
        )
    }

    fn judge(cj: &CronJob, runs: &[RunRecord], nodes: &[Node], now: &str) -> JobStatus {
        assess(
            cj,
            runs,
            ClusterView {
                nodes: Some(nodes),
                pool_key: "kuul.io/pool",
                now: at(now),
            },
        )
    }

    const MORNING: &str = "2026-03-02T07:00:00Z";

    #[test]
    fn a_job_whose_last_run_succeeded_is_ok_with_its_next_run_in_its_zone() {
        let runs = records(
            &[
                scheduled("a-1", 1, "Failed", 30),
                scheduled("a-2", 2, "Complete", 90),
            ],
            &[],
        );
        let status = judge(&cronjob(&json!({})), &runs, &nodes(), MORNING);
        assert_eq!(status.health, Health::Ok, "{:?}", status.problem);
        // 02:00 in Berlin (CET, UTC+1) is 01:00 UTC.
        assert_eq!(status.next_run, Some(at("2026-03-03T01:00:00Z")));
        assert_eq!(status.recent, [RunResult::Failed, RunResult::Succeeded]);
        assert_eq!(status.last_success, Some(at("2026-03-02T01:01:30Z")));
        assert_eq!(strip(&status.recent, false), "✗✓");
        assert_eq!(strip(&status.recent, true), "x+");
    }

    #[test]
    fn a_failed_last_run_is_failing_and_names_the_exit_code() {
        let jobs = [
            scheduled("a-1", 1, "Complete", 30),
            scheduled("a-2", 2, "Failed", 40),
        ];
        let pods = [pod(
            "a-2",
            "2026-03-02T01:00:01Z",
            Some((3, "Error", "disk full")),
        )];
        let status = judge(
            &cronjob(&json!({})),
            &records(&jobs, &pods),
            &nodes(),
            MORNING,
        );
        assert_eq!(status.health, Health::Failing);
        assert_eq!(
            status.problem.as_deref(),
            Some("run a-2 failed with exit code 3 (Error): disk full")
        );
        assert!(status.health.is_problem());
    }

    #[test]
    fn suspended_wins_and_has_no_next_run() {
        let cj = cronjob(&json!({
            "metadata": { "annotations": { SUSPEND_REASON: "db upgrade", SUSPENDED_BY: "ana" } },
            "spec": { "suspend": true }
        }));
        let runs = records(&[scheduled("a-2", 2, "Failed", 40)], &[]);
        let status = judge(&cj, &runs, &[], "2026-03-09T07:00:00Z");
        assert_eq!(status.health, Health::Suspended);
        assert_eq!(status.next_run, None);
        assert_eq!(status.suspend_reason.as_deref(), Some("db upgrade"));
        assert!(!status.health.is_problem());
    }

    #[test]
    fn a_pool_without_ready_nodes_is_unschedulable() {
        let cj = cronjob(
            &json!({ "spec": { "jobTemplate": { "spec": { "template": { "spec": {
            "nodeSelector": { "kuul.io/pool": "internal" } } } } } } }),
        );
        let status = judge(&cj, &[], &nodes(), MORNING);
        assert_eq!(status.health, Health::Unschedulable);
        assert_eq!(
            status.problem.as_deref(),
            Some("no ready node in pool \"internal\" can take its pods")
        );
    }

    #[test]
    fn untolerated_taints_make_a_pool_unschedulable_and_tolerations_lift_it() {
        let mut tainted = node("kuul-prod-1", "prod", true);
        tainted.spec = Some(
            serde_json::from_value(json!({ "taints": [
                { "key": "kuul.io/pool", "value": "prod", "effect": "NoSchedule" }
            ]}))
            .unwrap(),
        );
        let plain = cronjob(&json!({}));
        assert_eq!(
            judge(&plain, &[], &[tainted.clone()], MORNING).health,
            Health::Unschedulable
        );
        let tolerant = cronjob(
            &json!({ "spec": { "jobTemplate": { "spec": { "template": { "spec": {
            "tolerations": [{ "key": "kuul.io/pool", "operator": "Equal", "value": "prod", "effect": "NoSchedule" }]
        } } } } } }),
        );
        assert_eq!(
            judge(&tolerant, &[], &[tainted], MORNING).health,
            Health::Ok
        );
    }

    #[test]
    fn unknown_nodes_never_make_a_job_unschedulable() {
        let status = assess(
            &cronjob(&json!({})),
            &[],
            ClusterView {
                nodes: None,
                pool_key: "kuul.io/pool",
                now: at(MORNING),
            },
        );
        assert_eq!(status.health, Health::Ok);
    }

    #[test]
    fn a_run_active_past_its_deadline_is_stuck() {
        let cj = cronjob(
            &json!({ "spec": { "jobTemplate": { "spec": { "activeDeadlineSeconds": 600 } } } }),
        );
        let active = job("a-3", "2026-03-02T06:45:00Z", None, "", &json!({}));
        let status = judge(&cj, &records(&[active], &[]), &nodes(), MORNING);
        assert_eq!(status.health, Health::Stuck);
        assert_eq!(
            status.problem.as_deref(),
            Some("run a-3 has been active 15m, past its deadline of 600s")
        );
        assert_eq!(status.active_scheduled, 1);
    }

    #[test]
    fn a_run_far_longer_than_usual_is_stuck_but_not_before_the_floor() {
        // Usual: 1m30s; five times that is below the 10-minute floor.
        let done = [
            scheduled("a-1", 1, "Complete", 90),
            scheduled("a-2", 2, "Complete", 80),
        ];
        let running = |created: &str| {
            let mut jobs = done.to_vec();
            jobs.push(job("a-3", created, None, "", &json!({})));
            records(&jobs, &[])
        };
        let early = judge(
            &cronjob(&json!({})),
            &running("2026-03-02T06:52:00Z"),
            &nodes(),
            MORNING,
        );
        assert_eq!(early.health, Health::Ok, "{:?}", early.problem);
        let late = judge(
            &cronjob(&json!({})),
            &running("2026-03-02T06:49:00Z"),
            &nodes(),
            MORNING,
        );
        assert_eq!(late.health, Health::Stuck);
        assert_eq!(
            late.problem.as_deref(),
            Some("run a-3 has been active 11m; its runs usually take 90s")
        );
    }

    fn waiting_pod(job: &str, created: &str, reason: &str, message: &str) -> Pod {
        serde_json::from_value(json!({
            "metadata": {
                "name": format!("{job}-x7k2p"), "creationTimestamp": created,
                "labels": { crate::runs::CONTROLLER_UID_LABEL: format!("uid-{job}") }
            },
            "spec": { "nodeName": "kuul-real-1", "containers": [{ "name": "work" }] },
            "status": {
                "phase": "Pending",
                "containerStatuses": [{
                    "name": "work", "image": "registry.local/backup:v9", "imageID": "",
                    "ready": false, "restartCount": 0,
                    "state": { "waiting": { "reason": reason, "message": message } }
                }]
            }
        }))
        .unwrap()
    }

    fn forbid() -> CronJob {
        cronjob(&json!({ "spec": { "concurrencyPolicy": "Forbid" } }))
    }

    #[test]
    fn a_run_whose_image_cannot_be_pulled_is_blocked_after_the_grace() {
        let scheduled_run = job(
            "a-3",
            "2026-03-02T06:54:00Z",
            None,
            "",
            &json!({ crate::history::SCHEDULED_ANNOTATION: "2026-03-02T06:54:00Z" }),
        );
        let pods = [waiting_pod(
            "a-3",
            "2026-03-02T06:54:01Z",
            "ImagePullBackOff",
            "Back-off pulling image \"registry.local/backup:v9\": ErrImagePull: failed to resolve image: registry.local/backup:v9: not found",
        )];
        let runs = records(&[scheduled_run], &pods);
        assert_eq!(runs[0].reason.as_deref(), Some("ImagePullBackOff"));
        let early = judge(&forbid(), &runs, &nodes(), "2026-03-02T06:54:20Z");
        assert_eq!(early.health, Health::Ok, "{:?}", early.problem);
        let status = judge(&forbid(), &runs, &nodes(), MORNING);
        assert_eq!(status.health, Health::Blocked);
        assert!(status.health.is_problem());
        assert_eq!(
            status.problem.as_deref(),
            Some(
                "run a-3 cannot start for 6m: image registry.local/backup:v9 cannot be pulled (ImagePullBackOff: not found); no scheduled run can start until it ends"
            )
        );
        let blocked = status.blocked.unwrap();
        assert_eq!(blocked.blocker.kind, crate::blocked::BlockerKind::ImagePull);
        assert!(blocked.blocks_schedule);
    }

    #[test]
    fn a_blocked_manual_run_does_not_block_the_schedule() {
        let manual = job(
            "a-manual-x",
            "2026-03-02T06:50:00Z",
            None,
            "",
            &json!({ crate::runs::INSTANTIATE_ANNOTATION: "manual" }),
        );
        let pods = [waiting_pod(
            "a-manual-x",
            "2026-03-02T06:50:01Z",
            "CreateContainerConfigError",
            "secret \"db-password\" not found",
        )];
        let status = judge(&forbid(), &records(&[manual], &pods), &nodes(), MORNING);
        assert_eq!(status.health, Health::Blocked);
        assert_eq!(
            status.problem.as_deref(),
            Some(
                "run a-manual-x cannot start for 10m: container work cannot be created (CreateContainerConfigError: secret \"db-password\" not found)"
            )
        );
    }

    #[test]
    fn a_run_without_a_pod_is_blocked_by_its_failed_create_event() {
        let active = job("a-3", "2026-03-02T06:58:00Z", None, "", &json!({}));
        let mut runs = records(&[active], &[]);
        assert!(runs[0].lacks_pod());
        // Without the event nothing says why: a pod may simply be on its way.
        assert_eq!(
            judge(&forbid(), &runs, &nodes(), MORNING).health,
            Health::Ok
        );
        let event: k8s_openapi::api::core::v1::Event = serde_json::from_value(json!({
            "metadata": { "name": "e", "namespace": "ops" },
            "involvedObject": { "kind": "Job", "name": "a-3", "uid": "uid-a-3" },
            "reason": "FailedCreate", "lastTimestamp": "2026-03-02T06:59:00Z",
            "message": "Error creating: pods \"a-3-x\" is forbidden: exceeded quota: no-pods, requested: pods=1, used: pods=0, limited: pods=0"
        }))
        .unwrap();
        let by_uid = crate::blocked::failed_creates(&[event]);
        runs[0].cannot_create(&by_uid["uid-a-3"]);
        assert_eq!(runs[0].reason.as_deref(), Some("FailedCreate"));
        let status = judge(&forbid(), &runs, &nodes(), MORNING);
        assert_eq!(status.health, Health::Blocked);
        assert!(
            status
                .problem
                .unwrap()
                .contains("the Job cannot create its pod (FailedCreate: pods \"a-3-x\" is forbidden: exceeded quota")
        );
    }

    #[test]
    fn a_missed_run_is_overdue_after_its_grace() {
        // Due 2026-03-03T01:00Z; the grace is startingDeadlineSeconds, 300 s.
        let cj = cronjob(&json!({}));
        let runs = records(&[scheduled("a-2", 2, "Complete", 30)], &[]);
        assert_eq!(
            judge(&cj, &runs, &nodes(), "2026-03-03T01:04:00Z").health,
            Health::Ok
        );
        let status = judge(&cj, &runs, &nodes(), "2026-03-03T01:06:00Z");
        assert_eq!(status.health, Health::Overdue);
        assert_eq!(
            status.problem.as_deref(),
            Some(
                "the run due at 2026-03-03T01:00:00Z did not start (6m late; last started run 2026-03-02T01:00:00Z)"
            )
        );
    }

    #[test]
    fn a_resumed_job_is_not_late_for_the_runs_it_skipped() {
        let cj = cronjob(&json!({ "metadata": { "managedFields": [{
            "manager": "kuul-suspend", "operation": "Apply", "time": "2026-03-05T09:00:00Z",
            "fieldsType": "FieldsV1", "fieldsV1": { "f:spec": { "f:suspend": {} } }
        }]}}));
        // Last run 2026-03-02; resumed 2026-03-05 09:00; next due 2026-03-06 01:00 UTC.
        assert_eq!(
            judge(&cj, &[], &nodes(), "2026-03-05T12:00:00Z").health,
            Health::Ok
        );
        assert_eq!(
            judge(&cj, &[], &nodes(), "2026-03-06T01:06:00Z").health,
            Health::Overdue
        );
    }

    #[test]
    fn trimming_a_cronjob_keeps_when_suspend_changed() {
        let mut cj = cronjob(&json!({ "metadata": { "managedFields": [
            { "manager": "kuul-apply", "operation": "Apply", "time": "2026-03-01T09:00:00Z",
              "fieldsType": "FieldsV1",
              "fieldsV1": { "f:spec": { "f:schedule": {}, "f:jobTemplate": { "f:spec": {} } } } },
            { "manager": "kuul-suspend", "operation": "Apply", "time": "2026-03-05T09:00:00Z",
              "fieldsType": "FieldsV1", "fieldsV1": { "f:spec": { "f:suspend": {}, "f:x": {} } } }
        ]}}));
        let before = suspend_changed(&cj);
        trim_cronjob(&mut cj);
        let kept = cj.metadata.managed_fields.as_deref().unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].manager.as_deref(), Some("kuul-suspend"));
        assert_eq!(suspend_changed(&cj), before);
        assert!(before.is_some());

        let mut applied_only = cronjob(&json!({ "metadata": { "managedFields": [
            { "manager": "kuul-apply", "operation": "Apply", "time": "2026-03-01T09:00:00Z",
              "fieldsType": "FieldsV1", "fieldsV1": { "f:spec": { "f:schedule": {} } } }
        ]}}));
        trim_cronjob(&mut applied_only);
        assert_eq!(applied_only.metadata.managed_fields, None);
    }

    #[test]
    fn without_starting_deadline_the_grace_is_the_floor() {
        let mut cj = cronjob(&json!({ "spec": { "schedule": "* * * * *" } }));
        cj.spec.starting_deadline_seconds = None;
        cj.status = None;
        cj.metadata.creation_timestamp =
            Some(serde_json::from_value(json!("2026-03-02T06:58:30Z")).unwrap());
        // Due 06:59:00; overdue after 07:00:00.
        assert_eq!(
            judge(&cj, &[], &nodes(), "2026-03-02T06:59:59Z").health,
            Health::Ok
        );
        let status = judge(&cj, &[], &nodes(), "2026-03-02T07:00:01Z");
        assert_eq!(status.health, Health::Overdue);
        assert!(status.problem.unwrap().ends_with("no run ever started)"));
    }

    #[test]
    fn health_names_are_lowercase() {
        assert_eq!(Health::Unschedulable.to_string(), "unschedulable");
        assert_eq!(serde_json::to_value(Health::Ok).unwrap(), json!("ok"));
    }

    fn morning_statuses() -> Vec<JobStatus> {
        let ok_jobs = [
            scheduled("backup-db-1", 1, "Complete", 250),
            scheduled("backup-db-2", 2, "Complete", 248),
        ];
        let ok = judge(
            &cronjob(&json!({})),
            &records(&ok_jobs, &[]),
            &nodes(),
            MORNING,
        );
        let failing_cj = cronjob(&json!({
            "metadata": { "name": "smoke-test" },
            "spec": { "schedule": "*/30 * * * *", "timeZone": null },
            "status": { "lastScheduleTime": "2026-03-02T06:30:00Z" }
        }));
        let fail_jobs = [
            scheduled("smoke-1", 2, "Complete", 20),
            job(
                "smoke-2",
                "2026-03-02T06:30:00Z",
                Some("Failed"),
                "2026-03-02T06:30:12Z",
                &json!({}),
            ),
            job(
                "smoke-3",
                "2026-03-02T06:55:00Z",
                None,
                "",
                &json!({
                    crate::runs::INSTANTIATE_ANNOTATION: "manual"
                }),
            ),
        ];
        let failing = judge(
            &failing_cj,
            &runs_of(&failing_cj, &fail_jobs)
                .into_iter()
                .map(|j| RunRecord::of(j, &[]))
                .collect::<Vec<_>>(),
            &nodes(),
            MORNING,
        );
        let suspended_cj = cronjob(&json!({
            "metadata": { "name": "rotate-certs", "annotations": { SUSPEND_REASON: "kernel upgrade" } },
            "spec": { "suspend": true, "jobTemplate": { "spec": { "template": { "spec": {
                "nodeSelector": { "kuul.io/pool": "internal" } } } } } }
        }));
        let suspended = judge(&suspended_cj, &[], &nodes(), MORNING);
        vec![ok, failing, suspended]
    }

    #[test]
    fn status_table_with_a_fixed_clock() {
        let statuses = morning_statuses();
        let layout = Layout {
            contexts: false,
            wide: false,
            namespaces: false,
            ascii: false,
        };
        insta::assert_snapshot!(table(&statuses, layout, at(MORNING)).to_string());
    }

    #[test]
    fn wide_status_table_in_ascii_with_namespaces() {
        let statuses = morning_statuses();
        let layout = Layout {
            contexts: false,
            wide: true,
            namespaces: true,
            ascii: true,
        };
        insta::assert_snapshot!(table(&statuses, layout, at(MORNING)).to_string());
    }
}
