//! Compose's progress output: one event per step of a resource
//! (` Container p-web-1  Started`), written as Docker Compose v2 writes
//! it — plain lines when stderr is not a terminal (or `--progress plain`),
//! a redrawn block with `✔` marks and timers on a terminal, JSON lines
//! with `--progress json`, nothing with `quiet`.

use std::io::Write;
use std::sync::Mutex;
use std::time::Instant;

/// How far along a resource is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Working,
    Done,
    Warning,
    Error,
}

/// How events are shown (`--progress`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Plain,
    Tty,
    Json,
    Quiet,
}

/// The sink of progress events; shared by the threads that converge
/// services in parallel.
pub trait Progress: Send + Sync {
    /// `id` names the resource (`Container p-web-1`), `text` its state.
    fn event(&self, id: &str, status: Status, text: &str);
    /// A line printed after the block (`TailMsgf`).
    fn tail(&self, _text: &str) {}
    /// The operation is over: a terminal writer draws its final state.
    fn finish(&self) {}
}

/// Discards everything (`--progress quiet`, and attached `up`'s start).
pub struct Quiet;

impl Progress for Quiet {
    fn event(&self, _: &str, _: Status, _: &str) {}
}

/// Writes progress to `out` in `mode`; `title` heads the terminal block
/// (`[+] Running 2/2`); `color`: ANSI colours on a terminal.
pub fn writer(
    mode: Mode,
    out: Box<dyn Write + Send>,
    title: &str,
    color: bool,
) -> Box<dyn Progress> {
    match mode {
        Mode::Quiet => Box::new(Quiet),
        Mode::Plain => Box::new(Plain(Mutex::new(out))),
        Mode::Json => Box::new(Json(Mutex::new(out))),
        Mode::Tty => Box::new(Tty {
            state: Mutex::new(TtyState {
                out,
                lines: Vec::new(),
                drawn: 0,
                tails: Vec::new(),
            }),
            title: title.to_string(),
            color,
        }),
    }
}

/// Go's `fmt.Println("", id, "", text)`.
struct Plain(Mutex<Box<dyn Write + Send>>);

impl Progress for Plain {
    fn event(&self, id: &str, _: Status, text: &str) {
        let mut out = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(out, " {id}  {text}");
        let _ = out.flush();
    }

    fn tail(&self, text: &str) {
        let mut out = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(out, "{text}");
    }
}

struct Json(Mutex<Box<dyn Write + Send>>);

fn json_line(fields: &[(&str, &str)], tail: bool) -> String {
    let mut m = serde_json::Map::new();
    if tail {
        m.insert("tail".into(), true.into());
    }
    for (k, v) in fields {
        if !v.is_empty() {
            m.insert((*k).into(), (*v).into());
        }
    }
    serde_json::Value::Object(m).to_string()
}

impl Progress for Json {
    fn event(&self, id: &str, _: Status, text: &str) {
        let mut out = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(out, "{}", json_line(&[("id", id), ("status", text)], false));
    }

    fn tail(&self, text: &str) {
        let mut out = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(out, "{}", json_line(&[("text", text)], true));
    }
}

struct Line {
    id: String,
    status: Status,
    text: String,
    start: Instant,
    end: Option<Instant>,
}

struct TtyState {
    out: Box<dyn Write + Send>,
    lines: Vec<Line>,
    /// Lines of the block on screen (to move back over).
    drawn: usize,
    tails: Vec<String>,
}

/// The terminal block, redrawn at each event.
struct Tty {
    state: Mutex<TtyState>,
    title: String,
    color: bool,
}

const GREEN: &str = "\x1b[32m";
const BLUE: &str = "\x1b[34m";
const YELLOW_BOLD: &str = "\x1b[33;1m";
const RED_BOLD: &str = "\x1b[31;1m";
const YELLOW: &str = "\x1b[33m";
const RESET: &str = "\x1b[0m";

/// The terminal's width (80 when unknown), as goterm reads it.
fn terminal_width() -> usize {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ fills the winsize we pass.
    let ok = unsafe { libc::ioctl(2, libc::TIOCGWINSZ, &mut ws) } == 0;
    if ok && ws.ws_col > 0 {
        ws.ws_col as usize
    } else {
        80
    }
}

impl Tty {
    fn paint(&self, s: &str, code: &str) -> String {
        if self.color {
            format!("{code}{s}{RESET}")
        } else {
            s.to_string()
        }
    }

