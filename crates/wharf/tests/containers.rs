//! `run`, `ps`, `logs`, `stop`, `rm` against the real kernel.

mod common;

use std::time::{Duration, Instant};

use common::{eventually, mounts_under, Wharf};

fn cgroups_of(id: &str) -> Vec<String> {
    let mut out = Vec::new();
    for ctl in ["memory", "pids", "cpu", "devices", "freezer"] {
        let p = format!("/sys/fs/cgroup/{ctl}/wharf/{id}");
        if std::path::Path::new(&p).exists() {
            out.push(p);
        }
    }
    let p = format!("/sys/fs/cgroup/unified/wharf/{id}");
    if std::path::Path::new(&p).exists() {
        out.push(p);
    }
    out
}

#[test]
fn run_rm_prints_and_leaves_nothing() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    let out = w.run(["run", "--rm", "busybox:local", "echo", "hello"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success());
    // Gone for wharf's commands when `run` returns; the kernel's side
    // goes right after.
    assert_eq!(w.ok(["ps", "-aq"]), "");
    w.settled();
    assert!(mounts_under(&w).is_empty(), "{:?}", mounts_under(&w));
    assert_eq!(
        std::fs::read_dir(w.root().join("containers"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn exit_codes_follow_docker() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    let out = w.run(["run", "--rm", "busybox:local", "sh", "-c", "exit 3"]);
    assert_eq!(out.status.code(), Some(3));
    let (code, err) = w.fails(["run", "--rm", "busybox:local", "no-such-command"]);
    assert_eq!(code, 127, "{err}");
    let (code, err) = w.fails(["run", "--rm", "busybox:local", "/etc/passwd"]);
    assert_eq!(code, 126, "{err}");
    // A missing image would be pulled (from Docker Hub: not in tests).
    let out = w.run(["run", "--pull", "never", "--rm", "nope:1", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("No such image: nope:1"));
    let out = w.run(["run", "--rm", "--memory", "12x", "busybox:local", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(w.ok(["ps", "-aq"]), "", "failed runs leave no container");
    w.settled();
    assert!(mounts_under(&w).is_empty());
}

#[test]
fn env_workdir_user_and_hostname() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    let envf = w.scratch().join("app.env");
    std::fs::write(&envf, "A=from-file\nB=from-file\n").unwrap();
    let out = w.ok([
        "run",
        "--rm",
        "--env-file",
        envf.to_str().unwrap(),
        "-e",
        "B=from-flag",
        "-w",
        "/tmp",
        "-u",
        "65534:65534",
        "--hostname",
        "box",
        "busybox:local",
        "sh",
        "-c",
        "echo $A $B $(pwd) $(id -u):$(id -g) $(hostname) $HOSTNAME",
    ]);
    assert_eq!(out, "from-file from-flag /tmp 65534:65534 box box\n");
}

#[test]
fn detached_container_lifecycle() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    let id = w.ok([
        "run",
        "-d",
        "--name",
        "web",
        "busybox:local",
        "sh",
        "-c",
        "echo started; echo oops >&2; sleep 1000",
    ]);
    let id = id.trim().to_string();
    assert_eq!(id.len(), 64);
    let ps = w.ok(["ps"]);
    assert!(
        ps.lines().nth(1).is_some_and(|l| l.starts_with(&id[..12])
            && l.contains("Up ")
            && l.trim_end().ends_with("web")),
        "{ps}"
    );
    assert_eq!(
        w.ok([
            "inspect",
            "--format",
            "{{.State.Status}} {{.Name}} {{.State.Running}} {{.Config.Image}}",
            "web"
        ]),
        "running /web true busybox:local\n"
    );
    let inspect: serde_json::Value = serde_json::from_str(&w.ok(["inspect", &id[..12]])).unwrap();
    assert_eq!(inspect[0]["Id"], id.as_str());
    assert!(inspect[0]["State"]["Pid"].as_i64().unwrap() > 0);
    // Name in use.
    let (code, err) = w.fails(["run", "-d", "--name", "web", "busybox:local", "true"]);
    assert_eq!(code, 125);
    assert!(err.contains("is already in use"), "{err}");
    // Logs, with the stream kept apart.
    eventually(5, "the logs", || {
        let out = w.run(["logs", "web"]);
        String::from_utf8_lossy(&out.stdout) == "started\n"
            && String::from_utf8_lossy(&out.stderr) == "oops\n"
    });
    let log = std::fs::read_to_string(
        w.root()
            .join("containers")
            .join(&id)
            .join(format!("{id}-json.log")),
    )
    .unwrap();
    assert!(
        log.starts_with("{\"log\":\"started\\n\",\"stream\":\"stdout\",\"time\":\""),
        "{log}"
    );
    // rm of a running container needs -f.
    let (code, err) = w.fails(["rm", "web"]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot remove a running container"), "{err}");
    // stop: SIGTERM is ignored by sh as pid 1, so SIGKILL after -t.
    let t = Instant::now();
    w.ok(["stop", "-t", "1", "web"]);
    assert!(t.elapsed() < Duration::from_secs(5));
    let ps = w.ok(["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    assert!(ps.starts_with("web Exited (137)"), "{ps}");
    assert_eq!(
        w.ok([
            "inspect",
            "--format",
            "{{.State.ExitCode}} {{.State.Running}}",
            "web"
        ]),
        "137 false\n"
    );
    assert!(cgroups_of(&id).is_empty(), "{:?}", cgroups_of(&id));
    assert!(mounts_under(&w).is_empty(), "{:?}", mounts_under(&w));
    assert_eq!(w.ok(["rm", "web"]).trim(), "web");
    assert_eq!(w.ok(["ps", "-aq"]), "");
}

/// Processes whose command line names this store and `monitor`.
fn monitors_of(w: &Wharf) -> Vec<i32> {
    let root = w.root().display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| {
            std::fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| {
                let c = String::from_utf8_lossy(&c);
                c.contains(&root) && c.contains("\0monitor\0")
            })
        })
        .collect()
}

/// `run` starts the monitor before it creates the container: when the
/// creation fails, that monitor goes away and nothing is left; `run
/// --rm`'s output reaches a pipe whole, with the container's exit code,
/// even though the monitor finishes its cleanup after the CLI is gone.
#[test]
fn failed_run_leaves_no_monitor_and_rm_output_is_whole() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    w.ok(["create", "--name", "taken", "busybox:local", "true"]);
    let (code, err) = w.fails(["run", "--name", "taken", "busybox:local", "true"]);
    assert_eq!(code, 125);
    assert!(err.contains("is already in use"), "{err}");
    let (code, err) = w.fails(["run", "--pull", "never", "--rm", "nosuch:local", "true"]);
    assert_eq!(code, 125, "{err}");
    eventually(5, "no monitor left", || monitors_of(&w).is_empty());
    let dirs = std::fs::read_dir(w.root().join("containers"))
        .unwrap()
        .count();
    assert_eq!(dirs, 1, "only the created container's directory");
    let out = w.run([
        "run",
        "--rm",
        "busybox:local",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 7",
    ]);
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");
    assert_eq!(w.ok(["ps", "-aq"]).lines().count(), 1);
    eventually(5, "the --rm container's directory gone", || {
        std::fs::read_dir(w.root().join("containers"))
            .unwrap()
            .count()
            == 1
            && std::fs::read_dir(w.root().join("trash")).unwrap().count() == 0
    });
    w.ok(["rm", "taken"]);
    assert!(mounts_under(&w).is_empty(), "{:?}", mounts_under(&w));
}

#[test]
fn killed_monitor_is_reported_exited() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    let id = w
        .ok(["run", "-d", "busybox:local", "sleep", "1000"])
        .trim()
        .to_string();
    let mut pids = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok());
    let monitor = pids
        .find(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&format!("monitor\0{id}")))
        })
        .expect("the container's monitor");
    // SAFETY: signalling a process this test started.
    unsafe { libc::kill(monitor, libc::SIGKILL) };
    eventually(10, "the monitor to die", || {
        std::fs::read_to_string(format!("/proc/{monitor}/stat")).map_or(true, |s| {
            s.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z'))
        })
    });
    let ps = w.ok(["ps", "-a", "--format", "{{.State}}"]);
    assert_eq!(ps.trim(), "exited");
    w.ok(["rm", &id]);
    assert!(mounts_under(&w).is_empty(), "{:?}", mounts_under(&w));
    assert_eq!(w.ok(["system", "check"]), "No problems found\n");
}

