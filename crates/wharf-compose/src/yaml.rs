//! YAML text to the loader's dynamic tree (`serde_json::Value`), the way
//! Compose's go-yaml v3 decodes a file into `map[string]any`.
//!
//! saphyr-parser gives the events with line and column; this module adds
//! what Compose relies on above the parser: anchors and aliases, `<<` merge
//! keys (explicit keys win, then the first merged map), go-yaml's resolution
//! of plain scalars (`0x1F`, `0777`, `1_000`, `~`, `.inf`), duplicate keys
//! refused, non-string keys refused, and the `!reset` / `!override` tags
//! recorded as paths for the merge of several files.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};
use serde_json::{Map, Number, Value};

use crate::error::{ComposeError, Result};

/// One YAML document of a compose file.
#[derive(Debug, Clone)]
pub struct Document {
    pub value: Value,
    /// Paths tagged `!reset` or `!override` (`services.app.ports`): what an
    /// earlier file set there is dropped before this document is merged.
    pub resets: Vec<String>,
}

/// Parses every document of `src` (a file may hold several, `---`).
pub fn parse_documents(src: &str, file: &str) -> Result<Vec<Document>> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut b = Builder {
        parser: Parser::new_from_str(src),
        file,
        anchors: HashMap::new(),
        resets: Vec::new(),
    };
    let mut docs = Vec::new();
    loop {
        let (ev, span) = b.next()?;
        match ev {
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                b.resets.clear();
                let (ev, span) = b.next()?;
                if matches!(ev, Event::DocumentEnd) {
                    docs.push(Document {
                        value: Value::Null,
                        resets: Vec::new(),
                    });
                    continue;
                }
                let node = b.node(ev, span, "")?;
                let value = match node {
                    Node::Value(v) | Node::Override(v) => v,
                    Node::Reset => Value::Null,
                };
                docs.push(Document {
                    value,
                    resets: std::mem::take(&mut b.resets),
                });
            }
            _ => return Err(b.syntax(span, "unexpected event")),
        }
    }
    Ok(docs)
}

enum Node {
    Value(Value),
    /// Tagged `!reset`: the key disappears.
    Reset,
    /// Tagged `!override`: the value replaces instead of merging.
    Override(Value),
}

struct Builder<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    file: &'a str,
    anchors: HashMap<usize, Value>,
    resets: Vec<String>,
}

impl<'a> Builder<'a> {
    fn next(&mut self) -> Result<(Event<'a>, Span)> {
        match self.parser.next_event() {
            Some(Ok(e)) => Ok(e),
            Some(Err(e)) => Err(ComposeError::Yaml {
                file: self.file.to_string(),
                line: e.marker().line(),
                column: e.marker().col() + 1,
                message: e.info().to_string(),
            }),
            None => Err(ComposeError::Yaml {
                file: self.file.to_string(),
                line: 0,
                column: 0,
                message: "unexpected end of stream".into(),
            }),
        }
    }

    fn syntax(&self, span: Span, msg: &str) -> ComposeError {
        ComposeError::Yaml {
            file: self.file.to_string(),
            line: span.start.line(),
            column: span.start.col() + 1,
            message: msg.to_string(),
        }
    }

