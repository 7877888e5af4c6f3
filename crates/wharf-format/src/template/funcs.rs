//! Template functions: Go's builtins plus docker's (`json`, `split`, `join`,
//! `title`, `lower`, `upper`, `pad`, `truncate`).
//!
//! `and` and `or` short-circuit, so the executor evaluates them itself; the
//! rest receive evaluated arguments. In table-header mode docker swaps in
//! identity versions of `json split join title lower upper truncate` so
//! that column titles come out unchanged; [`call`] does the same.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::{Number, Value};

use super::value::Val;
use crate::gofmt::{self, sprint, sprint_value, type_name};
use crate::gojson;

/// Arity of each function: (name, minimum, maximum) argument count.
const FUNCS: &[(&str, usize, Option<usize>)] = &[
    ("and", 1, None),
    ("or", 1, None),
    ("not", 1, Some(1)),
    ("len", 1, Some(1)),
    ("index", 1, None),
    ("slice", 1, None),
    ("print", 0, None),
    ("printf", 1, None),
    ("println", 0, None),
    ("html", 0, None),
    ("js", 0, None),
    ("urlquery", 0, None),
    ("eq", 1, None),
    ("ne", 2, Some(2)),
    ("lt", 2, Some(2)),
    ("le", 2, Some(2)),
    ("gt", 2, Some(2)),
    ("ge", 2, Some(2)),
    ("json", 1, Some(1)),
    ("split", 2, Some(2)),
    ("join", 2, Some(2)),
    ("title", 1, Some(1)),
    ("lower", 1, Some(1)),
    ("upper", 1, Some(1)),
    ("pad", 3, Some(3)),
    ("truncate", 2, Some(2)),
];

/// Whether a function of that name exists (checked at parse time).
pub(crate) fn exists(name: &str) -> bool {
    FUNCS.iter().any(|(n, ..)| *n == name)
}

/// Go's "wrong number of args" message if `n` arguments do not fit.
pub(crate) fn check_arity(name: &str, n: usize) -> Result<(), String> {
    let Some(&(_, min, max)) = FUNCS.iter().find(|(f, ..)| *f == name) else {
        return Err(format!("{} is not a defined function", gofmt::quote(name)));
    };
    match max {
        Some(max) if n != max => Err(format!(
            "wrong number of args for {name}: want {max} got {n}"
        )),
        None if n < min => Err(format!(
            "wrong number of args for {name}: want at least {min} got {n}"
        )),
        _ => Ok(()),
    }
}

/// Why a function failed.
#[derive(Debug)]
pub(crate) enum FuncError {
    /// An argument of the wrong type (reported as is).
    Type(String),
    /// The function itself failed (reported as `error calling NAME: ...`).
    Call(String),
}

type FResult<'a> = Result<Val<'a>, FuncError>;

fn call_err<T>(msg: impl Into<String>) -> Result<T, FuncError> {
    Err(FuncError::Call(msg.into()))
}

/// The most text a function may make (a string, or the parts of `split`).
/// Go has no bound, but `--format` must not be a way to exhaust memory:
/// `$s = printf "%s%s" $s $s` in a range doubles without end. Values from
/// the data are not copied and not counted.
pub(crate) const MAX_VALUE_BYTES: usize = 16 << 20;

/// What one array element costs beyond its text (a JSON value and a
/// string header), so that `split` of a long string into one-character
/// parts is counted at its real size.
const ELEMENT_COST: usize = 48;

fn too_large<T>() -> Result<T, FuncError> {
    call_err(format!(
        "result too large (over {} MiB)",
        MAX_VALUE_BYTES >> 20
    ))
}

/// A text result, refused when the formatter stopped at the bound.
fn bounded(text: Option<String>) -> Result<String, FuncError> {
    text.map_or_else(too_large, Ok)
}

