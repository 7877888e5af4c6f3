//! The monitor's interface, in one place: its command line (built by the
//! engine, parsed by the binary's entry), the fds it finds open, and the
//! typed messages it sends on the ready pipe.
//!
//! ```text
//! wharf --root ROOT monitor ID [--attach [--detach-keys K]] [--netns] [--warmed] [--wait]
//! wharf --root ROOT monitor ID --probe [--start-period]
//! fd 3  ready pipe: one message per line, monitor -> CLI
//! fd 4  (with --wait) go pipe: `go` once the container exists, CLI -> monitor
//! ```
//!
//! The argument form is fixed so the entry can read it without clap
//! (building the whole command line cost half a millisecond of every
//! container start).

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

/// The fd the monitor finds its ready pipe on.
pub const READY_FD: RawFd = 3;
/// The fd a prespawned monitor waits on for `go`.
pub const GO_FD: RawFd = 4;

/// What the monitor is started with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonitorArgs {
    pub root: PathBuf,
    pub id: String,
    /// Copy the container's output to our stdout/stderr too (a CLI is
    /// attached: `run` without `-d`, `start -a`, a build step).
    pub attach: bool,
    /// With `attach`: the key sequence that detaches the CLI.
    pub detach_keys: Option<String>,
    /// Wait for `go` on [`GO_FD`] before starting (`run` creates the
    /// container meanwhile).
    pub wait: bool,
    /// Start making the container's network namespace at once (it is on a
    /// bridge).
    pub netns: bool,
    /// The spawner took care of the first start's cgroup warm-up (its
    /// child forked the helper, or none applies): the monitor does not
    /// start another one.
    pub warmed: bool,
    /// Not a monitor: the helper that runs and records one health probe
    /// of the container (started by its monitor, see `monitor::health`).
    pub probe: bool,
    /// With `probe`: the container is within its health check's start
    /// period.
    pub in_start_period: bool,
}

impl MonitorArgs {
    /// The arguments after the program name.
    pub fn to_argv(&self) -> Vec<OsString> {
        let mut v: Vec<OsString> = vec![
            "--root".into(),
            self.root.clone().into(),
            "monitor".into(),
            self.id.clone().into(),
        ];
        if self.attach {
            v.push("--attach".into());
            if let Some(k) = &self.detach_keys {
                v.push("--detach-keys".into());
                v.push(k.into());
            }
        }
        if self.netns {
            v.push("--netns".into());
        }
        if self.warmed {
            v.push("--warmed".into());
        }
        if self.wait {
            v.push("--wait".into());
        }
        if self.probe {
            v.push("--probe".into());
        }
        if self.in_start_period {
            v.push("--start-period".into());
        }
        v
    }

    /// A whole command line (program name first) of the form
    /// [`MonitorArgs::to_argv`] makes; `None` for any other.
    pub fn parse(args: &[OsString]) -> Option<MonitorArgs> {
        let [_, root_flag, root, verb, id, rest @ ..] = args else {
            return None;
        };
        if root_flag != "--root" || verb != "monitor" {
            return None;
        }
        let mut m = MonitorArgs {
            root: root.into(),
            id: id.to_str()?.to_string(),
            ..Default::default()
        };
        let mut rest = rest.iter().map(OsString::as_os_str);
        while let Some(a) = rest.next() {
            match a.to_str()? {
                "--attach" => m.attach = true,
                "--wait" => m.wait = true,
                "--netns" => m.netns = true,
                "--warmed" => m.warmed = true,
                "--probe" => m.probe = true,
                "--start-period" => m.in_start_period = true,
                "--detach-keys" => {
                    m.detach_keys = Some(rest.next().and_then(OsStr::to_str)?.to_string())
                }
                _ => return None,
            }
        }
        Some(m)
    }
}

/// A message on the ready pipe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ready {
    /// The container runs.
    Started,
    /// It could not start: docker's exit code (125, 126, 127) and why.
    Failed { code: i32, message: String },
    /// (Attached) it exited with this code and everything a user can see
    /// of it is done; the CLI may exit.
    Exited(i32),
    /// (Attached) the user typed the detach keys.
    Detached,
}

impl Ready {
    fn encode(&self) -> String {
        match self {
            Ready::Started => "ok".into(),
            // One line: a newline in the message would end it early.
            Ready::Failed { code, message } => {
                format!("err {code} {}", message.replace('\n', " "))
            }
            Ready::Exited(code) => format!("exit {code}"),
            Ready::Detached => "detach".into(),
        }
    }

    fn decode(line: &str) -> Option<Ready> {
        match line {
            "ok" => Some(Ready::Started),
            "detach" => Some(Ready::Detached),
            _ => {
                if let Some(code) = line.strip_prefix("exit ") {
                    return code.trim().parse().ok().map(Ready::Exited);
                }
                let (code, message) = line.strip_prefix("err ")?.split_once(' ')?;
                Some(Ready::Failed {
                    code: code.parse().ok()?,
                    message: message.to_string(),
                })
            }
        }
    }

