//! A user at a terminal: `exec -it`, window resizes, `attach`, detach
//! keys and signals, on a real pty (the test is the terminal emulator).

mod common;

use common::pty::Terminal;
use common::Wharf;

/// `wharf ARGS` on a new terminal of 40 rows, 100 columns.
fn at_terminal(w: &Wharf, args: &[&str]) -> Terminal {
    Terminal::spawn(w.command(args), 40, 100)
}

#[test]
fn exec_it_gives_a_terminal_and_the_exit_code() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    w.ok([
        "run",
        "-d",
        "--name",
        "box",
        "busybox:local",
        "sleep",
        "1000",
    ]);
    let mut t = at_terminal(&w, &["exec", "-it", "box", "sh"]);
    t.type_str("tty; stty size; echo $TERM; echo typed-$((6*7))\r");
    t.expect("typed-42", 10);
    assert!(t.screen.contains("/dev/pts/"), "{}", t.screen);
    assert!(t.screen.contains("40 100"), "{}", t.screen);
    assert!(t.screen.contains("xterm"), "{}", t.screen);
    // Ctrl-C belongs to the container's terminal: it interrupts sleep, not wharf.
    t.type_str("sleep 100\r");
    std::thread::sleep(std::time::Duration::from_millis(500));
    t.type_str("\x03");
    t.type_str("echo after-$((1+1))\r");
    t.expect("after-2", 10);
    t.type_str("exit 9\r");
    assert_eq!(t.wait(10), Some(9));

    // Not found and not executable: docker's 126, with its message.
    let mut t = at_terminal(&w, &["exec", "-it", "box", "no-such-cmd"]);
    assert_eq!(t.wait(10), Some(126));
    assert!(
        t.screen.contains("executable file not found"),
        "{}",
        t.screen
    );
    // -t without -i: output through the terminal, no input.
    let mut t = at_terminal(&w, &["exec", "-t", "box", "sh", "-c", "tty; exit 3"]);
    assert_eq!(t.wait(10), Some(3));
    assert!(t.screen.contains("/dev/pts/"), "{}", t.screen);
    // -it needs a terminal to type on.
    let out = w.run(["exec", "-it", "box", "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the input device is not a TTY"));
    // Without -i the process reads EOF, not our stdin.
    let out = w.with_stdin(["exec", "box", "cat"], b"ignored\n");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    let out = w.with_stdin(["exec", "-i", "box", "cat"], b"passed\n");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "passed\n");
    // Nothing left behind in the container's directory.
    let id = w.ok(["inspect", "--format", "{{.Id}}", "box"]);
    let left: Vec<_> = std::fs::read_dir(w.root().join("containers").join(id.trim()))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("exec-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn exec_it_detach_keys() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    w.ok([
        "run",
        "-d",
        "--name",
        "box",
        "busybox:local",
        "sleep",
        "1000",
    ]);
    let mut t = at_terminal(&w, &["exec", "-it", "box", "sh"]);
    t.type_str("echo ready-$((1+1))\r");
    t.expect("ready-2", 10);
    t.type_str("\x10\x11");
    assert_eq!(t.wait(10), Some(1));
    assert!(t.screen.contains("read escape sequence"), "{}", t.screen);
}

/// `stty size` typed into a shell on `t` shows `rows cols`.
fn size_is(t: &mut Terminal, rows: u16, cols: u16) {
    let from = t.screen.len();
    t.type_str("echo size=$(stty size)=\r");
    t.expect_from(from, &format!("size={rows} {cols}="), 10);
}

#[test]
fn window_resizes_reach_the_container() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    // run -it: the monitor owns the pty; the CLI hands it SIGWINCH.
    let mut t = at_terminal(&w, &["run", "-it", "--name", "rs", "busybox:local", "sh"]);
    size_is(&mut t, 40, 100);
    t.resize(50, 120);
    size_is(&mut t, 50, 120);
    // exec -it in the same container: the CLI owns that pty.
    let mut e = at_terminal(&w, &["exec", "-it", "rs", "sh"]);
    size_is(&mut e, 40, 100);
    e.resize(30, 70);
    size_is(&mut e, 30, 70);
    e.type_str("exit\r");
    assert_eq!(e.wait(10), Some(0));
    t.type_str("exit 2\r");
    assert_eq!(t.wait(10), Some(2));
    // start -ai: the same path as run -it.
    let mut t = at_terminal(&w, &["start", "-ai", "rs"]);
    size_is(&mut t, 40, 100);
    t.resize(45, 90);
    size_is(&mut t, 45, 90);
    t.type_str("exit 0\r");
    assert_eq!(t.wait(10), Some(0));
}

