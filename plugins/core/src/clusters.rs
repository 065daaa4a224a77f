//! Several clusters at once: which kubeconfig contexts a command works on (`--context`
//! repeated, or `--contexts GLOB`), and the per-cluster work of a command run on each
//! of them concurrently, so that the whole takes about as long as the slowest cluster
//! and one that cannot be reached does not hide the others.

use chrono::Utc;
use futures_util::future;
use k8s_openapi::api::batch::v1::CronJob;
use kube::Api;
use kube::api::ListParams;

use crate::cli::{ContextsArgs, KubeArgs};
use crate::client::{Cluster, PAGE};
use crate::error::{Error, Operation};
use crate::kubeconfig::context_names;
use crate::kuul_job::{MANAGED_BY, MANAGER};
use crate::maintenance::FIELD_MANAGER as SUSPEND_MANAGER;
use crate::printer::Printer;
use crate::standby::{self, SUSPEND_PENDING_ON};

/// The contexts to work on: `--contexts GLOB`, every `--context`, or `None` for the
/// kubeconfig's current context. Flags that pin one cluster or identity (`--server`,
/// `--token`, ...) go with one context only: on several, they would send every
/// context's work to the same place.
pub fn selected(args: &ContextsArgs, kube: &KubeArgs) -> Result<Vec<Option<String>>, Error> {
    let contexts = contexts(args, kube)?;
    let pinned = kube.single_cluster_flags();
    if contexts.len() > 1 && !pinned.is_empty() {
        return Err(Error::InvalidInput {
            message: format!(
                "{} cannot go with {} contexts: each selects one cluster or user",
                pinned.join(", "),
                contexts.len()
            ),
            hint: Some(
                "give one --context with these flags, or set the clusters and users up in the kubeconfig"
                    .to_owned(),
            ),
        });
    }
    Ok(contexts)
}

fn contexts(args: &ContextsArgs, kube: &KubeArgs) -> Result<Vec<Option<String>>, Error> {
    let Some(glob) = &args.contexts else {
        if kube.context.is_empty() {
            return Ok(vec![None]);
        }
        let mut contexts = kube.context.clone();
        // Each cluster once, in the order first given.
        let mut seen = std::collections::HashSet::new();
        contexts.retain(|context| seen.insert(context.clone()));
        return Ok(contexts.into_iter().map(Some).collect());
    };
    if !kube.context.is_empty() {
        return Err(Error::InvalidInput {
            message: "--context and --contexts do not go together".to_owned(),
            hint: Some(
                "name contexts with --context (repeatable) or match them with --contexts GLOB"
                    .to_owned(),
            ),
        });
    }
    let available = context_names(kube.kubeconfig.as_deref())?;
    let matching: Vec<Option<String>> = available
        .iter()
        .filter(|name| glob_matches(glob, name))
        .cloned()
        .map(Some)
        .collect();
    if matching.is_empty() {
        return Err(Error::InvalidInput {
            message: format!("--contexts {glob:?} matches no context of the kubeconfig"),
            hint: Some(format!("contexts: {}", available.join(", "))),
        });
    }
    Ok(matching)
}

/// Shell-style matching of a whole name: `*` any text, `?` one character.
fn glob_matches(glob: &str, name: &str) -> bool {
    let glob: Vec<char> = glob.chars().collect();
    let name: Vec<char> = name.chars().collect();
    // Positions in the glob reachable after each prefix of the name.
    let mut reachable = vec![false; glob.len() + 1];
    reachable[0] = true;
    let close = |reachable: &mut Vec<bool>| {
        for i in 0..glob.len() {
            if reachable[i] && glob[i] == '*' {
                reachable[i + 1] = true;
            }
        }
    };
    close(&mut reachable);
    for c in name {
        let mut next = vec![false; glob.len() + 1];
        for i in 0..glob.len() {
            if reachable[i] {
                match glob[i] {
                    '*' => next[i] = true,
                    '?' => next[i + 1] = true,
                    g if g == c => next[i + 1] = true,
                    _ => {}
                }
            }
        }
        close(&mut next);
        reachable = next;
    }
    reachable[glob.len()]
}

/// Says on stderr, in one line naming its context, why a cluster's part of a command
/// failed: `error: context eu-2: cannot reach the Kubernetes API server at ...`.
pub fn report(printer: Printer, context: &str, error: &Error) {
    printer.error(&Error::Halted {
        message: format!("context {context}: {error}"),
        hint: None,
    });
}

/// What came of a command's part on each cluster ([`reached`]).
pub struct Reached<T> {
    /// The clusters whose part worked: each context and what its part came to.
    pub sides: Vec<(String, T)>,
    /// The contexts of the clusters whose part failed (each [`report`]ed).
    pub unreachable: Vec<String>,
}

