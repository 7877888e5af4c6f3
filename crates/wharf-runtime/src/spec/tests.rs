//! Whole-spec tests: what `docker run` users would see, checked on the spec.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    Arch, Capability, LinuxNamespaceType, LinuxSeccompAction, Mount, PosixRlimitType, Spec,
};

use super::*;

const ID: &str = "4f9d1c2b3a5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8";

/// A fixed host: amd64, kernel 6.1, hybrid cgroups, 4 CPUs, every
/// capability, nofile hard limit 20000, nproc 96365.
pub(crate) fn test_host() -> HostInfo {
    HostInfo {
        arch: "amd64".into(),
        kernel: (6, 1),
        cgroup: CgroupLayout::Hybrid,
        ncpu: 4,
        hard_limits: BTreeMap::from([(Resource::Nofile, 20000), (Resource::Nproc, 96365)]),
        capabilities: all_capabilities().collect(),
        seccomp: true,
        apparmor: false,
        swap_limit: true,
        default_net_sysctls: vec![
            ("net.ipv4.ping_group_range".into(), "0 2147483647".into()),
            ("net.ipv4.ip_unprivileged_port_start".into(), "0".into()),
        ],
        init_binary: None,
        hostname: "testhost".into(),
    }
}

/// A rootfs with busybox's /etc/passwd and /etc/group (abridged).
struct Fixture {
    _dir: tempfile::TempDir,
    paths: ContainerPaths,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let rootfs = dir.path().join("rootfs");
    fs::create_dir_all(rootfs.join("etc")).unwrap();
    fs::write(
        rootfs.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\n\
         www-data:x:33:33:www-data:/var/www:/bin/false\n\
         alice:x:1000:1000:Linux User,,,:/home/alice:/bin/sh\n\
         nobody:x:65534:65534:nobody:/home:/bin/false\n",
    )
    .unwrap();
    fs::write(
        rootfs.join("etc/group"),
        "root:x:0:\ndaemon:x:1:\nwheel:x:10:root\nwww-data:x:33:\nalice:x:1000:\n\
         audio:x:29:alice\nnogroup:x:65534:\n",
    )
    .unwrap();
    let paths = ContainerPaths {
        rootfs,
        hostname_file: dir.path().join("hostname"),
        hosts_file: dir.path().join("hosts"),
        resolv_conf: dir.path().join("resolv.conf"),
        shm_dir: None,
        cgroup_view: None,
    };
    Fixture { _dir: dir, paths }
}

fn busybox() -> wharf_oci::ContainerConfig {
    wharf_oci::ContainerConfig {
        env: vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()],
        cmd: Some(vec!["sh".into()]),
        ..Default::default()
    }
}

fn exit3() -> RunOptions {
    RunOptions {
        cmd: Some(vec!["sh".into(), "-c".into(), "exit 3".into()]),
        ..Default::default()
    }
}

fn spec_with(
    image: &wharf_oci::ContainerConfig,
    opts: &RunOptions,
    host: &HostInfo,
) -> Result<Spec, SpecError> {
    let fx = fixture();
    build_spec(&SpecInput {
        id: ID,
        name: "test",
        image,
        opts,
        paths: &fx.paths,
        cgroup_parent: "/wharf",
        host,
    })
}

fn spec(opts: &RunOptions) -> Spec {
    spec_with(&busybox(), opts, &test_host()).unwrap()
}

fn err(opts: &RunOptions) -> SpecError {
    spec_with(&busybox(), opts, &test_host()).unwrap_err()
}

fn process(spec: &Spec) -> &oci_spec::runtime::Process {
    spec.process().as_ref().unwrap()
}

fn linux(spec: &Spec) -> &oci_spec::runtime::Linux {
    spec.linux().as_ref().unwrap()
}

fn env(spec: &Spec) -> Vec<String> {
    process(spec).env().clone().unwrap()
}

fn caps(spec: &Spec) -> HashSet<Capability> {
    process(spec)
        .capabilities()
        .as_ref()
        .unwrap()
        .bounding()
        .clone()
        .unwrap()
}