    fn node(&mut self, ev: Event<'a>, span: Span, path: &str) -> Result<Node> {
        let (value, anchor, tag) = match ev {
            Event::Alias(id) => match self.anchors.get(&id) {
                Some(v) => return Ok(Node::Value(v.clone())),
                None => return Err(self.syntax(span, "unknown anchor")),
            },
            Event::Scalar(text, style, anchor, tag) => {
                let v = scalar(&text, style, tag.as_deref());
                (v, anchor, tag.map(|t| t.into_owned()))
            }
            Event::SequenceStart(anchor, tag) => {
                let mut items = Vec::new();
                let mut i = 0;
                loop {
                    let (ev, span) = self.next()?;
                    if matches!(ev, Event::SequenceEnd) {
                        break;
                    }
                    let child = join(path, &i.to_string());
                    match self.node(ev, span, &child)? {
                        Node::Value(v) | Node::Override(v) => items.push(v),
                        Node::Reset => {}
                    }
                    i += 1;
                }
                (Value::Array(items), anchor, tag.map(|t| t.into_owned()))
            }
            Event::MappingStart(anchor, tag) => {
                let v = self.mapping(path)?;
                (v, anchor, tag.map(|t| t.into_owned()))
            }
            _ => return Err(self.syntax(span, "unexpected event")),
        };
        if anchor > 0 {
            self.anchors.insert(anchor, value.clone());
        }
        match tag {
            Some(t) if t.handle == "!" && t.suffix == "reset" => {
                self.resets.push(path.to_string());
                Ok(Node::Reset)
            }
            Some(t) if t.handle == "!" && t.suffix == "override" => {
                self.resets.push(path.to_string());
                Ok(Node::Override(value))
            }
            _ => Ok(Node::Value(value)),
        }
    }

    fn mapping(&mut self, path: &str) -> Result<Value> {
        let mut out = Map::new();
        let mut lines: HashMap<String, usize> = HashMap::new();
        let mut merges: Vec<Value> = Vec::new();
        loop {
            let (ev, span) = self.next()?;
            if matches!(ev, Event::MappingEnd) {
                break;
            }
            let key_line = span.start.line();
            let key = match ev {
                Event::Scalar(text, style, _, tag) => {
                    if style == ScalarStyle::Plain && text == "<<" && tag.is_none() {
                        let (ev, span) = self.next()?;
                        if let Node::Value(v) | Node::Override(v) = self.node(ev, span, path)? {
                            merges.push(v);
                        }
                        continue;
                    }
                    match scalar(&text, style, tag.as_deref()) {
                        Value::String(s) => s,
                        other => {
                            return Err(ComposeError::NonStringKey {
                                location: path.to_string(),
                                key: go_value_repr(&other),
                            })
                        }
                    }
                }
                Event::Alias(id) => match self.anchors.get(&id) {
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => {
                        return Err(ComposeError::NonStringKey {
                            location: path.to_string(),
                            key: go_value_repr(other),
                        })
                    }
                    None => return Err(self.syntax(span, "unknown anchor")),
                },
                _ => return Err(self.syntax(span, "mapping keys must be scalars")),
            };
            if let Some(first) = lines.get(&key) {
                return Err(ComposeError::DuplicateKey {
                    file: self.file.to_string(),
                    line: key_line,
                    key,
                    first: *first,
                });
            }
            lines.insert(key.clone(), key_line);
            let (ev, span) = self.next()?;
            match self.node(ev, span, &join(path, &key))? {
                Node::Value(v) | Node::Override(v) => {
                    out.insert(key, v);
                }
                Node::Reset => {}
            }
        }
        // `<<`: explicit keys win, then the first merged mapping that has the key.
        for m in merges {
            let sources = match m {
                Value::Array(items) => items,
                other => vec![other],
            };
            for src in sources {
                if let Value::Object(src) = src {
                    for (k, v) in src {
                        out.entry(k).or_insert(v);
                    }
                }
            }
        }
        Ok(Value::Object(out))
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// How Go's `%#v` prints a non-string key, for the error Compose gives.
fn go_value_repr(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        other => other.to_string(),
    }
}

/// A scalar as go-yaml v3 resolves it into `interface{}`.
fn scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Value {
    if let Some(t) = tag {
        if t.handle == "!!" || t.handle == "tag:yaml.org,2002:" {
            match t.suffix.as_str() {
                "str" => return Value::String(text.to_string()),
                "null" => return Value::Null,
                _ => return resolve_plain(text),
            }
        }
    }
    if style != ScalarStyle::Plain {
        return Value::String(text.to_string());
    }
    resolve_plain(text)
}

/// go-yaml v3's resolution of a plain scalar: null, bool, int (base
/// prefixes, leading-zero octal, `_` separators), float, else string.
pub fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
        | ".nan" | ".NaN" | ".NAN" => {
            // JSON has no infinities: keep the text (Compose's schema
            // would refuse such a value anywhere it matters).
            return Value::String(s.to_string());
        }
        _ => {}
    }
    let first = s.as_bytes()[0];
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return Value::String(s.to_string());
    }
    let plain = s.replace('_', "");
    if let Some(i) = go_parse_int(&plain) {
        return Value::Number(Number::from(i));
    }
    if let Some(u) = go_parse_uint(&plain) {
        return Value::Number(Number::from(u));
    }
    if is_yaml_float(&plain) {
        if let Ok(f) = plain.parse::<f64>() {
            if let Some(n) = Number::from_f64(f) {
                return Value::Number(n);
            }
        }
    }
    for (prefix, neg) in [("0b", false), ("-0b", true), ("0o", false), ("-0o", true)] {
        if let Some(rest) = plain.strip_prefix(prefix) {
            let radix = if prefix.ends_with('b') { 2 } else { 8 };
            if let Ok(v) = i64::from_str_radix(rest, radix) {
                return Value::Number(Number::from(if neg { -v } else { v }));
            }
        }
    }
    Value::String(s.to_string())
}

