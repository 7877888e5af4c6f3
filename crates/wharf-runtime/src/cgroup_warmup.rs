//! Paying the cgroup join early, in parallel.
//!
//! The first move of a task into a cgroup takes the kernel's
//! cgroup_threadgroup_rwsem for writing, which waits a whole RCU grace
//! period (~10 ms here, sometimes far more) unless another writer passed
//! it moments before. libcontainer moves the container's first process
//! into its cgroups in the middle of the start, so the wait would sit on
//! the critical path. A helper process "moves" itself into the cgroup it
//! is already in (a no-op) while `run` creates the container and the
//! monitor mounts the rootfs and builds the spec; the container's join
//! that follows then finds the lock in its fast state. `run`'s monitor
//! child starts one on its way to exec; the monitor itself does for
//! `start` and restarts.
//!
//! A process, not a thread: nobody waits for it. A thread would have to
//! be joined before libcontainer forks (which is only safe single-
//! threaded), and a join could wait out a whole grace period.
//!
//! `exec` pays the same wait: libcontainer's intermediate process joins
//! each of the container's hierarchies, and a join after a quiet moment
//! waits out a grace period (10-60 ms seen under load). Its CLI forks a
//! helper ([`hold`]) before it even opens the store; the helper moves
//! itself until the exec's process has started.
//!
//! Only on cgroup v2. On v1 (and hybrid) hosts the joins take no such
//! lock at all: our libcgroups patch (vendor/README.md) moves the
//! single-threaded intermediate process by writing "0" to each
//! hierarchy's `tasks` file, which the kernel does without the
//! threadgroup lock (a join: 0.25 ms where a move by pid took 6-10 ms
//! after a quiet second, measured 2026-12-07). A helper moving itself by
//! pid there would only hold cgroup_mutex through a grace period, ahead
//! of the container's join; so on v1 there is none.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

/// The file a no-op move of a process goes through on a cgroup v2 host;
/// `None` on a v1 or hybrid one (a `pids` v1 hierarchy: libcontainer
/// uses v1 there, whose joins need no warm-up, see above).
/// `own`: this process's /proc/self/cgroup.
fn own_cgroup_file(own: &str) -> Option<PathBuf> {
    let mut v2 = None;
    for line in own.lines() {
        let mut f = line.splitn(3, ':');
        let (_, ctrl, path) = (f.next()?, f.next()?, f.next()?);
        if ctrl == "pids" {
            return None;
        }
        if ctrl.is_empty() {
            v2 = Some(PathBuf::from(format!("/sys/fs/cgroup{path}/cgroup.procs")));
        }
    }
    v2.filter(|p| p.exists())
}

/// How many times the helper moves itself (2 ms apart) when it cannot
/// tell when the container joins.
const REPEATS: usize = 6;

/// At most this many moves while it waits for the container's join: the
/// start may take far longer than the ~10 ms REPEATS covers on a loaded
/// host, and a join that came after the fast state ended waited out a
/// whole grace period (10-25 ms seen) on the start's critical path.
const MAX_REPEATS: usize = 150;

/// Moves after the container's first join.
const AFTER_JOIN: usize = 2;

/// A warm-up ready to go: everything the helper needs, prepared, so that
/// [`Warmup::fork_helper`] may run where only async-signal-safe calls are
/// allowed (in `run`'s monitor child, between its fork and exec: the CLI
/// itself then pays nothing for it).
pub struct Warmup {
    file: CString,
    /// The container's cgroup.procs: not empty once the container joined.
    joined: Option<CString>,
    /// The read end of a pipe (non-blocking): the helper stops at its EOF.
    stop: Option<RawFd>,
}

impl Warmup {
    /// For the container whose cgroup is at `cgroups_path` (`/wharf/<id>`).
    /// `None` when this host has nothing to warm up (cgroup v1, see
    /// above).
    pub fn prepare(cgroups_path: Option<&Path>) -> Option<Warmup> {
        let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
        let file = own_cgroup_file(&own)?;
        let joined = cgroups_path
            .map(|p| Path::new("/sys/fs/cgroup").join(p.strip_prefix("/").unwrap_or(p)))
            .map(|d| d.join("cgroup.procs"))
            .and_then(|p| CString::new(p.into_os_string().into_vec()).ok());
        let file = CString::new(file.into_os_string().into_vec()).ok()?;
        Some(Warmup {
            file,
            joined,
            stop: None,
        })
    }

