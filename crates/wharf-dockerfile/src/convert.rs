//! Second parsing stage: raw nodes to typed [`Instruction`]s, with BuildKit's
//! argument-count and flag validation (BuildKit's `instructions` package).

use std::time::Duration;

use crate::duration::parse_go_duration;
use crate::error::ParseError;
use crate::flags::{parse_flags, FlagType, FlagValues};
use crate::heredoc::{chomp_content, parse_heredoc, Heredoc};
use crate::instruction::{
    AddArgs, ArgDef, CommandForm, CopyArgs, Flag, FromArgs, Healthcheck, Instruction,
    InstructionKind, KeyValue, NetworkMode, OnBuild, RunArgs, SecurityMode, SourceContent,
};
use crate::mount::check_mount_syntax;
use crate::parser::Node;
use crate::suggest::with_suggestion;

/// All instruction keywords, for suggestions.
const INSTRUCTIONS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

use FlagType::{Bool, Strings};
const STRING: FlagType = FlagType::String;

/// Types one node; errors carry the node's line range.
pub(crate) fn convert(node: &Node) -> Result<Instruction, ParseError> {
    let kind = convert_kind(node)
        .map_err(|msg| ParseError::spanning(node.start_line, node.end_line, msg))?;
    Ok(Instruction {
        keyword: node.keyword.clone(),
        start_line: node.start_line,
        end_line: node.end_line,
        original: node.original.trim().to_string(),
        flags: node.flags.iter().map(|f| Flag::from_raw(f)).collect(),
        heredocs: node.heredocs.clone(),
        kind,
    })
}

fn convert_kind(node: &Node) -> Result<InstructionKind, String> {
    let args = &node.args;
    let no_flags = || parse_flags(&node.flags, &[]);
    Ok(match node.lower_keyword().as_str() {
        "env" => {
            no_flags()?;
            InstructionKind::Env(key_values(args, "ENV")?)
        }
        "label" => {
            no_flags()?;
            InstructionKind::Label(key_values(args, "LABEL")?)
        }
        "maintainer" => {
            let value = exactly_one(args, "MAINTAINER")?;
            no_flags()?;
            InstructionKind::Maintainer(value)
        }
        "workdir" => {
            let value = exactly_one(args, "WORKDIR")?;
            no_flags()?;
            InstructionKind::Workdir(value)
        }
        "user" => {
            let value = exactly_one(args, "USER")?;
            no_flags()?;
            InstructionKind::User(value)
        }
        // BuildKit does not validate STOPSIGNAL or ARG flags.
        "stopsignal" => InstructionKind::StopSignal(exactly_one(args, "STOPSIGNAL")?),
        "arg" => InstructionKind::Arg(arg_defs(args)?),
        "from" => InstructionKind::From(from_args(node)?),
        "run" => InstructionKind::Run(run_args(node)?),
        "cmd" => {
            no_flags()?;
            InstructionKind::Cmd(command_form(args, node.json))
        }
        "entrypoint" => {
            no_flags()?;
            InstructionKind::Entrypoint(command_form(args, node.json))
        }
        "shell" => {
            no_flags()?;
            if args.is_empty() {
                return Err(at_least_one("SHELL"));
            }
            if !node.json {
                return Err("SHELL requires the arguments to be in JSON form".to_string());
            }
            InstructionKind::Shell(args.clone())
        }
        "expose" => {
            if args.is_empty() {
                return Err(at_least_one("EXPOSE"));
            }
            no_flags()?;
            let mut ports = args.clone();
            ports.sort();
            InstructionKind::Expose(ports)
        }
        "volume" => {
            if args.is_empty() {
                return Err(at_least_one("VOLUME"));
            }
            no_flags()?;
            let mut volumes = Vec::with_capacity(args.len());
            for v in args {
                let v = v.trim();
                if v.is_empty() {
                    return Err("VOLUME specified can not be an empty string".to_string());
                }
                volumes.push(v.to_string());
            }
            InstructionKind::Volume(volumes)
        }
        "copy" => InstructionKind::Copy(copy_args(node)?),
        "add" => InstructionKind::Add(add_args(node)?),
        "healthcheck" => InstructionKind::Healthcheck(healthcheck(node)?),
        "onbuild" => InstructionKind::OnBuild(onbuild(node)?),
        _ => {
            return Err(with_suggestion(
                format!("unknown instruction: {}", node.keyword),
                &node.keyword,
                INSTRUCTIONS,
                false,
            ))
        }
    })
}

fn at_least_one(cmd: &str) -> String {
    format!("{cmd} requires at least one argument")
}

fn exactly_one(args: &[String], cmd: &str) -> Result<String, String> {
    match args {
        [one] => Ok(one.clone()),
        _ => Err(format!("{cmd} requires exactly one argument")),
    }
}

fn no_destination(cmd: &str) -> String {
    format!(
        "{cmd} requires at least two arguments, but only one was provided. Destination could not be determined"
    )
}

