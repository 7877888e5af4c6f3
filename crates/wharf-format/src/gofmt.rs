//! Go's `fmt` and `strconv` output rules, applied to JSON values.
//!
//! Templates print values the way Go's `fmt.Print` (`%v`) does, and the
//! `printf` template function and the size formatters need `%.3g`-style
//! float formatting that Rust's `format!` does not offer. Everything here is
//! a port of the relevant parts of Go's `fmt` and `strconv` packages.
//!
//! JSON numbers that are integers (`i64`/`u64`) behave like Go's `int`.
//! Floats that happen to be integral are printed as integers by `%v`, because
//! in docker those values are `int64` fields (a Go `float64` `1015700000`
//! would print as `1.0157e+09`, which is never what docker shows).

use serde_json::Value;

/// Go's `reflect.Type.String()` for the Go type a JSON value stands for.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

// ---------------------------------------------------------------------------
// Float formatting (strconv.FormatFloat)
// ---------------------------------------------------------------------------

/// The most significant decimal digits an f64's exact value has.
const MAX_SIGNIFICANT: usize = 767;

/// The most digits after the point an f64's exact value has (2^-1074).
const MAX_FRACTION_DIGITS: usize = 1074;

/// Decimal digits of a non-negative float: `0.d[0]d[1]... × 10^dp`, without
/// trailing zeros (`d` empty for zero), like strconv's `decimalSlice`.
struct Digits {
    d: Vec<u8>,
    dp: i32,
}

impl Digits {
    /// Parses Rust's `{:e}` output (`"1.0157e9"`).
    fn from_exp_notation(s: &str) -> Digits {
        let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let mut d: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
        while d.last() == Some(&b'0') {
            d.pop();
        }
        if d.is_empty() {
            return Digits { d, dp: 0 };
        }
        Digits { d, dp: exp + 1 }
    }

    /// The shortest digits that round-trip to `v`.
    fn shortest(v: f64) -> Digits {
        if v == 0.0 {
            return Digits {
                d: Vec::new(),
                dp: 0,
            };
        }
        Digits::from_exp_notation(&format!("{v:e}"))
    }

    /// `v` correctly rounded to `n >= 1` significant digits.
    fn significant(v: f64, n: usize) -> Digits {
        if v == 0.0 {
            return Digits {
                d: Vec::new(),
                dp: 0,
            };
        }
        // No f64 has more than 767 significant decimal digits: beyond
        // that they are zeros (and Rust's formatter refuses a precision
        // over 65535, which Go's limit of ten million allows).
        let n = n.clamp(1, MAX_SIGNIFICANT);
        Digits::from_exp_notation(&format!("{:.*e}", n - 1, v))
    }

    fn nd(&self) -> i32 {
        self.d.len() as i32
    }

    /// strconv's `fmtE`: `d.ddde±dd` with `prec` digits after the point.
    fn fmt_e(&self, out: &mut String, prec: i32, upper: bool) {
        out.push(self.d.first().map_or('0', |&c| c as char));
        if prec > 0 {
            out.push('.');
            for i in 1..=prec {
                out.push(self.d.get(i as usize).map_or('0', |&c| c as char));
            }
        }
        out.push(if upper { 'E' } else { 'e' });
        let exp = if self.d.is_empty() { 0 } else { self.dp - 1 };
        out.push(if exp < 0 { '-' } else { '+' });
        let exp = exp.unsigned_abs();
        if exp < 10 {
            out.push('0');
        }
        out.push_str(&exp.to_string());
    }

    /// strconv's `fmtF`: `ddd.ddd` with `prec` digits after the point.
    fn fmt_f(&self, out: &mut String, prec: i32) {
        if self.dp > 0 {
            for i in 0..self.dp {
                out.push(self.d.get(i as usize).map_or('0', |&c| c as char));
            }
        } else {
            out.push('0');
        }
        if prec > 0 {
            out.push('.');
            for i in 1..=prec {
                let j = self.dp + i - 1;
                let c = if j >= 0 {
                    self.d.get(j as usize).copied()
                } else {
                    None
                };
                out.push(c.map_or('0', |c| c as char));
            }
        }
    }
}

