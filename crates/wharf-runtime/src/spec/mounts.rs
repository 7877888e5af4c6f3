//! `mounts`, in Docker's order:
//!
//! 1. Docker's default set (/proc, /dev, /dev/pts, /sys, /sys/fs/cgroup,
//!    /dev/mqueue, /dev/shm sized by `--shm-size`), minus those a user
//!    mount replaces (a user /dev replaces everything under /dev too);
//! 2. `--init`'s binary at /sbin/docker-init (read-only);
//! 3. /etc/resolv.conf, /etc/hostname, /etc/hosts, a shareable /dev/shm and
//!    the user's mounts, stably sorted by depth so a parent is mounted
//!    before what goes inside it.
//!
//! Then `--read-only` makes every mount but the kernel/tmpfs ones and the
//! user's read-only, and `--privileged` makes /sys (and the cgroup mount)
//! writable.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{Mount, MountBuilder};

use super::command::INIT_PATH;
use super::options::{ContainerPaths, MountKind, SpecMount};
use super::SpecError;

/// Docker's default `--shm-size`: 64 MiB.
pub const DEFAULT_SHM_SIZE: i64 = 64 * 1024 * 1024;

const PROPAGATIONS: [&str; 6] = [
    "private", "rprivate", "shared", "rshared", "slave", "rslave",
];

/// What decides the mount list.
pub(crate) struct MountPlan<'a> {
    pub paths: &'a ContainerPaths,
    pub user: &'a [SpecMount],
    pub shm_size: Option<i64>,
    pub init_binary: Option<&'a Path>,
    pub read_only: bool,
    pub privileged: bool,
    pub writable_cgroups: bool,
    /// `--ipc none`: no /dev/shm at all.
    pub no_shm: bool,
    /// A build step's: no /etc/hostname.
    pub no_hostname_file: bool,
}

