//! `--progress tty` (and `auto` on a terminal): BuildKit's live view,
//! redrawn in place ten times a second from the progress events — a
//! `[+] Building 1.2s (5/8)` header, a ` => ` line per step with its timer
//! (`CACHED`, `ERROR` marks), ` => => ` lines for a step's notes, and the
//! last output lines of running steps (` => => # ...`). The final frame
//! shows every step, its header ending in `FINISHED` when all went well;
//! the output of failed steps follows between `------` rules (as BuildKit
//! prints it), then warnings.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Output lines of a running step kept on screen (BuildKit's initial
/// terminal height).
const TERM_LINES: usize = 6;
/// How often the view is redrawn.
const TICK: Duration = Duration::from_millis(100);

const BLUE: &str = "\x1b[34m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const FAINT: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    Done,
    Cached,
    Error(String),
    Canceled,
}

struct Vertex {
    id: usize,
    name: String,
    start: Instant,
    end: Option<(Instant, End)>,
    /// Notes (`transferring dockerfile: 68B`), shown under the step.
    notes: Vec<String>,
    /// Every output line with its time in the step (`0.123 text`), for a
    /// failed step's report.
    logs: Vec<String>,
    /// The last output lines, shown while the step runs.
    tail: VecDeque<String>,
}

struct State {
    out: Box<dyn Write + Send>,
    start: Instant,
    vertices: Vec<Vertex>,
    warnings: Vec<String>,
    /// Lines of the frame on screen (to move back over).
    drawn: usize,
    closed: bool,
}

/// The live view: its state and the thread redrawing it.
pub struct Live {
    shared: Arc<(Mutex<State>, Condvar)>,
    ticker: Mutex<Option<JoinHandle<()>>>,
}

/// How a line is painted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Done,
    Error,
    Canceled,
    Log,
}

