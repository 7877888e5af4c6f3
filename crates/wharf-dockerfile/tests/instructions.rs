//! Typed instructions: forms, arguments, flags.

use std::time::Duration;

use wharf_dockerfile::{
    parse, ArgDef, CommandForm, Flag, Healthcheck, Instruction, InstructionKind, KeyValue,
    NetworkMode, SecurityMode,
};

/// Parses `FROM scratch` + `src` and returns the stage's instructions.
fn parse_body(src: &str) -> Vec<Instruction> {
    let df = parse(&format!("FROM scratch\n{src}")).unwrap();
    df.stages.into_iter().next().unwrap().instructions
}

fn one(src: &str) -> InstructionKind {
    let mut ins = parse_body(src);
    assert_eq!(ins.len(), 1, "{src}");
    ins.remove(0).kind
}

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: value.into(),
        legacy: false,
    }
}

fn shell(s: &str) -> CommandForm {
    CommandForm::Shell(s.into())
}

fn exec(args: &[&str]) -> CommandForm {
    CommandForm::Exec(args.iter().map(|s| s.to_string()).collect())
}

fn cmd(src: &str) -> CommandForm {
    match one(src) {
        InstructionKind::Cmd(c) => c,
        other => panic!("{other:?}"),
    }
}

#[test]
fn json_versus_shell_form() {
    assert_eq!(cmd("CMD [\"npm\", \"start\"]"), exec(&["npm", "start"]));
    assert_eq!(cmd("CMD [ \"a\" ,\t\"b\" ]  "), exec(&["a", "b"]));
    assert_eq!(cmd("CMD []"), exec(&[]));
    assert_eq!(cmd("CMD [\"\"]"), exec(&[""]));
    assert_eq!(cmd("CMD [\"\\u0041\\n\"]"), exec(&["A\n"]));
    // Not valid JSON: shell form, text kept verbatim.
    assert_eq!(cmd("CMD [ \"a\" "), shell("[ \"a\""));
    assert_eq!(cmd("CMD ['a', 'b']"), shell("['a', 'b']"));
    assert_eq!(cmd("CMD [\"a\" \"b\"]"), shell("[\"a\" \"b\"]"));
    assert_eq!(cmd("CMD [\"a\"] x"), shell("[\"a\"] x"));
    assert_eq!(cmd("CMD echo \"[1]\""), shell("echo \"[1]\""));
    assert_eq!(cmd("CMD"), shell(""));
    assert_eq!(cmd("CMD   echo   a  "), shell("echo   a"));
    assert!(shell("x").prepends_shell());
    assert!(!exec(&["x"]).prepends_shell());
}

#[test]
fn json_with_non_strings_is_an_error() {
    let err = parse("FROM x\nCMD [\"a\", 1]\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Dockerfile:2: when using JSON array syntax, arrays must be comprised of strings only"
    );
}

#[test]
fn run_forms_and_flags() {
    let ins = parse_body(
        "RUN --mount=type=cache,target=/root/.cache --network=none --security=insecure go build\n\
         RUN [\"/bin/sh\", \"-c\", \"echo hi\"]\n\
         RUN --mount=type=secret,id=tok --mount=type=bind,target=/src cat /run/secrets/tok\n",
    );
    let InstructionKind::Run(r) = &ins[0].kind else {
        panic!()
    };
    assert_eq!(r.command, shell("go build"));
    assert_eq!(r.mounts, ["type=cache,target=/root/.cache"]);
    assert_eq!(r.network, NetworkMode::None);
    assert_eq!(r.security, SecurityMode::Insecure);
    assert_eq!(
        ins[0].flags,
        [
            Flag {
                name: "mount".into(),
                value: Some("type=cache,target=/root/.cache".into())
            },
            Flag {
                name: "network".into(),
                value: Some("none".into())
            },
            Flag {
                name: "security".into(),
                value: Some("insecure".into())
            },
        ]
    );
    assert_eq!(ins[0].flag("network"), Some("none"));
    let InstructionKind::Run(r) = &ins[1].kind else {
        panic!()
    };
    assert_eq!(r.command, exec(&["/bin/sh", "-c", "echo hi"]));
    assert_eq!(r.network, NetworkMode::Default);
    assert_eq!(r.security, SecurityMode::Sandbox);
    let InstructionKind::Run(r) = &ins[2].kind else {
        panic!()
    };
    assert_eq!(r.mounts, ["type=secret,id=tok", "type=bind,target=/src"]);
}