fn mount<'s>(spec: &'s Spec, dest: &str) -> Option<&'s Mount> {
    spec.mounts()
        .iter()
        .flatten()
        .find(|m| m.destination() == Path::new(dest))
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn default_spec_of_busybox_exit_3() {
    let s = spec(&exit3());
    assert_eq!(s.version(), OCI_VERSION);
    assert_eq!(s.hostname().as_deref(), Some("4f9d1c2b3a5e"));
    assert_eq!(s.domainname(), &None);
    let root = s.root().as_ref().unwrap();
    assert!(root.path().ends_with("rootfs"));
    assert_eq!(root.readonly(), None);

    let p = process(&s);
    assert_eq!(
        p.args().as_deref(),
        Some(&strs(&["sh", "-c", "exit 3"])[..])
    );
    assert_eq!(p.cwd(), Path::new("/"));
    assert_eq!(p.terminal(), Some(false));
    assert_eq!((p.user().uid(), p.user().gid()), (0, 0));
    assert_eq!(p.user().additional_gids().as_deref(), Some(&[0, 10][..]));
    assert_eq!(p.no_new_privileges(), None);
    assert_eq!(p.apparmor_profile(), &None);
    assert_eq!(
        env(&s),
        [
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOSTNAME=4f9d1c2b3a5e",
            "HOME=/root"
        ]
    );

    // Docker's 14 capabilities, in bounding, effective and permitted only.
    let pc = p.capabilities().as_ref().unwrap();
    let fourteen: HashSet<Capability> = DEFAULT_CAPS.into_iter().collect();
    assert_eq!(fourteen.len(), 14);
    assert_eq!(pc.bounding().as_ref(), Some(&fourteen));
    assert_eq!(pc.effective().as_ref(), Some(&fourteen));
    assert_eq!(pc.permitted().as_ref(), Some(&fourteen));
    assert_eq!(pc.inheritable().as_ref().map(|c| c.len()), Some(0));
    assert_eq!(pc.ambient().as_ref().map(|c| c.len()), Some(0));

    let rl = p.rlimits().as_ref().unwrap();
    assert_eq!(rl.len(), 1);
    assert_eq!(
        (rl[0].typ(), rl[0].soft(), rl[0].hard()),
        (PosixRlimitType::RlimitNofile, 1024, 1024)
    );

    let l = linux(&s);
    assert_eq!(
        l.cgroups_path().as_deref(),
        Some(Path::new(&format!("/wharf/{ID}")))
    );
    let ns: Vec<LinuxNamespaceType> = l.namespaces().iter().flatten().map(|n| n.typ()).collect();
    assert_eq!(
        ns,
        [
            LinuxNamespaceType::Mount,
            LinuxNamespaceType::Network,
            LinuxNamespaceType::Uts,
            LinuxNamespaceType::Pid,
            LinuxNamespaceType::Ipc
        ]
    );
    assert!(l.namespaces().iter().flatten().all(|n| n.path().is_none()));
    assert_eq!(l.masked_paths().as_deref(), Some(&strs(&MASKED_PATHS)[..]));
    assert_eq!(
        l.readonly_paths().as_deref(),
        Some(&strs(&READONLY_PATHS)[..])
    );
    assert_eq!(l.rootfs_propagation(), &None);
    assert_eq!(
        l.devices().iter().flatten().count(),
        6,
        "null zero full random urandom tty"
    );
    let sysctl = l.sysctl().as_ref().unwrap();
    assert_eq!(sysctl["net.ipv4.ip_unprivileged_port_start"], "0");
    assert_eq!(sysctl["net.ipv4.ping_group_range"], "0 2147483647");

    let seccomp = l.seccomp().as_ref().unwrap();
    assert_eq!(seccomp.default_action(), LinuxSeccompAction::ScmpActErrno);
    assert_eq!(seccomp.default_errno_ret(), Some(1));
    assert_eq!(
        seccomp.architectures().as_deref(),
        Some(&[Arch::ScmpArchX86_64][..])
    );

    let resources = l.resources().as_ref().unwrap();
    assert!(resources.memory().is_none() && resources.cpu().is_none());
    assert_eq!(resources.devices().as_ref().unwrap().len(), 14);

    let dests: Vec<String> = s
        .mounts()
        .iter()
        .flatten()
        .map(|m| m.destination().display().to_string())
        .collect();
    assert_eq!(
        dests,
        [
            "/proc",
            "/dev",
            "/dev/pts",
            "/sys",
            "/sys/fs/cgroup",
            "/dev/mqueue",
            "/dev/shm",
            "/etc/resolv.conf",
            "/etc/hostname",
            "/etc/hosts"
        ]
    );
    let shm = mount(&s, "/dev/shm").unwrap();
    assert_eq!(shm.typ().as_deref(), Some("tmpfs"));
    assert_eq!(
        shm.options().as_deref(),
        Some(&strs(&["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"])[..])
    );
    let hosts = mount(&s, "/etc/hosts").unwrap();
    assert_eq!(hosts.typ().as_deref(), Some("bind"));
    assert!(hosts.source().as_ref().unwrap().ends_with("hosts"));
    assert_eq!(
        hosts.options().as_deref(),
        Some(&strs(&["rbind", "rprivate"])[..])
    );
    assert_eq!(
        mount(&s, "/sys").unwrap().options().as_deref(),
        Some(&strs(&["nosuid", "noexec", "nodev", "ro"])[..])
    );
}