/// Sorts what [`each`] returned into the clusters whose part worked and those whose part
/// did not, [`report`]ing each of these. A closed stdout ends the command.
pub fn reached<T>(
    results: Vec<(Option<String>, Result<T, Error>)>,
    printer: Printer,
) -> Result<Reached<T>, Error> {
    let mut reached = Vec::new();
    let mut unreachable = Vec::new();
    for (context, result) in results {
        let context = context.unwrap_or_default();
        match result {
            Ok(value) => reached.push((context, value)),
            Err(Error::StdoutClosed) => return Err(Error::StdoutClosed),
            Err(error) => {
                report(printer, &context, &error);
                unreachable.push(context);
            }
        }
    }
    Ok(Reached {
        sides: reached,
        unreachable,
    })
}

/// The error a command ends with when some of the clusters it read could not be: after
/// it has shown the others, and a line per cluster has said why.
pub fn unreachable(contexts: &[String], of: usize) -> Result<(), Error> {
    if contexts.is_empty() {
        return Ok(());
    }
    Err(Error::Halted {
        message: format!(
            "{} of {of} clusters could not be read: {}",
            contexts.len(),
            contexts.join(", ")
        ),
        hint: Some("the others are shown; the lines above say why".to_owned()),
    })
}

/// [`each`] with each cluster's work on a thread of its own (with a runtime of its own),
/// so that decoding one cluster's lists does not wait for another's: for reads whose
/// result holds no connection (a client is tied to the runtime it was made on).
pub fn each_on_threads<T, F, Fut>(
    kube: &KubeArgs,
    contexts: &[Option<String>],
    work: F,
) -> Vec<(Option<String>, Result<T, Error>)>
where
    F: Fn(KubeArgs) -> Fut + Sync,
    Fut: Future<Output = Result<T, Error>>,
    T: Send,
{
    std::thread::scope(|scope| {
        let work = &work;
        let threads: Vec<_> = contexts
            .iter()
            .map(|context| {
                let mut kube = kube.clone();
                if let Some(context) = context {
                    kube.context = vec![context.clone()];
                }
                scope.spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|source| Error::Halted {
                            message: format!("cannot start a thread's runtime: {source}"),
                            hint: None,
                        })?;
                    runtime.block_on(work(kube))
                })
            })
            .collect();
        let results = threads.into_iter().map(|thread| {
            thread.join().unwrap_or_else(|_| {
                Err(Error::Halted {
                    message: "reading the cluster failed unexpectedly (a thread panicked)"
                        .to_owned(),
                    hint: None,
                })
            })
        });
        contexts.iter().cloned().zip(results).collect()
    })
}

/// Runs `work` on each of `contexts` ([`selected`]) concurrently, with the connection
/// flags of `kube` pointed at each; returns each context's name (`None`: the current
/// one) with what its work came to, in the order of `contexts`.
pub async fn each<T, F, Fut>(
    kube: &KubeArgs,
    contexts: &[Option<String>],
    work: F,
) -> Vec<(Option<String>, Result<T, Error>)>
where
    F: Fn(KubeArgs) -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let results = future::join_all(contexts.iter().map(|context| {
        let mut kube = kube.clone();
        if let Some(context) = context {
            kube.context = vec![context.clone()];
        }
        work(kube)
    }))
    .await;
    contexts.iter().cloned().zip(results).collect()
}

/// Finishes failovers made while the cluster they left could not be reached
/// (`failover --from-unreachable`): a job on one of `contexts` that records
/// [`SUSPEND_PENDING_ON`] another of them, reachable now, is suspended there (marked
/// standby for the cluster it runs on), then the record is cleared. Each is said on
/// stderr; what cannot be done now is left for the next time. `status` and `apply` on
/// several clusters do this before anything else.
pub async fn settle_failovers(
    kube: &KubeArgs,
    contexts: &[Option<String>],
    all_namespaces: bool,
    printer: Printer,
) {
    let named: Vec<&String> = contexts.iter().flatten().collect();
    if named.len() < 2 {
        return;
    }
    let mut sides = Vec::new();
    for context in named {
        let mut kube = kube.clone();
        kube.context = vec![context.clone()];
        if let Ok(cluster) = Cluster::connect(&kube).await {
            sides.push((context.clone(), cluster));
        }
    }
    // Each cluster's jobs with a pending suspension, read concurrently from the objects'
    // metadata only: this comes before every multi-cluster status, so it must be cheap.
    let found = future::join_all(sides.iter().map(|(runs_on, cluster)| async move {
        (runs_on, cluster, pending(cluster, all_namespaces).await)
    }))
    .await;
    for (runs_on, cluster, jobs) in found {
        for (namespace, name, left) in jobs.unwrap_or_default() {
            let Some((_, old)) = sides.iter().find(|(context, _)| *context == left) else {
                continue;
            };
            match settle(old, cluster, &namespace, &name, &left, runs_on).await {
                Ok(()) => printer.warn(format_args!(
                    "context {left}: suspended {namespace}/{name}: it was failed over to {runs_on} while {left} could not be reached"
                )),
                Err(error) => printer.warn(format_args!(
                    "context {left}: {namespace}/{name} was failed over to {runs_on} while {left} could not be reached, and is still to be suspended there: {error}"
                )),
            }
        }
    }
}

