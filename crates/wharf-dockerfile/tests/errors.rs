//! Error messages and line numbers.

use wharf_dockerfile::parse;

fn err(src: &str) -> String {
    parse(src).unwrap_err().to_string()
}

#[test]
fn unknown_instruction_reports_its_line() {
    let src = "FROM alpine\n\
               # comment\n\
               RUN a \\\n\
               \x20 b\n\
               \n\
               WORKDIR /x\n\
               COPPY . .\n";
    let e = parse(src).unwrap_err();
    assert_eq!(e.line(), Some(7));
    assert_eq!(
        e.message(),
        "unknown instruction: COPPY (did you mean COPY?)"
    );
    assert_eq!(
        e.to_string(),
        "Dockerfile:7: unknown instruction: COPPY (did you mean COPY?)"
    );
    assert_eq!(
        err("FROM a\nBLAH bar\n"),
        "Dockerfile:2: unknown instruction: BLAH"
    );
    assert_eq!(
        err("FROM a\nFOO bar\n"),
        "Dockerfile:2: unknown instruction: FOO (did you mean FROM?)"
    );
    assert_eq!(
        err("FROM a\nrunn x\n"),
        "Dockerfile:2: unknown instruction: runn (did you mean run?)"
    );
}

#[test]
fn unknown_flags() {
    assert_eq!(
        err("FROM a\nCOPY --foo=bar a b\n"),
        "Dockerfile:2: unknown flag: --foo (did you mean from?)"
    );
    assert_eq!(
        err("FROM a\nCOPY --xyz a b\n"),
        "Dockerfile:2: unknown flag: --xyz"
    );
    assert_eq!(
        err("FROM a\nADD --from=x a b\n"),
        "Dockerfile:2: unknown flag: --from"
    );
    assert_eq!(
        err("FROM a\nCMD --doit [\"a\"]\n"),
        "Dockerfile:2: unknown flag: --doit"
    );
    assert_eq!(
        err("FROM --plattform=x a\n"),
        "Dockerfile:1: unknown flag: --plattform (did you mean platform?)"
    );
    assert_eq!(
        err("FROM a\nCOPY --from=a --from=b x y\n"),
        "Dockerfile:2: duplicate flag specified: --from"
    );
    assert_eq!(
        err("FROM a\nCOPY --from x y\n"),
        "Dockerfile:2: missing a value on flag: --from"
    );
    assert_eq!(
        err("FROM a\nCOPY --link=maybe x y\n"),
        "Dockerfile:2: expecting boolean value for flag --link, not: maybe"
    );
}

#[test]
fn argument_counts() {
    let cases = [
        ("FROM a b", "FROM requires either one or three arguments"),
        ("FROM a AS", "FROM requires either one or three arguments"),
        (
            "FROM a FOR b",
            "FROM requires either one or three arguments",
        ),
        ("FROM", "FROM requires either one or three arguments"),
    ];
    for (src, msg) in cases {
        assert_eq!(err(src), format!("Dockerfile:1: {msg}"), "{src}");
    }
    let cases = [
        ("COPY a", "COPY requires at least two arguments, but only one was provided. Destination could not be determined"),
        ("ADD a", "ADD requires at least two arguments, but only one was provided. Destination could not be determined"),
        ("COPY", "COPY requires at least two arguments, but only one was provided. Destination could not be determined"),
        ("ENV", "ENV requires at least one argument"),
        ("ENV =x", "ENV names can not be blank"),
        ("ENV a", "ENV must have two arguments"),
        ("ENV a=b c", "Syntax error - can't find = in \"c\". Must be of the form: name=value"),
        ("LABEL", "LABEL requires at least one argument"),
        ("LABEL =x", "LABEL names can not be blank"),
        ("ARG", "ARG requires at least one argument"),
        ("ARG =x", "ARG names can not be blank"),
        ("EXPOSE", "EXPOSE requires at least one argument"),
        ("VOLUME", "VOLUME requires at least one argument"),
        ("VOLUME [\"\"]", "VOLUME specified can not be an empty string"),
        ("WORKDIR", "WORKDIR requires exactly one argument"),
        ("USER", "USER requires exactly one argument"),
        ("STOPSIGNAL", "STOPSIGNAL requires exactly one argument"),
        ("MAINTAINER", "MAINTAINER requires exactly one argument"),
        ("SHELL", "SHELL requires at least one argument"),
        ("SHELL []", "SHELL requires at least one argument"),
        ("SHELL /bin/bash -c", "SHELL requires the arguments to be in JSON form"),
    ];
    for (src, msg) in cases {
        assert_eq!(
            err(&format!("FROM x\n{src}\n")),
            format!("Dockerfile:2: {msg}"),
            "{src}"
        );
    }
}

#[test]
fn stage_names() {
    assert_eq!(
        err("FROM a AS 1st\n"),
        "Dockerfile:1: invalid name for build stage: \"1st\", name can't start with a number or contain symbols"
    );
    assert_eq!(
        err("FROM a AS my$stage\n"),
        "Dockerfile:1: invalid name for build stage: \"my$stage\", name can't start with a number or contain symbols"
    );
    let df = parse("FROM a AS My-Stage_1.x\n").unwrap();
    assert_eq!(df.stages[0].name.as_deref(), Some("my-stage_1.x"));
}

#[test]
fn instruction_before_from() {
    assert_eq!(
        err("ARG A\nRUN x\nFROM a\n"),
        "Dockerfile:2: no build stage in current context"
    );
}

#[test]
fn errors_use_the_first_line_of_multiline_instructions() {
    let e = parse("FROM a\nCOPY \\\n  --bogus \\\n  a b\n").unwrap_err();
    assert_eq!((e.line(), e.end_line()), (Some(2), Some(4)));
    assert_eq!(e.to_string(), "Dockerfile:2: unknown flag: --bogus");
}
