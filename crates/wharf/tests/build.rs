//! `wharf build` end to end: multi-stage builds, the layer cache, build
//! args, `.dockerignore`, bad input; RUN steps run real containers.

mod common;

use common::build_context as context;

use std::fs;
use std::path::Path;

use common::Wharf;

fn build(w: &Wharf, ctx: &Path, extra: &[&str]) -> String {
    let mut args = vec!["build", "-q"];
    args.extend_from_slice(extra);
    let c = ctx.to_str().unwrap();
    args.push(c);
    w.ok(args).trim().to_string()
}

fn history(w: &Wharf, image: &str) -> Vec<String> {
    w.ok([
        "history",
        "--no-trunc",
        "--format",
        "{{.CreatedBy}}|{{.Size}}",
        image,
    ])
    .lines()
    .map(str::to_string)
    .collect()
}

const MULTI: &str = r#"FROM busybox:local AS build
WORKDIR /src
COPY app.txt ./
RUN cat app.txt > built.txt && echo built >> built.txt && mkdir -p /junk && echo x > /junk/big

FROM busybox:local
COPY --from=build /src/built.txt /out/
WORKDIR /out
EXPOSE 8080
CMD ["cat", "/out/built.txt"]
"#;

#[test]
fn multi_stage_build_runs_and_keeps_only_the_final_stage() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    let ctx = context(&w, "app", &[("Dockerfile", MULTI), ("app.txt", "hello\n")]);
    let id = build(&w, &ctx, &["-t", "app:1"]);
    assert!(id.starts_with("sha256:"), "{id}");
    assert_eq!(w.image_id("app:1"), id);
    let out = w.ok(["run", "--rm", "app:1"]);
    assert_eq!(out, "hello\nbuilt\n");
    // Nothing of the build stage but the copied file.
    let (code, _) = w.fails(["run", "--rm", "app:1", "ls", "/junk"]);
    assert_eq!(code, 1);
    let h = history(&w, "app:1");
    assert_eq!(h[0], "CMD [\"cat\" \"/out/built.txt\"]|0B");
    assert_eq!(h[1], "EXPOSE map[8080/tcp:{}]|0B");
    assert!(h[2].starts_with("WORKDIR /out|"), "{h:?}");
    assert!(
        h[3].starts_with("COPY /src/built.txt /out/ # buildkit|"),
        "{h:?}"
    );
    let cfg = w.ok(["image", "inspect", "--format", "{{json .Config}}", "app:1"]);
    assert!(cfg.contains("\"WorkingDir\":\"/out\""), "{cfg}");
    assert!(cfg.contains("\"ExposedPorts\":{\"8080/tcp\":{}}"), "{cfg}");
}

#[test]
fn cached_rebuild_gives_the_same_image_and_edits_rebuild_from_there() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    let ctx = context(&w, "app", &[("Dockerfile", MULTI), ("app.txt", "hello\n")]);
    let first = build(&w, &ctx, &["-t", "app"]);
    let out = w.ok([
        "build",
        "--progress",
        "plain",
        "-t",
        "app",
        ctx.to_str().unwrap(),
    ]);
    assert!(out.is_empty(), "progress goes to stderr");
    let second = w.run([
        "build",
        "--progress",
        "plain",
        "-t",
        "app",
        ctx.to_str().unwrap(),
    ]);
    let log = String::from_utf8_lossy(&second.stderr);
    assert_eq!(log.matches("CACHED").count(), 5, "{log}");
    assert_eq!(
        w.image_id("app"),
        first,
        "a fully cached build is the same image"
    );
    // Touching a file (same content) keeps the cache; editing it does not.
    let f = ctx.join("app.txt");
    fs::write(&f, "hello\n").unwrap();
    assert_eq!(build(&w, &ctx, &["-t", "app"]), first);
    fs::write(&f, "changed\n").unwrap();
    let third = build(&w, &ctx, &["-t", "app"]);
    assert_ne!(third, first);
    assert_eq!(w.ok(["run", "--rm", "app"]), "changed\nbuilt\n");
    // --no-cache runs everything again (and refreshes the cache).
    let log = w.run([
        "build",
        "--no-cache",
        "--progress",
        "plain",
        ctx.to_str().unwrap(),
    ]);
    assert!(!String::from_utf8_lossy(&log.stderr).contains("CACHED"));
    let fresh = build(&w, &ctx, &["-t", "app"]);
    assert_ne!(fresh, third, "new step times");
    // The cache outlives the image; prune drops it.
    w.ok(["rmi", "app"]);
    assert_eq!(build(&w, &ctx, &["-t", "app"]), fresh);
    w.ok(["builder", "prune", "-f"]);
    let log = w.run(["build", "--progress", "plain", ctx.to_str().unwrap()]);
    assert!(!String::from_utf8_lossy(&log.stderr).contains("CACHED"));
}

