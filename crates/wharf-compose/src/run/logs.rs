//! The services' output: `logs` (each container's json-file log, read in
//! parallel) and attached `up` (new output followed until each container
//! exits, the project stopped on the first exit with
//! `--abort-on-container-exit`, or on an interrupt). Lines go to a
//! [`LogSink`]; how they look (`web-1  | ` prefixes, colours) is the
//! caller's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use wharf_runtime::logs::{read_logs, LogRecord, ReadOptions, Stream};

use super::labels;
use super::parallel::for_each;
use super::progress::{self, Progress};
use super::state::{OneOff, ProjectContainer};
use super::{RunError, RunResult, Runtime};

/// Where output goes.
pub trait LogSink: Sync {
    /// A line (with its `\n`) of container `source` (`web-1`).
    fn line(&self, source: &str, stream: Stream, line: &[u8], time: DateTime<Utc>);
    /// A state change of `source` (`exited with code 0`).
    fn status(&self, source: &str, text: &str);
    /// The first interrupt: the project is being stopped.
    fn interrupted(&self) {}
    /// A container's exit stops the project (`--abort-on-container-exit`).
    fn aborting(&self) {}
}

/// `logs`' flags.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    pub follow: bool,
    pub tail: Option<usize>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// What ends an attached `up` besides its containers' exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cascade {
    /// Each container runs until it exits.
    #[default]
    Ignore,
    /// `--abort-on-container-exit`: the first exit stops the project.
    Stop,
    /// `--abort-on-container-failure`: the first failure does.
    Fail,
}

/// Attached `up`'s options.
#[derive(Debug, Clone, Default)]
pub struct AttachOptions {
    pub cascade: Cascade,
    /// `--exit-code-from SERVICE`.
    pub exit_code_from: Option<String>,
    /// Stop timeout when the project is stopped.
    pub timeout: Option<u64>,
}

/// How an attached `up` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The containers exited (or the project was stopped on one's exit);
    /// Compose's exit code.
    Exited(i32),
    /// Interrupted (Ctrl-C): Compose exits 130.
    Interrupted,
}

/// The name a container's lines carry: `SERVICE-N`, or its
/// `container_name` (`getContainerNameWithoutProject`).
pub fn log_source(c: &ProjectContainer) -> String {
    let project = c.label(labels::PROJECT).unwrap_or_default();
    let default = format!(
        "{project}-{}-{}",
        c.service(),
        c.label(labels::CONTAINER_NUMBER).unwrap_or_default()
    );
    if c.name() != default {
        return c.name().to_string();
    }
    c.name()[project.len() + 1..].to_string()
}

const POLL: Duration = Duration::from_millis(50);

