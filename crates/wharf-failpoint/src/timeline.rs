//! A timeline of one container start, to see where its milliseconds go.
//!
//! With `WHARF_TIMELINE=<file>` in the environment, every process on the
//! run path (the CLI, its monitor, which inherits the environment) appends
//! one line per stage it passes: the monotonic clock in microseconds (the
//! same clock in every process), its pid and the stage. Without it, a
//! stage costs one check of a cached flag (the environment is read once
//! per process). `docs/design-notes.md` has a start's breakdown made so.

use std::io::Write;
use std::sync::OnceLock;

static FILE: OnceLock<Option<std::fs::File>> = OnceLock::new();

/// Mark that this process reached `stage` now.
pub fn mark(stage: &str) {
    let file = FILE.get_or_init(|| {
        let path = std::env::var_os("WHARF_TIMELINE")?;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok()
    });
    let Some(mut f) = file.as_ref() else {
        return;
    };
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec we pass, nothing else.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let us = ts.tv_sec * 1_000_000 + ts.tv_nsec / 1000;
    // One write per line: O_APPEND keeps the processes' lines whole.
    let line = format!("{us} {} {stage}\n", std::process::id());
    let _ = f.write_all(line.as_bytes());
}