#[test]
fn user_names_home_and_missing_workdir_resolve_at_start() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    let out = w.ok([
        "run",
        "--rm",
        "-u",
        "nobody",
        "-w",
        "/new/dir",
        "busybox:local",
        "sh",
        "-c",
        "echo $(id -u) $HOME $(pwd)",
    ]);
    assert_eq!(out, "65534 /nonexistent /new/dir\n");
    let out = w.run(["run", "--rm", "-u", "ghost", "busybox:local", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ghost"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(w.ok(["ps", "-aq"]), "");
}

#[test]
fn env_precedence_and_order() {
    let w = Wharf::new();
    let tar = common::busybox_rootfs_tar(&w.scratch());
    w.ok([
        std::ffi::OsStr::new("import"),
        std::ffi::OsStr::new("-c"),
        std::ffi::OsStr::new("ENV PATH=/bin A=image B=image C=image"),
        tar.as_os_str(),
        std::ffi::OsStr::new("envimg:1"),
    ]);
    let envf = w.scratch().join("e.env");
    std::fs::write(&envf, "B=file\nC=file\n").unwrap();
    let out = w.ok([
        "run",
        "--rm",
        "--env-file",
        envf.to_str().unwrap(),
        "-e",
        "C=flag",
        "envimg:1",
        "env",
    ]);
    let vars: Vec<&str> = out.lines().collect();
    for want in ["A=image", "B=file", "C=flag", "PATH=/bin", "HOME=/root"] {
        assert!(vars.contains(&want), "{want} missing in {vars:?}");
    }
    assert!(vars.iter().any(|v| v.starts_with("HOSTNAME=")), "{vars:?}");
}

/// The container's process and an exec'd one sit in the container's
/// cgroup in every hierarchy (they join by writing "0" to v1's `tasks`,
/// see vendor/README.md), as seen from the host.
#[test]
fn exec_and_start_join_every_cgroup_of_the_container() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    let id = w.ok(["run", "-d", "busybox:local", "sleep", "1000"]);
    let id = id.trim();
    let pid = w.ok(["inspect", "-f", "{{.State.Pid}}", id]);
    let init = std::fs::read_to_string(format!("/proc/{}/cgroup", pid.trim())).unwrap();
    let managed: Vec<&str> = init.lines().filter(|l| l.contains(id)).collect();
    assert!(
        managed.len() >= 2,
        "the container's cgroups, from the host: {init}"
    );
    let inside_init = w.ok(["exec", id, "cat", "/proc/1/cgroup"]);
    let inside_exec = w.ok(["exec", id, "cat", "/proc/self/cgroup"]);
    assert_eq!(inside_exec, inside_init);
    // A process the exec'd shell forks stays there too.
    let forked = w.ok(["exec", id, "sh", "-c", "cat /proc/self/cgroup; :"]);
    assert_eq!(forked, inside_init);
    w.ok(["rm", "-f", id]);
}

