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

    /// For every start position in `text` (0..=len), the end of the match
    /// starting exactly there, as a backtracking engine would pick it
    /// (stars prefer the longest run when `greedy`, the shortest
    /// otherwise), or `None`.
    ///
    /// Computed as a table over (token, position), one row at a time from
    /// the last token back: O(tokens x text) time and O(text) memory. The
    /// backtracking matcher this replaces was exponential in the number
    /// of stars (`${V%*****...}` ran for minutes: found by the fuzzer).
    /// A star's row follows from its neighbour: in greedy order the
    /// candidates from `si` are those from `si + 1` and then `si` itself
    /// (lazy: the reverse), a run never crossing a newline (Go's `.`).
    fn ends(&self, text: &[char], greedy: bool) -> Vec<Option<usize>> {
        let n = text.len();
        // Past the last token: the match ends where the text is.
        let mut next: Vec<Option<usize>> = (0..=n).map(Some).collect();
        for token in self.tokens.iter().rev() {
            let mut row = vec![None; n + 1];
            for si in (0..=n).rev() {
                let here = text.get(si).copied();
                row[si] = match *token {
                    Token::Lit(lit) => match here {
                        Some(c) if c == lit => next[si + 1],
                        _ => None,
                    },
                    Token::Any => match here {
                        Some(c) if c != '\n' => next[si + 1],
                        _ => None,
                    },
                    Token::Star => match here {
                        Some(c) if c != '\n' => {
                            if greedy {
                                row[si + 1].or(next[si])
                            } else {
                                next[si].or(row[si + 1])
                            }
                        }
                        // At a newline or the end, the run can only be empty.
                        _ => next[si],
                    },
                };
            }
            next = row;
        }
        next
    }
}

/// The leftmost match at or after `from`, `(start, end)` in char indices,
/// given the pattern's `ends` over the text.
fn find(ends: &[Option<usize>], from: usize) -> Option<(usize, usize)> {
    ends.iter()
        .enumerate()
        .skip(from)
        .find_map(|(s, e)| e.map(|e| (s, e)))
}

/// `${VAR#pattern}` / `${VAR##pattern}`: remove the shortest / longest
/// matching prefix.
pub(crate) fn trim_prefix(pattern: &str, value: &str, greedy: bool) -> Result<String, String> {
    let pat = Pattern::compile(pattern).map_err(|e| invalid_pattern(pattern, &e))?;
    let chars: Vec<char> = value.chars().collect();
    Ok(match pat.ends(&chars, greedy)[0] {
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
    Ok(match pat.ends(&reversed, greedy)[0] {
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
    let ends = pat.ends(&text, true);
    if !all {
        return Ok(match find(&ends, 0) {
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
    // Every match gets the replacement, and a replacement may itself be a
    // replace-all of another variable: nested, the word grows as the
    // product of the match counts (a 200-byte line of nested
    // `${PATH//x/${PATH//x/...}}` reached gigabytes: found by the fuzzer).
    // BuildKit has no bound; wharf refuses a result past MAX_EXPANSION.
    let too_long = || {
        format!(
            "substitution result of ({pattern}) is longer than {} MiB",
            MAX_EXPANSION >> 20
        )
    };
    let mut out = String::new();
    let mut last_end = 0;
    let mut search = 0;
    while search <= text.len() {
        let Some((start, end)) = find(&ends, search) else {
            break;
        };
        out.extend(&text[last_end..start]);
        // No replacement for an empty match right after the previous match.
        if end > last_end || start == 0 {
            out.push_str(&replacement);
            if out.len() > MAX_EXPANSION {
                return Err(too_long());
            }
        }
        last_end = end;
        search = if search + 1 > end { search + 1 } else { end };
    }
    out.extend(&text[last_end..]);
    Ok(out)
}

/// The longest word a replace-all may produce (bytes).
const MAX_EXPANSION: usize = 1 << 20;

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

    /// Many stars against a long value stay linear in both (the old
    /// backtracking matcher never finished these: found by the fuzzer).
    #[test]
    fn many_stars_match_in_polynomial_time() {
        let value = "k".repeat(2000);
        let stars = "*".repeat(2000);
        assert_eq!(trim_suffix(&stars, &value, false).unwrap(), value);
        assert_eq!(trim_suffix(&stars, &value, true).unwrap(), "");
        let alternating = format!("{}b", "*k".repeat(1000));
        assert_eq!(trim_prefix(&alternating, &value, true).unwrap(), value);
        assert_eq!(replace(&alternating, &value, "x", true).unwrap(), value);
        assert_eq!(replace(&stars, &value, "x", false).unwrap(), "x");
    }

    /// Nested replace-alls would grow the word exponentially: refused
    /// past the bound, fine below it.
    #[test]
    fn replace_all_results_are_bounded() {
        let value = "/usr/bin:/bin";
        let big = "x".repeat(200_000);
        assert!(replace("", value, &big, true).is_err());
        assert!(replace("/", value, &big, true).is_ok());
        assert_eq!(replace("", "ab", "-", true).unwrap(), "-a-b-");
    }

    #[test]
    fn wildcards_stop_at_newline() {
        assert_eq!(trim_prefix("*b", "a\nb", true).unwrap(), "a\nb");
        assert_eq!(trim_prefix("a?b", "a\nb", true).unwrap(), "a\nb");
    }
}
