//! `wharf`: the command line, mirroring docker's verbs, flags and output.
//!
//! Every command opens the engine on the store root (`--root`,
//! `WHARF_ROOT`, default `/var/lib/wharf`), calls one engine method and
//! prints the result the way the docker CLI would. Errors print one line
//! and exit with docker's codes (125 for engine and usage errors).

mod cli;
mod commands;
mod env_file;
mod exit;
mod mount_flag;
mod output;

use std::os::unix::fs::OpenOptionsExt;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::compose_alias(std::env::args_os().collect());
    let cli = match cli::Cli::internal_monitor(&args)
        .map_or_else(|| cli::Cli::try_parse_from(args), Ok)
    {
        Ok(c) => c,
        Err(e) => return exit::usage_error(e),
    };
    init_tracing(&cli);
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => exit::report(&e),
    }
}

fn init_tracing(cli: &cli::Cli) {
    let g = &cli.global;
    let level = if g.debug {
        "debug"
    } else {
        g.log_level.as_str()
    };
    let level = if level == "fatal" { "error" } else { level };
    let filter = tracing_subscriber::EnvFilter::try_from_env("WHARF_LOG").unwrap_or_else(|_| {
        // libcontainer narrates every start at warn level; the user
        // gets our one-line errors instead unless debugging.
        let quiet = if g.debug {
            ""
        } else {
            ",libcontainer=off,libcgroups=off"
        };
        tracing_subscriber::EnvFilter::new(format!("{level}{quiet}"))
    });
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    // A monitor's stderr may be the user's terminal: its own diagnostics
    // (and libcontainer's) go to a file next to the container instead.
    // Opened for each event: a prespawned monitor starts before its
    // container's directory exists, and a monitor seldom logs.
    if let cli::Command::Monitor(m) = &cli.command {
        let path = g.root.join("containers").join(&m.id).join("monitor.log");
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
        fmt.with_ansi(false).with_writer(writer).init();
        return;
    }
    fmt.with_writer(std::io::stderr).init();
}
