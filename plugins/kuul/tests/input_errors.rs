//! Every kind of bad input, as the user reads it: the exit status and the one or two
//! lines naming the field, the value and what is allowed. Each case fails before any
//! cluster is asked (KUBECONFIG points nowhere), so no cluster is needed.

use std::fmt::Write as _;
use std::process::Command;

/// Command lines after `kubectl kuul`, each with a bad value or a bad combination.
const CASES: &[&[&str]] = &[
    &["new", "Backup", "--image", "x", "--schedule", "@daily"],
    &["new", "backup", "--image", "x", "--schedule", "61 * * * *"],
    &[
        "new",
        "backup",
        "--image",
        "x",
        "--schedule",
        "@daily",
        "--tz",
        "Mars/Base",
    ],
    &[
        "new",
        "backup",
        "--image",
        "x",
        "--schedule",
        "@daily",
        "--cpu",
        "lots",
    ],
    &[
        "new",
        "backup",
        "--image",
        "x",
        "--schedule",
        "@daily",
        "--memory",
        "0",
    ],
    &[
        "new",
        "backup",
        "--image",
        "Not An Image",
        "--schedule",
        "@daily",
    ],
    &[
        "new",
        "backup",
        "--image",
        "x",
        "--schedule",
        "@daily",
        "--pool",
        "bad pool",
    ],
    &["new", "backup", "--schedule", "@daily"],
    &["run-now"],
    &["run-now", "backup", "--timeout", "5q"],
    &["suspend"],
    &["suspend", "backup", "--all"],
    &["resume", "backup", "-l", "team=ops"],
    &["prune", "--older-than", "3x"],
    &["status", "-o", "xml"],
    &["status", "--pool", "bad pool"],
    &["history"],
    &["logs", "backup", "--run", "0"],
    &["apply"],
    &["diff", "-f", "/nonexistent/jobs.yaml"],
    &["rbac", "nobody"],
    &["label-nodes", "Prod!", "node-1"],
    &["image", "init", "Bad_Name"],
];

#[test]
fn every_input_error_as_reported() {
    let home = tempfile::tempdir().unwrap();
    let mut report = String::new();
    for args in CASES {
        let output = Command::new(env!("CARGO_BIN_EXE_kubectl-kuul"))
            .args(*args)
            .env("KUBECONFIG", home.path().join("no-kubeconfig"))
            .env("HOME", home.path())
            .env_remove("KUUL_CONFIG")
            .env("NO_COLOR", "1")
            .current_dir(home.path())
            .output()
            .unwrap();
        assert!(output.stdout.is_empty(), "{args:?} wrote to stdout");
        let code = output.status.code().unwrap();
        assert_eq!(code, 2, "{args:?} is bad input: exit 2");
        let _ = writeln!(
            report,
            "$ kubectl kuul {}\n[exit {code}]\n{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    insta::assert_snapshot!(report);
}