    /// Send this message (errors ignored: a CLI that went away cannot be told).
    pub fn send(&self, to: &mut impl Write) {
        let _ = writeln!(to, "{}", self.encode());
    }

    /// The next message; `None` at EOF (the monitor exited or never
    /// started) or for a line that is no message.
    pub fn receive(from: &mut File) -> std::io::Result<Option<Ready>> {
        let line = read_line(from)?;
        Ok(Ready::decode(&line))
    }
}

/// One line from a pipe that may carry more lines later: byte by byte,
/// so nothing after the newline is consumed.
fn read_line(f: &mut File) -> std::io::Result<String> {
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    loop {
        match f.read(&mut b) {
            Ok(0) => break,
            Ok(_) if b[0] == b'\n' => break,
            Ok(_) => line.push(b[0]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(String::from_utf8_lossy(&line).into_owned())
}

/// For a prespawned monitor: wait until the CLI has created the container.
/// False when it never will (the pipe closed without `go`).
pub fn wait_for_go() -> bool {
    // SAFETY: fcntl on an fd we only probe.
    if unsafe { libc::fcntl(GO_FD, libc::F_GETFD) } < 0 {
        return false;
    }
    // SAFETY: the fd is open (checked) and owned by nobody else in this process.
    let mut go = File::from(unsafe { OwnedFd::from_raw_fd(GO_FD) });
    read_line(&mut go).is_ok_and(|l| l == "go")
}

/// Tell a prespawned monitor to go on.
pub fn send_go(go: OwnedFd) -> std::io::Result<()> {
    File::from(go).write_all(b"go\n")
}

/// The ready pipe handed to a monitor, if this process is one.
pub fn ready_pipe() -> Option<File> {
    // SAFETY: fcntl on an fd we only probe.
    let valid = unsafe { libc::fcntl(READY_FD, libc::F_GETFD) } >= 0;
    // SAFETY: as above; the container must not inherit it.
    unsafe { libc::fcntl(READY_FD, libc::F_SETFD, libc::FD_CLOEXEC) };
    // SAFETY: the fd is open (checked) and owned by nobody else in this process.
    valid.then(|| File::from(unsafe { OwnedFd::from_raw_fd(READY_FD) }))
}

/// Why an engine hook around a start failed.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// `--network container:X` with X not running.
    #[error("cannot join network of a non running container: {0}")]
    PeerNotRunning(String),
    /// `--pid`/`--ipc container:X` that cannot be joined (docker's words).
    #[error("{0}")]
    Peer(String),
    /// Setting the network up failed (the cause names the object).
    #[error(transparent)]
    Network(Box<dyn std::error::Error + Send + Sync>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_round_trip() {
        let m = MonitorArgs {
            root: "/var/lib/wharf".into(),
            id: "abc".into(),
            attach: true,
            detach_keys: Some("ctrl-x".into()),
            wait: true,
            netns: true,
            warmed: true,
            ..Default::default()
        };
        let mut argv = vec![OsString::from("wharf")];
        argv.extend(m.to_argv());
        assert_eq!(MonitorArgs::parse(&argv), Some(m));
        let plain = MonitorArgs {
            root: "/r".into(),
            id: "x".into(),
            ..Default::default()
        };
        let mut argv = vec![OsString::from("wharf")];
        argv.extend(plain.to_argv());
        assert_eq!(MonitorArgs::parse(&argv), Some(plain));
        let probe = MonitorArgs {
            root: "/r".into(),
            id: "x".into(),
            probe: true,
            in_start_period: true,
            ..Default::default()
        };
        let mut argv = vec![OsString::from("wharf")];
        argv.extend(probe.to_argv());
        assert_eq!(MonitorArgs::parse(&argv), Some(probe));
        let other: Vec<OsString> = ["wharf", "--root", "/r", "ps"].map(Into::into).to_vec();
        assert_eq!(MonitorArgs::parse(&other), None);
    }

    #[test]
    fn messages_round_trip() {
        for m in [
            Ready::Started,
            Ready::Detached,
            Ready::Exited(137),
            Ready::Failed {
                code: 127,
                message: "exec: \"nope\": executable file not found in $PATH".into(),
            },
        ] {
            assert_eq!(Ready::decode(&m.encode()), Some(m));
        }
        let multi = Ready::Failed {
            code: 125,
            message: "a\nb".into(),
        };
        assert_eq!(
            Ready::decode(&multi.encode()),
            Some(Ready::Failed {
                code: 125,
                message: "a b".into()
            })
        );
        assert_eq!(Ready::decode(""), None);
    }
}
