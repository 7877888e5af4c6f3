//! How Compose shows the services' output (`formatter.LogConsumer`): each
//! line prefixed `web-1  | ` (names padded to the longest, each service
//! in the next colour of Compose's rainbow), state changes as
//! `web-1 exited with code 0`; and attached `compose up`, which streams
//! them until the containers exit, Ctrl-C stopping the project.

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use nix::sys::signal::Signal;
use wharf_compose::run::{
    log_source, AttachOptions, Cascade, Ended, LogSink, Mode, ProjectContainer, RunError, Runtime,
};
use wharf_runtime::logs::Stream;

use super::Cx;
use crate::cli_compose::ComposeUpArgs;

/// Compose's rainbow: cyan, yellow, green, magenta, blue, then bold.
const RAINBOW: &[&str] = &[
    "36", "33", "32", "35", "34", "36;1", "33;1", "32;1", "35;1", "34;1",
];

/// Prints the services' lines as Compose's log consumer does.
pub struct LogPrinter {
    color: bool,
    prefix: bool,
    timestamps: bool,
    /// stderr lines to stderr (attached `up`), or all to stdout (`logs`).
    split_streams: bool,
    names: Mutex<Vec<(String, &'static str)>>,
}

impl LogPrinter {
    pub fn new(color: bool, prefix: bool, timestamps: bool, split_streams: bool) -> LogPrinter {
        LogPrinter {
            color,
            prefix,
            timestamps,
            split_streams,
            names: Mutex::new(Vec::new()),
        }
    }

    /// Register the names up front, so the padding is right from the first
    /// line (Compose registers every attached container first).
    pub fn register(&self, names: &[String]) {
        let mut n = self.names.lock().unwrap_or_else(|p| p.into_inner());
        for name in names {
            if !n.iter().any(|(x, _)| x == name) {
                let color = RAINBOW[n.len() % RAINBOW.len()];
                n.push((name.clone(), color));
            }
        }
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    /// `name  | ` padded to the longest name, coloured.
    fn prefix_of(&self, source: &str) -> (String, &'static str) {
        self.register(&[source.to_string()]);
        let n = self.names.lock().unwrap_or_else(|p| p.into_inner());
        let width = n.iter().map(|(x, _)| x.len()).max().unwrap_or(0) + 1;
        let color = n
            .iter()
            .find(|(x, _)| x == source)
            .map(|(_, c)| *c)
            .unwrap_or("0");
        let text = if self.prefix {
            self.paint(color, &format!("{source:<width$} | "))
        } else {
            String::new()
        };
        (text, color)
    }
}

impl LogSink for LogPrinter {
    fn line(&self, source: &str, stream: Stream, line: &[u8], time: DateTime<Utc>) {
        let (prefix, _) = self.prefix_of(source);
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        let mut out = Vec::with_capacity(prefix.len() + body.len() + 40);
        out.extend_from_slice(prefix.as_bytes());
        if self.timestamps {
            out.extend_from_slice(
                time.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
                    .as_bytes(),
            );
            out.push(b' ');
        }
        out.extend_from_slice(body);
        out.push(b'\n');
        let _ = if self.split_streams && stream == Stream::Stderr {
            std::io::stderr().lock().write_all(&out)
        } else {
            std::io::stdout().lock().write_all(&out)
        };
    }

    fn status(&self, source: &str, text: &str) {
        let (_, color) = self.prefix_of(source);
        let line = self.paint(color, &format!("\r\x1b[K{source} {text}\n"));
        let _ = std::io::stdout().lock().write_all(line.as_bytes());
    }

    fn interrupted(&self) {
        println!("Gracefully Stopping... press Ctrl+C again to force");
    }

