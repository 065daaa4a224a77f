//! Connecting to the cluster the way kubectl does.
//!
//! Operators switch between clusters with `--kubeconfig`, `KUBECONFIG` (a list of files,
//! merged, first definition wins), `--context` and kubectl's other connection flags, log
//! in through exec plugins of their cloud, and run kuul in pods with nothing but a
//! service account. kuul must pick the same cluster and credentials kubectl would
//! ([`crate::kubeconfig`] works them out), and say exactly which file or context is wrong
//! when it cannot. No API discovery happens here: commands use typed APIs, so connecting
//! costs no round trip.

use std::collections::HashMap;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{Event, Node};
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::config::KubeConfigOptions;
use kube::{Api, Client, Config, Resource};
use serde::de::DeserializeOwned;

use crate::blocked::Blocker;
use crate::cli::KubeArgs;
use crate::error::{Endpoint, Error, Operation};
use crate::kubeconfig;
use crate::printer::Printer;

/// How many objects one list request asks for.
pub const PAGE: u32 = 500;

/// A client for the selected cluster, with what errors need to name it.
#[derive(Clone)]
pub struct Cluster {
    client: Client,
    namespace: String,
    endpoint: Endpoint,
}

impl Cluster {
    /// Builds a client from the flags: the kubeconfig (or the pod's service account), the
    /// context, kubectl's overrides (`--server`, `--token`, `--as`, ...), the namespace and
    /// the request timeout.
    ///
    /// Checks the flags and runs the context's exec credential plugin, if any, but sends no
    /// request.
    pub async fn connect(args: &KubeArgs) -> Result<Self, Error> {
        args.check()?;
        let found = kubeconfig::find(args)?;
        let selected = kubeconfig::select(&found, args)?;
        let mut config =
            Config::from_custom_kubeconfig(selected.kubeconfig, &KubeConfigOptions::default())
                .await
                .map_err(|source| Error::Kubeconfig {
                    origin: found.origin.clone(),
                    source,
                })?;
        if let Some(timeout) = args.request_timeout {
            config.read_timeout = timeout.0;
            if timeout.0.is_some() {
                config.connect_timeout = timeout.0;
            }
        }
        let endpoint = Endpoint {
            server: config.cluster_url.to_string(),
            context: selected.context,
        };
        let namespace = args
            .namespace
            .clone()
            .unwrap_or_else(|| config.default_namespace.clone());
        // Requests ride out 429 and 5xx answers for up to the request timeout (retry.rs).
        let budget = args.request_timeout.and_then(|timeout| timeout.0);
        let client = crate::retry::client(config, budget).map_err(|source| {
            Error::from_kube(
                source,
                Operation::new("connect to", "the API server"),
                &endpoint,
            )
        })?;
        Ok(Self {
            client,
            namespace,
            endpoint,
        })
    }

    /// The kube client; cloning it is cheap and shares connections.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// `-n/--namespace`, else the context's namespace, else `default`.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The server URL and context name.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Translates a failed request into a kuul error naming the operation and cluster.
    pub fn error(&self, operation: Operation, source: kube::Error) -> Error {
        Error::from_kube(source, operation, &self.endpoint)
    }

    /// Every object `params` selects, read in pages of [`PAGE`] so that thousands of
    /// objects never come in one response; a failure is named by `operation`.
    pub async fn list_all<K>(
        &self,
        api: &Api<K>,
        params: ListParams,
        operation: Operation,
    ) -> Result<Vec<K>, Error>
    where
        K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    {
        self.list_all_map(api, params, operation, |item| item).await
    }

    /// [`Cluster::list_all`], turning each object into what the caller keeps of it as its
    /// page arrives, so that what the caller never reads is dropped before the next page:
    /// tens of thousands of Jobs then fit in a small heap.
    pub async fn list_all_map<K, T>(
        &self,
        api: &Api<K>,
        params: ListParams,
        operation: Operation,
        keep: impl Fn(K) -> T,
    ) -> Result<Vec<T>, Error>
    where
        K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    {
        let mut params = params.limit(PAGE);
        let mut items = Vec::new();
        loop {
            let page = api
                .list(&params)
                .await
                .map_err(|source| self.error(operation.clone(), source))?;
            items.extend(page.items.into_iter().map(&keep));
            match page.metadata.continue_ {
                Some(token) if !token.is_empty() => params = params.continue_token(&token),
                _ => return Ok(items),
            }
        }
    }

    /// The object `name` of kind `K` in `namespace`; a failure (most often: not found)
    /// names `resource`, the object and the namespace.
    pub async fn get<K>(
        &self,
        namespace: &str,
        name: &str,
        resource: &'static str,
    ) -> Result<K, Error>
    where
        K: Resource<Scope = NamespaceResourceScope> + Clone + DeserializeOwned + std::fmt::Debug,
        K::DynamicType: Default,
    {
        Api::<K>::namespaced(self.client.clone(), namespace)
            .get(name)
            .await
            .map_err(|source| {
                self.error(
                    Operation::new("get", resource)
                        .named(name)
                        .in_namespace(namespace),
                    source,
                )
            })
    }

