//! Printing the model as `docker compose config` does: JSON as Go's
//! `json.MarshalIndent` writes it (map keys sorted, HTML characters
//! escaped, struct fields in declaration order), YAML as go-yaml v3 writes
//! it (2-space indent, natural key order, quoting only what would not read
//! back as the same string).
//!
//! The model is serialized through serde into a small tree that keeps
//! structs (ordered fields) apart from maps (sorted keys); a thread-local
//! flag tells the model's serializers which of the two formats is written,
//! since Compose's JSON and YAML differ in places (`command: null` only in
//! JSON, `x-` extensions only in YAML, empty value-structs only in JSON).

use std::cell::Cell;
use std::collections::BTreeMap;

use serde::ser::{self, Serialize};
use serde_json::Value;

thread_local! {
    static YAML: Cell<bool> = const { Cell::new(false) };
}

/// Whether the value being serialized is for YAML output.
pub fn is_yaml() -> bool {
    YAML.with(Cell::get)
}

/// `x-*` keys of an object: printed inline in YAML, left out of JSON
/// (except at the top level, which Compose prints in both).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Extensions(pub BTreeMap<String, Value>);

impl Extensions {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The serialized tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    F32(f32),
    F64(f64),
    Str(String),
    Seq(Vec<Out>),
    /// A Go map: keys are sorted when printed.
    Map(Vec<(String, Out)>),
    /// A Go struct: fields in order.
    Struct(Vec<(String, Out)>),
}

/// Serializes `v` for JSON (`yaml == false`) or YAML output.
pub fn to_out<T: Serialize + ?Sized>(v: &T, yaml: bool) -> Out {
    let prev = YAML.with(|c| c.replace(yaml));
    let out = v.serialize(OutSer).unwrap_or(Out::Null);
    YAML.with(|c| c.set(prev));
    out
}

#[derive(Debug)]
pub struct SerError(String);

impl std::fmt::Display for SerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for SerError {}
impl ser::Error for SerError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        SerError(msg.to_string())
    }
}

struct OutSer;

pub struct SeqSer(Vec<Out>);
pub struct MapSer {
    entries: Vec<(String, Out)>,
    key: Option<String>,
}
pub struct StructSer {
    fields: Vec<(String, Out)>,
    inline: Vec<(String, Out)>,
}

