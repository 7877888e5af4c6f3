//! Crash safety: each test kills a wharf command at a named failpoint
//! (`WHARF_FAILPOINTS=<point>=abort`, a SIGKILL exactly there), then
//! proves that nothing half-made is listed, that `system check` finds no
//! inconsistency (only leftovers, which `--repair` removes), that no
//! mount, cgroup, link, rule or process is left once repaired, and that
//! the same operation retried succeeds.

mod common;
mod registry_env;

use std::ffi::OsStr;
use std::os::unix::process::ExitStatusExt;
use std::process::Output;

use common::{
    assert_no_docker_user_rules, busybox_rootfs_tar, mounts_under, output_with_stdin, Wharf,
};

/// Run `args` with `point` armed; it must die by SIGKILL there.
fn crash_at<I, S>(w: &Wharf, point: &str, args: I, stdin: Option<&[u8]>) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out = match stdin {
        Some(data) => {
            let mut c = w.command(args);
            c.env("WHARF_FAILPOINTS", format!("{point}=abort"));
            output_with_stdin(c, data)
        }
        None => w
            .command(args)
            .env("WHARF_FAILPOINTS", format!("{point}=abort"))
            .output()
            .unwrap(),
    };
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGKILL),
        "{point} was not reached: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `system check` output and whether it exited 0.
