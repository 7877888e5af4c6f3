//! `run`/`create` flags side by side with docker 20.10, one test per flag
//! family: the same command through both gives the same `inspect` values
//! for the flags, the same view from inside the container (cgroup limits,
//! /dev, sysctls, ids, names, /dev/shm, log files) and the same errors.

mod common;

use std::process::Output;

use common::{docker, import_busybox_in_both, require_docker, unique, DockerImages, Wharf};
use serde_json::Value;

/// One wharf store and docker, each with the same busybox image; docker
/// containers made through it are removed on drop.
struct Both {
    w: Wharf,
    image: String,
    _images: DockerImages,
    docker_names: std::cell::RefCell<Vec<String>>,
}

impl Drop for Both {
    fn drop(&mut self) {
        for c in self.docker_names.borrow().iter() {
            let _ = docker().args(["rm", "-f", "-v", c]).output();
        }
    }
}

impl Both {
    fn new(tag: &str) -> Both {
        require_docker();
        let w = Wharf::new();
        let image = format!("{}:1", unique(&format!("wharf-rf/{tag}")));
        let images = DockerImages(vec![image.clone()]);
        import_busybox_in_both(&w, &image, &["CMD [\"sh\"]"]);
        Both {
            w,
            image,
            _images: images,
            docker_names: Default::default(),
        }
    }

    /// A container name for both, removed from docker at the end.
    fn name(&self, prefix: &str) -> String {
        let n = unique(&format!("rf-{prefix}"));
        self.docker_names.borrow_mut().push(n.clone());
        n
    }

    /// `verb flags... IMAGE cmd...` through both.
    fn both(&self, verb: &str, flags: &[&str], cmd: &[&str]) -> (Output, Output) {
        let mut args = vec![verb];
        args.extend(flags);
        args.push(&self.image);
        args.extend(cmd);
        let ours = self.w.run(&args);
        let theirs = docker().args(&args).output().expect("run docker");
        (ours, theirs)
    }

    /// `create --name N flags... IMAGE cmd...` in both; each one's inspect.
    fn create(&self, flags: &[&str], cmd: &[&str]) -> (Value, Value) {
        let name = self.name("c");
        let mut all = vec!["--name", &name];
        all.extend(flags);
        let (ours, theirs) = self.both("create", &all, cmd);
        ok(&ours, "wharf create");
        ok(&theirs, "docker create");
        (self.inspect_ours(&name), inspect_docker(&name))
    }

    /// `run -d --name NAME flags... IMAGE cmd...` in both.
    fn run_detached(&self, name: &str, flags: &[&str], cmd: &[&str]) {
        let mut args = vec!["run", "-d", "--name", name];
        args.extend(flags);
        args.push(&self.image);
        args.extend(cmd);
        self.w.ok(&args);
        common::sh(docker().args(&args));
    }

    /// Wait until `exec NAME cmd...` succeeds in both.
    fn wait_exec(&self, name: &str, cmd: &[&str], what: &str) {
        let mut args = vec!["exec", name];
        args.extend(cmd);
        common::eventually(10, what, || {
            self.w.run(&args).status.success()
                && docker()
                    .args(&args)
                    .output()
                    .is_ok_and(|o| o.status.success())
        });
    }

    fn inspect_ours(&self, name: &str) -> Value {
        first(&self.w.ok(["inspect", name]))
    }

    /// `run --rm flags... IMAGE cmd...` in both; both must succeed with
    /// the same stdout, which is returned.
    fn same_output(&self, flags: &[&str], cmd: &[&str]) -> String {
        let mut all = vec!["--rm"];
        all.extend(flags);
        let (ours, theirs) = self.both("run", &all, cmd);
        ok(&ours, "wharf run");
        ok(&theirs, "docker run");
        let (a, b) = (text(&ours.stdout), text(&theirs.stdout));
        assert_eq!(a, b, "output of {flags:?} {cmd:?}: wharf vs docker");
        a
    }

    /// Both refuse `verb flags... IMAGE cmd...` with the same message;
    /// wharf's `run` exits 125, its `create` with docker's code (1 for
    /// the daemon's refusals); nothing is left in wharf's store.
    fn same_error(&self, verb: &str, flags: &[&str], cmd: &[&str]) -> String {
        let before = self.w.ok(["ps", "-aq"]);
        // Named, so that what docker leaves of a failed start goes too.
        let name = self.name("err");
        let mut all = vec!["--name", name.as_str()];
        all.extend(flags);
        let (ours, theirs) = self.both(verb, &all, cmd);
        assert!(!theirs.status.success(), "docker {flags:?}: {theirs:?}");
        let expected = if verb == "run" {
            Some(125)
        } else {
            theirs.status.code()
        };
        assert_eq!(ours.status.code(), expected, "wharf {flags:?}: {ours:?}");
        // docker's `run` exits 125 for the daemon's refusals, except that
        // its CLI turns any start error naming a missing file into 127;
        // wharf refuses those at create (nothing is left) with 125.
        let missing_file = text(&theirs.stderr).contains("no such file or directory");
        if verb == "run" && !missing_file {
            assert_eq!(theirs.status.code(), Some(125), "docker {flags:?}");
        }
        let (a, b) = (message(&ours.stderr), message(&theirs.stderr));
        assert_eq!(a, b, "error of {flags:?}: wharf vs docker");
        assert_eq!(
            self.w.ok(["ps", "-aq"]),
            before,
            "{flags:?} left a container"
        );
        a
    }
}

fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn first(json: &str) -> Value {
    let v: Value = serde_json::from_str(json).expect("inspect prints JSON");
    v[0].clone()
}

fn inspect_docker(name: &str) -> Value {
    first(&common::sh(docker().args(["inspect", name])))
}