/// The kuul jobs of `cluster` (its namespace, or every one) that record a pending
/// suspension elsewhere: namespace, name and the context to suspend them on.
async fn pending(
    cluster: &Cluster,
    all_namespaces: bool,
) -> Result<Vec<(String, String, String)>, kube::Error> {
    let api: Api<CronJob> = if all_namespaces {
        Api::all(cluster.client().clone())
    } else {
        Api::namespaced(cluster.client().clone(), cluster.namespace())
    };
    let managed = format!("{MANAGED_BY}={MANAGER}");
    let mut params = ListParams::default().labels(&managed).limit(PAGE);
    let mut found = Vec::new();
    loop {
        let page = api.list_metadata(&params).await?;
        for job in page.items {
            let meta = job.metadata;
            if let Some(left) = meta
                .annotations
                .and_then(|mut a| a.remove(SUSPEND_PENDING_ON))
            {
                found.push((
                    meta.namespace.unwrap_or_default(),
                    meta.name.unwrap_or_default(),
                    left,
                ));
            }
        }
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => return Ok(found),
        }
    }
}

/// Suspends `name` on the old cluster, marked standby for `runs_on`, then clears the
/// pending record on the cluster it runs on.
async fn settle(
    old: &Cluster,
    current: &Cluster,
    namespace: &str,
    name: &str,
    left: &str,
    runs_on: &str,
) -> Result<(), Error> {
    let there = Api::<CronJob>::namespaced(old.client().clone(), namespace)
        .get_opt(name)
        .await
        .map_err(|source| {
            old.error(
                Operation::new("get", "cronjobs")
                    .named(name)
                    .in_namespace(namespace),
                source,
            )
        })?;
    if there.is_some() {
        let reason = format!("failed over to {runs_on} while {left} could not be reached");
        let patch = standby::standby_patch(namespace, name, runs_on, &reason, None, Utc::now());
        old.apply_cronjob(namespace, name, SUSPEND_MANAGER, &patch, false)
            .await?;
    }
    let patch = standby::activate_patch(namespace, name, left, false);
    current
        .apply_cronjob(namespace, name, SUSPEND_MANAGER, &patch, false)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_context_names() {
        assert!(glob_matches("kuul-*", "kuul-eu-1"));
        assert!(glob_matches("*", "anything"));
        assert!(glob_matches("kuul-??-1", "kuul-eu-1"));
        assert!(glob_matches("*-1", "kuul-eu-1"));
        assert!(glob_matches("a*b*c", "aXXbYYc"));
        assert!(!glob_matches("kuul-*", "prod-kuul-1"));
        assert!(!glob_matches("kuul-?", "kuul-10"));
        assert!(!glob_matches("a*b", "aXbX"));
        assert!(glob_matches("", ""));
    }

    /// No `--contexts`.
    fn one_file() -> ContextsArgs {
        ContextsArgs::default()
    }

    #[test]
    fn every_context_is_a_cluster_and_contexts_is_a_glob_instead() {
        let set = one_file();
        let kube = KubeArgs {
            context: vec!["eu-1".to_owned(), "eu-2".to_owned()],
            ..KubeArgs::default()
        };
        assert_eq!(
            selected(&set, &kube).unwrap(),
            [Some("eu-1".to_owned()), Some("eu-2".to_owned())]
        );
        let repeated = KubeArgs {
            context: vec!["eu-1".to_owned(), "eu-2".to_owned(), "eu-1".to_owned()],
            ..KubeArgs::default()
        };
        assert_eq!(
            selected(&set, &repeated).unwrap(),
            [Some("eu-1".to_owned()), Some("eu-2".to_owned())],
            "each cluster once"
        );
        let one = KubeArgs::default();
        assert_eq!(selected(&set, &one).unwrap(), [None]);
        let mut both = set.clone();
        both.contexts = Some("eu-*".to_owned());
        let error = selected(&both, &kube).unwrap_err();
        assert_eq!(
            error.to_string(),
            "--context and --contexts do not go together"
        );
    }

    #[test]
    fn flags_that_pin_one_cluster_go_with_one_context_only() {
        let set = one_file();
        let kube = KubeArgs {
            context: vec!["eu-1".to_owned(), "eu-2".to_owned()],
            server: Some("https://10.0.0.1:6443".to_owned()),
            ..KubeArgs::default()
        };
        let error = selected(&set, &kube).unwrap_err();
        assert_eq!(
            error.to_string(),
            "--server cannot go with 2 contexts: each selects one cluster or user"
        );
        assert_eq!(error.exit_status(), crate::error::ExitStatus::Usage);
        let one = KubeArgs {
            context: vec!["eu-1".to_owned()],
            ..kube.clone()
        };
        assert_eq!(selected(&set, &one).unwrap(), [Some("eu-1".to_owned())]);
        let everywhere = KubeArgs {
            server: None,
            impersonate: Some("bob".to_owned()),
            ..kube
        };
        assert_eq!(selected(&set, &everywhere).unwrap().len(), 2);
    }
}
