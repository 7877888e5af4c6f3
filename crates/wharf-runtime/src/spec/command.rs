//! What the container runs and where: `process.args` from the image's
//! `Entrypoint`/`Cmd` and `run`'s overrides (moby's `merge` and
//! `mergeAndVerifyConfig`), `--init`, the working directory, the hostname.

use std::path::Path;

use super::options::{NetworkMode, RunOptions};
use super::user::scoped_path;
use super::SpecError;

/// Where `--init`'s binary is mounted, and what runs first.
pub const INIT_PATH: &str = "/sbin/docker-init";

/// Docker's rules:
/// - `run`'s command replaces the image's `Cmd`;
/// - `--entrypoint` replaces the image's `Entrypoint` and drops its `Cmd`
///   (only `run`'s command follows it); `--entrypoint ""` clears it;
/// - nothing at all is `no command specified`.
pub fn command(
    image: &wharf_oci::ContainerConfig,
    opts: &RunOptions,
) -> Result<Vec<String>, SpecError> {
    let run_cmd = opts.cmd.clone().filter(|c| !c.is_empty());
    let (entrypoint, cmd) = match &opts.entrypoint {
        // moby: a non-empty user entrypoint keeps only the user's command.
        Some(ep) if !ep.is_empty() => (ep.clone(), run_cmd.unwrap_or_default()),
        // `--entrypoint ""`: the CLI sends [""], also non-empty for moby.
        Some(_) => (Vec::new(), run_cmd.unwrap_or_default()),
        None => (
            image.entrypoint.clone().unwrap_or_default(),
            run_cmd.or_else(|| image.cmd.clone()).unwrap_or_default(),
        ),
    };
    // moby resets an entrypoint of [""].
    let entrypoint = if entrypoint.len() == 1 && entrypoint[0].is_empty() {
        Vec::new()
    } else {
        entrypoint
    };
    if entrypoint.is_empty() && cmd.is_empty() {
        return Err(SpecError::NoCommand);
    }
    Ok(entrypoint.into_iter().chain(cmd).collect())
}

/// `["/sbin/docker-init", "--", args...]`.
pub fn with_init(args: Vec<String>) -> Vec<String> {
    [INIT_PATH.to_string(), "--".to_string()]
        .into_iter()
        .chain(args)
        .collect()
}

/// `-w`, else the image's `WorkingDir`, else `/`; must be absolute.
pub fn working_dir(
    image: &wharf_oci::ContainerConfig,
    opts: &RunOptions,
) -> Result<String, SpecError> {
    let dir = opts
        .workdir
        .clone()
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| image.working_dir.clone());
    if dir.is_empty() {
        return Ok("/".into());
    }
    if !Path::new(&dir).is_absolute() {
        return Err(SpecError::invalid(format!(
            "the working directory '{dir}' is invalid, it needs to be an absolute path"
        )));
    }
    Ok(dir)
}

