//! A pseudo-terminal for tests that act like a user at a terminal: wharf
//! runs with the pty as its controlling terminal (stdin, stdout, stderr),
//! the test types into the master, reads the screen, resizes the window
//! (the kernel sends SIGWINCH), and signals the process.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Terminal {
    master: OwnedFd,
    pub child: Child,
    /// Everything read from the screen so far.
    pub screen: String,
}

fn winsize(rows: u16, cols: u16) -> libc::winsize {
    libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}

impl Terminal {
    /// Spawn `cmd` on a new pty of `rows` x `cols`.
    pub fn spawn(mut cmd: Command, rows: u16, cols: u16) -> Terminal {
        let (mut m, mut s) = (0, 0);
        let ws = winsize(rows, cols);
        // SAFETY: openpty writes two descriptors; the winsize is read only.
        let rc =
            unsafe { libc::openpty(&mut m, &mut s, std::ptr::null_mut(), std::ptr::null(), &ws) };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: openpty just gave us these descriptors.
        let (master, slave) = unsafe { (OwnedFd::from_raw_fd(m), OwnedFd::from_raw_fd(s)) };
        // SAFETY: fcntl on our own descriptor.
        unsafe {
            libc::fcntl(master.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC);
            libc::fcntl(master.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK);
        }
        cmd.stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("spawn on a pty");
        Terminal {
            master,
            child,
            screen: String::new(),
        }
    }

    /// Type `s`.
    pub fn type_str(&self, s: &str) {
        // SAFETY: writing a buffer we own to our descriptor.
        let n = unsafe { libc::write(self.master.as_raw_fd(), s.as_ptr().cast(), s.len()) };
        assert_eq!(n, s.len() as isize, "typing into the pty");
    }

    /// Read what is on the screen now (waiting up to `wait` for something).
    fn read_some(&mut self, wait: Duration) -> bool {
        let mut p = libc::pollfd {
            fd: self.master.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd we own.
        if unsafe { libc::poll(&mut p, 1, wait.as_millis() as i32) } <= 0 {
            return false;
        }
        let mut buf = [0u8; 4096];
        // SAFETY: reading into a buffer we own.
        let n = unsafe { libc::read(self.master.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            // EIO: the process side is closed; don't spin.
            std::thread::sleep(Duration::from_millis(20));
            return false;
        }
        self.screen
            .push_str(&String::from_utf8_lossy(&buf[..n as usize]));
        true
    }

    /// Wait until the screen contains `text` (after the first `from` bytes).
    pub fn expect_from(&mut self, from: usize, text: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !self.screen.get(from..).is_some_and(|s| s.contains(text)) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {text:?} on the terminal; screen:\n{}",
                self.screen
            );
            self.read_some(Duration::from_millis(100));
        }
    }

    pub fn expect(&mut self, text: &str, secs: u64) {
        self.expect_from(0, text, secs)
    }

    /// Resize the window, as a terminal emulator does.
    pub fn resize(&self, rows: u16, cols: u16) {
        let ws = winsize(rows, cols);
        // SAFETY: TIOCSWINSZ reads one winsize struct.
        unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    }

    /// Send `sig` to the process on the terminal.
    pub fn signal(&self, sig: i32) {
        // SAFETY: signalling the child this test spawned.
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }

    /// Wait for the process to exit (reading the screen meanwhile); its code.
    pub fn wait(&mut self, secs: u64) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                while self.read_some(Duration::from_millis(50)) {}
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "the process on the terminal did not exit; screen:\n{}",
                self.screen
            );
            self.read_some(Duration::from_millis(50));
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What a terminal shows after `raw` (a pty's output): lines as a
/// terminal keeps them, with carriage returns, cursor-up (`ESC[nA`),
/// erase to end of line (`ESC[K`) and of screen (`ESC[J`) applied, and
/// colours and cursor visibility ignored. The scrollback is unbounded, so
/// a redrawn block ends up as its last frame.
pub fn render(raw: &str) -> Vec<String> {
    let mut lines: Vec<Vec<char>> = vec![Vec::new()];
    let (mut row, mut col) = (0usize, 0usize);
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => col = 0,
            '\n' => {
                row += 1;
                if row == lines.len() {
                    lines.push(Vec::new());
                }
            }
            '\x1b' if chars.peek() == Some(&'[') => {
                chars.next();
                let mut param = String::new();
                let mut fin = ' ';
                for n in chars.by_ref() {
                    if ('@'..='~').contains(&n) {
                        fin = n;
                        break;
                    }
                    param.push(n);
                }
                match fin {
                    'A' => row = row.saturating_sub(param.parse().unwrap_or(1)),
                    'K' => lines[row].truncate(col),
                    'J' => {
                        lines[row].truncate(col);
                        lines.truncate(row + 1);
                    }
                    _ => {}
                }
            }
            c if c.is_control() => {}
            c => {
                let line = &mut lines[row];
                while line.len() < col {
                    line.push(' ');
                }
                if col < line.len() {
                    line[col] = c;
                } else {
                    line.push(c);
                }
                col += 1;
            }
        }
    }
    lines
        .into_iter()
        .map(|l| l.into_iter().collect::<String>().trim_end().to_string())
        .collect()
}
