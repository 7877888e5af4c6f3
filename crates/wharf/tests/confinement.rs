//! Confinement side by side with docker 20.10 (issue 15): one probe
//! program (`confinement/probe.c`, built `gcc -static` here) runs in a
//! default docker container and a default wharf container, and again with
//! `--privileged`, `--cap-add SYS_ADMIN`, `--security-opt
//! seccomp=unconfined`, `--security-opt systempaths=unconfined`,
//! `--read-only` and `-u 1000`. It prints one
//! `key=value` line per capability set, syscall, masked or read-only path,
//! cgroup release_agent (CVE-2022-0492), device and /proc/self/exe
//! (CVE-2019-5736) check; wharf's value must equal docker's, or be one of
//! the stricter values listed in [`STRICTER`] with the reason. The table
//! (variant, key, docker, wharf) is printed for the issue note.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{
    busybox_rootfs_tar, docker, eventually, exe_attack_dir, require_docker, sh, static_c_program,
    unique, DockerImages, Wharf,
};

/// The variants: a name for the table and the `run` flags.
const VARIANTS: &[(&str, &[&str])] = &[
    ("default", &[]),
    ("privileged", &["--privileged"]),
    ("cap-add-sys-admin", &["--cap-add", "SYS_ADMIN"]),
    (
        "seccomp-unconfined",
        &["--security-opt", "seccomp=unconfined"],
    ),
    (
        "systempaths-unconfined",
        &["--security-opt", "systempaths=unconfined"],
    ),
    ("read-only", &["--read-only"]),
    ("user-1000", &["-u", "1000"]),
];

/// Keys where wharf is allowed to differ from docker because wharf is
/// stricter: (key, docker's value, wharf's value, why).
const STRICTER: &[(&str, &str, &str, &str)] = &[(
    "mount_sys_fs_cgroup",
    "rw",
    "ro",
    "docker leaves the tmpfs holding the cgroup v1 hierarchies writable (the \
     hierarchies themselves are read-only in both); wharf mounts the tmpfs \
     read-only as well",
)];

/// Docker's `--privileged` cannot start where the host's bounding set lacks
/// a capability docker asks for ("unable to apply caps": sandboxed CI
/// hosts). Then docker's reference is the nearest run it can start: every
/// capability the host has, no seccomp, no masked or read-only /proc
/// paths. What docker's real `--privileged` adds beyond that stand-in is
/// expected from docker's code (`daemon/oci_linux.go`: `clearReadOnly` of
/// /sys and /sys/fs/cgroup, and the device cgroup allowing every device,
/// so a node made with mknod opens as far as the kernel's driver allows:
/// any value).
const PRIVILEGED_STANDIN: &[&str] = &[
    "--cap-add",
    "ALL",
    "--security-opt",
    "seccomp=unconfined",
    "--security-opt",
    "systempaths=unconfined",
];

/// Capability names by bit, as docker's `--cap-drop` spells them.
const CAP_NAMES: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
];

/// Capabilities that postdate docker 20.10's list (PERFMON, BPF,
/// CHECKPOINT_RESTORE): a privileged wharf container has them when the
/// host does, as newer docker releases give them too. Each is a split-off
/// part of SYS_ADMIN, which a privileged container has anyway, so having
/// them confines nothing less.
const CAPS_NEWER_THAN_DOCKER: u64 = 0b111 << 38;

fn probe_binary(scratch: &Path) -> PathBuf {
    static_c_program("confinement/probe.c", scratch, "probe")
}

/// The busybox rootfs tar plus `/probe`, imported into wharf and docker.
fn import_probe_image(w: &Wharf, image: &str) {
    let scratch = w.scratch();
    probe_binary(&scratch);
    let base = busybox_rootfs_tar(&scratch);
    let tar = scratch.join("probe-rootfs.tar");
    std::fs::copy(&base, &tar).unwrap();
    sh(Command::new("tar")
        .args([
            "--owner=0",
            "--group=0",
            "--numeric-owner",
            "--mtime=@0",
            "-C",
        ])
        .arg(&scratch)
        .arg("-rf")
        .arg(&tar)
        .arg("probe"));
    w.ok([OsStr::new("import"), tar.as_os_str(), OsStr::new(image)]);
    sh(docker().arg("import").arg(&tar).arg(image));
}