#[test]
fn exec_runs_in_the_container() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    w.ok([
        "run",
        "-d",
        "--name",
        "ex",
        "--hostname",
        "exbox",
        "busybox:local",
        "sleep",
        "1000",
    ]);
    let out = w.ok([
        "exec",
        "-u",
        "nobody",
        "-e",
        "X=1",
        "-w",
        "/tmp",
        "ex",
        "sh",
        "-c",
        "echo $(id -u) $X $(pwd) $(hostname)",
    ]);
    assert_eq!(out, "65534 1 /tmp exbox\n");
    let out = w.run(["exec", "ex", "sh", "-c", "exit 4"]);
    assert_eq!(out.status.code(), Some(4));
    let out = w.run(["exec", "ex", "nope"]);
    assert_eq!(out.status.code(), Some(126));
    assert!(String::from_utf8_lossy(&out.stderr).contains("executable file not found"));
    w.ok(["kill", "ex"]);
    w.ok(["wait", "ex"]);
    let out = w.run(["exec", "ex", "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not running"));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
}

#[test]
fn diff_pause_rename_export() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    w.ok([
        "run", "-d", "--name", "m1", "busybox:local", "sh", "-c",
        "mkdir /newdir; echo x > /newdir/f; echo y >> /etc/passwd; rm /bin/ls; touch /ready; sleep 1000",
    ]);
    eventually(5, "the marker file", || {
        w.ok(["diff", "m1"]).contains("/ready")
    });
    assert_eq!(
        w.ok(["diff", "m1"]),
        "C /bin\nD /bin/ls\nC /etc\nC /etc/passwd\nA /newdir\nA /newdir/f\nA /ready\n"
    );
    w.ok(["pause", "m1"]);
    assert!(w.ok(["ps", "--format", "{{.Status}}"]).contains("(Paused)"));
    let (code, err) = w.fails(["pause", "m1"]);
    assert_eq!(code, 1);
    assert!(err.contains("already paused"), "{err}");
    w.ok(["unpause", "m1"]);
    w.ok(["rename", "m1", "m2"]);
    let tar = w.command(["export", "m2"]).output().unwrap();
    assert!(tar.status.success());
    let names = common::tar_names(&tar.stdout);
    assert!(
        names.iter().any(|n| n == "newdir/f") && !names.iter().any(|n| n == "bin/ls"),
        "{names:?}"
    );
    // Stopping a paused container works (it is thawed first).
    w.ok(["pause", "m2"]);
    w.ok(["stop", "-t", "1", "m2"]);
    assert!(w
        .ok(["ps", "-a", "--format", "{{.Status}}"])
        .starts_with("Exited (137)"));
}

