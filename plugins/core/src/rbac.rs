//! The Kubernetes RBAC that kuul's commands need, as one table, and the roles and
//! bindings built from it for `kubectl kuul rbac`.
//!
//! Cluster admins grant what a command calls, not what its name suggests, so each rule
//! names the command and the API call that needs it. When a command starts calling
//! something new, its rule belongs here, and `kubectl kuul rbac` prints it for everyone.
//! Roles are cumulative: an operator can do everything a viewer can. Nodes belong to no
//! namespace, so a namespaced role's node rules go into a `ClusterRole` of their own.

use std::collections::BTreeMap;

use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};
use kube::api::ObjectMeta;

/// A role that `kubectl kuul rbac` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Persona {
    /// Reads jobs, runs and logs: status, history, logs, diff, version.
    Viewer,
    /// A viewer who also changes jobs: new, apply, run-now, suspend, resume, prune.
    Operator,
    /// Puts nodes into pools: label-nodes. Cluster-wide only.
    LabelNodes,
    /// Copies finished runs to an archive: the service account of the archiver that
    /// `archive --install` runs in the cluster. Reads only, and only what `archive` reads.
    Archiver,
}

impl Persona {
    /// The role's name in the cluster, e.g. `kuul-operator`.
    pub fn role_name(self) -> &'static str {
        match self {
            Persona::Viewer => "kuul-viewer",
            Persona::Operator => "kuul-operator",
            Persona::LabelNodes => "kuul-label-nodes",
            Persona::Archiver => "kuul-archiver",
        }
    }

    /// The role as `kubectl kuul rbac` takes it.
    pub fn cli_name(self) -> &'static str {
        match self {
            Persona::Viewer => "viewer",
            Persona::Operator => "operator",
            Persona::LabelNodes => "label-nodes",
            Persona::Archiver => "archiver",
        }
    }

    /// Whether a rule written for `owner` belongs to this role.
    fn includes(self, owner: Persona) -> bool {
        match self {
            Persona::Viewer => owner == Persona::Viewer,
            Persona::Operator => matches!(owner, Persona::Viewer | Persona::Operator),
            Persona::LabelNodes => owner == Persona::LabelNodes,
            Persona::Archiver => owner == Persona::Archiver,
        }
    }
}

/// One permission and the calls that need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The least role that holds the rule.
    pub persona: Persona,
    /// The API group: `""` for core, `batch` for `CronJobs` and Jobs.
    pub group: &'static str,
    pub resources: &'static [&'static str],
    pub verbs: &'static [&'static str],
    /// The resources belong to no namespace (Nodes).
    pub cluster_scoped: bool,
}

const fn rule(
    persona: Persona,
    group: &'static str,
    resources: &'static [&'static str],
    verbs: &'static [&'static str],
) -> Rule {
    Rule {
        persona,
        group,
        resources,
        verbs,
        cluster_scoped: false,
    }
}

/// Every permission a kuul command needs. `version` needs none: `/version` and
/// `SelfSubjectReview` (who am I, for run-now's manual-run record) are open to every
/// authenticated user by Kubernetes' default roles.
pub const RULES: &[Rule] = &[
    // status, diff and apply list CronJobs; run-now, suspend and new get one by name;
    // history and logs get the job they show; status --watch watches them.
    rule(
        Persona::Viewer,
        "batch",
        &["cronjobs"],
        &["get", "list", "watch"],
    ),
    // status, history and logs list a job's runs; run-now lists them for overlaps and
    // watches its run (watch.rs); prune lists runs to plan.
    rule(
        Persona::Viewer,
        "batch",
        &["jobs"],
        &["get", "list", "watch"],
    ),
    // status and history list runs' pods for exit codes and nodes; run-now watches its
    // run's pod; prune --orphans lists pods.
    rule(Persona::Viewer, "", &["pods"], &["get", "list", "watch"]),
    // logs and run-now's log streaming read the pods' logs.
    rule(Persona::Viewer, "", &["pods/log"], &["get"]),
    // status, history, run-now --wait and logs -f read the Job controller's FailedCreate
    // events: the only record of why a run has no pod (quota, admission).
    rule(Persona::Viewer, "", &["events"], &["list", "watch"]),
    // status lists Nodes for the POOL column and the unschedulable health.
    Rule {
        cluster_scoped: true,
        ..rule(Persona::Viewer, "", &["nodes"], &["get", "list", "watch"])
    },
    // new --apply and apply create CronJobs by server-side apply (a patch that creates
    // needs create too); suspend (apply) and resume (merge patch) patch spec.suspend;
    // apply --prune deletes the CronJobs a file no longer lists.
    rule(
        Persona::Operator,
        "batch",
        &["cronjobs"],
        &["create", "patch", "delete"],
    ),
    // run-now creates a Job from the CronJob; prune and apply --prune-runs delete runs;
    // stop, suspend --stop-running and failover --stop-running patch (apply) a run's
    // deadline and stop annotations; new and apply --adopt label the runs an adopted
    // CronJob made before (merge patch).
    rule(
        Persona::Operator,
        "batch",
        &["jobs"],
        &["create", "delete", "patch"],
    ),
    // prune --orphans deletes finished pods whose Job is gone; new and apply --adopt
    // label the pods of an adopted CronJob's earlier runs.
    rule(Persona::Operator, "", &["pods"], &["delete", "patch"]),
    // label-nodes gets, lists and patches Nodes (labels and the --dedicated taint).
    Rule {
        cluster_scoped: true,
        ..rule(
            Persona::LabelNodes,
            "",
            &["nodes"],
            &["get", "list", "watch", "patch"],
        )
    },
    // label-nodes --list counts the managed CronJobs of each pool, in every namespace.
    rule(Persona::LabelNodes, "batch", &["cronjobs"], &["list"]),
    // archive gets the jobs it is given by name and lists them with -l or --all, lists
    // their runs and the runs' pods (archive::copy), and reads each pod's logs. Nothing
    // else: the archiver in the cluster runs as this role.
    rule(Persona::Archiver, "batch", &["cronjobs"], &["get", "list"]),
    rule(Persona::Archiver, "batch", &["jobs"], &["list"]),
    rule(Persona::Archiver, "", &["pods"], &["list"]),
    rule(Persona::Archiver, "", &["pods/log"], &["get"]),
];