/// `ENV`/`LABEL` pairs from (key, value, delimiter) triples.
fn key_values(args: &[String], cmd: &str) -> Result<Vec<KeyValue>, String> {
    if args.is_empty() {
        return Err(at_least_one(cmd));
    }
    if !args.chunks_exact(3).remainder().is_empty() {
        return Err(format!("Bad input to {cmd}, too many arguments"));
    }
    args.chunks(3)
        .map(|c| {
            if c[0].is_empty() {
                return Err(format!("{cmd} names can not be blank"));
            }
            Ok(KeyValue {
                key: c[0].clone(),
                value: c[1].clone(),
                legacy: c[2].is_empty(),
            })
        })
        .collect()
}

fn arg_defs(args: &[String]) -> Result<Vec<ArgDef>, String> {
    if args.is_empty() {
        return Err(at_least_one("ARG"));
    }
    args.iter()
        .map(|arg| match arg.split_once('=') {
            Some(("", _)) => Err("ARG names can not be blank".to_string()),
            Some((name, value)) => Ok(ArgDef {
                name: name.to_string(),
                default: Some(value.to_string()),
            }),
            None => Ok(ArgDef {
                name: arg.clone(),
                default: None,
            }),
        })
        .collect()
}

/// Valid stage names: `^[a-z][a-z0-9-_.]*$` after lowercasing.
pub(crate) fn is_valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
}

fn from_args(node: &Node) -> Result<FromArgs, String> {
    let args = &node.args;
    let name = match args.as_slice() {
        [_, as_kw, name] if as_kw.eq_ignore_ascii_case("as") => {
            let lower = name.to_lowercase();
            if !is_valid_stage_name(&lower) {
                return Err(format!(
                    "invalid name for build stage: {name:?}, name can't start with a number or contain symbols"
                ));
            }
            Some(lower)
        }
        [_] => None,
        _ => return Err("FROM requires either one or three arguments".to_string()),
    };
    let flags = parse_flags(&node.flags, &[("platform", STRING)])?;
    Ok(FromArgs {
        image: args[0].clone(),
        name,
        platform: flags.non_empty("platform"),
    })
}

/// Shell form joins the arguments; exec form keeps them.
fn command_form(args: &[String], json: bool) -> CommandForm {
    if json {
        CommandForm::Exec(args.to_vec())
    } else {
        CommandForm::Shell(args.join(" "))
    }
}

fn run_args(node: &Node) -> Result<RunArgs, String> {
    let flags = parse_flags(
        &node.flags,
        &[
            ("device", Strings),
            ("mount", Strings),
            ("network", STRING),
            ("security", STRING),
        ],
    )?;
    let mounts = flags.strings("mount");
    for mount in &mounts {
        check_mount_syntax(mount)?;
    }
    let network = match flags.string("network").as_deref().unwrap_or("default") {
        "default" => NetworkMode::Default,
        "none" => NetworkMode::None,
        "host" => NetworkMode::Host,
        other => return Err(format!("invalid network mode {other:?}")),
    };
    let security = match flags.string("security").as_deref().unwrap_or("sandbox") {
        "sandbox" => SecurityMode::Sandbox,
        "insecure" => SecurityMode::Insecure,
        other => return Err(format!("security {other:?} is not valid")),
    };
    Ok(RunArgs {
        command: command_form(&node.args, node.json),
        mounts,
        network,
        security,
        devices: flags.strings("device"),
    })
}

struct SourcesAndDest {
    sources: Vec<String>,
    contents: Vec<SourceContent>,
    dest: String,
}

fn sources_and_dest(node: &Node, cmd: &str) -> Result<SourcesAndDest, String> {
    let (dest, srcs) = node.args.split_last().ok_or_else(|| no_destination(cmd))?;
    if parse_heredoc(dest).is_some() {
        return Err(format!("{cmd} cannot accept a heredoc as a destination"));
    }
    let attached =
        |name: &str| -> Option<&Heredoc> { node.heredocs.iter().rev().find(|h| h.name == name) };
    let mut sources = Vec::new();
    let mut contents = Vec::new();
    for src in srcs {
        match parse_heredoc(src) {
            Some(doc) => {
                let body = attached(&doc.name).map_or("", |h| h.content.as_str());
                let data = if doc.chomp {
                    chomp_content(body)
                } else {
                    body.to_string()
                };
                contents.push(SourceContent {
                    path: doc.name,
                    data,
                    expand: doc.expand,
                });
            }
            None => sources.push(src.clone()),
        }
    }
    Ok(SourcesAndDest {
        sources,
        contents,
        dest: dest.clone(),
    })
}

fn copy_args(node: &Node) -> Result<CopyArgs, String> {
    if node.args.len() < 2 {
        return Err(no_destination("COPY"));
    }
    let flags = parse_flags(
        &node.flags,
        &[
            ("chown", STRING),
            ("from", STRING),
            ("chmod", STRING),
            ("link", Bool),
            ("exclude", Strings),
            ("parents", Bool),
        ],
    )?;
    let sd = sources_and_dest(node, "COPY")?;
    Ok(CopyArgs {
        sources: sd.sources,
        contents: sd.contents,
        dest: sd.dest,
        json: node.json,
        from: flags.non_empty("from"),
        chown: flags.non_empty("chown"),
        chmod: flags.non_empty("chmod"),
        link: flags.bool("link").unwrap_or(false),
        parents: flags.bool("parents").unwrap_or(false),
        excludes: flags.strings("exclude"),
    })
}