#[test]
fn commit_makes_an_image_of_the_changes() {
    let w = Wharf::new();
    let base = w.import_busybox("busybox:local");
    w.ok([
        "run",
        "--name",
        "c1",
        "-e",
        "GREETING=hi",
        "busybox:local",
        "sh",
        "-c",
        "echo built > /made && rm /bin/ls",
    ]);
    let id = w.ok([
        "commit",
        "-m",
        "snap",
        "-c",
        "CMD [\"cat\", \"/made\"]",
        "c1",
        "me/snap:1",
    ]);
    assert!(id.trim().starts_with("sha256:"));
    let out = w.ok(["run", "--rm", "me/snap:1"]);
    assert_eq!(out, "built\n");
    let out = w.ok([
        "run",
        "--rm",
        "me/snap:1",
        "sh",
        "-c",
        "echo $GREETING; ls /bin/ls || echo gone",
    ]);
    assert_eq!(out, "hi\ngone\n");
    let hist = w.ok([
        "history",
        "--format",
        "{{.ID}}|{{.CreatedBy}}|{{.Comment}}",
        "--no-trunc",
        "me/snap:1",
    ]);
    let lines: Vec<_> = hist.lines().collect();
    assert_eq!(lines.len(), 2, "{hist}");
    assert!(
        lines[0].starts_with(id.trim()) && lines[0].ends_with("|snap"),
        "{hist}"
    );
    assert!(
        lines[1].starts_with(&base),
        "the parent image is named in history: {hist}"
    );
    assert_eq!(
        w.ok(["image", "inspect", "--format", "{{.Parent}}", "me/snap:1"])
            .trim(),
        base
    );
}

