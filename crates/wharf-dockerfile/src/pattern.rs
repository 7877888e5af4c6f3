//! Shell-style wildcard patterns used by `${VAR#pat}`, `${VAR%pat}` and
//! `${VAR/pat/repl}`.
//!
//! BuildKit converts these patterns to Go regular expressions (`*` becomes
//! `.*` or `.*?`, `?` becomes `.`) and uses leftmost-first matching. This
//! module implements the same semantics with a small backtracking matcher, so
//! no regex engine is needed. Like Go's `.`, wildcards never match `\n`.

/// One element of a compiled pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// `*`: any run of characters.
    Star,
    /// `?`: exactly one character.
    Any,
    /// A literal character.
    Lit(char),
}

/// A compiled wildcard pattern.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    tokens: Vec<Token>,
}

impl Pattern {
    /// Compiles `pattern`. Backslash escapes `*`, `?` and `\`; `\}` and `\/`
    /// (needed inside `${...}`) stand for the plain character. Any other
    /// escape is an error.
    pub(crate) fn compile(pattern: &str) -> Result<Self, String> {
        let mut tokens = Vec::new();
        let mut chars = pattern.chars().peekable();
        while let Some(ch) = chars.next() {
            match ch {
                '*' => tokens.push(Token::Star),
                '?' => tokens.push(Token::Any),
                '\\' => match chars.peek().copied() {
                    // `}` and `/` are escaped for the `${}` syntax only; the
                    // escape is not part of the pattern.
                    Some('}') | Some('/') => {}
                    Some(next @ ('*' | '?' | '\\')) => {
                        chars.next();
                        tokens.push(Token::Lit(next));
                    }
                    Some(next) => return Err(format!("invalid escape '\\{next}'")),
                    None => return Err("invalid escape '\\'".to_string()),
                },
                other => tokens.push(Token::Lit(other)),
            }
        }
        Ok(Self { tokens })
    }

    fn reversed(&self) -> Self {
        let mut tokens = self.tokens.clone();
        tokens.reverse();
        Self { tokens }
    }

    /// Returns the end of the match starting exactly at `start`, choosing the
    /// match a backtracking engine would pick (stars prefer the longest run
    /// when `greedy`, the shortest otherwise).
    fn match_at(&self, text: &[char], start: usize, greedy: bool) -> Option<usize> {
        self.match_from(0, text, start, greedy)
    }

    fn match_from(&self, ti: usize, text: &[char], si: usize, greedy: bool) -> Option<usize> {
        let Some(token) = self.tokens.get(ti) else {
            return Some(si);
        };
        match *token {
            Token::Star => {
                // A star cannot cross a newline (like Go's `.`).
                let limit = text[si..]
                    .iter()
                    .position(|&c| c == '\n')
                    .map_or(text.len(), |p| si + p);
                if greedy {
                    (si..=limit)
                        .rev()
                        .find_map(|k| self.match_from(ti + 1, text, k, greedy))
                } else {
                    (si..=limit).find_map(|k| self.match_from(ti + 1, text, k, greedy))
                }
            }
            Token::Any => match text.get(si) {
                Some(&c) if c != '\n' => self.match_from(ti + 1, text, si + 1, greedy),
                _ => None,
            },
            Token::Lit(lit) => match text.get(si) {
                Some(&c) if c == lit => self.match_from(ti + 1, text, si + 1, greedy),
                _ => None,
            },
        }
    }

    /// Leftmost match at or after `from`: `(start, end)` in char indices.
    fn find(&self, text: &[char], from: usize, greedy: bool) -> Option<(usize, usize)> {
        (from..=text.len()).find_map(|s| self.match_at(text, s, greedy).map(|e| (s, e)))
    }
}

/// `${VAR#pattern}` / `${VAR##pattern}`: remove the shortest / longest
/// matching prefix.
pub(crate) fn trim_prefix(pattern: &str, value: &str, greedy: bool) -> Result<String, String> {
    let pat = Pattern::compile(pattern).map_err(|e| invalid_pattern(pattern, &e))?;
    let chars: Vec<char> = value.chars().collect();
    Ok(match pat.match_at(&chars, 0, greedy) {
        Some(end) => chars[end..].iter().collect(),
        None => value.to_string(),
    })
}

/// `${VAR%pattern}` / `${VAR%%pattern}`: remove the shortest / longest
/// matching suffix (done by matching the reversed pattern against the
/// reversed value, as BuildKit does).
pub(crate) fn trim_suffix(pattern: &str, value: &str, greedy: bool) -> Result<String, String> {
    let pat = Pattern::compile(pattern)
        .map_err(|e| invalid_pattern(pattern, &e))?
        .reversed();
    let reversed: Vec<char> = value.chars().rev().collect();
    Ok(match pat.match_at(&reversed, 0, greedy) {
        Some(end) => reversed[end..].iter().rev().collect(),
        None => value.to_string(),
    })
}

