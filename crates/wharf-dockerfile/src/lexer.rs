//! Physical-line handling: splitting the source into lines, comments, and
//! line continuations with the escape character.

/// Reads the source line by line, keeping line endings, and counts lines.
pub(crate) struct LineReader<'a> {
    rest: &'a str,
    /// Number of lines consumed so far (so the last line returned has this
    /// 1-based number).
    line: usize,
}

impl<'a> LineReader<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Self {
            rest: src.strip_prefix('\u{feff}').unwrap_or(src),
            line: 0,
        }
    }

    /// 1-based number of the last line returned (0 before the first).
    pub(crate) fn line(&self) -> usize {
        self.line
    }

    /// Next line including its `\n` (if any).
    pub(crate) fn next_line(&mut self) -> Option<&'a str> {
        if self.rest.is_empty() {
            return None;
        }
        let end = self.rest.find('\n').map_or(self.rest.len(), |i| i + 1);
        let (line, rest) = self.rest.split_at(end);
        self.rest = rest;
        self.line += 1;
        Some(line)
    }
}

/// Removes trailing `\r` and `\n` characters.
pub(crate) fn trim_newline(line: &str) -> &str {
    line.trim_end_matches(['\r', '\n'])
}

/// A comment line: `#` as first non-blank character.
pub(crate) fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// A line with nothing but blanks.
pub(crate) fn is_blank(line: &str) -> bool {
    trim_newline(line).trim_start().is_empty()
}

/// If `line` ends with the escape character (optionally followed by spaces or
/// tabs) that is not itself escaped, returns the line without it (keeping
/// what came before, including blanks) and `true` for "continues".
pub(crate) fn trim_continuation(line: &str, escape: char) -> (&str, bool) {
    let body = line.trim_end_matches([' ', '\t']);
    let Some(before) = body.strip_suffix(escape) else {
        return (line, false);
    };
    // `\\` at the end is an escaped escape, not a continuation (BuildKit
    // also does not look further back: `\\\` is not a continuation either).
    if !before.is_empty() && before.ends_with(escape) {
        return (line, false);
    }
    (before, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation() {
        assert_eq!(trim_continuation("RUN a \\", '\\'), ("RUN a ", true));
        assert_eq!(trim_continuation("RUN a \\ \t", '\\'), ("RUN a ", true));
        assert_eq!(trim_continuation("\\", '\\'), ("", true));
        assert_eq!(trim_continuation("RUN a \\\\", '\\'), ("RUN a \\\\", false));
        assert_eq!(
            trim_continuation("RUN a \\\\\\", '\\'),
            ("RUN a \\\\\\", false)
        );
        assert_eq!(trim_continuation("RUN a `", '`'), ("RUN a ", true));
        assert_eq!(trim_continuation("RUN a \\", '`'), ("RUN a \\", false));
        assert_eq!(trim_continuation("RUN a", '\\'), ("RUN a", false));
    }

    #[test]
    fn reader() {
        let mut r = LineReader::new("\u{feff}a\r\nb\n\nc");
        assert_eq!(r.next_line(), Some("a\r\n"));
        assert_eq!(r.next_line(), Some("b\n"));
        assert_eq!(r.next_line(), Some("\n"));
        assert_eq!(r.next_line(), Some("c"));
        assert_eq!(r.line(), 4);
        assert_eq!(r.next_line(), None);
    }
}
