//! The DNS server of a user-defined network (aardvark-dns's role): one
//! process per network, `wharf --root R network-dns <id>`, listening on the
//! network's gateway port 53, answering container names, aliases and
//! compose service names from the store and forwarding everything else to
//! the host's resolvers. The first container on the network starts it, the
//! last one gone stops it (and it stops by itself once its network has no
//! running container or its store is gone).

mod records;
mod server;

use std::io::{BufRead, BufReader};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use wharf_store::networks::NetworkRecord;

use crate::manage::Networking;
use crate::{NetResult, NetworkError};

pub use records::lookup;
pub use server::serve;

/// The fd a DNS server finds its ready pipe on.
pub const READY_FD: i32 = 3;

fn pid_file(net: &Networking, id: &str) -> PathBuf {
    net.root().join("network").join(format!("dns-{id}.pid"))
}

/// The running server's PID, if any (the PID file must name a live
/// `network-dns` process for this network).
pub fn server_pid(net: &Networking, id: &str) -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(pid_file(net, id))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let cmdline = String::from_utf8_lossy(&cmdline);
    (cmdline.contains("network-dns") && cmdline.contains(id)).then_some(pid)
}

/// Start the network's DNS server unless it runs; returns once it listens.
pub fn ensure_server(net: &Networking, record: &NetworkRecord) -> NetResult<()> {
    if server_pid(net, &record.id).is_some() {
        return Ok(());
    }
    let dir = net.root().join("network");
    std::fs::create_dir_all(&dir).map_err(|e| NetworkError::io("creating network/", e))?;
    // Close-on-exec: only the server's READY_FD (made by dup2) may hold the
    // write end, or a process forked meanwhile would keep the read below
    // waiting after the server died.
    let (ready_r, ready_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| NetworkError::io("creating a pipe", e.into()))?;
    let raw = ready_w.as_raw_fd();
    let mut cmd = Command::new(&net.exe);
    cmd.arg("--root")
        .arg(net.root())
        .arg("network-dns")
        .arg(&record.id)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            // dup2 onto itself would keep close-on-exec: clear it then.
            let moved = if raw == READY_FD {
                libc::fcntl(raw, libc::F_SETFD, 0)
            } else {
                libc::dup2(raw, READY_FD)
            };
            if moved < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .map_err(|e| NetworkError::io("starting the network's DNS server", e))?;
    drop(ready_w);
    let mut line = String::new();
    let _ = BufReader::new(std::fs::File::from(ready_r)).read_line(&mut line);
    if line.trim() != "ok" {
        return Err(NetworkError::System(format!(
            "the DNS server of network {} did not start: {}",
            record.name,
            line.trim()
        )));
    }
    std::fs::write(pid_file(net, &record.id), child.id().to_string())
        .map_err(|e| NetworkError::io("writing the DNS server's PID file", e))
}

/// Stop the network's DNS server, if it runs.
pub fn stop_server(net: &Networking, id: &str) {
    if let Some(pid) = server_pid(net, id) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    let _ = std::fs::remove_file(pid_file(net, id));
}
