//! First parsing stage: source text to a list of raw instruction nodes
//! (BuildKit's `parser` package). Handles directives, comments, line
//! continuations, heredoc bodies, flag extraction and the per-instruction
//! argument shapes (JSON arrays, word lists, key/value pairs). Validation of
//! argument counts and flags happens in [`crate::convert`].

use crate::directives::{DirectiveParser, Directives};
use crate::error::ParseError;
use crate::heredoc::{heredocs_from_line, Heredoc};
use crate::lexer::{is_blank, is_comment, trim_continuation, trim_newline, LineReader};
use crate::split::{parse_words, split_command, split_whitespace_delimited};

/// One logical instruction before typing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    /// Keyword as written (`RUN`, `run`, `Copy`, ...).
    pub keyword: String,
    /// The logical line (continuations joined), untrimmed.
    pub original: String,
    /// Raw `--flag[=value]` words.
    pub flags: Vec<String>,
    /// Arguments; for `ENV`/`LABEL` triples of key, value, and `=` or ``
    /// (legacy `KEY value` form); for `ONBUILD` the trigger keyword followed
    /// by the trigger's arguments.
    pub args: Vec<String>,
    /// Arguments were given as a JSON array.
    pub json: bool,
    /// The trigger instruction of an `ONBUILD`.
    pub sub: Option<Box<Node>>,
    pub heredocs: Vec<Heredoc>,
    pub start_line: usize,
    pub end_line: usize,
}

impl Node {
    pub(crate) fn lower_keyword(&self) -> String {
        self.keyword.to_lowercase()
    }

    fn can_contain_heredoc(&self) -> bool {
        let node = match &self.sub {
            Some(sub) if self.lower_keyword() == "onbuild" => sub,
            _ => self,
        };
        matches!(node.lower_keyword().as_str(), "run" | "copy" | "add") && !node.json
    }
}

/// Parsed source: directives and instruction nodes.
#[derive(Debug, Clone)]
pub(crate) struct Ast {
    pub directives: Directives,
    pub nodes: Vec<Node>,
}

const NOT_STRING_ARRAY: &str =
    "when using JSON array syntax, arrays must be comprised of strings only";

/// Parses the whole source into nodes.
pub(crate) fn parse_ast(src: &str) -> Result<Ast, ParseError> {
    let mut reader = LineReader::new(src);
    let mut directives = Directives::default();
    let mut directive_parser = DirectiveParser::default();
    let mut nodes = Vec::new();

    while let Some(raw) = reader.next_line() {
        let start = reader.line();
        let first = trim_newline(raw).trim_start();
        directive_parser
            .parse_line(first, &mut directives)
            .map_err(|e| ParseError::at(start, e))?;
        // Comments (directives included) vanish.
        let first = if is_comment(first) { "" } else { first };
        let escape = directives.escape;
        let (first, mut continues) = trim_continuation(first, escape);
        if !continues && first.is_empty() {
            continue;
        }

        let mut line = first.to_string();
        while continues {
            let Some(raw) = reader.next_line() else {
                break;
            };
            let body = trim_newline(raw);
            // Comments and blank lines inside a continuation are skipped
            // (BuildKit warns about the blank ones).
            if is_comment(body) || is_blank(body) {
                continue;
            }
            let (part, more) = trim_continuation(body, escape);
            line.push_str(part);
            continues = more;
        }

        let mut node = new_node_from_line(&line, escape)
            .map_err(|e| ParseError::spanning(start, reader.line(), e))?;

        if node.can_contain_heredoc() && line.contains("<<") {
            let docs = heredocs_from_line(&line)
                .map_err(|e| ParseError::spanning(start, reader.line(), e))?;
            for mut doc in docs {
                doc.content = read_heredoc_body(&mut reader, &doc).ok_or_else(|| {
                    ParseError::spanning(start, reader.line(), "unterminated heredoc")
                })?;
                node.heredocs.push(doc);
            }
        }

        node.start_line = start;
        node.end_line = reader.line();
        nodes.push(node);
    }

    if nodes.is_empty() {
        return Err(ParseError::general("file with no instructions"));
    }
    Ok(Ast { directives, nodes })
}

/// Reads lines up to the terminator of `doc`; `None` at end of input.
fn read_heredoc_body(reader: &mut LineReader<'_>, doc: &Heredoc) -> Option<String> {
    let mut content = String::new();
    while let Some(raw) = reader.next_line() {
        let mut candidate = trim_newline(raw);
        if doc.chomp {
            candidate = candidate.trim_start_matches('\t');
        }
        if candidate == doc.name {
            return Some(content);
        }
        content.push_str(raw);
    }
    None
}