/// Go's `strconv.FormatFloat(v, fmt, prec, 64)` for `fmt` in `eEfFgG`;
/// `prec < 0` means "shortest representation".
pub(crate) fn format_float(v: f64, fmt: char, prec: i32) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let mut out = String::new();
    if v.is_sign_negative() {
        out.push('-');
    }
    let a = v.abs();
    let shortest = prec < 0;
    match fmt {
        'e' | 'E' => {
            let digs = if shortest {
                Digits::shortest(a)
            } else {
                Digits::significant(a, prec as usize + 1)
            };
            let p = if shortest {
                (digs.nd() - 1).max(0)
            } else {
                prec
            };
            digs.fmt_e(&mut out, p, fmt == 'E');
        }
        'f' | 'F' => {
            if shortest {
                let digs = Digits::shortest(a);
                digs.fmt_f(&mut out, (digs.nd() - digs.dp).max(0));
            } else {
                // Exact up to 1074 places (the smallest subnormal's);
                // the rest are zeros.
                let prec = prec as usize;
                out.push_str(&format!("{:.*}", prec.min(MAX_FRACTION_DIGITS), a));
                out.extend(std::iter::repeat_n(
                    '0',
                    prec.saturating_sub(MAX_FRACTION_DIGITS),
                ));
            }
        }
        _ => {
            // 'g' / 'G'
            let digs = if shortest {
                Digits::shortest(a)
            } else {
                Digits::significant(a, prec.max(1) as usize)
            };
            let nd = digs.nd();
            let mut prec = if shortest { nd } else { prec.max(1) };
            let mut eprec = prec;
            if eprec > nd && nd >= digs.dp {
                eprec = nd;
            }
            // %e is used if the exponent from the conversion is less than -4
            // or greater than or equal to the precision; if precision was the
            // shortest possible, use precision 6 for this decision.
            if shortest {
                eprec = 6;
            }
            let exp = digs.dp - 1;
            if exp < -4 || exp >= eprec {
                if prec > nd {
                    prec = nd;
                }
                digs.fmt_e(&mut out, prec - 1, fmt == 'G');
            } else {
                if prec > digs.dp {
                    prec = nd;
                }
                digs.fmt_f(&mut out, (prec - digs.dp).max(0));
            }
        }
    }
    out
}

/// An integral float small enough to print as an integer (see module docs).
fn as_integral(f: f64) -> Option<i128> {
    (f.is_finite() && f.fract() == 0.0 && f.abs() < 1e21).then_some(f as i128)
}

// ---------------------------------------------------------------------------
// Quoting (strconv.Quote)
// ---------------------------------------------------------------------------

/// Approximation of Go's `unicode.IsPrint`: graphic characters and ASCII space.
pub(crate) fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    // Format characters (category Cf) that Go does not consider printable.
    !matches!(c,
        '\u{ad}' | '\u{600}'..='\u{605}' | '\u{61c}' | '\u{6dd}' | '\u{70f}'
        | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}'
        | '\u{e000}'..='\u{f8ff}' | '\u{fffe}' | '\u{ffff}')
}

fn push_escaped_rune(out: &mut String, c: char, quote: char) {
    if c == quote || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    if is_print(c) {
        out.push(c);
        return;
    }
    match c {
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => {
            out.push_str(&format!("\\x{:02x}", c as u32));
        }
        c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push_str(&format!("\\U{:08x}", c as u32)),
    }
}

/// Go's `strconv.Quote`.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_escaped_rune(&mut out, c, '"');
    }
    out.push('"');
    out
}

/// Go's `strconv.QuoteRune`.
fn quote_rune(c: char) -> String {
    let mut out = String::from("'");
    push_escaped_rune(&mut out, c, '\'');
    out.push('\'');
    out
}

// ---------------------------------------------------------------------------
// fmt: Print, Println, Sprintf
// ---------------------------------------------------------------------------

/// Formatting flags of one `%` directive.
#[derive(Default, Clone, Copy)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// `fmt.Sprint(v)`: the `%v` form of a value.
pub(crate) fn sprint_value(v: &Value) -> String {
    print_arg(v, 'v', &Flags::default())
}