/// Calls function `name` (not `and`/`or`) with evaluated arguments whose
/// count has been checked. A string it makes is at most
/// [`MAX_VALUE_BYTES`] long.
pub(crate) fn call<'a>(name: &str, args: Vec<Val<'a>>, header: bool) -> FResult<'a> {
    let v = call_unbounded(name, args, header)?;
    match &v {
        Val::V(Cow::Owned(Value::String(s))) if s.len() > MAX_VALUE_BYTES => too_large(),
        _ => Ok(v),
    }
}

/// [`call`] without the final length check: functions whose result can be
/// far longer than their input check as they go, the rest are at most a
/// few times their (bounded) input.
fn call_unbounded<'a>(name: &str, mut args: Vec<Val<'a>>, header: bool) -> FResult<'a> {
    if header
        && matches!(
            name,
            "json" | "split" | "join" | "title" | "lower" | "upper" | "truncate"
        )
    {
        return Ok(args.swap_remove(0));
    }
    let values = |args: Vec<Val<'a>>| args.into_iter().map(Val::into_value).collect::<Vec<_>>();
    Ok(match name {
        "not" => Val::owned(!args[0].truth()),
        "len" => Val::owned(length(&args[0])?),
        "index" => index(args)?,
        "slice" => slice(args)?,
        "print" => Val::owned(bounded(sprint(&values(args), MAX_VALUE_BYTES))?),
        "println" => Val::owned(bounded(gofmt::sprintln(&values(args), MAX_VALUE_BYTES))?),
        "printf" => {
            let format = want_string(&args[0])?.to_string();
            let text = gofmt::sprintf(&format, &values(args.split_off(1)), MAX_VALUE_BYTES);
            Val::owned(bounded(text)?)
        }
        "html" => Val::owned(html_escape(&eval_args(args)?)),
        "js" => Val::owned(js_escape(&eval_args(args)?)),
        "urlquery" => Val::owned(query_escape(&eval_args(args)?)),
        "eq" => Val::owned(eq(&args[0], &args[1..])?),
        "ne" => Val::owned(!eq(&args[0], &args[1..])?),
        "lt" => Val::owned(lt(&args[0], &args[1])?),
        "le" => Val::owned(lt(&args[0], &args[1])? || eq(&args[0], &args[1..])?),
        "gt" => Val::owned(!(lt(&args[0], &args[1])? || eq(&args[0], &args[1..])?)),
        "ge" => Val::owned(!lt(&args[0], &args[1])?),
        "json" => Val::owned(gojson::to_string(args[0].get().unwrap_or(&Value::Null))),
        "split" => {
            let (s, sep) = (want_string(&args[0])?, want_string(&args[1])?);
            let count = if sep.is_empty() {
                s.chars().count()
            } else {
                s.matches(sep).count() + 1
            };
            if s.len().saturating_add(count.saturating_mul(ELEMENT_COST)) > MAX_VALUE_BYTES {
                return too_large();
            }
            let parts: Vec<Value> = if sep.is_empty() {
                s.chars().map(|c| Value::from(c.to_string())).collect()
            } else {
                s.split(sep).map(Value::from).collect()
            };
            Val::owned(parts)
        }
        "join" => {
            let sep = want_string(&args[1])?;
            Val::owned(join(&args[0], sep)?)
        }
        "title" => Val::owned(title(want_string(&args[0])?)),
        "lower" => Val::owned(lower(want_string(&args[0])?)),
        "upper" => Val::owned(upper(want_string(&args[0])?)),
        "pad" => {
            let s = want_string(&args[0])?;
            let (prefix, suffix) = (want_int(&args[1])?, want_int(&args[2])?);
            let spaces = |n: i64| usize::try_from(n).unwrap_or(0);
            if s.is_empty() {
                Val::owned("")
            } else if s
                .len()
                .saturating_add(spaces(prefix))
                .saturating_add(spaces(suffix))
                > MAX_VALUE_BYTES
            {
                return too_large();
            } else {
                let spaces = |n: i64| " ".repeat(spaces(n));
                Val::owned(format!("{}{s}{}", spaces(prefix), spaces(suffix)))
            }
        }
        "truncate" => {
            let s = want_string(&args[0])?;
            let n = want_int(&args[1])?;
            if n < 0 {
                return call_err(format!("runtime error: slice bounds out of range [:{n}]"));
            }
            let n = n as usize;
            if s.len() < n {
                Val::owned(s)
            } else {
                // Go cuts bytes; stay on a character boundary.
                let mut end = n;
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                Val::owned(&s[..end])
            }
        }
        other => return call_err(format!("{} is not a defined function", gofmt::quote(other))),
    })
}

