//! The kuul SDK: build, test and push Kuul images with Docker.
//!
//! A Kuul image is the container a Kuul job runs. Teams build and test it locally before
//! it ever reaches the cluster, so this crate talks to the local Docker daemon, and to
//! the cluster only to read a `CronJob` whose container should run locally. It uses
//! kuul-core for printing, errors and exit codes, so `kubectl kuul image` behaves like
//! every other kuul command.
//!
//! Pure logic (kuul-image.yaml, the pod-to-container mapping, expectations,
//! `.dockerignore`, the Dockerfile's stages and `BuildKit` syntax, credentials lookup,
//! the result table) is kept apart from the Docker I/O (`docker`, `runner`, and the
//! commands) so it is unit-tested without a daemon.

pub mod build;
pub mod credentials;
pub mod docker;
pub mod dockerfile;
pub mod dockerignore;
pub mod expect;
pub mod image;
pub mod image_test;
pub mod init;
pub mod local_run;
pub mod project;
pub mod push;
pub mod report;
pub mod run_now;
pub mod runner;
pub mod spec;
#[cfg(unix)]
pub mod ssh;
