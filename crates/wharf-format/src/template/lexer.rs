//! The template lexer, a port of Go's `text/template/parse/lex.go`.
//!
//! The whole input is tokenized up front. A lexical error becomes an
//! [`Kind::Error`] token at the place it occurs, followed by nothing; the
//! parser reports it when it gets there, so an earlier syntax error still
//! wins, as in Go (whose lexer runs lazily).

use std::fmt;

use crate::gofmt::quote;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Error,
    Bool,
    /// Printable ASCII character; grab bag for comma etc.
    Char,
    CharConstant,
    Complex,
    /// `=`
    Assign,
    /// `:=`
    Declare,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    Space,
    String,
    Text,
    Variable,
    // Keywords.
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

impl Kind {
    fn is_keyword(self) -> bool {
        matches!(
            self,
            Kind::Block
                | Kind::Break
                | Kind::Continue
                | Kind::Dot
                | Kind::Define
                | Kind::Else
                | Kind::End
                | Kind::If
                | Kind::Nil
                | Kind::Range
                | Kind::Template
                | Kind::With
        )
    }
}

fn keyword(word: &str) -> Option<Kind> {
    Some(match word {
        "block" => Kind::Block,
        "break" => Kind::Break,
        "continue" => Kind::Continue,
        "define" => Kind::Define,
        "else" => Kind::Else,
        "end" => Kind::End,
        "if" => Kind::If,
        "nil" => Kind::Nil,
        "range" => Kind::Range,
        "template" => Kind::Template,
        "with" => Kind::With,
        _ => return None,
    })
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub kind: Kind,
    /// Byte offset of the token in the template source.
    pub pos: usize,
    pub val: String,
    /// 1-based line of the token's start.
    pub line: usize,
}

impl fmt::Display for Token {
    /// Go's `item.String()`, used in "unexpected X in Y" messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Kind::Eof => f.write_str("EOF"),
            Kind::Error => f.write_str(&self.val),
            k if k.is_keyword() => write!(f, "<{}>", self.val),
            _ if self.val.chars().count() > 10 => {
                let head: String = self.val.chars().take(10).collect();
                write!(f, "{}...", quote(&head))
            }
            _ => f.write_str(&quote(&self.val)),
        }
    }
}

const LEFT_DELIM: &str = "{{";
const RIGHT_DELIM: &str = "}}";
const LEFT_COMMENT: &str = "/*";
const RIGHT_COMMENT: &str = "*/";
const TRIM_MARKER_LEN: usize = 2;

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alphanumeric(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric()
}

fn has_left_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(b[1] as char)
}

fn has_right_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && is_space(b[0] as char) && b[1] == b'-'
}

fn left_trim_len(s: &str) -> usize {
    s.len() - s.trim_start_matches(is_space).len()
}

fn right_trim_len(s: &str) -> usize {
    s.len() - s.trim_end_matches(is_space).len()
}

