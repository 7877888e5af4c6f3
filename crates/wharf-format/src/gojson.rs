//! JSON text exactly as docker's `{{json .}}` template function writes it.
//!
//! Docker's `json` function is a Go `json.Encoder` with `SetEscapeHTML(false)`
//! whose output is trimmed (docker/cli `templates/templates.go`). That differs
//! from `serde_json::to_string` in two ways that show up in practice:
//!
//! - floats use Go's rules: integral values have no `.0` (`1015700000`), and
//!   exponent form is used only below `1e-6` or from `1e21` on (`1e+21`,
//!   `1e-7`);
//! - U+2028 and U+2029 are escaped, and control characters other than
//!   `\b \f \n \r \t` are written as lower-case `\u00XX`.
//!
//! `<`, `>` and `&` are *not* escaped, because docker turns HTML escaping off.
//! Object keys are written in the map's order (the crate enables
//! `preserve_order`, so that is the order the caller built them in).

use serde_json::Value;

use crate::gofmt::format_float;

/// Go's `json.Marshal`-style compact encoding (without HTML escaping).
pub(crate) fn to_string(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v);
    out
}

fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if n.is_f64() {
                out.push_str(&float(n.as_f64().unwrap_or(0.0)));
            } else {
                out.push_str(&n.to_string());
            }
        }
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k);
                out.push(':');
                write_value(out, v);
            }
            out.push('}');
        }
    }
}

/// encoding/json's `floatEncoder` for float64.
fn float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let mut s = format_float(f, 'e', -1);
        // Clean up e-09 to e-9.
        let n = s.len();
        if n >= 4 && &s[n - 4..n - 2] == "e-" && s.as_bytes()[n - 2] == b'0' {
            s.remove(n - 2);
        }
        s
    } else {
        format_float(f, 'f', -1)
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compact_in_insertion_order() {
        let v = json!({"b": 1, "a": [true, null, "x"], "c": {}});
        assert_eq!(to_string(&v), r#"{"b":1,"a":[true,null,"x"],"c":{}}"#);
    }

    #[test]
    fn strings_escape_like_go_without_html_escaping() {
        let v = json!("<a&b> \"q\" \\ \n\t\u{1}\u{8}\u{c}\u{2028}é");
        assert_eq!(to_string(&v), r#""<a&b> \"q\" \\ \n\t\u0001\b\f\u2028é""#);
    }

    #[test]
    fn floats_like_go() {
        assert_eq!(to_string(&json!(1015700000.0)), "1015700000");
        assert_eq!(to_string(&json!(1.5)), "1.5");
        assert_eq!(to_string(&json!(0.0)), "0");
        assert_eq!(to_string(&json!(1e21)), "1e+21");
        assert_eq!(to_string(&json!(1.5e-7)), "1.5e-7");
        assert_eq!(to_string(&json!(-2.5e-10)), "-2.5e-10");
        assert_eq!(to_string(&json!(u64::MAX)), "18446744073709551615");
        assert_eq!(to_string(&json!(-7)), "-7");
    }
}