#[test]
fn spec_json_round_trips_through_oci_spec() {
    let opts = RunOptions {
        tty: true,
        resources: wharf_model::Resources {
            memory: 64 << 20,
            nano_cpus: 500_000_000,
            pids_limit: Some(50),
            ..Default::default()
        },
        ulimits: strs(&["nproc=100:200"]),
        mounts: vec![SpecMount::tmpfs("/run", &["size=1m"])],
        security_opts: strs(&["no-new-privileges"]),
        ..exit3()
    };
    let s = spec(&opts);
    let json = serde_json::to_string_pretty(&s).unwrap();
    let back: Spec = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["ociVersion"], OCI_VERSION);
    assert_eq!(value["process"]["noNewPrivileges"], true);
    assert_eq!(value["linux"]["resources"]["memory"]["swap"], 128 << 20);
    assert_eq!(
        value["linux"]["seccomp"]["architectures"][0],
        "SCMP_ARCH_X86_64"
    );
    assert!(value.get("annotations").is_none());
    assert!(value["linux"].get("cgroupsPath").is_some());
    // The file libcontainer loads.
    let dir = tempfile::tempdir().unwrap();
    s.save(dir.path().join("config.json")).unwrap();
    assert_eq!(Spec::load(dir.path().join("config.json")).unwrap(), s);
}

#[test]
fn env_precedence_image_env_file_dash_e() {
    // ENV A=1 B=2 in the image; --env-file with B=3; -e A=4; -e NAME (from
    // wharf's environment).
    std::env::set_var("WHARF_SPEC_TEST_FROM_HOST", "host-value");
    let image = wharf_oci::ContainerConfig {
        env: strs(&["PATH=/usr/local/bin:/usr/bin:/bin", "A=1", "B=2"]),
        cmd: Some(strs(&["env"])),
        ..Default::default()
    };
    let opts = RunOptions {
        env: strs(&["B=3", "A=4", "WHARF_SPEC_TEST_FROM_HOST"]),
        ..Default::default()
    };
    let s = spec_with(&image, &opts, &test_host()).unwrap();
    assert_eq!(
        env(&s),
        [
            "PATH=/usr/local/bin:/usr/bin:/bin",
            "HOSTNAME=4f9d1c2b3a5e",
            "B=3",
            "A=4",
            "WHARF_SPEC_TEST_FROM_HOST=host-value",
            "HOME=/root"
        ]
    );
    // -e beats --env-file for the same name.
    let opts = RunOptions {
        env: strs(&["B=3", "B=5"]),
        ..Default::default()
    };
    let s = spec_with(&image, &opts, &test_host()).unwrap();
    let e = env(&s);
    assert!(e.contains(&"B=5".to_string()) && !e.iter().any(|v| v == "B=3" || v == "B=2"));
    assert!(e.contains(&"A=1".to_string()));
}

