//! The monitor's lifetime, as a lock others can wait on.
//!
//! A monitor records a stopped container's exit before it has taken
//! the container's rootfs and cgroups apart: `stop` returns as soon as
//! the container is down and its network released, and the rest (an
//! overlay unmount, a dozen cgroup `rmdir`s: ~2.5 ms) is nobody's wait.
//! Whoever needs those parts whole again waits for the monitor to be
//! gone: the next start's monitor, `rm` (which deletes the directory),
//! and `cp`/`export` of a stopped container (which mount the rootfs).
//! The monitor holds an exclusive `flock` on its container's
//! `monitor.lock` from before it reads the container's record until
//! its last act; the kernel releases it when the process dies, however
//! it dies. The descriptor is close-on-exec: the container's processes
//! (forked from the monitor) let go of it when they exec.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use super::ContainerDir;

/// How long a waiter gives a monitor to finish (a stuck teardown, e.g.
/// an unmount of a dead NFS volume, must not hang every later command).
const PATIENCE: Duration = Duration::from_secs(10);
/// How often a waiter looks: a teardown takes a few milliseconds.
const EVERY: Duration = Duration::from_micros(250);

/// The lock a live monitor holds (see the module's text).
pub struct Lifetime(#[allow(dead_code)] File);

/// Take the container's lifetime lock for this monitor, once the
/// container's previous monitor (still tearing down its last run) is
/// gone. `None` when the container's directory is gone (it was removed:
/// the record says so next) or the lock cannot be had.
pub fn begin(dir: &ContainerDir) -> Option<Lifetime> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.monitor_lock())
        .ok()?;
    if !locked_within(&file, PATIENCE) {
        tracing::warn!(id = %dir.id, "the container's previous monitor did not finish");
        return None;
    }
    Some(Lifetime(file))
}

/// Wait until no monitor of the container runs (at most 10 s). A
/// container that never had one (no lock file) has nothing to wait for.
pub fn wait_gone(dir: &ContainerDir) {
    let Ok(file) = File::open(dir.monitor_lock()) else {
        return;
    };
    if !locked_within(&file, PATIENCE) {
        tracing::warn!(id = %dir.id, "the container's monitor did not finish; going on");
    }
    // Dropping `file` releases the lock at once.
}

/// Whether an exclusive lock on `file` was had within `patience`.
fn locked_within(file: &File, patience: Duration) -> bool {
    let deadline = Instant::now() + patience;
    loop {
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return true;
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EWOULDBLOCK) && err.raw_os_error() != Some(libc::EINTR)
        {
            return false;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(EVERY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waiter_waits_for_the_holder_and_a_new_monitor_for_the_old() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = ContainerDir::new(tmp.path(), "c1");
        std::fs::create_dir_all(&dir.path).unwrap();
        // No monitor ever: nothing to wait for.
        wait_gone(&dir);
        let held = begin(&dir).expect("first monitor");
        // A second open file description cannot lock it meanwhile.
        let other = File::open(dir.monitor_lock()).unwrap();
        assert!(!locked_within(&other, Duration::from_millis(5)));
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn({
            let dir = dir.clone();
            move || {
                wait_gone(&dir);
                tx.send(()).unwrap();
            }
        });
        assert!(
            rx.recv_timeout(Duration::from_millis(50)).is_err(),
            "waited for nothing"
        );
        drop(held);
        rx.recv_timeout(Duration::from_secs(5))
            .expect("woken once the monitor is gone");
        waiter.join().unwrap();
        assert!(begin(&dir).is_some(), "the next monitor takes over");
    }

    #[test]
    fn a_removed_container_has_no_lifetime() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = ContainerDir::new(tmp.path(), "gone");
        assert!(begin(&dir).is_none());
        wait_gone(&dir);
    }
}