fn check(w: &Wharf, repair: bool) -> (bool, String) {
    let mut args = vec!["system", "check"];
    if repair {
        args.push("--repair");
    }
    let out = w.run(args);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The store has no inconsistency (leftovers of the killed process are
/// allowed); returns the check's report.
fn consistent(w: &Wharf) -> String {
    let (_, report) = check(w, false);
    assert!(
        !report.lines().any(|l| l.starts_with("error:")),
        "inconsistent after the crash:\n{report}"
    );
    report
}

/// `--repair` removes every leftover, and nothing is left: no finding, no
/// mount under the root.
fn repaired_and_clean(w: &Wharf) {
    let (ok, report) = check(w, true);
    assert!(ok, "repair left problems:\n{report}");
    let (ok, report) = check(w, false);
    assert!(ok, "{report}");
    assert_eq!(report, "No problems found\n");
    w.settled();
    assert_eq!(mounts_under(w), Vec::<String>::new());
}

fn busybox_tar(w: &Wharf) -> Vec<u8> {
    std::fs::read(busybox_rootfs_tar(&w.scratch())).unwrap()
}

fn images(w: &Wharf) -> String {
    w.ok(["images", "-a", "--format", "{{.Repository}}:{{.Tag}}"])
}

/// A container marked for removal cannot be started: a start that raced a
/// removal (`container prune` beside `run`) recreated the removed directory
/// and left the container's network namespace mounted in it. Here the
/// removal is killed right after marking the row, so the start surely
/// comes after the mark; the retried removal then finishes the job.
#[test]
fn a_container_being_removed_is_not_started() {
    let w = Wharf::new();
    w.import_busybox("bb:1");
    w.ok(["create", "--name", "going", "bb:1", "sleep", "300"]);
    crash_at(&w, "rm-after-mark", ["rm", "going"], None);
    let out = w.run(["start", "going"]);
    assert!(!out.status.success(), "a container being removed started");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("container is marked for removal and cannot be started"),
        "{err}"
    );
    assert_eq!(w.ok(["ps", "-q"]), "", "nothing runs");
    assert!(
        mounts_under(&w).is_empty(),
        "the failed start left mounts: {:?}",
        mounts_under(&w)
    );
    w.ok(["rm", "going"]);
    w.settled();
    repaired_and_clean(&w);
}

#[test]
fn check_of_a_fresh_and_a_busy_store_finds_nothing() {
    let w = Wharf::new();
    w.import_busybox("bb:1");
    let (ok, report) = check(&w, false);
    assert!(ok, "{report}");
    assert_eq!(report, "No problems found\n");
    w.ok(["network", "create", "crashnet"]);
    w.ok(["volume", "create", "crashvol"]);
    w.ok([
        "run",
        "-d",
        "--name",
        "busy",
        "--network",
        "crashnet",
        "-v",
        "crashvol:/data",
        "bb:1",
        "sleep",
        "300",
    ]);
    let (ok, report) = check(&w, false);
    assert!(ok, "a running container is no problem:\n{report}");
    w.ok(["rm", "-f", "busy"]);
    repaired_and_clean(&w);
}

#[test]
fn check_finds_and_repairs_damage() {
    let w = Wharf::new();
    let id = w.import_busybox("bb:1");
    let hex = id.trim_start_matches("sha256:");
    // A corrupt config blob: an error no repair can undo.
    let blob = w.root().join("blobs/sha256").join(hex);
    let good = std::fs::read(&blob).unwrap();
    std::fs::write(&blob, b"{}").unwrap();
    // A stray blob and layer tree, and a dead process's temp file.
    std::fs::write(w.root().join("blobs/sha256").join("00".repeat(32)), b"x").unwrap();
    std::fs::create_dir_all(w.root().join("layers").join("11".repeat(32))).unwrap();
    std::fs::write(w.root().join("tmp/blob-999999999-1"), b"x").unwrap();
    let (ok, report) = check(&w, false);
    assert!(!ok);
    let lines: Vec<&str> = report.lines().collect();
    assert!(
        lines.contains(&format!("error: blob {id}: its content has digest sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a").as_str()),
        "{report}"
    );
    assert!(
        lines.contains(
            &format!(
                "leftover: blob sha256:{}: no row refers to it",
                "00".repeat(32)
            )
            .as_str()
        ),
        "{report}"
    );
    assert!(
        report.contains("leftover: layer tree ") && report.contains("tmp/blob-999999999-1"),
        "{report}"
    );
    assert!(
        report.ends_with("5 problems found; `wharf system check --repair` fixes what it can\n")
            || report.contains("problems found;"),
        "{report}"
    );
    let (ok, report) = check(&w, true);
    assert!(!ok, "the corrupt blob remains:\n{report}");
    assert!(report.contains("1 remaining"), "{report}");
    std::fs::write(&blob, good).unwrap();
    repaired_and_clean(&w);
}

#[test]
fn import_killed_mid_layer_or_around_its_commit() {
    for point in [
        "layer-ingest-mid",
        "image-commit-before-tx",
        "image-commit-after-tx",
    ] {
        let w = Wharf::new();
        let tar = busybox_tar(&w);
        crash_at(&w, point, ["import", "-", "bb:1"], Some(&tar));
        let listed = images(&w);
        if point == "image-commit-after-tx" {
            assert_eq!(listed, "bb:1\n", "{point}: committed before the crash");
        } else {
            assert_eq!(listed, "", "{point}: nothing half-made is listed");
        }
        consistent(&w);
        let out = w.with_stdin(["import", "-", "bb:1"], &tar);
        assert!(out.status.success(), "{point}: retry failed");
        // (A second import is a new image, as in docker: the first one,
        // committed before the crash, is left untagged.)
        assert!(images(&w).starts_with("bb:1\n"), "{point}");
        repaired_and_clean(&w);
    }
}

#[test]
fn load_killed_mid_layer_or_before_its_commit() {
    let src = Wharf::new();
    let id = src.import_busybox("busybox:local");
    let tar = src.save_to("bb.tar", &["busybox:local"]);
    for point in ["layer-ingest-mid", "image-commit-before-tx"] {
        let w = Wharf::new();
        crash_at(
            &w,
            point,
            [OsStr::new("load"), OsStr::new("-i"), tar.as_os_str()],
            None,
        );
        assert_eq!(w.ok(["images", "-aq"]), "", "{point}: nothing listed");
        consistent(&w);
        assert_eq!(w.load(&tar), "Loaded image: busybox:local\n");
        assert_eq!(w.image_id("busybox:local"), id);
        repaired_and_clean(&w);
    }
}

#[test]
fn commit_killed_before_its_transaction() {
    let w = Wharf::new();
    w.import_busybox("bb:1");
    w.ok(["run", "--name", "c1", "bb:1", "sh", "-c", "echo x > /made"]);
    crash_at(
        &w,
        "image-commit-before-tx",
        ["commit", "c1", "made:1"],
        None,
    );
    assert_eq!(images(&w), "bb:1\n");
    consistent(&w);
    w.ok(["commit", "c1", "made:1"]);
    assert_eq!(w.ok(["run", "--rm", "made:1", "cat", "/made"]), "x\n");
    w.ok(["rm", "c1"]);
    repaired_and_clean(&w);
}

fn build_context(w: &Wharf, dockerfile: &str) -> std::path::PathBuf {
    let ctx = w.scratch().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("Dockerfile"), dockerfile).unwrap();
    ctx
}

