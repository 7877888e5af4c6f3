//! Fuzz target: the shell-word lexer (`$VAR`, `${VAR:-x}`, `${VAR#pat}`,
//! quotes, escapes, word splitting) under every lexer option, plus the
//! `RUN --mount` spec parser and heredoc word parser built on it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wharf_dockerfile::{expand_heredoc_content, parse_heredoc, Lexer, Mount};

fn env(name: &str) -> Option<String> {
    match name {
        "A" => Some("alpha".into()),
        "B" => Some("b*c?[d]".into()),
        "EMPTY" => Some(String::new()),
        "WORDS" => Some(" x  y\tz ".into()),
        "PATH" => Some("/usr/bin:/bin".into()),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&opts, rest)) = data.split_first() else {
        return;
    };
    let Ok(word) = std::str::from_utf8(rest) else {
        return;
    };
    let escape = if opts & 1 == 0 { '\\' } else { '`' };
    let lexer = Lexer::new(escape)
        .with_raw_quotes(opts & 2 != 0)
        .with_raw_escapes(opts & 4 != 0)
        .with_skip_process_quotes(opts & 8 != 0)
        .with_skip_unset_env(opts & 16 != 0);
    let _ = lexer.process_word(word, &env);
    let _ = lexer.process_words(word, &env);
    let _ = lexer.process_word_with_matches(word, &env);
    let _ = Mount::parse(word, &mut |w| lexer.process_word(w, &env));
    let _ = parse_heredoc(word);
    let _ = expand_heredoc_content(word, &env);
});
