//! `logs --follow`: reading the log for new records and rotation as the
//! log's directory changes (inotify), with a poll as the fallback. A
//! writer flooding its log rotates it every few milliseconds at a small
//! `max-size`: a follower that slept a fixed poll between reads would find
//! the files it had not read yet rotated out, and never catch up.

use std::os::fd::AsFd;
use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use nix::poll::{poll, PollFd, PollFlags};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

use super::cursor::{file_id, open_rotated, FileCursor, FileId};
use super::reader::Output;
use super::LogError;

const POLL: Duration = Duration::from_millis(100);

/// Read `cur` (the file at `path` when reading began) on, and whatever
/// replaces it, until `stop()` says so (or `--until` has passed); then
/// drain what is left and return. Without `cur`, `prev` is the newest
/// (rotated) file already read, if any.
pub(crate) fn follow(
    path: &Path,
    mut cur: Option<FileCursor>,
    mut prev: Option<FileId>,
    out: &mut Output,
    stop: &dyn Fn() -> bool,
) -> Result<(), LogError> {
    let wake = Wake::new(path);
    loop {
        // Asked before draining, so that what was written before the
        // writer stopped is read.
        let stopping = stop() || out.until_passed(Utc::now());
        loop {
            let mut progress = false;
            if let Some(c) = cur.as_mut() {
                progress |= c.read_lines(None, out)? > 0;
            }
            if out.done() {
                return Ok(());
            }
            progress |= check_rotation(path, &mut cur, &mut prev, out)?;
            if !progress {
                break;
            }
        }
        if stopping {
            if let Some(c) = cur.as_mut() {
                c.finish(out)?;
            }
            return Ok(());
        }
        wake.wait();
    }
}

/// Wakes the follower when anything in the log's directory is written,
/// created or renamed; `None` (no inotify) is the plain poll.
struct Wake(Option<Inotify>);

impl Wake {
    fn new(path: &Path) -> Wake {
        let watched = path.parent().and_then(|dir| {
            let i = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).ok()?;
            let what = AddWatchFlags::IN_MODIFY
                | AddWatchFlags::IN_CREATE
                | AddWatchFlags::IN_MOVED_FROM
                | AddWatchFlags::IN_MOVED_TO
                | AddWatchFlags::IN_DELETE;
            i.add_watch(dir, what).ok()?;
            Some(i)
        });
        if watched.is_none() {
            tracing::debug!(path = %path.display(), "no inotify watch: polling the log");
        }
        Wake(watched)
    }

    /// Until something changed, or the poll interval passed (`stop` and
    /// `--until` are asked at least that often).
    fn wait(&self) {
        let Some(i) = &self.0 else {
            std::thread::sleep(POLL);
            return;
        };
        let mut fds = [PollFd::new(i.as_fd(), PollFlags::POLLIN)];
        let timeout = u16::try_from(POLL.as_millis()).unwrap_or(u16::MAX);
        if poll(&mut fds, timeout).is_err() {
            std::thread::sleep(POLL);
        }
        // Drain: the events only wake; what changed is read from the files.
        while i.read_events().is_ok_and(|e| !e.is_empty()) {}
    }
}

/// Notice a new file at `path` (rotation, or the log appearing) or a
/// truncation in place (`max-file` 1), and switch to it after reading the
/// rest of the old file and any files rotated in between. Returns whether
/// anything changed.
fn check_rotation(
    path: &Path,
    cur: &mut Option<FileCursor>,
    prev: &mut Option<FileId>,
    out: &mut Output,
) -> Result<bool, LogError> {
    // Missing: in the middle of a rotation (or removed); look again later.
    let Some(id) = file_id(path)? else {
        return Ok(false);
    };
    if let Some(c) = cur.as_mut() {
        if c.id == id {
            if c.len()? < c.pos {
                c.restart();
                return Ok(true);
            }
            return Ok(false);
        }
        // Rotated: the writer no longer writes to the old file.
        c.read_lines(None, out)?;
        c.finish(out)?;
        *prev = Some(c.id);
        *cur = None;
    }
    let Some(new) = FileCursor::open(path)? else {
        return Ok(true);
    };
    for mut f in rotated_between(path, *prev, new.id)? {
        f.read_lines(None, out)?;
        f.finish(out)?;
    }
    *cur = Some(new);
    Ok(true)
}

/// The rotated files newer than `old` and older than `new`, oldest first.
/// When `old` is unknown or gone (rotated out), all rotated files older
/// than `new` are.
fn rotated_between(
    path: &Path,
    old: Option<FileId>,
    new: FileId,
) -> Result<Vec<FileCursor>, LogError> {
    let files = open_rotated(path, Some(new))?;
    Ok(match files.iter().position(|f| Some(f.id) == old) {
        Some(i) => files.into_iter().skip(i + 1).collect(),
        None => files,
    })
}