// ---------------------------------------------------------------------------
// Argument conversion
// ---------------------------------------------------------------------------

fn want_string<'v>(v: &'v Val<'_>) -> Result<&'v str, FuncError> {
    match v.get() {
        None | Some(Value::Null) => Err(FuncError::Type("invalid value; expected string".into())),
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(FuncError::Type(format!(
            "wrong type for value; expected string; got {}",
            type_name(other)
        ))),
    }
}

/// An integer argument. Integral floats are accepted (they stand for Go
/// `int64` fields that went through JSON).
fn as_int(v: &Value) -> Option<i64> {
    let n = v.as_number()?;
    n.as_i64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
            .map(|f| f as i64)
    })
}

fn want_int(v: &Val<'_>) -> Result<i64, FuncError> {
    match v.get() {
        None | Some(Value::Null) => Err(FuncError::Type("invalid value; expected int".into())),
        Some(x) => as_int(x).ok_or_else(|| {
            FuncError::Type(format!(
                "wrong type for value; expected int; got {}",
                type_name(x)
            ))
        }),
    }
}

/// Go's `evalArgs` for html/js/urlquery: a lone string as is, else `Sprint`.
fn eval_args(args: Vec<Val<'_>>) -> Result<String, FuncError> {
    if let [Val::V(v)] = args.as_slice() {
        if let Value::String(s) = v.as_ref() {
            return Ok(s.clone());
        }
    }
    let values = args.into_iter().map(Val::into_value).collect::<Vec<_>>();
    bounded(sprint(&values, MAX_VALUE_BYTES))
}

// ---------------------------------------------------------------------------
// len, index, slice, join
// ---------------------------------------------------------------------------

fn length(v: &Val<'_>) -> Result<u64, FuncError> {
    match v.get() {
        None | Some(Value::Null) => call_err("len of nil pointer"),
        Some(Value::String(s)) => Ok(s.len() as u64),
        Some(Value::Array(a)) => Ok(a.len() as u64),
        Some(Value::Object(o)) => Ok(o.len() as u64),
        Some(other) => call_err(format!("len of type {}", type_name(other))),
    }
}

/// Go's `indexArg`: an integer index within `0..=len`.
fn index_arg(index: &Val<'_>, len: usize) -> Result<usize, FuncError> {
    let x = match index.get() {
        None | Some(Value::Null) => return call_err("cannot index slice/array with nil"),
        Some(v) => match as_int(v) {
            Some(x) => x,
            None => {
                return call_err(format!(
                    "cannot index slice/array with type {}",
                    type_name(v)
                ))
            }
        },
    };
    if x < 0 || x as u64 > len as u64 {
        return call_err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn index<'a>(mut args: Vec<Val<'a>>) -> FResult<'a> {
    let indexes = args.split_off(1);
    let mut item = args.pop().unwrap_or(Val::Missing);
    if item.is_nil() {
        return call_err("index of untyped nil");
    }
    for index in &indexes {
        item = match item {
            Val::Missing => return call_err("index of nil pointer"),
            Val::V(Cow::Borrowed(v)) => match index_value(v, index)? {
                Indexed::Ref(r) => Val::borrowed(r),
                Indexed::Byte(b) => Val::owned(b),
                Indexed::Missing => Val::Missing,
            },
            Val::V(Cow::Owned(v)) => match index_value(&v, index)? {
                Indexed::Ref(r) => Val::owned(r.clone()),
                Indexed::Byte(b) => Val::owned(b),
                Indexed::Missing => Val::Missing,
            },
        };
    }
    Ok(item)
}

/// The result of indexing one level.
enum Indexed<'v> {
    Ref(&'v Value),
    Byte(u8),
    Missing,
}