/// Go's `%#U`: `U+0041 'A'` (or just `U+0001` when not printable).
fn sharp_u(c: char) -> String {
    if crate::gofmt::is_print(c) {
        format!("U+{:04X} '{c}'", c as u32)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

struct Lexer<'s> {
    src: &'s str,
    pos: usize,
    start: usize,
    paren_depth: usize,
    tokens: Vec<Token>,
}

/// Tokenizes a whole template. The last token is `Eof` or `Error`.
pub(crate) fn lex(src: &str) -> Vec<Token> {
    let mut l = Lexer {
        src,
        pos: 0,
        start: 0,
        paren_depth: 0,
        tokens: Vec::new(),
    };
    // A `Result` whose error means "an Error token was emitted; stop".
    let _ = l.run();
    l.tokens
}

struct Stop;

type Step = Result<(), Stop>;

impl Lexer<'_> {
    fn rest(&self) -> &str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn line_at(&self, pos: usize) -> usize {
        1 + self.src[..pos].bytes().filter(|&b| b == b'\n').count()
    }

    fn emit_val(&mut self, kind: Kind, val: String) {
        let line = self.line_at(self.start);
        self.tokens.push(Token {
            kind,
            pos: self.start,
            val,
            line,
        });
        self.start = self.pos;
    }

    fn emit(&mut self, kind: Kind) {
        let val = self.src[self.start..self.pos].to_string();
        self.emit_val(kind, val);
    }

    fn error(&mut self, msg: String) -> Step {
        self.emit_val(Kind::Error, msg);
        Err(Stop)
    }

    fn run(&mut self) -> Step {
        loop {
            // Text up to the next action.
            let Some(x) = self.rest().find(LEFT_DELIM) else {
                self.pos = self.src.len();
                if self.pos > self.start {
                    self.emit(Kind::Text);
                }
                self.emit(Kind::Eof);
                return Ok(());
            };
            let delim_at = self.pos + x;
            let mut text_end = delim_at;
            if has_left_trim_marker(&self.src[delim_at + LEFT_DELIM.len()..]) {
                text_end -= right_trim_len(&self.src[self.start..delim_at]);
            }
            if text_end > self.start {
                self.pos = text_end;
                self.emit(Kind::Text);
            }
            self.pos = delim_at;
            self.start = delim_at;
            self.left_delim()?;
        }
    }

    /// At `{{`: a comment or the start of an action.
    fn left_delim(&mut self) -> Step {
        self.pos += LEFT_DELIM.len();
        let trim = has_left_trim_marker(self.rest());
        let after_marker = if trim { TRIM_MARKER_LEN } else { 0 };
        if self.src[self.pos + after_marker..].starts_with(LEFT_COMMENT) {
            self.pos += after_marker;
            self.start = self.pos;
            return self.comment();
        }
        self.emit(Kind::LeftDelim);
        self.pos += after_marker;
        self.start = self.pos;
        self.paren_depth = 0;
        self.inside_action()
    }

    fn comment(&mut self) -> Step {
        self.pos += LEFT_COMMENT.len();
        let Some(i) = self.rest().find(RIGHT_COMMENT) else {
            return self.error("unclosed comment".into());
        };
        self.pos += i + RIGHT_COMMENT.len();
        let (delim, trim) = self.at_right_delim();
        if !delim {
            return self.error("comment ends before closing delimiter".into());
        }
        if trim {
            self.pos += TRIM_MARKER_LEN;
        }
        self.pos += RIGHT_DELIM.len();
        if trim {
            self.pos += left_trim_len(self.rest());
        }
        self.start = self.pos;
        Ok(())
    }

    fn at_right_delim(&self) -> (bool, bool) {
        let rest = self.rest();
        if has_right_trim_marker(rest) && rest[TRIM_MARKER_LEN..].starts_with(RIGHT_DELIM) {
            return (true, true);
        }
        (rest.starts_with(RIGHT_DELIM), false)
    }

    fn right_delim(&mut self, trim: bool) {
        if trim {
            self.pos += TRIM_MARKER_LEN;
            self.start = self.pos;
        }
        self.pos += RIGHT_DELIM.len();
        self.emit(Kind::RightDelim);
        if trim {
            self.pos += left_trim_len(self.rest());
            self.start = self.pos;
        }
    }

    fn inside_action(&mut self) -> Step {
        loop {
            let (delim, trim) = self.at_right_delim();
            if delim {
                if self.paren_depth == 0 {
                    self.right_delim(trim);
                    return Ok(());
                }
                return self.error("unclosed left paren".into());
            }
            let Some(c) = self.next() else {
                return self.error("unclosed action".into());
            };
            match c {
                c if is_space(c) => {
                    self.pos -= c.len_utf8();
                    self.space();
                }
                '=' => self.emit(Kind::Assign),
                ':' => {
                    if self.next() != Some('=') {
                        return self.error("expected :=".into());
                    }
                    self.emit(Kind::Declare);
                }
                '|' => self.emit(Kind::Pipe),
                '"' => self.quote()?,
                '`' => self.raw_quote()?,
                '$' => self.variable()?,
                '\'' => self.char_constant()?,
                '.' => {
                    // Look ahead for ".field" versus ".5".
                    if self.peek().is_some_and(|n| !n.is_ascii_digit()) {
                        self.field_or_variable(Kind::Field)?;
                    } else {
                        self.pos -= 1;
                        self.number()?;
                    }
                }
                '+' | '-' | '0'..='9' => {
                    self.pos -= 1;
                    self.number()?;
                }
                '(' => {
                    self.emit(Kind::LeftParen);
                    self.paren_depth += 1;
                }
                ')' => {
                    if self.paren_depth == 0 {
                        return self.error("unexpected right paren".into());
                    }
                    self.paren_depth -= 1;
                    self.emit(Kind::RightParen);
                }
                c if is_alphanumeric(c) => {
                    self.pos -= c.len_utf8();
                    self.identifier()?;
                }
                c if c.is_ascii() && !c.is_ascii_control() => self.emit(Kind::Char),
                c => {
                    return self.error(format!("unrecognized character in action: {}", sharp_u(c)))
                }
            }
        }
    }

    /// A run of spaces. Emits nothing when the spaces were only the start of
    /// a trim-marked right delimiter (` -}}`).
    fn space(&mut self) {
        let mut n = 0;
        while self.peek().is_some_and(is_space) {
            self.next();
            n += 1;
        }
        // Careful about a trim-marked closing delimiter, which has a minus
        // after a space.
        let last_space = self.pos - 1;
        if has_right_trim_marker(&self.src[last_space..])
            && self.src[last_space + TRIM_MARKER_LEN..].starts_with(RIGHT_DELIM)
        {
            self.pos = last_space;
            if n == 1 {
                return;
            }
        }
        self.emit(Kind::Space);
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) if is_space(c) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            Some(c) => RIGHT_DELIM.starts_with(c),
        }
    }

    fn identifier(&mut self) -> Step {
        while self.peek().is_some_and(is_alphanumeric) {
            self.next();
        }
        if !self.at_terminator() {
            let c = self.peek().unwrap_or('\0');
            return self.error(format!("bad character {}", sharp_u(c)));
        }
        let word = &self.src[self.start..self.pos];
        let kind = match keyword(word) {
            Some(k) => k,
            None if word == "true" || word == "false" => Kind::Bool,
            None => Kind::Identifier,
        };
        self.emit(kind);
        Ok(())
    }

    fn variable(&mut self) -> Step {
        if self.at_terminator() {
            self.emit(Kind::Variable);
            return Ok(());
        }
        self.field_or_variable(Kind::Variable)
    }

    /// `.Name` or `$name`, the `.` or `$` already consumed.
    fn field_or_variable(&mut self, kind: Kind) -> Step {
        if self.at_terminator() {
            self.emit(if kind == Kind::Variable {
                Kind::Variable
            } else {
                Kind::Dot
            });
            return Ok(());
        }
        while self.peek().is_some_and(is_alphanumeric) {
            self.next();
        }
        if !self.at_terminator() {
            let c = self.peek().unwrap_or('\0');
            return self.error(format!("bad character {}", sharp_u(c)));
        }
        self.emit(kind);
        Ok(())
    }

    fn char_constant(&mut self) -> Step {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    Some(c) if c != '\n' => {}
                    _ => return self.error("unterminated character constant".into()),
                },
                None | Some('\n') => return self.error("unterminated character constant".into()),
                Some('\'') => break,
                Some(_) => {}
            }
        }
        self.emit(Kind::CharConstant);
        Ok(())
    }

    fn quote(&mut self) -> Step {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    Some(c) if c != '\n' => {}
                    _ => return self.error("unterminated quoted string".into()),
                },
                None | Some('\n') => return self.error("unterminated quoted string".into()),
                Some('"') => break,
                Some(_) => {}
            }
        }
        self.emit(Kind::String);
        Ok(())
    }

    fn raw_quote(&mut self) -> Step {
        loop {
            match self.next() {
                None => return self.error("unterminated raw quoted string".into()),
                Some('`') => break,
                Some(_) => {}
            }
        }
        self.emit(Kind::RawString);
        Ok(())
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.peek() {
            Some(c) if valid.contains(c) => {
                self.next();
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if self.peek().is_some_and(is_alphanumeric) {
            self.next();
            return false;
        }
        true
    }

    fn number(&mut self) -> Step {
        if !self.scan_number() {
            let text = self.src[self.start..self.pos].to_string();
            return self.error(format!("bad number syntax: {}", quote(&text)));
        }
        if matches!(self.peek(), Some('+' | '-')) {
            // Complex: 1+2i. No spaces, must end in 'i'.
            if !self.scan_number() || !self.src[..self.pos].ends_with('i') {
                let text = self.src[self.start..self.pos].to_string();
                return self.error(format!("bad number syntax: {}", quote(&text)));
            }
            self.emit(Kind::Complex);
        } else {
            self.emit(Kind::Number);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(Kind, String)> {
        lex(src).into_iter().map(|t| (t.kind, t.val)).collect()
    }

    #[test]
    fn text_and_fields() {
        use Kind::*;
        assert_eq!(
            kinds("a {{.A.B}} b"),
            vec![
                (Text, "a ".into()),
                (LeftDelim, "{{".into()),
                (Field, ".A".into()),
                (Field, ".B".into()),
                (RightDelim, "}}".into()),
                (Text, " b".into()),
                (Eof, "".into()),
            ]
        );
    }

    #[test]
    fn trim_markers() {
        use Kind::*;
        assert_eq!(
            kinds("a \n {{- 3 -}} \n b"),
            vec![
                (Text, "a".into()),
                (LeftDelim, "{{".into()),
                (Number, "3".into()),
                (RightDelim, "}}".into()),
                (Text, "b".into()),
                (Eof, "".into()),
            ]
        );
        // Any space character completes a trim marker.
        assert_eq!(kinds("a \n{{-\n.A\t-}}\n b")[0], (Text, "a".into()));
        assert_eq!(kinds("a \n{{-\n.A\t-}}\n b")[4], (Text, "b".into()));
        // "{{-3}}" is the number -3, not a trim marker.
        assert_eq!(kinds("x {{-3}}")[2], (Number, "-3".into()));
    }

    #[test]
    fn comments_vanish() {
        use Kind::*;
        assert_eq!(
            kinds("a {{- /* c */ -}} b"),
            vec![(Text, "a".into()), (Text, "b".into()), (Eof, "".into())]
        );
    }

    #[test]
    fn declarations_and_pipes() {
        use Kind::*;
        let k: Vec<Kind> = lex("{{$x := .A | printf \"%s\" (len $)}}")
            .into_iter()
            .map(|t| t.kind)
            .collect();
        assert_eq!(
            k,
            vec![
                LeftDelim, Variable, Space, Declare, Space, Field, Space, Pipe, Space, Identifier,
                Space, String, Space, LeftParen, Identifier, Space, Variable, RightParen,
                RightDelim, Eof
            ]
        );
    }

    #[test]
    fn errors() {
        let last = |s: &str| lex(s).pop().unwrap();
        assert_eq!(last("{{.A").val, "unclosed action");
        assert_eq!(last("{{\"abc}}").val, "unterminated quoted string");
        assert_eq!(last("{{(.A}}").val, "unclosed left paren");
        assert_eq!(last("{{3x}}").val, "bad number syntax: \"3x\"");
        assert_eq!(last("{{.A#}}").val, "bad character U+0023 '#'");
        assert_eq!(last("{{/* x }}").val, "unclosed comment");
    }
}