#[test]
fn run_flag_values_are_validated() {
    let err = |src: &str| parse(&format!("FROM x\n{src}\n")).unwrap_err().to_string();
    assert_eq!(
        err("RUN --network=bridge x"),
        "Dockerfile:2: invalid network mode \"bridge\""
    );
    assert_eq!(
        err("RUN --security=foo x"),
        "Dockerfile:2: security \"foo\" is not valid"
    );
    assert_eq!(
        err("RUN --mount=type=bind,from=$X x"),
        "Dockerfile:2: 'from' doesn't support variable expansion, define alias stage instead"
    );
}

#[test]
fn entrypoint_shell_and_stopsignal() {
    assert_eq!(
        one("ENTRYPOINT [\"/app\"]"),
        InstructionKind::Entrypoint(exec(&["/app"]))
    );
    assert_eq!(
        one("ENTRYPOINT exec /app --flag"),
        InstructionKind::Entrypoint(shell("exec /app --flag"))
    );
    assert_eq!(
        one("SHELL [\"powershell\", \"-command\"]"),
        InstructionKind::Shell(vec!["powershell".into(), "-command".into()])
    );
    assert_eq!(
        one("STOPSIGNAL SIGKILL"),
        InstructionKind::StopSignal("SIGKILL".into())
    );
}

#[test]
fn env_both_forms_and_quoting() {
    assert_eq!(
        one("ENV a=\"b c\" d=e\\ f"),
        InstructionKind::Env(vec![kv("a", "\"b c\""), kv("d", "e\\ f")])
    );
    assert_eq!(
        one("ENV PATH /usr/local/bin:$PATH  with spaces"),
        InstructionKind::Env(vec![KeyValue {
            key: "PATH".into(),
            value: "/usr/local/bin:$PATH  with spaces".into(),
            legacy: true,
        }])
    );
    assert_eq!(
        one("ENV a='x \"y\"' b=\"it's\" c= d=1=2"),
        InstructionKind::Env(vec![
            kv("a", "'x \"y\"'"),
            kv("b", "\"it's\""),
            kv("c", ""),
            kv("d", "1=2"),
        ])
    );
    assert_eq!(
        one("ENV a=1 \\\n    b=\"2 \\\n      3\""),
        InstructionKind::Env(vec![kv("a", "1"), kv("b", "\"2       3\"")])
    );
}

#[test]
fn env_values_expand_with_the_lexer() {
    let df = parse("FROM x\nENV a=\"b c\" d=e\\ f g='$HOME' h=$HOME\n").unwrap();
    let InstructionKind::Env(kvs) = &df.stages[0].instructions[0].kind else {
        panic!()
    };
    let lexer = df.lexer();
    let home = |n: &str| (n == "HOME").then(|| "/root".to_string());
    let values: Vec<String> = kvs
        .iter()
        .map(|kv| lexer.process_word(&kv.value, &home).unwrap())
        .collect();
    assert_eq!(values, ["b c", "e f", "$HOME", "/root"]);
}

#[test]
fn label() {
    assert_eq!(
        one("LABEL org.opencontainers.image.title=\"My App\" version=1.0 \"quoted key\"=v"),
        InstructionKind::Label(vec![
            kv("org.opencontainers.image.title", "\"My App\""),
            kv("version", "1.0"),
            kv("\"quoted key\"", "v"),
        ])
    );
    assert_eq!(
        one("LABEL maintainer Jane Doe <jane@example.com>"),
        InstructionKind::Label(vec![KeyValue {
            key: "maintainer".into(),
            value: "Jane Doe <jane@example.com>".into(),
            legacy: true,
        }])
    );
}

#[test]
fn arg() {
    assert_eq!(
        one("ARG VERSION"),
        InstructionKind::Arg(vec![ArgDef {
            name: "VERSION".into(),
            default: None
        }])
    );
    assert_eq!(
        one("ARG A=1 B C=\"x y\" D="),
        InstructionKind::Arg(vec![
            ArgDef {
                name: "A".into(),
                default: Some("1".into())
            },
            ArgDef {
                name: "B".into(),
                default: None
            },
            ArgDef {
                name: "C".into(),
                default: Some("\"x y\"".into())
            },
            ArgDef {
                name: "D".into(),
                default: Some(String::new())
            },
        ])
    );
}

