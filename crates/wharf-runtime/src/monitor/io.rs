//! The monitor's I/O loop: the container's output to its json-file log,
//! to the CLI that started it attached (`run`, `start -a`) and to `attach`
//! clients; input from that CLI's terminal or from clients to the
//! container; window sizes to its pty. One poll loop, one small buffer.
//!
//! The attached CLI keeps the read end of the ready pipe open while it
//! waits. When it goes away (killed, or detached with ctrl-p ctrl-q, which
//! the monitor reports on that pipe as `detach`), the monitor lets go of
//! the user's terminal and the container runs on, logged and attachable.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::Path;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;
use wharf_store::Store;

use super::attach::{ClientInput, Server, STDERR, STDOUT};
use super::process::Started;
use crate::logs::{LogOptions, LogWriter, Stream};
use crate::term::{self, DetachWatch, RawMode, Signals};

/// How long the container must stay quiet before the loop hands back the
/// pages start-up touched (a short-lived container never pays for it).
const SHED_AFTER_MS: u16 = 500;

/// The CLI the monitor was started for (`--attach`).
pub struct Attached {
    /// The ready pipe, kept: an error on it means the CLI is gone.
    pub lifeline: Option<File>,
    /// Relay the CLI's stdin to the container's terminal (`-it`).
    pub tty_input: bool,
    pub detach_keys: Vec<u8>,
}

/// The user's terminal while attached: raw mode and SIGWINCH.
struct Terminal {
    _raw: RawMode,
    winch: Option<Signals>,
    watch: DetachWatch,
}

#[derive(Clone, Copy)]
enum Source {
    Out,
    Err,
    Stdin,
    Lifeline,
    Winch,
    Listener,
    Client(usize),
    /// A health probe's result.
    Health,
}

