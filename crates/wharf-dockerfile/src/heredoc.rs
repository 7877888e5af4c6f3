//! Heredocs (`<<EOF`, `<<-EOF`, `<<'EOF'`, `3<<EOF`) as BuildKit recognises
//! them on `RUN`, `COPY` and `ADD` lines.

use crate::shell_lex::{empty_env, Lexer};

/// One heredoc attached to an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// Terminator word with quotes removed (`<<'EOF'` gives `EOF`).
    pub name: String,
    /// File descriptor prefix (`3<<EOF`), 0 when absent.
    pub file_descriptor: u32,
    /// False when any part of the terminator was quoted: the content must
    /// then not be variable-expanded.
    pub expand: bool,
    /// `<<-`: leading tabs are stripped from content lines (see
    /// [`Heredoc::chomped_content`]); the terminator may be tab-indented.
    pub chomp: bool,
    /// Raw body lines, each with its line ending, without the terminator
    /// line. Tabs are not stripped here even when `chomp` is set.
    pub content: String,
}

impl Heredoc {
    /// The content with leading tabs removed from every line when `chomp` is
    /// set, else the content unchanged.
    pub fn chomped_content(&self) -> String {
        if self.chomp {
            chomp_content(&self.content)
        } else {
            self.content.clone()
        }
    }
}

/// Removes leading tabs from every line of `content`.
pub fn chomp_content(content: &str) -> String {
    content
        .split_inclusive('\n')
        .map(|line| line.trim_start_matches('\t'))
        .collect()
}

/// Parses a single word as a heredoc marker (`<<EOF`, `<<-"EOF"`, `2<<EOF`),
/// with empty content. `None` when the word is not one (`<<`, `<EOF`,
/// `<<EOF sh`) or its quoting is broken (`<<'EOF`).
pub fn parse_heredoc(word: &str) -> Option<Heredoc> {
    try_parse_heredoc(word).ok().flatten()
}

/// Like [`parse_heredoc`], but broken quoting is an error.
pub(crate) fn try_parse_heredoc(word: &str) -> Result<Option<Heredoc>, String> {
    // ^(\d*)<<(-?)\s*([^<]*)$
    let digits_len = word.bytes().take_while(u8::is_ascii_digit).count();
    let (digits, rest) = word.split_at(digits_len);
    let Some(rest) = rest.strip_prefix("<<") else {
        return Ok(None);
    };
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    let rest = rest.trim_start_matches(['\t', '\n', '\x0c', '\r', ' ']);
    if rest.contains('<') || rest.is_empty() {
        return Ok(None);
    }
    let file_descriptor = digits.parse().unwrap_or(0);

    // Lex the word with and without quote removal: if the quote counts
    // differ, part of the word was quoted and the content is not expanded.
    let lexer = Lexer::new('\\').with_skip_unset_env(true);
    let words = lexer
        .process_words(rest, &empty_env)
        .map_err(|e| e.to_string())?;
    if words.len() != 1 {
        return Ok(None);
    }
    let raw_words = lexer
        .with_raw_quotes(true)
        .process_words(rest, &empty_env)
        .map_err(|e| e.to_string())?;
    if raw_words.len() != words.len() {
        return Err(format!(
            "internal lexing of heredoc produced inconsistent results: {rest}"
        ));
    }
    let quotes = |s: &str| s.chars().filter(|&c| c == '\'' || c == '"').count();
    let name = words.into_iter().next().unwrap_or_default();
    let expand = quotes(&name) == quotes(&raw_words[0]);

    Ok(Some(Heredoc {
        name,
        file_descriptor,
        expand,
        chomp,
        content: String::new(),
    }))
}

/// Finds the heredoc markers on an instruction line, in order.
pub(crate) fn heredocs_from_line(line: &str) -> Result<Vec<Heredoc>, String> {
    let lexer = Lexer::new('\\')
        .with_raw_quotes(true)
        .with_raw_escapes(true)
        .with_skip_unset_env(true);
    // A line that does not lex has no heredocs.
    let words = lexer.process_words(line, &empty_env).unwrap_or_default();
    let mut docs = Vec::new();
    for word in words {
        if let Some(doc) = try_parse_heredoc(&word)? {
            docs.push(doc);
        }
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(src: &str) -> Option<String> {
        try_parse_heredoc(src).unwrap().map(|h| h.name)
    }

    #[test]
    fn valid_markers() {
        for src in [
            "<<EOF",
            "<<'EOF'",
            "<<\"EOF\"",
            "<<-EOF",
            "<<-'EOF'",
            "<<-\"EOF\"",
            "<<EO\"F\"",
            "<< EOF",
            "<<- EOF",
        ] {
            assert_eq!(name(src).as_deref(), Some("EOF"), "{src}");
        }
    }

    #[test]
    fn not_markers() {
        for src in ["", "EOF", "<<", "<<-", "<EOF", "<<<EOF", "<<EOF sh"] {
            assert_eq!(name(src), None, "{src}");
        }
    }

    #[test]
    fn broken_quotes_are_errors() {
        for src in ["<<'EOF", "<<\"EOF", "<<EOF'", "<<EOF\""] {
            assert!(try_parse_heredoc(src).is_err(), "{src}");
            assert_eq!(parse_heredoc(src), None);
        }
    }

    #[test]
    fn flags() {
        let h = parse_heredoc("3<<-'EOF'").unwrap();
        assert_eq!((h.file_descriptor, h.chomp, h.expand), (3, true, false));
        let h = parse_heredoc("<<eo\\'f").unwrap();
        assert_eq!((h.name.as_str(), h.expand), ("eo'f", true));
        let h = parse_heredoc("<<'e'o\\'f").unwrap();
        assert_eq!((h.name.as_str(), h.expand), ("eo'f", false));
        let h = parse_heredoc("<<$EOF").unwrap();
        assert_eq!((h.name.as_str(), h.expand), ("$EOF", true));
    }

    #[test]
    fn markers_on_lines() {
        let names = |line: &str| -> Vec<String> {
            heredocs_from_line(line)
                .unwrap()
                .into_iter()
                .map(|h| h.name)
                .collect()
        };
        assert_eq!(names("RUN <<-EOF"), ["EOF"]);
        // `<<-` followed by a blank is split off the word: not a heredoc.
        assert!(names("RUN <<- EOF").is_empty());
        assert_eq!(names("RUN << -EOF"), ["-EOF"]);
        assert_eq!(names("RUN 4<<EOF"), ["EOF"]);
        assert_eq!(names("RUN <<EOF <<EOF2"), ["EOF", "EOF2"]);
        assert_eq!(names("RUN <<  EOF  > foo"), ["EOF"]);
        assert!(names("RUN '<<EOF'").is_empty());
        assert!(names("RUN \"<<EOF\"").is_empty());
        assert!(names("RUN echo \"unterminated <<EOF").is_empty());
    }

    #[test]
    fn chomp() {
        assert_eq!(chomp_content("\thello\n\t\tworld\n"), "hello\nworld\n");
        assert_eq!(chomp_content("a\tb\n"), "a\tb\n");
    }
}