fn key_string(o: Out) -> String {
    match o {
        Out::Str(s) => s,
        Out::Int(i) => i.to_string(),
        Out::Uint(u) => u.to_string(),
        Out::Bool(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}

impl ser::Serializer for OutSer {
    type Ok = Out;
    type Error = SerError;
    type SerializeSeq = SeqSer;
    type SerializeTuple = SeqSer;
    type SerializeTupleStruct = SeqSer;
    type SerializeTupleVariant = SeqSer;
    type SerializeMap = MapSer;
    type SerializeStruct = StructSer;
    type SerializeStructVariant = StructSer;

    fn serialize_bool(self, v: bool) -> Result<Out, SerError> {
        Ok(Out::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Out, SerError> {
        Ok(Out::Int(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Out, SerError> {
        Ok(Out::Int(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Out, SerError> {
        Ok(Out::Int(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Out, SerError> {
        Ok(Out::Int(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Out, SerError> {
        Ok(Out::Uint(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Out, SerError> {
        Ok(Out::Uint(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Out, SerError> {
        Ok(Out::Uint(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Out, SerError> {
        Ok(Out::Uint(v))
    }
    fn serialize_f32(self, v: f32) -> Result<Out, SerError> {
        Ok(Out::F32(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Out, SerError> {
        Ok(Out::F64(v))
    }
    fn serialize_char(self, v: char) -> Result<Out, SerError> {
        Ok(Out::Str(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Out, SerError> {
        Ok(Out::Str(v.to_string()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Out, SerError> {
        Ok(Out::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn serialize_none(self) -> Result<Out, SerError> {
        Ok(Out::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Out, SerError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Out, SerError> {
        Ok(Out::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Out, SerError> {
        Ok(Out::Null)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Out, SerError> {
        Ok(Out::Str(variant.to_string()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<Out, SerError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<Out, SerError> {
        Ok(Out::Map(vec![(variant.to_string(), v.serialize(OutSer)?)]))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqSer, SerError> {
        Ok(SeqSer(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqSer, SerError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<SeqSer, SerError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        len: usize,
    ) -> Result<SeqSer, SerError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<MapSer, SerError> {
        Ok(MapSer {
            entries: Vec::new(),
            key: None,
        })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<StructSer, SerError> {
        Ok(StructSer {
            fields: Vec::with_capacity(len),
            inline: Vec::new(),
        })
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        len: usize,
    ) -> Result<StructSer, SerError> {
        self.serialize_struct("", len)
    }
}

impl ser::SerializeSeq for SeqSer {
    type Ok = Out;
    type Error = SerError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerError> {
        self.0.push(v.serialize(OutSer)?);
        Ok(())
    }
    fn end(self) -> Result<Out, SerError> {
        Ok(Out::Seq(self.0))
    }
}

impl ser::SerializeTuple for SeqSer {
    type Ok = Out;
    type Error = SerError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerError> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<Out, SerError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for SeqSer {
    type Ok = Out;
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerError> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<Out, SerError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleVariant for SeqSer {
    type Ok = Out;
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerError> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<Out, SerError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeMap for MapSer {
    type Ok = Out;
    type Error = SerError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), SerError> {
        self.key = Some(key_string(k.serialize(OutSer)?));
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerError> {
        let k = self.key.take().unwrap_or_default();
        self.entries.push((k, v.serialize(OutSer)?));
        Ok(())
    }
    fn end(self) -> Result<Out, SerError> {
        Ok(Out::Map(self.entries))
    }
}

impl ser::SerializeStruct for StructSer {
    type Ok = Out;
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), SerError> {
        if key == "#extensions" {
            if is_yaml() {
                if let Out::Map(entries) = v.serialize(OutSer)? {
                    self.inline.extend(entries);
                }
            }
            return Ok(());
        }
        self.fields.push((key.to_string(), v.serialize(OutSer)?));
        Ok(())
    }
    fn end(mut self) -> Result<Out, SerError> {
        self.inline.sort_by(|a, b| yaml_key_cmp(&a.0, &b.0));
        self.fields.extend(self.inline);
        Ok(Out::Struct(self.fields))
    }
}

impl ser::SerializeStructVariant for StructSer {
    type Ok = Out;
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), SerError> {
        ser::SerializeStruct::serialize_field(self, key, v)
    }
    fn end(self) -> Result<Out, SerError> {
        ser::SerializeStruct::end(self)
    }
}

// ---------------------------------------------------------------- JSON

/// Go's `json.MarshalIndent(v, "", "  ")`.
pub fn to_json(o: &Out) -> String {
    let mut s = String::new();
    json_value(o, Some(0), &mut s);
    s
}

/// Go's `json.Marshal(v)`: no whitespace (what Compose hashes).
pub fn to_json_compact(o: &Out) -> String {
    let mut s = String::new();
    json_value(o, None, &mut s);
    s
}

/// `depth`: the indentation level, `None` for compact output.
fn json_value(o: &Out, depth: Option<usize>, s: &mut String) {
    let inner = depth.map(|d| d + 1);
    match o {
        Out::Null => s.push_str("null"),
        Out::Bool(b) => s.push_str(if *b { "true" } else { "false" }),
        Out::Int(i) => s.push_str(&i.to_string()),
        Out::Uint(u) => s.push_str(&u.to_string()),
        Out::F32(f) => s.push_str(&go_json_float(f64::from(*f), &f.to_string())),
        Out::F64(f) => s.push_str(&go_json_float(*f, &f.to_string())),
        Out::Str(t) => json_string(t, s),
        Out::Seq(items) => {
            if items.is_empty() {
                s.push_str("[]");
                return;
            }
            s.push('[');
            for (i, e) in items.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                newline(inner, s);
                json_value(e, inner, s);
            }
            newline(depth, s);
            s.push(']');
        }
        Out::Map(entries) | Out::Struct(entries) => {
            if entries.is_empty() {
                s.push_str("{}");
                return;
            }
            let mut refs: Vec<&(String, Out)> = entries.iter().collect();
            if matches!(o, Out::Map(_)) {
                refs.sort_by(|a, b| a.0.cmp(&b.0));
            }
            s.push('{');
            for (i, (k, v)) in refs.into_iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                newline(inner, s);
                json_string(k, s);
                s.push_str(if depth.is_some() { ": " } else { ":" });
                json_value(v, inner, s);
            }
            newline(depth, s);
            s.push('}');
        }
    }
}

fn newline(depth: Option<usize>, s: &mut String) {
    let Some(depth) = depth else {
        return;
    };
    s.push('\n');
    for _ in 0..depth {
        s.push_str("  ");
    }
}

/// Go's JSON string encoding, with its default HTML escaping.
fn json_string(t: &str, s: &mut String) {
    s.push('"');
    for c in t.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            '<' => s.push_str("\\u003c"),
            '>' => s.push_str("\\u003e"),
            '&' => s.push_str("\\u0026"),
            '\u{2028}' => s.push_str("\\u2028"),
            '\u{2029}' => s.push_str("\\u2029"),
            c if (c as u32) < 0x20 => s.push_str(&format!("\\u{:04x}", c as u32)),
            c => s.push(c),
        }
    }
    s.push('"');
}

/// Go's JSON float: shortest decimal, exponent form outside [1e-6, 1e21).
fn go_json_float(f: f64, shortest: &str) -> String {
    let a = f.abs();
    if a != 0.0 && !(1e-6..1e21).contains(&a) {
        let e = format!("{f:e}");
        let (m, x) = e.split_once('e').unwrap_or((&e, "0"));
        let x: i32 = x.parse().unwrap_or(0);
        return format!("{m}e{}{:02}", if x < 0 { '-' } else { '+' }, x.abs());
    }
    shortest.to_string()
}

/// How Go's `fmt` prints a JSON number (`%v` of an int or float64).
pub fn go_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    go_g_float(n.as_f64().unwrap_or_default(), 21)
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)` with the exponent threshold
/// `%v` uses (21) or `'g'` uses (6... via `threshold`).
fn go_g_float(f: f64, threshold: i32) -> String {
    if f == 0.0 {
        return "0".into();
    }
    let e = format!("{f:e}");
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= threshold {
        return format!("{mant}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    format!("{f}")
}

// ---------------------------------------------------------------- YAML

/// go-yaml v3's encoding with `SetIndent(2)`.
pub fn to_yaml(o: &Out) -> String {
    let mut s = String::new();
    match o {
        Out::Map(_) | Out::Struct(_) if !is_empty_collection(o) => yaml_block_map(o, 0, &mut s),
        Out::Seq(items) if !items.is_empty() => yaml_block_seq(items, 0, &mut s),
        other => {
            s.push_str(&yaml_inline(other, 0));
            s.push('\n');
        }
    }
    s
}

fn is_empty_collection(o: &Out) -> bool {
    match o {
        Out::Map(e) | Out::Struct(e) => e.is_empty(),
        Out::Seq(e) => e.is_empty(),
        _ => false,
    }
}

fn sorted_entries(o: &Out) -> Vec<&(String, Out)> {
    match o {
        Out::Map(e) => {
            let mut v: Vec<&(String, Out)> = e.iter().collect();
            v.sort_by(|a, b| yaml_key_cmp(&a.0, &b.0));
            v
        }
        Out::Struct(e) => e.iter().collect(),
        _ => Vec::new(),
    }
}

fn indent(n: usize, s: &mut String) {
    for _ in 0..n {
        s.push(' ');
    }
}

fn yaml_block_map(o: &Out, ind: usize, s: &mut String) {
    for (i, (k, v)) in sorted_entries(o).into_iter().enumerate() {
        if i > 0 {
            indent(ind, s);
        }
        s.push_str(&yaml_scalar_str(k, ind, true));
        s.push(':');
        yaml_after_key(v, ind, s);
    }
}

fn yaml_after_key(v: &Out, ind: usize, s: &mut String) {
    match v {
        Out::Map(_) | Out::Struct(_) if !is_empty_collection(v) => {
            s.push('\n');
            indent(ind + 2, s);
            yaml_block_map(v, ind + 2, s);
        }
        Out::Seq(items) if !items.is_empty() => {
            s.push('\n');
            indent(ind + 2, s);
            yaml_block_seq(items, ind + 2, s);
        }
        other => {
            s.push(' ');
            s.push_str(&yaml_inline(other, ind + 2));
            s.push('\n');
        }
    }
}

fn yaml_block_seq(items: &[Out], ind: usize, s: &mut String) {
    for (i, e) in items.iter().enumerate() {
        if i > 0 {
            indent(ind, s);
        }
        s.push_str("- ");
        match e {
            Out::Map(_) | Out::Struct(_) if !is_empty_collection(e) => {
                yaml_block_map(e, ind + 2, s)
            }
            Out::Seq(inner) if !inner.is_empty() => yaml_block_seq(inner, ind + 2, s),
            other => {
                s.push_str(&yaml_inline(other, ind + 2));
                s.push('\n');
            }
        }
    }
}

fn yaml_inline(o: &Out, ind: usize) -> String {
    match o {
        Out::Null => "null".into(),
        Out::Bool(b) => b.to_string(),
        Out::Int(i) => i.to_string(),
        Out::Uint(u) => u.to_string(),
        Out::F32(f) => yaml_float(f64::from(*f), Some(*f)),
        Out::F64(f) => yaml_float(*f, None),
        Out::Str(t) => yaml_scalar_str(t, ind, false),
        Out::Seq(_) => "[]".into(),
        Out::Map(_) | Out::Struct(_) => "{}".into(),
    }
}

fn yaml_float(f: f64, f32v: Option<f32>) -> String {
    if f.is_infinite() {
        return if f > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        };
    }
    if f.is_nan() {
        return ".nan".into();
    }
    let shortest = match f32v {
        Some(x) => format!("{x:e}"),
        None => format!("{f:e}"),
    };
    let (mant, exp) = shortest.split_once('e').unwrap_or((&shortest, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= 21.min(6.max(mant.replace(['.', '-'], "").len() as i32)) {
        return format!("{mant}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    match f32v {
        Some(x) => x.to_string(),
        None => f.to_string(),
    }
}

/// Whether go-yaml would read `s` back as something other than a string.
fn resolves_to_non_string(s: &str) -> bool {
    if matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "on"
            | "On"
            | "ON"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "off"
            | "Off"
            | "OFF"
    ) {
        return true;
    }
    if s == "<<" {
        return true;
    }
    !matches!(crate::yaml::resolve_plain(s), Value::String(_)) || is_base60_float(s)
}

fn is_base60_float(s: &str) -> bool {
    // go-yaml: ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$
    let b = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (head, frac) = b.split_once('.').unwrap_or((b, ""));
    let mut parts = head.split(':');
    let Some(first) = parts.next() else {
        return false;
    };
    if !first.starts_with(|c: char| c.is_ascii_digit())
        || !first.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return false;
    }
    let mut n = 0;
    for p in parts {
        n += 1;
        let ok = match p.len() {
            1 => p.as_bytes()[0].is_ascii_digit(),
            2 => (b'0'..=b'5').contains(&p.as_bytes()[0]) && p.as_bytes()[1].is_ascii_digit(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    n > 0 && frac.chars().all(|c| c.is_ascii_digit() || c == '_')
}

/// A string scalar in go-yaml's style: plain when it reads back the same,
/// literal block for multi-line text, else single or double quotes.
fn yaml_scalar_str(t: &str, ind: usize, is_key: bool) -> String {
    // libyaml's "printable": anything else forces double quotes.
    let special = t.chars().any(|c| {
        let u = c as u32;
        !(u == 0x0a
            || (0x20..=0x7e).contains(&u)
            || u == 0x85
            || (0xa0..=0xd7ff).contains(&u)
            || ((0xe000..=0xfffd).contains(&u) && u != 0xfeff)
            || u >= 0x10000)
    });
    if t.contains('\n') {
        if is_key || special || t.contains(" \n") {
            return double_quoted(t);
        }
        return literal_block(t, ind);
    }
    if resolves_to_non_string(t) || special {
        return double_quoted(t);
    }
    if plain_allowed(t) {
        return t.to_string();
    }
    format!("'{}'", t.replace('\'', "''"))
}

fn literal_block(t: &str, ind: usize) -> String {
    // A leading space or break needs an indentation indicator.
    let mut head = String::from("|");
    if t.starts_with(' ') || t.starts_with('\n') {
        head.push('2');
    }
    let body = t.strip_suffix('\n');
    match body {
        None => head.push('-'),
        Some(b) if b.ends_with('\n') || b.is_empty() => head.push('+'),
        Some(_) => {}
    }
    let content = t.strip_suffix('\n').unwrap_or(t);
    let mut s = head;
    for line in content.split('\n') {
        s.push('\n');
        if !line.is_empty() {
            for _ in 0..ind {
                s.push(' ');
            }
            s.push_str(line);
        }
    }
    if t.ends_with("\n\n") {
        s.push('\n');
    }
    s
}

fn double_quoted(t: &str) -> String {
    let mut s = String::from("\"");
    for c in t.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\t' => s.push_str("\\t"),
            '\r' => s.push_str("\\r"),
            '\0' => s.push_str("\\0"),
            '\u{7}' => s.push_str("\\a"),
            '\u{8}' => s.push_str("\\b"),
            '\u{b}' => s.push_str("\\v"),
            '\u{c}' => s.push_str("\\f"),
            '\u{1b}' => s.push_str("\\e"),
            '\u{feff}' => s.push_str("\\ufeff"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => s.push_str(&format!("\\x{:02X}", c as u32)),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// libyaml's analysis of whether a scalar may be written plain in block
/// context.
fn plain_allowed(t: &str) -> bool {
    if t.is_empty() {
        return false;
    }
    if t.starts_with("---") || t.starts_with("...") {
        return false;
    }
    let b: Vec<char> = t.chars().collect();
    if b[0] == ' ' || b[b.len() - 1] == ' ' || b[0] == '\t' || b[b.len() - 1] == '\t' {
        return false;
    }
    for (i, &c) in b.iter().enumerate() {
        let next_ws = b
            .get(i + 1)
            .is_none_or(|n| *n == ' ' || *n == '\t' || *n == '\n');
        let prev_ws = i > 0 && (b[i - 1] == ' ' || b[i - 1] == '\t');
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => return false,
                '?' | ':' | '-' if next_ws => return false,
                _ => {}
            }
        } else {
            match c {
                ':' if next_ws => return false,
                '#' if prev_ws => return false,
                _ => {}
            }
        }
    }
    true
}

/// go-yaml v3's map key order: letters and digits compared so that
/// `a9 < a10`, non-letters before letters.
pub fn yaml_key_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let mut digits = false;
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            digits = ar[i].is_ascii_digit();
            i += 1;
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
        if al && bl {
            return ar[i].cmp(&br[i]);
        }
        if al || bl {
            let a_less = if digits { al } else { bl };
            return if a_less {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        let mut an: i64 = 0;
        let mut bn: i64 = 0;
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && ar[j - 1].is_ascii_digit() {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_ascii_digit() {
            an = an.wrapping_mul(10).wrapping_add(ar[ai] as i64 - '0' as i64);
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_ascii_digit() {
            bn = bn.wrapping_mul(10).wrapping_add(br[bi] as i64 - '0' as i64);
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ar[i].cmp(&br[i]);
    }
    ar.len().cmp(&br.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_scalars() {
        assert_eq!(yaml_scalar_str("3000", 0, false), "\"3000\"");
        assert_eq!(yaml_scalar_str("yes", 0, false), "\"yes\"");
        assert_eq!(
            yaml_scalar_str("curl -f localhost", 0, false),
            "curl -f localhost"
        );
        assert_eq!(yaml_scalar_str("a: b", 0, false), "'a: b'");
        assert_eq!(yaml_scalar_str("*.txt", 0, false), "'*.txt'");
        assert_eq!(yaml_scalar_str("", 0, false), "\"\"");
        assert_eq!(yaml_scalar_str("a\nb", 4, false), "|-\n    a\n    b");
    }

    #[test]
    fn yaml_key_order() {
        let mut v = vec!["a10", "a9", "a_b", "ab", "B", "a"];
        v.sort_by(|a, b| yaml_key_cmp(a, b));
        assert_eq!(v, vec!["B", "a", "a_b", "a9", "a10", "ab"]);
    }

    #[test]
    fn json_escapes_html() {
        let mut s = String::new();
        json_string("a<b>&\"c\"", &mut s);
        assert_eq!(s, r#""a\u003cb\u003e\u0026\"c\"""#);
    }
}