/// Splits one logical line into a node (no line numbers yet).
pub(crate) fn new_node_from_line(line: &str, escape: char) -> Result<Node, String> {
    let (keyword, flags, rest) = split_command(line, escape);
    let mut node = Node {
        keyword,
        original: line.to_string(),
        flags,
        args: Vec::new(),
        json: false,
        sub: None,
        heredocs: Vec::new(),
        start_line: 0,
        end_line: 0,
    };

    match node.lower_keyword().as_str() {
        "add" | "copy" | "volume" => (node.args, node.json) = maybe_json_to_list(&rest)?,
        "arg" => node.args = parse_words(&rest, escape),
        "cmd" | "entrypoint" | "run" | "shell" => (node.args, node.json) = maybe_json(&rest)?,
        "env" => node.args = name_val(&rest, "ENV", escape)?,
        "label" => node.args = name_val(&rest, "LABEL", escape)?,
        "expose" | "from" => node.args = split_whitespace_delimited(&rest),
        "healthcheck" => (node.args, node.json) = health_config(&rest)?,
        "maintainer" | "stopsignal" | "user" | "workdir" if !rest.is_empty() => {
            node.args = vec![rest];
        }
        "onbuild" if !rest.is_empty() => {
            let sub = new_node_from_line(&rest, escape)?;
            node.args = std::iter::once(sub.keyword.clone())
                .chain(sub.args.iter().cloned())
                .collect();
            node.sub = Some(Box::new(sub));
        }
        // No arguments, or an unknown instruction (reported when typing).
        _ => {}
    }
    Ok(node)
}

enum Json {
    /// A JSON array of strings.
    Strings(Vec<String>),
    /// Not a JSON array: shell form.
    Other,
    /// A JSON array with a non-string element: an error.
    Mixed,
}

/// The rest of the line is a JSON array (of strings) or not.
fn parse_json(rest: &str) -> Json {
    let rest = rest.trim_start();
    if !rest.starts_with('[') {
        return Json::Other;
    }
    let Ok(values) = serde_json::from_str::<Vec<serde_json::Value>>(rest) else {
        return Json::Other;
    };
    let mut out = Vec::with_capacity(values.len());
    for value in values {
        match value {
            serde_json::Value::String(s) => out.push(s),
            _ => return Json::Mixed,
        }
    }
    Json::Strings(out)
}

/// `CMD`/`ENTRYPOINT`/`RUN`/`SHELL`: JSON array or the whole rest as one
/// shell-form string.
fn maybe_json(rest: &str) -> Result<(Vec<String>, bool), String> {
    if rest.is_empty() {
        return Ok((Vec::new(), false));
    }
    match parse_json(rest) {
        Json::Strings(args) => Ok((args, true)),
        Json::Mixed => Err(NOT_STRING_ARRAY.to_string()),
        Json::Other => Ok((vec![rest.to_string()], false)),
    }
}

/// `ADD`/`COPY`/`VOLUME`: JSON array or whitespace-separated words.
fn maybe_json_to_list(rest: &str) -> Result<(Vec<String>, bool), String> {
    match parse_json(rest) {
        Json::Strings(args) => Ok((args, true)),
        Json::Mixed => Err(NOT_STRING_ARRAY.to_string()),
        Json::Other => Ok((split_whitespace_delimited(rest), false)),
    }
}

/// `ENV`/`LABEL`: `k=v k2=v2 ...` or the legacy `k v with spaces`.
fn name_val(rest: &str, key: &str, escape: char) -> Result<Vec<String>, String> {
    let words = parse_words(rest, escape);
    let Some(first) = words.first() else {
        return Ok(Vec::new());
    };

    if !first.contains('=') {
        let parts = split_whitespace_delimited_n2(rest);
        return match parts {
            (name, Some(value)) => Ok(vec![name.to_string(), value.to_string(), String::new()]),
            _ => Err(format!("{key} must have two arguments")),
        };
    }

    let mut args = Vec::with_capacity(words.len() * 3);
    for word in words {
        let Some((name, value)) = word.split_once('=') else {
            return Err(format!(
                "Syntax error - can't find = in {word:?}. Must be of the form: name=value"
            ));
        };
        args.extend([name.to_string(), value.to_string(), "=".to_string()]);
    }
    Ok(args)
}

/// Splits at the first run of `[\t\v\f\r ]`.
fn split_whitespace_delimited_n2(s: &str) -> (&str, Option<&str>) {
    let is_sep = |c: char| matches!(c, '\t' | '\x0b' | '\x0c' | '\r' | ' ');
    match s.find(is_sep) {
        Some(idx) => (&s[..idx], Some(s[idx..].trim_start_matches(is_sep))),
        None => (s, None),
    }
}

/// `HEALTHCHECK`: a type word (`CMD`, `NONE`, ...) then a command that is
/// JSON or shell form.
fn health_config(rest: &str) -> Result<(Vec<String>, bool), String> {
    let sep = rest.find(char::is_whitespace).unwrap_or(rest.len());
    if sep == 0 {
        return Ok((Vec::new(), false));
    }
    let typ = &rest[..sep];
    let cmd = rest[sep..].trim_start();
    let (cmd_args, json) = maybe_json(cmd)?;
    let mut args = vec![typ.to_string()];
    args.extend(cmd_args);
    Ok((args, json))
}
