//! `-t`: the container's pseudo-terminal.
//!
//! libcontainer's init opens the pty inside the container and sends the
//! master over a unix socket; the monitor keeps the master, sizes it like
//! the user's terminal, puts that terminal in raw mode (so line editing
//! and Ctrl-C belong to the container), and relays bytes both ways.

use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::Path;

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, UnixAddr};

use crate::RuntimeError;

/// Listen where libcontainer will send the pty master. The socket is bound
/// by its name from inside its directory: the full path can exceed the
/// 108 bytes a socket address holds (the monitor is single-threaded, so
/// changing directory for a moment is safe).
pub fn console_socket(path: &Path) -> Result<UnixListener, RuntimeError> {
    let _ = std::fs::remove_file(path);
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(RuntimeError::Unsupported(format!(
            "bad console socket path {}",
            path.display()
        )));
    };
    let back = std::env::current_dir()
        .map_err(|e| RuntimeError::io("reading the current directory", e))?;
    std::env::set_current_dir(dir)
        .map_err(|e| RuntimeError::io(format!("entering {}", dir.display()), e))?;
    let bound = UnixListener::bind(name);
    let _ = std::env::set_current_dir(back);
    bound.map_err(|e| RuntimeError::io(format!("binding {}", path.display()), e))
}

/// Receive the pty master libcontainer sent.
pub fn receive_master(listener: &UnixListener) -> Result<OwnedFd, RuntimeError> {
    let (stream, _) = listener
        .accept()
        .map_err(|e| RuntimeError::io("accepting the console socket", e))?;
    let mut buf = [0u8; 64];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<UnixAddr>(
        stream.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    )
    .map_err(|e| RuntimeError::io("receiving the pty master", e.into()))?;
    for cmsg in msg
        .cmsgs()
        .map_err(|e| RuntimeError::io("reading the pty message", e.into()))?
    {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            if let Some(fd) = fds.first() {
                // SAFETY: the kernel just gave us this descriptor; nobody else owns it.
                return Ok(unsafe { OwnedFd::from_raw_fd(*fd) });
            }
        }
    }
    Err(RuntimeError::Unsupported(
        "the container sent no pty master".into(),
    ))
}

/// Give the container's terminal the size of ours (stdout), if ours is one.
pub fn copy_size(master: &OwnedFd) {
    if let Some(ws) = crate::term::window_size(1) {
        crate::term::set_window_size(master.as_raw_fd(), &ws);
    }
}
