//! Parser directives (`# syntax=...`, `# escape=...`, `# check=...`).
//!
//! Directives are only recognised at the very top of the Dockerfile: the
//! first line that is not a well-formed directive for a known key (an
//! instruction, an ordinary comment, even an empty line) ends the directive
//! section. Keys are case-insensitive and may appear only once.

/// Directives found at the top of a Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directives {
    /// `# syntax=` value (frontend image reference), recorded but unused.
    pub syntax: Option<String>,
    /// `# escape=` character: `\` (default) or `` ` ``.
    pub escape: char,
    /// `# check=` value (lint configuration), recorded but unused.
    pub check: Option<String>,
}

impl Default for Directives {
    fn default() -> Self {
        Self {
            syntax: None,
            escape: '\\',
            check: None,
        }
    }
}

/// Tracks whether we are still in the directive section.
#[derive(Debug, Default)]
pub(crate) struct DirectiveParser {
    done: bool,
    seen: Vec<String>,
}

/// Go's regexp `\s`.
fn is_re_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ')
}

/// Matches `^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` and returns the key and
/// value.
fn match_directive(line: &str) -> Option<(&str, &str)> {
    let first = line.chars().next()?;
    if !first.is_ascii_alphabetic() {
        return None;
    }
    let key_len = line
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(line.len());
    let (key, rest) = line.split_at(key_len);
    let rest = rest.trim_start_matches(is_re_space).strip_prefix('=')?;
    if rest.is_empty() {
        return None;
    }
    let trimmed = rest.trim_matches(is_re_space);
    if !trimmed.is_empty() {
        return Some((key, trimmed));
    }
    // All blanks: the lazy value group still takes one character.
    let last = rest.char_indices().last().map_or(0, |(i, _)| i);
    Some((key, &rest[last..]))
}

impl DirectiveParser {
    /// Feeds one line (newline removed). Returns `Ok(true)` when it was a
    /// directive (and records it in `directives`).
    pub(crate) fn parse_line(
        &mut self,
        line: &str,
        directives: &mut Directives,
    ) -> Result<bool, String> {
        if self.done {
            return Ok(false);
        }
        let Some(body) = line.strip_prefix('#') else {
            self.done = true;
            return Ok(false);
        };
        let Some((key, value)) = match_directive(body.trim_start()) else {
            self.done = true;
            return Ok(false);
        };
        let key = key.to_ascii_lowercase();
        if !matches!(key.as_str(), "syntax" | "escape" | "check") {
            self.done = true;
            return Ok(false);
        }
        if self.seen.contains(&key) {
            return Err(format!("only one {key} parser directive can be used"));
        }
        self.seen.push(key.clone());
        match key.as_str() {
            "escape" => {
                directives.escape = match value {
                    "\\" => '\\',
                    "`" => '`',
                    other => {
                        return Err(format!(
                            "invalid escape token '{other}' does not match ` or \\"
                        ))
                    }
                }
            }
            "syntax" => directives.syntax = Some(value.to_string()),
            _ => directives.check = Some(value.to_string()),
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lines: &[&str]) -> Result<Directives, String> {
        let mut parser = DirectiveParser::default();
        let mut d = Directives::default();
        for line in lines {
            parser.parse_line(line, &mut d)?;
        }
        Ok(d)
    }

    #[test]
    fn recognised() {
        let d = run(&[
            "# syntax = docker/dockerfile:1",
            "#ESCAPE=`",
            "# check=skip=all",
        ])
        .unwrap();
        assert_eq!(d.syntax.as_deref(), Some("docker/dockerfile:1"));
        assert_eq!(d.escape, '`');
        assert_eq!(d.check.as_deref(), Some("skip=all"));
    }

    #[test]
    fn section_ends_at_first_non_directive() {
        assert_eq!(run(&["# hello", "# escape=`"]).unwrap().escape, '\\');
        assert_eq!(run(&["", "# escape=`"]).unwrap().escape, '\\');
        assert_eq!(
            run(&["# key = FOO bar", "# escape=`"]).unwrap().escape,
            '\\'
        );
        assert_eq!(run(&["FROM x", "# escape=`"]).unwrap().escape, '\\');
    }

    #[test]
    fn errors() {
        assert_eq!(
            run(&["# escape=`", "# escape=\\"]).unwrap_err(),
            "only one escape parser directive can be used"
        );
        assert_eq!(
            run(&["# escape=x"]).unwrap_err(),
            "invalid escape token 'x' does not match ` or \\"
        );
    }

    #[test]
    fn value_matching() {
        assert_eq!(match_directive("syntax=a b  "), Some(("syntax", "a b")));
        assert_eq!(match_directive("syntax="), None);
        assert_eq!(match_directive("syntax  =   "), Some(("syntax", " ")));
        assert_eq!(match_directive("1x=a"), None);
    }
}