    fn draw(&self, st: &mut TtyState) {
        let width = terminal_width();
        let mut buf = String::new();
        if st.drawn > 0 {
            buf.push_str(&format!("\x1b[{}A", st.drawn));
        }
        buf.push_str("\r\x1b[?25l");
        let done = st
            .lines
            .iter()
            .filter(|l| l.status != Status::Working)
            .count();
        let mut first = format!("[+] {} {done}/{}", self.title, st.lines.len());
        if done == st.lines.len() {
            first = self.paint(&first, BLUE);
        }
        buf.push_str(&first);
        buf.push_str("\x1b[K\n");
        let pad = st
            .lines
            .iter()
            .map(|l| l.id.chars().count())
            .max()
            .unwrap_or(0);
        let now = Instant::now();
        for l in &st.lines {
            let (mark, color) = match l.status {
                Status::Done => ("✔", GREEN),
                Status::Warning => ("!", YELLOW_BOLD),
                Status::Error => ("✘", RED_BOLD),
                Status::Working => (SPINNER[spin_index(l.start, now)], YELLOW),
            };
            let elapsed = l.end.unwrap_or(now).duration_since(l.start).as_secs_f64();
            let id_pad = " ".repeat(pad - l.id.chars().count());
            let text = match l.status {
                Status::Working => l.text.clone(),
                _ => self.paint(&l.text, color),
            };
            // Go's "%s %s%s %s%s %s" with the text after "ID ".
            let left = format!(" {} {}{id_pad}  {text}", self.paint(mark, color), l.id);
            let visible = 3 + pad + 2 + l.text.chars().count();
            let timer = format!("{elapsed:.1}s ");
            let gap = width.saturating_sub(visible + timer.len()).max(1);
            buf.push_str(&left);
            buf.push_str(&" ".repeat(gap));
            buf.push_str(&self.paint(&timer, BLUE));
            buf.push_str("\x1b[K\n");
        }
        buf.push_str("\x1b[?25h");
        st.drawn = st.lines.len() + 1;
        let _ = st.out.write_all(buf.as_bytes());
        let _ = st.out.flush();
    }
}

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

fn spin_index(start: Instant, now: Instant) -> usize {
    (now.duration_since(start).as_millis() / 100) as usize % SPINNER.len()
}

impl Progress for Tty {
    fn event(&self, id: &str, status: Status, text: &str) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match st.lines.iter_mut().find(|l| l.id == id) {
            Some(l) => {
                if status != Status::Working && l.status != status {
                    l.end = Some(now);
                } else if status == Status::Working {
                    l.end = None;
                }
                l.status = status;
                l.text = text.to_string();
            }
            None => st.lines.push(Line {
                id: id.to_string(),
                status,
                text: text.to_string(),
                start: now,
                end: (status != Status::Working).then_some(now),
            }),
        }
        self.draw(&mut st);
    }

    fn tail(&self, text: &str) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.tails.push(text.to_string());
    }

    fn finish(&self) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if !st.lines.is_empty() {
            self.draw(&mut st);
        }
        let tails = std::mem::take(&mut st.tails);
        for t in tails {
            let _ = writeln!(st.out, "{t}");
        }
    }
}

/// An id for a container's events: `Container NAME`.
pub fn container_id(name: &str) -> String {
    format!("Container {name}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn plain_lines_are_composes() {
        let buf = Buf::default();
        let p = writer(Mode::Plain, Box::new(buf.clone()), "Running", false);
        p.event("Network p_default", Status::Working, "Creating");
        p.event("Container p-web-1", Status::Done, "Started");
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            " Network p_default  Creating\n Container p-web-1  Started\n"
        );
    }

    #[test]
    fn json_lines_have_id_and_status() {
        let buf = Buf::default();
        let p = writer(Mode::Json, Box::new(buf.clone()), "Running", false);
        p.event("Container p-web-1", Status::Done, "Started");
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            "{\"id\":\"Container p-web-1\",\"status\":\"Started\"}\n"
        );
    }

    #[test]
    fn tty_block_marks_done_lines() {
        let buf = Buf::default();
        let p = writer(Mode::Tty, Box::new(buf.clone()), "Running", false);
        p.event("Container p-web-1", Status::Working, "Starting");
        p.event("Container p-web-1", Status::Done, "Started");
        p.finish();
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("[+] Running 1/1"), "{text}");
        assert!(text.contains(" ✔ Container p-web-1  Started"), "{text}");
    }
}
