//! Starting a monitor process without waiting for its exec.
//!
//! `std::process::Command` with a `pre_exec` hook forks and then blocks
//! until the child has exec'd (to report exec errors): for `run` that was
//! a millisecond of the CLI's time spent waiting for the kernel to tear
//! down the child's copy of the CLI and load the binary again. Here the
//! child execs on its own; a monitor that cannot start shows up the same
//! way as one that dies early: its ready pipe closes without a word.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::errno::Errno;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::{EngineError, EngineResult};

/// A spawned monitor process (our child until reaped).
#[derive(Debug)]
pub struct MonitorChild {
    pid: Pid,
}

impl MonitorChild {
    pub fn id(&self) -> u32 {
        self.pid.as_raw() as u32
    }

    /// Its exit code once it has exited (137 for a death by signal, the
    /// code docker reports for a killed container).
    pub fn try_wait(&mut self) -> std::io::Result<Option<i32>> {
        self.reap(Some(WaitPidFlag::WNOHANG))
    }

    pub fn wait(&mut self) -> std::io::Result<i32> {
        loop {
            if let Some(code) = self.reap(None)? {
                return Ok(code);
            }
        }
    }

    fn reap(&mut self, flags: Option<WaitPidFlag>) -> std::io::Result<Option<i32>> {
        match waitpid(self.pid, flags) {
            Ok(WaitStatus::Exited(_, code)) => Ok(Some(code)),
            Ok(WaitStatus::Signaled(..)) => Ok(Some(137)),
            Ok(_) | Err(Errno::EINTR) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// Fork and exec `program` with `args` in a new session, with `fds`
/// (source, target) as its numbered fds; everything else it gets from us
/// is close-on-exec. Returns at once, while the child execs. The child
/// first forks `warmup`'s helper: the child's time is not the caller's.
pub fn spawn(
    program: &Path,
    args: &[&std::ffi::OsStr],
    fds: Vec<(OwnedFd, RawFd)>,
    warmup: Option<&wharf_runtime::cgroup_warmup::Warmup>,
) -> EngineResult<MonitorChild> {
    let fail = |e: std::io::Error| EngineError::io("starting the monitor", e);
    let cstr = |s: &[u8]| CString::new(s).map_err(|e| fail(std::io::Error::other(e)));
    let program = cstr(program.as_os_str().as_bytes())?;
    let mut argv = vec![program.clone()];
    for a in args {
        argv.push(cstr(a.as_bytes())?);
    }
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    // Out of the way of the targets (0..=4), so no dup2 below overwrites a
    // source that another one still needs.
    let high: Vec<(OwnedFd, RawFd)> = fds
        .into_iter()
        .map(|(fd, target)| {
            // SAFETY: F_DUPFD_CLOEXEC on an fd we own returns a new fd we own.
            let new = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10) };
            if new < 0 {
                return Err(fail(std::io::Error::last_os_error()));
            }
            // SAFETY: `new` is a fresh fd, owned by nothing else.
            Ok((
                unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(new) },
                target,
            ))
        })
        .collect::<EngineResult<_>>()?;
    let moves: Vec<(RawFd, RawFd)> = high.iter().map(|(f, t)| (f.as_raw_fd(), *t)).collect();
    // SAFETY: the child calls only async-signal-safe functions (the
    // warm-up's fork, setsid, signal, sigprocmask, dup2, execv, _exit) on
    // memory prepared before the fork, so no other thread of ours can
    // leave it holding a lock.
    match unsafe { libc::fork() } {
        -1 => Err(fail(std::io::Error::last_os_error())),
        0 => unsafe {
            if let Some(w) = warmup {
                w.fork_helper();
            }
            libc::setsid();
            // Rust ignores SIGPIPE; the monitor starts as any program does.
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            let mut none: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut none);
            libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
            for &(from, to) in &moves {
                if libc::dup2(from, to) < 0 {
                    libc::_exit(127);
                }
            }
            libc::execv(argv_ptrs[0], argv_ptrs.as_ptr());
            libc::_exit(127)
        },
        pid => Ok(MonitorChild {
            pid: Pid::from_raw(pid),
        }),
    }
}