/// The mounts, and the rootfs propagation they need (`None` = default).
pub(crate) fn build_mounts(plan: &MountPlan) -> Result<(Vec<Mount>, Option<String>), SpecError> {
    let shm_size = match plan.shm_size.unwrap_or(0) {
        0 => DEFAULT_SHM_SIZE,
        s if s < 0 => return Err(SpecError::invalid("SHM size can not be less than 0")),
        s => s,
    };

    // Everything not in Docker's default set, before sorting.
    let mut extra: Vec<Extra> = Vec::new();
    for m in plan.user {
        if !m.destination.starts_with('/') {
            return Err(SpecError::invalid(format!(
                "invalid mount path: '{}' mount path must be absolute",
                m.destination
            )));
        }
        extra.push(Extra {
            destination: clean(&m.destination),
            kind: m.kind.clone(),
            user: true,
        });
    }
    let user_has = |dest: &str| extra.iter().any(|e| e.user && e.destination == dest);
    let mut system: Vec<Extra> = Vec::new();
    for (source, destination) in [
        (&plan.paths.resolv_conf, "/etc/resolv.conf"),
        (&plan.paths.hostname_file, "/etc/hostname"),
        (&plan.paths.hosts_file, "/etc/hosts"),
    ] {
        let unwanted = plan.no_hostname_file && destination == "/etc/hostname";
        if !user_has(destination) && !unwanted {
            system.push(Extra::bind(source, destination, plan.read_only));
        }
    }
    if let Some(shm) = &plan.paths.shm_dir {
        if !user_has("/dev/shm") {
            system.push(Extra::bind(shm, "/dev/shm", false));
        }
    }
    extra.splice(0..0, system);
    extra.sort_by_key(|e| depth(&e.destination));

    let taken = |dest: &str| extra.iter().any(|e| e.destination == dest);
    let dev_replaced = taken("/dev");
    let mut mounts: Vec<Mount> = Vec::new();
    for (destination, typ, source, options) in default_mounts(shm_size) {
        if taken(destination) || (dev_replaced && destination.starts_with("/dev/")) {
            continue;
        }
        if plan.no_shm && destination == "/dev/shm" {
            continue;
        }
        mounts.push(mount(destination, typ, source, &options)?);
    }
    if let Some(init) = plan.init_binary {
        if !taken(INIT_PATH) {
            mounts.push(mount(
                INIT_PATH,
                "bind",
                &init.display().to_string(),
                &["bind", "ro"],
            )?);
        }
    }

    let mut propagation: Option<String> = None;
    let mut user_destinations: Vec<String> = Vec::new();
    for e in &extra {
        // Docker counts its own network-file mounts as user mounts too.
        user_destinations.push(e.destination.clone());
        match &e.kind {
            MountKind::Tmpfs { options } => {
                let mut all: Vec<String> = ["noexec", "nosuid", "nodev", "rprivate"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
                all.extend(
                    options
                        .iter()
                        .flat_map(|o| o.split(','))
                        .map(str::to_string),
                );
                let merged = merge_tmpfs_options(&all)?;
                let merged: Vec<&str> = merged.iter().map(String::as_str).collect();
                mounts.push(mount(&e.destination, "tmpfs", "tmpfs", &merged)?);
            }
            MountKind::Bind {
                source,
                read_only,
                propagation: mode,
                recursive,
            } => {
                let mut options = vec![if *recursive { "rbind" } else { "bind" }];
                if *read_only {
                    options.push(if *recursive { "rro" } else { "ro" });
                }
                if let Some(mode) = mode.as_deref().filter(|m| !m.is_empty()) {
                    if !PROPAGATIONS.contains(&mode) {
                        return Err(SpecError::invalid(format!(
                            "invalid propagation mode: {mode}"
                        )));
                    }
                    options.push(mode);
                    match mode {
                        "shared" | "rshared" => propagation = Some("shared".into()),
                        "slave" | "rslave" if propagation.is_none() => {
                            propagation = Some("rslave".into())
                        }
                        _ => {}
                    }
                }
                mounts.push(mount(
                    &e.destination,
                    "bind",
                    &source.display().to_string(),
                    &options,
                )?);
            }
        }
    }

    if plan.read_only {
        for m in &mut mounts {
            let dest = m.destination().display().to_string();
            let exempt = ["/proc", "/dev/pts", "/dev/shm", "/dev/mqueue", "/dev"];
            if exempt.contains(&dest.as_str()) || user_destinations.contains(&dest) {
                continue;
            }
            let options = m.options_mut().get_or_insert_with(Vec::new);
            if !options.iter().any(|o| o == "ro") {
                options.push("ro".into());
            }
        }
    }
    if let (Some(view), false) = (&plan.paths.cgroup_view, plan.writable_cgroups) {
        for m in &mut mounts {
            if m.typ().as_deref() == Some("cgroup") {
                let mut options = m.options().clone().unwrap_or_default();
                options.insert(0, "rbind".into());
                *m = mount(
                    "/sys/fs/cgroup",
                    "bind",
                    &view.display().to_string(),
                    &options,
                )?;
            }
        }
    }
    for m in &mut mounts {
        let is_sys = m.destination() == Path::new("/sys");
        let is_cgroup = m.typ().as_deref() == Some("cgroup");
        if (plan.privileged && is_sys) || (plan.writable_cgroups && is_cgroup) {
            if let Some(options) = m.options_mut() {
                options.retain(|o| o != "ro");
            }
        }
    }
    Ok((mounts, propagation))
}

struct Extra {
    destination: String,
    kind: MountKind,
    user: bool,
}

impl Extra {
    /// One of Docker's own bind mounts (network files, shareable /dev/shm).
    fn bind(source: &Path, destination: &str, read_only: bool) -> Extra {
        Extra {
            destination: destination.into(),
            kind: MountKind::Bind {
                source: source.to_path_buf(),
                read_only,
                propagation: Some("rprivate".into()),
                recursive: true,
            },
            user: false,
        }
    }
}

/// Docker's default mounts (moby `oci/defaults.go`), /dev/shm sized.
fn default_mounts(shm_size: i64) -> Vec<(&'static str, &'static str, &'static str, Vec<String>)> {
    let opts = |o: &[&str]| o.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut shm = opts(&["nosuid", "noexec", "nodev", "mode=1777"]);
    shm.push(format!("size={shm_size}"));
    vec![
        (
            "/proc",
            "proc",
            "proc",
            opts(&["nosuid", "noexec", "nodev"]),
        ),
        (
            "/dev",
            "tmpfs",
            "tmpfs",
            opts(&["nosuid", "strictatime", "mode=755", "size=65536k"]),
        ),
        (
            "/dev/pts",
            "devpts",
            "devpts",
            opts(&[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ]),
        ),
        (
            "/sys",
            "sysfs",
            "sysfs",
            opts(&["nosuid", "noexec", "nodev", "ro"]),
        ),
        (
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            opts(&["ro", "nosuid", "noexec", "nodev"]),
        ),
        (
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            opts(&["nosuid", "noexec", "nodev"]),
        ),
        ("/dev/shm", "tmpfs", "shm", shm),
    ]
}

fn mount<S: AsRef<str>>(
    destination: &str,
    typ: &str,
    source: &str,
    options: &[S],
) -> Result<Mount, SpecError> {
    Ok(MountBuilder::default()
        .destination(PathBuf::from(destination))
        .typ(typ)
        .source(PathBuf::from(source))
        .options(
            options
                .iter()
                .map(|o| o.as_ref().to_string())
                .collect::<Vec<_>>(),
        )
        .build()?)
}

/// Go's `filepath.Clean` for an absolute path.
fn clean(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

fn depth(path: &str) -> usize {
    path.split('/').filter(|p| !p.is_empty()).count()
}

/// Mount flags whose later occurrence overrides an earlier one (moby's
/// `MergeTmpfsOptions`): the key groups an option with its opposite; all
/// propagation/bind options share one key.
fn flag_key(option: &str) -> Option<&'static str> {
    Some(match option {
        "ro" | "rw" => "ro",
        "suid" | "nosuid" => "nosuid",
        "dev" | "nodev" => "nodev",
        "exec" | "noexec" => "noexec",
        "sync" | "async" => "sync",
        "dirsync" => "dirsync",
        "remount" => "remount",
        "mand" | "nomand" => "mand",
        "atime" | "noatime" => "noatime",
        "diratime" | "nodiratime" => "nodiratime",
        "relatime" | "norelatime" => "relatime",
        "strictatime" | "nostrictatime" => "strictatime",
        "bind" | "rbind" | "unbindable" | "runbindable" | "private" | "rprivate" | "shared"
        | "rshared" | "slave" | "rslave" => "propagation",
        _ => return None,
    })
}

const TMPFS_DATA: [&str; 7] = [
    "size",
    "mode",
    "uid",
    "gid",
    "nr_inodes",
    "nr_blocks",
    "mpol",
];

fn merge_tmpfs_options(options: &[String]) -> Result<Vec<String>, SpecError> {
    let mut seen: Vec<&str> = Vec::new();
    let mut merged: Vec<String> = Vec::new();
    for option in options.iter().rev() {
        let option = option.as_str();
        if option == "defaults" || option.is_empty() {
            continue;
        }
        let key = match flag_key(option) {
            Some(key) => key,
            None => {
                let key = option.split_once('=').map(|(k, _)| k);
                match key.filter(|k| TMPFS_DATA.contains(k)) {
                    Some(k) => k,
                    None => {
                        // Docker prints the option split at '=' as a Go %q slice.
                        let parts: Vec<String> =
                            option.splitn(2, '=').map(|p| format!("{p:?}")).collect();
                        return Err(SpecError::invalid(format!(
                            "invalid tmpfs option [{}]",
                            parts.join(" ")
                        )));
                    }
                }
            }
        };
        if !seen.contains(&key) {
            seen.push(key);
            merged.insert(0, option.to_string());
        }
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> ContainerPaths {
        ContainerPaths {
            rootfs: "/c/rootfs".into(),
            hostname_file: "/c/hostname".into(),
            hosts_file: "/c/hosts".into(),
            resolv_conf: "/c/resolv.conf".into(),
            shm_dir: None,
            cgroup_view: None,
        }
    }

    fn plan<'a>(paths: &'a ContainerPaths, user: &'a [SpecMount]) -> MountPlan<'a> {
        MountPlan {
            paths,
            user,
            shm_size: None,
            init_binary: None,
            read_only: false,
            privileged: false,
            writable_cgroups: false,
            no_shm: false,
            no_hostname_file: false,
        }
    }

    fn find<'m>(mounts: &'m [Mount], dest: &str) -> &'m Mount {
        mounts
            .iter()
            .find(|m| m.destination() == Path::new(dest))
            .unwrap_or_else(|| panic!("no mount at {dest}"))
    }

    fn options(m: &Mount) -> Vec<&str> {
        m.options().iter().flatten().map(String::as_str).collect()
    }

    fn destinations(mounts: &[Mount]) -> Vec<String> {
        mounts
            .iter()
            .map(|m| m.destination().display().to_string())
            .collect()
    }

    #[test]
    fn user_mounts_sorted_by_depth_after_defaults() {
        let p = paths();
        let user = vec![
            SpecMount::bind("/host/logs", "/data/logs", false),
            SpecMount::bind("/host/data", "/data", true),
            SpecMount::tmpfs("/run", &["size=64m"]),
        ];
        let (mounts, propagation) = build_mounts(&plan(&p, &user)).unwrap();
        assert_eq!(
            destinations(&mounts),
            [
                "/proc",
                "/dev",
                "/dev/pts",
                "/sys",
                "/sys/fs/cgroup",
                "/dev/mqueue",
                "/dev/shm",
                "/data",
                "/run",
                "/etc/resolv.conf",
                "/etc/hostname",
                "/etc/hosts",
                "/data/logs"
            ]
        );
        assert_eq!(propagation, None);
        assert_eq!(
            options(find(&mounts, "/data")),
            ["rbind", "rro", "rprivate"]
        );
        assert_eq!(options(find(&mounts, "/data/logs")), ["rbind", "rprivate"]);
        assert_eq!(
            options(find(&mounts, "/run")),
            ["noexec", "nosuid", "nodev", "rprivate", "size=64m"]
        );
    }

    #[test]
    fn user_mounts_replace_defaults() {
        let p = paths();
        let user = vec![
            SpecMount::tmpfs("/dev/shm", &["size=1g", "exec"]),
            SpecMount::bind("/host/hosts", "/etc/hosts", true),
        ];
        let (mounts, _) = build_mounts(&plan(&p, &user)).unwrap();
        let shm: Vec<_> = mounts
            .iter()
            .filter(|m| m.destination() == Path::new("/dev/shm"))
            .collect();
        assert_eq!(shm.len(), 1);
        assert_eq!(
            options(shm[0]),
            ["nosuid", "nodev", "rprivate", "size=1g", "exec"]
        );
        let hosts = find(&mounts, "/etc/hosts");
        assert_eq!(hosts.source().as_deref(), Some(Path::new("/host/hosts")));

        let user = vec![SpecMount::bind("/dev", "/dev", false)];
        let (mounts, _) = build_mounts(&plan(&p, &user)).unwrap();
        assert!(!destinations(&mounts).iter().any(|d| d.starts_with("/dev/")));
    }

    #[test]
    fn shm_size_and_shareable_shm() {
        let mut p = paths();
        let mut pl = plan(&p, &[]);
        pl.shm_size = Some(128 << 20);
        let (mounts, _) = build_mounts(&pl).unwrap();
        assert_eq!(
            options(find(&mounts, "/dev/shm")),
            ["nosuid", "noexec", "nodev", "mode=1777", "size=134217728"]
        );
        pl.shm_size = Some(-1);
        assert_eq!(
            build_mounts(&pl).unwrap_err().to_string(),
            "SHM size can not be less than 0"
        );

        p.shm_dir = Some("/c/shm".into());
        let (mounts, _) = build_mounts(&plan(&p, &[])).unwrap();
        let shm = find(&mounts, "/dev/shm");
        assert_eq!(shm.typ().as_deref(), Some("bind"));
        assert_eq!(options(shm), ["rbind", "rprivate"]);
    }

    #[test]
    fn read_only_and_privileged() {
        let p = paths();
        let user = vec![SpecMount::bind("/host/data", "/data", false)];
        let mut pl = plan(&p, &user);
        pl.read_only = true;
        let (mounts, _) = build_mounts(&pl).unwrap();
        assert_eq!(
            options(find(&mounts, "/etc/hosts")),
            ["rbind", "rro", "rprivate"]
        );
        assert_eq!(options(find(&mounts, "/data")), ["rbind", "rprivate"]);
        assert!(!options(find(&mounts, "/dev/shm")).contains(&"ro"));

        pl.privileged = true;
        pl.writable_cgroups = true;
        let (mounts, _) = build_mounts(&pl).unwrap();
        assert_eq!(
            options(find(&mounts, "/sys")),
            ["nosuid", "noexec", "nodev"]
        );
        assert_eq!(
            options(find(&mounts, "/sys/fs/cgroup")),
            ["nosuid", "noexec", "nodev"]
        );
    }

    #[test]
    fn init_binary_is_mounted_read_only() {
        let p = paths();
        let mut pl = plan(&p, &[]);
        pl.init_binary = Some(Path::new("/usr/bin/docker-init"));
        let (mounts, _) = build_mounts(&pl).unwrap();
        let init = find(&mounts, "/sbin/docker-init");
        assert_eq!(
            init.source().as_deref(),
            Some(Path::new("/usr/bin/docker-init"))
        );
        assert_eq!(options(init), ["bind", "ro"]);
        assert_eq!(destinations(&mounts)[7], "/sbin/docker-init");
    }

    #[test]
    fn propagation_and_bad_mounts() {
        let p = paths();
        let mut shared = SpecMount::bind("/mnt", "/mnt", false);
        if let MountKind::Bind { propagation, .. } = &mut shared.kind {
            *propagation = Some("rshared".into());
        }
        let user = vec![shared];
        let (_, propagation) = build_mounts(&plan(&p, &user)).unwrap();
        assert_eq!(propagation.as_deref(), Some("shared"));

        let user = vec![SpecMount::bind("/x", "relative", false)];
        assert_eq!(
            build_mounts(&plan(&p, &user)).unwrap_err().to_string(),
            "invalid mount path: 'relative' mount path must be absolute"
        );
        let user = vec![SpecMount::tmpfs("/t", &["bogus=1"])];
        assert_eq!(
            build_mounts(&plan(&p, &user)).unwrap_err().to_string(),
            r#"invalid tmpfs option ["bogus" "1"]"#
        );
    }

    #[test]
    fn paths_are_cleaned() {
        assert_eq!(clean("/a//b/./c/../d/"), "/a/b/d");
        assert_eq!(clean("/"), "/");
        assert_eq!(depth("/etc/hosts"), 2);
    }
}