/// An error's message without each tool's framing (`Error: `, `docker:
/// Error response from daemon: `, the trailing `.` and usage hint).
fn message(stderr: &[u8]) -> String {
    let s = text(stderr);
    let line = s
        .lines()
        // docker's CLI may also log its own `time="…" level=error` lines
        // (a wait cancelled by the failed start).
        .find(|l| {
            !l.starts_with("See ")
                && !l.starts_with("WARNING")
                && !l.starts_with("time=")
                && !l.is_empty()
        })
        .unwrap_or_default();
    let line = line.strip_prefix("docker: ").unwrap_or(line);
    let line = line.strip_prefix("Error: ").unwrap_or(line);
    let line = line
        .strip_prefix("Error response from daemon: ")
        .unwrap_or(line);
    line.trim_end_matches('.').to_string()
}

/// The same values at `paths` in both inspects.
fn same_values(ours: &Value, theirs: &Value, paths: &[&str]) {
    for p in paths {
        assert_eq!(ours.pointer(p), theirs.pointer(p), "{p}: wharf vs docker");
    }
}

/// Labels, label files, the stop timeout, the domain name, the ID file,
/// the runtime; flags that cannot mean anything here fail as docker's do.
#[test]
fn metadata_flags() {
    let b = Both::new("meta");
    let files = b.w.scratch();
    let label_file = files.join("labels");
    std::fs::write(&label_file, "# comment\n  a=1\nbare\nc=x=y\n\n").unwrap();
    let lf = label_file.display().to_string();
    let (ours, theirs) = b.create(
        &[
            "-l",
            "foo",
            "--label",
            "a=2",
            "--label-file",
            &lf,
            "--stop-timeout",
            "3",
            "--domainname",
            "example.com",
            "--runtime",
            "runc",
            "--isolation",
            "default",
        ],
        &["true"],
    );
    same_values(
        &ours,
        &theirs,
        &[
            "/Config/Labels",
            "/Config/StopTimeout",
            "/Config/Domainname",
            "/HostConfig/Runtime",
            "/HostConfig/Isolation",
        ],
    );
    assert_eq!(ours["Config"]["Labels"]["a"], "2", "-l wins over the file");

    // The domain name inside, and in /etc/hosts as docker writes it.
    let out = b.same_output(
        &["-h", "box", "--domainname", "example.com"],
        &["sh", "-c", "hostname; cat /proc/sys/kernel/domainname"],
    );
    assert_eq!(out, "box\nexample.com\n");

    // --cidfile: the ID written; a file already there refused up front.
    let cid = files.join("cid");
    let cid_s = cid.display().to_string();
    let id = b.w.ok(["create", "--cidfile", &cid_s, &b.image]);
    assert_eq!(std::fs::read_to_string(&cid).unwrap(), id.trim());
    b.same_error("run", &["--cidfile", &cid_s], &["true"]);
    let inspect = b.inspect_ours(id.trim());
    assert_eq!(inspect["HostConfig"]["ContainerIDFile"], cid_s.as_str());

    // --stop-timeout is what `stop` waits before SIGKILL.
    let n = b.name("st");
    b.run_detached(
        &n,
        &["--stop-timeout", "1"],
        &["sh", "-c", "trap '' TERM; while true; do sleep 1; done"],
    );
    let t = std::time::Instant::now();
    b.w.ok(["stop", &n]);
    assert!(
        t.elapsed() < std::time::Duration::from_secs(6),
        "stop waited {:?} despite --stop-timeout 1",
        t.elapsed()
    );
    common::sh(docker().args(["stop", &n]));
    let code = ["inspect", "-f", "{{.State.ExitCode}}", &n];
    assert_eq!(b.w.ok(code), common::sh(docker().args(code)));
    assert_eq!(b.w.ok(code).trim(), "137");

    // Refused by both, with the same words; nothing made.
    b.same_error("create", &["--runtime", "foo"], &[]);
    b.same_error("create", &["--isolation", "hyperv"], &[]);
    b.same_error("create", &["--storage-opt", "size=1G"], &[]);
    b.same_error("create", &["-l", "="], &[]);
    b.same_error("run", &["--gpus", "all"], &["true"]);

    // --kernel-memory: docker's deprecation warning, the value kept.
    let (ours, theirs) = b.both("create", &["--kernel-memory", "8m"], &[]);
    ok(&ours, "wharf create --kernel-memory");
    ok(&theirs, "docker create --kernel-memory");
    assert!(text(&ours.stderr).contains(
        "WARNING: Specifying a kernel memory limit is deprecated and will be removed in a future release."
    ));
    let id = text(&ours.stdout);
    let inspect = b.inspect_ours(id.trim());
    let theirs_id = text(&theirs.stdout);
    b.docker_names
        .borrow_mut()
        .push(theirs_id.trim().to_string());
    assert_eq!(
        inspect["HostConfig"]["KernelMemory"],
        inspect_docker(theirs_id.trim())["HostConfig"]["KernelMemory"]
    );
}

/// `--health-*` and `--no-healthcheck` into `Config.Healthcheck`, merged
/// with the image's HEALTHCHECK as docker's daemon merges.
#[test]
fn health_flags() {
    require_docker();
    let w = Wharf::new();
    let image = format!("{}:1", unique("wharf-rf/health"));
    let images = DockerImages(vec![image.clone()]);
    import_busybox_in_both(
        &w,
        &image,
        &[
            "CMD [\"sh\"]",
            "HEALTHCHECK --interval=5s --timeout=2s --retries=4 CMD true",
        ],
    );
    let b = Both {
        w,
        image,
        _images: images,
        docker_names: Default::default(),
    };
    for flags in [
        &[][..],
        &["--health-cmd", "exit 0", "--health-retries", "2"][..],
        &[
            "--health-interval",
            "1m30s",
            "--health-timeout",
            "500ms",
            "--health-start-period",
            "3s",
        ][..],
        &["--no-healthcheck"][..],
    ] {
        let (ours, theirs) = b.create(flags, &[]);
        same_values(&ours, &theirs, &["/Config/Healthcheck"]);
    }
    let (ours, _) = b.create(&["--health-cmd", "exit 0"], &[]);
    assert_eq!(
        ours["Config"]["Healthcheck"]["Test"],
        serde_json::json!(["CMD-SHELL", "exit 0"])
    );
    for flags in [
        &["--no-healthcheck", "--health-retries", "1"][..],
        &["--health-interval", "-1s"][..],
        &["--health-retries", "-1"][..],
        &["--health-interval", "x"][..],
        &["--health-timeout", "500us"][..],
    ] {
        b.same_error("run", flags, &["true"]);
    }
}