#[test]
fn tty_sets_terminal_and_term() {
    let s = spec(&RunOptions {
        tty: true,
        hostname: Some("web".into()),
        ..exit3()
    });
    assert_eq!(process(&s).terminal(), Some(true));
    assert_eq!(s.hostname().as_deref(), Some("web"));
    assert_eq!(
        env(&s)[1..],
        ["HOSTNAME=web", "TERM=xterm", "HOME=/root"].map(String::from)
    );
}

#[test]
fn users_from_the_image() {
    let user = |u: &str| {
        let s = spec(&RunOptions {
            user: Some(u.into()),
            ..exit3()
        });
        let p = process(&s);
        let home = env(&s).last().cloned().unwrap();
        (
            p.user().uid(),
            p.user().gid(),
            p.user().additional_gids().clone().unwrap(),
            home,
        )
    };
    assert_eq!(
        user("nobody"),
        (65534, 65534, vec![65534], "HOME=/home".into())
    );
    assert_eq!(
        user("alice"),
        (1000, 1000, vec![1000, 29], "HOME=/home/alice".into())
    );
    assert_eq!(
        user("1000:1000"),
        (1000, 1000, vec![1000], "HOME=/home/alice".into())
    );
    assert_eq!(
        user("1000"),
        (1000, 1000, vec![1000, 29], "HOME=/home/alice".into())
    );
    assert_eq!(user("4242"), (4242, 0, vec![0], "HOME=/".into()));
    assert_eq!(user("root:wheel"), (0, 10, vec![10], "HOME=/root".into()));

    // The image's USER applies unless -u is given.
    let image = wharf_oci::ContainerConfig {
        user: "www-data".into(),
        ..busybox()
    };
    let s = spec_with(&image, &exit3(), &test_host()).unwrap();
    assert_eq!(process(&s).user().uid(), 33);

    let e = err(&RunOptions {
        user: Some("bob".into()),
        ..exit3()
    });
    assert_eq!(
        e.to_string(),
        "unable to find user bob: no matching entries in passwd file"
    );
    assert_eq!(e.kind(), wharf_oci::ErrorKind::InvalidArgument);

    let s = spec(&RunOptions {
        user: Some("alice".into()),
        group_add: strs(&["wheel", "4000"]),
        ..exit3()
    });
    assert_eq!(
        process(&s).user().additional_gids().as_deref(),
        Some(&[1000, 29, 10, 4000][..])
    );
}

#[test]
fn command_and_workdir_from_image_and_flags() {
    let image = wharf_oci::ContainerConfig {
        entrypoint: Some(strs(&["/entrypoint.sh"])),
        cmd: Some(strs(&["serve"])),
        working_dir: "/app".into(),
        ..Default::default()
    };
    let s = spec_with(&image, &RunOptions::default(), &test_host()).unwrap();
    assert_eq!(
        process(&s).args().as_deref(),
        Some(&strs(&["/entrypoint.sh", "serve"])[..])
    );
    assert_eq!(process(&s).cwd(), Path::new("/app"));
    let opts = RunOptions {
        entrypoint: Some(strs(&["/bin/sh"])),
        workdir: Some("/tmp".into()),
        ..Default::default()
    };
    let s = spec_with(&image, &opts, &test_host()).unwrap();
    assert_eq!(process(&s).args().as_deref(), Some(&strs(&["/bin/sh"])[..]));
    assert_eq!(process(&s).cwd(), Path::new("/tmp"));

    let none = wharf_oci::ContainerConfig::default();
    let e = spec_with(&none, &RunOptions::default(), &test_host()).unwrap_err();
    assert_eq!(e.to_string(), "no command specified");
}

