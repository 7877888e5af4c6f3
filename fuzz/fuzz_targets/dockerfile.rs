//! Fuzz target: the Dockerfile parser (directives, continuations, heredocs,
//! flags, JSON forms, stages) and build-time expansion of every instruction
//! with the shell-word lexer; also `commit --change` lines.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wharf_dockerfile::{parse, parse_change, Lexer};

fn env(name: &str) -> Option<String> {
    match name {
        "HOME" => Some("/root".into()),
        "VERSION" => Some("1.2.3".into()),
        "EMPTY" => Some(String::new()),
        "WORDS" => Some("a b  c".into()),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(df) = parse(text) {
        let lexer = Lexer::new(df.escape());
        let all = df.meta_args.iter().chain(
            df.stages
                .iter()
                .flat_map(|s| std::iter::once(&s.from).chain(&s.instructions)),
        );
        for ins in all {
            let _ = ins.expand(&lexer, &env);
        }
    }
    for line in text.lines().take(8) {
        let _ = parse_change(line);
    }
});