#[test]
fn top_and_stats_read_the_cgroup() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    w.ok([
        "run",
        "-d",
        "--name",
        "busy",
        "--memory",
        "64m",
        "--pids-limit",
        "50",
        "busybox:local",
        "sleep",
        "1000",
    ]);
    let top = w.ok(["top", "busy"]);
    assert!(
        top.starts_with("UID")
            && top
                .lines()
                .nth(1)
                .is_some_and(|l| l.ends_with("sleep 1000")),
        "{top}"
    );
    let stats = w.ok([
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}} {{.MemUsage}} {{.PIDs}}",
    ]);
    assert!(
        stats.starts_with("busy ")
            && stats.contains(" / 64MiB ")
            && stats.trim_end().ends_with(" 1"),
        "{stats}"
    );
    let id = w.ok(["inspect", "--format", "{{.Id}}", "busy"]);
    let id = id.trim();
    // cgroup v1 (and hybrid) or v2 layout.
    let limit = [
        format!("/sys/fs/cgroup/pids/wharf/{id}/pids.max"),
        format!("/sys/fs/cgroup/wharf/{id}/pids.max"),
    ]
    .iter()
    .find_map(|p| std::fs::read_to_string(p).ok());
    assert_eq!(
        limit.map(|l| l.trim().to_string()),
        Some("50".to_string()),
        "pids limit applied"
    );
}

