//! Pull/push progress as docker shows it: one bar per layer on a
//! terminal, one line per state change otherwise (byte counts are only
//! drawn, never printed), nothing with `-q`.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use wharf_engine::registry::{Event, LayerStatus, Progress};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

pub struct Render {
    stream: Stream,
    quiet: bool,
    bars: Option<Bars>,
}

struct Bars {
    multi: MultiProgress,
    layers: Mutex<HashMap<String, ProgressBar>>,
}

impl Render {
    pub fn new(stream: Stream, quiet: bool) -> Render {
        let tty = match stream {
            Stream::Stdout => std::io::stdout().is_terminal(),
            Stream::Stderr => std::io::stderr().is_terminal(),
        };
        let bars = (tty && !quiet).then(|| {
            let target = match stream {
                Stream::Stdout => ProgressDrawTarget::stdout(),
                Stream::Stderr => ProgressDrawTarget::stderr(),
            };
            Bars {
                multi: MultiProgress::with_draw_target(target),
                layers: Mutex::new(HashMap::new()),
            }
        });
        Render {
            stream,
            quiet,
            bars,
        }
    }

    /// A whole line, above the bars when there are any.
    pub fn line(&self, text: &str) {
        if self.quiet {
            return;
        }
        match &self.bars {
            Some(b) => {
                let _ = b.multi.println(text);
            }
            None => match self.stream {
                Stream::Stdout => {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{text}");
                    let _ = out.flush();
                }
                Stream::Stderr => eprintln!("{text}"),
            },
        }
    }

    fn layer(&self, id: &str, status: &LayerStatus) {
        let Some(b) = &self.bars else {
            if !status.is_progress() {
                self.line(&format!("{id}: {}", status.text()));
            }
            return;
        };
        let mut layers = b.layers.lock().unwrap_or_else(|p| p.into_inner());
        let bar = layers.entry(id.to_string()).or_insert_with(|| {
            let pb = b.multi.add(ProgressBar::new(0));
            pb.set_style(text_style());
            pb.set_prefix(id.to_string());
            pb
        });
        match status {
            LayerStatus::Downloading { current, total }
            | LayerStatus::Pushing { current, total } => {
                if *total > 0 {
                    bar.set_style(bar_style());
                    bar.set_length(*total);
                } else {
                    bar.set_style(bytes_style());
                }
                bar.set_message(status.text());
                bar.set_position(*current);
            }
            other => {
                bar.set_style(text_style());
                bar.set_message(other.text());
                bar.tick();
            }
        }
    }
}

fn text_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix}: {msg}").expect("valid template")
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix}: {msg} [{bar:50}] {bytes}/{total_bytes}")
        .expect("valid template")
        .progress_chars("=> ")
}

fn bytes_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix}: {msg} {bytes}").expect("valid template")
}

impl Progress for Render {
    fn event(&self, e: Event) {
        if self.quiet {
            return;
        }
        match e {
            Event::PullingFrom { tag, path } => self.line(&format!("{tag}: Pulling from {path}")),
            Event::Layer { id, status } => self.layer(&id, &status),
            Event::Status(s) => self.line(&s),
        }
    }
}

impl Drop for Render {
    fn drop(&mut self) {
        if let Some(b) = &self.bars {
            for bar in b.layers.lock().unwrap_or_else(|p| p.into_inner()).values() {
                bar.abandon();
            }
        }
    }
}
