//! Being attached to a container: waiting on the monitor an attached
//! `run`/`start -a` spawned (handing it window-size changes, forwarding
//! signals with `--sig-proxy`, noticing a detach), and `docker attach`.

use std::os::fd::AsFd;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use wharf_runtime::attach::AttachRequest;
use wharf_runtime::monitor::ContainerDir;
use wharf_runtime::relay::RelayEnd;
use wharf_runtime::term::{self, Signals, PROXIED_SIGNALS};

use super::start::StartOutcome;
use crate::{Engine, EngineError, EngineResult};
use wharf_runtime::monitor::Ready;

/// `docker attach`'s flags.
#[derive(Debug, Clone)]
pub struct AttachOptions {
    /// Send our stdin (unless `--no-stdin`), when the container has `-i`.
    pub stdin: bool,
    pub sig_proxy: bool,
    /// `--detach-keys`, parsed.
    pub detach_keys: Vec<u8>,
}

fn start_error(message: &str, code: i32) -> EngineError {
    EngineError::Start {
        message: message.to_string(),
        code,
    }
}

/// The signals an attached CLI handles, blocked (see [`watch_signals`]).
pub struct AttachSignals(Signals);

/// Block the signals an attached `run`/`start -a` handles: SIGCHLD,
/// SIGWINCH, and with `sig_proxy` those it forwards to the container.
/// Called before the container starts: from its first output on, a
/// SIGTERM to the CLI must reach the container, not kill the CLI. The
/// monitor, spawned with an empty mask, is not affected.
pub fn watch_signals(sig_proxy: bool) -> EngineResult<AttachSignals> {
    let mut wanted = vec![Signal::SIGCHLD, Signal::SIGWINCH];
    if sig_proxy {
        wanted.extend_from_slice(PROXIED_SIGNALS);
    }
    Signals::new(&wanted)
        .map(AttachSignals)
        .map_err(|e| EngineError::io("watching signals", e.into()))
}

impl Engine {
    /// Hand a signal the CLI received to the container (`--sig-proxy`).
    fn proxy_signal(&self, id: &str, sig: Signal) {
        if let Err(e) = self.kill_container(id, Some(sig.as_str())) {
            tracing::debug!(error = %e, "forwarding {sig}");
        }
    }

    /// Wait for the monitor of an attached start: the container's exit
    /// code, or `None` when the user detached (the container runs on).
    /// `signals`: taken before the start (see [`watch_signals`]).
    pub fn wait_attached(
        &self,
        started: StartOutcome,
        signals: AttachSignals,
    ) -> EngineResult<Option<i32>> {
        let Some(mut monitor) = started.monitor else {
            return Ok(Some(0));
        };
        let mut signals = signals.0;
        let mut lifeline = started.lifeline;
        loop {
            if let Some(code) = monitor
                .try_wait()
                .map_err(|e| EngineError::io("waiting for the monitor", e))?
            {
                return Ok(Some(code));
            }
            let mut fds = vec![PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
            if let Some(l) = &lifeline {
                fds.push(PollFd::new(l.as_fd(), PollFlags::POLLIN));
            }
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(EngineError::io("poll", e.into())),
            }
            let told = fds
                .get(1)
                .is_some_and(|p| p.revents().is_some_and(|r| !r.is_empty()));
            drop(fds);
            for s in signals.pending() {
                match s {
                    Signal::SIGCHLD => {}
                    Signal::SIGWINCH => {
                        let _ = kill(Pid::from_raw(monitor.id() as i32), Signal::SIGWINCH);
                    }
                    other => self.proxy_signal(&started.id, other),
                }
            }
            if told {
                let message = lifeline.as_mut().map(Ready::receive).transpose();
                match message.ok().flatten().flatten() {
                    Some(Ready::Detached) => return Ok(None),
                    // Everything the user can see is done; the monitor
                    // finishes its own cleanup without us.
                    Some(Ready::Exited(code)) => return Ok(Some(code)),
                    // The monitor is finishing: SIGCHLD follows.
                    _ => lifeline = None,
                }
            }
        }
    }

    /// `docker attach`: the container's exit code once its output ends.
    pub fn attach_container(&self, name: &str, opts: &AttachOptions) -> EngineResult<i32> {
        let c = self.refresh(self.find_container(name)?)?;
        if !c.state.status.is_running() {
            return Err(start_error(
                "You cannot attach to a stopped container, start it first",
                1,
            ));
        }
        if c.state.status == wharf_model::Status::Paused {
            return Err(start_error(
                "You cannot attach to a paused container, unpause it first",
                1,
            ));
        }
        let (tty, interactive) = (c.config().tty, c.config().open_stdin);
        let stdin = opts.stdin && interactive;
        if stdin && tty && !term::is_terminal(0) {
            return Err(start_error("the input device is not a TTY", 1));
        }
        self.container_event(&c.id, "attach", &[])?;
        // docker proxies signals only to containers without a terminal
        // (with one, Ctrl-C is a keystroke for it).
        let proxied = if opts.sig_proxy && !tty {
            PROXIED_SIGNALS.to_vec()
        } else {
            Vec::new()
        };
        let req = AttachRequest {
            tty,
            stdin,
            detach_keys: opts.detach_keys.clone(),
            proxied,
        };
        let dir = ContainerDir::new(self.store.root(), &c.id);
        let end = wharf_runtime::attach::attach(&dir, &req, &mut |s| self.proxy_signal(&c.id, s))
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        if end == RelayEnd::Detached {
            return Err(start_error("read escape sequence", 1));
        }
        self.wait_container(&c.id)
    }
}
