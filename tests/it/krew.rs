//! The krew install, for real and offline: release/dist packs the built binaries into the
//! krew archive (and the full one for manual installs) and fills the krew manifest for it, krew's own validator accepts the
//! manifest, krew (built from the Go module proxy by tests/krew/build, found through
//! `KUUL_TEST_KREW`) installs the archive into a fresh `KREW_ROOT`, and the real kubectl
//! then runs the plugin with only krew's bin folder on PATH.
//!
//! The archive is built from the debug binaries that the integration run already has
//! (a release build takes minutes); `make dist` runs the same script on release ones.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kuul_tests::{assert_exit, bin, harness_env, kubeconfig, kubectl, path_with};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_path_buf()
}

/// The folder with kubectl-krew and validate-krew-manifest, from `KUUL_TEST_KREW`
/// (the last line of tests/krew/build).
fn krew_tools() -> PathBuf {
    PathBuf::from(harness_env("KUUL_TEST_KREW"))
}

fn run(command: &mut Command, what: &str) -> String {
    let output: Output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_exit(&output, 0, what)
}

/// The five platforms of the krew manifest, as krew names them.
const PLATFORMS: [(&str, &str); 5] = [
    ("linux", "amd64"),
    ("linux", "arm64"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
    ("windows", "amd64"),
];

/// This host's platform as release/dist names it by default.
fn host_platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    format!("{}-{arch}", std::env::consts::OS)
}

fn sha256(path: &Path) -> String {
    let sum = run(Command::new("sha256sum").arg(path), "sha256sum");
    sum.split_whitespace().next().unwrap().to_owned()
}

fn tar_listing(archive: &Path) -> Vec<String> {
    let listing = run(Command::new("tar").arg("tzf").arg(archive), "tar tzf");
    let mut files: Vec<String> = listing.lines().map(str::to_owned).collect();
    files.sort_unstable();
    files
}

/// One placeholder archive per platform, each with its own content (so its own sha256),
/// named as the release names them.
fn placeholder_archives(version: &str) -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let archives = PLATFORMS
        .iter()
        .map(|(os, arch)| {
            let path = dir
                .path()
                .join(format!("kuul-v{version}-{os}-{arch}.tar.gz"));
            std::fs::write(&path, format!("placeholder for {os}/{arch}\n")).expect("write");
            path
        })
        .collect();
    (dir, archives)
}

fn validate(manifest: &Path) {
    run(
        Command::new(krew_tools().join("validate-krew-manifest"))
            .arg("-manifest")
            .arg(manifest)
            .arg("-skip-install"),
        &format!("validate-krew-manifest {}", manifest.display()),
    );
}

/// A bin folder with the umbrella, one thin plugin and the completer: what the test
/// needs, without packing every debug binary (hundreds of MB each).
fn some_binaries() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in [
        "kubectl-kuul",
        "kubectl-kuul-run_now",
        "kubectl_complete-kuul",
    ] {
        symlink(bin(name), dir.path().join(name)).expect("link a binary");
    }
    dir
}

