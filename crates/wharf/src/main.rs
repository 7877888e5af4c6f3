//! `wharf`: the command line, mirroring docker's verbs, flags and output.
//!
//! Every command opens the engine on the store root (`--root`,
//! `WHARF_ROOT`, default `/var/lib/wharf`), calls one engine method and
//! prints the result the way the docker CLI would. Errors print one line
//! and exit with docker's codes (1 for a failed command, 125 for `run`'s
//! errors and unparsable flags).

mod cli;
mod cli_compose;
mod cli_kube;
mod cli_runc;
mod commands;
mod env_file;
mod exit;
mod help;
mod mount_flag;
mod output;

use std::os::unix::fs::OpenOptionsExt;
use std::process::ExitCode;

fn main() -> ExitCode {
    wharf_runtime::timeline::mark("main");
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // `wharf-runc` (a symlink): runc's command line, an OCI runtime.
    if commands::runc::invoked_as_runc(&args) {
        return commands::runc::main(args);
    }
    let args = cli::Cli::compose_alias(args);
    // The engine starts container monitors with a fixed command line,
    // read without clap (see wharf_runtime::monitor::boundary).
    if let Some(m) = wharf_runtime::monitor::MonitorArgs::parse(&args) {
        init_monitor_tracing(&m);
        if m.probe {
            return ExitCode::from(wharf_runtime::monitor::health::probe(&m));
        }
        return match commands::containers::monitor(m) {
            Ok(code) => code,
            Err(e) => exit::report(&e, exit::ENGINE_ERROR),
        };
    }
    let cli = match help::parse(args) {
        Ok(c) => c,
        Err(code) => return code,
    };
    init_tracing(&cli);
    let code = exit::command_error_code(&cli.command);
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => exit::report(&e, code),
    }
}

/// Libraries log through `tracing`; only the binary says where to.
fn filter(level: &str, debug: bool) -> tracing_subscriber::EnvFilter {
    let level = if debug { "debug" } else { level };
    let level = if level == "fatal" { "error" } else { level };
    tracing_subscriber::EnvFilter::try_from_env("WHARF_LOG").unwrap_or_else(|_| {
        // libcontainer narrates every start at warn level; the user
        // gets our one-line errors instead unless debugging.
        let quiet = if debug {
            ""
        } else {
            ",libcontainer=off,libcgroups=off"
        };
        tracing_subscriber::EnvFilter::new(format!("{level}{quiet}"))
    })
}

fn init_tracing(cli: &cli::Cli) {
    let g = &cli.global;
    tracing_subscriber::fmt()
        .with_env_filter(filter(&g.log_level, g.debug))
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();
}

/// A monitor's stderr may be the user's terminal: its own diagnostics
/// (and libcontainer's) go to a file next to the container instead.
/// Opened for each event: a prespawned monitor starts before its
/// container's directory exists, and a monitor seldom logs.
fn init_monitor_tracing(m: &wharf_runtime::monitor::MonitorArgs) {
    let path = m.root.join("containers").join(&m.id).join("monitor.log");
    let writer = move || -> Box<dyn std::io::Write> {
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(wharf_engine::PRIVATE_FILE_MODE)
            .open(&path)
        {
            Ok(f) => Box::new(f),
            Err(_) => Box::new(std::io::sink()),
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter("warn", false))
        .with_target(false)
        .with_ansi(false)
        .with_writer(writer)
        .init();
}
