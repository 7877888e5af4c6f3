//! `.env` and `env_file` files, parsed as compose-go's dotenv parser
//! does: `KEY=VALUE`, `export KEY=...`, `KEY: VALUE`, comments, single
//! quotes (literal), double quotes (escapes and interpolation), unquoted
//! values cut at ` #`, `${VAR}` expanded from the lookup then from the
//! file's earlier lines, and a bare `KEY` taking its value from the lookup.

use indexmap::IndexMap;

use crate::template::substitute;

/// Parses `src` into `out` (later keys override earlier ones).
pub fn parse(
    src: &str,
    out: &mut IndexMap<String, String>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), String> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut p = Parser { line: 1 };
    let mut cut = src;
    loop {
        cut = p.statement_start(cut);
        if cut.is_empty() {
            break;
        }
        let (key, left, inherited) = p.key_name(cut)?;
        if key.contains(' ') {
            return Err(format!("line {}: key cannot contain a space", p.line));
        }
        if inherited {
            if let Some(v) = lookup(&key) {
                out.insert(key, v);
            }
            cut = left;
            continue;
        }
        let (value, left) = p.value(left, out, lookup)?;
        out.insert(key, value);
        cut = left;
    }
    Ok(())
}

struct Parser {
    line: usize,
}

fn is_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{a0}'
    )
}

impl Parser {
    fn statement_start<'a>(&mut self, src: &'a str) -> &'a str {
        let mut src = src;
        loop {
            let Some(pos) = src.find(|c: char| {
                if c == '\n' {
                    self.line += 1;
                }
                !c.is_whitespace()
            }) else {
                return "";
            };
            src = &src[pos..];
            if !src.starts_with('#') {
                return src;
            }
            match src.find('\n') {
                Some(p) => src = &src[p..],
                None => return "",
            }
        }
    }

    fn key_name<'a>(&mut self, src: &'a str) -> Result<(String, &'a str, bool), String> {
        let mut src = src;
        if let Some(rest) = src.strip_prefix("export") {
            if rest.starts_with(char::is_whitespace) {
                src = rest.trim_start_matches(is_space);
            }
        }
        let mut key = "";
        let mut offset = 0;
        let mut inherited = false;
        let mut found = false;
        for (i, c) in src.char_indices() {
            if is_space(c) {
                continue;
            }
            match c {
                '=' | ':' | '\n' => {
                    key = &src[..i];
                    offset = i + 1;
                    inherited = c == '\n';
                    found = true;
                    break;
                }
                '_' | '.' | '-' | '[' | ']' => {}
                c if c.is_alphanumeric() => {}
                c => {
                    return Err(format!(
                        "line {}: unexpected character {:?} in variable name {:?}",
                        self.line,
                        c.to_string(),
                        src.split('\n').next().unwrap_or_default()
                    ))
                }
            }
        }
        if !found {
            // The last line has no `=`: a bare key, inherited.
            key = src;
            offset = src.len();
            inherited = true;
        }
        if inherited && !key.contains(' ') {
            self.line += 1;
        }
        let key = key.trim_end().to_string();
        let rest = src[offset..].trim_start_matches(is_space);
        Ok((key, rest, inherited))
    }

    fn value<'a>(
        &mut self,
        src: &'a str,
        vars: &IndexMap<String, String>,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(String, &'a str), String> {
        let quote = src.chars().next().filter(|c| *c == '"' || *c == '\'');
        let Some(quote) = quote else {
            let (value, rest) = src.split_once('\n').unwrap_or((src, ""));
            self.line += 1;
            let value = value.split(" #").next().unwrap_or_default().trim_end();
            return Ok((expand(value, vars, lookup)?, rest));
        };
        let bytes = src.as_bytes();
        let mut escaped = false;
        let mut chars: Vec<u8> = Vec::new();
        for i in 1..bytes.len() {
            let c = bytes[i];
            if c == b'\n' {
                self.line += 1;
            }
            if c != quote as u8 {
                if !escaped && c == b'\\' {
                    escaped = true;
                    continue;
                }
                if escaped {
                    escaped = false;
                    chars.push(b'\\');
                }
                chars.push(c);
                continue;
            }
            if escaped {
                escaped = false;
                chars.push(c);
                continue;
            }
            let mut value = String::from_utf8_lossy(&chars).into_owned();
            if quote == '"' {
                value = expand(&unescape(&value), vars, lookup)?;
            }
            return Ok((value, &src[i + 1..]));
        }
        let end = src.find('\n').unwrap_or(src.len());
        Err(format!(
            "line {}: unterminated quoted value {}",
            self.line,
            &src[..end]
        ))
    }
}

/// Double-quoted escapes: `\n`, `\t`..., `\$` kept as `$$` for the
/// interpolation that follows, `\0NNN` octal.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.peek().copied() {
            Some(e @ ('a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | '"' | '\\')) => {
                it.next();
                out.push(match e {
                    'a' => '\u{7}',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'v' => '\u{b}',
                    '"' => '"',
                    _ => '\\',
                });
            }
            Some('$') => {
                it.next();
                out.push_str("$$");
            }
            _ => out.push('\\'),
        }
    }
    out
}

fn expand(
    value: &str,
    vars: &IndexMap<String, String>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    substitute(value, &|k: &str| lookup(k).or_else(|| vars.get(k).cloned()))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let src = "# c\nA=1\nexport B='x $A'\nC=\"a\\n${A}\"\nD=v # comment\nE: e\nF\nG=${A:-z}\n";
        let mut out = IndexMap::new();
        parse(src, &mut out, &|k: &str| {
            (k == "F").then(|| "from-env".to_string())
        })
        .unwrap();
        let got: Vec<(&str, &str)> = out.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            got,
            vec![
                ("A", "1"),
                ("B", "x $A"),
                ("C", "a\n1"),
                ("D", "v"),
                ("E", "e"),
                ("F", "from-env"),
                ("G", "1")
            ]
        );
    }
}
