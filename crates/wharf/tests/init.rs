//! `--init`: docker's init (tini) as PID 1 in front of the command.

mod common;

use std::time::{Duration, Instant};

use common::Wharf;

/// Zombie processes in the container, as its own /proc shows them.
fn zombies(w: &Wharf, name: &str) -> usize {
    w.ok(["exec", name, "sh", "-c", "cat /proc/[0-9]*/stat"])
        .lines()
        .filter(|l| l.contains(") Z "))
        .count()
}

#[test]
fn init_runs_first_reaps_forwards_and_passes_the_code() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    // PID 1 is the init; the command is its child.
    let ps = w.ok(["run", "--rm", "--init", "busybox:local", "ps"]);
    let pid1 = ps
        .lines()
        .find(|l| l.trim_start().starts_with("1 "))
        .unwrap_or_default();
    assert!(pid1.ends_with("/sbin/docker-init -- ps"), "{ps}");
    assert!(ps.lines().any(|l| l.trim_start().starts_with("2 ")), "{ps}");
    // The exit code goes through it.
    let out = w.run([
        "run",
        "--rm",
        "--init",
        "busybox:local",
        "sh",
        "-c",
        "exit 7",
    ]);
    assert_eq!(out.status.code(), Some(7));
    // Orphans are reaped: sleep as the command never waits for anyone,
    // so without an init the orphan stays a zombie.
    let orphan = "(sleep 0.1 &); exec sleep 1000";
    for (name, init, want) in [("with", true, 0), ("without", false, 1)] {
        let mut args = vec!["run", "-d", "--name", name];
        if init {
            args.push("--init");
        }
        args.extend(["busybox:local", "sh", "-c", orphan]);
        w.ok(args);
        common::eventually(5, "the orphan to exit", || zombies(&w, name) == want);
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(zombies(&w, name), want, "{name} --init");
    }
    // Signals reach the command: sleep is not PID 1 any more, so SIGTERM
    // stops it at once (no 10 s wait for SIGKILL); tini reports 143.
    let t = Instant::now();
    w.ok(["stop", "with"]);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(
        w.ok(["inspect", "--format", "{{.State.ExitCode}}", "with"])
            .trim(),
        "143"
    );
    // The init is mounted read-only.
    let out = w.run([
        "run",
        "--rm",
        "--init",
        "busybox:local",
        "sh",
        "-c",
        "echo x > /sbin/docker-init",
    ]);
    assert!(!out.status.success());
}