#[test]
fn krew_installs_the_release_archive_and_kubectl_runs_the_plugin() {
    let binaries = some_binaries();
    let out = tempfile::tempdir().expect("temp dir");
    let stdout = run(
        Command::new(repo().join("release/dist"))
            .arg(binaries.path())
            .arg(out.path()),
        "release/dist",
    );
    let printed: Vec<PathBuf> = stdout.lines().map(PathBuf::from).collect();
    let version = env!("CARGO_PKG_VERSION");
    let platform = host_platform();
    let names: Vec<&str> = printed
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            format!("kuul-v{version}-{platform}.tar.gz"),
            format!("kuul-full-v{version}-{platform}.tar.gz")
        ]
    );
    let (archive, full) = (printed[0].clone(), printed[1].clone());

    // The krew archive holds what krew installs, and the completer; the full one every
    // binary, a completer copy per thin plugin, LICENSE and README.
    assert_eq!(
        tar_listing(&archive),
        [
            "LICENSE",
            "README.md",
            "kubectl-kuul",
            "kubectl_complete-kuul"
        ]
    );
    assert_eq!(
        tar_listing(&full),
        [
            "LICENSE",
            "README.md",
            "kubectl-kuul",
            "kubectl-kuul-run_now",
            "kubectl_complete-kuul",
            "kubectl_complete-kuul-run_now",
        ]
    );

    // The .sha256 files and the manifest carry the archives' own checksums; the manifest
    // points at the krew archive, and lists only the platform it was built for.
    for path in [&archive, &full] {
        let sha_file = std::fs::read_to_string(format!("{}.sha256", path.display()))
            .expect("the .sha256 file");
        assert_eq!(
            sha_file.split_whitespace().next(),
            Some(sha256(path).as_str())
        );
    }
    let sum = sha256(&archive);
    let manifest = out.path().join("kuul.yaml");
    let filled = std::fs::read_to_string(&manifest).expect("the filled manifest");
    assert!(filled.contains(&format!("sha256: {sum}\n")), "{filled}");
    assert_eq!(filled.matches("- selector:").count(), 1, "{filled}");
    assert!(
        filled.contains(&format!("/kuul-v{version}-{platform}.tar.gz\n")),
        "{filled}"
    );
    assert!(
        filled.contains(&format!("version: v{version}\n")),
        "{filled}"
    );
    validate(&manifest);

    // krew installs it offline into a fresh root.
    let krew_root = tempfile::tempdir().expect("KREW_ROOT");
    let path = path_with(&krew_tools());
    let installed = Command::new(kubectl())
        .args(["krew", "install"])
        .arg(format!("--manifest={}", manifest.display()))
        .arg(format!("--archive={}", archive.display()))
        .env("KREW_ROOT", krew_root.path())
        .env("PATH", &path)
        .output()
        .expect("kubectl krew install");
    assert_exit(&installed, 0, "kubectl krew install --manifest --archive");
    let linked = krew_root.path().join("bin/kubectl-kuul");
    assert!(linked.exists(), "krew links {}", linked.display());
    assert!(
        !krew_root.path().join("bin/kubectl-kuul-run_now").exists(),
        "krew links the umbrella only"
    );

    // The real kubectl runs it with only krew's bin folder on PATH.
    let kuul = |args: &[&str]| {
        Command::new(kubectl())
            .arg("kuul")
            .args(args)
            .env("PATH", krew_root.path().join("bin"))
            .env("KUBECONFIG", kubeconfig())
            .output()
            .expect("kubectl kuul")
    };
    let version_out = kuul(&["version"]);
    let text_out = assert_exit(&version_out, 0, "kubectl kuul version after krew install");
    assert!(
        text_out.starts_with(&format!("Client Version: v{version}\nServer Version: v1.")),
        "{text_out}"
    );
    let help = kuul(&["run-now", "--help"]);
    let help = assert_exit(&help, 0, "kubectl kuul run-now --help after krew install");
    assert!(help.contains("Usage: kubectl kuul run-now"), "{help}");
    let long = kuul(&["--version"]);
    let long = assert_exit(&long, 0, "kubectl kuul --version");
    assert!(
        long.starts_with(&format!("kubectl-kuul {version} (commit ")),
        "{long}"
    );

    // krew cannot install the completer; `completion install` writes it next to the
    // plugin, and kubectl's plugin completion then works with krew's folder alone.
    let installed = kuul(&["completion", "install"]);
    assert_exit(
        &installed,
        0,
        "kubectl kuul completion install after krew install",
    );
    assert!(krew_root.path().join("bin/kubectl_complete-kuul").is_file());
    let completed = Command::new(kubectl())
        .args(["__complete", "kuul", "run-"])
        .env("PATH", krew_root.path().join("bin"))
        .env("KUBECONFIG", kubeconfig())
        .output()
        .expect("kubectl __complete");
    let completed = assert_exit(&completed, 0, "kubectl __complete kuul run-");
    assert!(completed.starts_with("run-now\t"), "{completed}");
    assert!(completed.ends_with("\n:4\n"), "{completed}");

    // krew recorded the install, so `kubectl krew upgrade` and `uninstall` know it.
    let receipt = krew_root.path().join("receipts/kuul.yaml");
    let receipt = std::fs::read_to_string(&receipt).expect("krew's receipt for kuul");
    assert!(
        receipt.contains(&format!("version: v{version}")),
        "{receipt}"
    );
}