    /// Fork the helper; it exits on its own (its parent reaps it with its
    /// other children, or it is reaped when the parent exits).
    ///
    /// Async-signal-safe: fork, and in the helper close_range,
    /// getpid, open, read, write, close, nanosleep and _exit, on memory
    /// prepared beforehand.
    pub fn fork_helper(&self) {
        // SAFETY: see above; the helper never returns into our code.
        unsafe {
            if libc::fork() != 0 {
                return;
            }
            // Holding none of the parent's pipes: `$(wharf run -d ...)`
            // reads until every writer is gone, and this may block a while.
            match self.stop {
                Some(s) if s > 0 => {
                    libc::syscall(libc::SYS_close_range, 0u32, (s - 1) as u32, 0u32);
                    libc::syscall(libc::SYS_close_range, (s + 1) as u32, u32::MAX, 0u32);
                }
                _ => {
                    libc::syscall(libc::SYS_close_range, 0u32, u32::MAX, 0u32);
                }
            }
            // A task's ID in decimal, for the tasks/cgroup.procs file.
            let mut buf = [0u8; 20];
            let mut at = buf.len();
            let mut pid = libc::getpid() as u64;
            loop {
                at -= 1;
                buf[at] = b'0' + (pid % 10) as u8;
                pid /= 10;
                if pid == 0 {
                    break;
                }
            }
            let fd = libc::open(self.file.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd >= 0 {
                // The fast state ends one grace period after the last
                // writer: more writes keep it until the container's join
                // (a few after it), or for ~10 ms if that cannot be seen.
                let pause = libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 2_000_000,
                };
                let mut left = if self.joined.is_some() || self.stop.is_some() {
                    MAX_REPEATS
                } else {
                    REPEATS
                };
                let mut seen = false;
                for i in 0.. {
                    if i > 0 {
                        libc::nanosleep(&pause, std::ptr::null_mut());
                    }
                    libc::write(fd, buf[at..].as_ptr().cast(), buf.len() - at);
                    left -= 1;
                    if let Some(s) = self.stop {
                        // EOF: every join is done (EAGAIN: not yet).
                        let mut byte = 0u8;
                        if libc::read(s, (&mut byte as *mut u8).cast(), 1) == 0 {
                            break;
                        }
                    }
                    if !seen && self.joined.as_ref().is_some_and(|j| has_a_process(j)) {
                        seen = true;
                        left = left.min(AFTER_JOIN);
                    }
                    if left == 0 {
                        break;
                    }
                }
            }
            libc::_exit(0);
        }
    }
}

/// Whether cgroup.procs file `procs` lists a process (async-signal-safe).
///
/// # Safety
/// Only open, read and close, on a path prepared beforehand.
unsafe fn has_a_process(procs: &CString) -> bool {
    let fd = libc::open(procs.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
    if fd < 0 {
        return false;
    }
    let mut byte = 0u8;
    let n = libc::read(fd, (&mut byte as *mut u8).cast(), 1);
    libc::close(fd);
    n > 0
}

/// A helper kept moving while this is held (see [`hold`]).
pub struct Held(#[allow(dead_code)] OwnedFd);

/// Fork a helper that moves itself until the returned [`Held`] is dropped
/// (and every copy of it closed: it is close-on-exec, so a process forked
/// meanwhile lets go at its exec), for a process about to join an existing
/// container's cgroups (`exec`). `None` when this host has nothing to warm
/// up. At most `MAX_REPEATS` moves (~300 ms).
pub fn hold() -> Option<Held> {
    let mut w = Warmup::prepare(None)?;
    let (r, held) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK).ok()?;
    w.stop = Some(r.as_raw_fd());
    w.fork_helper();
    Some(Held(held))
}

/// Prepare and fork the helper at once (see [`Warmup`]).
pub fn start(cgroups_path: Option<&Path>) {
    if let Some(w) = Warmup::prepare(cgroups_path) {
        w.fork_helper();
    }
}
