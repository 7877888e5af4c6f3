//! Build sources fetched by the build itself and forwarded into it: git
//! contexts and `ADD <git URL>` from a `git daemon` the test runs on
//! loopback, `--build-context` (a directory, `docker-image://`, a git URL,
//! a tarball URL), and `RUN --mount=type=ssh` with an `ssh-agent` the test
//! starts. Compared with docker 20.10's BuildKit where it has the feature
//! (git contexts at a ref, ssh forwarding and its errors); its BuildKit has
//! no git subdirectories, no `ADD <git URL>` and no `--build-context`.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::http_files::{File, HttpFiles};
use common::{docker, sh, unique, DockerImages, Wharf};

/// A process the test started, killed (by its PID) on drop.
struct Started(Child);

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn git(dir: &Path, args: &[&str]) {
    sh(Command::new("git")
        .args(["-c", "user.email=t@t", "-c", "user.name=t"])
        .args(args)
        .current_dir(dir));
}

/// A repository served by `git daemon` on 127.0.0.1: commit one (tag
/// `v1`: `Dockerfile`, `a.txt`, `sub/`), commit two adds `b.txt`;
/// `master` and `main` both point at it (docker 20.10's BuildKit
/// fetches `master` by default, newer ones the remote's HEAD).
struct GitServer {
    _daemon: Started,
    port: u16,
}