/// `fmt.Sprint(args...)`: spaces between operands when neither is a string.
/// `None` once the text would exceed `limit` bytes (it stops there).
pub(crate) fn sprint(args: &[Value], limit: usize) -> Option<String> {
    let mut out = String::new();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = a.is_string();
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        out.push_str(&sprint_value(a));
        prev_string = is_string;
        if out.len() > limit {
            return None;
        }
    }
    Some(out)
}

/// `fmt.Sprintln(args...)`: always spaces between operands, then a newline.
/// `None` once the text would exceed `limit` bytes.
pub(crate) fn sprintln(args: &[Value], limit: usize) -> Option<String> {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&sprint_value(a));
        if out.len() > limit {
            return None;
        }
    }
    out.push('\n');
    (out.len() <= limit).then_some(out)
}

/// Go's `fmt.tooLarge`: widths and precisions beyond a million are bad
/// (`%!(BADWIDTH)`), so one directive never pads beyond that.
fn too_large(x: i64) -> bool {
    !(-1_000_000..=1_000_000).contains(&x)
}

/// Go's `fmt.parsenum`: the digits at the front of `chars`, `Err(())` when
/// they overflow (Go then gives up on the rest of the format: NOVERB).
fn parse_num(chars: &mut std::iter::Peekable<std::str::CharIndices>) -> Result<Option<usize>, ()> {
    let mut n: Option<i64> = None;
    while let Some(&(_, c)) = chars.peek() {
        let Some(d) = c.to_digit(10) else { break };
        let sofar = n.unwrap_or(0);
        if too_large(sofar) {
            return Err(());
        }
        n = Some(sofar * 10 + i64::from(d));
        chars.next();
    }
    Ok(n.map(|n| n as usize))
}

/// A `*` width or precision argument: Go's `intFromArg` (an integer
/// within Go's limits, else `None`).
fn int_from_arg(arg: Option<&Value>) -> Option<i64> {
    arg.and_then(Value::as_i64).filter(|n| !too_large(*n))
}

/// `fmt.Sprintf(format, args...)`. `None` once the text would exceed
/// `limit` bytes (each directive is bounded by Go's width and precision
/// limits, so it stops within ~10 MB of the limit).
pub(crate) fn sprintf(format: &str, args: &[Value], limit: usize) -> Option<String> {
    let mut out = String::new();
    let mut argn = 0usize;
    let mut chars = format.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if out.len() > limit {
            return None;
        }
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut f = Flags::default();
        // Flags.
        while let Some(&(_, c)) = chars.peek() {
            match c {
                '#' => f.sharp = true,
                '0' => f.zero = true,
                '+' => f.plus = true,
                '-' => f.minus = true,
                ' ' => f.space = true,
                _ => break,
            }
            chars.next();
        }
        // Width.
        if chars.peek().map(|&(_, c)| c) == Some('*') {
            chars.next();
            match int_from_arg(args.get(argn)) {
                Some(w) => {
                    if w < 0 {
                        f.minus = true;
                    }
                    f.width = Some(w.unsigned_abs() as usize);
                }
                None => out.push_str("%!(BADWIDTH)"),
            }
            argn = (argn + 1).min(args.len());
        } else {
            match parse_num(&mut chars) {
                Ok(w) => f.width = w,
                Err(()) => {
                    out.push_str("%!(NOVERB)");
                    break;
                }
            }
        }
        // Precision: a '.' that is not the format's last character.
        let mut ahead = chars.clone();
        if ahead.next().map(|(_, c)| c) == Some('.') && ahead.peek().is_some() {
            chars.next();
            if chars.peek().map(|&(_, c)| c) == Some('*') {
                chars.next();
                match int_from_arg(args.get(argn)) {
                    Some(p) if p >= 0 => f.prec = Some(p as usize),
                    _ => out.push_str("%!(BADPREC)"),
                }
                argn = (argn + 1).min(args.len());
            } else {
                match parse_num(&mut chars) {
                    Ok(p) => f.prec = Some(p.unwrap_or(0)),
                    Err(()) => {
                        out.push_str("%!(NOVERB)");
                        break;
                    }
                }
            }
        }
        if f.minus {
            f.zero = false;
        }
        let Some((_, verb)) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        match args.get(argn) {
            Some(a) => out.push_str(&print_arg(a, verb, &f)),
            None => {
                out.push_str("%!");
                out.push(verb);
                out.push_str("(MISSING)");
            }
        }
        argn += 1;
    }
    if argn < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, a) in args[argn..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            match a {
                Value::Null => out.push_str("<nil>"),
                a => {
                    out.push_str(type_name(a));
                    out.push('=');
                    out.push_str(&sprint_value(a));
                }
            }
            if out.len() > limit {
                return None;
            }
        }
        out.push(')');
    }
    (out.len() <= limit).then_some(out)
}