#[test]
fn cap_add_and_drop() {
    let s = spec(&RunOptions {
        cap_add: strs(&["net_admin", "CAP_SYS_TIME"]),
        cap_drop: strs(&["chown", "CAP_NET_RAW"]),
        ..exit3()
    });
    let c = caps(&s);
    assert_eq!(c.len(), 14);
    assert!(c.contains(&Capability::NetAdmin) && c.contains(&Capability::SysTime));
    assert!(!c.contains(&Capability::Chown) && !c.contains(&Capability::NetRaw));
    let p = process(&s).capabilities().clone().unwrap();
    assert_eq!(p.effective().as_ref(), Some(&c));
    assert_eq!(p.permitted().as_ref(), Some(&c));

    let s = spec(&RunOptions {
        cap_drop: strs(&["ALL"]),
        cap_add: strs(&["kill"]),
        ..exit3()
    });
    assert_eq!(caps(&s), HashSet::from([Capability::Kill]));

    let s = spec(&RunOptions {
        cap_add: strs(&["ALL"]),
        ..exit3()
    });
    assert_eq!(caps(&s).len(), 41);

    let e = err(&RunOptions {
        cap_add: strs(&["FOO"]),
        ..exit3()
    });
    assert_eq!(e.to_string(), r#"unknown capability: "CAP_FOO""#);
}

#[test]
fn capabilities_unlock_seccomp_rules() {
    let s = spec(&RunOptions {
        cap_add: strs(&["SYS_ADMIN"]),
        ..exit3()
    });
    let rules = linux(&s)
        .seccomp()
        .as_ref()
        .unwrap()
        .syscalls()
        .clone()
        .unwrap();
    assert!(rules
        .iter()
        .any(|r| r.names().iter().any(|n| n == "mount") && r.args().is_none()));
}

#[test]
fn ulimits_are_parsed_and_capped() {
    let s = spec(&RunOptions {
        ulimits: strs(&["nofile=100000:200000", "nproc=-1", "core=0"]),
        ..exit3()
    });
    let got: Vec<(PosixRlimitType, u64, u64)> = process(&s)
        .rlimits()
        .iter()
        .flatten()
        .map(|r| (r.typ(), r.soft(), r.hard()))
        .collect();
    assert_eq!(
        got,
        [
            (PosixRlimitType::RlimitNofile, 20000, 20000),
            (PosixRlimitType::RlimitNproc, 96365, 96365),
            (PosixRlimitType::RlimitCore, 0, 0),
        ]
    );
    // The default nofile is also capped.
    let mut host = test_host();
    host.hard_limits.insert(Resource::Nofile, 512);
    let s = spec_with(&busybox(), &exit3(), &host).unwrap();
    let rl = &process(&s).rlimits().as_ref().unwrap()[0];
    assert_eq!((rl.soft(), rl.hard()), (512, 512));

    let e = err(&RunOptions {
        ulimits: strs(&["nofile=2048:1024"]),
        ..exit3()
    });
    assert_eq!(
        e.to_string(),
        "ulimit soft limit must be less than or equal to hard limit: 2048 > 1024"
    );
    let e = err(&RunOptions {
        ulimits: strs(&["foo=1"]),
        ..exit3()
    });
    assert_eq!(e.to_string(), "invalid ulimit type: foo");
}

#[test]
fn resource_limits_and_their_errors() {
    let s = spec(&RunOptions {
        resources: wharf_model::Resources {
            memory: 256 << 20,
            nano_cpus: 2_000_000_000,
            cpu_shares: 1024,
            pids_limit: Some(64),
            ..Default::default()
        },
        ..exit3()
    });
    let r = linux(&s).resources().clone().unwrap();
    assert_eq!(r.memory().unwrap().limit(), Some(256 << 20));
    assert_eq!(r.memory().unwrap().swap(), Some(512 << 20));
    let cpu = r.cpu().clone().unwrap();
    assert_eq!(
        (cpu.quota(), cpu.period(), cpu.shares()),
        (Some(200_000), Some(100_000), Some(1024))
    );
    assert_eq!(r.pids().unwrap().limit(), 64);

    let e = err(&RunOptions {
        resources: wharf_model::Resources {
            memory: 4 << 20,
            ..Default::default()
        },
        ..exit3()
    });
    assert_eq!(e.to_string(), "Minimum memory limit allowed is 6MB");
    let e = err(&RunOptions {
        resources: wharf_model::Resources {
            nano_cpus: 8_000_000_000,
            ..Default::default()
        },
        ..exit3()
    });
    assert_eq!(
        e.to_string(),
        "Range of CPUs is from 0.01 to 4.00, as there are only 4 CPUs available"
    );
}

#[test]
fn read_only_rootfs() {
    let s = spec(&RunOptions {
        read_only: true,
        mounts: vec![SpecMount::bind("/srv/data", "/data", false)],
        ..exit3()
    });
    assert_eq!(s.root().as_ref().unwrap().readonly(), Some(true));
    assert_eq!(
        mount(&s, "/etc/hosts").unwrap().options().as_deref(),
        Some(&strs(&["rbind", "rro", "rprivate"])[..])
    );
    // The user's writable mount stays writable; /dev/shm too.
    assert_eq!(
        mount(&s, "/data").unwrap().options().as_deref(),
        Some(&strs(&["rbind", "rprivate"])[..])
    );
    assert!(!mount(&s, "/dev/shm")
        .unwrap()
        .options()
        .iter()
        .flatten()
        .any(|o| o == "ro"));
}

#[test]
fn privileged() {
    let mut host = test_host();
    // This sandbox lacks CAP_SYS_RESOURCE: privileged gets what there is.
    host.capabilities.retain(|c| *c != Capability::SysResource);
    let opts = RunOptions {
        privileged: true,
        ..exit3()
    };
    let s = spec_with(&busybox(), &opts, &host).unwrap();
    let c = caps(&s);
    assert_eq!(c.len(), 40);
    assert!(!c.contains(&Capability::SysResource));
    let l = linux(&s);
    assert!(l.seccomp().is_none());
    assert!(l.masked_paths().is_none());
    assert!(l.readonly_paths().is_none());
    let rules = l.resources().as_ref().unwrap().devices().clone().unwrap();
    assert_eq!(rules.len(), 1);
    assert!(rules[0].allow());
    assert_eq!(rules[0].to_string(), "a *:* rwm");
    assert_eq!(
        mount(&s, "/sys").unwrap().options().as_deref(),
        Some(&strs(&["nosuid", "noexec", "nodev"])[..])
    );
    assert_eq!(
        mount(&s, "/sys/fs/cgroup").unwrap().options().as_deref(),
        Some(&strs(&["nosuid", "noexec", "nodev"])[..])
    );
    // A profile named explicitly still applies to a privileged container.
    let opts = RunOptions {
        privileged: true,
        security_opts: strs(&[r#"seccomp={"defaultAction":"SCMP_ACT_LOG"}"#]),
        ..exit3()
    };
    let s = spec_with(&busybox(), &opts, &host).unwrap();
    assert_eq!(
        linux(&s).seccomp().as_ref().unwrap().default_action(),
        LinuxSeccompAction::ScmpActLog
    );
}

#[test]
fn host_config_path_lists_replace_dockers_unless_privileged() {
    // `systempaths=unconfined`: empty lists, nothing masked or read-only.
    let unconfined = RunOptions {
        masked_paths: Some(Vec::new()),
        readonly_paths: Some(Vec::new()),
        ..exit3()
    };
    let s = spec(&unconfined);
    assert_eq!(linux(&s).masked_paths().as_deref(), Some(&[][..]));
    assert_eq!(linux(&s).readonly_paths().as_deref(), Some(&[][..]));
    let s = spec(&RunOptions {
        masked_paths: Some(strs(&["/proc/kcore"])),
        ..exit3()
    });
    assert_eq!(
        linux(&s).masked_paths().as_deref(),
        Some(&strs(&["/proc/kcore"])[..])
    );
    assert_eq!(
        linux(&s).readonly_paths().as_deref(),
        Some(&strs(&READONLY_PATHS)[..])
    );
    let s = spec(&RunOptions {
        privileged: true,
        masked_paths: Some(strs(&["/proc/kcore"])),
        ..exit3()
    });
    assert!(linux(&s).masked_paths().is_none());
}

#[test]
fn security_opts() {
    let s = spec(&RunOptions {
        security_opts: strs(&["seccomp=unconfined"]),
        ..exit3()
    });
    assert!(linux(&s).seccomp().is_none());
    assert_eq!(caps(&s).len(), 14);

    let s = spec(&RunOptions {
        security_opts: strs(&["no-new-privileges:true"]),
        ..exit3()
    });
    assert_eq!(process(&s).no_new_privileges(), Some(true));
    let s = spec(&RunOptions {
        security_opts: strs(&["no-new-privileges=false"]),
        ..exit3()
    });
    assert_eq!(process(&s).no_new_privileges(), None);

    // A profile file.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("profile.json");
    fs::write(
        &file,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["chmod"],"action":"SCMP_ACT_ERRNO"}]}"#,
    )
    .unwrap();
    let s = spec(&RunOptions {
        security_opts: vec![format!("seccomp={}", file.display())],
        ..exit3()
    });
    let seccomp = linux(&s).seccomp().clone().unwrap();
    assert_eq!(seccomp.default_action(), LinuxSeccompAction::ScmpActAllow);
    assert_eq!(seccomp.syscalls().as_ref().unwrap().len(), 1);

    let e = err(&RunOptions {
        security_opts: strs(&["seccomp=/no/such/profile.json"]),
        ..exit3()
    });
    assert!(e
        .to_string()
        .starts_with("opening seccomp profile (/no/such/profile.json) failed"));
    // apparmor= is ignored where AppArmor is off (libcontainer would refuse it).
    let s = spec(&RunOptions {
        security_opts: strs(&["apparmor=docker-default"]),
        ..exit3()
    });
    assert_eq!(process(&s).apparmor_profile(), &None);
}