fn add_args(node: &Node) -> Result<AddArgs, String> {
    if node.args.len() < 2 {
        return Err(no_destination("ADD"));
    }
    let flags = parse_flags(
        &node.flags,
        &[
            ("chown", STRING),
            ("chmod", STRING),
            ("link", Bool),
            ("keep-git-dir", Bool),
            ("checksum", STRING),
            ("unpack", Bool),
            ("exclude", Strings),
        ],
    )?;
    let sd = sources_and_dest(node, "ADD")?;
    Ok(AddArgs {
        sources: sd.sources,
        contents: sd.contents,
        dest: sd.dest,
        json: node.json,
        chown: flags.non_empty("chown"),
        chmod: flags.non_empty("chmod"),
        link: flags.bool("link").unwrap_or(false),
        keep_git_dir: flags.bool("keep-git-dir"),
        checksum: flags.non_empty("checksum"),
        unpack: flags.bool("unpack"),
        excludes: flags.strings("exclude"),
    })
}

/// A `HEALTHCHECK` duration option: empty or zero means unset; otherwise at
/// least 1ms.
fn interval(flags: &FlagValues, name: &str) -> Result<Duration, String> {
    let value = flags.string(name).unwrap_or_default();
    if value.is_empty() {
        return Ok(Duration::ZERO);
    }
    let nanos = parse_go_duration(&value)?;
    if nanos == 0 {
        return Ok(Duration::ZERO);
    }
    if nanos < 1_000_000 {
        return Err(format!("Interval {name:?} cannot be less than 1ms"));
    }
    Ok(Duration::from_nanos(
        u64::try_from(nanos).unwrap_or(u64::MAX),
    ))
}

fn healthcheck(node: &Node) -> Result<Healthcheck, String> {
    let Some((typ, rest)) = node.args.split_first() else {
        return Err(at_least_one("HEALTHCHECK"));
    };
    let typ = typ.to_uppercase();
    if typ == "NONE" {
        if !rest.is_empty() {
            return Err("HEALTHCHECK NONE takes no arguments".to_string());
        }
        return Ok(Healthcheck {
            test: vec![typ],
            ..Healthcheck::default()
        });
    }

    let flags = parse_flags(
        &node.flags,
        &[
            ("interval", STRING),
            ("timeout", STRING),
            ("start-period", STRING),
            ("start-interval", STRING),
            ("retries", STRING),
        ],
    )?;
    if typ != "CMD" {
        return Err(format!("Unknown type {typ:?} in HEALTHCHECK (try CMD)"));
    }
    let cmd = command_form(rest, node.json).to_args();
    if cmd.is_empty() {
        return Err("Missing command after HEALTHCHECK CMD".to_string());
    }
    let mut test = vec![if node.json { "CMD" } else { "CMD-SHELL" }.to_string()];
    test.extend(cmd);

    let interval_value = interval(&flags, "interval")?;
    let timeout = interval(&flags, "timeout")?;
    let start_period = interval(&flags, "start-period")?;
    let start_interval = interval(&flags, "start-interval")?;
    let retries = match flags.string("retries").unwrap_or_default() {
        s if s.is_empty() => 0,
        s => {
            let n: i32 = s.parse().map_err(|_| {
                let digits = s.strip_prefix(['+', '-']).unwrap_or(&s);
                let reason = if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                    "value out of range"
                } else {
                    "invalid syntax"
                };
                format!("strconv.ParseInt: parsing {s:?}: {reason}")
            })?;
            u32::try_from(n).map_err(|_| format!("--retries cannot be negative ({n})"))?
        }
    };
    Ok(Healthcheck {
        test,
        interval: interval_value,
        timeout,
        start_period,
        start_interval,
        retries,
    })
}

/// Removes a leading `(?i)^\s*ONBUILD\s*` from the line.
fn strip_onbuild_keyword(line: &str) -> &str {
    let is_space = |c: char| matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ');
    let trimmed = line.trim_start_matches(is_space);
    match trimmed.get(..7) {
        Some(kw) if kw.eq_ignore_ascii_case("onbuild") => trimmed[7..].trim_start_matches(is_space),
        _ => line,
    }
}

fn onbuild(node: &Node) -> Result<OnBuild, String> {
    let Some(first) = node.args.first() else {
        return Err(at_least_one("ONBUILD"));
    };
    parse_flags(&node.flags, &[])?;
    let trigger = first.trim().to_uppercase();
    match trigger.as_str() {
        "ONBUILD" => return Err("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".to_string()),
        "MAINTAINER" | "FROM" => {
            return Err(format!("{trigger} isn't allowed as an ONBUILD trigger"))
        }
        _ => {}
    }
    let mut expression = strip_onbuild_keyword(&node.original).to_string();
    for doc in &node.heredocs {
        expression.push('\n');
        expression.push_str(&doc.content);
        expression.push_str(&doc.name);
    }
    Ok(OnBuild {
        expression,
        trigger,
    })
}