impl GitServer {
    fn start(w: &Wharf) -> GitServer {
        let base = w.scratch().join("git");
        let src = base.join("src");
        fs::create_dir_all(src.join("sub")).unwrap();
        fs::write(src.join("Dockerfile"), "FROM scratch\nCOPY . /\n").unwrap();
        fs::write(src.join("a.txt"), "a\n").unwrap();
        fs::write(
            src.join("sub/Dockerfile"),
            "FROM scratch\nCOPY . /in-sub/\n",
        )
        .unwrap();
        fs::write(src.join("sub/s.txt"), "s\n").unwrap();
        git(&base, &["init", "-q", "-b", "main", "src"]);
        git(&src, &["add", "."]);
        git(&src, &["commit", "-qm", "one"]);
        git(&src, &["tag", "v1"]);
        fs::write(src.join("b.txt"), "b\n").unwrap();
        git(&src, &["add", "."]);
        git(&src, &["commit", "-qm", "two"]);
        git(&src, &["branch", "master"]);
        let srv = base.join("srv");
        fs::create_dir_all(&srv).unwrap();
        git(&base, &["clone", "-q", "--bare", "src", "srv/repo.git"]);
        let port = common::free_port();
        // git-daemon itself (`git daemon` would run it as a child that
        // outlives a kill of `git`).
        let exec_path = sh(Command::new("git").arg("--exec-path"));
        let daemon = Command::new(Path::new(exec_path.trim()).join("git-daemon"))
            .arg("--reuseaddr")
            .arg("--export-all")
            .arg(format!("--base-path={}", srv.display()))
            .arg("--listen=127.0.0.1")
            .arg(format!("--port={port}"))
            .arg(&srv)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("git daemon (the git package) is needed");
        let daemon = Started(daemon);
        common::eventually(10, "git daemon listening", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        GitServer {
            _daemon: daemon,
            port,
        }
    }

    fn url(&self, fragment: &str) -> String {
        format!("git://127.0.0.1:{}/repo.git{fragment}", self.port)
    }
}

/// Files of a tar export, names only (times are the checkout's).
fn names(tar: &[u8]) -> Vec<String> {
    let mut n = common::tar_names(tar);
    n.iter_mut()
        .for_each(|e| *e = e.trim_start_matches("./").trim_end_matches('/').to_string());
    n.retain(|e| !e.is_empty() && e != ".");
    n.sort();
    n
}

fn wharf_tar(w: &Wharf, args: &[&str]) -> Vec<String> {
    let out = w.run(
        ["build", "-q", "-o", "type=tar,dest=-"]
            .iter()
            .chain(args)
            .copied(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    names(&out.stdout)
}

fn docker_tar(args: &[&str]) -> Vec<String> {
    let out = docker()
        .env("DOCKER_BUILDKIT", "1")
        .args(["build", "-q", "-o", "type=tar,dest=-"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    names(&out.stdout)
}

/// `build <git URL>` at the default ref and at a tag gives docker's
/// files (no `.git`); `#ref:subdir` uses the subdirectory; `ADD <git
/// URL>` copies the checkout (with `.git` under `--keep-git-dir=true`)
/// and a rebuild of the same commit is cached; a missing repository
/// fails naming it.
#[test]
fn git_contexts_and_add_from_a_loopback_git_daemon() {
    common::require_docker();
    let w = Wharf::new();
    let server = GitServer::start(&w);
    let all = [
        "Dockerfile",
        "a.txt",
        "b.txt",
        "sub",
        "sub/Dockerfile",
        "sub/s.txt",
    ];
    let at_v1: Vec<&str> = all.iter().copied().filter(|n| *n != "b.txt").collect();
    for (fragment, want) in [("", &all[..]), ("#v1", &at_v1[..])] {
        let url = server.url(fragment);
        let ours = wharf_tar(&w, &[&url]);
        assert_eq!(ours, want, "{url}");
        assert_eq!(docker_tar(&[&url]), ours, "{url}");
    }
    // A subdirectory (BuildKit 0.9+; 20.10's says "subdir not supported").
    assert_eq!(
        wharf_tar(&w, &[&server.url("#v1:sub")]),
        ["in-sub", "in-sub/Dockerfile", "in-sub/s.txt"]
    );

    w.import_busybox("busybox:local");
    let df = format!(
        "FROM busybox:local\nADD {} /src\nADD --keep-git-dir=true {} /kept/\n",
        server.url("#v1"),
        server.url("#main")
    );
    let ctx = common::build_context(&w, "add", &[("Dockerfile", &df)]);
    let c = ctx.to_str().unwrap();
    let first = w.ok(["build", "-q", "-t", "g", c]).trim().to_string();
    assert_eq!(
        w.ok(["run", "--rm", "g", "sh", "-c", "cd /src && find . | sort"]),
        ".\n./Dockerfile\n./a.txt\n./sub\n./sub/Dockerfile\n./sub/s.txt\n"
    );
    assert_eq!(
        w.ok(["run", "--rm", "g", "cat", "/kept/b.txt", "/kept/.git/HEAD"])
            .lines()
            .next(),
        Some("b")
    );
    let again = w.run(["build", "--progress", "plain", "-t", "g", c]);
    let log = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{log}");
    assert!(log.contains("[internal] load git source"), "{log}");
    assert_eq!(log.matches("CACHED").count(), 2, "{log}");
    assert_eq!(w.image_id("g"), first);

    let missing = format!("git://127.0.0.1:{}/nope.git", server.port);
    let (code, err) = w.fails(["build", missing.as_str()]);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!("failed to fetch remote {missing}")),
        "{err}"
    );
    // Nothing half-fetched is left for the next build to trip on.
    let checkouts: Vec<PathBuf> = fs::read_dir(w.root().join("cache/git"))
        .unwrap()
        .flatten()
        .filter_map(|e| fs::read_dir(e.path().join("checkouts")).ok())
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(
        checkouts
            .iter()
            .all(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.')),
        "{checkouts:?}"
    );
    w.ok(["builder", "prune", "-f"]);
    assert!(!w.root().join("cache/git").exists());
}

/// `--build-context`: a directory (its own `.dockerignore`) for `COPY
/// --from` and `RUN --mount from=`, `docker-image://` replacing a `FROM`
/// image, a git URL and a tarball URL; docker 20.10 has no such flag
/// (buildx's docs are followed).
#[test]
fn named_build_contexts() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    let server = GitServer::start(&w);
    let http = HttpFiles::start();
    let tarball = {
        let dir = common::build_context(&w, "tarred", &[("t.txt", "from a tarball\n")]);
        let out = sh(Command::new("tar")
            .arg("-C")
            .arg(&dir)
            .args(["-cf", "-", "."]));
        out.into_bytes()
    };
    http.put(
        "/ctx.tar",
        File {
            body: tarball,
            etag: None,
            last_modified: None,
        },
    );
    let other = common::build_context(
        &w,
        "other",
        &[
            ("o.txt", "other\n"),
            ("hidden", "x\n"),
            (".dockerignore", "hidden\n"),
        ],
    );
    let df = "FROM alpine\n\
              COPY --from=extra . /all/\n\
              RUN --mount=from=extra,target=/m cat /m/o.txt > /m.txt\n\
              COPY --from=gitsrc s.txt /g.txt\n\
              COPY --from=web t.txt /t.txt\n";
    let ctx = common::build_context(&w, "main", &[("Dockerfile", df)]);
    let git_ctx = format!("gitsrc={}", server.url("#v1:sub"));
    let web = format!("web={}", http.url("/ctx.tar"));
    let extra = format!("extra={}", other.display());
    w.ok([
        "build",
        "-q",
        "-t",
        "named",
        "--build-context",
        "alpine=docker-image://busybox:local",
        "--build-context",
        &extra,
        "--build-context",
        &git_ctx,
        "--build-context",
        &web,
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(
        w.ok([
            "run",
            "--rm",
            "named",
            "sh",
            "-c",
            "ls -A /all; cat /m.txt /g.txt /t.txt"
        ]),
        ".dockerignore\no.txt\nother\ns\nfrom a tarball\n"
    );
    // What is not there fails before anything is built.
    let (code, err) = w.fails([
        "build",
        "--build-context",
        "x=/nonexistent",
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("path \"/nonexistent\" not found"), "{err}");
}

/// The test's own agent holding a fresh key.
struct Agent {
    _agent: Started,
    sock: PathBuf,
    key: PathBuf,
}

impl Agent {
    fn start(dir: &Path) -> Agent {
        fs::create_dir_all(dir).unwrap();
        let key = dir.join("id_ed25519");
        sh(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "wharf-test", "-f"])
            .arg(&key));
        let sock = dir.join("agent.sock");
        let agent = Started(
            Command::new("ssh-agent")
                .arg("-D")
                .arg("-a")
                .arg(&sock)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("ssh-agent (openssh-client) is needed"),
        );
        common::eventually(10, "the agent's socket", || sock.exists());
        sh(Command::new("ssh-add")
            .arg(&key)
            .env("SSH_AUTH_SOCK", &sock));
        Agent {
            _agent: agent,
            sock,
            key,
        }
    }
}

/// `build --no-cache --progress plain --ssh default ARGS` by `cmd` (wharf
/// or docker) with the agent in the environment: the progress log.
fn ssh_build(mut cmd: Command, sock: &Path, args: &[&str]) -> String {
    let out = cmd
        .env("DOCKER_BUILDKIT", "1")
        .env("SSH_AUTH_SOCK", sock)
        .args([
            "build",
            "--no-cache",
            "--progress",
            "plain",
            "--ssh",
            "default",
        ])
        .args(args)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{log}");
    log
}

/// A context holding the host's `ssh-add` and its libraries, to run in
/// a busybox stage.
fn ssh_add_context(w: &Wharf, dockerfile: &str) -> PathBuf {
    let ctx = common::build_context(w, &unique("ssh"), &[("Dockerfile", dockerfile)]);
    let ldd = sh(Command::new("ldd").arg("/usr/bin/ssh-add"));
    let libs = ldd.split_whitespace().filter(|p| p.starts_with('/'));
    for f in std::iter::once("/usr/bin/ssh-add").chain(libs) {
        let to = ctx.join("root").join(f.trim_start_matches('/'));
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(f, &to).unwrap();
    }
    ctx
}

/// `RUN --mount=type=ssh` sees the agent at `/run/buildkit/ssh_agent.0`
/// with `SSH_AUTH_SOCK` set, from `--ssh default` (the environment's
/// agent) or `--ssh default=KEY` (an agent of the build's own, gone
/// after it); an optional missing ID mounts nothing, a required one and
/// a bad `--ssh` fail with docker's words.
#[test]
fn ssh_agent_forwarded_into_run_as_docker() {
    common::require_docker();
    let w = Wharf::new();
    let base = unique("wharf-bb-ssh");
    common::import_busybox_in_both(&w, &base, &[]);
    let mut images = DockerImages(vec![base.clone()]);
    let agent = Agent::start(&w.scratch().join("agent"));
    let fingerprint = sh(Command::new("ssh-keygen").arg("-lf").arg(&agent.key));
    let df = format!(
        "FROM {base}\nCOPY root/ /\n\
         RUN --mount=type=ssh echo $SSH_AUTH_SOCK; ls /run/buildkit; ssh-add -l\n\
         RUN --mount=type=ssh,id=other echo $SSH_AUTH_SOCK; ls /run/buildkit\n"
    );
    let ctx = ssh_add_context(&w, &df);
    let c = ctx.to_str().unwrap();
    let step_lines = |log: &str| -> Vec<String> {
        log.lines()
            .filter_map(|l| l.split_once(' ').map(|(_, r)| r))
            .filter_map(|r| r.split_once(' ').filter(|(t, _)| t.parse::<f64>().is_ok()))
            .map(|(_, rest)| rest.to_string())
            .collect()
    };
    let ours_log = ssh_build(w.command(Vec::<&str>::new()), &agent.sock, &[c]);
    let tag = unique("wharf-ssh-built");
    images.0.push(tag.clone());
    let theirs_log = ssh_build(docker(), &agent.sock, &["-t", &tag, c]);
    let want = vec![
        "/run/buildkit/ssh_agent.0".to_string(),
        "ssh_agent.0".to_string(),
        fingerprint.trim().to_string(),
        "/run/buildkit/ssh_agent.0".to_string(),
    ];
    assert_eq!(step_lines(&ours_log), want, "{ours_log}");
    assert_eq!(step_lines(&theirs_log), want, "{theirs_log}");

    // Key files: the build's own agent, stopped with the build.
    let key = format!("default={}", agent.key.display());
    let df = format!("FROM {base}\nCOPY root/ /\nRUN --mount=type=ssh ssh-add -l\n");
    let ctx = ssh_add_context(&w, &df);
    let out = w.run([
        "build",
        "--progress",
        "plain",
        "--ssh",
        &key,
        ctx.to_str().unwrap(),
    ]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains(fingerprint.trim()), "{log}");
    let left = fs::read_dir(w.root().join("tmp"))
        .map(|d| d.flatten().count())
        .unwrap_or(0);
    assert_eq!(left, 0, "the build's agent left files behind");

    // Errors, as docker's.
    let df = format!("FROM {base}\nRUN --mount=type=ssh,id=other,required=true true\n");
    let ctx = common::build_context(&w, "required", &[("Dockerfile", &df)]);
    let sock = format!("default={}", agent.sock.display());
    let args = ["build", "--ssh", sock.as_str(), ctx.to_str().unwrap()];
    let (code, err) = w.fails(args);
    assert_eq!(code, 1);
    let theirs = docker()
        .env("DOCKER_BUILDKIT", "1")
        .args(args)
        .output()
        .unwrap();
    assert_eq!(theirs.status.code(), Some(1));
    let want = "unset ssh forward key other";
    assert!(err.contains(want), "{err}");
    assert!(String::from_utf8_lossy(&theirs.stderr).contains(want));
    let unset = w
        .command(["build", "--ssh", "default", ctx.to_str().unwrap()])
        .env_remove("SSH_AUTH_SOCK")
        .output()
        .unwrap();
    let want = "could not parse ssh: [default]: invalid empty ssh agent socket, make sure SSH_AUTH_SOCK is set";
    assert!(String::from_utf8_lossy(&unset.stderr).contains(want));
    let theirs = docker()
        .env("DOCKER_BUILDKIT", "1")
        .env_remove("SSH_AUTH_SOCK")
        .args(["build", "--ssh", "default", ctx.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&theirs.stderr).contains(want));
}