#[test]
fn network_modes() {
    let s = spec(&RunOptions {
        network_mode: NetworkMode::Host,
        ..exit3()
    });
    let l = linux(&s);
    assert!(!l
        .namespaces()
        .iter()
        .flatten()
        .any(|n| n.typ() == LinuxNamespaceType::Network));
    assert_eq!(s.hostname().as_deref(), Some("testhost"));
    assert!(l.sysctl().is_none());
    let e = err(&RunOptions {
        network_mode: NetworkMode::Host,
        sysctls: vec![("net.ipv4.ip_forward".into(), "1".into())],
        ..exit3()
    });
    assert!(e
        .to_string()
        .contains("not allowed in host network namespace"));

    let s = spec(&RunOptions {
        network_mode: NetworkMode::Namespace("/run/netns/wharf-1".into()),
        sysctls: vec![("net.ipv4.ping_group_range".into(), "1 1".into())],
        ..exit3()
    });
    let l = linux(&s);
    let net = l
        .namespaces()
        .iter()
        .flatten()
        .find(|n| n.typ() == LinuxNamespaceType::Network)
        .unwrap();
    assert_eq!(net.path().as_deref(), Some(Path::new("/run/netns/wharf-1")));
    assert_eq!(
        l.sysctl().as_ref().unwrap()["net.ipv4.ping_group_range"],
        "1 1"
    );

    let e = err(&RunOptions {
        sysctls: vec![("kernel.hostname".into(), "x".into())],
        ..exit3()
    });
    assert_eq!(e.to_string(), "sysctl 'kernel.hostname=x' is not allowed");
}