impl Live {
    pub fn start(out: Box<dyn Write + Send>) -> Live {
        let shared = Arc::new((
            Mutex::new(State {
                out,
                start: Instant::now(),
                vertices: Vec::new(),
                warnings: Vec::new(),
                drawn: 0,
                closed: false,
            }),
            Condvar::new(),
        ));
        let s = shared.clone();
        let ticker = std::thread::Builder::new()
            .name("build-progress".into())
            .spawn(move || {
                let (lock, cv) = &*s;
                let mut st = lock.lock().unwrap_or_else(|e| e.into_inner());
                while !st.closed {
                    draw(&mut st, false, false);
                    st = cv
                        .wait_timeout(st, TICK)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            })
            .ok();
        Live {
            shared,
            ticker: Mutex::new(ticker),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn vertex(&self, id: usize, f: impl FnOnce(&mut Vertex)) {
        let mut st = self.state();
        if let Some(v) = st.vertices.iter_mut().rev().find(|v| v.id == id) {
            f(v);
        }
    }

    pub fn started(&self, id: usize, name: &str) {
        self.state().vertices.push(Vertex {
            id,
            name: clean(name),
            start: Instant::now(),
            end: None,
            notes: Vec::new(),
            logs: Vec::new(),
            tail: VecDeque::new(),
        });
    }

    pub fn log(&self, id: usize, line: &str) {
        let line = clean(line);
        self.vertex(id, |v| {
            let secs = v.start.elapsed().as_secs_f64();
            v.logs.push(format!("{secs:.3} {line}"));
            if v.tail.len() == TERM_LINES {
                v.tail.pop_front();
            }
            v.tail.push_back(line);
        });
    }

    pub fn note(&self, id: usize, text: &str) {
        let text = clean(text.strip_suffix(" done").unwrap_or(text));
        self.vertex(id, |v| v.notes.push(text));
    }

    pub fn ended(&self, id: usize, end: End) {
        self.vertex(id, |v| {
            if v.end.is_none() {
                v.end = Some((Instant::now(), end));
            }
        });
    }

    pub fn warn(&self, text: &str) {
        self.state().warnings.push(text.to_string());
    }

    /// Stop redrawing and draw the final frame (`FINISHED` when the build
    /// `succeeded`), then failed steps' output and warnings. Only the
    /// first call does anything.
    pub fn close(&self, succeeded: bool) {
        {
            let mut st = self.state();
            if st.closed {
                return;
            }
            st.closed = true;
        }
        self.shared.1.notify_all();
        if let Some(t) = self.ticker.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = t.join();
        }
        let mut st = self.state();
        draw(&mut st, true, succeeded);
        let mut report = String::new();
        for v in &st.vertices {
            if let Some((_, End::Error(_))) = &v.end {
                report.push_str(&format!("------\n > {}:\n", v.name));
                for l in &v.logs {
                    report.push_str(l);
                    report.push('\n');
                }
                report.push_str("------\n");
            }
        }
        for w in &st.warnings {
            report.push_str(&format!("WARNING: {w}\n"));
        }
        let _ = st.out.write_all(report.as_bytes());
        let _ = st.out.flush();
    }
}

/// Control characters (a step's colours, carriage returns) would break
/// the frame: tabs become spaces, the rest goes.
fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\t' => out.push(' '),
            // An escape sequence: ESC [ ... final byte.
            '\x1b' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for n in chars.by_ref() {
                        if ('@'..='~').contains(&n) {
                            break;
                        }
                    }
                }
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// The terminal's size (columns, rows), 80x24 when stderr is none.
fn size() -> (usize, usize) {
    match wharf_runtime::term::window_size(2) {
        Some(ws) if ws.ws_col > 0 && ws.ws_row > 0 => (ws.ws_col as usize, ws.ws_row as usize),
        _ => (80, 24),
    }
}

/// Redraw the frame over the previous one.
fn draw(st: &mut State, all: bool, succeeded: bool) {
    let (width, height) = size();
    let lines = frame(st, Instant::now(), width, height, all, succeeded);
    let mut buf = String::from("\x1b[?25l");
    if st.drawn > 0 {
        buf.push_str(&format!("\x1b[{}A", st.drawn));
    }
    buf.push('\r');
    for (text, style) in &lines {
        let color = match style {
            Style::Plain => "",
            Style::Done => BLUE,
            Style::Error => RED,
            Style::Canceled => YELLOW,
            Style::Log => FAINT,
        };
        if color.is_empty() {
            buf.push_str(text);
        } else {
            buf.push_str(&format!("{color}{text}{RESET}"));
        }
        buf.push_str("\x1b[K\n");
    }
    // What is left of a longer previous frame.
    buf.push_str("\x1b[J\x1b[?25h");
    st.drawn = lines.len();
    let _ = st.out.write_all(buf.as_bytes());
    let _ = st.out.flush();
}

/// `text` and `timer` on one line of `width` columns: the text cut to
/// fit, the timer at the right edge.
fn align(text: &str, timer: &str, width: usize) -> String {
    let room = width.saturating_sub(timer.len() + 1).max(1);
    let cut: String = text.chars().take(room).collect();
    let pad = room - cut.chars().count();
    format!("{cut}{:pad$} {timer}", "")
}

fn timer(d: Duration) -> String {
    let s = d.as_secs_f64();
    format!("{:.1}s", if s < 0.05 { 0.0 } else { s })
}

/// The frame's lines: the header, then per step its line, its notes and
/// (while it runs) its last output lines. Unless `all`, only as many
/// lines as fit in the terminal, finished steps leaving first.
fn frame(
    st: &State,
    now: Instant,
    width: usize,
    height: usize,
    all: bool,
    succeeded: bool,
) -> Vec<(String, Style)> {
    // One column short of the edge: no terminal wraps the line early.
    let width = width.saturating_sub(1).max(20);
    let total = st.vertices.len();
    let completed = st.vertices.iter().filter(|v| v.end.is_some()).count();
    let finished = if all && succeeded && completed == total {
        " FINISHED"
    } else {
        ""
    };
    let header = format!(
        "[+] Building {:.1}s ({completed}/{total}){finished}",
        now.duration_since(st.start).as_secs_f64()
    );
    let mut blocks: Vec<(bool, Vec<(String, Style)>)> = Vec::new();
    for v in &st.vertices {
        let (elapsed, mark, style) = match &v.end {
            None => (now.duration_since(v.start), "", Style::Plain),
            Some((t, End::Done)) => (t.duration_since(v.start), "", Style::Done),
            Some((_, End::Cached)) => (Duration::ZERO, "CACHED ", Style::Done),
            Some((t, End::Error(_))) => (t.duration_since(v.start), "ERROR ", Style::Error),
            Some((t, End::Canceled)) => (t.duration_since(v.start), "CANCELED ", Style::Canceled),
        };
        let mut lines = vec![(
            align(&format!(" => {mark}{}", v.name), &timer(elapsed), width),
            style,
        )];
        for n in &v.notes {
            lines.push((
                align(&format!(" => => {n}"), &timer(Duration::ZERO), width),
                style,
            ));
        }
        if v.end.is_none() {
            for l in &v.tail {
                let cut: String = format!(" => => # {l}").chars().take(width).collect();
                lines.push((cut, Style::Log));
            }
        }
        blocks.push((v.end.is_some(), lines));
    }
    if !all {
        // Drop finished steps from the top until the frame fits.
        let limit = height.saturating_sub(2);
        let mut count: usize = blocks.iter().map(|b| b.1.len()).sum();
        let mut i = 0;
        while count > limit && i < blocks.len() {
            if blocks[i].0 {
                count -= blocks[i].1.len();
                blocks.remove(i);
            } else {
                i += 1;
            }
        }
    }
    let mut out = vec![(header, Style::Plain)];
    out.extend(blocks.into_iter().flat_map(|b| b.1));
    if !all {
        // Still too many running steps: keep the header and the last lines.
        let limit = height.saturating_sub(1).max(2);
        if out.len() > limit {
            let cut = out.len() - (limit - 1);
            out.drain(1..=cut);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> State {
        State {
            out: Box::new(std::io::sink()),
            start: Instant::now(),
            vertices: Vec::new(),
            warnings: Vec::new(),
            drawn: 0,
            closed: false,
        }
    }

    fn vertex(id: usize, name: &str, start: Instant, end: Option<(Instant, End)>) -> Vertex {
        Vertex {
            id,
            name: name.into(),
            start,
            end,
            notes: Vec::new(),
            logs: Vec::new(),
            tail: VecDeque::new(),
        }
    }

    #[test]
    fn frames_look_like_buildkits() {
        let mut st = state();
        let t0 = st.start;
        let ms = |n| t0 + Duration::from_millis(n);
        let mut def = vertex(
            1,
            "[internal] load build definition from Dockerfile",
            t0,
            Some((ms(20), End::Done)),
        );
        def.notes.push("transferring dockerfile: 68B".into());
        st.vertices.push(def);
        st.vertices.push(vertex(
            2,
            "[1/3] FROM docker.io/library/b",
            t0,
            Some((t0, End::Cached)),
        ));
        let mut run = vertex(3, "[2/3] RUN make", ms(100), None);
        run.tail
            .extend(["cc -c a.c".to_string(), "cc -c b.c".to_string()]);
        st.vertices.push(run);
        let lines: Vec<String> = frame(&st, ms(1400), 61, 24, false, false)
            .into_iter()
            .map(|l| l.0)
            .collect();
        assert_eq!(
            lines,
            [
                "[+] Building 1.4s (2/3)",
                " => [internal] load build definition from Dockerfile    0.0s",
                " => => transferring dockerfile: 68B                     0.0s",
                " => CACHED [1/3] FROM docker.io/library/b               0.0s",
                " => [2/3] RUN make                                      1.3s",
                " => => # cc -c a.c",
                " => => # cc -c b.c",
            ]
        );
        // The last frame: every step, FINISHED, no output lines.
        st.vertices[2].end = Some((ms(2000), End::Done));
        let last = frame(&st, ms(2100), 61, 24, true, true);
        assert_eq!(last[0].0, "[+] Building 2.1s (3/3) FINISHED");
        assert_eq!(last.len(), 5);
        assert_eq!(
            last[4].0,
            " => [2/3] RUN make                                      1.9s"
        );
        // A short terminal: finished steps make room for running ones.
        st.vertices[2].end = None;
        let short: Vec<String> = frame(&st, ms(1400), 61, 5, false, false)
            .into_iter()
            .map(|l| l.0)
            .collect();
        assert_eq!(short[0], "[+] Building 1.4s (2/3)");
        assert!(short[1].starts_with(" => [2/3] RUN make"), "{short:?}");
        assert_eq!(short.len(), 4);
    }

    #[test]
    fn control_characters_do_not_reach_the_frame() {
        assert_eq!(clean("\x1b[31mred\x1b[0m\tx\r"), "red x");
    }
}
