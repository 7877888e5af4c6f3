//! `docker attach`, the client side: connect to the monitor's attach
//! socket and relay the user's terminal (or plain streams) to it.

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;

use nix::sys::signal::Signal;

use crate::monitor::attach::{self as proto, Frame, FrameReader};
use crate::monitor::ContainerDir;
use crate::relay::{relay, Pump, RelayEnd, RelayOptions, Remote};
use crate::RuntimeError;

pub struct AttachRequest {
    /// The container has a terminal.
    pub tty: bool,
    /// Send our stdin (the container was started with `-i`).
    pub stdin: bool,
    pub detach_keys: Vec<u8>,
    /// Signals handed to the callback (`--sig-proxy`).
    pub proxied: Vec<Signal>,
}

struct SocketRemote {
    stream: UnixStream,
    frames: FrameReader,
}

impl Remote for SocketRemote {
    fn output_fd(&self) -> BorrowedFd<'_> {
        self.stream.as_fd()
    }

    fn pump_output(&mut self, buf: &mut [u8]) -> Pump {
        let n = match nix::unistd::read(self.stream.as_raw_fd(), buf) {
            Ok(0) => return Pump::Closed,
            Ok(n) => n,
            Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => return Pump::Idle,
            Err(_) => return Pump::Closed,
        };
        self.frames.feed(&buf[..n], &mut |f| {
            if let Frame::Data(kind, data) = f {
                let _ = if kind == proto::STDERR {
                    std::io::stderr().write_all(data)
                } else {
                    let mut out = std::io::stdout();
                    out.write_all(data).and_then(|_| out.flush())
                };
            }
        });
        Pump::More
    }

    fn send_input(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.stream
            .write_all(&proto::header(proto::STDIN, data.len() as u32))?;
        self.stream.write_all(data)
    }

    fn resize(&mut self, ws: &libc::winsize) {
        let _ = self.stream.write_all(&proto::resize_frame(ws));
    }
}

/// Relay until the container's output ends or the user detaches.
pub fn attach(
    dir: &ContainerDir,
    req: &AttachRequest,
    on_signal: &mut dyn FnMut(Signal),
) -> Result<RelayEnd, RuntimeError> {
    let stream = proto::connect(&dir.attach_socket())
        .map_err(|e| RuntimeError::io(format!("attaching to container {}", dir.id), e))?;
    let mut remote = SocketRemote {
        stream,
        frames: FrameReader::default(),
    };
    if req.tty {
        // As docker does: a size off by one first, so that the real one
        // (sent next) is a change and the program redraws (a shell shows
        // its prompt again).
        if let Some(mut ws) = crate::term::window_size(1) {
            ws.ws_row += 1;
            ws.ws_col += 1;
            remote.resize(&ws);
        }
    }
    relay(
        &mut remote,
        &RelayOptions {
            tty: req.tty,
            stdin: req.stdin,
            detach_keys: req.detach_keys.clone(),
            exit: None,
            proxied: &req.proxied,
        },
        on_signal,
    )
}
