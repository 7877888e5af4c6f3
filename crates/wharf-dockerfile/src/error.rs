//! Error types: [`ParseError`] for Dockerfile syntax/instruction errors and
//! [`LexError`] for shell-word expansion errors.

use thiserror::Error;

/// An error found while parsing a Dockerfile (or a `--change` line).
///
/// Displays as `Dockerfile:<line>: <message>` when the error has a location
/// (1-based line of the instruction that failed), otherwise just the message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}{message}", location_prefix(*.line))]
pub struct ParseError {
    line: Option<usize>,
    end_line: Option<usize>,
    message: String,
}

fn location_prefix(line: Option<usize>) -> String {
    match line {
        Some(line) => format!("Dockerfile:{line}: "),
        None => String::new(),
    }
}

impl ParseError {
    /// An error located at `line` (1-based).
    pub fn at(line: usize, message: impl Into<String>) -> Self {
        Self {
            line: Some(line),
            end_line: Some(line),
            message: message.into(),
        }
    }

    /// An error spanning the instruction at lines `start..=end`.
    pub fn spanning(start: usize, end: usize, message: impl Into<String>) -> Self {
        Self {
            line: Some(start),
            end_line: Some(end.max(start)),
            message: message.into(),
        }
    }

    /// An error without a source location.
    pub fn general(message: impl Into<String>) -> Self {
        Self {
            line: None,
            end_line: None,
            message: message.into(),
        }
    }

    /// First line (1-based) of the offending instruction, if known.
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    /// Last line (1-based) of the offending instruction, if known.
    pub fn end_line(&self) -> Option<usize> {
        self.end_line
    }

    /// The message without the `Dockerfile:<line>:` prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// An error from the shell-word lexer (unterminated quotes, bad `${...}`
/// substitutions, `${VAR:?msg}` on an unset variable, ...).
///
/// Displays like BuildKit: `failed to process "<word>": <reason>`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("failed to process {word:?}: {reason}")]
pub struct LexError {
    word: String,
    reason: String,
}

impl LexError {
    pub(crate) fn new(word: &str, reason: impl Into<String>) -> Self {
        Self {
            word: word.to_string(),
            reason: reason.into(),
        }
    }

    /// The word that failed to process.
    pub fn word(&self) -> &str {
        &self.word
    }

    /// Why it failed, e.g. `unexpected end of statement while looking for
    /// matching double-quote`.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}
