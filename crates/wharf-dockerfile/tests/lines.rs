//! Line handling: directives, comments, continuations, line numbers.

use wharf_dockerfile::{parse, CommandForm, Instruction, InstructionKind};

fn instructions(src: &str) -> Vec<Instruction> {
    let df = parse(src).unwrap();
    df.stages.into_iter().flat_map(|s| s.instructions).collect()
}

fn shell(i: &Instruction) -> &str {
    match &i.kind {
        InstructionKind::Run(r) => match &r.command {
            CommandForm::Shell(s) => s,
            other => panic!("not shell form: {other:?}"),
        },
        other => panic!("not RUN: {other:?}"),
    }
}

#[test]
fn continuation_with_comments_inside() {
    let src = "FROM busybox\n\
               RUN echo a \\\n\
               # a comment inside\n\
               \x20   && echo b \\\n\
               \x20 \t # indented comment\n\
               \n\
               \x20   && echo c\n\
               RUN next\n";
    let ins = instructions(src);
    assert_eq!(ins.len(), 2);
    assert_eq!(shell(&ins[0]), "echo a     && echo b     && echo c");
    assert_eq!((ins[0].start_line, ins[0].end_line), (2, 7));
    assert_eq!(ins[0].original, "RUN echo a     && echo b     && echo c");
    assert_eq!((ins[1].start_line, ins[1].end_line), (8, 8));
}

#[test]
fn continuation_allows_trailing_blanks_and_keeps_escaped_escape() {
    let ins = instructions("FROM x\nRUN a \\  \t\n b\nRUN c \\\\\nRUN d\n");
    assert_eq!(shell(&ins[0]), "a  b");
    assert_eq!(shell(&ins[1]), "c \\\\");
    assert_eq!(shell(&ins[2]), "d");
}

#[test]
fn continuation_at_end_of_file() {
    let ins = instructions("FROM x\nRUN a \\");
    assert_eq!(shell(&ins[0]), "a");
    let ins = instructions("FROM x\nRUN a \\\n");
    assert_eq!(shell(&ins[0]), "a");
    assert_eq!((ins[0].start_line, ins[0].end_line), (2, 2));
}

#[test]
fn escape_directive_backtick() {
    let src = "# escape=`\n\
               FROM mcr.microsoft.com/windows/servercore\n\
               RUN dir C:\\ `\n\
               \x20   && echo done\n\
               COPY testfile.txt C:\\\n";
    let df = parse(src).unwrap();
    assert_eq!(df.escape(), '`');
    assert_eq!(df.directives.escape, '`');
    let ins = &df.stages[0].instructions;
    assert_eq!(shell(&ins[0]), "dir C:\\     && echo done");
    assert_eq!((ins[0].start_line, ins[0].end_line), (3, 4));
    match &ins[1].kind {
        InstructionKind::Copy(c) => {
            assert_eq!(c.sources, ["testfile.txt"]);
            assert_eq!(c.dest, "C:\\");
        }
        other => panic!("{other:?}"),
    }
    // A backslash no longer continues the line.
    assert_eq!(
        parse("# escape=`\nFROM x\nRUN a \\\nRUN b\n")
            .unwrap()
            .stages[0]
            .instructions
            .len(),
        2
    );
}

#[test]
fn directives_recorded_only_at_top() {
    let df =
        parse("# syntax=docker/dockerfile:1.7\n# check=skip=all\n#ESCAPE = \\\nFROM x\n").unwrap();
    assert_eq!(
        df.directives.syntax.as_deref(),
        Some("docker/dockerfile:1.7")
    );
    assert_eq!(df.directives.check.as_deref(), Some("skip=all"));
    assert_eq!(df.directives.escape, '\\');

    // After an ordinary comment, blank line or instruction they are comments.
    for src in [
        "# hello\n# escape=`\nFROM x\n",
        "\n# escape=`\nFROM x\n",
        "FROM x\n# escape=`\n",
    ] {
        assert_eq!(parse(src).unwrap().directives.escape, '\\', "{src:?}");
    }
    let df = parse("# unknown=1\n# syntax=a\nFROM x\n").unwrap();
    assert_eq!(df.directives.syntax, None);
}

#[test]
fn directive_errors() {
    assert_eq!(
        parse("# escape=x\nFROM a\n").unwrap_err().to_string(),
        "Dockerfile:1: invalid escape token 'x' does not match ` or \\"
    );
    assert_eq!(
        parse("# syntax=a\n# syntax=b\nFROM a\n")
            .unwrap_err()
            .to_string(),
        "Dockerfile:2: only one syntax parser directive can be used"
    );
}

#[test]
fn keywords_are_case_insensitive() {
    let df = parse("from alpine as Build\nrUn echo hi\nCopy a b\n").unwrap();
    let stage = &df.stages[0];
    assert_eq!(stage.name.as_deref(), Some("build"));
    assert_eq!(stage.instructions[0].keyword, "rUn");
    assert_eq!(stage.instructions[0].name(), "RUN");
    assert_eq!(stage.instructions[1].name(), "COPY");
}

#[test]
fn comments_blank_lines_crlf_and_bom() {
    let src = "\u{feff}# comment\r\n\r\n   FROM x\r\n\t# indented comment\r\nRUN a \\\r\n b\r\n";
    let df = parse(src).unwrap();
    let stage = &df.stages[0];
    assert_eq!((stage.from.start_line, stage.from.end_line), (3, 3));
    assert_eq!(stage.from.original, "FROM x");
    assert_eq!(shell(&stage.instructions[0]), "a  b");
    assert_eq!(stage.instructions[0].start_line, 5);
}

#[test]
fn empty_files_are_errors() {
    assert_eq!(
        parse("").unwrap_err().to_string(),
        "file with no instructions"
    );
    assert_eq!(
        parse("# only\n# comments\n\n").unwrap_err().to_string(),
        "file with no instructions"
    );
}

#[test]
fn backtick_escape_in_words_and_json() {
    let src =
        "# escape=`\nFROM x\nENV p=C:\\dir q=a`\"b `\n    r=\"x y\"\nCMD [\"C:\\\\app.exe\"]\n";
    let df = parse(src).unwrap();
    let ins = &df.stages[0].instructions;
    let InstructionKind::Env(kvs) = &ins[0].kind else {
        panic!()
    };
    let raw: Vec<&str> = kvs.iter().map(|kv| kv.value.as_str()).collect();
    assert_eq!(raw, ["C:\\dir", "a`\"b", "\"x y\""]);
    let lexer = df.lexer();
    let values: Vec<String> = kvs
        .iter()
        .map(|kv| {
            lexer
                .process_word(&kv.value, &wharf_dockerfile::empty_env)
                .unwrap()
        })
        .collect();
    assert_eq!(values, ["C:\\dir", "a\"b", "x y"]);
    // JSON always uses backslash escapes.
    assert_eq!(
        ins[1].kind,
        InstructionKind::Cmd(CommandForm::Exec(vec!["C:\\app.exe".into()]))
    );
}
