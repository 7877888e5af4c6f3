//! `build` on a terminal (`--progress auto`, the default): BuildKit's live
//! view, redrawn in place — a running step's last output lines while it
//! runs, timers, `CACHED` on a rebuild, `ERROR` and the failed step's
//! output, and a final `[+] Building 1.2s (6/6) FINISHED` frame — read off
//! a pty as the user's terminal shows it. Without a terminal, `auto` is
//! plain.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::pty::{render, Terminal};
use common::{build_context, Wharf};

fn build_on_tty(w: &Wharf, args: &[&str]) -> Terminal {
    Terminal::spawn(w.command(args), 40, 100)
}

/// The last frame of the view: the lines from the last `[+] Building`
/// header on.
fn last_frame(screen: &str) -> Vec<String> {
    let lines = render(screen);
    let at = lines
        .iter()
        .rposition(|l| l.starts_with("[+] Building "))
        .unwrap_or_else(|| panic!("no [+] Building header on the terminal:\n{screen}"));
    lines[at..].to_vec()
}

/// `[+] Building 1.2s (6/6) FINISHED`: the counts, and whether it says
/// FINISHED.
fn header(line: &str) -> (usize, usize, bool) {
    let rest = line.strip_prefix("[+] Building ").unwrap();
    let (secs, rest) = rest.split_once("s (").unwrap();
    secs.parse::<f64>()
        .unwrap_or_else(|_| panic!("no timer in {line:?}"));
    let (counts, rest) = rest.split_once(')').unwrap();
    let (done, total) = counts.split_once('/').unwrap();
    (
        done.parse().unwrap(),
        total.parse().unwrap(),
        rest == " FINISHED",
    )
}

/// The step line starting with ` => {name}`, which ends with its timer.
fn step_line<'a>(frame: &'a [String], name: &str) -> &'a str {
    let prefix = format!(" => {name}");
    let line = frame
        .iter()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no step {name:?} in the frame:\n{}", frame.join("\n")));
    let timer = line.rsplit(' ').next().unwrap();
    assert!(
        timer.ends_with('s') && timer[..timer.len() - 1].parse::<f64>().is_ok(),
        "no timer at the end of {line:?}"
    );
    line
}