/// The block device the root filesystem is on (`/dev/vda` ...), for the
/// block I/O throttles.
fn root_block_device() -> String {
    let out = common::sh(
        std::process::Command::new("findmnt").args(["-n", "-o", "SOURCE", "--target", "/"]),
    );
    let dev = out.trim().to_string();
    // A partition's parent disk: throttles apply to whole disks.
    let name = dev.trim_start_matches("/dev/");
    let parent = common::sh(std::process::Command::new("lsblk").args(["-no", "PKNAME", &dev]));
    match parent.trim() {
        "" => format!("/dev/{name}"),
        p => format!("/dev/{p}"),
    }
}

/// Removes a cgroup parent directory (in every v1 hierarchy and v2) that
/// `--cgroup-parent` made, as docker leaves it behind too.
struct CgroupParent(String);

impl Drop for CgroupParent {
    fn drop(&mut self) {
        let Ok(dirs) = std::fs::read_dir("/sys/fs/cgroup") else {
            return;
        };
        let rel = self.0.trim_start_matches('/');
        let _ = std::fs::remove_dir(std::path::Path::new("/sys/fs/cgroup").join(rel));
        for d in dirs.flatten() {
            let _ = std::fs::remove_dir(d.path().join(rel));
        }
    }
}

/// CPU, memory, OOM, block I/O limits and the cgroup parent: recorded as
/// docker records them, seen in the container's cgroup files as docker's
/// containers see them, refused and warned about with docker's words.
#[test]
fn resource_flags() {
    let b = Both::new("res");
    let dev = root_block_device();
    let read_bps = format!("{dev}:1mb");
    let write_iops = format!("{dev}:100");
    let parent = format!("/{}", unique("wharf-rf-parent"));
    let _parent = CgroupParent(parent.clone());
    let flags = [
        "--cpu-shares",
        "512",
        "--cpu-period",
        "50000",
        "--cpu-quota",
        "25000",
        "--cpuset-cpus",
        "0",
        "--cpuset-mems",
        "0",
        "-m",
        "64m",
        "--memory-swap",
        "128m",
        "--memory-reservation",
        "32m",
        "--memory-swappiness",
        "10",
        "--oom-kill-disable",
        "--oom-score-adj",
        "100",
        "--device-read-bps",
        &read_bps,
        "--device-write-iops",
        &write_iops,
        "--cpu-rt-period",
        "1000000",
        "--cgroup-parent",
        &parent,
    ];
    let (ours, theirs) = b.create(&flags, &[]);
    same_values(
        &ours,
        &theirs,
        &[
            "/HostConfig/CpuShares",
            "/HostConfig/CpuPeriod",
            "/HostConfig/CpuQuota",
            "/HostConfig/CpuRealtimePeriod",
            "/HostConfig/CpusetCpus",
            "/HostConfig/CpusetMems",
            "/HostConfig/Memory",
            "/HostConfig/MemorySwap",
            "/HostConfig/MemoryReservation",
            "/HostConfig/MemorySwappiness",
            "/HostConfig/OomKillDisable",
            "/HostConfig/OomScoreAdj",
            "/HostConfig/BlkioWeight",
            "/HostConfig/BlkioWeightDevice",
            "/HostConfig/BlkioDeviceReadBps",
            "/HostConfig/BlkioDeviceWriteBps",
            "/HostConfig/BlkioDeviceReadIOps",
            "/HostConfig/BlkioDeviceWriteIOps",
            "/HostConfig/CgroupParent",
        ],
    );
    // What the process sees of its limits (cgroup v1 paths; the cgroup
    // names differ: /wharf and /docker hold the containers).
    let script = "cd /sys/fs/cgroup && cat cpu/cpu.shares cpu/cpu.cfs_period_us \
        cpu/cpu.cfs_quota_us cpu/cpu.rt_period_us cpuset/cpuset.cpus cpuset/cpuset.mems \
        memory/memory.limit_in_bytes memory/memory.memsw.limit_in_bytes \
        memory/memory.soft_limit_in_bytes memory/memory.swappiness memory/memory.oom_control \
        blkio/blkio.throttle.read_bps_device blkio/blkio.throttle.write_iops_device \
        /proc/self/oom_score_adj; grep -cE '(memory|pids|cpuset):/wharf-rf-parent' /proc/self/cgroup";
    let seen = b.same_output(&flags, &["sh", "-c", script]);
    assert!(
        seen.contains("oom_kill_disable 1") && seen.ends_with("\n3\n"),
        "{seen}"
    );
    assert!(
        seen.contains("\n1048576\n") || seen.contains(" 1048576\n"),
        "{seen}"
    );

    // Docker's defaults for a memory limit alone (swap twice memory), and
    // a limit this kernel cannot apply: warned about, recorded as 0.
    let (ours, theirs) = b.create(&["-m", "32m"], &[]);
    same_values(&ours, &theirs, &["/HostConfig/MemorySwap"]);
    let (o, t) = b.both("create", &["--blkio-weight", "300"], &[]);
    ok(&o, "wharf create --blkio-weight");
    ok(&t, "docker create --blkio-weight");
    b.docker_names
        .borrow_mut()
        .push(text(&t.stdout).trim().to_string());
    let warnings = |out: &Output| -> Vec<String> {
        text(&out.stderr)
            .lines()
            .filter(|l| l.starts_with("WARNING"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(warnings(&o), warnings(&t));
    assert_eq!(
        b.inspect_ours(text(&o.stdout).trim())["HostConfig"]["BlkioWeight"],
        inspect_docker(text(&t.stdout).trim())["HostConfig"]["BlkioWeight"]
    );

    for flags in [
        &["--cpu-quota", "500"][..],
        &["--cpu-period", "500"][..],
        &["--cpus", "1", "--cpu-quota", "50000"][..],
        &["--cpuset-cpus", "99"][..],
        &["--cpuset-mems", "3"][..],
        &["--cpuset-cpus", "x"][..],
        &["--oom-score-adj", "-1001"][..],
        &["--memory-swappiness", "101"][..],
        &["-m", "32m", "--memory-reservation", "64m"][..],
        &["--memory-swap", "64m"][..],
        &["--device-read-bps", "foo:1"][..],
        &["--device-write-iops", "/dev/foo:x"][..],
        &["--blkio-weight-device", "/dev/foo"][..],
    ] {
        b.same_error("run", flags, &["true"]);
    }
}

/// `--device` nodes (one, renamed, with permissions) and device cgroup
/// rules: the same nodes in /dev and the same allow-list as docker's.
#[test]
fn device_flags() {
    let b = Both::new("dev");
    let disk = format!("{}:/dev/xvda:r", root_block_device());
    let flags = [
        "--device",
        "/dev/null:/dev/mynull:rw",
        "--device",
        &disk,
        "--device-cgroup-rule",
        "c 42:* rmw",
    ];
    let (ours, theirs) = b.create(&flags, &[]);
    same_values(
        &ours,
        &theirs,
        &["/HostConfig/Devices", "/HostConfig/DeviceCgroupRules"],
    );
    // The allow-list in the kernel's words, sorted (runc writes it in its
    // own order).
    let script = "busybox stat -c '%n %F %t:%T %a %u:%g' /dev/mynull /dev/xvda; \
        busybox sort /sys/fs/cgroup/devices/devices.list";
    let seen = b.same_output(&flags, &["sh", "-c", script]);
    assert!(seen.contains("c 42:* rwm"), "{seen}");
    for flags in [
        &["--device", "/dev/nonexistent-wharf"][..],
        &["--device", "/etc/passwd"][..],
        &["--device", "/dev/null:rel"][..],
        &["--device", "/dev/null:/dev/x:rwx"][..],
        &["--device-cgroup-rule", "x 1:2 r"][..],
    ] {
        b.same_error("run", flags, &["true"]);
    }
}

/// `--pid`, `--ipc`, `--uts`, `--userns`, `--cgroupns`, `--shm-size`,
/// `--sysctl` and `--group-add`: recorded as docker records them, and the
/// same namespaces, /dev/shm, names, sysctls and groups inside.
#[test]
fn namespace_flags() {
    let b = Both::new("ns");
    let flags = [
        "--pid",
        "host",
        "--ipc",
        "host",
        "--uts",
        "host",
        "--userns",
        "host",
        "--cgroupns",
        "private",
        "--shm-size",
        "32m",
        "--sysctl",
        "net.ipv4.ip_forward=1",
        "--group-add",
        "nogroup",
    ];
    let (ours, theirs) = b.create(&flags, &[]);
    same_values(
        &ours,
        &theirs,
        &[
            "/HostConfig/PidMode",
            "/HostConfig/IpcMode",
            "/HostConfig/UTSMode",
            "/HostConfig/UsernsMode",
            "/HostConfig/CgroupnsMode",
            "/HostConfig/ShmSize",
            "/HostConfig/Sysctls",
            "/HostConfig/GroupAdd",
            "/HostConfig/SecurityOpt",
        ],
    );

    // The view from inside.
    let host_pid = "[ $$ -gt 1 ] && echo host pid namespace";
    b.same_output(&["--pid", "host"], &["sh", "-c", host_pid]);
    b.same_output(&["--uts", "host"], &["hostname"]);
    b.same_output(&["--shm-size", "32m"], &["busybox", "df", "-k", "/dev/shm"]);
    b.same_output(&["--ipc", "none"], &["sh", "-c", "ls /dev/shm 2>&1; true"]);
    b.same_output(
        &["--ipc", "host"],
        &["busybox", "grep", " /dev/shm ", "/proc/mounts"],
    );
    b.same_output(
        &["--cgroupns", "private"],
        &["busybox", "grep", ":memory:", "/proc/self/cgroup"],
    );
    b.same_output(
        &[
            "--sysctl",
            "net.ipv4.ip_forward=1",
            "--sysctl",
            "kernel.msgmax=1000",
        ],
        &[
            "cat",
            "/proc/sys/net/ipv4/ip_forward",
            "/proc/sys/kernel/msgmax",
        ],
    );
    let groups = b.same_output(&["--group-add", "nogroup", "--group-add", "1234"], &["id"]);
    assert!(groups.contains("1234,65534(nogroup)"), "{groups}");

    // Joining another container's PID and IPC namespaces (and its
    // /dev/shm); the mode names it by ID in both.
    let peer = b.name("peer");
    b.run_detached(
        &peer,
        &["--ipc", "shareable"],
        &["sh", "-c", "echo shared > /dev/shm/x; sleep 60"],
    );
    let pid_mode = format!("container:{peer}");
    b.wait_exec(&peer, &["cat", "/dev/shm/x"], "the peer's /dev/shm file");
    let seen = b.same_output(
        &["--pid", &pid_mode, "--ipc", &pid_mode],
        &["sh", "-c", "ps -o comm; cat /dev/shm/x"],
    );
    assert!(
        seen.contains("sleep") && seen.ends_with("shared\n"),
        "{seen}"
    );
    let (ours, theirs) = b.create(&["--pid", &pid_mode], &[]);
    let our_peer = b.inspect_ours(&peer)["Id"].as_str().unwrap().to_string();
    let their_peer = inspect_docker(&peer)["Id"].as_str().unwrap().to_string();
    assert_eq!(
        ours["HostConfig"]["PidMode"],
        format!("container:{our_peer}")
    );
    assert_eq!(
        theirs["HostConfig"]["PidMode"],
        format!("container:{their_peer}")
    );

    // A peer without a shareable /dev/shm, then a stopped one: refused at
    // start, in docker's words.
    let plain = b.name("plain");
    b.run_detached(&plain, &[], &["sleep", "60"]);
    let plain_mode = format!("container:{plain}");
    let ids = |n: &str| {
        (
            b.inspect_ours(n)["Id"].as_str().unwrap().to_string(),
            inspect_docker(n)["Id"].as_str().unwrap().to_string(),
        )
    };
    let (our_plain, their_plain) = ids(&plain);
    let same_start_error = |flags: &[&str]| {
        let (o, t) = b.both("run", &[&["--rm"], flags].concat(), &["true"]);
        assert_eq!(o.status.code(), Some(125));
        assert_eq!(t.status.code(), Some(125));
        assert_eq!(
            message(&o.stderr).replace(&our_plain, "ID"),
            message(&t.stderr).replace(&their_plain, "ID"),
            "{flags:?}"
        );
    };
    same_start_error(&["--ipc", &plain_mode]);
    b.w.ok(["stop", "-t", "0", &plain]);
    common::sh(docker().args(["stop", "-t", "0", &plain]));
    same_start_error(&["--pid", &plain_mode]);

    for flags in [
        &["--pid", "foo"][..],
        &["--uts", "private"][..],
        &["--userns", "private"][..],
        &["--cgroupns", "foo"][..],
        &["-h", "box", "--uts", "host"][..],
        &["--sysctl", "kernel.hostname=x"][..],
        &["--pid", "container:nonexistent-wharf"][..],
    ] {
        b.same_error("run", flags, &["true"]);
    }
    // Refused by docker only once it starts (the container stays).
    for flags in [&["--ipc", "foo"][..], &["--group-add", "nosuch"][..]] {
        let (o, t) = b.both("run", &[&["--rm"], flags].concat(), &["true"]);
        assert_eq!((o.status.code(), t.status.code()), (Some(125), Some(125)));
        assert_eq!(message(&o.stderr), message(&t.stderr), "{flags:?}");
    }
}

/// The names of the files in `dir` with the container's ID replaced.
fn log_files(dir: &std::path::Path, id: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().replace(id, "ID"))
                .filter(|n| n.contains("log"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// `--log-driver json-file|local|none` with `--log-opt`: the same files
/// (rotated at `max-size`, `max-file` kept, `local`'s gzipped), the same
/// `logs` output read back across them, `--details` with the `labels`
/// and `env` attributes, and docker's refusals.
#[test]
fn log_flags() {
    let b = Both::new("log");
    let script = "for i in $(seq 1 100); do echo line $i; done";
    for driver in ["json-file", "local"] {
        let flags = [
            "--log-driver",
            driver,
            "--log-opt",
            "max-size=1k",
            "--log-opt",
            "max-file=3",
        ];
        let (ours, theirs) = b.create(&flags, &["sh", "-c", script]);
        same_values(&ours, &theirs, &["/HostConfig/LogConfig"]);
        assert_eq!(ours["LogPath"] == "", theirs["LogPath"] == "", "{driver}");
        let (oid, tid) = (
            ours["Id"].as_str().unwrap().to_string(),
            theirs["Id"].as_str().unwrap().to_string(),
        );
        b.w.ok(["start", "-a", &oid]);
        common::sh(docker().args(["start", "-a", &tid]));
        let logs_ours = b.w.ok(["logs", &oid]);
        let logs_theirs = common::sh(docker().args(["logs", &tid]));
        assert_eq!(logs_ours, logs_theirs, "{driver}: logs after rotation");
        assert!(logs_ours.ends_with("line 100\n"));
        assert_eq!(
            b.w.ok(["logs", "--tail", "3", &oid]),
            common::sh(docker().args(["logs", "--tail", "3", &tid]))
        );
        let sub = if driver == "local" { "local-logs" } else { "" };
        let ours_dir = b.w.root().join("containers").join(&oid).join(sub);
        let theirs_dir = std::path::Path::new("/var/lib/docker/containers")
            .join(&tid)
            .join(sub);
        assert_eq!(
            log_files(&ours_dir, &oid),
            log_files(&theirs_dir, &tid),
            "{driver}: the log files"
        );
    }

    // --log-driver none: nothing to read, in docker's words (exit 1).
    let (ours, theirs) = b.create(&["--log-driver", "none"], &["echo", "hi"]);
    same_values(&ours, &theirs, &["/HostConfig/LogConfig", "/LogPath"]);
    let (oid, tid) = (ours["Id"].as_str().unwrap(), theirs["Id"].as_str().unwrap());
    let o = b.w.run(["logs", oid]);
    let t = docker().args(["logs", tid]).output().unwrap();
    assert_eq!((o.status.code(), t.status.code()), (Some(1), Some(1)));
    assert_eq!(message(&o.stderr), message(&t.stderr));

    // --details: the attributes `labels=` and `env=` name, then the line.
    let flags = [
        "-l",
        "app=web",
        "-e",
        "FOO=bar",
        "--log-opt",
        "labels=app",
        "--log-opt",
        "env=FOO",
    ];
    let (ours, theirs) = b.create(&flags, &["sh", "-c", "echo out; echo err >&2"]);
    let (oid, tid) = (ours["Id"].as_str().unwrap(), theirs["Id"].as_str().unwrap());
    b.w.ok(["start", "-a", oid]);
    common::sh(docker().args(["start", "-a", tid]));
    for args in [&["logs", "--details"][..], &["logs"][..]] {
        let o = b.w.run([args, &[oid]].concat());
        let t = docker().args([args, &[tid]].concat()).output().unwrap();
        assert_eq!(text(&o.stdout), text(&t.stdout), "{args:?}");
        assert_eq!(text(&o.stderr), text(&t.stderr), "{args:?}");
    }
    assert_eq!(b.w.ok(["logs", "--details", oid]), "FOO=bar,app=web out\n");

    for flags in [
        &["--log-driver", "nonexistent-wharf"][..],
        &["--log-opt", "max-size=abc"][..],
        &["--log-opt", "max-size=0"][..],
        &["--log-opt", "foo=1"][..],
        &["--log-driver", "none", "--log-opt", "max-size=1k"][..],
        &["--log-driver", "local", "--log-opt", "labels=x"][..],
        &[
            "--log-driver",
            "local",
            "--log-opt",
            "compress=true",
            "--log-opt",
            "max-file=1",
        ][..],
    ] {
        b.same_error("run", flags, &["true"]);
    }
}

/// `Mounts` without what differs by nature (volume names and host paths
/// of anonymous volumes), sorted by destination.
fn mounts_shape(inspect: &Value) -> Vec<Value> {
    let mut m: Vec<Value> = inspect["Mounts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|mut m| {
            if m["Type"] == "volume" {
                let named = m["Name"].as_str().is_some_and(|n| n.len() != 64);
                if !named {
                    m["Name"] = Value::from("ANON");
                }
                m["Source"] = Value::from("VOLUME");
            }
            m
        })
        .collect();
    m.sort_by_key(|m| m["Destination"].as_str().unwrap_or_default().to_string());
    m
}

/// `--volumes-from`: the other container's binds and volumes (not its
/// tmpfs), read-only with `:ro`, replaced by the container's own mounts
/// at the same place; shared for real between the two.
#[test]
fn volumes_from_flags() {
    struct DockerVolume(String);
    impl Drop for DockerVolume {
        fn drop(&mut self) {
            let _ = docker().args(["volume", "rm", "-f", &self.0]).output();
        }
    }
    // Dropped after `b`, which removes the containers holding it.
    let vol = unique("wharf-rf-vol");
    let _vol = DockerVolume(vol.clone());
    let b = Both::new("vf");
    let host_dir = b.w.scratch().join("shared");
    std::fs::create_dir_all(&host_dir).unwrap();
    let bind = format!("{}:/hostdir:ro", host_dir.display());
    let named = format!("{vol}:/named");
    let src = b.name("src");
    let src_flags = [
        "--name", &src, "-v", "/anon", "-v", &named, "-v", &bind, "--tmpfs", "/tm",
    ];
    let (o, t) = b.both("create", &src_flags, &["true"]);
    ok(&o, "wharf create");
    ok(&t, "docker create");
    let ro = format!("{src}:ro");
    for flags in [
        &["--volumes-from", &src][..],
        &["--volumes-from", &ro, "-v", "/etc:/named"][..],
    ] {
        let (ours, theirs) = b.create(flags, &["true"]);
        same_values(
            &ours,
            &theirs,
            &[
                "/HostConfig/VolumesFrom",
                "/HostConfig/Binds",
                "/Config/Volumes",
            ],
        );
        assert_eq!(mounts_shape(&ours), mounts_shape(&theirs), "{flags:?}");
    }
    // What one container writes in a volume, the other reads; `:ro`
    // cannot write.
    let script = "echo hi > /named/f && cat /named/f; touch /hostdir/x 2>&1; true";
    b.same_output(&["--volumes-from", &src], &["sh", "-c", script]);
    b.same_output(
        &["--volumes-from", &ro],
        &["sh", "-c", "touch /named/g 2>&1; cat /named/f"],
    );
    b.same_error("run", &["--volumes-from", "nonexistent-wharf"], &["true"]);
    let bad = format!("{src}:rshared");
    b.same_error("run", &["--volumes-from", &bad], &["true"]);
    // The containers go before the volume they hold.
    for n in b.docker_names.borrow().iter() {
        let _ = docker().args(["rm", "-f", "-v", n]).output();
    }
    let ids = b.w.ok(["ps", "-aq"]);
    for id in ids.lines() {
        b.w.ok(["rm", "-f", id]);
    }
    b.w.ok(["volume", "rm", &vol]);
}

/// `--link` (the linked container's address in /etc/hosts and its
/// `ALIAS_*` variables, recorded as `/name:/me/alias`), `--mac-address`,
/// `--link-local-ip` and `--ip6`, side by side with docker.
#[test]
fn network_flags() {
    let b = Both::new("net");
    let web = b.name("web");
    b.run_detached(
        &web,
        &["-e", "FOO=bar", "--expose", "80", "--expose", "53/udp"],
        &["sleep", "60"],
    );
    // What differs by nature: the linked container's address and ID, and
    // the new one's.
    let normalize = |out: &str, inspect: &Value| {
        let ip = inspect["NetworkSettings"]["IPAddress"].as_str().unwrap();
        let id = &inspect["Id"].as_str().unwrap()[..12];
        out.replace(ip, "IP").replace(id, "ID")
    };
    let cli = b.name("cli");
    let link = format!("{web}:web");
    let flags = [
        "--rm",
        "--name",
        &cli,
        "--link",
        &link,
        "--link",
        &web,
        "--add-host",
        "a:1.2.3.4",
    ];
    // Sorted: docker writes the links' lines in its map's order.
    let script = "busybox grep -v $HOSTNAME /etc/hosts | busybox sort; \
        env | busybox grep -v HOSTNAME | busybox sort";
    let (o, t) = b.both("run", &flags, &["sh", "-c", script]);
    ok(&o, "wharf run --link");
    ok(&t, "docker run --link");
    assert_eq!(
        normalize(&text(&o.stdout), &b.inspect_ours(&web)),
        normalize(&text(&t.stdout), &inspect_docker(&web)),
    );
    assert!(text(&o.stdout).contains("WEB_PORT_80_TCP_PROTO=tcp"));
    let (ours, theirs) = b.create(&["--link", &link], &[]);
    let name = |v: &Value| v["Name"].as_str().unwrap().to_string();
    assert_eq!(
        ours["HostConfig"]["Links"],
        serde_json::json!([format!("/{web}:{}/web", name(&ours))])
    );
    assert_eq!(
        theirs["HostConfig"]["Links"],
        serde_json::json!([format!("/{web}:{}/web", name(&theirs))])
    );

    // --mac-address on the default bridge.
    let mac = "02:42:ac:11:00:99";
    b.same_output(
        &["--mac-address", mac],
        &["cat", "/sys/class/net/eth0/address"],
    );
    let (ours, theirs) = b.create(&["--mac-address", mac], &[]);
    same_values(&ours, &theirs, &["/Config/MacAddress"]);

    // A user-defined network: --link-local-ip added to eth0, --ip6 refused
    // (no IPv6 subnet), both recorded in the endpoint's IPAMConfig.
    let net = unique("wharf-rf-net");
    struct DockerNetwork(String);
    impl Drop for DockerNetwork {
        fn drop(&mut self) {
            let _ = docker().args(["network", "rm", &self.0]).output();
        }
    }
    // docker's first: its bridge exists at once, and wharf's subnet
    // allocation skips the routes it finds (wharf makes a user network's
    // bridge at first use, which docker's allocation cannot see).
    common::sh(docker().args(["network", "create", &net]));
    let _net = DockerNetwork(net.clone());
    b.w.ok(["network", "create", &net]);
    let flags = ["--network", &net, "--link-local-ip", "169.254.1.1"];
    let (ours, theirs) = b.create(&flags, &[]);
    let ipam = |v: &Value| v["NetworkSettings"]["Networks"][&net]["IPAMConfig"].clone();
    assert_eq!(ipam(&ours), ipam(&theirs));
    let seen = b.same_output(
        &flags,
        &[
            "sh",
            "-c",
            "ip -4 addr show eth0 | busybox grep -c 169.254.1.1/16",
        ],
    );
    assert_eq!(seen, "1\n");
    for flags in [
        &["--network", &net, "--link-local-ip", "10.0.0.1"][..],
        &["--network", &net, "--link-local-ip", "foo"][..],
        &["--network", &net, "--ip6", "2001:db8::1"][..],
        &["--mac-address", "foo"][..],
        &["--link", "nonexistent-wharf:x"][..],
        &["--network", "host", "--link", &link][..],
    ] {
        b.same_error("run", flags, &["true"]);
    }
    // docker ignores --ip6 on the default bridge.
    b.same_output(&["--ip6", "2001:db8::1"], &["true"]);
    // A link to a stopped container: refused at start.
    b.w.ok(["stop", "-t", "0", &web]);
    common::sh(docker().args(["stop", "-t", "0", &web]));
    let (o, t) = b.both("run", &["--rm", "--name", &cli, "--link", &link], &["true"]);
    assert_eq!((o.status.code(), t.status.code()), (Some(125), Some(125)));
    assert_eq!(message(&o.stderr), message(&t.stderr));
    // Removed before the network they are on.
    for n in b.docker_names.borrow().iter() {
        let _ = docker().args(["rm", "-f", "-v", n]).output();
    }
    for id in b.w.ok(["ps", "-aq"]).lines() {
        b.w.ok(["rm", "-f", id]);
    }
    b.w.ok(["network", "rm", &net]);
}

/// `-a/--attach`: only the streams named reach the terminal, the
/// `Config.Attach*` fields say which, and docker's refusals.
#[test]
fn attach_flags() {
    let b = Both::new("att");
    let script = "echo out; echo err >&2; exit 3";
    for flags in [
        &["-a", "stdout"][..],
        &["-a", "stderr"][..],
        &["-a", "STDOUT", "-a", "stderr"][..],
        &["-a", "stdin"][..],
    ] {
        let (ours, theirs) = b.create(flags, &[]);
        same_values(
            &ours,
            &theirs,
            &[
                "/Config/AttachStdin",
                "/Config/AttachStdout",
                "/Config/AttachStderr",
                "/Config/OpenStdin",
                "/Config/StdinOnce",
            ],
        );
        let (o, t) = b.both("run", &[&["--rm"], flags].concat(), &["sh", "-c", script]);
        assert_eq!(o.status.code(), t.status.code(), "{flags:?}");
        // `-a stdin` alone: the ID, as if detached.
        let id = |out: &Output| text(&out.stdout).trim().len() == 64;
        if flags == ["-a", "stdin"] {
            assert!(id(&o) && id(&t), "{flags:?}: {o:?}");
            continue;
        }
        assert_eq!(o.status.code(), Some(3), "{flags:?}");
        assert_eq!(text(&o.stdout), text(&t.stdout), "{flags:?}: stdout");
        assert_eq!(text(&o.stderr), text(&t.stderr), "{flags:?}: stderr");
    }
    b.same_error("run", &["-a", "foo"], &["true"]);
    // -a with -d: docker's CLI refuses the pair with exit 1.
    let (o, t) = b.both("run", &["-d", "-a", "stdout"], &["true"]);
    assert_eq!((o.status.code(), t.status.code()), (Some(1), Some(1)));
    assert_eq!(message(&o.stderr), message(&t.stderr));
}

/// `build`'s container flags (`--add-host`, `--memory`, `--cpu-*`,
/// `--shm-size`, `--ulimit`): what a RUN step sees, as under docker's
/// builder; `--cache-from`, `--compress`, `--force-rm` accepted;
/// `--security-opt` and `--isolation hyperv` refused as docker refuses.
#[test]
fn build_flags() {
    let b = Both::new("build");
    let ctx = b.w.scratch().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    let script = "busybox grep foo /etc/hosts; cd /sys/fs/cgroup; \
        cat memory/memory.limit_in_bytes cpu/cpu.shares cpu/cpu.cfs_quota_us; \
        busybox df -k /dev/shm; ulimit -n";
    std::fs::write(
        ctx.join("Dockerfile"),
        format!("FROM {}\nRUN sh -c '{script}' > /seen\n", b.image),
    )
    .unwrap();
    let tag = format!("{}:1", unique("wharf-rf/built"));
    let _built = DockerImages(vec![tag.clone()]);
    let ctx_s = ctx.display().to_string();
    let args = [
        "build",
        "--no-cache",
        "-q",
        "--add-host",
        "foo:1.2.3.4",
        "--memory",
        "64m",
        "--cpu-shares",
        "512",
        "--cpu-quota",
        "50000",
        "--shm-size",
        "32m",
        "--ulimit",
        "nofile=1024:2048",
        "--cache-from",
        "x:y",
        "--compress",
        "--force-rm",
        "-t",
        &tag,
        &ctx_s,
    ];
    b.w.ok(args);
    common::sh(docker().args(args));
    let ours = b.w.ok(["run", "--rm", &tag, "cat", "/seen"]);
    let theirs = common::sh(docker().args(["run", "--rm", &tag, "cat", "/seen"]));
    assert_eq!(ours, theirs);
    assert!(
        ours.starts_with("1.2.3.4\tfoo\n67108864\n512\n50000\n"),
        "{ours}"
    );
    for flags in [
        &["--security-opt", "seccomp=unconfined"][..],
        &["--isolation", "hyperv"][..],
        &["--add-host", "foo"][..],
    ] {
        let mut args = vec!["build"];
        args.extend(flags);
        args.push(&ctx_s);
        let o = b.w.run(&args);
        let t = docker().args(&args).output().unwrap();
        assert!(!o.status.success() && !t.status.success(), "{flags:?}");
        assert_eq!(message(&o.stderr), message(&t.stderr), "{flags:?}");
    }
}

/// `exec --env-file` (the file's lines, then `-e`) and `exec
/// --privileged` (every capability the engine can give, as a privileged
/// container gets them; docker here cannot give the ones its daemon lacks
/// and fails such an exec).
#[test]
fn exec_flags() {
    let b = Both::new("exec");
    let n = b.name("ex");
    b.run_detached(&n, &[], &["sleep", "60"]);
    let file = b.w.scratch().join("env");
    std::fs::write(&file, "# vars\nA=1\nB=2\n").unwrap();
    let f = file.display().to_string();
    let args = [
        "exec",
        "--env-file",
        &f,
        "-e",
        "B=3",
        &n,
        "sh",
        "-c",
        "echo $A $B",
    ];
    let ours = b.w.ok(args);
    assert_eq!(ours, common::sh(docker().args(args)));
    assert_eq!(ours, "1 3\n");
    let args = ["exec", "--env-file", "/nonexistent-wharf", &n, "true"];
    let (o, t) = (b.w.run(args), docker().args(args).output().unwrap());
    assert_eq!((o.status.code(), t.status.code()), (Some(1), Some(1)));
    assert_eq!(message(&o.stderr), message(&t.stderr));

    let caps = "busybox grep CapEff /proc/self/status";
    let privileged = b.w.ok(["exec", "--privileged", &n, "sh", "-c", caps]);
    let plain = b.w.ok(["exec", &n, "sh", "-c", caps]);
    let container =
        b.w.ok(["run", "--rm", "--privileged", &b.image, "sh", "-c", caps]);
    assert_eq!(
        privileged, container,
        "exec --privileged: a privileged container's caps"
    );
    assert_ne!(privileged, plain);
    assert_eq!(
        plain,
        common::sh(docker().args(["exec", &n, "sh", "-c", caps])),
        "without --privileged: the container's own set, as docker's"
    );
}

/// `ps --size`: the writable layer's bytes and the virtual size (image
/// included), docker's column and `{{.Size}}`.
#[test]
fn ps_size() {
    let b = Both::new("size");
    let n = b.name("sz");
    b.run_detached(&n, &[], &["sh", "-c", "echo hello > /f; sleep 60"]);
    b.wait_exec(&n, &["cat", "/f"], "the file written");
    let filter = format!("name={n}");
    for args in [
        &[
            "ps",
            "--filter",
            &filter,
            "--format",
            "{{.Names}} {{.Size}}",
        ][..],
        &[
            "ps",
            "-s",
            "--filter",
            &filter,
            "--format",
            "table {{.Names}}\t{{.Size}}",
        ][..],
    ] {
        let ours = b.w.ok(args);
        assert_eq!(ours, common::sh(docker().args(args)), "{args:?}");
        assert!(ours.contains("6B (virtual "), "{ours}");
    }
    let ps = b.w.ok(["ps", "-s"]);
    let header: Vec<&str> = ps.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header[header.len() - 2..], ["NAMES", "SIZE"], "{ps}");
}