#[test]
fn build_killed_during_a_run_step_at_layer_adoption_and_before_tagging() {
    for point in [
        "build-run-step",
        "layer-adopt-before-tx",
        "build-before-tag",
    ] {
        let w = Wharf::new();
        w.import_busybox("bb:1");
        let ctx = build_context(
            &w,
            "FROM bb:1\nRUN echo built > /out\nCMD [\"cat\", \"/out\"]\n",
        );
        let args = [
            OsStr::new("build"),
            OsStr::new("-q"),
            OsStr::new("-t"),
            OsStr::new("built:1"),
            ctx.as_os_str(),
        ];
        crash_at(&w, point, args, None);
        assert_eq!(images(&w), "bb:1\n", "{point}: nothing half-made listed");
        // A killed build's step finishes on its own; its monitor then
        // leaves nothing mounted.
        w.settled();
        consistent(&w);
        w.ok(args);
        assert_eq!(w.ok(["run", "--rm", "built:1"]), "built\n", "{point}");
        repaired_and_clean(&w);
    }
}

#[test]
fn rm_killed_between_its_files_and_its_row() {
    let w = Wharf::new();
    w.import_busybox("bb:1");
    w.ok(["network", "create", "rmnet"]);
    w.ok([
        "run",
        "-d",
        "--name",
        "victim",
        "--network",
        "rmnet",
        "-p",
        "8080",
        "bb:1",
        "sleep",
        "300",
    ]);
    crash_at(&w, "container-rm-mid", ["rm", "-f", "victim"], None);
    w.settled();
    // The retried rm finishes the job.
    w.ok(["rm", "-f", "victim"]);
    assert_eq!(w.ok(["ps", "-aq"]), "");
    consistent(&w);
    w.ok(["network", "rm", "rmnet"]);
    repaired_and_clean(&w);
}

#[test]
fn rmi_and_prune_killed_before_deleting_files() {
    for (point, args) in [
        ("image-rm-before-discard", vec!["rmi", "bb:1"]),
        ("image-prune-before-discard", vec!["image", "prune", "-af"]),
    ] {
        let w = Wharf::new();
        w.import_busybox("bb:1");
        crash_at(&w, point, &args, None);
        assert_eq!(images(&w), "", "{point}: the image is gone");
        let report = consistent(&w);
        assert!(report.contains("leftover: "), "{point}: {report}");
        // Done already: the retry finds nothing to delete.
        let out = w.run(&args);
        if point == "image-rm-before-discard" {
            assert!(!out.status.success());
            assert!(String::from_utf8_lossy(&out.stderr).contains("No such image: bb:1"));
        } else {
            assert!(out.status.success());
        }
        repaired_and_clean(&w);
        // And the store works as before.
        w.import_busybox("bb:1");
        assert_eq!(w.ok(["run", "--rm", "bb:1", "echo", "ok"]), "ok\n");
    }
}

