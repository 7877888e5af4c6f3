//! `docker commit --change` lines and ONBUILD triggers.

use wharf_dockerfile::{parse_change, parse_changes, CommandForm, InstructionKind, KeyValue};

#[test]
fn allowed_changes() {
    assert_eq!(
        parse_change("CMD [\"/bin/sh\"]").unwrap().kind,
        InstructionKind::Cmd(CommandForm::Exec(vec!["/bin/sh".into()]))
    );
    assert_eq!(
        parse_change("ENV DEBUG=1").unwrap().kind,
        InstructionKind::Env(vec![KeyValue {
            key: "DEBUG".into(),
            value: "1".into(),
            legacy: false
        }])
    );
    for line in [
        "ENTRYPOINT /x",
        "EXPOSE 80",
        "HEALTHCHECK NONE",
        "LABEL a=b",
        "ONBUILD RUN x",
        "STOPSIGNAL SIGTERM",
        "user app",
        "VOLUME /data",
        "WORKDIR /w",
    ] {
        let ins = parse_change(line).unwrap();
        assert_eq!(ins.start_line, 1, "{line}");
    }
    let all = parse_changes(&["ENV A=1", "EXPOSE 80 443"]).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].start_line, 2);
}

#[test]
fn rejected_changes() {
    for (line, msg) in [
        ("RUN echo", "RUN is not a valid change command"),
        ("copy a b", "copy is not a valid change command"),
        ("FROM x", "FROM is not a valid change command"),
        ("ARG A", "ARG is not a valid change command"),
        ("MAINTAINER me", "MAINTAINER is not a valid change command"),
        ("FOO bar", "FOO is not a valid change command"),
    ] {
        assert_eq!(parse_change(line).unwrap_err().to_string(), msg, "{line}");
    }
    assert_eq!(
        parse_change("EXPOSE").unwrap_err().to_string(),
        "Dockerfile:1: EXPOSE requires at least one argument"
    );
    assert_eq!(
        parse_change("").unwrap_err().to_string(),
        "file with no instructions"
    );
}
