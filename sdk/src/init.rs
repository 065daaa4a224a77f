//! `kubectl kuul image init`: start a Kuul image project from image-template/.
//!
//! The template's files are compiled into the binary, so an installed plugin scaffolds
//! the same project anywhere, with no checkout of kuul. The template is a working image
//! named `kuul-example` (`make test` builds and tests it); init writes it with that name
//! replaced by the new one. It never overwrites a non-empty directory unless told to.

use std::path::{Path, PathBuf};

use clap::Args;
use kuul_core::{Error, Printer};

use crate::project;

/// The name the template's files use for the image.
const TEMPLATE_NAME: &str = "kuul-example";

/// The template's files: path, contents, and whether it is executable.
const FILES: &[(&str, &str, bool)] = &[
    (
        "Dockerfile",
        include_str!("../../image-template/Dockerfile"),
        false,
    ),
    (
        "entrypoint.sh",
        include_str!("../../image-template/entrypoint.sh"),
        true,
    ),
    (
        "kuul-image.yaml",
        include_str!("../../image-template/kuul-image.yaml"),
        false,
    ),
    (
        ".dockerignore",
        include_str!("../../image-template/.dockerignore"),
        false,
    ),
    (
        "README.md",
        include_str!("../../image-template/README.md"),
        false,
    ),
];

/// Arguments of `kubectl kuul image init`.
#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// Name of the image (lower-case letters, digits, '.', '_', '-'), or a path whose last
    /// folder is the name (e.g. ~/src/backup-image); also the directory
    #[arg(value_name = "NAME|PATH")]
    pub name: String,

    /// Directory to create the project in (default: ./NAME, or PATH)
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Write into a directory that is not empty, replacing the template's files there
    #[arg(long)]
    pub force: bool,
}

impl InitArgs {
    pub fn run(self, printer: Printer) -> Result<(), Error> {
        let name = name_of(&self.name)?;
        check_name(name)?;
        let dir = self
            .dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(&self.name));
        if !self.force && !is_empty_or_missing(&dir)? {
            return Err(Error::InvalidInput {
                message: format!("{} exists and is not empty", dir.display()),
                hint: Some(
                    "choose another --dir, or pass --force to write the template's files into it"
                        .to_owned(),
                ),
            });
        }
        for (file, text) in scaffold(name) {
            let path = dir.join(file);
            write(&path, &text, is_executable(file))?;
        }
        printer.info(format_args!(
            "created Kuul image project {} in {}; next: cd {} && kubectl kuul image build",
            name,
            dir.display(),
            dir.display()
        ));
        Ok(())
    }
}

/// The image name in `init`'s argument: the argument itself, or the last folder of a
/// path (`/some/path/backup-image/` names `backup-image`), as `docker build` users pass
/// a folder.
fn name_of(arg: &str) -> Result<&str, Error> {
    if !arg.contains(['/', std::path::MAIN_SEPARATOR]) {
        return Ok(arg);
    }
    match Path::new(arg).components().next_back() {
        Some(std::path::Component::Normal(last)) => {
            last.to_str().ok_or_else(|| Error::InvalidInput {
                message: format!("invalid NAME|PATH {arg:?}: its last folder is not UTF-8"),
                hint: None,
            })
        }
        _ => Err(Error::InvalidInput {
            message: format!("invalid NAME|PATH {arg:?}: it does not end in a folder name"),
            hint: Some(
                "name the new project's folder, e.g. kubectl kuul image init ~/src/backup-image"
                    .to_owned(),
            ),
        }),
    }
}

/// The new image's NAME: an image name of one part, since it names the directory too.
fn check_name(name: &str) -> Result<(), Error> {
    let problem = if name.is_empty() {
        "is empty"
    } else if name.bytes().any(|b| b.is_ascii_uppercase()) {
        "has upper-case letters"
    } else if project::check_image_name(name).is_err() {
        "is not an image name"
    } else {
        return Ok(());
    };
    Err(Error::InvalidInput {
        message: format!("invalid NAME {name:?}: {problem}"),
        hint: Some(
            "lower-case letters, digits, '.', '_' and '-', starting and ending with a letter or digit, e.g. backup-image"
                .to_owned(),
        ),
    })
}