#[test]
fn target_build_args_labels_and_dockerignore() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    let df = r#"ARG BASE=busybox:local
FROM $BASE AS first
ARG GREETING=hi
ENV WHO=world
RUN echo "$GREETING $WHO" > /greeting
COPY . /ctx/

FROM first AS second
RUN echo second > /second
"#;
    let ctx = context(
        &w,
        "app",
        &[
            ("Dockerfile", df),
            (".dockerignore", "*.log\nsecret/\n!secret/public\n"),
            ("keep.txt", "k"),
            ("debug.log", "no"),
            ("secret/key", "no"),
            ("secret/public", "yes"),
        ],
    );
    build(
        &w,
        &ctx,
        &[
            "--target",
            "first",
            "--build-arg",
            "GREETING=hello",
            "--label",
            "team=core",
            "-t",
            "t:first",
        ],
    );
    assert_eq!(
        w.ok(["run", "--rm", "t:first", "cat", "/greeting"]),
        "hello world\n"
    );
    let (code, _) = w.fails(["run", "--rm", "t:first", "cat", "/second"]);
    assert_eq!(code, 1, "--target stops at the first stage");
    let files = w.ok(["run", "--rm", "t:first", "ls", "-A", "/ctx", "/ctx/secret"]);
    assert_eq!(
        files,
        "/ctx:\n.dockerignore\nDockerfile\nkeep.txt\nsecret\n\n/ctx/secret:\npublic\n"
    );
    let label = w.ok([
        "inspect",
        "--format",
        "{{index .Config.Labels \"team\"}}",
        "t:first",
    ]);
    assert_eq!(label.trim(), "core");
    let h = history(&w, "t:first");
    assert!(
        h.iter().any(|l| l.starts_with(
            "RUN |1 GREETING=hello /bin/sh -c echo \"$GREETING $WHO\" > /greeting # buildkit|"
        )),
        "{h:?}"
    );
}

#[test]
fn dockerfile_from_stdin_without_context() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    let out = w.with_stdin(
        ["build", "-q", "-t", "piped", "-"],
        b"FROM busybox:local\nRUN echo piped > /p\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(w.ok(["run", "--rm", "piped", "cat", "/p"]), "piped\n");
}

#[test]
fn bad_dockerfiles_fail_with_the_line_and_leave_no_image() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    let cases: &[(&str, &str)] = &[
        ("FROM busybox:local\nCOPPY a b\n", "Dockerfile:2"),
        (
            "FROM busybox:local\nCOPY missing.txt /x\n",
            "\"/missing.txt\" not found: not found",
        ),
        ("FROM busybox:local\nRUN echo out; exit 3\n", "exit code: 3"),
        ("FROM 127.0.0.1:1/nosuchimage:1\n", "nosuchimage"),
        (
            "FROM busybox:local AS a\nCOPY --from=127.0.0.1:1/b /x /y\nFROM a AS b\n",
            "failed to resolve source metadata for 127.0.0.1:1/b",
        ),
    ];
    for (i, (df, want)) in cases.iter().enumerate() {
        let ctx = context(&w, &format!("bad{i}"), &[("Dockerfile", df)]);
        let before = w.ok(["images", "-q"]);
        let (code, err) = w.fails([
            "build",
            "-t",
            "bad",
            "--progress",
            "plain",
            ctx.to_str().unwrap(),
        ]);
        assert_eq!(code, 1, "{df}: {err}");
        assert!(err.contains(want), "{df}: wanted {want:?} in {err}");
        assert_eq!(w.ok(["images", "-q"]), before, "{df}: no image left");
    }
    // The failing RUN step's output is shown, with its line.
    let ctx = w.scratch().join("bad2");
    let (_, err) = w.fails(["build", "--progress", "plain", ctx.to_str().unwrap()]);
    assert!(err.contains("out"), "{err}");
    assert!(err.contains("Dockerfile:2"), "{err}");
    // A later good build works, and nothing is left mounted.
    let ctx = context(
        &w,
        "good",
        &[("Dockerfile", "FROM busybox:local\nRUN echo ok > /ok\n")],
    );
    build(&w, &ctx, &["-t", "good"]);
    let root = w.root().display().to_string();
    let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&root), "mounts left under {root}");
}

