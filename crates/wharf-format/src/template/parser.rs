//! The template parser, a port of Go's `text/template/parse/parse.go`.
//!
//! Error messages follow Go's (`template: :LINE: MESSAGE`); the template
//! name is always empty, as for docker's `--format` templates.

use serde_json::Value;

use super::ast::{Arg, Branch, Command, Node, Pipe};
use super::funcs;
use super::lexer::{lex, Kind, Token};
use crate::gofmt::quote;
use crate::FormatError;

type PResult<T> = Result<T, FormatError>;

/// What `textOrAction` found: a node, or the `{{end}}`/`{{else}}` that
/// terminates the enclosing list.
enum Item {
    Node(Node),
    End,
    Else,
}

struct Parser {
    tokens: Vec<Token>,
    /// Index of the next token.
    i: usize,
    /// Furthest token looked at; its line is the one errors report, as Go
    /// reports the line of its most recently lexed token.
    furthest: usize,
    /// Variables in scope (Go starts with `$`).
    vars: Vec<String>,
    range_depth: usize,
    /// Line of the `{{` starting the current action (0 outside actions).
    action_line: usize,
}

/// Parses a template into its list of top-level nodes.
pub(crate) fn parse(src: &str) -> PResult<Vec<Node>> {
    let mut p = Parser {
        tokens: lex(src),
        i: 0,
        furthest: 0,
        vars: vec!["$".into()],
        range_depth: 0,
        action_line: 0,
    };
    p.parse()
}

impl Parser {
    fn token(&mut self, i: usize) -> Token {
        let i = i.min(self.tokens.len() - 1);
        self.furthest = self.furthest.max(i);
        self.tokens[i].clone()
    }

    fn next(&mut self) -> Token {
        let t = self.token(self.i);
        self.i += 1;
        t
    }

    fn backup(&mut self) {
        self.i -= 1;
    }

    fn peek(&mut self) -> Token {
        self.token(self.i)
    }