#[test]
fn network_create_and_rm_killed_around_their_row() {
    let w = Wharf::new();
    w.import_busybox("bb:1");
    crash_at(
        &w,
        "network-create-before-tx",
        ["network", "create", "half"],
        None,
    );
    assert!(!w
        .ok(["network", "ls", "--format", "{{.Name}}"])
        .contains("half"));
    let report = consistent(&w);
    assert!(report.contains("leftover: subnet "), "{report}");
    w.ok(["network", "create", "half"]);
    assert_eq!(
        w.ok(["run", "--rm", "--network", "half", "bb:1", "echo", "up"]),
        "up\n"
    );
    w.settled();
    crash_at(&w, "network-rm-after-tx", ["network", "rm", "half"], None);
    assert!(!w
        .ok(["network", "ls", "--format", "{{.Name}}"])
        .contains("half"));
    consistent(&w);
    let (code, err) = w.fails(["network", "rm", "half"]);
    assert_eq!(code, 1);
    assert!(err.contains("half"), "{err}");
    repaired_and_clean(&w);
    w.ok(["network", "create", "half"]);
    // Killed with its row written, before its bridge: the network is
    // there, and its first container makes the bridge.
    crash_at(
        &w,
        "network-create-before-bridge",
        ["network", "create", "nobridge"],
        None,
    );
    consistent(&w);
    assert_eq!(
        w.ok(["run", "--rm", "--network", "nobridge", "bb:1", "echo", "up"]),
        "up\n"
    );
    w.settled();
    w.ok(["network", "rm", "nobridge", "half"]);
    repaired_and_clean(&w);
}

/// Every way a bridge goes takes docker's DOCKER-USER rules for it (and
/// the marker saying it has them) along: `network rm`, `system prune` of
/// the idle default bridge, `system check --repair` of the bridge a killed
/// `network rm` left, and `network rm` of a network whose bridge was
/// deleted by another hand; rules whose bridge went without them are
/// found by `system check` and removed by `--repair`.
#[test]
fn removed_bridges_leave_no_docker_user_rules() {
    common::require_docker();
    let w = Wharf::new();
    w.import_busybox("bb:1");
    // A network's bridge gets its pair with its first container.
    let on_network = |net: &str| {
        w.ok(["network", "create", net]);
        let run = ["run", "--rm", "--network", net, "bb:1", "true"];
        w.ok(run);
        w.settled();
        let bridge = w.bridge_of(net);
        let (rules, marker) = common::docker_user_rules(&bridge);
        assert_eq!(rules.len(), 2, "{bridge}: {rules:?}");
        assert!(marker, "{bridge}: no marker");
        bridge
    };

    let plain = on_network("plain");
    w.ok(["network", "rm", "plain"]);
    w.settled();
    assert_no_docker_user_rules(&plain);

    let default = w.bridge_of("bridge");
    w.ok(["run", "--rm", "bb:1", "true"]);
    w.settled();
    assert_eq!(common::docker_user_rules(&default).0.len(), 2);
    w.ok(["system", "prune", "-f"]);
    assert_no_docker_user_rules(&default);

    // Killed with the row gone: the bridge is a leftover, repaired.
    let killed = on_network("killed");
    crash_at(&w, "network-rm-after-tx", ["network", "rm", "killed"], None);
    repaired_and_clean(&w);
    assert_no_docker_user_rules(&killed);

    // The bridge deleted first (this test made it), then the network.
    let deleted = on_network("deleted");
    common::sh(std::process::Command::new("ip").args(["link", "del", &deleted]));
    w.ok(["network", "rm", "deleted"]);
    w.settled();
    assert_no_docker_user_rules(&deleted);

    // Both: only `system check` still knows the rules are this root's.
    let orphan = on_network("orphan");
    common::sh(std::process::Command::new("ip").args(["link", "del", &orphan]));
    crash_at(&w, "network-rm-after-tx", ["network", "rm", "orphan"], None);
    let (ok, report) = check(&w, false);
    assert!(!ok, "{report}");
    assert!(
        report.contains(&format!(
            "leftover: iptables DOCKER-USER rules -o {orphan} -j ACCEPT, -i {orphan} -j ACCEPT: no network of this store root has the bridge\n"
        )),
        "{report}"
    );
    repaired_and_clean(&w);
    assert_no_docker_user_rules(&orphan);
}

#[test]
fn volume_create_and_rm_killed_around_their_row() {
    let w = Wharf::new();
    crash_at(
        &w,
        "volume-create-before-tx",
        ["volume", "create", "halfvol"],
        None,
    );
    assert_eq!(w.ok(["volume", "ls", "-q"]), "");
    consistent(&w);
    assert_eq!(w.ok(["volume", "create", "halfvol"]), "halfvol\n");
    assert_eq!(w.ok(["volume", "ls", "-q"]), "halfvol\n");
    crash_at(&w, "volume-rm-after-tx", ["volume", "rm", "halfvol"], None);
    assert_eq!(w.ok(["volume", "ls", "-q"]), "");
    let report = consistent(&w);
    assert!(report.contains("leftover: volume directory"), "{report}");
    repaired_and_clean(&w);
    assert_eq!(w.ok(["volume", "create", "halfvol"]), "halfvol\n");
}

