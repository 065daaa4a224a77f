//! `kubectl-kuul-run_now`: `kubectl kuul run-now` as its own kubectl plugin, for people who
//! install only the commands they use. All behaviour lives in kuul-core, except `--local`
//! (Docker), which kuul-sdk adds on top.

fn main() -> std::process::ExitCode {
    kuul_core::run::plugin::<kuul_sdk::run_now::RunNowCommand>()
}