/// Until the container's output ends, move it where it goes. Gives back
/// the attached CLI's lifeline if that CLI is still there.
pub fn copy_output(
    started: &mut Started,
    log: Option<(&Path, &LogOptions)>,
    mut attached: Option<Attached>,
    store: &Store,
    mut health: Option<super::health::Checker>,
) -> Option<File> {
    let mut log = match log.map(|(p, o)| LogWriter::open(p, o.clone())) {
        Some(Ok(l)) => Some(l),
        Some(Err(e)) => {
            tracing::error!(error = %e, "opening the container log");
            None
        }
        None => None,
    };
    let mut terminal = attached
        .as_ref()
        .filter(|a| a.tty_input && started.tty.is_some())
        .map(|a| Terminal {
            _raw: RawMode::enable(),
            winch: Signals::new(&[Signal::SIGWINCH]).ok(),
            watch: DetachWatch::new(a.detach_keys.clone()),
        });
    let mut server = started.attach.take().map(Server::new);
    let mut buf = vec![0u8; 16 * 1024];
    let mut forward = Vec::new();
    let mut open = [true, true];
    let mut quiet = false;
    while open[0] || open[1] {
        let mut set: Vec<(Source, BorrowedFd)> = Vec::with_capacity(8);
        if open[0] {
            set.push((Source::Out, started.stdout.as_fd()));
        }
        if open[1] {
            set.push((Source::Err, started.stderr.as_fd()));
        }
        let stdin = std::io::stdin();
        if let Some(t) = &terminal {
            set.push((Source::Stdin, stdin.as_fd()));
            if let Some(w) = &t.winch {
                set.push((Source::Winch, w.as_fd()));
            }
        }
        if let Some(l) = attached.as_ref().and_then(|a| a.lifeline.as_ref()) {
            set.push((Source::Lifeline, l.as_fd()));
        }
        if let Some(s) = &server {
            for (i, fd) in s.fds().into_iter().enumerate() {
                let src = if i == 0 {
                    Source::Listener
                } else {
                    Source::Client(i - 1)
                };
                set.push((src, fd));
            }
        }
        if let Some(fd) = health.as_ref().and_then(|h| h.fd()) {
            set.push((Source::Health, fd));
        }
        let mut fds: Vec<PollFd> = set
            .iter()
            .map(|(_, fd)| PollFd::new(*fd, PollFlags::POLLIN))
            .collect();
        // The next health probe bounds every wait (-1: none due).
        let probe_due = health.as_ref().and_then(|h| h.wait_ms()).unwrap_or(-1);
        let shed = std::mem::take(&mut quiet);
        let polled = if shed {
            crate::memory::shed_and_poll(&mut fds, store, probe_due)
        } else {
            let ms = match probe_due {
                -1 => i32::from(SHED_AFTER_MS),
                due => due.min(i32::from(SHED_AFTER_MS)),
            };
            poll(
                &mut fds,
                PollTimeout::try_from(ms).unwrap_or(PollTimeout::ZERO),
            )
        };
        match polled {
            Ok(0) => {
                drop(fds);
                drop(set);
                let due = health.as_ref().and_then(|h| h.wait_ms()) == Some(0);
                if let Some(h) = health.as_mut().filter(|_| due) {
                    h.start_if_due();
                    // The helper does the probe: wait for it shed.
                    quiet = true;
                } else if !shed {
                    quiet = true;
                }
                continue;
            }
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => {
                tracing::error!(error = %e, "poll");
                return attached.and_then(|a| a.lifeline);
            }
        }
        let ready: Vec<Source> = fds
            .iter()
            .zip(&set)
            .filter(|(p, _)| p.revents().is_some_and(|r| !r.is_empty()))
            .map(|(_, (s, _))| *s)
            .collect();
        drop(fds);
        drop(set);
        // Clients first: one that sent its input (a resize) and closed
        // must be read before a broadcast of output finds it gone and
        // drops it. They are numbered by position and served from the
        // last, so one leaving does not renumber those still to serve.
        // Then the rest in the order polled (stdout first, as written).
        let (mut ready, rest): (Vec<Source>, Vec<Source>) = ready
            .into_iter()
            .partition(|s| matches!(s, Source::Client(_)));
        ready.reverse();
        ready.extend(rest);
        for src in ready {
            match src {
                Source::Out | Source::Err => {
                    let (i, fd) = match src {
                        Source::Out => (0, started.stdout.as_raw_fd()),
                        _ => (1, started.stderr.as_raw_fd()),
                    };
                    let n = match nix::unistd::read(fd, &mut buf) {
                        Ok(n) => n,
                        Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => continue,
                        // A pty master reads EIO once the container side is gone.
                        Err(_) => 0,
                    };
                    if n == 0 {
                        open[i] = false;
                        continue;
                    }
                    let data = &buf[..n];
                    let stream = if i == 0 {
                        Stream::Stdout
                    } else {
                        Stream::Stderr
                    };
                    if let Some(l) = log.as_mut() {
                        if let Err(e) = l.write(stream, data) {
                            tracing::error!(error = %e, "writing the container log");
                        }
                    }
                    if attached.is_some() {
                        // The CLI may have gone away; the container keeps running.
                        let _ = if i == 0 {
                            let mut out = std::io::stdout();
                            out.write_all(data).and_then(|_| out.flush())
                        } else {
                            std::io::stderr().write_all(data)
                        };
                    }
                    if let Some(s) = server.as_mut() {
                        s.broadcast(if i == 0 { STDOUT } else { STDERR }, data);
                    }
                }
                Source::Stdin => {
                    let n = match nix::unistd::read(0, &mut buf) {
                        Ok(n) => n,
                        Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => continue,
                        Err(_) => 0,
                    };
                    let Some(t) = terminal.as_mut() else { continue };
                    forward.clear();
                    let detached = n == 0 || t.watch.feed(&buf[..n], &mut forward);
                    to_container(started, &forward);
                    if detached {
                        if let Some(l) = attached.as_mut().and_then(|a| a.lifeline.as_mut()) {
                            let _ = l.write_all(b"detach\n");
                        }
                        let_go(&mut attached, &mut terminal);
                    }
                }
                Source::Winch => {
                    if let Some(w) = terminal.as_mut().and_then(|t| t.winch.as_mut()) {
                        w.pending();
                    }
                    if let Some(m) = &started.tty {
                        super::tty::copy_size(m);
                    }
                }
                Source::Lifeline => let_go(&mut attached, &mut terminal),
                Source::Health => {
                    if let Some(h) = health.as_mut() {
                        h.finished();
                    }
                    // Nothing else to do until the next probe: hand back
                    // what starting this one touched.
                    quiet = true;
                }
                Source::Listener => {
                    if let Some(s) = server.as_mut() {
                        s.accept();
                    }
                }
                Source::Client(i) => {
                    let Some(s) = server.as_mut() else { continue };
                    s.read_client(i, &mut buf, &mut |input| match input {
                        ClientInput::Stdin(d) => to_container(started, d),
                        ClientInput::Resize(ws) => {
                            if let Some(m) = &started.tty {
                                term::set_window_size(m.as_raw_fd(), &ws);
                            }
                        }
                    });
                }
            }
        }
    }
    if let Some(l) = log.as_mut() {
        let _ = l.flush_partial();
    }
    if let Some(s) = server.as_mut() {
        s.close_all();
    }
    drop(terminal);
    attached.and_then(|a| a.lifeline)
}

/// Input for the container: its terminal, or its stdin pipe (`-i` without
/// a CLI attached).
fn to_container(started: &Started, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let fd = match (&started.tty, &started.stdin) {
        (Some(m), _) => m.as_fd(),
        (None, Some(w)) => w.as_fd(),
        _ => return,
    };
    let _ = term::write_all(fd, data);
}

/// The attached CLI is gone: give its terminal back (mode restored, not
/// held open by us) and carry on for the log and attach clients.
fn let_go(attached: &mut Option<Attached>, terminal: &mut Option<Terminal>) {
    *terminal = None;
    *attached = None;
    release_stdio();
}

/// Put /dev/null on our stdin/stdout/stderr: whatever they were (the CLI's
/// terminal or pipes) is no longer held open by us.
pub fn release_stdio() {
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        for fd in 0..3 {
            // SAFETY: dup2 onto our own stdio descriptors.
            unsafe { libc::dup2(null.as_raw_fd(), fd) };
        }
    }
}