#[test]
fn pull_killed_mid_blob_and_around_its_commit() {
    use registry_env::client::{import_unique, Client};
    use registry_env::{Registry, RegistryConfig};
    let reg = Registry::start(RegistryConfig::default());
    let a = Client::new();
    let name = format!("{}/me/crash:1", reg.host());
    import_unique(&a, &name);
    a.ok(["push", &name]);
    for point in [
        "layer-ingest-mid",
        "image-commit-before-tx",
        "image-commit-after-tx",
    ] {
        let b = Client::new();
        let out = b
            .cmd(["pull", "-q", &name])
            .env("WHARF_FAILPOINTS", format!("{point}=abort"))
            .output()
            .unwrap();
        assert_eq!(out.status.signal(), Some(libc::SIGKILL), "{point}");
        let listed = b.w.ok(["images", "-q"]);
        if point == "image-commit-after-tx" {
            assert_ne!(listed, "", "{point}: committed before the crash");
        } else {
            assert_eq!(listed, "", "{point}: nothing half-made is listed");
        }
        consistent(&b.w);
        b.ok(["pull", "-q", &name]);
        assert_eq!(b.w.image_id(&name), a.w.image_id(&name), "{point}");
        repaired_and_clean(&b.w);
    }
}

/// PIDs of the `wharf monitor` processes of container `id`.
fn monitor_pids(w: &Wharf, id: &str) -> Vec<i32> {
    let marker = format!("--root\0{}\0monitor\0", w.root().display());
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|p| {
            let pid: i32 = p.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(p.path().join("cmdline")).ok()?;
            let text = String::from_utf8_lossy(&cmdline);
            (text.contains(&marker) && text.contains(id)).then_some(pid)
        })
        .collect()
}

#[test]
fn a_rm_container_whose_monitor_was_killed_is_swept_by_ps() {
    let w = Wharf::new();
    w.import_busybox("bb:1");
    w.ok(["network", "create", "sweepnet"]);
    let id = w
        .ok([
            "run",
            "-d",
            "--rm",
            "--network",
            "sweepnet",
            "-p",
            "8080",
            "bb:1",
            "sleep",
            "300",
        ])
        .trim()
        .to_string();
    let pids = monitor_pids(&w, &id);
    assert_eq!(pids.len(), 1, "{pids:?}");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pids[0]),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    common::eventually(10, "the monitor to die", || {
        monitor_pids(&w, &id).is_empty()
    });
    // Before anything sweeps it, the check sees the dead monitor.
    let (ok, report) = check(&w, false);
    assert!(!ok && report.contains("its monitor is gone"), "{report}");
    // The next `ps` removes it, as its monitor would have.
    assert_eq!(w.ok(["ps", "-aq"]), "");
    assert_eq!(mounts_under(&w), Vec::<String>::new());
    let (ok, report) = check(&w, false);
    assert!(ok, "{report}");
    assert_eq!(report, "No problems found\n");
    w.ok(["network", "rm", "sweepnet"]);
}