#[test]
fn attach_and_detach_a_terminal_container() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    // run -it, detach with ctrl-p ctrl-q: run exits 0, the container runs on.
    let mut t = at_terminal(&w, &["run", "-it", "--name", "sh1", "busybox:local", "sh"]);
    t.type_str("echo first-$((2+2))\r");
    t.expect("first-4", 10);
    t.type_str("\x10\x11");
    assert_eq!(t.wait(10), Some(0));
    assert_eq!(
        w.ok(["inspect", "--format", "{{.State.Status}}", "sh1"])
            .trim(),
        "running"
    );
    // attach: the same shell, resized to our terminal; detach again (1).
    let mut a = at_terminal(&w, &["attach", "sh1"]);
    a.type_str("echo again-$((3+3))\r");
    a.expect("again-6", 10);
    size_is(&mut a, 40, 100);
    a.resize(33, 77);
    size_is(&mut a, 33, 77);
    a.type_str("\x10\x11");
    assert_eq!(a.wait(10), Some(1));
    assert!(a.screen.contains("read escape sequence"), "{}", a.screen);
    // Custom detach keys; two clients at once see the same output.
    let mut a = at_terminal(&w, &["attach", "--detach-keys", "ctrl-x,x", "sh1"]);
    let mut b = at_terminal(&w, &["attach", "--no-stdin", "sh1"]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    a.type_str("echo both-$((4+4))\r");
    a.expect("both-8", 10);
    b.expect("both-8", 10);
    // Exit through the attached client: attach exits with the container's code.
    a.type_str("exit 3\r");
    assert_eq!(a.wait(10), Some(3));
    assert_eq!(b.wait(10), Some(3));
    assert_eq!(
        w.ok(["inspect", "--format", "{{.State.ExitCode}}", "sh1"])
            .trim(),
        "3"
    );
    let (code, err) = w.fails(["attach", "sh1"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("You cannot attach to a stopped container"),
        "{err}"
    );
    assert!(!w
        .root()
        .join("containers")
        .read_dir()
        .unwrap()
        .flatten()
        .any(|d| d.path().join("attach.sock").exists()));
}

/// Read `child`'s stdout until it holds `text`.
fn read_until(out: &mut impl std::io::Read, seen: &mut String, text: &str) {
    let mut buf = [0u8; 1024];
    while !seen.contains(text) {
        let n = out.read(&mut buf).unwrap();
        assert!(n > 0, "output ended before {text:?}: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
}

#[test]
fn attach_streams_output_live_without_a_terminal() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    w.ok([
        "run",
        "-d",
        "--name",
        "ticker",
        "busybox:local",
        "sh",
        "-c",
        "i=0; while [ $i -lt 1000 ]; do echo tick-$i; echo err-$i >&2; i=$((i+1)); sleep 0.1; done",
    ]);
    let mut child = w
        .command(["attach", "ticker"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut seen = String::new();
    read_until(&mut out, &mut seen, "tick-");
    // Output keeps coming while we are attached (it is not the log's past).
    let first: u32 = seen
        .split("tick-")
        .nth(1)
        .and_then(|s| s.lines().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    read_until(&mut out, &mut seen, &format!("tick-{}", first + 3));
    // The container stops: attach ends with its exit code (sh killed: 137).
    w.ok(["kill", "ticker"]);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(137));
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("err-"), "stderr is kept apart: {err}");
    assert!(!err.contains("tick-"), "{err}");
}

#[test]
fn sig_proxy_forwards_signals_to_the_container() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    let script = "trap 'echo got-term; exit 4' TERM; echo ready; while true; do sleep 0.1; done";
    let mut child = w
        .command([
            "run",
            "--name",
            "trapper",
            "busybox:local",
            "sh",
            "-c",
            script,
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut seen = String::new();
    read_until(&mut out, &mut seen, "ready");
    // SAFETY: signalling the CLI this test spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    read_until(&mut out, &mut seen, "got-term");
    assert_eq!(child.wait().unwrap().code(), Some(4));
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(err, "", "run prints nothing but the container's output");

    // --sig-proxy=false: the signal is the CLI's own (it dies), and the
    // container runs on, no longer writing to the CLI's output.
    let mut child = w
        .command([
            "run",
            "--sig-proxy=false",
            "--name",
            "kept",
            "busybox:local",
            "sh",
            "-c",
            "echo ready; i=0; while true; do echo more-$i; i=$((i+1)); sleep 0.1; done",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut seen = String::new();
    read_until(&mut out, &mut seen, "ready");
    // SAFETY: signalling the CLI this test spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(15)
    );
    // The monitor lets go of the dead CLI's output: the pipe reaches EOF.
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    assert_eq!(
        w.ok(["inspect", "--format", "{{.State.Status}}", "kept"])
            .trim(),
        "running"
    );
    common::eventually(5, "output still logged", || {
        w.ok(["logs", "kept"]).lines().count() > seen.lines().count() + rest.lines().count() + 2
    });
}

#[test]
fn attach_feeds_stdin_of_an_interactive_container() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    w.ok(["run", "-di", "--name", "cat", "busybox:local", "cat"]);
    let mut child = w
        .command(["attach", "cat"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    std::io::Write::write_all(&mut input, b"line-one\n").unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut seen = String::new();
    read_until(&mut out, &mut seen, "line-one");
    // Our stdin ending does not close the container's (docker keeps it).
    drop(input);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(
        w.ok(["inspect", "--format", "{{.State.Status}}", "cat"])
            .trim(),
        "running"
    );
    w.ok(["kill", "cat"]);
    assert_eq!(child.wait().unwrap().code(), Some(137));
    assert_eq!(w.ok(["logs", "cat"]), "line-one\n");
}