    fn next_non_space(&mut self) -> Token {
        loop {
            let t = self.next();
            if t.kind != Kind::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Token {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn errorf(&self, msg: impl std::fmt::Display) -> FormatError {
        let line = self.tokens[self.furthest.min(self.tokens.len() - 1)].line;
        FormatError::Parse(format!("template: :{line}: {msg}"))
    }

    fn unexpected(&self, token: &Token, context: &str) -> FormatError {
        if token.kind == Kind::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != token.line {
                extra = format!(" in action started at :{}", self.action_line);
                if token.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.errorf(format_args!("{token}{extra}"));
        }
        self.errorf(format_args!("unexpected {token} in {context}"))
    }

    fn expect(&mut self, kind: Kind, context: &str) -> PResult<Token> {
        let t = self.next_non_space();
        if t.kind != kind {
            return Err(self.unexpected(&t, context));
        }
        Ok(t)
    }

    fn parse(&mut self) -> PResult<Vec<Node>> {
        let mut root = Vec::new();
        while self.peek().kind != Kind::Eof {
            if self.peek().kind == Kind::LeftDelim {
                let at = self.i;
                self.next();
                let t = self.next_non_space();
                if t.kind == Kind::Define {
                    return Err(self.errorf("{{define}} is not supported"));
                }
                self.i = at;
            }
            match self.text_or_action()? {
                Item::Node(n) => root.push(n),
                Item::End => return Err(self.errorf("unexpected {{end}}")),
                Item::Else => return Err(self.errorf("unexpected {{else}}")),
            }
        }
        Ok(root)
    }

    /// Nodes up to the `{{end}}` or `{{else}}` that terminates the list.
    fn item_list(&mut self) -> PResult<(Vec<Node>, Item)> {
        let mut list = Vec::new();
        while self.peek_non_space().kind != Kind::Eof {
            match self.text_or_action()? {
                Item::Node(n) => list.push(n),
                end => return Ok((list, end)),
            }
        }
        Err(self.errorf("unexpected EOF"))
    }

    fn text_or_action(&mut self) -> PResult<Item> {
        let t = self.next_non_space();
        match t.kind {
            Kind::Text => Ok(Item::Node(Node::Text(t.val))),
            Kind::LeftDelim => {
                self.action_line = t.line;
                let r = self.action();
                self.action_line = 0;
                r
            }
            _ => Err(self.unexpected(&t, "input")),
        }
    }

    fn action(&mut self) -> PResult<Item> {
        let t = self.next_non_space();
        match t.kind {
            Kind::Block | Kind::Template | Kind::Define => {
                Err(self.errorf(format_args!("{{{{{}}}}} is not supported", t.val)))
            }
            Kind::Break | Kind::Continue => {
                let next = self.next_non_space();
                if next.kind != Kind::RightDelim {
                    return Err(self.unexpected(&next, &format!("{{{{{}}}}}", t.val)));
                }
                if self.range_depth == 0 {
                    return Err(
                        self.errorf(format_args!("{{{{{}}}}} outside {{{{range}}}}", t.val))
                    );
                }
                Ok(Item::Node(if t.kind == Kind::Break {
                    Node::Break
                } else {
                    Node::Continue
                }))
            }
            Kind::Else => {
                // "{{else if ...}}" and "{{else with ...}}" leave the keyword
                // pending; the enclosing control handles it.
                let peek = self.peek_non_space();
                if !matches!(peek.kind, Kind::If | Kind::With) {
                    self.expect(Kind::RightDelim, "else")?;
                }
                Ok(Item::Else)
            }
            Kind::End => {
                self.expect(Kind::RightDelim, "end")?;
                Ok(Item::End)
            }
            Kind::If => Ok(Item::Node(Node::If(self.parse_control("if")?))),
            Kind::Range => Ok(Item::Node(Node::Range(self.parse_control("range")?))),
            Kind::With => Ok(Item::Node(Node::With(self.parse_control("with")?))),
            _ => {
                self.backup();
                // Variables declared here persist until the enclosing "end".
                Ok(Item::Node(Node::Action(
                    self.pipeline("command", Kind::RightDelim)?,
                )))
            }
        }
    }

    fn parse_control(&mut self, context: &str) -> PResult<Branch> {
        let mark = self.vars.len();
        let pipe = self.pipeline(context, Kind::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let (list, next) = self.item_list()?;
        if context == "range" {
            self.range_depth -= 1;
        }
        let else_list = match next {
            Item::Else => {
                let peek = self.peek().kind;
                if context == "if" && peek == Kind::If {
                    self.next();
                    Some(vec![Node::If(self.parse_control("if")?)])
                } else if context == "with" && peek == Kind::With {
                    self.next();
                    Some(vec![Node::With(self.parse_control("with")?)])
                } else {
                    let (else_list, next) = self.item_list()?;
                    if !matches!(next, Item::End) {
                        return Err(self.errorf("expected end; found {{else}}"));
                    }
                    Some(else_list)
                }
            }
            _ => None,
        };
        self.vars.truncate(mark);
        Ok(Branch {
            pipe,
            list,
            else_list,
        })
    }

    fn pipeline(&mut self, context: &str, end: Kind) -> PResult<Pipe> {
        let start = self.peek_non_space();
        let mut pipe = Pipe {
            pos: start.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        // Declarations or assignments?
        loop {
            let v = self.peek_non_space();
            if v.kind != Kind::Variable {
                break;
            }
            let at = self.i;
            self.next();
            let next = self.peek_non_space();
            match next.kind {
                Kind::Assign | Kind::Declare => {
                    pipe.is_assign = next.kind == Kind::Assign;
                    self.next_non_space();
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val);
                }
                Kind::Char if next.val == "," => {
                    self.next_non_space();
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val);
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().kind {
                            Kind::Variable | Kind::RightDelim | Kind::RightParen => continue,
                            _ => return Err(self.errorf("range can only initialize variables")),
                        }
                    }
                    return Err(self.errorf(format_args!("too many declarations in {context}")));
                }
                _ => self.i = at,
            }
            break;
        }
        loop {
            let t = self.next_non_space();
            if t.kind == end {
                self.check_pipeline(&pipe, context)?;
                return Ok(pipe);
            }
            match t.kind {
                Kind::Bool
                | Kind::CharConstant
                | Kind::Complex
                | Kind::Dot
                | Kind::Field
                | Kind::Identifier
                | Kind::Number
                | Kind::Nil
                | Kind::RawString
                | Kind::String
                | Kind::Variable
                | Kind::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return Err(self.unexpected(&t, context)),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return Err(self.errorf(format_args!("missing value for {context}")));
        }
        // Only the first command of a pipeline can start with a non
        // executable operand.
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args[0],
                Arg::Bool(..) | Arg::Dot(_) | Arg::Nil(_) | Arg::Number { .. } | Arg::String { .. }
            ) {
                return Err(self.errorf(format_args!(
                    "non executable command in pipeline stage {}",
                    i + 1
                )));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mut args = Vec::new();
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                args.push(op);
            }
            let t = self.next();
            match t.kind {
                Kind::Space => continue,
                Kind::RightDelim | Kind::RightParen => self.backup(),
                Kind::Pipe => {}
                _ => return Err(self.unexpected(&t, "operand")),
            }
            break;
        }
        if args.is_empty() {
            return Err(self.errorf("empty command"));
        }
        Ok(Command { pos, args })
    }

    /// A term possibly followed by field accesses.
    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().kind != Kind::Field {
            return Ok(Some(node));
        }
        let pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().kind == Kind::Field {
            fields.push(self.next().val[1..].to_string());
        }
        Ok(Some(match node {
            Arg::Field { mut idents, .. } => {
                idents.extend(fields);
                Arg::Field { pos, idents }
            }
            Arg::Variable { mut idents, .. } => {
                idents.extend(fields);
                Arg::Variable { pos, idents }
            }
            Arg::Bool(..) | Arg::String { .. } | Arg::Number { .. } | Arg::Nil(_) | Arg::Dot(_) => {
                return Err(self.errorf(format_args!(
                    "unexpected . after term {}",
                    quote(&node.to_string())
                )));
            }
            node => Arg::Chain {
                pos,
                node: Box::new(node),
                fields,
            },
        }))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let t = self.next_non_space();
        let pos = t.pos;
        Ok(Some(match t.kind {
            Kind::Identifier => {
                if !funcs::exists(&t.val) {
                    return Err(self.errorf(format_args!("function {} not defined", quote(&t.val))));
                }
                Arg::Identifier { pos, name: t.val }
            }
            Kind::Dot => Arg::Dot(pos),
            Kind::Nil => Arg::Nil(pos),
            Kind::Variable => {
                if !self.vars.contains(&t.val) {
                    return Err(self.errorf(format_args!("undefined variable {}", quote(&t.val))));
                }
                Arg::Variable {
                    pos,
                    idents: vec![t.val],
                }
            }
            Kind::Field => Arg::Field {
                pos,
                idents: vec![t.val[1..].to_string()],
            },
            Kind::Bool => Arg::Bool(pos, t.val == "true"),
            Kind::CharConstant | Kind::Complex | Kind::Number => {
                let value = number(&t).map_err(|e| self.errorf(e))?;
                Arg::Number {
                    pos,
                    text: t.val,
                    value,
                }
            }
            Kind::LeftParen => Arg::Pipe(Box::new(
                self.pipeline("parenthesized pipeline", Kind::RightParen)?,
            )),
            Kind::String | Kind::RawString => {
                let value = unquote(&t.val).map_err(|e| self.errorf(e))?;
                Arg::String {
                    pos,
                    quoted: t.val,
                    value,
                }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

// ---------------------------------------------------------------------------
// Literals
// ---------------------------------------------------------------------------

/// The value of a number or character constant, typed like Go's
/// `idealConstant`: an `int` unless the text looks like a float.
fn number(t: &Token) -> Result<Value, String> {
    let text = t.val.as_str();
    match t.kind {
        Kind::CharConstant => {
            let inner = &text[1..];
            let (c, tail) = unquote_char(inner, '\'').map_err(|_| "invalid syntax".to_string())?;
            if tail != "'" {
                return Err(format!("malformed character constant: {text}"));
            }
            return Ok(Value::from(c as i64));
        }
        Kind::Complex => return Err(format!("complex constants are not supported: {text}")),
        _ => {}
    }
    if text.ends_with('i') {
        return Err(format!("imaginary constants are not supported: {text}"));
    }
    let unsigned = text.trim_start_matches(['+', '-']);
    let is_hex = unsigned.starts_with("0x") || unsigned.starts_with("0X");
    let floaty = if is_hex {
        text.contains(['.', 'p', 'P'])
    } else {
        text.contains(['.', 'e', 'E', 'p', 'P'])
    };
    if !floaty {
        if let Some(i) = parse_go_int(text) {
            if let Ok(i) = i64::try_from(i) {
                return Ok(Value::from(i));
            }
            if let Ok(u) = u64::try_from(i) {
                return Ok(Value::from(u));
            }
            return Err(format!("integer overflow: {text}"));
        }
    } else if !is_hex && valid_underscores(text) {
        if let Ok(f) = text.replace('_', "").parse::<f64>() {
            if let Some(n) = serde_json::Number::from_f64(f) {
                return Ok(Value::Number(n));
            }
        }
    }
    Err(format!("illegal number syntax: {}", quote(text)))
}

/// Underscores may only separate digits (Go's `underscoreOK`, simplified).
fn valid_underscores(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().all(|(i, &c)| {
        c != b'_'
            || (i > 0
                && i + 1 < b.len()
                && b[i - 1].is_ascii_alphanumeric()
                && b[i + 1].is_ascii_alphanumeric())
    })
}

/// Go's `strconv.ParseInt(text, 0, 64)` syntax (without the range check).
fn parse_go_int(text: &str) -> Option<i128> {
    let (neg, s) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = s.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d, true)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d, true)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d, true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..], true)
    } else {
        (10, lower.as_str(), false)
    };
    let digits = digits
        .strip_prefix('_')
        .filter(|_| prefixed)
        .unwrap_or(digits);
    if digits.is_empty() || !valid_underscores(digits) {
        return None;
    }
    let v = i128::from_str_radix(&digits.replace('_', ""), radix).ok()?;
    Some(if neg { -v } else { v })
}

/// Go's `strconv.UnquoteChar`: the first (possibly escaped) character of
/// `s` and the rest. Byte escapes (`\xff`, `\377`) above 0x7f yield the
/// corresponding Latin-1 character, since Rust strings must be UTF-8.
fn unquote_char(s: &str, quote: char) -> Result<(char, &str), ()> {
    let mut chars = s.chars();
    let c = chars.next().ok_or(())?;
    if c == quote && (quote == '\'' || quote == '"') {
        return Err(());
    }
    if c != '\\' {
        return Ok((c, chars.as_str()));
    }
    let e = chars.next().ok_or(())?;
    let rest = chars.as_str();
    let simple = match e {
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        'f' => Some('\u{c}'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\u{b}'),
        '\\' => Some('\\'),
        '\'' | '"' if e == quote => Some(e),
        _ => None,
    };
    if let Some(c) = simple {
        return Ok((c, rest));
    }
    let hex = |n: usize| -> Result<(u32, &str), ()> {
        let digits = rest.get(..n).ok_or(())?;
        let v = u32::from_str_radix(digits, 16).map_err(|_| ())?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(());
        }
        Ok((v, &rest[n..]))
    };
    match e {
        'x' => {
            let (v, tail) = hex(2)?;
            Ok((char::from_u32(v).ok_or(())?, tail))
        }
        'u' | 'U' => {
            let (v, tail) = hex(if e == 'u' { 4 } else { 8 })?;
            Ok((char::from_u32(v).ok_or(())?, tail))
        }
        '0'..='7' => {
            let digits = s.get(1..4).ok_or(())?;
            if !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
                return Err(());
            }
            let v = u32::from_str_radix(digits, 8).map_err(|_| ())?;
            if v > 255 {
                return Err(());
            }
            Ok((char::from_u32(v).ok_or(())?, &s[4..]))
        }
        _ => Err(()),
    }
}

