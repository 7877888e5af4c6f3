//! Shell-word processing with BuildKit's rules (`shell.Lex`): quote removal,
//! escapes, `$VAR` / `${VAR...}` substitution and word splitting.
//!
//! Supported substitutions: `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR-word}`,
//! `${VAR:+word}`, `${VAR+word}`, `${VAR:?msg}`, `${VAR?msg}`, `${VAR#pat}`,
//! `${VAR##pat}`, `${VAR%pat}`, `${VAR%%pat}`, `${VAR/pat/repl}` and
//! `${VAR//pat/repl}`. Unknown variables expand to the empty string.
//! Positional (`$1`) and special (`$@`, `$$`, ...) parameters are looked up
//! like any other name (and so are normally empty).

use crate::error::LexError;
use crate::pattern;

/// Variable lookup used by the lexer: `Some(value)` when set (possibly empty).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// An environment with no variables set.
pub fn empty_env(_: &str) -> Option<String> {
    None
}

/// Shell-word lexer. `escape` is the Dockerfile escape character (`\` or
/// `` ` ``); the other settings mirror BuildKit's `Lex` options and default to
/// off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lexer {
    escape: char,
    raw_quotes: bool,
    raw_escapes: bool,
    skip_process_quotes: bool,
    skip_unset_env: bool,
}

/// Names referenced during an expansion, in order of first use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VarRefs {
    /// Referenced variables that were set.
    pub matched: Vec<String>,
    /// Referenced variables that were not set.
    pub unmatched: Vec<String>,
}

impl VarRefs {
    fn note(&mut self, name: &str, found: bool) {
        let list = if found {
            &mut self.matched
        } else {
            &mut self.unmatched
        };
        if !list.iter().any(|n| n == name) {
            list.push(name.to_string());
        }
    }

    /// Adds the names of `other` not yet recorded.
    pub fn merge(&mut self, other: &VarRefs) {
        for name in &other.matched {
            self.note(name, true);
        }
        for name in &other.unmatched {
            self.note(name, false);
        }
    }

    /// All referenced names (set ones first).
    pub fn all(&self) -> Vec<String> {
        let mut all = self.matched.clone();
        for name in &self.unmatched {
            if !all.contains(name) {
                all.push(name.clone());
            }
        }
        all
    }

    /// True when no variable was referenced.
    pub fn is_empty(&self) -> bool {
        self.matched.is_empty() && self.unmatched.is_empty()
    }
}

/// Result of [`Lexer::process_word_with_matches`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expansion {
    /// The processed word.
    pub value: String,
    /// Which variables it referenced.
    pub refs: VarRefs,
}

impl Default for Lexer {
    fn default() -> Self {
        Self::new('\\')
    }
}

impl Lexer {
    /// A lexer using `escape` as escape character.
    pub fn new(escape: char) -> Self {
        Self {
            escape,
            raw_quotes: false,
            raw_escapes: false,
            skip_process_quotes: false,
            skip_unset_env: false,
        }
    }

    /// The escape character.
    pub fn escape(&self) -> char {
        self.escape
    }

    /// Keep quote characters in the output (they still group words).
    pub fn with_raw_quotes(mut self, on: bool) -> Self {
        self.raw_quotes = on;
        self
    }

    /// Keep escape characters in the output.
    pub fn with_raw_escapes(mut self, on: bool) -> Self {
        self.raw_escapes = on;
        self
    }

    /// Treat quotes as ordinary characters (used for heredoc contents).
    pub fn with_skip_process_quotes(mut self, on: bool) -> Self {
        self.skip_process_quotes = on;
        self
    }

    /// Leave references to unset variables untouched (`$X`, `${X:-y}`).
    pub fn with_skip_unset_env(mut self, on: bool) -> Self {
        self.skip_unset_env = on;
        self
    }

    /// Processes `word` as one word: quotes removed, escapes and variables
    /// resolved, inner whitespace kept.
    pub fn process_word(&self, word: &str, env: Env<'_>) -> Result<String, LexError> {
        self.process_word_with_matches(word, env).map(|e| e.value)
    }

