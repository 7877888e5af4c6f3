//! BuildKit-style progress on stderr: numbered vertices (`#5 [build 2/5]
//! WORKDIR /app`), step output with timestamps, `CACHED`, `DONE 0.3s` in
//! plain mode; on a terminal, the live view of [`crate::tty`] drawn from
//! the same events; nothing with `-q` (a failing step's output is kept for
//! the error);
//! `rawjson`: BuildKit's solve-status objects, one JSON line per update
//! (vertexes with started/completed/cached, logs in base64, statuses for
//! a vertex's notes).

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use crate::tty::{End, Live};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    Plain,
    Tty,
    Quiet,
    RawJson,
}

pub struct Progress {
    mode: ProgressMode,
    next: AtomicUsize,
    out: Mutex<Box<dyn Write + Send>>,
    /// `Tty`: the live view, which owns the output.
    live: Option<Live>,
}

impl Progress {
    pub fn new(mode: ProgressMode, out: Box<dyn Write + Send>) -> Progress {
        let (out, live) = match mode {
            ProgressMode::Tty => (
                Box::new(std::io::sink()) as Box<dyn Write + Send>,
                Some(Live::start(out)),
            ),
            _ => (out, None),
        };
        Progress {
            mode,
            next: AtomicUsize::new(1),
            out: Mutex::new(out),
            live,
        }
    }

    fn emit(&self, text: &str) {
        if self.mode == ProgressMode::Quiet {
            return;
        }
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    /// Start a vertex.
    pub fn step(&self, name: &str) -> Step<'_> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let step = Step {
            progress: self,
            id,
            name: name.to_string(),
            start: Instant::now(),
            started: now(),
            partial: Vec::new(),
            tail: Vec::new(),
            finished: false,
        };
        match self.mode {
            ProgressMode::Plain => self.emit(&format!("#{id} {name}\n")),
            ProgressMode::RawJson => step.vertex(None, false, None),
            ProgressMode::Tty | ProgressMode::Quiet => {}
        }
        if let Some(live) = &self.live {
            live.started(id, name);
        }
        step
    }

    /// A warning that does not stop the build (a cache that could not be
    /// imported), as BuildKit prints them.
    pub fn warn(&self, text: &str) {
        match &self.live {
            Some(live) => live.warn(text),
            None if self.mode == ProgressMode::Plain => self.emit(&format!("WARNING: {text}\n")),
            None => {}
        }
    }

    /// The build succeeded: a terminal shows its final frame.
    pub fn finish(&self) {
        if let Some(live) = &self.live {
            live.close(true);
        }
    }
}

/// A build that did not finish leaves its last frame (and failed steps'
/// output) on the terminal before the error is printed.
impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(live) = &self.live {
            live.close(false);
        }
    }
}

/// One vertex; also a writer for its output.
pub struct Step<'a> {
    progress: &'a Progress,
    id: usize,
    name: String,
    start: Instant,
    /// When it started, for rawjson.
    started: String,
    partial: Vec<u8>,
    /// The last lines, for the error message of a failing step.
    tail: Vec<String>,
    finished: bool,
}

const TAIL: usize = 10;

fn now() -> String {
    wharf_oci::config::format_time(chrono::Utc::now())
}

