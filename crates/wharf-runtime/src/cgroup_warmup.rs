//! Paying the cgroup join early, in parallel.
//!
//! The first move of a task into a cgroup takes the kernel's
//! cgroup_threadgroup_rwsem for writing, which waits a whole RCU grace
//! period (~10 ms here) unless another writer passed it moments before.
//! libcontainer moves the container's first process into its cgroups in
//! the middle of the start, so the wait would sit on the critical path.
//! A helper thread "moves" itself into the cgroup it is already in (a
//! no-op) while `run` creates the container and the monitor mounts the
//! rootfs and builds the spec; the container's join that follows shortly
//! after then finds the lock in its fast state. The CLI starts one first
//! thing, the monitor another (for `start`, restarts); the monitor joins
//! its thread before libcontainer forks: it must be single-threaded by then.

use std::path::PathBuf;
use std::thread::JoinHandle;

pub struct Warmup(Option<JoinHandle<()>>);

/// The file a no-op move of this thread goes through: the `pids`
/// hierarchy on cgroup v1 (any v1 hierarchy shares the lock), else v2.
fn own_cgroup_file() -> Option<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let mut v2 = None;
    for line in text.lines() {
        let mut f = line.splitn(3, ':');
        let (_, ctrl, path) = (f.next()?, f.next()?, f.next()?);
        if ctrl == "pids" {
            return Some(PathBuf::from(format!("/sys/fs/cgroup/pids{path}/tasks")));
        }
        if ctrl.is_empty() {
            v2 = Some(PathBuf::from(format!("/sys/fs/cgroup{path}/cgroup.procs")));
        }
    }
    v2.filter(|p| p.exists())
}

pub fn start() -> Warmup {
    let Some(file) = own_cgroup_file() else {
        return Warmup(None);
    };
    let v2 = file.ends_with("cgroup.procs");
    let handle = std::thread::Builder::new()
        .name("cgroup-warmup".into())
        .spawn(move || {
            // SAFETY: gettid has no preconditions.
            let id = if v2 {
                std::process::id() as i64
            } else {
                unsafe { libc::gettid() as i64 }
            };
            let _ = std::fs::write(&file, id.to_string());
        })
        .ok();
    Warmup(handle)
}

impl Warmup {
    /// Wait for the helper thread (before anything forks); dropping the
    /// warm-up waits too.
    pub fn finish(self) {}
}

impl Drop for Warmup {
    fn drop(&mut self) {
        if let Some(h) = self.0.take() {
            let _ = h.join();
        }
    }
}