#[test]
fn cp_both_ways_and_never_outside_the_container() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    w.ok([
        "run",
        "-d",
        "--name",
        "cp1",
        "busybox:local",
        "sh",
        "-c",
        "mkdir -p /data/sub && echo in > /data/sub/f && ln -s /etc /data/evil && sleep 1000",
    ]);
    let out = w.scratch().join("out");
    std::fs::create_dir_all(&out).unwrap();
    eventually(5, "the file to copy", || {
        w.run(["cp", "cp1:/data/sub/f", out.to_str().unwrap()])
            .status
            .success()
    });
    assert_eq!(std::fs::read_to_string(out.join("f")).unwrap(), "in\n");
    w.ok(["cp", "cp1:/data", out.join("copy").to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(out.join("copy/sub/f")).unwrap(),
        "in\n"
    );
    // Into the container, also through its own absolute symlink: stays inside.
    let host_file = w.scratch().join("hello.txt");
    std::fs::write(&host_file, "from host\n").unwrap();
    w.ok(["cp", host_file.to_str().unwrap(), "cp1:/tmp/"]);
    assert_eq!(
        w.ok(["exec", "cp1", "cat", "/tmp/hello.txt"]),
        "from host\n"
    );
    w.ok(["cp", host_file.to_str().unwrap(), "cp1:/data/evil/"]);
    assert_eq!(
        w.ok(["exec", "cp1", "cat", "/etc/hello.txt"]),
        "from host\n"
    );
    assert!(
        !std::path::Path::new("/etc/hello.txt").exists(),
        "the host's /etc is untouched"
    );
    // A stopped container is mounted for the copy and unmounted after.
    w.ok(["kill", "cp1"]);
    w.ok(["wait", "cp1"]);
    w.ok([
        "cp",
        "cp1:/tmp/hello.txt",
        out.join("again").to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read_to_string(out.join("again")).unwrap(),
        "from host\n"
    );
    assert!(mounts_under(&w).is_empty(), "{:?}", mounts_under(&w));
    let (code, err) = w.fails(["cp", "cp1:/nope", out.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(err, "Error: No such container:path: cp1:/nope\n");
}

#[test]
fn restart_policies() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    // on-failure:2 → 1 run + 2 restarts, then it stays exited.
    w.ok([
        "run",
        "-d",
        "--name",
        "flaky",
        "--restart",
        "on-failure:2",
        "busybox:local",
        "sh",
        "-c",
        "echo run; exit 3",
    ]);
    eventually(10, "three runs", || {
        w.ok(["logs", "flaky"]) == "run\nrun\nrun\n"
            && w.ok(["inspect", "--format", "{{.State.Status}}", "flaky"])
                .trim()
                == "exited"
    });
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(w.ok(["logs", "flaky"]), "run\nrun\nrun\n", "no fourth run");
    // always: restarted after exit, but not after stop.
    w.ok([
        "run",
        "-d",
        "--name",
        "always",
        "--restart",
        "always",
        "busybox:local",
        "sh",
        "-c",
        "echo up; sleep 0.2",
    ]);
    eventually(10, "a restart", || {
        w.ok(["logs", "always"]).lines().count() >= 2
    });
    w.ok(["stop", "-t", "1", "always"]);
    let n = w.ok(["logs", "always"]).lines().count();
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(
        w.ok(["logs", "always"]).lines().count(),
        n,
        "stopped by the user: no restart"
    );
    assert_eq!(
        w.ok(["inspect", "--format", "{{.State.Status}}", "always"])
            .trim(),
        "exited"
    );
    let (code, err) = w.fails([
        "run",
        "--rm",
        "--restart",
        "always",
        "busybox:local",
        "true",
    ]);
    assert_eq!(code, 125);
    assert!(err.contains("Conflicting options"), "{err}");
}

/// Run `wharf ARGS` on a fresh pseudo-terminal (script(1)), typing `input`.
fn on_a_terminal(w: &Wharf, args: &str, input: &'static [&'static str]) -> (Option<i32>, String) {
    use std::io::Write;
    let cmd = format!(
        "stty cols 100 rows 40; {} --root {} {args}",
        env!("CARGO_BIN_EXE_wharf"),
        w.root().display()
    );
    let mut child = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("script(1) from bsdutils");
    let mut stdin = child.stdin.take().unwrap();
    let typer = std::thread::spawn(move || {
        for line in input {
            std::thread::sleep(Duration::from_millis(700));
            let _ = stdin.write_all(line.as_bytes());
        }
        std::thread::sleep(Duration::from_millis(500));
    });
    let out = child.wait_with_output().unwrap();
    typer.join().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn interactive_tty() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    let (code, out) = on_a_terminal(
        &w,
        "run -it --rm busybox:local sh -c 'tty; stty size; exit 5'",
        &[],
    );
    assert_eq!(code, Some(5), "{out}");
    assert!(
        out.contains("/dev/pts/0") && out.contains("40 100"),
        "{out}"
    );
    let (code, out) = on_a_terminal(
        &w,
        "run -it --rm busybox:local sh",
        &["echo typed-$((1+1))\r", "exit 7\r"],
    );
    assert_eq!(code, Some(7), "{out}");
    assert!(out.contains("typed-2"), "{out}");
    assert_eq!(w.ok(["ps", "-aq"]), "");
}

#[test]
fn ps_filters_and_latest() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    w.ok(["run", "--name", "ok0", "busybox:local", "true"]);
    let _ = w.run([
        "run",
        "--name",
        "bad3",
        "busybox:local",
        "sh",
        "-c",
        "exit 3",
    ]);
    let _ = w.run([
        "run",
        "--name",
        "bad3b",
        "busybox:local",
        "sh",
        "-c",
        "exit 3",
    ]);
    w.ok([
        "run",
        "-d",
        "--name",
        "up",
        "busybox:local",
        "sleep",
        "1000",
    ]);
    let names = |args: &[&str]| {
        let mut v = vec!["ps", "--format", "{{.Names}}"];
        v.extend_from_slice(args);
        let mut out: Vec<String> = w.ok(v).lines().map(str::to_string).collect();
        out.sort();
        out
    };
    assert_eq!(names(&[]), ["up"]);
    assert_eq!(names(&["-a", "--filter", "exited=3"]), ["bad3", "bad3b"]);
    assert_eq!(
        names(&["--filter", "status=exited", "--filter", "name=ok"]),
        ["ok0"]
    );
    assert_eq!(names(&["-l"]), ["up"]);
    assert_eq!(names(&["-n", "2"]), ["bad3b", "up"]);
    assert_eq!(
        names(&["-a", "--filter", "ancestor=busybox:local"]).len(),
        4
    );
    // docker: "Error response from daemon: Invalid filter 'bogus'", exit 1.
    let (code, err) = w.fails(["ps", "--filter", "bogus=1"]);
    assert_eq!(code, 1);
    assert!(err.contains("Invalid filter 'bogus'"), "{err}");
}

