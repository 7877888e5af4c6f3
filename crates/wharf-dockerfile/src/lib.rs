//! Dockerfile parser following BuildKit's syntax rules.
//!
//! Parsing happens in two stages, like BuildKit's `parser` and
//! `instructions` packages:
//!
//! 1. `parser` turns source text into raw nodes: `directives` at the top
//!    (`# syntax=`, `# escape=`, `# check=`), comments (also inside
//!    continuations), line continuations with the escape character
//!    (`lexer`), `--flag` extraction and argument splitting (`split`),
//!    JSON-array detection, and heredoc bodies (`heredoc`).
//! 2. `convert` types each node into an [`Instruction`] and validates
//!    argument counts and flags (`flags`) with BuildKit's messages;
//!    [`parse`] then groups instructions into meta ARGs and [`Stage`]s.
//!
//! The shell-word lexer lives in `shell_lex` (wildcards for `${VAR#pat}` in
//! `pattern`); `mount` parses `RUN --mount` specs; `expand` applies build-time
//! expansion to instruction arguments.
//!
//! Values are kept raw (quotes included) as BuildKit does; they are expanded
//! at build time with the shell-word [`Lexer`] (`$VAR`, `${VAR:-x}`, quotes,
//! word splitting), e.g. via [`Instruction::expand`]. Also provided:
//! [`parse_change`]/[`parse_changes`] for `docker commit --change`,
//! [`parse_trigger`] for ONBUILD triggers, and [`Mount::parse`] for
//! `RUN --mount` specs.
//!
//! ```
//! let df = wharf_dockerfile::parse("FROM alpine AS Base\nRUN echo hi\n").unwrap();
//! assert_eq!(df.stages[0].name.as_deref(), Some("base"));
//! assert_eq!(df.stages[0].instructions[0].name(), "RUN");
//! ```

mod changes;
mod convert;
mod directives;
mod dockerfile;
mod dockerignore;
mod duration;
mod error;
mod expand;
mod flags;
mod glob;
mod heredoc;
mod instruction;
mod lexer;
mod mount;
mod parser;
mod pattern;
mod shell_lex;
mod split;
mod suggest;

pub use changes::{parse_change, parse_changes, parse_trigger};
pub use directives::Directives;
pub use dockerfile::{parse, Dockerfile, Stage};
pub use dockerignore::{clean_context_path, Ignore};
pub use duration::parse_go_duration;
pub use error::{LexError, ParseError};
pub use expand::expand_heredoc_content;
pub use glob::path_match;
pub use heredoc::{chomp_content, parse_heredoc, Heredoc};
pub use instruction::{
    AddArgs, ArgDef, CommandForm, CopyArgs, Flag, FromArgs, Healthcheck, Instruction,
    InstructionKind, KeyValue, NetworkMode, OnBuild, RunArgs, SecurityMode, SourceContent,
};
pub use mount::{CacheSharing, Mount, MountError, MountType};
pub use shell_lex::{empty_env, Env, Expansion, Lexer, VarRefs};