/// The template's files with the image name substituted. Pure.
pub fn scaffold(name: &str) -> Vec<(&'static str, String)> {
    FILES
        .iter()
        .map(|(path, text, _)| (*path, text.replace(TEMPLATE_NAME, name)))
        .collect()
}

fn is_executable(name: &str) -> bool {
    FILES.iter().any(|(path, _, exec)| *path == name && *exec)
}

fn is_empty_or_missing(dir: &Path) -> Result<bool, Error> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(Error::Halted {
            message: format!(
                "cannot read {}: {}",
                dir.display(),
                kuul_core::error::io_cause(&e)
            ),
            hint: None,
        }),
    }
}

fn write(path: &Path, text: &str, executable: bool) -> Result<(), Error> {
    let failed = |e: std::io::Error| Error::Halted {
        message: format!(
            "cannot write {}: {}",
            path.display(),
            kuul_core::error::io_cause(&e)
        ),
        hint: None,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(failed)?;
    }
    std::fs::write(path, text).map_err(failed)?;
    #[cfg(unix)]
    if executable {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(failed)?;
    }
    // Windows has no executable bit: Docker's build sets the mode in the image.
    #[cfg(not(unix))]
    let _ = executable;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::Project;

    #[test]
    fn the_scaffold_names_the_image_and_its_yaml_is_valid() {
        let files = scaffold("backup-image");
        assert_eq!(files.len(), 5);
        for (path, text) in &files {
            assert!(
                !text.contains(TEMPLATE_NAME),
                "{path} still names the template"
            );
        }
        let yaml = &files
            .iter()
            .find(|(p, _)| *p == "kuul-image.yaml")
            .unwrap()
            .1;
        let project = Project::parse(yaml, Path::new("kuul-image.yaml")).unwrap();
        assert_eq!(project.name.0, "backup-image");
        assert!(project.tests.len() >= 3);
        let dockerfile = &files.iter().find(|(p, _)| *p == "Dockerfile").unwrap().1;
        assert!(dockerfile.contains("ARG BASE_IMAGE="));
        assert!(dockerfile.contains("/opt/backup-image/entrypoint.sh"));
    }

    #[test]
    fn a_path_names_the_image_by_its_last_folder() {
        assert_eq!(name_of("backup-image").unwrap(), "backup-image");
        assert_eq!(name_of("/some/path/backup-image").unwrap(), "backup-image");
        assert_eq!(name_of("./backup-image/").unwrap(), "backup-image");
        assert_eq!(name_of("../x/y.z").unwrap(), "y.z");
        for bad in ["/", "./", "a/..", "../"] {
            assert!(name_of(bad).is_err(), "{bad}");
        }
        // The last folder is still checked as a name.
        assert!(check_name(name_of("/tmp/Backup").unwrap()).is_err());
    }

    #[test]
    fn init_with_a_path_creates_the_project_there() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("backup-image");
        InitArgs {
            name: path.to_string_lossy().into_owned(),
            dir: None,
            force: false,
        }
        .run(Printer::new())
        .unwrap();
        let yaml = std::fs::read_to_string(path.join("kuul-image.yaml")).unwrap();
        assert!(yaml.contains("name: backup-image"), "{yaml}");
    }

    #[test]
    fn init_refuses_a_non_empty_directory_without_force() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("keep.txt"), "mine").unwrap();
        let args = |force| InitArgs {
            name: "x".to_owned(),
            dir: Some(dir.path().to_path_buf()),
            force,
        };
        let error = args(false).run(Printer::new()).unwrap_err();
        assert!(
            error.to_string().ends_with("exists and is not empty"),
            "{error}"
        );
        assert!(!dir.path().join("Dockerfile").exists());
        args(true).run(Printer::new()).unwrap();
        assert!(dir.path().join("Dockerfile").exists());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("keep.txt")).unwrap(),
            "mine"
        );
    }
}