/// The least role that may do `verb` on `resource`, as an error's [`crate::Operation`]
/// names them (`apply` is a patch), for the hint of a Forbidden error.
pub fn granting(verb: &str, resource: &str) -> Option<Persona> {
    let verb = if verb == "apply" { "patch" } else { verb };
    [Persona::Viewer, Persona::Operator, Persona::LabelNodes]
        .into_iter()
        .find(|persona| {
            RULES.iter().any(|rule| {
                persona.includes(rule.persona)
                    && rule.resources.contains(&resource)
                    && rule.verbs.contains(&verb)
            })
        })
}

/// Who a binding grants the role to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grantee {
    User(String),
    Group(String),
    ServiceAccount { namespace: String, name: String },
}

impl Grantee {
    fn subject(&self) -> Subject {
        let (kind, name, namespace, api_group) = match self {
            Grantee::User(name) => ("User", name, None, Some("rbac.authorization.k8s.io")),
            Grantee::Group(name) => ("Group", name, None, Some("rbac.authorization.k8s.io")),
            Grantee::ServiceAccount { namespace, name } => {
                ("ServiceAccount", name, Some(namespace.clone()), None)
            }
        };
        Subject {
            kind: kind.to_owned(),
            name: name.clone(),
            namespace,
            api_group: api_group.map(str::to_owned),
        }
    }
}

/// Where the role applies: one namespace, or every namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    Namespace(String),
    Cluster,
}

/// One object of the printed RBAC.
#[derive(Debug, Clone, PartialEq)]
pub enum Manifest {
    Role(Role),
    RoleBinding(RoleBinding),
    ClusterRole(ClusterRole),
    ClusterRoleBinding(ClusterRoleBinding),
}

impl Manifest {
    /// The object as JSON, with apiVersion and kind, ready for `kubectl apply`.
    pub fn to_value(&self) -> serde_json::Value {
        let (kind, value) = match self {
            Manifest::Role(o) => ("Role", serde_json::to_value(o)),
            Manifest::RoleBinding(o) => ("RoleBinding", serde_json::to_value(o)),
            Manifest::ClusterRole(o) => ("ClusterRole", serde_json::to_value(o)),
            Manifest::ClusterRoleBinding(o) => ("ClusterRoleBinding", serde_json::to_value(o)),
        };
        let mut object = serde_json::Map::new();
        object.insert("apiVersion".into(), "rbac.authorization.k8s.io/v1".into());
        object.insert("kind".into(), kind.into());
        if let Ok(serde_json::Value::Object(fields)) = value {
            object.extend(fields);
        }
        serde_json::Value::Object(object)
    }
}