    fn aborting(&self) {
        eprintln!("\x1b[31m\x1b[1mAborting on container exit...\x1b[0m");
    }
}

/// Counts SIGINT/SIGTERM, which are blocked in every thread (and so
/// reach a signalfd a background thread reads) from now on.
fn count_interrupts() -> Result<Arc<AtomicU32>, RunError> {
    let mut signals = wharf_runtime::term::Signals::new(&[Signal::SIGINT, Signal::SIGTERM])
        .map_err(|e| RunError::Invalid(format!("watching signals: {e}")))?;
    let count = Arc::new(AtomicU32::new(0));
    let seen = count.clone();
    std::thread::spawn(move || loop {
        use std::os::fd::AsFd;
        let mut fds = [nix::poll::PollFd::new(
            signals.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::NONE);
        let n = signals.pending().len() as u32;
        seen.fetch_add(n, Ordering::Relaxed);
    });
    Ok(count)
}

/// Which services attached `up` streams: `--attach`, else those started
/// (not their dependencies unless `--attach-dependencies`) that did not
/// opt out with `attach: false`, minus `--no-attach`.
fn attach_services(rt: &Runtime, a: &ComposeUpArgs) -> Result<Vec<String>, RunError> {
    let mut set: Vec<String> = if !a.attach.is_empty() {
        for s in &a.attach {
            if !rt.project.services.contains_key(s) {
                return Err(RunError::Invalid(format!(
                    "cannot attach to services not included in up: {s}"
                )));
            }
        }
        a.attach.clone()
    } else {
        rt.project
            .services
            .iter()
            .filter(|(name, _)| {
                a.services.is_empty() || a.attach_dependencies || a.services.contains(name)
            })
            .filter(|(_, s)| s.attach.unwrap_or(true))
            .map(|(name, _)| name.clone())
            .collect()
    };
    set.retain(|s| !a.no_attach.contains(s));
    Ok(set)
}

pub fn attached_up(
    cx: &Cx,
    rt: &Runtime,
    a: &ComposeUpArgs,
    cascade_stop: bool,
) -> Result<ExitCode, RunError> {
    let services = attach_services(rt, a)?;
    let targets: Vec<ProjectContainer> = if services.is_empty() {
        Vec::new()
    } else {
        rt.service_containers(&services, None)?
    };
    let mut names: Vec<String> = targets.iter().map(log_source).collect();
    names.sort();
    let printer = LogPrinter::new(
        cx.color() && !a.no_color,
        !a.no_log_prefix,
        a.timestamps,
        true,
    );
    printer.register(&names);
    println!("Attaching to {}", names.join(", "));
    let interrupts = count_interrupts()?;
    let opts = AttachOptions {
        cascade: if a.abort_on_container_failure {
            Cascade::Fail
        } else if cascade_stop {
            Cascade::Stop
        } else {
            Cascade::Ignore
        },
        exit_code_from: a.exit_code_from.clone(),
        timeout: a.timeout,
    };
    // Stops are reported among the logs: plain lines, never the block.
    let mode = match cx.mode() {
        Mode::Tty => Mode::Plain,
        m => m,
    };
    let progress =
        wharf_compose::run::progress::writer(mode, Box::new(std::io::stderr()), "Running", false);
    let count = || interrupts.load(Ordering::Relaxed);
    match rt.attached(&targets, &opts, &printer, &count, &*progress)? {
        Ended::Exited(0) => Ok(ExitCode::SUCCESS),
        Ended::Exited(code) => Err(RunError::Exit {
            code,
            message: String::new(),
        }),
        Ended::Interrupted => Ok(ExitCode::from(130)),
    }
}

/// `compose logs`.
pub fn logs(cx: &Cx, a: &crate::cli_compose::ComposeLogsArgs) -> Result<ExitCode, RunError> {
    let engine = cx.engine()?;
    let rt = cx.project_or_name(&engine, &a.services)?;
    if a.index.is_some() && a.services.len() != 1 {
        return Err(RunError::Invalid(
            "--index requires one service to be selected".into(),
        ));
    }
    let containers = rt.service_containers(&a.services, a.index)?;
    let tail = match a.tail.as_str() {
        "all" | "-1" => None,
        n => Some(
            n.parse::<usize>()
                .map_err(|_| RunError::Invalid(format!("invalid value for \"tail\": {n}")))?,
        ),
    };
    let now = Utc::now();
    let time = |s: &Option<String>| -> Result<Option<DateTime<Utc>>, RunError> {
        s.as_deref()
            .map(|s| wharf_runtime::logs::parse_time_arg(s, now))
            .transpose()
            .map_err(|e| RunError::Invalid(e.to_string()))
    };
    let opts = wharf_compose::run::LogOptions {
        follow: a.follow,
        tail,
        since: time(&a.since)?,
        until: time(&a.until)?,
    };
    let printer = LogPrinter::new(
        cx.color() && !a.no_color,
        !a.no_log_prefix,
        a.timestamps,
        false,
    );
    let mut names: Vec<String> = containers.iter().map(log_source).collect();
    names.sort();
    printer.register(&names);
    rt.logs(&containers, &opts, &printer)?;
    Ok(ExitCode::SUCCESS)
}