#[test]
fn a_build_killed_during_a_long_run_step_leaves_nothing_after_the_next_build() {
    let w = Wharf::new();
    w.import_busybox("bb:1");
    let ctx = build_context(
        &w,
        "FROM bb:1\nARG D\nRUN sleep $D && echo built > /out\nCMD [\"cat\", \"/out\"]\n",
    );
    let build = |d: &str| {
        vec![
            OsStr::new("build").to_owned(),
            OsStr::new("-q").to_owned(),
            OsStr::new("--build-arg").to_owned(),
            format!("D={d}").into(),
            OsStr::new("-t").to_owned(),
            OsStr::new("built:1").to_owned(),
            ctx.as_os_str().to_owned(),
        ]
    };
    crash_at(&w, "build-run-step", build("300"), None);
    // The step's container runs on without its build: a leftover, and so
    // is its place on the default bridge (address, namespace, veth).
    let report = consistent(&w);
    assert!(
        report.contains("leftover: build step ") && report.contains("its build is gone"),
        "{report}"
    );
    assert!(
        report.contains("leftover: build step endpoint "),
        "{report}"
    );
    assert_eq!(veths(&w).len(), 1);
    // The next build stops it first.
    w.ok(build("0"));
    assert_eq!(w.ok(["run", "--rm", "built:1"]), "built\n");
    w.settled();
    let (ok, report) = check(&w, false);
    assert!(ok, "{report}");
    assert_eq!(report, "No problems found\n");
    assert_eq!(mounts_under(&w), Vec::<String>::new());
    common::eventually(5, "the step's veth to go", || veths(&w).is_empty());
    // Killed again: `system check --repair` releases it all the same.
    crash_at(&w, "build-run-step", build("301"), None);
    assert_eq!(veths(&w).len(), 1);
    repaired_and_clean(&w);
    common::eventually(5, "the step's veth to go", || veths(&w).is_empty());
}

/// This root's veths (`wv<tag>…`): its containers' and build steps'.
fn veths(w: &Wharf) -> Vec<String> {
    let prefix = format!("wv{}", w.tag());
    std::fs::read_dir("/sys/class/net")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&prefix))
        .collect()
}

#[test]
fn compose_up_killed_before_starting_its_containers() {
    let w = Wharf::new();
    w.import_busybox("bb:1");
    let p = common::compose::Project::new(
        &w,
        "crashproj",
        "services:\n  web:\n    image: bb:1\n    command: [\"sleep\", \"300\"]\n    stop_signal: SIGKILL\n    volumes: [\"data:/data\"]\n  db:\n    image: bb:1\n    command: [\"sleep\", \"300\"]\n    stop_signal: SIGKILL\nvolumes:\n  data: {}\n",
    );
    let out = w
        .command(["compose", "-p", &p.name, "up", "-d"])
        .current_dir(&p.dir)
        .env("WHARF_FAILPOINTS", "compose-up-before-start=abort")
        .output()
        .unwrap();
    assert_eq!(out.status.signal(), Some(libc::SIGKILL));
    consistent(&w);
    // What it made is whole (created, not started); `up` again starts it.
    let out = p.wharf(&w, ["up", "-d"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let running = w.ok(["ps", "--format", "{{.Names}}"]);
    let mut names: Vec<&str> = running.lines().collect();
    names.sort();
    assert_eq!(names, ["crashproj-db-1", "crashproj-web-1"]);
    let (ok, report) = check(&w, false);
    assert!(ok, "{report}");
    let out = p.wharf(&w, ["down", "-v"]);
    assert!(out.status.success());
    w.settled();
    repaired_and_clean(&w);
    assert_eq!(w.ok(["volume", "ls", "-q"]), "");
}

/// Four `rm -f` at once of 40 running containers (the scale run's
/// cleanup, smaller): a monitor records its container's exit as its last
/// act and then exits, so a remover that read the row just before that
/// write finds the monitor dead just after it. That is no crash: no
/// "monitor is gone" (it showed 3 times in 100 containers), and each
/// container gone.
#[test]
fn concurrent_rm_f_of_running_containers_finds_no_dead_monitor() {
    let w = Wharf::new();
    w.import_busybox("bb:1");
    let ids: Vec<String> = (0..40)
        .map(|_| {
            w.ok(["run", "-d", "bb:1", "sleep", "300"])
                .trim()
                .to_string()
        })
        .collect();
    let removers: Vec<_> = ids
        .chunks(10)
        .map(|chunk| {
            w.command(["rm", "-f"])
                .args(chunk)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for r in removers {
        let out = r.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert!(!err.contains("monitor is gone"), "{err}");
        assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 10);
    }
    assert_eq!(w.ok(["ps", "-aq"]), "");
    w.settled();
    assert_eq!(mounts_under(&w), Vec::<String>::new());
}