    /// Server-side applies `patch` (an apply configuration) to the `CronJob` `name` in
    /// `namespace` as `manager`, taking over the fields it sends (`--force-conflicts`);
    /// `server_dry_run` has the API server check it without storing it. Returns the
    /// object as stored.
    pub async fn apply_cronjob(
        &self,
        namespace: &str,
        name: &str,
        manager: &str,
        patch: &serde_json::Value,
        server_dry_run: bool,
    ) -> Result<CronJob, Error> {
        let api: Api<CronJob> = Api::namespaced(self.client.clone(), namespace);
        let mut params = PatchParams::apply(manager).force();
        params.dry_run = server_dry_run;
        api.patch(name, &params, &Patch::Apply(patch))
            .await
            .map_err(|source| {
                self.error(
                    Operation::new("apply", "cronjobs")
                        .named(name)
                        .in_namespace(namespace),
                    source,
                )
            })
    }

    /// Every namespaced object of kind `K` in `namespace` (or every namespace) that
    /// `selector` matches, in pages of [`PAGE`]; a failure names `resource`.
    pub async fn list_selected<K>(
        &self,
        namespace: Option<&str>,
        selector: &str,
        resource: &'static str,
    ) -> Result<Vec<K>, Error>
    where
        K: Resource<Scope = NamespaceResourceScope> + Clone + DeserializeOwned + std::fmt::Debug,
        K::DynamicType: Default,
    {
        self.list_selected_map(namespace, selector, resource, |item| item)
            .await
    }

    /// [`Cluster::list_selected`], keeping of each object what `keep` makes of it as its
    /// page arrives.
    pub async fn list_selected_map<K, T>(
        &self,
        namespace: Option<&str>,
        selector: &str,
        resource: &'static str,
        keep: impl Fn(K) -> T,
    ) -> Result<Vec<T>, Error>
    where
        K: Resource<Scope = NamespaceResourceScope> + Clone + DeserializeOwned + std::fmt::Debug,
        K::DynamicType: Default,
    {
        let (api, operation) = self.scoped(namespace, resource);
        self.list_all_map(
            &api,
            ListParams::default().labels(selector),
            operation,
            keep,
        )
        .await
    }

    /// Every Node, in pages.
    pub async fn nodes(&self) -> Result<Vec<Node>, Error> {
        let api: Api<Node> = Api::all(self.client.clone());
        self.list_all(&api, ListParams::default(), Operation::new("list", "nodes"))
            .await
    }

    /// Warnings for jobs whose CPU or memory request fits no ready node of their pool,
    /// when the Nodes can be read; none when they cannot (the check is advice, and nodes
    /// come and go).
    pub async fn misfits(&self, cronjobs: &[&CronJob], pool_key: &str) -> Vec<String> {
        let Ok(nodes) = self.nodes().await else {
            return Vec::new();
        };
        cronjobs
            .iter()
            .filter_map(|cronjob| crate::pools::request_misfit(cronjob, &nodes, pool_key))
            .collect()
    }

    /// Why each Job in `namespace` (or every namespace) cannot create its pod, by the
    /// Job's uid, from the Job controller's `FailedCreate` events: one field-selected
    /// paginated list, the only record of why a run has no pod. When the events may not
    /// be read (a role without them), `printer` says so and there are none: the runs are
    /// still shown.
    pub async fn failed_creates(
        &self,
        namespace: Option<&str>,
        printer: Printer,
    ) -> Result<HashMap<String, Blocker>, Error> {
        let (api, operation) = self.scoped::<Event>(namespace, "events");
        let params = ListParams::default().fields(&crate::blocked::failed_create_selector());
        match self.list_all(&api, params, operation).await {
            Ok(events) => Ok(crate::blocked::failed_creates(&events)),
            Err(error @ Error::Forbidden { .. }) => {
                printer.warn(format_args!(
                    "{error}; runs without a pod are not checked for why"
                ));
                Ok(HashMap::new())
            }
            Err(error) => Err(error),
        }
    }

    /// The API of `K` in `namespace` (or every namespace), and the list operation that
    /// names a failure.
    fn scoped<K>(&self, namespace: Option<&str>, resource: &'static str) -> (Api<K>, Operation)
    where
        K: Resource<Scope = NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        match namespace {
            Some(namespace) => (
                Api::namespaced(self.client.clone(), namespace),
                Operation::new("list", resource).in_namespace(namespace),
            ),
            None => (
                Api::all(self.client.clone()),
                Operation::new("list", resource),
            ),
        }
    }

    /// The user the API server knows us as, for annotations such as
    /// `kuul.io/triggered-by` and `kuul.io/suspended-by`.
    ///
    /// Asked with a `SelfSubjectReview` (any authenticated user may create one; nothing
    /// is stored), which callers send alongside their first read so it costs no extra
    /// wait. The kubeconfig's user entry name would be free but is often a generated
    /// label such as `arn:aws:eks:...` or `kind-kind` rather than a person. `None` when
    /// the server cannot say: callers leave the annotation out rather than refuse.
    pub async fn user_name(&self) -> Option<String> {
        let reviews: Api<SelfSubjectReview> = Api::all(self.client.clone());
        let review = reviews
            .create(&PostParams::default(), &SelfSubjectReview::default())
            .await
            .ok()?;
        review
            .status?
            .user_info?
            .username
            .filter(|name| !name.is_empty())
    }
}
