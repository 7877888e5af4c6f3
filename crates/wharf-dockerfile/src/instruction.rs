//! The typed instruction model.
//!
//! Values that BuildKit expands at build time (ENV/LABEL/ARG values, paths,
//! `--chown`, ...) are stored raw, quotes included; use
//! [`Instruction::expand`](crate::Instruction::expand) or the
//! [`Lexer`](crate::Lexer) to process them against an environment.

use std::time::Duration;

use crate::heredoc::Heredoc;

/// A `--name[=value]` flag as written on the instruction (quotes removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// Name without the leading `--`.
    pub name: String,
    /// Text after the first `=`, `None` for a bare `--name`.
    pub value: Option<String>,
}

impl Flag {
    pub(crate) fn from_raw(raw: &str) -> Self {
        let body = raw.strip_prefix("--").unwrap_or(raw);
        match body.split_once('=') {
            Some((name, value)) => Self {
                name: name.to_string(),
                value: Some(value.to_string()),
            },
            None => Self {
                name: body.to_string(),
                value: None,
            },
        }
    }
}

/// Shell form (run through the stage's `SHELL`, `/bin/sh -c` by default) or
/// exec form (JSON array, run directly).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandForm {
    /// `RUN echo hi`: the text after the keyword and flags, unprocessed.
    Shell(String),
    /// `RUN ["echo", "hi"]`.
    Exec(Vec<String>),
}

impl CommandForm {
    /// True for shell form: the executor prepends the shell.
    pub fn prepends_shell(&self) -> bool {
        matches!(self, CommandForm::Shell(_))
    }

    /// The command as an argument list before adding any shell: exec form
    /// as is, shell form as a single element (empty list for an empty
    /// command).
    pub fn to_args(&self) -> Vec<String> {
        match self {
            CommandForm::Shell(s) if s.is_empty() => Vec::new(),
            CommandForm::Shell(s) => vec![s.clone()],
            CommandForm::Exec(args) => args.clone(),
        }
    }
}

/// One `key=value` of `ENV` or `LABEL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// Raw key.
    pub key: String,
    /// Raw value (quotes and escapes unprocessed).
    pub value: String,
    /// Written in the legacy `ENV key value` form (no `=`).
    pub legacy: bool,
}

/// One name of an `ARG`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDef {
    /// Raw name.
    pub name: String,
    /// Raw default value (`ARG a=b`), `None` for `ARG a`.
    pub default: Option<String>,
}

/// `FROM [--platform=p] image [AS name]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FromArgs {
    /// Base image or stage name, raw (may contain `$ARG` references).
    pub image: String,
    /// Stage name, lowercased.
    pub name: Option<String>,
    /// `--platform` value, raw.
    pub platform: Option<String>,
}

/// `RUN --network=...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NetworkMode {
    #[default]
    Default,
    None,
    Host,
}

/// `RUN --security=...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecurityMode {
    #[default]
    Sandbox,
    Insecure,
}

/// `RUN [--mount=...] [--network=...] [--security=...] [--device=...] cmd`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunArgs {
    pub command: CommandForm,
    /// Raw `--mount` specs (see [`Mount::parse`](crate::Mount::parse)).
    pub mounts: Vec<String>,
    pub network: NetworkMode,
    pub security: SecurityMode,
    /// Raw `--device` specs.
    pub devices: Vec<String>,
}

/// An inline file from a heredoc source of `COPY`/`ADD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceContent {
    /// Heredoc name, used as the file name.
    pub path: String,
    /// Body, leading tabs already stripped for `<<-`.
    pub data: String,
    /// Whether the body should be variable-expanded (unquoted terminator).
    pub expand: bool,
}

/// `COPY [flags] src... dest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyArgs {
    /// Raw source paths (heredoc sources excluded).
    pub sources: Vec<String>,
    /// Heredoc sources.
    pub contents: Vec<SourceContent>,
    /// Raw destination.
    pub dest: String,
    /// Arguments were a JSON array.
    pub json: bool,
    pub from: Option<String>,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub link: bool,
    pub parents: bool,
    pub excludes: Vec<String>,
}

