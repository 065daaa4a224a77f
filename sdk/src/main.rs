//! `kubectl-kuul-image`: `kubectl kuul image` as its own kubectl plugin, for people who
//! build Kuul images but install nothing else. All behaviour lives in kuul-sdk.

fn main() -> std::process::ExitCode {
    kuul_core::run::plugin::<kuul_sdk::image::ImageArgs>()
}
