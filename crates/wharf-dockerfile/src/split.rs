//! Low-level splitting of an instruction line: keyword, `--flags`, and the
//! word splitting used by `ENV`, `LABEL` and `ARG` (quotes and escapes are
//! kept; they are processed later by the shell lexer).

/// Whitespace as BuildKit's `[\t\v\f\r ]+` separator regex sees it.
fn is_sep(c: char) -> bool {
    matches!(c, '\t' | '\x0b' | '\x0c' | '\r' | ' ')
}

/// Splits on runs of `[\t\v\f\r ]`, dropping empty pieces.
pub(crate) fn split_whitespace_delimited(s: &str) -> Vec<String> {
    s.split(is_sep)
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Splits `s` at the first run of separator whitespace.
fn split_first_word(s: &str) -> (&str, Option<&str>) {
    match s.find(is_sep) {
        Some(idx) => {
            let rest = s[idx..].trim_start_matches(is_sep);
            (&s[..idx], Some(rest))
        }
        None => (s, None),
    }
}

/// Splits a logical line into (keyword, flags, remaining arguments).
pub(crate) fn split_command(line: &str, escape: char) -> (String, Vec<String>, String) {
    let (cmd, rest) = split_first_word(line.trim());
    let (args, flags) = match rest {
        Some(rest) => extract_builder_flags(rest, escape),
        None => (String::new(), Vec::new()),
    };
    (cmd.to_string(), flags, args.trim().to_string())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Spaces,
    Word,
    Quote(char),
}

/// Extracts leading `--flag[=value]` words. Quotes inside a flag are removed
/// and the escape character takes the next character literally. A bare `--`
/// ends the flags. Returns the rest of the line and the flags.
pub(crate) fn extract_builder_flags(line: &str, escape: char) -> (String, Vec<String>) {
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    let mut blank_ok = false;
    let mut phase = Phase::Spaces;
    let mut i = 0;

    while i < chars.len() {
        let (pos, ch) = chars[i];
        match phase {
            Phase::Spaces => {
                if ch.is_whitespace() {
                    i += 1;
                    continue;
                }
                let starts_flag = ch == '-' && chars.get(i + 1).is_some_and(|&(_, c)| c == '-');
                if !starts_flag {
                    return (line[pos..].to_string(), words);
                }
                phase = Phase::Word;
            }
            Phase::Word => {
                if ch.is_whitespace() {
                    phase = Phase::Spaces;
                    if word == "--" {
                        return (line[pos..].to_string(), words);
                    }
                    if blank_ok || !word.is_empty() {
                        words.push(std::mem::take(&mut word));
                    }
                    word.clear();
                    blank_ok = false;
                    i += 1;
                    continue;
                }
                if ch == '\'' || ch == '"' {
                    phase = Phase::Quote(ch);
                    blank_ok = true;
                    i += 1;
                    continue;
                }
                if ch == escape {
                    if i + 1 == chars.len() {
                        i += 1;
                        continue; // escape at the very end is dropped
                    }
                    i += 1;
                    word.push(chars[i].1);
                    i += 1;
                    continue;
                }
                word.push(ch);
                i += 1;
            }
            Phase::Quote(quote) => {
                if ch == quote {
                    phase = Phase::Word;
                    i += 1;
                    continue;
                }
                if ch == escape {
                    if i + 1 == chars.len() {
                        phase = Phase::Word;
                        i += 1;
                        continue;
                    }
                    i += 1;
                    word.push(chars[i].1);
                    i += 1;
                    continue;
                }
                word.push(ch);
                i += 1;
            }
        }
    }

    if phase != Phase::Spaces && word != "--" && (blank_ok || !word.is_empty()) {
        words.push(word);
    }
    (String::new(), words)
}

/// Splits `rest` into words on whitespace, keeping quotes and escapes in the
/// words (`a "b c"` gives `a`, `"b c"`). Used for `ENV`, `LABEL` and `ARG`.
pub(crate) fn parse_words(rest: &str, escape: char) -> Vec<String> {
    let chars: Vec<char> = rest.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    let mut blank_ok = false;
    let mut phase = Phase::Spaces;
    let mut i = 0;

    while i < chars.len() {
        let ch = chars[i];
        if phase == Phase::Spaces {
            if ch.is_whitespace() {
                i += 1;
                continue;
            }
            phase = Phase::Word;
        }
        match phase {
            Phase::Spaces => unreachable!("handled above"),
            Phase::Word => {
                if ch.is_whitespace() {
                    phase = Phase::Spaces;
                    if blank_ok || !word.is_empty() {
                        words.push(std::mem::take(&mut word));
                    }
                    blank_ok = false;
                    i += 1;
                    continue;
                }
                if ch == '\'' || ch == '"' {
                    phase = Phase::Quote(ch);
                    blank_ok = true;
                }
                if ch == escape {
                    if i + 1 == chars.len() {
                        i += 1;
                        continue; // escape at the very end is dropped
                    }
                    // Outside quotes the escape and the escaped character
                    // (even a quote) are both kept.
                    word.push(ch);
                    i += 1;
                    word.push(chars[i]);
                    i += 1;
                    continue;
                }
                word.push(ch);
                i += 1;
            }
            Phase::Quote(quote) => {
                if ch == quote {
                    phase = Phase::Word;
                }
                // Nothing can be escaped inside single quotes.
                if ch == escape && quote != '\'' {
                    if i + 1 == chars.len() {
                        phase = Phase::Word;
                        i += 1;
                        continue;
                    }
                    word.push(ch);
                    i += 1;
                    word.push(chars[i]);
                    i += 1;
                    continue;
                }
                word.push(ch);
                i += 1;
            }
        }
    }

    if phase != Phase::Spaces && (blank_ok || !word.is_empty()) {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        let cases: &[(&str, &[&str])] = &[
            ("foo", &["foo"]),
            ("foo bar", &["foo", "bar"]),
            ("foo\\ bar", &["foo\\ bar"]),
            ("foo=bar", &["foo=bar"]),
            ("foo bar 'abc xyz'", &["foo", "bar", "'abc xyz'"]),
            ("foo bar \"abc xyz\"", &["foo", "bar", "\"abc xyz\""]),
            ("àöû", &["àöû"]),
            ("föo bàr \"âbc xÿz\"", &["föo", "bàr", "\"âbc xÿz\""]),
            ("a=\"b \\\" c\" d", &["a=\"b \\\" c\"", "d"]),
            ("a='b \\' c", &["a='b \\'", "c"]),
            ("a\\", &["a"]),
            ("''", &["''"]),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_words(input, '\\'), *expected, "{input}");
        }
        assert_eq!(parse_words("a` b", '`'), ["a` b"]);
    }

    #[test]
    fn flags() {
        let cases: &[(&str, &[&str], &str)] = &[
            ("foo /tmp/", &[], "foo /tmp/"),
            ("--user=me foo /tmp/", &["--user=me"], "foo /tmp/"),
            ("--a=1 --b -- foo", &["--a=1", "--b"], " foo"),
            ("-- foo", &[], " foo"),
            ("--doit [ \"a\" ]", &["--doit"], "[ \"a\" ]"),
            ("--x=\"a b\" c", &["--x=a b"], "c"),
            ("--x=\"\" c", &["--x="], "c"),
            ("--x=a\\ b c", &["--x=a b"], "c"),
            ("--from=build", &["--from=build"], ""),
            ("-x y", &[], "-x y"),
            ("--", &[], ""),
        ];
        for (input, flags, rest) in cases {
            let (r, f) = extract_builder_flags(input, '\\');
            assert_eq!(f, *flags, "{input}");
            assert_eq!(r, *rest, "{input}");
        }
    }

    #[test]
    fn command() {
        assert_eq!(
            split_command("  RUN\t --mount=type=cache,target=/x  echo hi  ", '\\'),
            (
                "RUN".to_string(),
                vec!["--mount=type=cache,target=/x".to_string()],
                "echo hi".to_string()
            )
        );
        assert_eq!(
            split_command("CMD", '\\'),
            ("CMD".to_string(), vec![], String::new())
        );
    }
}
