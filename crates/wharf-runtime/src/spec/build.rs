//! `build_spec`: the pieces put together into one `Spec`.
//!
//! The top-level oci-spec types (`Spec`, `Process`, `Linux`, `Root`) have
//! `Default`s full of youki's own choices (hostname "youki",
//! noNewPrivileges, a cgroup namespace ...) that their builders silently
//! fill in, so they are built here field by field, every field set.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    Capabilities, LinuxCapabilities, LinuxCapabilitiesBuilder, LinuxNamespace,
    LinuxNamespaceBuilder, LinuxNamespaceType, Process, Root, Spec, UserBuilder,
};

use super::caps::container_caps;
use super::command::{check_hostname, command, default_hostname, with_init, working_dir};
use super::devices::{default_devices, user_devices};
use super::env::{check_env, merge_env_with};
use super::host::CgroupLayout;
use super::mounts::{build_mounts, MountPlan};
use super::options::{IpcMode, Namespace, NetworkMode, RunOptions, SpecInput};
use super::resources::build_resources;
use super::rlimits::build_rlimits;
use super::seccomp::container_seccomp;
use super::security::parse_security_opts;
use super::user::{resolve_group_add, resolve_user};
use super::SpecError;

/// The runtime-spec version we write.
pub const OCI_VERSION: &str = "1.2.0";