impl Runtime<'_> {
    /// The project's containers of `services` (all when empty), without
    /// one-off ones; `index`: only replica N.
    pub fn service_containers(
        &self,
        services: &[String],
        index: Option<u32>,
    ) -> RunResult<Vec<ProjectContainer>> {
        self.check_services(services)?;
        Ok(self
            .containers(OneOff::Exclude)?
            .into_iter()
            .filter(|c| {
                if services.is_empty() {
                    self.project.services.is_empty()
                        || self.project.services.contains_key(c.service())
                } else {
                    services.iter().any(|s| s == c.service())
                }
            })
            .filter(|c| index.is_none() || c.number() == index)
            .collect())
    }

    /// Whether container `id` may still write output (running, paused or
    /// about to restart).
    fn alive(&self, id: &str) -> bool {
        self.engine.container_running(id)
    }

    /// Read one container's log into `sink`; with `follow`, until `stop`.
    fn read_container(
        &self,
        c: &ProjectContainer,
        opts: &ReadOptions,
        sink: &dyn LogSink,
        stop: &dyn Fn() -> bool,
    ) -> RunResult<()> {
        let source = log_source(c);
        let path = self.engine.log_path(c.id());
        let mut each = |rec: &LogRecord| -> std::io::Result<()> {
            sink.line(&source, rec.stream, &rec.line, rec.time);
            Ok(())
        };
        read_logs(&path, opts, &mut each, stop)
            .map_err(|e| RunError::Invalid(format!("{}: {e}", c.name())))
    }

    /// `logs`: every container's log, in parallel; with `follow`, until
    /// each container stops.
    pub fn logs(
        &self,
        containers: &[ProjectContainer],
        opts: &LogOptions,
        sink: &dyn LogSink,
    ) -> RunResult<()> {
        let read = ReadOptions {
            tail: opts.tail,
            since: opts.since,
            until: opts.until,
            follow: opts.follow,
            ..Default::default()
        };
        for_each(containers, |c| {
            let stop = || !self.alive(c.id());
            self.read_container(c, &read, sink, &stop)
        })
        .map(|_| ())
    }

    /// Attached `up` after `create`: follow the new output of `targets`,
    /// start the project, and wait until every target has exited, the
    /// project was stopped on an exit (`cascade`), or `interrupts()`
    /// counts a Ctrl-C (a second one kills). `progress` reports the stops.
    pub fn attached(
        &self,
        targets: &[ProjectContainer],
        opts: &AttachOptions,
        sink: &dyn LogSink,
        interrupts: &(dyn Fn() -> u32 + Sync),
        progress: &dyn Progress,
    ) -> RunResult<Ended> {
        let since = Utc::now();
        let read = ReadOptions {
            since: Some(since),
            follow: true,
            ..Default::default()
        };
        let quiet = AtomicBool::new(false);
        // Until the start is over, a container that is not running yet
        // is about to.
        let started = AtomicBool::new(false);
        let (tx, rx) = mpsc::channel::<(String, String, i32)>();
        std::thread::scope(|scope| -> RunResult<Ended> {
            let quiet = &quiet;
            let started = &started;
            for c in targets {
                let tx = tx.clone();
                let read = &read;
                scope.spawn(move || {
                    let gate = QuietSink { sink, quiet };
                    let stop = || {
                        quiet.load(Ordering::Relaxed)
                            || (started.load(Ordering::Relaxed) && !self.alive(c.id()))
                    };
                    if let Err(e) = self.read_container(c, read, &gate, &stop) {
                        tracing::warn!(error = %e, "following the log of {}", c.name());
                    }
                    let code = self
                        .engine
                        .list_containers(true)
                        .ok()
                        .and_then(|all| all.into_iter().find(|x| x.id == c.id()))
                        .and_then(|x| x.exit_code)
                        .unwrap_or(0);
                    let _ = tx.send((log_source(c), c.service().to_string(), code));
                });
            }
            drop(tx);
            let result = self.start(&progress::Quiet);
            started.store(true, Ordering::Relaxed);
            if let Err(e) = result {
                quiet.store(true, Ordering::Relaxed);
                return Err(e);
            }
            self.wait_attached(targets.len(), opts, sink, interrupts, progress, &rx, quiet)
        })
    }

    /// The loop of [`Runtime::attached`]: exits and interrupts.
    #[allow(clippy::too_many_arguments)]
    fn wait_attached(
        &self,
        mut remaining: usize,
        opts: &AttachOptions,
        sink: &dyn LogSink,
        interrupts: &(dyn Fn() -> u32 + Sync),
        progress: &dyn Progress,
        exits: &mpsc::Receiver<(String, String, i32)>,
        quiet: &AtomicBool,
    ) -> RunResult<Ended> {
        let mut exit_code = 0;
        let mut aborted = false;
        let mut seen_interrupts = 0;
        let mut stop_error: Option<RunError> = None;
        std::thread::scope(|scope| {
            let mut stopper: Option<std::thread::ScopedJoinHandle<RunResult<()>>> = None;
            let mut code_from_done = false;
            while remaining > 0 {
                let n = interrupts();
                if n > seen_interrupts {
                    seen_interrupts = n;
                    if n == 1 {
                        quiet.store(true, Ordering::Relaxed);
                        sink.interrupted();
                        if stopper.is_none() {
                            stopper = Some(scope.spawn(|| self.stop(&[], opts.timeout, progress)));
                        }
                    } else {
                        let _ = self.kill(&[], "SIGKILL", false, progress);
                    }
                }
                match exits.recv_timeout(POLL) {
                    Ok((source, service, code)) => {
                        remaining -= 1;
                        if seen_interrupts == 0 {
                            sink.status(&source, &format!("exited with code {code}"));
                        }
                        if !code_from_done && opts.exit_code_from.as_deref() == Some(&service) {
                            exit_code = code;
                            code_from_done = true;
                        }
                        let cascade = match opts.cascade {
                            Cascade::Ignore => false,
                            Cascade::Stop => true,
                            Cascade::Fail => code != 0,
                        };
                        if cascade && !aborted && seen_interrupts == 0 {
                            aborted = true;
                            if opts.exit_code_from.is_none() {
                                exit_code = code;
                            }
                            sink.aborting();
                            if stopper.is_none() {
                                stopper =
                                    Some(scope.spawn(|| self.stop(&[], opts.timeout, progress)));
                            }
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
            if let Some(h) = stopper {
                match h.join() {
                    Ok(Err(e)) => stop_error = Some(e),
                    Ok(Ok(())) => {}
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
        });
        if let Some(e) = stop_error {
            return Err(e);
        }
        if seen_interrupts > 0 {
            return Ok(Ended::Interrupted);
        }
        Ok(Ended::Exited(exit_code))
    }
}

/// A sink that goes silent once the project is being stopped by an
/// interrupt (Compose stops printing the logs then).
struct QuietSink<'a> {
    sink: &'a dyn LogSink,
    quiet: &'a AtomicBool,
}

impl LogSink for QuietSink<'_> {
    fn line(&self, source: &str, stream: Stream, line: &[u8], time: DateTime<Utc>) {
        if !self.quiet.load(Ordering::Relaxed) {
            self.sink.line(source, stream, line, time);
        }
    }

    fn status(&self, source: &str, text: &str) {
        self.sink.status(source, text);
    }

    fn interrupted(&self) {
        self.sink.interrupted();
    }

    fn aborting(&self) {
        self.sink.aborting();
    }
}
