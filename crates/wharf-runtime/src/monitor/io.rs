//! Copying the container's output into its log (and to an attached CLI).

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::process::Started;
use crate::logs::{LogOptions, LogWriter, Stream};

/// Until both pipes reach EOF, move what arrives to the json-file log and,
/// when `attach`, to our own stdout/stderr (the CLI's).
pub fn copy_output(started: &mut Started, log_path: &Path, attach: bool) {
    let mut log = match LogWriter::open(log_path, LogOptions::default()) {
        Ok(l) => Some(l),
        Err(e) => {
            tracing::error!(error = %e, "opening the container log");
            None
        }
    };
    let mut buf = vec![0u8; 64 * 1024];
    let mut open = [true, true];
    while open.iter().any(|o| *o) {
        let mut fds = Vec::new();
        let mut which = Vec::new();
        for (i, fd) in [started.stdout.as_fd(), started.stderr.as_fd()]
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
            let fd = if i == 0 {
                started.stdout.as_raw_fd()
            } else {
                started.stderr.as_raw_fd()
            };
            let n = match nix::unistd::read(fd, &mut buf) {
                Ok(0) => {
                    open[i] = false;
                    continue;
                }
                Ok(n) => n,
                Err(nix::errno::Errno::EINTR) | Err(nix::errno::Errno::EAGAIN) => continue,
                Err(_) => {
                    open[i] = false;
                    continue;
                }
            };
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
            if attach {
                // The CLI may have gone away; the container keeps running.
                let _ = if i == 0 {
                    std::io::stdout().write_all(data)
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