/// Go's `strconv.ParseInt(s, 0, 64)`: sign, then `0x`, `0o`, `0b` or a
/// leading `0` (octal) prefix.
fn go_parse_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = radix_digits(body)?;
    let mag = u64::from_str_radix(digits, radix).ok()?;
    if neg {
        if mag <= i64::MAX as u64 + 1 {
            Some((mag as i128).wrapping_neg() as i64)
        } else {
            None
        }
    } else {
        i64::try_from(mag).ok()
    }
}

fn go_parse_uint(s: &str) -> Option<u64> {
    let (radix, digits) = radix_digits(s)?;
    u64::from_str_radix(digits, radix).ok()
}

fn radix_digits(body: &str) -> Option<(u32, &str)> {
    if body.is_empty() {
        return None;
    }
    let lower = body.get(..2).map(|p| p.to_ascii_lowercase());
    let (radix, digits) = match lower.as_deref() {
        Some("0x") => (16, &body[2..]),
        Some("0o") => (8, &body[2..]),
        Some("0b") => (2, &body[2..]),
        _ if body.len() > 1 && body.starts_with('0') => (8, &body[1..]),
        _ => (10, body),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some((radix, digits))
}

/// go-yaml's `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(src: &str) -> Value {
        parse_documents(src, "t.yaml").unwrap().remove(0).value
    }

    #[test]
    fn scalars_resolve_like_go_yaml() {
        let v =
            one("a: 0x1F\nb: 0777\nc: 1_000\nd: ~\ne: '12'\nf: 1.5\ng: yes\nh: 1e3\ni: -0b11\n");
        assert_eq!(
            v,
            json!({"a": 31, "b": 511, "c": 1000, "d": null, "e": "12", "f": 1.5, "g": "yes", "h": 1000.0, "i": -3})
        );
    }

    #[test]
    fn anchors_and_merge_keys() {
        let v = one("x: &b {p: 1, q: 2}\ny: &c {q: 3, r: 4}\nz:\n  <<: [*b, *c]\n  p: 9\n");
        assert_eq!(v["z"], json!({"p": 9, "q": 2, "r": 4}));
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let e = parse_documents("a: 1\nb: 2\na: 3\n", "t.yaml").unwrap_err();
        assert_eq!(
            e.to_string(),
            "failed to parse t.yaml: line 3: mapping key \"a\" already defined at line 1"
        );
    }

    #[test]
    fn reset_and_override_tags_are_recorded() {
        let d = parse_documents(
            "services:\n  a:\n    ports: !reset []\n    env: !override {A: 1}\n",
            "t",
        )
        .unwrap();
        assert_eq!(d[0].resets, vec!["services.a.ports", "services.a.env"]);
        assert_eq!(d[0].value, json!({"services": {"a": {"env": {"A": 1}}}}));
    }
}
