//! Errors to messages and docker's exit codes.

use std::process::ExitCode;

use wharf_engine::{EngineError, ErrorKind};

/// Docker's exit code for an error of the engine or of the command line.
pub const ENGINE_ERROR: u8 = 125;

/// A failure that already carries its exit code (docker's `StatusError`).
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: u8,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

pub fn fail(message: impl Into<String>) -> anyhow::Error {
    fail_with(message, ENGINE_ERROR)
}

pub fn fail_with(message: impl Into<String>, code: u8) -> anyhow::Error {
    anyhow::Error::new(Failure {
        message: message.into(),
        code,
    })
}

/// The exit status of a process killed by SIGPIPE (128 + 13), as the
/// docker CLI ends when its reader goes away.
const BROKEN_PIPE: u8 = 141;

pub fn report(e: &anyhow::Error) -> ExitCode {
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
        return ExitCode::from(f.code);
    }
    if let Some(engine) = e.downcast_ref::<EngineError>() {
        if engine.kind() == ErrorKind::Internal {
            tracing::debug!(error = ?engine, "internal error");
        }
    }
    // Only the outermost message: one clear line, as docker prints.
    eprintln!("Error: {e}");
    ExitCode::from(ENGINE_ERROR)
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
