//! Everything the kuul kubectl plugins share: connection flags and client setup, output,
//! errors and exit codes, the `main` of every binary, and one module per command.
//!
//! Each `kubectl-kuul-*` binary is a few lines that hand one [`commands::KuulCommand`]
//! to [`run::plugin`]; the umbrella `kubectl-kuul` wires all of them. Keeping the
//! substance here means a command behaves the same whichever binary kubectl finds.

pub mod archive;
pub mod blocked;
pub mod bulk;
pub mod change;
pub mod cli;
pub mod client;
pub mod clusters;
pub mod commands;
pub mod config;
pub mod error;
pub mod health;
pub mod history;
pub mod job_runs;
pub mod job_set;
pub mod kubeconfig;
pub mod kuul_job;
pub mod maintenance;
pub mod pools;
pub mod printer;
pub mod pruning;
pub mod quantity;
pub mod rbac;
pub mod retry;
pub mod run;
pub mod runs;
pub mod schedule;
pub mod selector;
pub mod set_plan;
pub mod set_run;
pub mod standby;
pub mod table;
pub mod template;
pub mod time;
pub mod watch;
pub mod yaml;

pub use cli::{DryRun, DryRunArgs, KubeArgs, OutputArgs, OutputFormat};
pub use client::Cluster;
pub use commands::KuulCommand;
pub use error::{COMMIT, Endpoint, Error, ExitStatus, LONG_VERSION, Operation, VERSION};
pub use printer::Printer;