fn parse(out: &Output, who: &str, variant: &str) -> BTreeMap<String, String> {
    assert!(
        out.status.success(),
        "{who} {variant}: the probe did not run ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let map: BTreeMap<String, String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert!(
        map.contains_key("write_proc_self_exe"),
        "{who} {variant}: the probe stopped early:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    map
}

fn host_bounding_caps() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .expect("CapBnd in /proc/self/status")
        .trim();
    u64::from_str_radix(hex, 16).unwrap()
}

/// Docker's column for `--privileged`: the real run, or the stand-in when
/// the host cannot give docker every capability it asks for.
fn docker_privileged(image: &str, name: &str) -> BTreeMap<String, String> {
    let out = docker()
        .args([
            "run",
            "--rm",
            "--name",
            name,
            "--privileged",
            image,
            "/probe",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() || !stderr.contains("unable to apply caps") {
        return parse(&out, "docker", "privileged");
    }
    let bounding = host_bounding_caps();
    let mut args: Vec<String> = ["run", "--rm", "--name", name]
        .iter()
        .chain(PRIVILEGED_STANDIN)
        .map(|s| s.to_string())
        .collect();
    for (bit, cap) in CAP_NAMES.iter().enumerate() {
        if bounding & (1 << bit) == 0 {
            args.extend(["--cap-drop".to_string(), cap.to_string()]);
        }
    }
    args.extend([image.to_string(), "/probe".to_string()]);
    let out = docker().args(&args).output().unwrap();
    let mut map = parse(&out, "docker", "privileged (stand-in)");
    map.insert("mount_sys".into(), "rw".into());
    map.insert("mount_sys_fs_cgroup_memory".into(), "rw".into());
    map.insert("write_cgroup_memory_limit".into(), "ok".into());
    map.insert("open_mknod_block".into(), "*".into());
    map.insert("open_mknod_mem".into(), "*".into());
    map
}

fn caps(v: &str) -> u64 {
    u64::from_str_radix(v, 16).unwrap_or_else(|_| panic!("not a capability mask: {v}"))
}

/// Whether wharf's value is as strict as docker's or stricter; returns the
/// reason when it is stricter by an allowed difference.
fn judge(variant: &str, key: &str, docker: &str, wharf: &str) -> Result<&'static str, String> {
    if docker == wharf || docker == "*" {
        return Ok("");
    }
    if key.starts_with("cap_") {
        let extra = caps(wharf) & !caps(docker);
        if extra == 0 {
            return Ok("fewer capabilities");
        }
        if variant == "privileged" && extra & !CAPS_NEWER_THAN_DOCKER == 0 {
            return Ok("capabilities newer than docker 20.10 (see CAPS_NEWER_THAN_DOCKER)");
        }
        return Err(format!("wharf has capabilities docker lacks: {extra:#x}"));
    }
    STRICTER
        .iter()
        .find(|(k, d, w, _)| *k == key && *d == docker && *w == wharf)
        .map(|(_, _, _, why)| *why)
        .ok_or_else(|| format!("docker {docker}, wharf {wharf}"))
}

#[test]
fn wharf_confines_as_docker_does_or_stricter() {
    require_docker();
    let w = Wharf::new();
    let image = unique("wharf-confine-probe");
    let _images = DockerImages(vec![image.clone()]);
    import_probe_image(&w, &image);

    let mut table = Vec::new();
    let mut failures = Vec::new();
    for (variant, flags) in VARIANTS {
        let name = unique("wharf-confine");
        let _cleanup = common::DockerObjects {
            containers: vec![name.clone()],
            volumes: vec![],
        };
        let docker_map = if *variant == "privileged" {
            docker_privileged(&image, &name)
        } else {
            let out = docker()
                .args(["run", "--rm", "--name", &name])
                .args(*flags)
                .args([image.as_str(), "/probe"])
                .output()
                .unwrap();
            parse(&out, "docker", variant)
        };
        let out = w
            .command(["run", "--rm"])
            .args(*flags)
            .args([image.as_str(), "/probe"])
            .output()
            .unwrap();
        let wharf_map = parse(&out, "wharf", variant);
        assert_eq!(
            docker_map.keys().collect::<Vec<_>>(),
            wharf_map.keys().collect::<Vec<_>>(),
            "{variant}: the probe reported different keys"
        );
        for (key, d) in &docker_map {
            let wv = &wharf_map[key];
            let note = match judge(variant, key, d, wv) {
                Ok(why) => why.to_string(),
                Err(e) => {
                    failures.push(format!("{variant} {key}: {e}"));
                    "LESS CONFINED".to_string()
                }
            };
            table.push((
                variant.to_string(),
                key.clone(),
                d.clone(),
                wv.clone(),
                note,
            ));
        }
    }
    w.settled();

    println!(
        "{:<20} {:<34} {:<18} {:<18} note",
        "variant", "key", "docker", "wharf"
    );
    for (v, k, d, wv, note) in &table {
        let short: String = note.chars().take(60).collect();
        println!("{v:<20} {k:<34} {d:<18} {wv:<18} {short}");
    }
    assert!(
        failures.is_empty(),
        "wharf is less confined than docker:\n{}",
        failures.join("\n")
    );
}

/// `--security-opt systempaths=unconfined` as docker's CLI takes it: no
/// option for the daemon but empty masked and read-only path lists (what
/// inspect shows); any other `systempaths` value is the daemon's
/// `invalid --security-opt 2` (exit 125), and `--privileged` never masks.
#[test]
fn systempaths_unconfined_is_recorded_and_refused_as_docker_does() {
    require_docker();
    let w = Wharf::new();
    let image = unique("wharf-systempaths");
    let _images = DockerImages(vec![image.clone()]);
    common::import_busybox_in_both(&w, &image, &["CMD [\"sh\"]"]);
    let format = "{{json .HostConfig.MaskedPaths}} {{json .HostConfig.ReadonlyPaths}} \
                  {{json .HostConfig.SecurityOpt}}";
    for flags in [
        &["--security-opt", "systempaths=unconfined"][..],
        &["--security-opt", "systempaths=unconfined", "--privileged"],
    ] {
        let name = unique("wharf-systempaths");
        let _cleanup = common::DockerObjects {
            containers: vec![name.clone()],
            volumes: vec![],
        };
        sh(docker()
            .args(["create", "--name", &name])
            .args(flags)
            .arg(&image));
        let theirs = sh(docker().args(["inspect", "-f", format, &name]));
        w.ok(["create", "--name", name.as_str()]
            .iter()
            .chain(flags)
            .chain([&image.as_str()]));
        let ours = w.ok(["inspect", "-f", format, name.as_str()]);
        assert_eq!(ours, theirs, "inspect after create {flags:?}");
    }
    for opt in ["systempaths=confined", "systempaths=unconfined,x"] {
        let theirs = docker()
            .args(["run", "--rm", "--security-opt", opt, &image, "true"])
            .output()
            .unwrap();
        let (code, err) = w.fails(["run", "--rm", "--security-opt", opt, &image, "true"]);
        let theirs_err = String::from_utf8_lossy(&theirs.stderr);
        assert_eq!(Some(code), theirs.status.code(), "{opt}: {err}");
        let want = format!("invalid --security-opt 2: \"{opt}\"");
        assert!(theirs_err.contains(&want), "docker said {theirs_err}");
        assert!(err.contains(&want), "wharf said {err}");
    }
    // The masked paths are gone from a running container's mounts.
    let masked = w.ok([
        "run",
        "--rm",
        "--security-opt",
        "systempaths=unconfined",
        &image,
        "cat",
        "/proc/self/mountinfo",
    ]);
    assert!(
        !masked.contains(" /proc/sys ") && !masked.contains(" /proc/kcore "),
        "{masked}"
    );
}

/// CVE-2019-5736 tried for real through `wharf exec`: a process of the
/// container watches for any process running a binary other than its own
/// (the runtime's, while it sets an exec up, or run again inside by
/// `/x/evil`, a `#!/proc/self/exe` script) to hold it and reopen it for
/// writing. It must never get hold of one: libcontainer's setup process is
/// not dumpable (its `/proc/PID/exe` is refused) and the script's
/// interpreter does not resolve from inside (ENOENT), so wharf needs no
/// copy of itself as runc does.
#[test]
fn exec_never_exposes_the_wharf_binary() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    let x = exe_attack_dir(&w.scratch());
    let mount = format!("{}:/x", x.display());
    let id = w.ok([
        "run",
        "-d",
        "-v",
        &mount,
        "busybox:local",
        "/x/attack",
        "/x/result",
        "6",
    ]);
    let id = id.trim();
    for _ in 0..5 {
        let out = w.run(["exec", id, "/x/evil"]);
        assert!(!out.status.success(), "the evil script ran: {out:?}");
    }
    eventually(20, "the attacker's verdict", || x.join("result").exists());
    let verdict = std::fs::read_to_string(x.join("result")).unwrap();
    let caught = std::fs::read_to_string(x.join("result.caught")).unwrap_or_default();
    w.ok(["rm", "-f", id]);
    assert_eq!(
        verdict.trim(),
        "notfound",
        "the container got hold of {caught}"
    );
}
