//! `build` against a hostile context or stage (issue 20, holes 3 and 4):
//! symlinks in the context (or in a stage's filesystem) that point at the
//! host must resolve inside the context (stage) root, for COPY, ADD and
//! `RUN --mount=type=bind`; bind mounts show the `.dockerignore`-filtered
//! context, and `rw` writes never reach it. Each attack aims at a canary
//! directory in the test's temp dir; docker 20.10 with BuildKit runs the
//! same builds for comparison.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use common::{docker, import_busybox_in_both, require_docker, unique, DockerImages, Wharf};

/// A builder under test.
enum Tool<'a> {
    Wharf(&'a Wharf),
    Docker,
}

impl Tool<'_> {
    fn name(&self) -> &'static str {
        match self {
            Tool::Wharf(_) => "wharf",
            Tool::Docker => "docker",
        }
    }

    /// Build `dockerfile` with the context `ctx` as `tag`; the error
    /// output when it fails.
    fn build(&self, ctx: &Path, dockerfile: &str, tag: &str) -> Result<(), String> {
        fs::write(ctx.join("Dockerfile"), dockerfile).unwrap();
        let out = match self {
            Tool::Wharf(w) => w.run(["build", "-q", "-t", tag, ctx.to_str().unwrap()]),
            Tool::Docker => docker()
                .env("DOCKER_BUILDKIT", "1")
                .args(["build", "-q", "-t", tag])
                .arg(ctx)
                .output()
                .unwrap(),
        };
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// `sh -c script` in a container of `tag`; its output.
    fn sh(&self, tag: &str, script: &str) -> String {
        let args = ["run", "--rm", tag, "sh", "-c", script];
        let out = match self {
            Tool::Wharf(w) => w.run(args),
            Tool::Docker => docker().args(args).output().unwrap(),
        };
        assert!(
            out.status.success(),
            "{}: {args:?}: {}",
            self.name(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// A host directory the attacks aim at: a secret file and a tar.
fn canary(scratch: &Path) -> PathBuf {
    let dir = scratch.join("canary");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("secret"), "HOST SECRET\n").unwrap();
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(6);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append_data(&mut h, "pwned", &b"pwned\n"[..]).unwrap();
    fs::write(dir.join("t.tar"), tar.into_inner().unwrap()).unwrap();
    dir
}

fn assert_canary_intact(canary: &Path) {
    let mut names: Vec<String> = fs::read_dir(canary)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["secret", "t.tar"], "the host canary is untouched");
    assert_eq!(
        fs::read_to_string(canary.join("secret")).unwrap(),
        "HOST SECRET\n"
    );
}

/// A context whose links lead out of it (to `canary`) or within it:
/// `link` and `up` (absolute and relative) to the canary directory,
/// `flink` to its secret, `d/l` (inside a directory) to the canary,
/// `inside` (absolute) and `rel` (relative) to files of the context.
fn hostile_context(scratch: &Path, canary: &Path) -> PathBuf {
    let ctx = scratch.join("ctx");
    fs::create_dir_all(ctx.join("d")).unwrap();
    fs::create_dir_all(ctx.join("sub")).unwrap();
    fs::write(ctx.join("sub/f"), "in context\n").unwrap();
    symlink(canary, ctx.join("link")).unwrap();
    let depth = ctx.components().count();
    let up = format!(
        "{}{}",
        "../".repeat(depth),
        canary.to_str().unwrap().trim_start_matches('/')
    );
    symlink(up, ctx.join("up")).unwrap();
    symlink(canary.join("secret"), ctx.join("flink")).unwrap();
    symlink(canary, ctx.join("d/l")).unwrap();
    symlink("/sub", ctx.join("inside")).unwrap();
    symlink("sub/f", ctx.join("rel")).unwrap();
    ctx
}

/// What each test builds with: a store, the canary, the hostile context
/// (`extra` adds to it), a base image in both tools, a tag for the result.
struct Scene {
    w: Wharf,
    canary: PathBuf,
    ctx: PathBuf,
    base: String,
    tag: String,
    _images: DockerImages,
}

impl Scene {
    fn new(extra: impl FnOnce(&Path)) -> Scene {
        require_docker();
        let w = Wharf::new();
        let scratch = w.scratch();
        let canary = canary(&scratch);
        let ctx = hostile_context(&scratch, &canary);
        extra(&ctx);
        let base = format!("{}:1", unique("sec-build-bb"));
        let tag = format!("{}:1", unique("sec-build-img"));
        let _images = DockerImages(vec![base.clone(), tag.clone()]);
        import_busybox_in_both(&w, &base, &[]);
        Scene {
            w,
            canary,
            ctx,
            base,
            tag,
            _images,
        }
    }
}

/// A stage `a` whose `/l` links to the canary, and whose `/a0` reaches it
/// through a chain of 41 links (one more than a kernel follows).
fn hostile_stage(base: &str, canary: &Path) -> String {
    let c = canary.display();
    format!(
        "FROM {base} AS a\n\
         RUN busybox ln -s {c} /l && busybox ln -s {c} /a40 && i=39; \
         while [ $i -ge 0 ]; do busybox ln -s /a$((i+1)) /a$i; i=$((i-1)); done\n"
    )
}

/// Run `attacks` (Dockerfile tails after `FROM base`, each with the
/// message its failure must show, if docker's is the same) with `tool`:
/// every build must fail and leave the canary as it was.
fn refuse_all(
    tool: &Tool,
    ctx: &Path,
    prelude: &str,
    attacks: &[(String, Option<String>)],
    canary: &Path,
    tag: &str,
) {
    for (tail, want) in attacks {
        let df = format!("{prelude}{tail}\n");
        match tool.build(ctx, &df, tag) {
            Ok(()) => {
                let got = tool.sh(tag, "cat /got /got/* 2>/dev/null; true");
                panic!(
                    "{}: {tail:?} should fail; the image holds {got:?}",
                    tool.name()
                );
            }
            Err(err) => {
                if let Some(want) = want {
                    assert!(
                        err.contains(want.as_str()),
                        "{}: {tail:?}: wanted {want:?} in {err}",
                        tool.name()
                    );
                }
            }
        }
        assert_canary_intact(canary);
    }
}

/// Hole 3: COPY and ADD sources resolve inside the context (and COPY
/// --from sources inside the stage); links inside copied directories are
/// copied as links.
#[test]
fn copy_and_add_sources_resolve_inside_the_context() {
    let s = Scene::new(|_| {});
    let (w, canary, ctx, base, tag) = (&s.w, &s.canary, &s.ctx, &s.base, &s.tag);

    let c = canary.display();
    let nf = |p: &str| Some(format!("\"{p}\" not found: not found"));
    let from_context = vec![
        ("COPY link/secret /got".to_string(), nf("/link/secret")),
        ("COPY link /got/".into(), nf(&c.to_string())),
        ("COPY up/secret /got".into(), nf("/up/secret")),
        ("COPY flink /got".into(), nf(&format!("{c}/secret"))),
        ("COPY lin? /got/".into(), nf(&c.to_string())),
        ("ADD link/t.tar /got/".into(), nf("/link/t.tar")),
        ("ADD flink /got".into(), nf(&format!("{c}/secret"))),
        // BuildKit: "lstat <its mount>/<canary>: no such file or directory".
        ("COPY link/* /got/".into(), None),
    ];
    // BuildKit fails these with "failed to walk" / "lstat" messages naming
    // its own mount dir; both must fail.
    let from_stage = vec![
        ("COPY --from=a /l/secret /got".to_string(), None),
        ("COPY --from=a /l/* /got/".into(), None),
        ("COPY --from=a /a0/secret /got".into(), None),
        ("COPY --from=a /a0 /got/".into(), None),
    ];
    let plain = format!("FROM {base}\n");
    let staged = format!("{}FROM {base}\n", hostile_stage(base, canary));
    let mut outputs = Vec::new();
    for tool in [Tool::Wharf(w), Tool::Docker] {
        refuse_all(&tool, ctx, &plain, &from_context, canary, tag);
        refuse_all(&tool, ctx, &staged, &from_stage, canary, tag);
        // Links that stay inside the context are followed there; a link
        // inside a copied directory is copied as the link.
        let df = format!(
            "{plain}COPY d /x/\nCOPY inside/f /y\nCOPY inside /z/\nCOPY rel /w\n\
             ADD rel /v\n"
        );
        tool.build(ctx, &df, tag)
            .unwrap_or_else(|e| panic!("{}: {e}", tool.name()));
        outputs.push(tool.sh(tag, "busybox readlink /x/l; ls /x /z; cat /y /z/f /w /v"));
    }
    assert_eq!(
        outputs[0],
        format!("{c}\n/x:\nl\n\n/z:\nf\nin context\nin context\nin context\nin context\n"),
        "wharf"
    );
    assert_eq!(outputs[0], outputs[1], "wharf and docker differ");
}

/// Hole 4: `RUN --mount=type=bind` sources resolve inside the context
/// (or the stage), the mounted context is the `.dockerignore`-filtered
/// one, and `rw` writes go to a throw-away copy.
#[test]
fn run_bind_mounts_resolve_inside_the_filtered_context_and_never_write_it() {
    let s = Scene::new(|ctx| {
        fs::create_dir_all(ctx.join("hidden")).unwrap();
        fs::write(ctx.join("hidden/h"), "hidden\n").unwrap();
        fs::write(ctx.join("sub/skip.txt"), "skipped\n").unwrap();
        fs::write(ctx.join(".dockerignore"), "hidden\nsub/skip.txt\n").unwrap();
    });
    let (w, canary, ctx, base, tag) = (&s.w, &s.canary, &s.ctx, &s.base, &s.tag);

    let c = canary.display();
    let nf = |p: &str| Some(format!("\"{p}\" not found: not found"));
    let mount = |opts: &str, cmd: &str| format!("RUN --mount=type=bind,{opts},target=/m {cmd}");
    let from_context = vec![
        (
            mount("source=link,rw", "busybox rm /m/secret"),
            nf(&c.to_string()),
        ),
        (
            mount("source=up,rw", "busybox rm /m/secret"),
            nf(&c.to_string()),
        ),
        (mount("source=link/secret,rw", "cat /m"), nf("/link/secret")),
        (mount("source=hidden", "cat /m/h"), nf("/hidden")),
    ];
    // BuildKit: "failed to walk <its mount>/<canary>: lstat ...".
    let from_stage = vec![
        (mount("from=a,source=/l,rw", "busybox rm /m/secret"), None),
        (mount("from=a,source=/a0,rw", "busybox rm /m/secret"), None),
    ];
    let plain = format!("FROM {base}\n");
    let staged = format!("{}FROM {base}\n", hostile_stage(base, canary));
    let untouched = |tool: &Tool| {
        for (p, want) in [
            ("Dockerfile", None),
            ("sub/f", Some("in context\n")),
            ("hidden/h", Some("hidden\n")),
            ("sub/skip.txt", Some("skipped\n")),
        ] {
            let got = fs::read_to_string(ctx.join(p));
            assert!(got.is_ok(), "{}: context file {p} is gone", tool.name());
            if let Some(want) = want {
                assert_eq!(got.unwrap(), want, "{}: {p} changed", tool.name());
            }
        }
        assert!(
            !ctx.join("new").exists() && !ctx.join("sub/new").exists(),
            "{}: a mount's write reached the context",
            tool.name()
        );
    };
    let mut outputs = Vec::new();
    for tool in [Tool::Wharf(w), Tool::Docker] {
        refuse_all(&tool, ctx, &plain, &from_context, canary, tag);
        refuse_all(&tool, ctx, &staged, &from_stage, canary, tag);
        // The read-only mount comes first: BuildKit 20.10 lets a later
        // step write to a read-only context mount once an earlier step had
        // it `rw` (into a throw-away copy, but still).
        let df = format!(
            "{plain}{}\n{}\n{}\n{}\n",
            mount("source=sub", "rm /m/f 2>/dev/null; cat /m/f > /seen"),
            mount("rw", "ls -a /m /m/sub >> /seen"),
            mount(
                "rw",
                "rm -rf /m/sub /m/Dockerfile && echo new > /m/new && ls /m >> /seen"
            ),
            mount(
                "source=inside,rw",
                "rm /m/f && echo new > /m/new && ls -a /m >> /seen"
            ),
        );
        tool.build(ctx, &df, tag)
            .unwrap_or_else(|e| panic!("{}: {e}", tool.name()));
        untouched(&tool);
        outputs.push(tool.sh(tag, "cat /seen"));
    }
    assert!(
        common::mounts_under(w).is_empty(),
        "the steps' context views are unmounted"
    );
    assert_eq!(
        outputs[0],
        "in context\n/m:\n.\n..\n.dockerignore\nDockerfile\nd\nflink\ninside\nlink\nrel\nsub\nup\n\n\
         /m/sub:\n.\n..\nf\n\
         d\nflink\ninside\nlink\nnew\nrel\nup\n\
         .\n..\nnew\n",
        "wharf"
    );
    assert_eq!(outputs[0], outputs[1], "wharf and docker differ");
}