/// The policy rules of `persona`, namespaced or cluster-scoped ones, merged per group
/// and verbs so that the role reads like a hand-written one.
pub fn policy_rules(persona: Persona, cluster_scoped: bool) -> Vec<PolicyRule> {
    let mut verbs_of: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for rule in RULES
        .iter()
        .filter(|r| persona.includes(r.persona) && r.cluster_scoped == cluster_scoped)
    {
        for resource in rule.resources {
            let verbs = verbs_of.entry((rule.group, resource)).or_default();
            for verb in rule.verbs {
                if !verbs.contains(verb) {
                    verbs.push(verb);
                }
            }
        }
    }
    // Resources with the same group and verbs share one rule.
    let mut merged: Vec<PolicyRule> = Vec::new();
    for ((group, resource), verbs) in verbs_of {
        let verbs: Vec<String> = verbs.into_iter().map(str::to_owned).collect();
        let groups = vec![group.to_owned()];
        match merged
            .iter_mut()
            .find(|r| r.api_groups.as_ref() == Some(&groups) && r.verbs == verbs)
        {
            Some(existing) => existing
                .resources
                .get_or_insert_with(Vec::new)
                .push(resource.to_owned()),
            None => merged.push(PolicyRule {
                api_groups: Some(groups),
                resources: Some(vec![resource.to_owned()]),
                verbs,
                ..PolicyRule::default()
            }),
        }
    }
    merged
}

fn labels() -> BTreeMap<String, String> {
    [("app.kubernetes.io/part-of".to_owned(), "kuul".to_owned())].into()
}

fn meta(name: String, namespace: Option<&str>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: namespace.map(str::to_owned),
        labels: Some(labels()),
        ..ObjectMeta::default()
    }
}

fn role_ref(kind: &str, name: &str) -> RoleRef {
    RoleRef {
        api_group: Some("rbac.authorization.k8s.io".to_owned()),
        kind: kind.to_owned(),
        name: name.to_owned(),
    }
}