fn index_value<'v>(item: &'v Value, index: &Val<'_>) -> Result<Indexed<'v>, FuncError> {
    match item {
        Value::Null => call_err("index of nil pointer"),
        Value::Array(a) => {
            let i = index_arg(index, a.len())?;
            match a.get(i) {
                Some(e) => Ok(Indexed::Ref(e)),
                None => call_err(format!("index out of range: {i}")),
            }
        }
        Value::String(s) => {
            let i = index_arg(index, s.len())?;
            match s.as_bytes().get(i) {
                Some(&b) => Ok(Indexed::Byte(b)),
                None => call_err(format!("index out of range: {i}")),
            }
        }
        Value::Object(m) => match index.get() {
            Some(Value::String(key)) => Ok(m.get(key).map_or(Indexed::Missing, Indexed::Ref)),
            None | Some(Value::Null) => call_err("value is nil; should be of type string"),
            Some(other) => call_err(format!(
                "value has type {}; should be string",
                type_name(other)
            )),
        },
        other => call_err(format!("can't index item of type {}", type_name(other))),
    }
}

fn slice<'a>(mut args: Vec<Val<'a>>) -> FResult<'a> {
    let indexes = args.split_off(1);
    let item = args.pop().unwrap_or(Val::Missing);
    if item.is_nil() {
        return call_err("slice of untyped nil");
    }
    if indexes.len() > 3 {
        return call_err(format!("too many slice indexes: {}", indexes.len()));
    }
    let len = match item.get() {
        Some(Value::String(s)) => {
            if indexes.len() == 3 {
                return call_err("cannot 3-index slice a string");
            }
            s.len()
        }
        Some(Value::Array(a)) => a.len(),
        Some(other) => return call_err(format!("can't slice item of type {}", type_name(other))),
        None => return call_err("slice of untyped nil"),
    };
    let mut bounds = [0, len];
    for (k, index) in indexes.iter().take(2).enumerate() {
        bounds[k] = index_arg(index, len)?;
    }
    if bounds[0] > bounds[1] {
        return call_err(format!(
            "invalid slice index: {} > {}",
            bounds[0], bounds[1]
        ));
    }
    let [i, j] = bounds;
    Ok(match item.into_value() {
        Value::String(s) => Val::owned(String::from_utf8_lossy(&s.as_bytes()[i..j]).into_owned()),
        Value::Array(mut a) => {
            a.truncate(j);
            Val::owned(a.split_off(i))
        }
        _ => Val::Missing,
    })
}

fn join(v: &Val<'_>, sep: &str) -> Result<String, FuncError> {
    match v.get() {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::Array(items)) => {
            let mut out = String::new();
            for (i, e) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                match e {
                    Value::String(s) => out.push_str(s),
                    other => out.push_str(&sprint_value(other)),
                }
                if out.len() > MAX_VALUE_BYTES {
                    return too_large();
                }
            }
            Ok(out)
        }
        Some(other) => Err(FuncError::Type(format!(
            "wrong type for value; expected []string; got {}",
            type_name(other)
        ))),
    }
}

// ---------------------------------------------------------------------------
// Comparisons
// ---------------------------------------------------------------------------