/// Paths hidden from the container (Docker's list).
pub const MASKED_PATHS: [&str; 11] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Paths the container sees read-only (Docker's list).
pub const READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// The sysctls `--sysctl` may set (the docker CLI's `ValidateSysctl`): the
/// IPC namespace's, `fs.mqueue.*` and `net.*`.
const IPC_SYSCTLS: [&str; 8] = [
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// Whether `--sysctl key=…` may be set (docker's `ValidateSysctl`): the
/// CLI's check and the spec builder's are this one.
pub fn sysctl_allowed(key: &str) -> bool {
    IPC_SYSCTLS.contains(&key) || key.starts_with("fs.mqueue.") || key.starts_with("net.")
}

/// The OCI runtime spec of a container, as Docker would write it.
pub fn build_spec(input: &SpecInput) -> Result<Spec, SpecError> {
    let SpecInput {
        id,
        image,
        opts,
        paths,
        cgroup_parent,
        host,
        ..
    } = *input;
    let security = parse_security_opts(&opts.security_opts)?;

    let mut args = command(image, opts)?;
    let init_binary = if opts.init {
        let binary = host.init_binary.as_deref().ok_or(SpecError::NoInitBinary)?;
        args = with_init(args);
        Some(binary)
    } else {
        None
    };
    let hostname = match opts.hostname.as_deref() {
        Some(name) if !name.is_empty() => name.to_string(),
        _ => default_hostname(id, &opts.network_mode, &host.hostname),
    };
    check_hostname(&hostname)?;
    // In the host's UTS namespace the names are the host's: the spec sets
    // none (HOSTNAME and /etc/hostname still say the container's).
    let uts_host = opts.uts == super::options::Namespace::Host;
    let cwd = working_dir(image, opts)?;

    let user_spec = opts.user.as_deref().unwrap_or(&image.user);
    let user = resolve_user(&paths.rootfs, user_spec)?;
    // Docker lists the primary group first, then the supplementary ones.
    let mut gids = if opts.supplementary_groups_only {
        Vec::new()
    } else {
        vec![user.gid]
    };
    for gid in user
        .supplementary_gids
        .iter()
        .chain(&resolve_group_add(&paths.rootfs, &opts.group_add)?)
    {
        if !gids.contains(gid) {
            gids.push(*gid);
        }
    }
    let env = merge_env_with(
        &image.env,
        &opts.env,
        &opts.link_env,
        &hostname,
        opts.tty,
        &user.home,
        |name| std::env::var(name).ok(),
    );
    check_env(&env)?;

    let caps = container_caps(
        &opts.cap_add,
        &opts.cap_drop,
        opts.privileged,
        &host.capabilities,
    )?;
    let seccomp = container_seccomp(security.seccomp.as_deref(), opts.privileged, host, &caps)?;

    let mut process = Process::default();
    process.set_terminal(Some(opts.tty));
    process.set_console_size(None);
    process.set_user(
        UserBuilder::default()
            .uid(user.uid)
            .gid(user.gid)
            .additional_gids(gids)
            .build()?,
    );
    process.set_args(Some(args));
    process.set_command_line(None);
    process.set_env(Some(env));
    process.set_cwd(PathBuf::from(cwd));
    process.set_capabilities(Some(capability_sets(&caps)?));
    process.set_rlimits(Some(build_rlimits(&opts.ulimits, host)?));
    // libcontainer tells "unset" from "false" (seccomp is loaded at a
    // different point), so false must stay unset.
    process.set_no_new_privileges(security.no_new_privileges.then_some(true));
    process.set_apparmor_profile(apparmor_profile(
        host.apparmor,
        security.apparmor.as_deref(),
        opts.privileged,
    ));
    if !(-1000..=1000).contains(&opts.oom_score_adj) {
        return Err(SpecError::invalid(format!(
            "Invalid value {}, range for oom score adj is [-1000, 1000]",
            opts.oom_score_adj
        )));
    }
    // Only when asked: writing it costs a start, and lowering it needs
    // CAP_SYS_RESOURCE.
    process.set_oom_score_adj((opts.oom_score_adj != 0).then_some(opts.oom_score_adj as i32));
    process.set_selinux_label(None);
    process.set_io_priority(None);
    process.set_scheduler(None);
    process.set_exec_cpu_affinity(None);

    let writable_cgroups = security.writable_cgroups.unwrap_or(opts.privileged);
    let (mounts, rootfs_propagation) = build_mounts(&MountPlan {
        paths,
        user: &opts.mounts,
        shm_size: opts.shm_size,
        init_binary,
        read_only: opts.read_only,
        privileged: opts.privileged,
        writable_cgroups,
        no_shm: opts.ipc == IpcMode::None,
        no_hostname_file: opts.no_hostname_file,
    })?;

    let mut linux = oci_spec::runtime::Linux::default();
    linux.set_net_devices(None);
    linux.set_uid_mappings(None);
    linux.set_gid_mappings(None);
    let sysctl = sysctls(opts, &host.default_net_sysctls)?;
    linux.set_sysctl((!sysctl.is_empty()).then_some(sysctl));
    let (device_nodes, device_rules) = user_devices(wharf_model::list(&opts.resources.devices))?;
    linux.set_resources(Some(build_resources(opts, host, device_rules)?));
    linux.set_cgroups_path(Some(cgroups_path(cgroup_parent, id)));
    linux.set_namespaces(Some(namespaces(opts, host.cgroup)?));
    let mut devices = default_devices()?;
    devices.extend(device_nodes);
    linux.set_devices(Some(devices));
    linux.set_seccomp(seccomp);
    linux.set_rootfs_propagation(rootfs_propagation);
    // docker's `WithCommonOptions` then `WithMounts`: its lists unless the
    // host config has its own (`systempaths=unconfined`: empty ones), and
    // none at all when privileged.
    let (masked, readonly) = if opts.privileged {
        (None, None)
    } else {
        let or_default = |own: &Option<Vec<String>>, default: &[&str]| {
            own.clone()
                .unwrap_or_else(|| default.iter().map(|p| p.to_string()).collect())
        };
        (
            Some(or_default(&opts.masked_paths, &MASKED_PATHS)),
            Some(or_default(&opts.readonly_paths, &READONLY_PATHS)),
        )
    };
    linux.set_masked_paths(masked);
    linux.set_readonly_paths(readonly);
    linux.set_mount_label(None);
    linux.set_intel_rdt(None);
    linux.set_memory_policy(None);
    linux.set_personality(None);
    linux.set_time_offsets(None);

    let mut root = Root::default();
    root.set_path(paths.rootfs.clone());
    root.set_readonly(opts.read_only.then_some(true));

    let mut spec = Spec::default();
    spec.set_version(OCI_VERSION.into());
    spec.set_root(Some(root));
    spec.set_mounts(Some(mounts));
    spec.set_process(Some(process));
    spec.set_hostname((!uts_host).then_some(hostname));
    spec.set_domainname(
        opts.domainname
            .clone()
            .filter(|d| !d.is_empty() && !uts_host),
    );
    spec.set_hooks(None);
    spec.set_annotations(None);
    spec.set_linux(Some(linux));
    Ok(spec)
}

/// Bounding, effective and permitted get the container's set; inheritable
/// and ambient are empty (Docker 23+).
fn capability_sets(caps: &[oci_spec::runtime::Capability]) -> Result<LinuxCapabilities, SpecError> {
    let set: Capabilities = caps.iter().copied().collect();
    Ok(LinuxCapabilitiesBuilder::default()
        .bounding(set.clone())
        .effective(set.clone())
        .permitted(set)
        .inheritable(Capabilities::new())
        .ambient(Capabilities::new())
        .build()?)
}

/// Only when AppArmor is on (libcontainer refuses a profile otherwise).
/// wharf loads no `docker-default` profile, so without `apparmor=` a
/// container is left to the host's default confinement.
fn apparmor_profile(enabled: bool, requested: Option<&str>, privileged: bool) -> Option<String> {
    if !enabled {
        return None;
    }
    match requested {
        Some(profile) => Some(profile.to_string()),
        None if privileged => Some("unconfined".into()),
        None => None,
    }
}

/// Where containers' cgroups go unless `--cgroup-parent` says otherwise,
/// under each controller (cgroupfs layout).
pub const DEFAULT_CGROUP_PARENT: &str = "/wharf";

/// `<parent>/<id>`, always absolute (cgroupfs layout).
pub fn cgroups_path(parent: &str, id: &str) -> PathBuf {
    Path::new("/").join(parent.trim_start_matches('/')).join(id)
}

/// Docker's order: mount, network, uts, pid, ipc, cgroup; each left out
/// when the host's is used, or joined by path. The cgroup namespace is
/// private by default only on cgroup v2.
fn namespaces(opts: &RunOptions, cgroup: CgroupLayout) -> Result<Vec<LinuxNamespace>, SpecError> {
    let ns = |typ| LinuxNamespaceBuilder::default().typ(typ).build();
    let join = |typ, path: &Path| {
        LinuxNamespaceBuilder::default()
            .typ(typ)
            .path(path.to_path_buf())
            .build()
    };
    let mut list = vec![ns(LinuxNamespaceType::Mount)?];
    match &opts.network_mode {
        NetworkMode::Host => {}
        NetworkMode::None => list.push(ns(LinuxNamespaceType::Network)?),
        NetworkMode::Namespace(path) => list.push(join(LinuxNamespaceType::Network, path)?),
    }
    for (mode, typ) in [
        (&opts.uts, LinuxNamespaceType::Uts),
        (&opts.pid, LinuxNamespaceType::Pid),
    ] {
        match mode {
            Namespace::Host => {}
            Namespace::Join(path) => list.push(join(typ, path)?),
            Namespace::Private | Namespace::Container(_) => list.push(ns(typ)?),
        }
    }
    match &opts.ipc {
        IpcMode::Host => {}
        IpcMode::Join { ns: path, .. } => list.push(join(LinuxNamespaceType::Ipc, path)?),
        _ => list.push(ns(LinuxNamespaceType::Ipc)?),
    }
    let private_cgroup = match &opts.cgroupns {
        None => cgroup == CgroupLayout::V2,
        Some(mode) => *mode != Namespace::Host,
    };
    if private_cgroup {
        list.push(ns(LinuxNamespaceType::Cgroup)?);
    }
    Ok(list)
}

/// Docker's network defaults (in a network namespace of the container's
/// own), then `--sysctl`, which wins.
fn sysctls(
    opts: &RunOptions,
    defaults: &[(String, String)],
) -> Result<HashMap<String, String>, SpecError> {
    let host_network = opts.network_mode == NetworkMode::Host;
    let mut sysctl: HashMap<String, String> = if host_network {
        HashMap::new()
    } else {
        defaults.iter().cloned().collect()
    };
    for (key, value) in &opts.sysctls {
        if !sysctl_allowed(key) {
            return Err(SpecError::invalid(format!(
                "sysctl '{key}={value}' is not allowed"
            )));
        }
        if host_network && key.starts_with("net.") {
            return Err(SpecError::invalid(format!(
                "sysctl {key:?} not allowed in host network namespace"
            )));
        }
        if opts.ipc == IpcMode::Host && !key.starts_with("net.") {
            return Err(SpecError::invalid(format!(
                "sysctl {key:?} not allowed in host ipc namespace"
            )));
        }
        sysctl.insert(key.clone(), value.clone());
    }
    Ok(sysctl)
}