/// The seccomp filter is compiled once per profile and kept in the store
/// (`seccomp/<key>.bpf`); every later start and `exec` loads that program,
/// and it confines as docker's default profile does: a user namespace,
/// which the kernel grants unprivileged processes, is refused (it is with
/// `seccomp=unconfined`). A damaged program is compiled anew.
#[test]
fn seccomp_filter_is_compiled_once_and_still_confines() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    let cache = w.root().join("seccomp");
    let programs = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&cache)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default()
    };
    let status = ["busybox", "grep", "^Seccomp", "/proc/self/status"];
    let confined = "Seccomp:\t2\nSeccomp_filters:\t1\n";
    let userns = ["busybox", "unshare", "-U", "true"];
    let text = |out: std::process::Output| {
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let run_rm = |extra: &[&str], cmd: &[&str]| {
        let mut args = vec!["run", "--rm"];
        args.extend(extra);
        args.push("busybox:local");
        args.extend(cmd);
        w.run(args)
    };
    // First start: compiled, then kept.
    assert_eq!(text(run_rm(&[], &status)), confined);
    let kept = programs();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].to_string_lossy().ends_with(".bpf"), "{kept:?}");
    // Later starts and an exec load the kept program.
    assert_eq!(text(run_rm(&[], &status)), confined);
    let out = run_rm(&[], &userns);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Operation not permitted"),
        "{out:?}"
    );
    w.ok([
        "run",
        "-d",
        "--name",
        "sc",
        "busybox:local",
        "sleep",
        "1000",
    ]);
    assert_eq!(
        w.ok([
            "exec",
            "sc",
            "busybox",
            "grep",
            "^Seccomp",
            "/proc/self/status"
        ]),
        confined
    );
    assert_eq!(
        w.run(["exec", "sc", "busybox", "unshare", "-U", "true"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(programs(), kept, "one program for one profile");
    // Another profile is no filter at all: the user namespace is made.
    let out = run_rm(&["--security-opt", "seccomp=unconfined"], &userns);
    assert!(out.status.success(), "{out:?}");
    // A damaged program: the kernel refuses it, the profile is compiled.
    std::fs::write(&kept[0], [0u8; 64]).unwrap();
    assert_eq!(text(run_rm(&[], &status)), confined);
    let out = run_rm(&[], &userns);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    w.ok(["rm", "-f", "sc"]);
}

/// `stop` returns once the exit is recorded, before the monitor has taken
/// the rootfs and cgroups apart (see `monitor::lifetime`); what follows a
/// stop waits for that: a start right after runs the container again, a
/// `cp` right after reads its files, and an `rm` right after leaves
/// nothing behind (its files go in a detached helper).
#[test]
fn what_follows_a_stop_waits_for_its_teardown() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    let id = w
        .ok([
            "run",
            "-d",
            "busybox:local",
            "sh",
            "-c",
            "echo kept > /kept; trap 'exit 0' TERM; sleep 1000 & wait",
        ])
        .trim()
        .to_string();
    eventually(10, "the file written", || {
        w.run(["exec", &id, "cat", "/kept"]).status.success()
    });
    for _ in 0..5 {
        w.ok(["stop", &id]);
        w.ok(["start", &id]);
        assert_eq!(
            w.ok(["inspect", "-f", "{{.State.Running}}", &id]).trim(),
            "true"
        );
    }
    w.ok(["stop", &id]);
    let out = w.scratch().join("kept");
    w.ok(["cp", &format!("{id}:/kept"), out.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "kept\n");
    w.ok(["rm", &id]);
    assert_eq!(w.ok(["ps", "-aq"]).trim(), "", "gone when rm returns");
    w.settled();
    assert!(mounts_under(&w).is_empty(), "{:?}", mounts_under(&w));
    for d in ["containers", "trash"] {
        let left: Vec<_> = std::fs::read_dir(w.root().join(d)).unwrap().collect();
        assert!(left.is_empty(), "{d}: {left:?}");
    }
    let cgroups: Vec<_> = std::fs::read_dir("/sys/fs/cgroup")
        .unwrap()
        .flatten()
        .map(|c| c.path().join("wharf").join(&id))
        .filter(|p| p.exists())
        .collect();
    assert!(cgroups.is_empty(), "{cgroups:?}");
}
