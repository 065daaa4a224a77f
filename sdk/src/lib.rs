//! The kuul SDK: build, test and push Kuul images with Docker.
//!
//! A Kuul image is the container a Kuul job runs. Teams build and test it locally before
//! it ever reaches the cluster, so this crate talks to the local Docker daemon, not to
//! Kubernetes. It uses kuul-core for printing, errors and exit codes, so
//! `kubectl kuul image` behaves like every other kuul command.

pub mod docker;
pub mod image;
