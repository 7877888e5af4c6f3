//! `wharf compose`: Docker Compose v2's command line. The project is loaded
//! by wharf-compose and run by its runtime, which calls the engine in
//! this process. Errors print as Compose prints them (one line, no
//! `Error:` prefix) and exit as Compose does (1, or a container's code).

mod attach;
mod config;
mod lifecycle;
mod oneoff;
mod ps;
mod up;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use wharf_compose::run::{progress, Mode, Progress, RunError, Runtime};
use wharf_compose::{load, Loaded, Options};
use wharf_engine::Engine;

use crate::cli_compose::{ComposeArgs, ComposeCommand, ProjectFlags};

pub fn run(root: &Path, args: ComposeArgs) -> anyhow::Result<ExitCode> {
    if let Some(p) = &args.progress {
        if !matches!(
            p.as_str(),
            "auto" | "tty" | "plain" | "json" | "quiet" | "none"
        ) {
            return Ok(compose_error(&format!(
                "unsupported --progress value {p:?}"
            )));
        }
    }
    if !matches!(args.ansi.as_str(), "never" | "always" | "auto") {
        return Ok(compose_error(&format!(
            "invalid --ansi value {:?}: must be one of never, always, auto",
            args.ansi
        )));
    }
    // `--parallel`, else `COMPOSE_PARALLEL_LIMIT` (Compose reads it only
    // when the flag is left at its default).
    let mut parallel = args.parallel;
    if parallel == -1 {
        if let Ok(v) = std::env::var("COMPOSE_PARALLEL_LIMIT") {
            match v.parse() {
                Ok(n) => parallel = n,
                Err(_) => {
                    return Ok(compose_error(&format!(
                        "COMPOSE_PARALLEL_LIMIT must be an integer (found: {v:?})"
                    )))
                }
            }
        }
    }
    wharf_compose::run::set_parallel_limit(parallel);
    let cx = Cx { root, args: &args };
    let result = match &args.command {
        ComposeCommand::Config(c) => return config::config(&args, c),
        ComposeCommand::Up(a) => up::up(&cx, a),
        ComposeCommand::Create(a) => up::create(&cx, a),
        ComposeCommand::Down(a) => lifecycle::down(&cx, a),
        ComposeCommand::Ps(a) => ps::ps(&cx, a),
        ComposeCommand::Logs(a) => attach::logs(&cx, a),
        ComposeCommand::Start(a) => lifecycle::start(&cx, a),
        ComposeCommand::Stop(a) => lifecycle::stop(&cx, a),
        ComposeCommand::Restart(a) => lifecycle::restart(&cx, a),
        ComposeCommand::Kill(a) => lifecycle::kill(&cx, a),
        ComposeCommand::Pause(a) => lifecycle::pause(&cx, a, true),
        ComposeCommand::Unpause(a) => lifecycle::pause(&cx, a, false),
        ComposeCommand::Rm(a) => lifecycle::rm(&cx, a),
        ComposeCommand::Wait(a) => lifecycle::wait(&cx, a),
        ComposeCommand::Images(a) => ps::images(&cx, a),
        ComposeCommand::Ls(a) => ps::ls(&cx, a),
        ComposeCommand::Top(a) => ps::top(&cx, a),
        ComposeCommand::Port(a) => ps::port(&cx, a),
        ComposeCommand::Run(a) => oneoff::run(&cx, a),
        ComposeCommand::Exec(a) => oneoff::exec(&cx, a),
        ComposeCommand::Cp(a) => oneoff::cp(&cx, a),
        ComposeCommand::Build(a) => oneoff::build(&cx, a),
        ComposeCommand::Pull(a) => oneoff::pull(&cx, a),
        ComposeCommand::Push(a) => oneoff::push(&cx, a),
        ComposeCommand::Version(a) => oneoff::version(a),
    };
    Ok(match result {
        Ok(code) => code,
        Err(e) => report(&e),
    })
}

/// What every verb needs: the store root and the project flags.
pub(crate) struct Cx<'a> {
    pub root: &'a Path,
    pub args: &'a ComposeArgs,
}