#[test]
fn expose_volume_workdir_user_maintainer() {
    assert_eq!(
        one("EXPOSE 8080/udp 3000 ${PORT}"),
        InstructionKind::Expose(vec!["${PORT}".into(), "3000".into(), "8080/udp".into()])
    );
    assert_eq!(
        one("VOLUME [\"/data\", \"/logs\"]"),
        InstructionKind::Volume(vec!["/data".into(), "/logs".into()])
    );
    assert_eq!(
        one("VOLUME /a /b"),
        InstructionKind::Volume(vec!["/a".into(), "/b".into()])
    );
    assert_eq!(
        one("WORKDIR /path with spaces"),
        InstructionKind::Workdir("/path with spaces".into())
    );
    assert_eq!(
        one("USER 1000:1000"),
        InstructionKind::User("1000:1000".into())
    );
    assert_eq!(
        one("MAINTAINER Jane <jane@example.com>"),
        InstructionKind::Maintainer("Jane <jane@example.com>".into())
    );
}

#[test]
fn copy_flags_and_args() {
    let InstructionKind::Copy(c) = one(
        "COPY --from=build --chown=app:app --chmod=0755 --link --parents --exclude=*.md --exclude=tmp a b /dst/",
    ) else {
        panic!()
    };
    assert_eq!(c.sources, ["a", "b"]);
    assert_eq!(c.dest, "/dst/");
    assert_eq!(c.from.as_deref(), Some("build"));
    assert_eq!(c.chown.as_deref(), Some("app:app"));
    assert_eq!(c.chmod.as_deref(), Some("0755"));
    assert!(c.link && c.parents && !c.json);
    assert_eq!(c.excludes, ["*.md", "tmp"]);

    let InstructionKind::Copy(c) = one("COPY [\"my file\", \"/dest dir/\"]") else {
        panic!()
    };
    assert_eq!(c.sources, ["my file"]);
    assert_eq!(c.dest, "/dest dir/");
    assert!(c.json);
    assert_eq!(c.from, None);
    assert!(!c.link);

    let InstructionKind::Copy(c) = one("COPY --link=false --from= . .") else {
        panic!()
    };
    assert!(!c.link);
    assert_eq!(c.from, None);
}

#[test]
fn add_flags() {
    let InstructionKind::Add(a) = one(
        "ADD --checksum=sha256:abc --keep-git-dir=true --unpack=false --chown=1 https://example.com/x.tgz /opt/",
    ) else {
        panic!()
    };
    assert_eq!(a.sources, ["https://example.com/x.tgz"]);
    assert_eq!(a.dest, "/opt/");
    assert_eq!(a.checksum.as_deref(), Some("sha256:abc"));
    assert_eq!(a.keep_git_dir, Some(true));
    assert_eq!(a.unpack, Some(false));
    assert_eq!(a.chown.as_deref(), Some("1"));

    let InstructionKind::Add(a) = one("ADD a.tar /") else {
        panic!()
    };
    assert_eq!((a.keep_git_dir, a.unpack), (None, None));
}

#[test]
fn healthcheck() {
    assert_eq!(
        one("HEALTHCHECK NONE"),
        InstructionKind::Healthcheck(Healthcheck {
            test: vec!["NONE".into()],
            ..Healthcheck::default()
        })
    );
    assert_eq!(
        one("HEALTHCHECK --interval=5s --timeout=3s --start-period=1m --start-interval=500ms --retries=3 \\\n  CMD curl -f http://localhost/ || exit 1"),
        InstructionKind::Healthcheck(Healthcheck {
            test: vec!["CMD-SHELL".into(), "curl -f http://localhost/ || exit 1".into()],
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(3),
            start_period: Duration::from_secs(60),
            start_interval: Duration::from_millis(500),
            retries: 3,
        })
    );
    assert_eq!(
        one("HEALTHCHECK cmd [\"/bin/check\", \"-q\"]"),
        InstructionKind::Healthcheck(Healthcheck {
            test: vec!["CMD".into(), "/bin/check".into(), "-q".into()],
            ..Healthcheck::default()
        })
    );
    assert_eq!(
        one("HEALTHCHECK --interval=0s CMD true"),
        InstructionKind::Healthcheck(Healthcheck {
            test: vec!["CMD-SHELL".into(), "true".into()],
            ..Healthcheck::default()
        })
    );
}