/// Go's `basicKind`, with all numbers in one kind.
enum Basic<'v> {
    Bool(bool),
    Num(&'v Number),
    Str(&'v str),
    Nil,
    Other(&'v Value),
}

fn basic<'v>(v: &'v Val<'_>) -> Basic<'v> {
    match v.get() {
        None | Some(Value::Null) => Basic::Nil,
        Some(Value::Bool(b)) => Basic::Bool(*b),
        Some(Value::Number(n)) => Basic::Num(n),
        Some(Value::String(s)) => Basic::Str(s),
        Some(other) => Basic::Other(other),
    }
}

fn num_cmp(a: &Number, b: &Number) -> Ordering {
    let int = |n: &Number| n.as_i64().map(i128::from).or(n.as_u64().map(i128::from));
    match (int(a), int(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => {
            let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
    }
}

/// `eq arg1 arg2...`: whether `arg1` equals any of the others.
fn eq(arg1: &Val<'_>, rest: &[Val<'_>]) -> Result<bool, FuncError> {
    if rest.is_empty() {
        return call_err("missing argument for comparison");
    }
    for arg in rest {
        let truth = match (basic(arg1), basic(arg)) {
            (Basic::Bool(a), Basic::Bool(b)) => a == b,
            (Basic::Num(a), Basic::Num(b)) => num_cmp(a, b) == Ordering::Equal,
            (Basic::Str(a), Basic::Str(b)) => a == b,
            (Basic::Nil, Basic::Nil) => true,
            (Basic::Nil, _) | (_, Basic::Nil) => false,
            (Basic::Other(a), Basic::Other(b)) => a == b,
            _ => return call_err("incompatible types for comparison"),
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn lt(a: &Val<'_>, b: &Val<'_>) -> Result<bool, FuncError> {
    match (basic(a), basic(b)) {
        (Basic::Nil | Basic::Other(_) | Basic::Bool(_), _)
        | (_, Basic::Nil | Basic::Other(_) | Basic::Bool(_)) => {
            call_err("invalid type for comparison")
        }
        (Basic::Num(x), Basic::Num(y)) => Ok(num_cmp(x, y) == Ordering::Less),
        (Basic::Str(x), Basic::Str(y)) => Ok(x < y),
        _ => call_err("incompatible types for comparison"),
    }
}

// ---------------------------------------------------------------------------
// String functions
// ---------------------------------------------------------------------------

/// Go's `unicode.ToUpper` per character (simple case mapping).
fn upper(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut up = c.to_uppercase();
            match (up.next(), up.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect()
}

/// Go's `unicode.ToLower` per character (simple case mapping).
fn lower(s: &str) -> String {
    s.chars()
        .map(|c| c.to_lowercase().next().unwrap_or(c))
        .collect()
}

/// Go's `unicode.ToTitle` for one character.
fn to_title(c: char) -> char {
    match c {
        '\u{1c4}'..='\u{1c6}' => '\u{1c5}',
        '\u{1c7}'..='\u{1c9}' => '\u{1c8}',
        '\u{1ca}'..='\u{1cc}' => '\u{1cb}',
        '\u{1f1}'..='\u{1f3}' => '\u{1f2}',
        c => upper(c.encode_utf8(&mut [0; 4]))
            .chars()
            .next()
            .unwrap_or(c),
    }
}

/// Go's (deprecated) `strings.Title`: upper-cases the first letter of each
/// word.
fn title(s: &str) -> String {
    let is_separator = |c: char| {
        if c.is_ascii() {
            return !(c.is_ascii_alphanumeric() || c == '_');
        }
        if c.is_alphabetic() || c.is_numeric() {
            return false;
        }
        c.is_whitespace()
    };
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let out = if is_separator(prev) { to_title(c) } else { c };
            prev = c;
            out
        })
        .collect()
}

/// Go's `template.HTMLEscapeString`.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{fffd}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if c.is_ascii() || gofmt::is_print(c) => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_mapping_like_go() {
        assert_eq!(upper("straße ǆ"), "STRAßE Ǆ");
        assert_eq!(lower("İSTANBUL"), "istanbul");
        assert_eq!(title("hello wORLD-foo_bar ǆx"), "Hello WORLD-Foo_bar ǅx");
    }

    #[test]
    fn escapers() {
        assert_eq!(
            html_escape("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&#34;&lt;/a&gt;"
        );
        assert_eq!(
            js_escape("a'b\"<=>\n"),
            "a\\'b\\\"\\u003C\\u003D\\u003E\\u000A"
        );
        assert_eq!(query_escape("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
    }

    #[test]
    fn arity_messages() {
        assert_eq!(
            check_arity("join", 1),
            Err("wrong number of args for join: want 2 got 1".into())
        );
        assert_eq!(
            check_arity("printf", 0),
            Err("wrong number of args for printf: want at least 1 got 0".into())
        );
        assert!(check_arity("print", 0).is_ok());
    }
}
