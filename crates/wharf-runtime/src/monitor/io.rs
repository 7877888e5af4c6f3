//! Copying the container's output into its log (and to an attached CLI).

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::process::Started;
use crate::logs::{LogOptions, LogWriter, Stream};

/// Until both pipes reach EOF, move what arrives to the json-file log (if
/// any: build steps have none) and, when `attach`, to our own
/// stdout/stderr (the CLI's).
pub fn copy_output(started: &mut Started, log_path: Option<&Path>, attach: bool) {
    let mut log = match log_path.map(|p| LogWriter::open(p, LogOptions::default())) {
        Some(Ok(l)) => Some(l),
        Some(Err(e)) => {
            tracing::error!(error = %e, "opening the container log");
            None
        }
        None => None,
    };
    let mut buf = vec![0u8; 64 * 1024];
    // With a tty the user's keystrokes go to the container's terminal.
    let relay_input = attach && started.tty.is_some();
    let _raw = relay_input.then(crate::term::RawMode::enable);
    let stdin = std::io::stdin();
    let mut open = [true, true, relay_input];
    while open[0] || open[1] {
        let mut fds = Vec::new();
        let mut which = Vec::new();
        for (i, fd) in [
            started.stdout.as_fd(),
            started.stderr.as_fd(),
            stdin.as_fd(),
        ]
        .into_iter()
        .enumerate()
        {
            if open[i] {
                fds.push(PollFd::new(fd, PollFlags::POLLIN));
                which.push(i);
            }
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => {
                tracing::error!(error = %e, "poll");
                return;
            }
        }
        let ready: Vec<(usize, bool)> = fds
            .iter()
            .zip(&which)
            .map(|(p, i)| (*i, p.revents().is_some_and(|r| !r.is_empty())))
            .collect();
        drop(fds);
        for (i, is_ready) in ready {
            if !is_ready {
                continue;
            }
            let fd = match i {
                0 => started.stdout.as_raw_fd(),
                1 => started.stderr.as_raw_fd(),
                _ => 0,
            };
            let n = match nix::unistd::read(fd, &mut buf) {
                Ok(0) => {
                    open[i] = false;
                    continue;
                }
                Ok(n) => n,
                Err(nix::errno::Errno::EINTR) | Err(nix::errno::Errno::EAGAIN) => continue,
                // A pty master reads EIO once the container side is gone.
                Err(_) => {
                    open[i] = false;
                    continue;
                }
            };
            let data = &buf[..n];
            if i == 2 {
                if let Some(master) = &started.tty {
                    if write_all(master.as_raw_fd(), data).is_err() {
                        open[2] = false;
                    }
                }
                continue;
            }
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
            if attach {
                // The CLI may have gone away; the container keeps running.
                let _ = if i == 0 {
                    std::io::stdout()
                        .write_all(data)
                        .and_then(|_| std::io::stdout().flush())
                } else {
                    std::io::stderr().write_all(data)
                };
            }
        }
    }
    if let Some(l) = log.as_mut() {
        let _ = l.flush_partial();
    }
}

fn write_all(fd: std::os::fd::RawFd, mut data: &[u8]) -> nix::Result<()> {
    // SAFETY: fd stays open for the duration of this call (owned by `Started`).
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    while !data.is_empty() {
        match nix::unistd::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
