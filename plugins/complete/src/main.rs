//! `kubectl_complete-kuul`: what kubectl (1.26+) runs to complete `kubectl kuul ...`.
//!
//! kubectl hands over the words typed after `kuul`; the umbrella plugin knows the
//! commands and the cluster, so this binary only asks it: `kubectl-kuul __complete
//! WORDS...`, preferring the kubectl-kuul beside itself (same release) over PATH.
//! When a thin plugin such as kubectl-kuul-run_now is on PATH, kubectl runs
//! `kubectl_complete-kuul-run_now` with the words after `run-now` instead; installed
//! under that name (a link to this binary), it puts the subcommand back in front.
//! When the umbrella cannot be run, the answer is "no candidates, no file names" (`:4`).

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, ExitCode};

/// The subcommand words that this binary's own name stands for:
/// `kubectl_complete-kuul-run_now` → `run-now`.
fn subcommand_words(invoked_as: &Path) -> Vec<OsString> {
    invoked_as
        .file_name()
        .and_then(|name| name.to_str())
        .map(|name| name.trim_end_matches(std::env::consts::EXE_SUFFIX))
        .and_then(|name| name.strip_prefix("kubectl_complete-kuul-"))
        .map(|rest| {
            rest.split('-')
                .map(|word| word.replace('_', "-").into())
                .collect()
        })
        .unwrap_or_default()
}

fn main() -> ExitCode {
    let mut args = std::env::args_os();
    let invoked_as = args.next().unwrap_or_default();
    let name = format!("kubectl-kuul{}", std::env::consts::EXE_SUFFIX);
    let umbrella = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join(&name)))
        .filter(|path| path.is_file())
        .map_or_else(|| name.clone().into(), std::path::PathBuf::into_os_string);
    let status = Command::new(umbrella)
        .arg("__complete")
        .args(subcommand_words(Path::new(&invoked_as)))
        .args(args)
        .status();
    let Ok(status) = status else {
        println!(":4");
        return ExitCode::SUCCESS;
    };
    ExitCode::from(
        status
            .code()
            .and_then(|code| u8::try_from(code).ok())
            .unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thin_plugin_names_become_subcommands() {
        let words = |name: &str| subcommand_words(Path::new(name));
        assert!(words("/usr/bin/kubectl_complete-kuul").is_empty());
        assert_eq!(words("/bin/kubectl_complete-kuul-run_now"), ["run-now"]);
        assert_eq!(words("kubectl_complete-kuul-label_nodes"), ["label-nodes"]);
        assert!(words("something-else").is_empty());
    }
}
