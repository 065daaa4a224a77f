//! kuul's integration tests, one module per command or area, in one test binary: one
//! link instead of one per file, and the tests of all modules share the test threads.
//! Helpers that more than one module needs are in the kuul-tests library
//! (`tests/src/lib.rs`).
//!
//! What each module needs besides the built binaries (`cargo build --workspace --bins`):
//! - `cli`: nothing else: `cargo test -p kuul-tests --test it cli::` runs it alone;
//! - `docker`: the Docker daemon and registry of `tests/docker/up`;
//! - `image`, `real_node`: those and the local cluster of `tests/cluster/up`;
//! - `krew`: krew from `tests/krew/build` and the cluster's kubectl;
//! - `faults`: the fault tests' own cluster of `tests/cluster/up-faults`, whose API
//!   server they kill and restart, besides the local cluster;
//! - `clusters`: both, as two contexts of one kubeconfig (`TwoClusters`);
//! - the others: the local cluster.
//!
//! `tests/integration` brings all of it up and passes its arguments on to cargo test:
//! `tests/integration -- status::` runs one module.

mod apply;
mod archive;
mod blocked;
mod cli;
mod cluster;
mod clusters;
mod completion;
mod connection;
mod docker;
mod faults;
mod faults_throttling;
mod history_logs;
mod image;
mod krew;
mod kubectl_plugin;
mod label_nodes;
mod maintenance;
mod new;
mod prune;
mod rbac;
mod real_node;
mod run_now;
mod set;
mod status;
mod stop;
