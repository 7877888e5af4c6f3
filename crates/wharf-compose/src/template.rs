//! Compose's variable substitution in strings: `$V`, `${V}`, `${V:-d}`,
//! `${V-d}`, `${V:?err}`, `${V?err}`, `${V:+alt}`, `${V+alt}`, nested
//! templates in defaults, and `$$` for a literal dollar.
//!
//! The matching follows compose-go's regular expression exactly (a braced
//! form with an operator extends greedily to the last `}` of the line, the
//! first balanced `}` then ends it and the rest is substituted again; `$`
//! followed by anything else stays as is; `${` not forming a name is an
//! invalid template), because files in the wild depend on those corners.

/// Why a substitution failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// `${` not followed by a valid name: Compose's "Invalid template".
    Invalid { template: String },
    /// `${V:?err}` / `${V?err}` with V missing.
    Missing { variable: String, reason: String },
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TemplateError::Invalid { template } => write!(f, "Invalid template: {template:?}"),
            TemplateError::Missing { variable, reason } if reason.is_empty() => {
                write!(f, "required variable {variable} is missing a value")
            }
            TemplateError::Missing { variable, reason } => {
                write!(
                    f,
                    "required variable {variable} is missing a value: {reason}"
                )
            }
        }
    }
}

/// Looks variables up and collects the warnings about unset ones.
pub trait Mapping {
    fn lookup(&self, name: &str) -> Option<String>;
    /// `$V` or `${V}` with V unset (Compose warns and uses "").
    fn unset(&self, _name: &str) {}
}

impl<F: Fn(&str) -> Option<String>> Mapping for F {
    fn lookup(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// Substitutes every variable of `template`.
pub fn substitute(template: &str, mapping: &dyn Mapping) -> Result<String, TemplateError> {
    let b = template.as_bytes();
    let mut out = String::with_capacity(template.len());
    let mut err: Option<TemplateError> = None;
    let mut last = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'$' {
            i += 1;
            continue;
        }
        let Some(end) = match_at(b, i) else {
            i += 1;
            continue;
        };
        out.push_str(&template[last..i]);
        match replace(&template[i..end], mapping) {
            Ok(r) => out.push_str(&r),
            Err(e) => {
                if err.is_none() {
                    err = Some(match e {
                        TemplateError::Invalid { template: t } if t.is_empty() => {
                            TemplateError::Invalid {
                                template: template.to_string(),
                            }
                        }
                        other => other,
                    });
                }
            }
        }
        last = end;
        i = end;
    }
    if let Some(e) = err {
        return Err(e);
    }
    out.push_str(&template[last..]);
    Ok(out)
}

fn is_name_start(c: u8) -> bool {
    c == b'_' || c.is_ascii_alphabetic()
}

fn is_name_char(c: u8) -> bool {
    c == b'_' || c.is_ascii_alphanumeric()
}

/// The end of the pattern's match starting at the `$` at `i`, if any.
fn match_at(b: &[u8], i: usize) -> Option<usize> {
    let j = i + 1;
    match b.get(j) {
        Some(b'$') => Some(j + 1),
        Some(&c) if is_name_start(c) => {
            let mut k = j + 1;
            while k < b.len() && is_name_char(b[k]) {
                k += 1;
            }
            Some(k)
        }
        Some(b'{') => Some(braced_end(b, j + 1).unwrap_or(j + 1)),
        _ => None,
    }
}

/// For `${` at `start - 1`: the end of a valid braced form.
fn braced_end(b: &[u8], start: usize) -> Option<usize> {
    if !b.get(start).is_some_and(|&c| is_name_start(c)) {
        return None;
    }
    let mut k = start + 1;
    while k < b.len() && is_name_char(b[k]) {
        k += 1;
    }
    // With an operator: `.*` is greedy up to the last `}` of the line.
    let mut op = k;
    if b.get(op) == Some(&b':') {
        op += 1;
    }
    let with_op = matches!(b.get(op), Some(b'-' | b'+' | b'?'))
        .then(|| {
            let line_end = b[op + 1..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |p| op + 1 + p);
            b[op + 1..line_end]
                .iter()
                .rposition(|&c| c == b'}')
                .map(|p| op + 1 + p + 1)
        })
        .flatten();
    // (Without its `:` the operator would be the colon itself: no match.)
    if with_op.is_some() {
        return with_op;
    }
    (b.get(k) == Some(&b'}')).then_some(k + 1)
}

/// compose-go's `getFirstBraceClosingIndex`.
fn first_brace_closing(s: &[u8]) -> Option<usize> {
    let mut open = 0i32;
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'}' {
            open -= 1;
            if open == 0 {
                return Some(i);
            }
        }
        if s[i] == b'{' {
            open += 1;
            i += 1;
        }
        i += 1;
    }
    None
}

