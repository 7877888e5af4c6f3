//! Relaying the user's terminal to a container process, in the CLI: our
//! stdin to the process, its output to our stdout/stderr, our window size
//! (and its changes: SIGWINCH) to its terminal, docker's detach keys, and
//! other signals handed to a callback (`--sig-proxy`). One poll loop, no
//! threads. The far side is either a pty master (`exec -t`) or a monitor's
//! attach socket (`attach`).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;

use crate::term::{self, DetachWatch, RawMode, Signals};
use crate::RuntimeError;

/// The far side of a relay.
pub trait Remote {
    /// Polled for output.
    fn output_fd(&self) -> BorrowedFd<'_>;
    /// Move what arrived to our stdout/stderr.
    fn pump_output(&mut self, buf: &mut [u8]) -> Pump;
    fn send_input(&mut self, data: &[u8]) -> std::io::Result<()>;
    fn resize(&mut self, ws: &libc::winsize);
}

/// What one read from the far side found.
#[derive(Debug, PartialEq, Eq)]
pub enum Pump {
    /// Output was moved; there may be more.
    More,
    /// Nothing to read now.
    Idle,
    /// The far side is closed.
    Closed,
}

/// How a relay ended.
#[derive(Debug, PartialEq, Eq)]
pub enum RelayEnd {
    /// The far side closed (the container exited, or its monitor went).
    Closed,
    /// The watched process exited.
    Exited,
    /// The user typed the detach keys.
    Detached,
}

pub struct RelayOptions<'a> {
    /// The far side is a terminal: raw mode, window size, detach keys.
    pub tty: bool,
    /// Send our stdin.
    pub stdin: bool,
    /// The detach sequence (with `tty` and `stdin`).
    pub detach_keys: Vec<u8>,
    /// A pidfd: the relay ends (after the output is drained) when it fires.
    pub exit: Option<BorrowedFd<'a>>,
    /// Signals to catch and hand to the callback (`--sig-proxy`).
    pub proxied: &'a [Signal],
}

/// Relay until the far side closes, the process exits or the user detaches.
pub fn relay(
    remote: &mut dyn Remote,
    opts: &RelayOptions,
    on_signal: &mut dyn FnMut(Signal),
) -> Result<RelayEnd, RuntimeError> {
    let mut wanted: Vec<Signal> = opts.proxied.to_vec();
    if opts.tty {
        wanted.push(Signal::SIGWINCH);
    }
    let mut signals =
        Signals::new(&wanted).map_err(|e| RuntimeError::io("watching signals", e.into()))?;
    let _raw = (opts.tty && opts.stdin && term::is_terminal(0)).then(RawMode::enable);
    if opts.tty {
        if let Some(ws) = term::window_size(1).or_else(|| term::window_size(0)) {
            remote.resize(&ws);
        }
    }
    let mut watch = DetachWatch::new(if opts.tty {
        opts.detach_keys.clone()
    } else {
        Vec::new()
    });
    let mut stdin_open = opts.stdin;
    let mut buf = vec![0u8; 16 * 1024];
    let mut forward = Vec::new();
    let stdin = std::io::stdin();
    loop {
        let mut fds = vec![
            PollFd::new(remote.output_fd(), PollFlags::POLLIN),
            PollFd::new(signals.as_fd(), PollFlags::POLLIN),
        ];
        if let Some(exit) = opts.exit {
            fds.push(PollFd::new(exit, PollFlags::POLLIN));
        }
        let stdin_at = fds.len();
        if stdin_open {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(RuntimeError::io("poll", e.into())),
        }
        let ready: Vec<bool> = fds
            .iter()
            .map(|p| p.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        if ready[0] && remote.pump_output(&mut buf) == Pump::Closed {
            return Ok(RelayEnd::Closed);
        }
        if ready[1] {
            for s in signals.pending() {
                if s == Signal::SIGWINCH {
                    if let Some(ws) = term::window_size(1).or_else(|| term::window_size(0)) {
                        remote.resize(&ws);
                    }
                } else {
                    on_signal(s);
                }
            }
        }
        if opts.exit.is_some() && ready[2] {
            // Whatever the process wrote before exiting is still to show.
            while remote.pump_output(&mut buf) == Pump::More {}
            return Ok(RelayEnd::Exited);
        }
        if stdin_open && ready[stdin_at] {
            match nix::unistd::read(0, &mut buf) {
                Ok(0) => stdin_open = false,
                Ok(n) => {
                    forward.clear();
                    let detached = watch.feed(&buf[..n], &mut forward);
                    if !forward.is_empty() && remote.send_input(&forward).is_err() {
                        stdin_open = false;
                    }
                    if detached {
                        return Ok(RelayEnd::Detached);
                    }
                }
                Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => {}
                Err(_) => stdin_open = false,
            }
        }
    }
}

/// A pty master the relay reads and writes directly (`exec -t`).
pub struct PtyRemote {
    pub master: OwnedFd,
}

impl Remote for PtyRemote {
    fn output_fd(&self) -> BorrowedFd<'_> {
        self.master.as_fd()
    }

    fn pump_output(&mut self, buf: &mut [u8]) -> Pump {
        match nix::unistd::read(self.master.as_raw_fd(), buf) {
            Ok(0) => Pump::Closed,
            Ok(n) => {
                let _ = term::write_all(std::io::stdout().as_fd(), &buf[..n]);
                Pump::More
            }
            Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => Pump::Idle,
            // EIO: no process holds the terminal any more.
            Err(_) => Pump::Closed,
        }
    }

    fn send_input(&mut self, data: &[u8]) -> std::io::Result<()> {
        term::write_all(self.master.as_fd(), data).map_err(std::io::Error::from)
    }

    fn resize(&mut self, ws: &libc::winsize) {
        term::set_window_size(self.master.as_raw_fd(), ws);
    }
}

/// `exec -t`: relay the user's terminal to the process's pty until it
/// exits; its exit code (docker's 1 and "read escape sequence" on detach).
pub fn exec_tty(
    master: OwnedFd,
    pid: i32,
    req: &crate::exec::ExecRequest,
) -> Result<i32, RuntimeError> {
    let pidfd = crate::monitor::pidfd_open(pid).ok_or_else(|| {
        RuntimeError::io(
            "watching the exec'd process",
            std::io::Error::last_os_error(),
        )
    })?;
    // Draining after the exit must not block on a terminal that a
    // background process still holds open.
    let _ = nix::fcntl::fcntl(
        master.as_raw_fd(),
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    );
    let mut remote = PtyRemote { master };
    let keys = if req.detach_keys.is_empty() {
        term::DEFAULT_DETACH_KEYS.to_vec()
    } else {
        req.detach_keys.clone()
    };
    let end = relay(
        &mut remote,
        &RelayOptions {
            tty: true,
            stdin: req.interactive,
            detach_keys: keys,
            exit: Some(pidfd.as_fd()),
            proxied: &[],
        },
        &mut |_| {},
    )?;
    if end == RelayEnd::Detached {
        return Err(RuntimeError::Start {
            message: "read escape sequence".into(),
            code: 1,
        });
    }
    Ok(crate::monitor::wait(pid))
}
