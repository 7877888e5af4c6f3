//! Errors to messages and docker's exit codes.
//!
//! The docker CLI exits 1 for a failed command, 125 for a flag it could
//! not parse and for anything that stops `docker run` before the
//! container runs (`cli.StatusError{StatusCode: 125}`); `docker create`
//! gives 125 only for its option parsing. A [`Failure`] without its own
//! code takes the running command's ([`CommandCodes`]).

use std::process::ExitCode;

use wharf_engine::{EngineError, ErrorKind};

/// Docker's exit code for an error of the engine or of the command line.
pub const ENGINE_ERROR: u8 = 125;

/// Docker's exit code for a command that failed (`docker rm nosuch`).
pub const FAILED: u8 = 1;

/// A failure with the message to print; `code` is docker's
/// `StatusError` code when the failure fixes it, or `None` for the
/// running command's own error code.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: Option<u8>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// A failed command: exits with the command's error code (1, or 125
/// for `run`).
pub fn fail(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Failure {
        message: message.into(),
        code: None,
    })
}

pub fn fail_with(message: impl Into<String>, code: u8) -> anyhow::Error {
    anyhow::Error::new(Failure {
        message: message.into(),
        code: Some(code),
    })
}

/// `e` as an option that did not parse (125), unless it already carries
/// a code: `docker create` fails with 125 only while reading its options.
pub fn as_invalid_option(e: anyhow::Error) -> anyhow::Error {
    match e.downcast::<Failure>() {
        Ok(f) => fail_with(f.message, f.code.unwrap_or(ENGINE_ERROR)),
        Err(e) => fail_with(e.to_string(), ENGINE_ERROR),
    }
}

/// The exit code of the command being run when it fails without a code
/// of its own: 125 for `run` (its every error is docker's StatusError
/// 125) and for `kube` (Podman's `kube play` exits 125), 1 for all others.
pub fn command_error_code(command: &crate::cli::Command) -> u8 {
    use crate::cli::{Command, ContainerCommand};
    match command {
        Command::Run(_) | Command::Container(ContainerCommand::Run(_)) | Command::Kube(_) => {
            ENGINE_ERROR
        }
        _ => FAILED,
    }
}

/// The exit status of a process killed by SIGPIPE (128 + 13), as the
/// docker CLI ends when its reader goes away.
const BROKEN_PIPE: u8 = 141;

/// Prints `e` as docker's CLI does and gives its exit code; `code` is the
/// command's own for failures that carry none.
pub fn report(e: &anyhow::Error, code: u8) -> ExitCode {
    // `wharf ... --format ... | head`: the reader has all it wanted; a
    // streamed output ends quietly, as a Go program killed by SIGPIPE.
    let broken_pipe = match e.downcast_ref::<wharf_format::FormatError>() {
        Some(wharf_format::FormatError::Write { kind, .. }) => {
            *kind == std::io::ErrorKind::BrokenPipe
        }
        _ => e
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe),
    };
    if broken_pipe {
        return ExitCode::from(BROKEN_PIPE);
    }
    if let Some(f) = e.downcast_ref::<Failure>() {
        if !f.message.is_empty() {
            eprintln!("Error: {}", f.message);
        }
        return ExitCode::from(f.code.unwrap_or(code));
    }
    if let Some(engine) = e.downcast_ref::<EngineError>() {
        if engine.kind() == ErrorKind::Internal {
            tracing::debug!(error = ?engine, "internal error");
        }
    }
    // Only the outermost message: one clear line, as docker prints.
    eprintln!("Error: {e}");
    ExitCode::from(code)
}

pub fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind as K;
    match e.kind() {
        K::DisplayHelp | K::DisplayVersion | K::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        _ => {
            let _ = e.print();
            ExitCode::from(ENGINE_ERROR)
        }
    }
}