/// The replacement of one match (`DefaultReplacementAppliedFunc`).
fn replace(matched: &str, mapping: &dyn Mapping) -> Result<String, TemplateError> {
    let b = matched.as_bytes();
    if b.get(1) == Some(&b'$') {
        return Ok("$".into());
    }
    if b.get(1) != Some(&b'{') {
        let name = &matched[1..];
        return Ok(lookup_or_warn(name, mapping));
    }
    let (substring, rest) = match first_brace_closing(b) {
        Some(c) => (&matched[..=c], &matched[c + 1..]),
        None => (matched, ""),
    };
    // Re-match the truncated text: it must still be a valid braced form.
    let sb = substring.as_bytes();
    let Some(end) = braced_end(sb, 2) else {
        return Err(TemplateError::Invalid {
            template: String::new(),
        });
    };
    let inner = &substring[2..end - 1];
    let name_len = inner
        .bytes()
        .position(|c| !is_name_char(c))
        .unwrap_or(inner.len());
    let (name, op_rest) = inner.split_at(name_len);
    if op_rest.is_empty() {
        return Ok(lookup_or_warn(name, mapping));
    }
    let (op, arg) = if let Some(a) = op_rest.strip_prefix(':') {
        (&op_rest[..2], &a[1..])
    } else {
        (&op_rest[..1], &op_rest[1..])
    };
    // The argument is substituted first, whether it is used or not.
    let arg = substitute(arg, mapping)?;
    let value = mapping.lookup(name);
    let applied = match op {
        ":-" => match value {
            Some(v) if !v.is_empty() => v,
            _ => arg,
        },
        "-" => value.unwrap_or(arg),
        ":+" => match value {
            Some(v) if !v.is_empty() => arg,
            other => other.unwrap_or_default(),
        },
        "+" => match value {
            Some(_) => arg,
            None => String::new(),
        },
        ":?" | "?" => match value {
            Some(v) if op == "?" || !v.is_empty() => v,
            _ => {
                return Err(TemplateError::Missing {
                    variable: name.to_string(),
                    reason: arg,
                })
            }
        },
        _ => unreachable!("operators are matched above"),
    };
    let nested = substitute(rest, mapping)?;
    Ok(applied + &nested)
}

fn lookup_or_warn(name: &str, mapping: &dyn Mapping) -> String {
    match mapping.lookup(name) {
        Some(v) => v,
        None => {
            mapping.unset(name);
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn sub(t: &str) -> Result<String, TemplateError> {
        let env: HashMap<&str, &str> = [("A", "a"), ("E", ""), ("N", "1")].into_iter().collect();
        substitute(t, &|k: &str| env.get(k).map(|s| s.to_string()))
    }

    #[test]
    fn every_form() {
        assert_eq!(sub("$A ${A} x$$y").unwrap(), "a a x$y");
        assert_eq!(sub("${U:-d} ${E:-d} ${U-d} ${E-d}").unwrap(), "d d d ");
        assert_eq!(
            sub("${A:+alt} ${E:+alt} ${E+alt} ${U+alt}").unwrap(),
            "alt  alt "
        );
        assert_eq!(sub("${U:-${A}-${N}}x${A}").unwrap(), "a-1xa");
        assert_eq!(sub("${U:-${V:-deep}}").unwrap(), "deep");
        assert_eq!(sub("$1 $- $").unwrap(), "$1 $- $");
        assert_eq!(sub("${E?x}").unwrap(), "");
    }

    #[test]
    fn errors() {
        assert_eq!(
            sub("${U:?need U}").unwrap_err().to_string(),
            "required variable U is missing a value: need U"
        );
        assert_eq!(
            sub("${E:?}").unwrap_err().to_string(),
            "required variable E is missing a value"
        );
        assert_eq!(
            sub("a ${ b").unwrap_err(),
            TemplateError::Invalid {
                template: "a ${ b".into()
            }
        );
        assert!(matches!(sub("${A:x}"), Err(TemplateError::Invalid { .. })));
    }
}