/// `%!verb(type=value)`.
fn bad_verb(v: &Value, verb: char) -> String {
    match v {
        Value::Null => format!("%!{verb}(<nil>)"),
        v => format!("%!{verb}({}={})", type_name(v), sprint_value(v)),
    }
}

/// Pads `s` to the width in `f` (counting characters, like Go's runes).
fn pad(s: String, f: &Flags) -> String {
    let Some(width) = f.width else { return s };
    let n = s.chars().count();
    if n >= width {
        return s;
    }
    let fill = width - n;
    if f.minus {
        s + &" ".repeat(fill)
    } else if f.zero {
        "0".repeat(fill) + &s
    } else {
        " ".repeat(fill) + &s
    }
}

/// Pads a number, putting zero padding between the sign and the digits.
fn pad_number(s: String, f: &Flags) -> String {
    let Some(width) = f.width else { return s };
    if !f.zero || f.minus {
        return pad(s, f);
    }
    let n = s.chars().count();
    if n >= width {
        return s;
    }
    let (sign, digits) = match s.chars().next() {
        Some(c @ ('+' | '-' | ' ')) => (c.to_string(), s[1..].to_string()),
        _ => (String::new(), s),
    };
    sign + &"0".repeat(width - n) + &digits
}

fn print_arg(v: &Value, verb: char, f: &Flags) -> String {
    match v {
        Value::Null => match verb {
            'v' => pad("<nil>".into(), f),
            _ => bad_verb(v, verb),
        },
        Value::Bool(b) => match verb {
            't' | 'v' => pad(b.to_string(), f),
            _ => bad_verb(v, verb),
        },
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                fmt_integer(i as i128, v, verb, f)
            } else if let Some(u) = n.as_u64() {
                fmt_integer(u as i128, v, verb, f)
            } else {
                let x = n.as_f64().unwrap_or(0.0);
                match as_integral(x) {
                    Some(i) if matches!(verb, 'v' | 'd' | 'b' | 'o' | 'O' | 'x' | 'X' | 'c') => {
                        fmt_integer(i, v, verb, f)
                    }
                    _ => fmt_float(x, v, verb, f),
                }
            }
        }
        Value::String(s) => fmt_string(s, v, verb, f),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(|e| print_arg(e, verb, f)).collect();
            format!("[{}]", parts.join(" "))
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .into_iter()
                .map(|k| {
                    format!(
                        "{}:{}",
                        fmt_string(k, &Value::Null, verb, f),
                        print_arg(&map[k.as_str()], verb, f)
                    )
                })
                .collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

fn fmt_string(s: &str, v: &Value, verb: char, f: &Flags) -> String {
    let truncated = |s: &str| match f.prec {
        Some(p) => s.chars().take(p).collect::<String>(),
        None => s.to_string(),
    };
    match verb {
        'v' | 's' => pad(truncated(s), f),
        'q' => pad(quote(&truncated(s)), f),
        'x' | 'X' => {
            let hex: String = s
                .bytes()
                .map(|b| {
                    if verb == 'x' {
                        format!("{b:02x}")
                    } else {
                        format!("{b:02X}")
                    }
                })
                .collect();
            pad(hex, f)
        }
        _ if v.is_null() => bad_verb(&Value::String(s.to_string()), verb),
        _ => bad_verb(v, verb),
    }
}