/// `ADD [flags] src... dest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddArgs {
    /// Raw source paths or URLs (heredoc sources excluded).
    pub sources: Vec<String>,
    /// Heredoc sources.
    pub contents: Vec<SourceContent>,
    /// Raw destination.
    pub dest: String,
    /// Arguments were a JSON array.
    pub json: bool,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub link: bool,
    /// `--keep-git-dir`, `None` when not given.
    pub keep_git_dir: Option<bool>,
    pub checksum: Option<String>,
    /// `--unpack`, `None` when not given.
    pub unpack: Option<bool>,
    pub excludes: Vec<String>,
}

/// `HEALTHCHECK`, in image-config shape. `HEALTHCHECK NONE` gives
/// `test == ["NONE"]`; otherwise `test` is `["CMD", args...]` (exec form) or
/// `["CMD-SHELL", command]`. Zero durations / retries mean "not set".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Healthcheck {
    pub test: Vec<String>,
    pub interval: Duration,
    pub timeout: Duration,
    pub start_period: Duration,
    pub start_interval: Duration,
    pub retries: u32,
}

/// `ONBUILD <instruction>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnBuild {
    /// Trigger text as stored in the image config: the line without the
    /// `ONBUILD` keyword, followed by any heredoc bodies and terminators.
    /// Parse it with [`parse_trigger`](crate::parse_trigger).
    pub expression: String,
    /// The trigger's keyword, uppercased (`RUN`, `COPY`, ...).
    pub trigger: String,
}

/// Typed arguments of an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstructionKind {
    From(FromArgs),
    Run(RunArgs),
    Cmd(CommandForm),
    Entrypoint(CommandForm),
    /// `SHELL ["executable", "params"]` (JSON form only).
    Shell(Vec<String>),
    Env(Vec<KeyValue>),
    Arg(Vec<ArgDef>),
    Label(Vec<KeyValue>),
    /// Raw port specs, sorted like BuildKit; each may expand to several
    /// (see [`Lexer::process_words`](crate::Lexer::process_words)).
    Expose(Vec<String>),
    /// Raw path.
    Workdir(String),
    /// Raw user spec.
    User(String),
    /// Raw paths.
    Volume(Vec<String>),
    Copy(CopyArgs),
    Add(AddArgs),
    /// Raw signal.
    StopSignal(String),
    Healthcheck(Healthcheck),
    OnBuild(OnBuild),
    Maintainer(String),
}

/// One parsed instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// Keyword as written (`RUN`, `run`, ...).
    pub keyword: String,
    /// 1-based first line.
    pub start_line: usize,
    /// 1-based last line (continuations and heredoc bodies included).
    pub end_line: usize,
    /// The instruction text: continuation lines joined (escape characters and
    /// comments removed), trimmed, without heredoc bodies.
    pub original: String,
    /// Flags as written, in order.
    pub flags: Vec<Flag>,
    /// Heredocs attached to `RUN`/`COPY`/`ADD` (or an `ONBUILD` of them), raw
    /// (see [`Heredoc::chomped_content`]).
    pub heredocs: Vec<Heredoc>,
    pub kind: InstructionKind,
}

impl Instruction {
    /// Canonical uppercase instruction name (`RUN`, `COPY`, ...).
    pub fn name(&self) -> &'static str {
        match &self.kind {
            InstructionKind::From(_) => "FROM",
            InstructionKind::Run(_) => "RUN",
            InstructionKind::Cmd(_) => "CMD",
            InstructionKind::Entrypoint(_) => "ENTRYPOINT",
            InstructionKind::Shell(_) => "SHELL",
            InstructionKind::Env(_) => "ENV",
            InstructionKind::Arg(_) => "ARG",
            InstructionKind::Label(_) => "LABEL",
            InstructionKind::Expose(_) => "EXPOSE",
            InstructionKind::Workdir(_) => "WORKDIR",
            InstructionKind::User(_) => "USER",
            InstructionKind::Volume(_) => "VOLUME",
            InstructionKind::Copy(_) => "COPY",
            InstructionKind::Add(_) => "ADD",
            InstructionKind::StopSignal(_) => "STOPSIGNAL",
            InstructionKind::Healthcheck(_) => "HEALTHCHECK",
            InstructionKind::OnBuild(_) => "ONBUILD",
            InstructionKind::Maintainer(_) => "MAINTAINER",
        }
    }

    /// The value of the last flag called `name` (`None` when absent; a bare
    /// `--name` gives `Some("")`).
    pub fn flag(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .rev()
            .find(|f| f.name == name)
            .map(|f| f.value.as_deref().unwrap_or(""))
    }
}