#[test]
fn cgroup_v2_gets_a_cgroup_namespace() {
    let mut host = test_host();
    host.cgroup = CgroupLayout::V2;
    let s = spec_with(&busybox(), &exit3(), &host).unwrap();
    let ns: Vec<_> = linux(&s)
        .namespaces()
        .iter()
        .flatten()
        .map(|n| n.typ())
        .collect();
    assert_eq!(ns.last(), Some(&LinuxNamespaceType::Cgroup));
    assert_eq!(cgroups_path("wharf", "abc"), PathBuf::from("/wharf/abc"));
}

#[test]
fn init_needs_a_binary() {
    let opts = RunOptions {
        init: true,
        ..exit3()
    };
    let e = err(&opts);
    assert_eq!(e.to_string(), "--init requires an init binary (none found)");
    assert_eq!(e.kind(), wharf_oci::ErrorKind::InvalidArgument);

    let mut host = test_host();
    host.init_binary = Some("/usr/bin/docker-init".into());
    let s = spec_with(&busybox(), &opts, &host).unwrap();
    assert_eq!(
        process(&s).args().as_deref(),
        Some(&strs(&["/sbin/docker-init", "--", "sh", "-c", "exit 3"])[..])
    );
    let m = mount(&s, "/sbin/docker-init").unwrap();
    assert_eq!(
        m.source().as_deref(),
        Some(Path::new("/usr/bin/docker-init"))
    );
    assert_eq!(m.options().as_deref(), Some(&strs(&["bind", "ro"])[..]));
}