fn fmt_integer(i: i128, v: &Value, verb: char, f: &Flags) -> String {
    let neg = i < 0;
    let a = i.unsigned_abs();
    let (mut digits, prefix) = match verb {
        'v' | 'd' => (a.to_string(), ""),
        'b' => (format!("{a:b}"), if f.sharp { "0b" } else { "" }),
        'o' => (format!("{a:o}"), if f.sharp { "0" } else { "" }),
        'O' => (format!("{a:o}"), "0o"),
        'x' => (format!("{a:x}"), if f.sharp { "0x" } else { "" }),
        'X' => (format!("{a:X}"), if f.sharp { "0X" } else { "" }),
        'c' => {
            let c = char::from_u32(i as u32).unwrap_or('\u{fffd}');
            return pad(c.to_string(), f);
        }
        'q' => {
            let c = char::from_u32(i as u32).unwrap_or('\u{fffd}');
            return pad(quote_rune(c), f);
        }
        'U' => {
            let mut s = format!("U+{a:04X}");
            if f.sharp {
                if let Some(c) = char::from_u32(i as u32).filter(|c| is_print(*c)) {
                    s.push_str(&format!(" '{c}'"));
                }
            }
            return pad(s, f);
        }
        _ => return bad_verb(v, verb),
    };
    if let Some(p) = f.prec {
        if p == 0 && a == 0 {
            digits.clear();
        } else if digits.len() < p {
            digits = "0".repeat(p - digits.len()) + &digits;
        }
    }
    let sign = if neg {
        "-"
    } else if f.plus {
        "+"
    } else if f.space {
        " "
    } else {
        ""
    };
    let s = format!("{sign}{prefix}{digits}");
    if f.prec.is_some() {
        pad(s, &Flags { zero: false, ..*f })
    } else {
        pad_number(s, f)
    }
}