impl Step<'_> {
    fn secs(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// The vertex's digest in rawjson: stable for its number and name.
    fn digest(&self) -> String {
        format!(
            "sha256:{}",
            crate::cache::key(&self.id.to_string(), &[&self.name])
        )
    }

    /// A rawjson vertex update (`completed` when it ended).
    fn vertex(&self, completed: Option<&str>, cached: bool, error: Option<&str>) {
        let mut v = serde_json::json!({
            "digest": self.digest(),
            "name": self.name,
            "started": self.started,
        });
        if let Some(c) = completed {
            v["completed"] = c.into();
        }
        if cached {
            v["cached"] = true.into();
        }
        if let Some(e) = error {
            v["error"] = e.into();
        }
        self.json(serde_json::json!({ "vertexes": [v] }));
    }

    fn json(&self, v: serde_json::Value) {
        self.progress.emit(&format!("{v}\n"));
    }

    fn line(&mut self, line: &str) {
        if self.tail.len() == TAIL {
            self.tail.remove(0);
        }
        self.tail.push(line.to_string());
        match self.progress.mode {
            ProgressMode::Plain => {
                self.progress
                    .emit(&format!("#{} {:.3} {line}\n", self.id, self.secs()))
            }
            ProgressMode::RawJson => {
                use base64::Engine as _;
                let data = base64::engine::general_purpose::STANDARD.encode(format!("{line}\n"));
                self.json(serde_json::json!({"logs": [{
                    "vertex": self.digest(),
                    "stream": 1,
                    "data": data,
                    "timestamp": now(),
                }]}));
            }
            ProgressMode::Tty => {
                if let Some(live) = &self.progress.live {
                    live.log(self.id, line);
                }
            }
            ProgressMode::Quiet => {}
        }
    }

    /// Plain text about this vertex (`writing image sha256:... done`).
    pub fn note(&mut self, text: &str) {
        match self.progress.mode {
            ProgressMode::Plain => self.progress.emit(&format!("#{} {text}\n", self.id)),
            ProgressMode::RawJson => {
                let name = text.strip_suffix(" done").unwrap_or(text);
                let t = now();
                self.json(serde_json::json!({"statuses": [{
                    "id": name,
                    "vertex": self.digest(),
                    "name": name,
                    "timestamp": t,
                    "started": t,
                    "completed": t,
                }]}));
            }
            ProgressMode::Tty => {
                if let Some(live) = &self.progress.live {
                    live.note(self.id, text);
                }
            }
            ProgressMode::Quiet => {}
        }
    }

    fn end(&mut self, how: &str) {
        self.flush_partial();
        self.finished = true;
        let p = self.progress;
        match p.mode {
            ProgressMode::Plain => p.emit(&format!("#{} {how}\n\n", self.id)),
            ProgressMode::Tty => {
                let end = match how {
                    "CACHED" => End::Cached,
                    "CANCELED" => End::Canceled,
                    h => match h.strip_prefix("ERROR: ") {
                        Some(e) => End::Error(e.to_string()),
                        None => End::Done,
                    },
                };
                if let Some(live) = &p.live {
                    live.ended(self.id, end);
                }
            }
            ProgressMode::RawJson => {
                let error = how.strip_prefix("ERROR: ");
                self.vertex(Some(&now()), how == "CACHED", error);
            }
            ProgressMode::Quiet => {}
        }
    }

    /// The vertex's name (`[build 2/5] WORKDIR /app`).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn done(mut self) {
        let t = self.secs();
        self.end(&format!("DONE {t:.1}s"));
    }

    pub fn cached(mut self) {
        self.end("CACHED");
    }

    /// End with an error; with `-q` the step's last output lines are
    /// shown then, since nothing was shown before (a terminal shows them
    /// under its last frame).
    pub fn failed(mut self, message: &str) {
        self.end(&format!("ERROR: {message}"));
        if self.progress.mode == ProgressMode::Quiet {
            let mut out = self.progress.out.lock().unwrap_or_else(|e| e.into_inner());
            for l in &self.tail {
                let _ = writeln!(out, "{l}");
            }
        }
    }

    fn flush_partial(&mut self) {
        if !self.partial.is_empty() {
            let l = String::from_utf8_lossy(&std::mem::take(&mut self.partial)).into_owned();
            self.line(&l);
        }
    }
}

impl Write for Step<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.partial.extend_from_slice(buf);
        while let Some(pos) = self.partial.iter().position(|&b| b == b'\n') {
            let rest = self.partial.split_off(pos + 1);
            let mut line = std::mem::replace(&mut self.partial, rest);
            line.pop();
            let l = String::from_utf8_lossy(&line).into_owned();
            self.line(l.trim_end_matches('\r'));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Step<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.end("CANCELED");
        }
    }
}