impl Cx<'_> {
    /// The loader's options from the project flags; `services`: those
    /// named on the command line.
    fn options(&self, services: &[String]) -> Options {
        Options {
            services: services.to_vec(),
            all_resources: self.args.all_resources,
            ..options(&self.args.project)
        }
    }

    /// The project, loaded (warnings printed).
    fn load(&self, services: &[String]) -> Result<Loaded, RunError> {
        let loaded = load(&self.options(services))?;
        wharf_runtime::timeline::mark("compose: loaded");
        print_warnings(&loaded.warnings);
        Ok(loaded)
    }

    fn engine(&self) -> Result<Engine, RunError> {
        let engine = super::open_engine(self.root).map_err(|e| {
            match e.downcast::<wharf_engine::EngineError>() {
                Ok(e) => RunError::Engine(e),
                Err(e) => RunError::Invalid(e.to_string()),
            }
        });
        wharf_runtime::timeline::mark("compose: engine open");
        engine
    }

    /// The `--env-file`s given, for the label.
    fn env_files(&self) -> Vec<String> {
        self.args
            .project
            .env_file
            .iter()
            .map(|p| {
                std::path::absolute(p)
                    .unwrap_or_else(|_| p.clone())
                    .display()
                    .to_string()
            })
            .collect()
    }

    fn runtime<'e>(&self, engine: &'e Engine, loaded: Loaded) -> Runtime<'e> {
        Runtime::new(engine, loaded, self.env_files())
    }

    /// How progress is shown: `--progress`, else `--ansi`, else a
    /// terminal on stderr gets the redrawn block.
    fn mode(&self) -> Mode {
        match self.args.progress.as_deref() {
            Some("plain") => Mode::Plain,
            Some("tty") => Mode::Tty,
            Some("json") => Mode::Json,
            Some("quiet" | "none") => Mode::Quiet,
            _ => match self.args.ansi.as_str() {
                "never" => Mode::Plain,
                "always" => Mode::Tty,
                _ if std::io::stderr().is_terminal() => Mode::Tty,
                _ => Mode::Plain,
            },
        }
    }

    /// Whether output may carry ANSI colours.
    fn color(&self) -> bool {
        match self.args.ansi.as_str() {
            "never" => false,
            "always" => true,
            _ => std::io::stdout().is_terminal(),
        }
    }

    /// Progress on stderr, headed `title` on a terminal.
    fn progress(&self, title: &str) -> Box<dyn Progress> {
        self.progress_mode(self.mode(), title)
    }

    fn progress_mode(&self, mode: Mode, title: &str) -> Box<dyn Progress> {
        progress::writer(mode, Box::new(std::io::stderr()), title, self.color())
    }
}

/// The loader's options from the project flags.
pub(crate) fn options(p: &ProjectFlags) -> Options {
    Options {
        files: p.file.clone(),
        project_name: p.project_name.clone(),
        project_directory: p.project_directory.clone(),
        profiles: p.profile.clone(),
        env_files: p.env_file.clone(),
        ..Options::default()
    }
}

/// Compose's own error line and exit code.
pub(crate) fn compose_error(message: &str) -> ExitCode {
    eprintln!("{message}");
    ExitCode::from(1)
}

/// A runtime error as Compose reports it. A container's exit code
/// (`run`, attached `up`) is a `StatusError` to Compose, whose message
/// the CLI prints even when empty: a blank line.
fn report(e: &RunError) -> ExitCode {
    let text = e.to_string();
    if !text.is_empty() || matches!(e, RunError::Exit { .. }) {
        eprintln!("{text}");
    }
    ExitCode::from(e.exit_code().clamp(0, 255) as u8)
}

/// Warnings as Compose's logrus prints them.
pub(crate) fn print_warnings(warnings: &[String]) {
    let mut err = std::io::stderr().lock();
    let tty = std::io::stderr().is_terminal();
    for w in warnings {
        let _ = if tty {
            writeln!(err, "\x1b[33mWARN\x1b[0m[0000] {w}")
        } else {
            let now = chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            writeln!(err, "time={now:?} level=warning msg={w:?}")
        };
    }
}

/// Whether `args` run `wharf compose` (after wharf's global flags).
pub(crate) fn is_compose(args: &[std::ffi::OsString]) -> bool {
    let mut expect_value = false;
    for a in args.iter().skip(1).filter_map(|a| a.to_str()) {
        if expect_value {
            expect_value = false;
            continue;
        }
        match a {
            "--root" | "-l" | "--log-level" => expect_value = true,
            "compose" => return true,
            f if f.starts_with('-') => {}
            _ => return false,
        }
    }
    false
}

/// A command line `wharf compose` cannot parse, worded as Compose's
/// (cobra's) errors and exiting 1; help exits 0.
pub(crate) fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let value = |kind| match e.get(kind) {
        Some(ContextValue::String(s)) => s.clone(),
        Some(ContextValue::Strings(v)) => v.join(" "),
        _ => String::new(),
    };
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        ErrorKind::UnknownArgument => {
            let arg = value(ContextKind::InvalidArg);
            let flag = arg.split('=').next().unwrap_or(&arg).to_string();
            if flag.starts_with("--") || flag.len() != 2 {
                compose_error(&format!("unknown flag: {flag}"))
            } else {
                compose_error(&format!(
                    "unknown shorthand flag: '{}' in {flag}",
                    flag.trim_start_matches('-')
                ))
            }
        }
        ErrorKind::InvalidSubcommand => compose_error(&format!(
            "unknown docker command: \"compose {}\"",
            value(ContextKind::InvalidSubcommand)
        )),
        _ => {
            let _ = e.print();
            ExitCode::from(1)
        }
    }
}