fn fmt_float(x: f64, v: &Value, verb: char, f: &Flags) -> String {
    let prec = f.prec.map_or(-1, |p| p as i32);
    let mut s = match verb {
        'v' => format_float(x, 'g', prec),
        'g' | 'G' => format_float(x, verb, prec),
        'e' | 'E' | 'f' | 'F' => format_float(x, verb, if prec < 0 { 6 } else { prec }),
        _ => return bad_verb(v, verb),
    };
    if !s.starts_with('-') {
        if f.plus {
            s.insert(0, '+');
        } else if f.space {
            s.insert(0, ' ');
        }
    }
    pad_number(s, f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sprint(args: &[Value]) -> String {
        super::sprint(args, usize::MAX).unwrap()
    }

    fn sprintln(args: &[Value]) -> String {
        super::sprintln(args, usize::MAX).unwrap()
    }

    fn sprintf(format: &str, args: &[Value]) -> String {
        super::sprintf(format, args, usize::MAX).unwrap()
    }

    #[test]
    fn float_g_formats() {
        let g3 = |v| format_float(v, 'g', 3);
        assert_eq!(g3(2.028952), "2.03");
        assert_eq!(g3(2.0), "2");
        assert_eq!(g3(348.8), "349");
        assert_eq!(g3(999.0), "999");
        assert_eq!(g3(999.6), "1e+03");
        assert_eq!(g3(100.0), "100");
        assert_eq!(g3(0.0), "0");
        assert_eq!(g3(0.000012345), "1.23e-05");
        assert_eq!(g3(0.5), "0.5");
        assert_eq!(format_float(1.0157e9, 'g', -1), "1.0157e+09");
        assert_eq!(format_float(123456.0, 'g', -1), "123456");
        assert_eq!(format_float(1234567.0, 'g', -1), "1.234567e+06");
        assert_eq!(format_float(0.0001, 'g', -1), "0.0001");
        assert_eq!(format_float(0.00001, 'g', -1), "1e-05");
        assert_eq!(format_float(-1.5, 'g', -1), "-1.5");
    }

    #[test]
    fn float_e_and_f_formats() {
        assert_eq!(format_float(1234.5678, 'e', 6), "1.234568e+03");
        assert_eq!(format_float(1234.5678, 'E', 2), "1.23E+03");
        assert_eq!(format_float(0.0, 'e', 2), "0.00e+00");
        assert_eq!(format_float(1e100, 'e', -1), "1e+100");
        assert_eq!(format_float(4.56789, 'f', 2), "4.57");
        assert_eq!(format_float(2.5, 'f', 0), "2");
        assert_eq!(format_float(1.5e-7, 'f', -1), "0.00000015");
        assert_eq!(format_float(1e21, 'f', -1), "1000000000000000000000");
    }

    #[test]
    fn values_print_like_go() {
        assert_eq!(sprint_value(&json!("abc")), "abc");
        assert_eq!(sprint_value(&json!(123)), "123");
        assert_eq!(sprint_value(&json!(1015700000u64)), "1015700000");
        assert_eq!(sprint_value(&json!(1015700000.0)), "1015700000");
        assert_eq!(sprint_value(&json!(1.5)), "1.5");
        assert_eq!(sprint_value(&json!(true)), "true");
        assert_eq!(sprint_value(&json!(null)), "<nil>");
        assert_eq!(sprint_value(&json!(["a", 1, null])), "[a 1 <nil>]");
        assert_eq!(sprint_value(&json!({"b": 2, "a": "x"})), "map[a:x b:2]");
        assert_eq!(sprint_value(&json!({})), "map[]");
        assert_eq!(sprint_value(&json!([])), "[]");
    }

    #[test]
    fn sprint_spacing() {
        assert_eq!(sprint(&[json!("a"), json!("b")]), "ab");
        assert_eq!(sprint(&[json!(1), json!(2)]), "1 2");
        assert_eq!(
            sprint(&[json!("a"), json!(1), json!(2), json!("b")]),
            "a1 2b"
        );
        assert_eq!(sprintln(&[json!("a"), json!(1)]), "a 1\n");
        assert_eq!(sprintln(&[]), "\n");
    }

    #[test]
    fn sprintf_verbs() {
        assert_eq!(sprintf("%s-%d", &[json!("x"), json!(42)]), "x-42");
        assert_eq!(sprintf("[%-6s]", &[json!("ab")]), "[ab    ]");
        assert_eq!(sprintf("[%6s]", &[json!("ab")]), "[    ab]");
        assert_eq!(sprintf("[%.2s]", &[json!("abcdef")]), "[ab]");
        assert_eq!(
            sprintf(
                "%05d|%+d|%x|%X|%o|%b",
                &[
                    json!(42),
                    json!(5),
                    json!(255),
                    json!(255),
                    json!(8),
                    json!(5)
                ]
            ),
            "00042|+5|ff|FF|10|101"
        );
        assert_eq!(sprintf("%-5d|", &[json!(-3)]), "-3   |");
        assert_eq!(sprintf("%06.2f", &[json!(-4.56789)]), "-04.57");
        assert_eq!(
            sprintf("%v %t %q", &[json!(1.5), json!(true), json!("a\"b\n")]),
            "1.5 true \"a\\\"b\\n\""
        );
        assert_eq!(sprintf("%e", &[json!(123456.0)]), "1.234560e+05");
        assert_eq!(sprintf("%g", &[json!(0.5)]), "0.5");
        assert_eq!(sprintf("%c%q", &[json!(65), json!(66)]), "A'B'");
        assert_eq!(sprintf("100%%", &[]), "100%");
        assert_eq!(sprintf("%s", &[json!(["a", "b"])]), "[a b]");
        assert_eq!(sprintf("%5.1f%%", &[json!(12.345)]), " 12.3%");
    }

    #[test]
    fn sprintf_errors() {
        assert_eq!(sprintf("%d", &[json!("x")]), "%!d(string=x)");
        assert_eq!(sprintf("%s", &[json!(5)]), "%!s(int=5)");
        assert_eq!(sprintf("%d %d", &[json!(1)]), "1 %!d(MISSING)");
        assert_eq!(
            sprintf("%d", &[json!(1), json!("x")]),
            "1%!(EXTRA string=x)"
        );
        assert_eq!(sprintf("%s", &[json!(null)]), "%!s(<nil>)");
        assert_eq!(sprintf("%v", &[json!(null)]), "<nil>");
        assert_eq!(sprintf("abc%", &[]), "abc%!(NOVERB)");
        assert_eq!(sprintf("%z", &[json!(1)]), "%!z(int=1)");
        assert_eq!(sprintf("%d|%.", &[json!(1)]), "1|%!.(MISSING)");
    }

    /// Go's `tooLarge`: what docker 20.10's CLI printed for these.
    #[test]
    fn widths_and_precisions_follow_gos_limits() {
        assert_eq!(
            sprintf("%*d", &[json!(1_000_000_000), json!(1)]),
            "%!(BADWIDTH)1"
        );
        assert_eq!(
            sprintf("%*d|", &[json!(1_000_001), json!(1)]),
            "%!(BADWIDTH)1|"
        );
        assert_eq!(
            sprintf("%.*d|", &[json!(1_000_001), json!(1)]),
            "%!(BADPREC)1|"
        );
        assert_eq!(sprintf("%.*d|", &[json!(-1), json!(1)]), "%!(BADPREC)1|");
        assert_eq!(sprintf("%*d|", &[json!("x"), json!(1)]), "%!(BADWIDTH)1|");
        assert_eq!(
            sprintf(
                "%*.*d|",
                &[json!(1_000_000_000), json!(2_000_000_000), json!(1)]
            ),
            "%!(BADWIDTH)%!(BADPREC)1|"
        );
        assert_eq!(
            sprintf("%*d|%d", &[json!(1_000_000_000), json!(1)]),
            "%!(BADWIDTH)1|%!d(MISSING)"
        );
        // Literal numbers: Go stops parsing past a million and gives up on
        // the rest of the format.
        assert_eq!(
            sprintf("%99999999d|", &[json!(1)]),
            "%!(NOVERB)%!(EXTRA int=1)"
        );
        assert_eq!(
            sprintf("%.99999999d|", &[json!(1)]),
            "%!(NOVERB)%!(EXTRA int=1)"
        );
        assert_eq!(sprintf("%9999999d|", &[json!(1)]).len(), 10_000_000);
        assert_eq!(sprintf("%-*d|", &[json!(-3), json!(1)]), "1  |");
        assert_eq!(
            sprintf("%*d|", &[json!(1_000_000), json!(1)]).len(),
            1_000_001
        );
    }

    /// Precisions Go allows but Rust's formatter refuses (over 65535).
    #[test]
    fn huge_precisions_pad_with_zeros() {
        let f = sprintf("%.100000f", &[json!(1.5)]);
        assert_eq!(f.len(), 100_002);
        assert!(f.starts_with("1.5000") && f.ends_with("000"));
        let e = sprintf("%.100000e", &[json!(1.5)]);
        assert!(
            e.starts_with("1.5000") && e.ends_with("0e+00"),
            "{}",
            &e[..10]
        );
        assert_eq!(e.len(), 100_006);
        let g = sprintf("%.100000g", &[json!(0.1)]);
        assert_eq!(
            g,
            "0.1000000000000000055511151231257827021181583404541015625"
        );
        // 2^-1074, exactly: 1074 places (…625), then zeros.
        let tiny = sprintf("%.1100f", &[json!(5e-324)]);
        assert_eq!(tiny.len(), 1102);
        assert!(tiny[..1076].ends_with("625"), "{tiny}");
        assert!(tiny[1076..].bytes().all(|b| b == b'0'), "{tiny}");
        assert!(tiny[2..]
            .trim_start_matches('0')
            .starts_with("4940656458412"));
    }

    #[test]
    fn output_stops_at_the_limit() {
        assert_eq!(
            super::sprintf("%9999999d%9999999d", &[json!(1), json!(2)], 1000),
            None
        );
        assert_eq!(
            super::sprintf("%5d", &[json!(1)], 5).as_deref(),
            Some("    1")
        );
        assert_eq!(super::sprintf("%5d", &[json!(1)], 4), None);
        let big = json!("x".repeat(100));
        assert_eq!(super::sprint(&[big.clone(), big.clone()], 150), None);
        assert_eq!(super::sprintln(std::slice::from_ref(&big), 100), None);
        assert!(super::sprintln(&[big], 101).is_some());
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("héllo\t\u{1}"), "\"héllo\\t\\x01\"");
        assert_eq!(quote("\u{200b}"), "\"\\u200b\"");
        assert_eq!(quote_rune('\''), "'\\''");
    }
}