/// Go's `strconv.Unquote` for `"..."` and `` `...` `` literals.
fn unquote(text: &str) -> Result<String, String> {
    let syntax = || "invalid syntax".to_string();
    if let Some(raw) = text.strip_prefix('`') {
        let raw = raw.strip_suffix('`').ok_or_else(syntax)?;
        return Ok(raw.replace('\r', ""));
    }
    let mut s = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .ok_or_else(syntax)?;
    let mut out = String::with_capacity(s.len());
    while !s.is_empty() {
        let (c, rest) = unquote_char(s, '"').map_err(|_| syntax())?;
        out.push(c);
        s = rest;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str) -> String {
        parse(src).unwrap_err().to_string()
    }

    #[test]
    fn go_parse_errors() {
        assert_eq!(err("{{.Foo}"), r#"template: :1: unexpected "}" in operand"#);
        assert_eq!(
            err("{{foo .A}}"),
            r#"template: :1: function "foo" not defined"#
        );
        assert_eq!(err("{{if .A}}x"), "template: :1: unexpected EOF");
        assert_eq!(err("x{{end}}"), "template: :1: unexpected {{end}}");
        assert_eq!(err("{{else}}"), "template: :1: unexpected {{else}}");
        assert_eq!(err("{{}}"), "template: :1: missing value for command");
        assert_eq!(err("{{if}}{{end}}"), "template: :1: missing value for if");
        assert_eq!(err("{{$x}}"), r#"template: :1: undefined variable "$x""#);
        assert_eq!(err("{{.A"), "template: :1: unclosed action");
        assert_eq!(
            err("a\n{{.A\n"),
            "template: :3: unclosed action started at :2"
        );
        assert_eq!(
            err(r#"{{.A | "x"}}"#),
            "template: :1: non executable command in pipeline stage 2"
        );
        assert_eq!(
            err("{{break}}"),
            "template: :1: {{break}} outside {{range}}"
        );
        assert_eq!(
            err("{{range $a, $b, $c := .}}{{end}}"),
            "template: :1: too many declarations in range"
        );
        assert_eq!(
            err("{{if .A}}{{else}}{{else}}{{end}}"),
            "template: :1: expected end; found {{else}}"
        );
        assert_eq!(
            err(r#"{{"a".B}}"#),
            r#"template: :1: unexpected . after term "\"a\"""#
        );
        assert_eq!(err(r#"{{"\q"}}"#), "template: :1: invalid syntax");
        assert_eq!(
            err("{{1.2.3}}"),
            r#"template: :1: unexpected ".3" in operand"#
        );
        assert_eq!(
            err("{{0x}}"),
            r#"template: :1: illegal number syntax: "0x""#
        );
        assert_eq!(
            err("{{template \"x\"}}"),
            "template: :1: {{template}} is not supported"
        );
        assert_eq!(
            err("{{.A}}\n{{.B }\n"),
            r#"template: :2: unexpected "}" in operand"#
        );
    }

    #[test]
    fn variables_scope_ends_with_control() {
        assert!(parse("{{with $x := .A}}{{$x}}{{end}}").is_ok());
        assert_eq!(
            err("{{with $x := .A}}{{end}}{{$x}}"),
            r#"template: :1: undefined variable "$x""#
        );
        assert!(parse("{{$x := 1}}{{if .}}{{$x = 2}}{{end}}{{$x}}").is_ok());
    }

    #[test]
    fn literals() {
        let n = |s: &str| {
            number(&Token {
                kind: if s.starts_with('\'') {
                    Kind::CharConstant
                } else {
                    Kind::Number
                },
                pos: 0,
                val: s.into(),
                line: 1,
            })
        };
        assert_eq!(n("42"), Ok(Value::from(42)));
        assert_eq!(n("-7"), Ok(Value::from(-7)));
        assert_eq!(n("0x1F"), Ok(Value::from(31)));
        assert_eq!(n("010"), Ok(Value::from(8)));
        assert_eq!(n("1_000"), Ok(Value::from(1000)));
        assert_eq!(n("1.5"), Ok(Value::from(1.5)));
        assert_eq!(n("1e3"), Ok(Value::from(1000.0)));
        assert_eq!(n("'a'"), Ok(Value::from(97)));
        assert_eq!(n(r"'\n'"), Ok(Value::from(10)));
        assert_eq!(unquote(r#""a\tb\u00e9\x41\101\"""#), Ok("a\tbéAA\"".into()));
        assert_eq!(unquote("`a\\tb`"), Ok("a\\tb".into()));
        assert!(unquote(r#""\'""#).is_err());
    }
}