    /// Like [`process_word`](Self::process_word), also reporting which
    /// variables were referenced (for build-arg cache keys and lint).
    pub fn process_word_with_matches(
        &self,
        word: &str,
        env: Env<'_>,
    ) -> Result<Expansion, LexError> {
        let mut state = State::new(self, word, env);
        let (value, _) = state
            .process_until(None, self.raw_escapes)
            .map_err(|reason| LexError::new(word, reason))?;
        Ok(Expansion {
            value,
            refs: state.refs,
        })
    }

    /// Processes `word` and splits the result into words on unquoted
    /// whitespace; whitespace coming from variable values splits too, quoted
    /// whitespace does not. Empty words are dropped (`a "" b` gives `a`, `b`).
    pub fn process_words(&self, word: &str, env: Env<'_>) -> Result<Vec<String>, LexError> {
        let mut state = State::new(self, word, env);
        let (_, words) = state
            .process_until(None, self.raw_escapes)
            .map_err(|reason| LexError::new(word, reason))?;
        Ok(words)
    }
}

/// Accumulates words for `process_words`.
#[derive(Default)]
struct Words {
    buf: String,
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, ch: char) {
        if ch.is_whitespace() {
            if self.in_word && !self.buf.is_empty() {
                self.words.push(std::mem::take(&mut self.buf));
                self.in_word = false;
            }
        } else {
            self.add_raw_char(ch);
        }
    }

    fn add_raw_char(&mut self, ch: char) {
        self.buf.push(ch);
        self.in_word = true;
    }

    fn add_string(&mut self, s: &str) {
        for ch in s.chars() {
            self.add_char(ch);
        }
    }

    fn add_raw_string(&mut self, s: &str) {
        self.buf.push_str(s);
        self.in_word = true;
    }

    fn finish(mut self) -> Vec<String> {
        if !self.buf.is_empty() {
            self.words.push(self.buf);
        }
        self.words
    }
}

/// Scanner state for one `process_*` call.
struct State<'a> {
    lex: &'a Lexer,
    chars: Vec<char>,
    pos: usize,
    env: Env<'a>,
    raw_escapes: bool,
    refs: VarRefs,
}

type Step<T> = Result<T, String>;

impl<'a> State<'a> {
    fn new(lex: &'a Lexer, word: &str, env: Env<'a>) -> Self {
        Self {
            lex,
            chars: word.chars().collect(),
            pos: 0,
            env,
            raw_escapes: lex.raw_escapes,
            refs: VarRefs::default(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let ch = self.peek();
        if ch.is_some() {
            self.pos += 1;
        }
        ch
    }

    fn lookup(&mut self, name: &str) -> Option<String> {
        let value = (self.env)(name);
        self.refs.note(name, value.is_some());
        value
    }

    /// Processes input until `stop` (consumed) or the end of input, returning
    /// the processed text and its word split.
    fn process_until(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> Step<(String, Vec<String>)> {
        let saved = std::mem::replace(&mut self.raw_escapes, raw_escapes);
        let result = self.process_until_inner(stop);
        self.raw_escapes = saved;
        result
    }

    fn process_until_inner(&mut self, stop: Option<char>) -> Step<(String, Vec<String>)> {
        let mut result = String::new();
        let mut words = Words::default();
        let quotes = !self.lex.skip_process_quotes;

        while let Some(ch) = self.peek() {
            if stop == Some(ch) {
                self.next();
                return Ok((result, words.finish()));
            }
            match ch {
                '$' => {
                    let value = self.process_dollar()?;
                    result.push_str(&value);
                    words.add_string(&value);
                }
                '<' => {
                    let value = self.process_possible_heredoc();
                    result.push_str(&value);
                    words.add_raw_string(&value);
                }
                '\'' if quotes => {
                    let value = self.process_single_quote()?;
                    result.push_str(&value);
                    words.add_raw_string(&value);
                }
                '"' if quotes => {
                    let value = self.process_double_quote()?;
                    result.push_str(&value);
                    words.add_raw_string(&value);
                }
                _ => {
                    self.next();
                    if ch == self.lex.escape {
                        if self.raw_escapes {
                            words.add_raw_char(ch);
                            result.push(ch);
                        }
                        // The escape character escapes anything but the end.
                        let Some(escaped) = self.next() else {
                            break;
                        };
                        words.add_raw_char(escaped);
                        result.push(escaped);
                    } else {
                        words.add_char(ch);
                        result.push(ch);
                    }
                }
            }
        }

        match stop {
            Some(stop) => Err(format!(
                "unexpected end of statement while looking for matching {stop}"
            )),
            None => Ok((result, words.finish())),
        }
    }

    /// `'...'`: everything literal, no escapes.
    fn process_single_quote(&mut self) -> Step<String> {
        let mut out = String::new();
        self.next();
        if self.lex.raw_quotes {
            out.push('\'');
        }
        loop {
            match self.next() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching single-quote"
                            .to_string(),
                    )
                }
                Some('\'') => {
                    if self.lex.raw_quotes {
                        out.push('\'');
                    }
                    return Ok(out);
                }
                Some(ch) => out.push(ch),
            }
        }
    }