/// Create the working directory inside the rootfs if it is missing (root
/// owned, 0755), as Docker does before every start: the runtime fails on a
/// cwd that does not exist. Symlinks resolve inside the rootfs.
pub fn ensure_working_dir(rootfs: &Path, workdir: &str) -> Result<(), SpecError> {
    use std::os::unix::fs::DirBuilderExt;
    let path = scoped_path(rootfs, Path::new(workdir));
    match std::fs::metadata(&path) {
        Ok(m) if m.is_dir() => return Ok(()),
        Ok(_) => {
            return Err(SpecError::invalid(format!(
                "Cannot mkdir: {workdir} is not a directory"
            )))
        }
        Err(_) => {}
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(&path)
        .map_err(|source| SpecError::Io { path, source })
}

/// Linux's HOST_NAME_MAX.
const MAX_HOSTNAME: usize = 64;

/// The default hostname: the first 12 characters of the ID, or the host's
/// own name when sharing its network namespace.
pub fn default_hostname(id: &str, network: &NetworkMode, host_name: &str) -> String {
    match network {
        NetworkMode::Host if !host_name.is_empty() => host_name.to_string(),
        _ => id.chars().take(12).collect(),
    }
}

pub(crate) fn check_hostname(name: &str) -> Result<(), SpecError> {
    if name.len() > MAX_HOSTNAME {
        return Err(SpecError::invalid(format!(
            "hostname {name:?} is too long (maximum {MAX_HOSTNAME} bytes)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn image(entrypoint: Option<&[&str]>, cmd: Option<&[&str]>) -> wharf_oci::ContainerConfig {
        wharf_oci::ContainerConfig {
            entrypoint: entrypoint.map(v),
            cmd: cmd.map(v),
            ..Default::default()
        }
    }

    fn run(entrypoint: Option<&[&str]>, cmd: Option<&[&str]>) -> RunOptions {
        RunOptions {
            entrypoint: entrypoint.map(v),
            cmd: cmd.map(v),
            ..Default::default()
        }
    }

    /// image, run options, the expected args (`Err` = no command).
    type Case<'a> = (
        &'a wharf_oci::ContainerConfig,
        RunOptions,
        Result<Vec<String>, ()>,
    );

    #[test]
    fn override_matrix() {
        let busybox = image(None, Some(&["sh"]));
        let nginx = image(
            Some(&["/docker-entrypoint.sh"]),
            Some(&["nginx", "-g", "daemon off;"]),
        );
        let empty = image(None, None);
        let cases: Vec<Case> = vec![
            (&busybox, run(None, None), Ok(v(&["sh"]))),
            (
                &busybox,
                run(None, Some(&["sh", "-c", "exit 3"])),
                Ok(v(&["sh", "-c", "exit 3"])),
            ),
            // --entrypoint drops the image's Cmd ...
            (&busybox, run(Some(&["echo"]), None), Ok(v(&["echo"]))),
            // ... unless run gives one.
            (
                &busybox,
                run(Some(&["echo"]), Some(&["hi"])),
                Ok(v(&["echo", "hi"])),
            ),
            (
                &nginx,
                run(None, None),
                Ok(v(&["/docker-entrypoint.sh", "nginx", "-g", "daemon off;"])),
            ),
            (
                &nginx,
                run(None, Some(&["nginx", "-v"])),
                Ok(v(&["/docker-entrypoint.sh", "nginx", "-v"])),
            ),
            (&nginx, run(Some(&["/bin/sh"]), None), Ok(v(&["/bin/sh"]))),
            // --entrypoint "" clears the entrypoint and the image's Cmd.
            (
                &nginx,
                run(Some(&[]), Some(&["ls", "/"])),
                Ok(v(&["ls", "/"])),
            ),
            (&nginx, run(Some(&[""]), Some(&["ls"])), Ok(v(&["ls"]))),
            (&nginx, run(Some(&[""]), None), Err(())),
            (&busybox, run(Some(&[]), None), Err(())),
            (&empty, run(None, None), Err(())),
            (&empty, run(None, Some(&[])), Err(())),
        ];
        for (i, (image, opts, want)) in cases.into_iter().enumerate() {
            let got = command(image, &opts).map_err(|e| {
                assert_eq!(e.to_string(), "no command specified");
                assert_eq!(e.kind(), wharf_oci::ErrorKind::InvalidArgument);
            });
            assert_eq!(got, want, "case {i}");
        }
    }

    #[test]
    fn init_goes_first() {
        assert_eq!(
            with_init(v(&["sh", "-c", "exit 3"])),
            v(&["/sbin/docker-init", "--", "sh", "-c", "exit 3"])
        );
    }

    #[test]
    fn working_dirs() {
        let mut img = image(None, Some(&["sh"]));
        assert_eq!(working_dir(&img, &RunOptions::default()).unwrap(), "/");
        img.working_dir = "/app".into();
        assert_eq!(working_dir(&img, &RunOptions::default()).unwrap(), "/app");
        let opts = RunOptions {
            workdir: Some("/srv".into()),
            ..Default::default()
        };
        assert_eq!(working_dir(&img, &opts).unwrap(), "/srv");
        let opts = RunOptions {
            workdir: Some("srv".into()),
            ..Default::default()
        };
        assert_eq!(
            working_dir(&img, &opts).unwrap_err().to_string(),
            "the working directory 'srv' is invalid, it needs to be an absolute path"
        );
    }

    #[test]
    fn working_dir_is_created_inside_the_rootfs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("srv")).unwrap();
        std::os::unix::fs::symlink("/srv", root.join("app")).unwrap();
        ensure_working_dir(root, "/app/data/cache").unwrap();
        assert!(root.join("srv/data/cache").is_dir());
        ensure_working_dir(root, "/app/data/cache").unwrap();
        std::fs::write(root.join("file"), "").unwrap();
        assert_eq!(
            ensure_working_dir(root, "/file").unwrap_err().to_string(),
            "Cannot mkdir: /file is not a directory"
        );
    }

    #[test]
    fn hostnames() {
        let id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(
            default_hostname(id, &NetworkMode::None, "box"),
            "0123456789ab"
        );
        assert_eq!(default_hostname(id, &NetworkMode::Host, "box"), "box");
        assert!(check_hostname(&"a".repeat(64)).is_ok());
        assert!(check_hostname(&"a".repeat(65)).is_err());
    }
}