/// `${VAR/pattern/replacement}` (first match) and `${VAR//pattern/replacement}`
/// (all matches). Wildcards are greedy. For replace-all, `$name`/`${name}`
/// references in the replacement expand to nothing and `$$` to `$`, as with
/// Go's `Regexp.ReplaceAllString` (the pattern has no capture groups).
pub(crate) fn replace(
    pattern: &str,
    value: &str,
    replacement: &str,
    all: bool,
) -> Result<String, String> {
    let pat = Pattern::compile(pattern).map_err(|e| invalid_pattern(pattern, &e))?;
    let text: Vec<char> = value.chars().collect();
    if !all {
        return Ok(match pat.find(&text, 0, true) {
            Some((start, end)) => {
                let mut out: String = text[..start].iter().collect();
                out.push_str(replacement);
                out.extend(&text[end..]);
                out
            }
            None => value.to_string(),
        });
    }

    let replacement = expand_template(replacement);
    let mut out = String::new();
    let mut last_end = 0;
    let mut search = 0;
    while search <= text.len() {
        let Some((start, end)) = pat.find(&text, search, true) else {
            break;
        };
        out.extend(&text[last_end..start]);
        // No replacement for an empty match right after the previous match.
        if end > last_end || start == 0 {
            out.push_str(&replacement);
        }
        last_end = end;
        search = if search + 1 > end { search + 1 } else { end };
    }
    out.extend(&text[last_end..]);
    Ok(out)
}

fn invalid_pattern(pattern: &str, err: &str) -> String {
    format!("invalid pattern ({pattern}) in substitution: {err}")
}

fn is_name_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Expands a Go regexp replacement template for a pattern without groups.
fn expand_template(template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(idx) = rest.find('$') {
        out.push_str(&rest[..idx]);
        let after = &rest[idx + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('{') {
            match inner.find('}') {
                Some(close) if close > 0 && inner[..close].chars().all(is_name_char) => {
                    rest = &inner[close + 1..];
                }
                _ => {
                    out.push('$');
                    rest = after;
                }
            }
        } else {
            let name_len: usize = after
                .chars()
                .take_while(|&c| is_name_char(c))
                .map(char::len_utf8)
                .sum();
            if name_len == 0 {
                out.push('$');
            }
            rest = &after[name_len..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_shortest_and_longest() {
        assert_eq!(trim_prefix("*x", "xxyy", false).unwrap(), "xyy");
        assert_eq!(trim_prefix("*x", "xxyy", true).unwrap(), "yy");
        assert_eq!(trim_prefix("*", "xxyy", false).unwrap(), "xxyy");
        assert_eq!(trim_prefix("*x*y", "xxyy", false).unwrap(), "y");
        assert_eq!(trim_prefix("?\\?", "???y", false).unwrap(), "?y");
        assert_eq!(trim_prefix("", "abc", true).unwrap(), "abc");
        assert_eq!(trim_prefix("z", "abc", true).unwrap(), "abc");
    }

    #[test]
    fn suffix_shortest_and_longest() {
        assert_eq!(trim_suffix("x", "xxyy", false).unwrap(), "xxyy");
        assert_eq!(trim_suffix("y*", "xxyy", false).unwrap(), "xxy");
        assert_eq!(trim_suffix("y*", "xxyy", true).unwrap(), "xx");
        assert_eq!(trim_suffix("\\**", "xx**", true).unwrap(), "xx");
        assert_eq!(trim_suffix("\\**\\*", "a***yy*", true).unwrap(), "a");
    }

    #[test]
    fn special_characters_are_literal() {
        let pattern = "()[]{\\}^$.\\*\\?|\\\\";
        assert_eq!(trim_prefix(pattern, "()[]{}^$.*?|\\x", false).unwrap(), "x");
    }

    #[test]
    fn invalid_escapes() {
        for bad in ["\\", "\\x", "\\\\\\"] {
            assert!(Pattern::compile(bad).is_err(), "{bad}");
        }
        assert_eq!(
            trim_prefix("\\x", "abc", false).unwrap_err(),
            "invalid pattern (\\x) in substitution: invalid escape '\\x'"
        );
    }

    #[test]
    fn replace_first_and_all() {
        assert_eq!(
            replace("\\*/", "/foo*/*/*.txt", ".", false).unwrap(),
            "/foo.*/*.txt"
        );
        assert_eq!(
            replace("\\*/", "/foo*/*/*.txt", ".", true).unwrap(),
            "/foo..*.txt"
        );
        assert_eq!(
            replace("/tmp", "/tmp/tmp/bar.txt", "", true).unwrap(),
            "/bar.txt"
        );
        assert_eq!(
            replace("/?/", "/a/foo/b/c.txt", "/", true).unwrap(),
            "/foo/c.txt"
        );
        assert_eq!(replace("", "xxyy", "ww", false).unwrap(), "wwxxyy");
        assert_eq!(replace("", "xxyy", "", true).unwrap(), "xxyy");
        assert_eq!(replace("", "ab", "-", true).unwrap(), "-a-b-");
        assert_eq!(
            replace("\\/", "/tmp/foo.txt", "\\/", true).unwrap(),
            "\\/tmp\\/foo.txt"
        );
    }

    #[test]
    fn replace_all_template() {
        assert_eq!(replace("a", "xax", "$$", true).unwrap(), "x$x");
        assert_eq!(replace("a", "xax", "$1", true).unwrap(), "xx");
        assert_eq!(replace("a", "xax", "${x}y", true).unwrap(), "xyx");
        assert_eq!(replace("a", "xax", "$-", true).unwrap(), "x$-x");
        // Single replacement uses the text literally.
        assert_eq!(replace("a", "xax", "$1", false).unwrap(), "x$1x");
    }

    #[test]
    fn wildcards_stop_at_newline() {
        assert_eq!(trim_prefix("*b", "a\nb", true).unwrap(), "a\nb");
        assert_eq!(trim_prefix("a?b", "a\nb", true).unwrap(), "a\nb");
    }
}