    /// `"..."`: variables expand; the escape character only escapes `"`,
    /// `$` and itself, otherwise it is kept.
    fn process_double_quote(&mut self) -> Step<String> {
        let mut out = String::new();
        self.next();
        if self.lex.raw_quotes {
            out.push('"');
        }
        loop {
            match self.peek() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching double-quote"
                            .to_string(),
                    )
                }
                Some('"') => {
                    self.next();
                    if self.lex.raw_quotes {
                        out.push('"');
                    }
                    return Ok(out);
                }
                Some('$') => {
                    let value = self.process_dollar()?;
                    out.push_str(&value);
                }
                Some(_) => {
                    let mut ch = self.next().unwrap_or_default();
                    if ch == self.lex.escape {
                        if self.raw_escapes {
                            out.push(ch);
                        }
                        match self.peek() {
                            // A trailing escape is dropped; the missing quote
                            // is reported on the next iteration.
                            None => continue,
                            Some(next) if next == '"' || next == '$' || next == self.lex.escape => {
                                ch = next;
                                self.next();
                            }
                            Some(_) => {}
                        }
                    }
                    out.push(ch);
                }
            }
        }
    }

    fn process_dollar(&mut self) -> Step<String> {
        self.next(); // '$'

        if self.peek() != Some('{') {
            let name = self.process_name();
            if name.is_empty() {
                return Ok("$".to_string());
            }
            return Ok(match self.lookup(&name) {
                Some(value) => value,
                None if self.lex.skip_unset_env => format!("${name}"),
                None => String::new(),
            });
        }

        self.next(); // '{'
        match self.peek() {
            None => return Err("syntax error: missing '}'".to_string()),
            Some('{' | '}' | ':') => return Err("syntax error: bad substitution".to_string()),
            Some(_) => {}
        }
        let name = self.process_name();
        let Some(ch) = self.next() else {
            return Err("syntax error: missing '}'".to_string());
        };

        match ch {
            '}' => Ok(match self.lookup(&name) {
                Some(value) => value,
                None if self.lex.skip_unset_env => format!("${{{name}}}"),
                None => String::new(),
            }),
            ':' | '+' | '-' | '?' | '#' | '%' => self.process_modifier(name, ch),
            '/' => self.process_replace(name),
            other => Err(format!("unsupported modifier ({other}) in substitution")),
        }
    }

    /// `${name<op>word}` for the `-`, `+`, `?`, `#`, `%` families.
    fn process_modifier(&mut self, name: String, first: char) -> Step<String> {
        let mut modifier = first.to_string();
        let mut op = first;
        let null_is_unset = first == ':';
        if null_is_unset {
            op = self
                .next()
                .ok_or_else(|| "syntax error: missing '}'".to_string())?;
            modifier.push(op);
        }
        let pattern_op = op == '#' || op == '%';
        if null_is_unset && pattern_op {
            return Err(format!("unsupported modifier ({modifier}) in substitution"));
        }

        let word = self.process_word_until('}', pattern_op)?;
        let value = self.lookup(&name);
        if self.lex.skip_unset_env && value.is_none() {
            return Ok(format!("${{{name}{modifier}{word}}}"));
        }
        let unset_or_null = match &value {
            None => true,
            Some(v) => null_is_unset && v.is_empty(),
        };

        match op {
            '-' => Ok(if unset_or_null {
                word
            } else {
                value.unwrap_or_default()
            }),
            '+' => Ok(if unset_or_null { String::new() } else { word }),
            '?' => match value {
                None => Err(format!(
                    "{name}: {}",
                    non_empty_or(word, "is not allowed to be unset")
                )),
                Some(v) if null_is_unset && v.is_empty() => Err(format!(
                    "{name}: {}",
                    non_empty_or(word, "is not allowed to be empty")
                )),
                Some(v) => Ok(v),
            },
            '#' | '%' => {
                // `#`/`%` remove the shortest match, `##`/`%%` the longest.
                let (greedy, pat) = match word.strip_prefix(op) {
                    Some(rest) => (true, rest.to_string()),
                    None => (false, word),
                };
                let value = value.unwrap_or_default();
                if op == '%' {
                    pattern::trim_suffix(&pat, &value, greedy)
                } else {
                    pattern::trim_prefix(&pat, &value, greedy)
                }
            }
            _ => Err(format!("unsupported modifier ({modifier}) in substitution")),
        }
    }

    /// `${name/pattern/replacement}` and `${name//pattern/replacement}`.
    fn process_replace(&mut self, name: String) -> Step<String> {
        let all = self.peek() == Some('/');
        if all {
            self.next();
        }
        let pat = match self.process_until(Some('/'), true) {
            Ok((pat, _)) => pat,
            Err(_) if self.peek().is_none() => {
                return Err("syntax error: missing '/' in ${}".to_string())
            }
            Err(e) => return Err(e),
        };
        let replacement = self.process_word_until('}', true)?;
        let value = self.lookup(&name);
        match value {
            None if self.lex.skip_unset_env => Ok(format!("${{{name}/{pat}/{replacement}}}")),
            value => pattern::replace(&pat, &value.unwrap_or_default(), &replacement, all),
        }
    }

    /// Processes a nested word ending at `stop` (used inside `${...}`).
    fn process_word_until(&mut self, stop: char, raw_escapes: bool) -> Step<String> {
        match self.process_until(Some(stop), raw_escapes) {
            Ok((word, _)) => Ok(word),
            Err(_) if self.peek().is_none() => Err("syntax error: missing '}'".to_string()),
            Err(e) => Err(e),
        }
    }

    /// Reads a variable name: letters, digits and `_`; a leading digit run
    /// (positional parameter) or a single special parameter character.
    fn process_name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && is_digit(ch) {
                while let Some(d) = self.peek().filter(|&c| is_digit(c)) {
                    name.push(d);
                    self.next();
                }
                return name;
            }
            if name.is_empty() && is_special_param(ch) {
                self.next();
                return ch.to_string();
            }
            if !(ch.is_alphabetic() || is_digit(ch) || ch == '_') {
                break;
            }
            name.push(ch);
            self.next();
        }
        name
    }

    /// `<<` plus following blanks stays glued to the heredoc word.
    fn process_possible_heredoc(&mut self) -> String {
        self.next();
        if self.peek() != Some('<') {
            return "<".to_string();
        }
        self.next();
        let mut out = "<<".to_string();
        while let Some(ch) = self.peek().filter(|c| matches!(c, '\t' | '\r' | ' ')) {
            out.push(ch);
            self.next();
        }
        out
    }
}

fn non_empty_or(word: String, default: &str) -> String {
    if word.is_empty() {
        default.to_string()
    } else {
        word
    }
}

fn is_digit(ch: char) -> bool {
    ch.is_ascii_digit() || (!ch.is_ascii() && ch.is_numeric())
}

/// POSIX special parameters.
fn is_special_param(ch: char) -> bool {
    matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0')
}
