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