#[test]
fn a_terminal_gets_a_live_view_redrawn_in_place() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    // The RUN step prints a line, then waits on a loopback server the test
    // answers only once it saw that line in the live view (the build is on
    // the host's network: a step on the default bridge has its own
    // loopback).
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let df = format!(
        "FROM busybox:local\n\
         RUN echo first-line && wget -q -O- http://127.0.0.1:{port}/ && echo second-line\n\
         COPY f /f\n"
    );
    let dir = build_context(&w, "ctx", &[("Dockerfile", &df), ("f", "x\n")]);
    let ctx = dir.to_str().unwrap();
    let mut t = build_on_tty(&w, &["build", "--network", "host", "-t", "live:1", ctx]);
    t.expect(" => => # first-line", 60);
    // The running step's frame: a header without FINISHED, the step with
    // its timer, drawn over the previous frame (cursor up).
    // (The frame that showed it: the screen may already hold part of the
    // next one.)
    let shown = t.screen.rfind("# first-line").unwrap() + "# first-line".len();
    let running = last_frame(&t.screen[..shown]);
    let (done, total, finished) = header(&running[0]);
    assert!(!finished && done < total, "{running:?}");
    step_line(&running, "[2/3] RUN echo first-line");
    let cursor_up = t.screen.split("\x1b[").skip(1).any(|s| {
        let digits = s.chars().take_while(char::is_ascii_digit).count();
        digits > 0 && s[digits..].starts_with('A')
    });
    assert!(
        cursor_up,
        "the view is not redrawn in place:\n{:?}",
        t.screen
    );
    let drawn_before = t.screen.matches("[+] Building ").count();
    server.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut conn = loop {
        match server.accept() {
            Ok((conn, _)) => break conn,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(
                    Instant::now() < deadline,
                    "the RUN step never connected:\n{}",
                    t.screen
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("accept: {e}"),
        }
    };
    conn.set_nonblocking(false).unwrap();
    let mut buf = [0u8; 1024];
    let _ = conn.read(&mut buf).unwrap();
    conn.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\ngo\n")
        .unwrap();
    drop(conn);
    assert_eq!(t.wait(120), Some(0), "{}", t.screen);
    assert!(t.screen.matches("[+] Building ").count() > drawn_before);

    let frame = last_frame(&t.screen);
    let (done, total, finished) = header(&frame[0]);
    assert!(finished && done == total, "{frame:?}");
    step_line(&frame, "[internal] load build definition from Dockerfile");
    step_line(&frame, "=> transferring dockerfile:");
    step_line(&frame, "[1/3] FROM docker.io/library/busybox:local");
    step_line(&frame, "[2/3] RUN echo first-line");
    step_line(&frame, "[3/3] COPY f /f");
    step_line(&frame, "exporting to image");
    // A finished step's output is not on the final frame.
    assert!(
        !frame.iter().any(|l| l.contains("# first-line")),
        "{frame:?}"
    );

    // A rebuild: every step CACHED.
    let mut t = build_on_tty(&w, &["build", "--network", "host", "-t", "live:1", ctx]);
    assert_eq!(t.wait(120), Some(0), "{}", t.screen);
    let frame = last_frame(&t.screen);
    assert!(header(&frame[0]).2, "{frame:?}");
    let run = step_line(&frame, "CACHED [2/3] RUN echo first-line");
    assert!(run.ends_with(" 0.0s"), "{run:?}");
    step_line(&frame, "CACHED [3/3] COPY f /f");
}

#[test]
fn a_failed_step_shows_error_and_its_output_under_the_last_frame() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    let df = "FROM busybox:local\nRUN echo oops-line && exit 3\n";
    let dir = build_context(&w, "ctx", &[("Dockerfile", df)]);
    let mut t = build_on_tty(&w, &["build", dir.to_str().unwrap()]);
    assert_eq!(t.wait(120), Some(1), "{}", t.screen);
    let frame = last_frame(&t.screen);
    let (done, total, finished) = header(&frame[0]);
    assert!(!finished, "{frame:?}");
    assert_eq!(done, total, "{frame:?}");
    step_line(&frame, "ERROR [2/2] RUN echo oops-line && exit 3");
    // BuildKit's report of the failed step, then the error.
    let at = frame
        .iter()
        .position(|l| l == " > [2/2] RUN echo oops-line && exit 3:")
        .unwrap_or_else(|| panic!("no report of the failed step:\n{}", frame.join("\n")));
    assert_eq!(frame[at - 1], "------");
    let (secs, text) = frame[at + 1].split_once(' ').unwrap();
    assert!(secs.parse::<f64>().is_ok(), "{:?}", frame[at + 1]);
    assert_eq!(text, "oops-line");
    assert_eq!(frame[at + 2], "------");
    assert!(
        frame[at + 3..]
            .iter()
            .any(|l| l.contains("did not complete successfully: exit code: 3")),
        "{frame:?}"
    );
}

#[test]
fn auto_without_a_terminal_is_plain() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    let dir = build_context(
        &w,
        "ctx",
        &[("Dockerfile", "FROM busybox:local\nRUN echo hi\n")],
    );
    let start = Instant::now();
    let out = w.run(["build", dir.to_str().unwrap()]);
    assert!(start.elapsed() < Duration::from_secs(120));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.starts_with("#1 [internal] load build definition from Dockerfile\n"),
        "{err}"
    );
    assert!(err.contains("\n#5 [2/2] RUN echo hi\n"), "{err}");
    assert!(!err.contains('\x1b'), "{err}");
}