#[test]
fn heredocs_cache_mounts_and_add_archives() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    let scratch = w.scratch();
    // A tar for ADD to unpack.
    let src = scratch.join("tarsrc");
    fs::create_dir_all(src.join("pkg")).unwrap();
    fs::write(src.join("pkg/file"), "from tar\n").unwrap();
    let ctx = context(
        &w,
        "app",
        &[(
            "Dockerfile",
            "FROM busybox:local\n\
             COPY <<EOF /etc/motd\nhello heredoc\nEOF\n\
             RUN <<EOF\necho one > /one\necho two >> /one\nEOF\n\
             RUN --mount=type=cache,target=/cache echo run >> /cache/log && cat /cache/log > /seen\n\
             ADD pkg.tar /unpacked/\n",
        )],
    );
    common::sh(
        std::process::Command::new("tar")
            .arg("-cf")
            .arg(ctx.join("pkg.tar"))
            .arg("-C")
            .arg(&src)
            .arg("pkg"),
    );
    build(&w, &ctx, &["-t", "h"]);
    let out = w.ok([
        "run",
        "--rm",
        "h",
        "cat",
        "/etc/motd",
        "/one",
        "/seen",
        "/unpacked/pkg/file",
    ]);
    assert_eq!(out, "hello heredoc\none\ntwo\nrun\nfrom tar\n");
    // The cache mount persists across builds (and stays out of the image).
    build(&w, &ctx, &["--no-cache", "-t", "h"]);
    assert_eq!(w.ok(["run", "--rm", "h", "cat", "/seen"]), "run\nrun\n");
    let (code, _) = w.fails(["run", "--rm", "h", "ls", "/cache/log"]);
    assert_eq!(code, 1);
}

#[test]
fn copy_parents_and_exclude() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    let ctx = context(
        &w,
        "app",
        &[
            (
                "Dockerfile",
                "FROM busybox:local\n\
                 COPY --parents a/b/one.txt a/c/two.txt /p/\n\
                 COPY --exclude=**/*.log src /s/\n",
            ),
            ("a/b/one.txt", "1"),
            ("a/c/two.txt", "2"),
            ("src/keep.txt", "k"),
            ("src/drop.log", "d"),
            ("src/sub/deep.log", "d"),
        ],
    );
    build(&w, &ctx, &["-t", "pe"]);
    let out = w.ok(["run", "--rm", "pe", "ls", "-R", "/p", "/s"]);
    assert_eq!(
        out,
        "/p:\na\n\n/p/a:\nb\nc\n\n/p/a/b:\none.txt\n\n/p/a/c:\ntwo.txt\n\n/s:\nkeep.txt\nsub\n\n/s/sub:\n"
    );
}

#[test]
fn an_image_of_a_hundred_layers_builds_and_runs() {
    // Past ~35 layers the overlay's lower dirs no longer fit mount(2)'s one
    // page of options; docker's overlay2 takes 125. Every COPY here mounts
    // the layers below it, and the container mounts all 101.
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    let mut dockerfile = String::from("FROM busybox:local\n");
    let mut files = Vec::new();
    for i in 1..=100 {
        dockerfile.push_str(&format!("COPY f{i} /f{i}\n"));
        files.push((format!("f{i}"), format!("{i}\n")));
    }
    let mut all: Vec<(&str, &str)> = vec![("Dockerfile", &dockerfile)];
    all.extend(files.iter().map(|(n, c)| (n.as_str(), c.as_str())));
    let ctx = context(&w, "deep", &all);
    build(&w, &ctx, &["-t", "deep:1"]);
    let layers = w.ok([
        "image",
        "inspect",
        "--format",
        "{{len .RootFS.Layers}}",
        "deep:1",
    ]);
    assert_eq!(layers.trim(), "101");
    let out = w.ok(["run", "--rm", "deep:1", "cat", "/f1", "/f50", "/f100"]);
    assert_eq!(out, "1\n50\n100\n");
}