#[test]
fn healthcheck_errors() {
    let err = |src: &str| parse(&format!("FROM x\n{src}\n")).unwrap_err().to_string();
    assert_eq!(
        err("HEALTHCHECK"),
        "Dockerfile:2: HEALTHCHECK requires at least one argument"
    );
    assert_eq!(
        err("HEALTHCHECK NONE x"),
        "Dockerfile:2: HEALTHCHECK NONE takes no arguments"
    );
    assert_eq!(
        err("HEALTHCHECK CMD"),
        "Dockerfile:2: Missing command after HEALTHCHECK CMD"
    );
    assert_eq!(
        err("HEALTHCHECK CONNECT TCP 7000"),
        "Dockerfile:2: Unknown type \"CONNECT\" in HEALTHCHECK (try CMD)"
    );
    assert_eq!(
        err("HEALTHCHECK --interval=50ns CMD x"),
        "Dockerfile:2: Interval \"interval\" cannot be less than 1ms"
    );
    assert_eq!(
        err("HEALTHCHECK --timeout=5 CMD x"),
        "Dockerfile:2: time: missing unit in duration \"5\""
    );
    assert_eq!(
        err("HEALTHCHECK --retries=-1 CMD x"),
        "Dockerfile:2: --retries cannot be negative (-1)"
    );
    assert_eq!(
        err("HEALTHCHECK --intervall=5s CMD x"),
        "Dockerfile:2: unknown flag: --intervall (did you mean interval?)"
    );
}

#[test]
fn onbuild() {
    let ins = parse_body("ONBUILD RUN echo hi\nonbuild  COPY --chown=1 . /app\n");
    let InstructionKind::OnBuild(o) = &ins[0].kind else {
        panic!()
    };
    assert_eq!(o.expression, "RUN echo hi");
    assert_eq!(o.trigger, "RUN");
    let InstructionKind::OnBuild(o) = &ins[1].kind else {
        panic!()
    };
    assert_eq!(o.expression, "COPY --chown=1 . /app");
    assert_eq!(o.trigger, "COPY");

    let triggers = wharf_dockerfile::parse_trigger(&o.expression).unwrap();
    let InstructionKind::Copy(c) = &triggers[0].kind else {
        panic!()
    };
    assert_eq!(c.chown.as_deref(), Some("1"));
    assert_eq!(c.dest, "/app");
}

#[test]
fn onbuild_errors() {
    let err = |src: &str| parse(&format!("FROM x\n{src}\n")).unwrap_err().to_string();
    assert_eq!(
        err("ONBUILD ONBUILD RUN x"),
        "Dockerfile:2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"
    );
    assert_eq!(
        err("ONBUILD FROM x"),
        "Dockerfile:2: FROM isn't allowed as an ONBUILD trigger"
    );
    assert_eq!(
        err("ONBUILD maintainer x"),
        "Dockerfile:2: MAINTAINER isn't allowed as an ONBUILD trigger"
    );
    assert_eq!(
        err("ONBUILD"),
        "Dockerfile:2: ONBUILD requires at least one argument"
    );
}

#[test]
fn original_text_is_kept() {
    let ins =
        parse_body("  RUN   --network=host  apt-get update \\\n   && apt-get install -y curl   \n");
    assert_eq!(
        ins[0].original,
        "RUN   --network=host  apt-get update    && apt-get install -y curl"
    );
    assert_eq!(ins[0].keyword, "RUN");
}

#[test]
fn flags_end_at_double_dash_and_keep_quotes_out() {
    let InstructionKind::Copy(c) = one("COPY --chown=\"a b\" -- --weird-name /dst") else {
        panic!()
    };
    assert_eq!(c.chown.as_deref(), Some("a b"));
    assert_eq!(c.sources, ["--weird-name"]);
}
