//! Build-time expansion of instruction arguments.

use wharf_dockerfile::{parse, Instruction, InstructionKind, Lexer, Mount, MountType};

fn env(name: &str) -> Option<String> {
    match name {
        "APP" => Some("/srv/app".into()),
        "USER" => Some("app".into()),
        "PORTS" => Some("80 443".into()),
        _ => None,
    }
}

fn first(src: &str) -> Instruction {
    parse(&format!("FROM x\n{src}\n")).unwrap().stages[0].instructions[0].clone()
}

#[test]
fn env_and_label() {
    let (ins, refs) = first("ENV a=\"b c\" d=e\\ f p=$APP/bin empty=")
        .expand(&Lexer::default(), &env)
        .unwrap();
    let InstructionKind::Env(kvs) = ins.kind else {
        panic!()
    };
    let pairs: Vec<(&str, &str)> = kvs
        .iter()
        .map(|kv| (kv.key.as_str(), kv.value.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("a", "b c"),
            ("d", "e f"),
            ("p", "/srv/app/bin"),
            ("empty", "")
        ]
    );
    assert_eq!(refs.matched, ["APP"]);

    let (ins, _) = first("ENV PATH /usr/bin:\"$APP\" x")
        .expand(&Lexer::default(), &env)
        .unwrap();
    let InstructionKind::Env(kvs) = ins.kind else {
        panic!()
    };
    assert_eq!(kvs[0].value, "/usr/bin:/srv/app x");
}

#[test]
fn copy_workdir_user_expose() {
    // Shell-form COPY arguments are split on whitespace before expansion, so
    // quotes cannot group words (as in BuildKit).
    assert!(first("COPY \"a b\" /d")
        .expand(&Lexer::default(), &env)
        .is_err());
    let lexer = Lexer::default();
    let (ins, refs) = first("COPY --chown=$USER --from=$X $APP/a '$APP' ${APP}/dst/")
        .expand(&lexer, &env)
        .unwrap();
    let InstructionKind::Copy(c) = ins.kind else {
        panic!()
    };
    assert_eq!(c.chown.as_deref(), Some("app"));
    assert_eq!(c.from.as_deref(), Some("$X"));
    assert_eq!(c.sources, ["/srv/app/a", "$APP"]);
    assert_eq!(c.dest, "/srv/app/dst/");
    assert_eq!(refs.all(), ["USER", "APP"]);

    let (ins, _) = first("WORKDIR $APP/work").expand(&lexer, &env).unwrap();
    assert_eq!(ins.kind, InstructionKind::Workdir("/srv/app/work".into()));
    let (ins, _) = first("USER ${USER}:${GROUP:-app}")
        .expand(&lexer, &env)
        .unwrap();
    assert_eq!(ins.kind, InstructionKind::User("app:app".into()));
    let (ins, refs) = first("EXPOSE $PORTS 8080/udp")
        .expand(&lexer, &env)
        .unwrap();
    assert_eq!(
        ins.kind,
        InstructionKind::Expose(vec!["80".into(), "443".into(), "8080/udp".into()])
    );
    assert_eq!(refs.matched, ["PORTS"]);
}

#[test]
fn expansion_errors_and_commands_untouched() {
    let lexer = Lexer::default();
    let err = first("WORKDIR ${MISSING:?set it}")
        .expand(&lexer, &env)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "failed to process \"${MISSING:?set it}\": MISSING: set it"
    );
    let run = first("RUN echo $APP");
    let (expanded, refs) = run.expand(&lexer, &env).unwrap();
    assert_eq!(expanded, run);
    assert!(refs.is_empty());
}

#[test]
fn copy_heredoc_expansion_respects_quoting() {
    let lexer = Lexer::default();
    let (ins, _) = first("COPY <<A <<'B' /\n$APP \"q\"\nA\n$APP\nB")
        .expand(&lexer, &env)
        .unwrap();
    let InstructionKind::Copy(c) = ins.kind else {
        panic!()
    };
    assert_eq!(c.contents[0].data, "/srv/app \"q\"\n");
    assert_eq!(c.contents[1].data, "$APP\n");
}

#[test]
fn mounts_expand_at_build_time() {
    let ins = first("RUN --mount=type=cache,target=$APP/cache,id=${USER}-cache make");
    let InstructionKind::Run(run) = &ins.kind else {
        panic!()
    };
    let lexer = Lexer::default();
    let mount = Mount::parse(&run.mounts[0], &mut |w| lexer.process_word(w, &env)).unwrap();
    assert_eq!(mount.mount_type, MountType::Cache);
    assert_eq!(mount.target.as_deref(), Some("/srv/app/cache"));
    assert_eq!(mount.id.as_deref(), Some("app-cache"));
    assert!(!mount.readonly);
}