/// The roles of `persona` over `reach`, and bindings to `grantees` (none: roles only).
/// Label-nodes is always cluster-wide.
pub fn manifests(persona: Persona, reach: &Reach, grantees: &[Grantee]) -> Vec<Manifest> {
    let subjects: Vec<Subject> = grantees.iter().map(Grantee::subject).collect();
    let name = persona.role_name();
    let mut out = Vec::new();
    let cluster_role = |name: String, rules: Vec<PolicyRule>| {
        Manifest::ClusterRole(ClusterRole {
            metadata: meta(name, None),
            rules: Some(rules),
            ..ClusterRole::default()
        })
    };
    let cluster_binding = |name: String, role: &str| {
        Manifest::ClusterRoleBinding(ClusterRoleBinding {
            metadata: meta(name, None),
            role_ref: role_ref("ClusterRole", role),
            subjects: Some(subjects.clone()),
        })
    };
    match reach {
        Reach::Namespace(namespace) if persona != Persona::LabelNodes => {
            out.push(Manifest::Role(Role {
                metadata: meta(name.to_owned(), Some(namespace)),
                rules: Some(policy_rules(persona, false)),
            }));
            let nodes = format!("{name}-nodes");
            let node_rules = policy_rules(persona, true);
            if !node_rules.is_empty() {
                out.push(cluster_role(nodes.clone(), node_rules));
            }
            if !subjects.is_empty() {
                out.push(Manifest::RoleBinding(RoleBinding {
                    metadata: meta(name.to_owned(), Some(namespace)),
                    role_ref: role_ref("Role", name),
                    subjects: Some(subjects.clone()),
                }));
                if !policy_rules(persona, true).is_empty() {
                    // One binding per namespace, so that removing a namespace's access
                    // leaves the others' alone.
                    out.push(cluster_binding(format!("{nodes}-{namespace}"), &nodes));
                }
            }
        }
        _ => {
            let mut rules = policy_rules(persona, false);
            rules.extend(policy_rules(persona, true));
            out.push(cluster_role(name.to_owned(), rules));
            if !subjects.is_empty() {
                out.push(cluster_binding(name.to_owned(), name));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules_text(rules: &[PolicyRule]) -> Vec<String> {
        rules
            .iter()
            .map(|r| {
                format!(
                    "{}:{} {}",
                    r.api_groups.as_ref().unwrap().join(","),
                    r.resources.as_ref().unwrap().join(","),
                    r.verbs.join(",")
                )
            })
            .collect()
    }

    #[test]
    fn viewer_reads_only() {
        assert_eq!(
            rules_text(&policy_rules(Persona::Viewer, false)),
            [
                ":events list,watch",
                ":pods get,list,watch",
                ":pods/log get",
                "batch:cronjobs,jobs get,list,watch"
            ]
        );
        assert_eq!(
            rules_text(&policy_rules(Persona::Viewer, true)),
            [":nodes get,list,watch"]
        );
    }

    #[test]
    fn operator_adds_writes_to_the_viewer() {
        assert_eq!(
            rules_text(&policy_rules(Persona::Operator, false)),
            [
                ":events list,watch",
                ":pods get,list,watch,delete,patch",
                ":pods/log get",
                "batch:cronjobs get,list,watch,create,patch,delete",
                "batch:jobs get,list,watch,create,delete,patch",
            ]
        );
    }

    #[test]
    fn label_nodes_patches_nodes_and_lists_cronjobs_everywhere() {
        assert_eq!(
            rules_text(&policy_rules(Persona::LabelNodes, true)),
            [":nodes get,list,watch,patch"]
        );
        assert_eq!(
            rules_text(&policy_rules(Persona::LabelNodes, false)),
            ["batch:cronjobs list"]
        );
    }

    #[test]
    fn the_archiver_reads_runs_and_logs_and_nothing_else() {
        assert_eq!(
            rules_text(&policy_rules(Persona::Archiver, false)),
            [
                ":pods list",
                ":pods/log get",
                "batch:cronjobs get,list",
                "batch:jobs list"
            ]
        );
        assert!(policy_rules(Persona::Archiver, true).is_empty());
    }

    #[test]
    fn least_role_granting_a_call() {
        assert_eq!(granting("list", "cronjobs"), Some(Persona::Viewer));
        assert_eq!(granting("create", "jobs"), Some(Persona::Operator));
        assert_eq!(granting("apply", "cronjobs"), Some(Persona::Operator));
        assert_eq!(granting("patch", "nodes"), Some(Persona::LabelNodes));
        assert_eq!(granting("delete", "namespaces"), None);
    }

    #[test]
    fn no_writes_for_viewers() {
        let writes = ["create", "patch", "update", "delete", "deletecollection"];
        for rule in RULES.iter().filter(|r| r.persona == Persona::Viewer) {
            assert!(!rule.verbs.iter().any(|v| writes.contains(v)), "{rule:?}");
        }
    }

    fn kinds(manifests: &[Manifest]) -> Vec<String> {
        manifests
            .iter()
            .map(|m| {
                let value = m.to_value();
                format!(
                    "{}/{}{}",
                    value["kind"].as_str().unwrap(),
                    value["metadata"]["name"].as_str().unwrap(),
                    value["metadata"]["namespace"]
                        .as_str()
                        .map(|ns| format!(" in {ns}"))
                        .unwrap_or_default()
                )
            })
            .collect()
    }

    #[test]
    fn namespaced_role_binds_nodes_cluster_wide_per_namespace() {
        let sa = Grantee::ServiceAccount {
            namespace: "ops".into(),
            name: "bot".into(),
        };
        let out = manifests(Persona::Viewer, &Reach::Namespace("ops".into()), &[sa]);
        assert_eq!(
            kinds(&out),
            [
                "Role/kuul-viewer in ops",
                "ClusterRole/kuul-viewer-nodes",
                "RoleBinding/kuul-viewer in ops",
                "ClusterRoleBinding/kuul-viewer-nodes-ops",
            ]
        );
        let binding = out[2].to_value();
        assert_eq!(binding["roleRef"]["kind"], "Role");
        assert_eq!(binding["subjects"][0]["kind"], "ServiceAccount");
        assert_eq!(binding["subjects"][0]["namespace"], "ops");
        assert_eq!(
            out[0].to_value()["apiVersion"],
            "rbac.authorization.k8s.io/v1"
        );
    }

    #[test]
    fn cluster_reach_and_label_nodes_are_cluster_roles() {
        let user = Grantee::User("alice".into());
        assert_eq!(
            kinds(&manifests(
                Persona::Operator,
                &Reach::Cluster,
                std::slice::from_ref(&user)
            )),
            [
                "ClusterRole/kuul-operator",
                "ClusterRoleBinding/kuul-operator"
            ]
        );
        let out = manifests(Persona::LabelNodes, &Reach::Namespace("x".into()), &[user]);
        assert_eq!(
            kinds(&out),
            [
                "ClusterRole/kuul-label-nodes",
                "ClusterRoleBinding/kuul-label-nodes"
            ]
        );
        assert_eq!(
            out[1].to_value()["subjects"][0]["apiGroup"],
            "rbac.authorization.k8s.io"
        );
    }

    #[test]
    fn without_grantees_only_roles() {
        let out = manifests(Persona::Operator, &Reach::Namespace("ops".into()), &[]);
        assert_eq!(
            kinds(&out),
            [
                "Role/kuul-operator in ops",
                "ClusterRole/kuul-operator-nodes"
            ]
        );
    }
}