/// The template filled for all five platforms, from placeholder archives: each platform
/// gets its own archive's uri and sha256, Windows runs kubectl-kuul.exe, and krew's own
/// validator accepts the manifest.
#[test]
fn manifest_for_all_five_platforms_passes_krews_validator() {
    let version = env!("CARGO_PKG_VERSION");
    let (_dir, archives) = placeholder_archives(version);
    let out = tempfile::tempdir().expect("temp dir");
    let filled = run(
        Command::new(repo().join("release/fill-manifest"))
            .arg(format!("v{version}"))
            .args(&archives),
        "release/fill-manifest with five archives",
    );
    let platforms: Vec<&str> = filled.split("    - selector:\n").skip(1).collect();
    assert_eq!(platforms.len(), 5, "{filled}");
    for (((os, arch), archive), block) in PLATFORMS.iter().zip(&archives).zip(&platforms) {
        assert!(
            block.contains(&format!("os: {os}\n")) && block.contains(&format!("arch: {arch}\n")),
            "{block}"
        );
        let uri = format!(
            "uri: https://github.com/kuul-periodics/kuul/releases/download/v{version}/kuul-v{version}-{os}-{arch}.tar.gz\n"
        );
        assert!(block.contains(&uri), "{block}");
        assert!(
            block.contains(&format!("sha256: {}\n", sha256(archive))),
            "{block}"
        );
        let exe = if *os == "windows" { ".exe" } else { "" };
        assert!(
            block.contains(&format!("bin: kubectl-kuul{exe}\n")),
            "{block}"
        );
        assert!(
            block.contains(&format!("- from: kubectl-kuul{exe}\n")),
            "{block}"
        );
    }
    let manifest = out.path().join("kuul.yaml");
    std::fs::write(&manifest, &filled).expect("write kuul.yaml");
    validate(&manifest);

    // An archive no platform names is an error, not a silent skip.
    let stray = out.path().join("kuul-v0-plan9-amd64.tar.gz");
    std::fs::write(&stray, "x").expect("write");
    let output = Command::new(repo().join("release/fill-manifest"))
        .arg(format!("v{version}"))
        .arg(&archives[0])
        .arg(&stray)
        .output()
        .expect("release/fill-manifest");
    assert_exit(&output, 1, "release/fill-manifest with a stray archive");
}

/// The manifest in krew-manifests/ is the template filled for this version (all five
/// platforms), and keeps the krew index's rules.
#[test]
fn committed_manifest_is_the_template_filled_and_follows_the_index_rules() {
    let dir = repo().join("krew-manifests");
    let committed_path = dir.join("kuul.yaml");
    let committed = std::fs::read_to_string(&committed_path).expect("krew-manifests/kuul.yaml");
    validate(&committed_path);

    // Filling the template with any archives gives the committed text up to the sha256s.
    let (_dir, archives) = placeholder_archives(env!("CARGO_PKG_VERSION"));
    let filled = run(
        Command::new(repo().join("release/fill-manifest"))
            .arg(format!("v{}", env!("CARGO_PKG_VERSION")))
            .args(&archives),
        "release/fill-manifest",
    );
    let without_sha = |text: &str| {
        text.lines()
            .filter(|line| !line.trim_start().starts_with("sha256:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(without_sha(&committed), without_sha(&filled));

    let name = committed
        .lines()
        .find_map(|l| l.strip_prefix("  name: "))
        .expect("metadata.name");
    assert_eq!(format!("{name}.yaml"), "kuul.yaml", "name is the file name");
    let short = committed
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("shortDescription: "))
        .expect("shortDescription");
    assert!(short.len() <= 50, "shortDescription {short:?} is over 50");
    for line in committed.lines() {
        assert!(
            line.len() <= 80 || line.contains("uri: "),
            "over 80 columns: {line}"
        );
    }
    let shas: Vec<&str> = committed
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("sha256: "))
        .collect();
    assert_eq!(shas.len(), 5, "one sha256 per platform");
    for sha in shas {
        assert_eq!(sha.len(), 64);
        assert!(
            sha.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        );
    }
    assert!(committed.contains("- from: LICENSE\n"), "LICENSE ships");
    assert!(repo().join("LICENSE").is_file());
}
