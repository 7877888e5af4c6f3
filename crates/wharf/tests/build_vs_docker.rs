//! The same Dockerfile and context built by wharf and by docker+BuildKit
//! (the local 20.10 daemon, same base image) give the same image: per
//! layer the same entries (names, types, modes, owners, link targets,
//! sizes), the same config and the same history.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{docker, require_docker, sh, unique, DockerImages, Wharf};
use serde_json::Value;

/// Entries of each layer above the base: "type mode uid:gid size name ->link".
fn layers(saved: &Path, skip: usize) -> Vec<Vec<String>> {
    let manifest: Value =
        serde_json::from_slice(&fs::read(saved.join("manifest.json")).unwrap()).unwrap();
    let paths = manifest[0]["Layers"].as_array().unwrap();
    paths
        .iter()
        .skip(skip)
        .map(|p| {
            let data = fs::read(saved.join(p.as_str().unwrap())).unwrap();
            common::tar_listing(&data)
        })
        .collect()
}

fn config(saved: &Path) -> Value {
    let manifest: Value =
        serde_json::from_slice(&fs::read(saved.join("manifest.json")).unwrap()).unwrap();
    let cfg = manifest[0]["Config"].as_str().unwrap();
    serde_json::from_slice(&fs::read(saved.join(cfg)).unwrap()).unwrap()
}

/// A config without its empty fields (docker writes them, BuildKit omits
/// them; both mean the same).
fn meaningful(v: &Value) -> Value {
    let mut m = v.as_object().cloned().unwrap_or_default();
    m.retain(|_, x| match x {
        Value::Null | Value::Bool(false) => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    });
    Value::Object(m)
}

fn untar(tar: &Path, into: &Path) {
    fs::create_dir_all(into).unwrap();
    sh(std::process::Command::new("tar")
        .arg("-xf")
        .arg(tar)
        .arg("-C")
        .arg(into));
}

const DOCKERFILE: &str = r#"ARG BASE
FROM $BASE AS base
ARG V=2
ENV A=1 B="two words"
LABEL k=v "x y"=z
RUN echo $V > /v.txt && mkdir -p /made/deep && ln -s /v.txt /made/link
COPY --chown=1:2 --chmod=600 f.txt /dst/
COPY d /dd
COPY f.txt d/sub/y /multi/
ADD f.txt /added
RUN rm /v.txt
WORKDIR /w/x
USER nobody
EXPOSE 80 53/udp
VOLUME /data
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s CMD echo ok
SHELL ["/bin/sh", "-ec"]
ENTRYPOINT ["/bin/sh"]
CMD ["-c", "echo hi"]
RUN echo as-nobody

FROM $BASE
COPY --from=base /dd /copied
COPY --from=base /made /made
WORKDIR /copied
"#;

#[test]
fn same_dockerfile_same_image_as_docker_buildkit() {
    require_docker();
    let w = Wharf::new();
    let scratch = w.scratch();
    let (base, built, _, _cleanup) = base_in_both(&w);

    let ctx = scratch.join("ctx");
    fs::create_dir_all(ctx.join("d/sub")).unwrap();
    fs::write(ctx.join("Dockerfile"), DOCKERFILE).unwrap();
    fs::write(ctx.join("f.txt"), "hi\n").unwrap();
    fs::write(ctx.join("d/sub/y"), "y\n").unwrap();
    std::os::unix::fs::symlink("sub/y", ctx.join("d/link")).unwrap();
    let arg = format!("BASE={base}:1");
    let tag = format!("{built}:1");

    // The first stage (every instruction kind) and the final one (COPY --from).
    for target in ["base", ""] {
        let mut targ = vec![];
        if !target.is_empty() {
            targ = vec!["--target", target];
        }
        sh(docker()
            .env("DOCKER_BUILDKIT", "1")
            .args(["build", "-q", "--build-arg", &arg, "-t", &tag])
            .args(&targ)
            .arg(&ctx));
        let mut args = vec!["build", "-q", "--build-arg", &arg, "-t", &tag];
        args.extend(&targ);
        args.push(ctx.to_str().unwrap());
        w.ok(args);
        compare(&w, &scratch.join(format!("out-{target}")), &tag);
        // The next build takes the tag: this image would be left untagged.
        sh(docker().args(["rmi", &tag]));
    }
}

/// A busybox base imported as `<base>:1` into docker and wharf; the base's
/// name, a name for the built image, the base's tar, and docker's cleanup.
fn base_in_both(w: &Wharf) -> (String, String, PathBuf, DockerImages) {
    let base_tar = common::busybox_rootfs_tar(&w.scratch());
    let base = unique("wharf-bb");
    let built = unique("wharf-built");
    let cleanup = DockerImages(vec![format!("{base}:1"), format!("{built}:1")]);
    sh(docker().args(["import", base_tar.to_str().unwrap(), &format!("{base}:1")]));
    w.ok(["import", base_tar.to_str().unwrap(), &format!("{base}:1")]);
    (base, built, base_tar, cleanup)
}

/// Build `ctx` with `BASE=<base>:1` as `<built>:1` through docker's
/// BuildKit and through wharf; the tag.
fn build_both(w: &Wharf, ctx: &Path, base: &str, built: &str) -> String {
    let arg = format!("BASE={base}:1");
    let tag = format!("{built}:1");
    sh(docker()
        .env("DOCKER_BUILDKIT", "1")
        .args(["build", "-q", "--build-arg", &arg, "-t", &tag])
        .arg(ctx));
    w.ok([
        "build",
        "-q",
        "--build-arg",
        &arg,
        "-t",
        &tag,
        ctx.to_str().unwrap(),
    ]);
    tag
}

fn compare(w: &Wharf, dir: &Path, tag: &str) {
    let d_tar = dir.join("docker.tar");
    fs::create_dir_all(dir).unwrap();
    sh(docker().args(["save", "-o", d_tar.to_str().unwrap(), tag]));
    let w_tar = dir.join("wharf.tar");
    w.ok(["save", "-o", w_tar.to_str().unwrap(), tag]);
    let (d, wh) = (dir.join("d"), dir.join("w"));
    untar(&d_tar, &d);
    untar(&w_tar, &wh);
    assert_eq!(
        layers(&wh, 1),
        layers(&d, 1),
        "{tag}: layer contents differ"
    );
    let (dc, wc) = (config(&d), config(&wh));
    assert_eq!(
        meaningful(&wc["config"]),
        meaningful(&dc["config"]),
        "{tag}: config differs"
    );
    let hist = |c: &Value| -> Vec<(String, bool)> {
        c["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["created_by"].as_str().unwrap_or("").to_string(),
                    h["empty_layer"].as_bool().unwrap_or(false),
                )
            })
            .collect()
    };
    assert_eq!(hist(&wc), hist(&dc), "{tag}: history differs");
}

/// `.dockerignore` directory rules (`docs/**` leaves the empty `docs`
/// directory, `tmp` takes the directory and all in it, `!` brings a file
/// back) and RUN under a named user (BuildKit gives the step the user's
/// supplementary groups only, not the primary group `docker run` adds).
const USER_DOCKERFILE: &str = r#"ARG BASE
FROM $BASE
RUN echo 'app:x:1000:1000::/home/app:/bin/sh' >> /etc/passwd && echo 'app:x:1000:' >> /etc/group && echo 'solo:x:1001:1001::/:/bin/sh' >> /etc/passwd && echo 'solo:x:1001:' >> /etc/group && echo 'extra:x:2000:app' >> /etc/group && mkdir -m 1777 /out
COPY . /ctx
USER app
RUN id > /out/app.txt
USER solo
RUN id > /out/solo.txt
USER 1000:1001
RUN id > /out/ids.txt
"#;

#[test]
fn dockerignore_dirs_and_run_as_a_named_user_as_docker_buildkit() {
    require_docker();
    let w = Wharf::new();
    let scratch = w.scratch();
    let (base, built, _, _cleanup) = base_in_both(&w);

    let ctx = scratch.join("ctx");
    for (f, content) in [
        ("Dockerfile", USER_DOCKERFILE),
        (".dockerignore", "docs/**\ntmp\nlogs/*\n!logs/keep\n"),
        ("docs/a.md", "a\n"),
        ("docs/sub/b.md", "b\n"),
        ("tmp/x", "x\n"),
        ("logs/keep", "k\n"),
        ("logs/drop", "d\n"),
        ("src/s", "s\n"),
    ] {
        let p = ctx.join(f);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, content).unwrap();
    }
    let tag = build_both(&w, &ctx, &base, &built);
    compare(&w, &scratch.join("out"), &tag);
    let listing = w.ok(["run", "--rm", &tag, "busybox", "find", "/ctx"]);
    let mut listing: Vec<&str> = listing.lines().collect();
    listing.sort();
    assert_eq!(
        listing,
        [
            "/ctx",
            "/ctx/.dockerignore",
            "/ctx/Dockerfile",
            "/ctx/docs",
            "/ctx/logs",
            "/ctx/logs/keep",
            "/ctx/src",
            "/ctx/src/s"
        ]
    );
    for (file, want) in [
        ("app", "uid=1000(app) gid=1000(app) groups=2000(extra)\n"),
        ("solo", "uid=1001(solo) gid=1001(solo)\n"),
        ("ids", "uid=1000(app) gid=1001(solo)\n"),
    ] {
        let path = format!("/out/{file}.txt");
        let theirs = sh(docker().args(["run", "--rm", &tag, "cat", &path]));
        let ours = w.ok(["run", "--rm", &tag, "cat", &path]);
        assert_eq!(ours, theirs, "{file}: `id` in a RUN step");
        assert_eq!(ours, want, "{file}");
    }
}

/// `ADD <url>` from a loopback server: the file under a directory
/// destination (named after the URL) or as the named file, mode 0600,
/// root's unless `--chown`, the server's `Last-Modified` as its time, a
/// tarball not unpacked.
#[test]
fn add_from_url_as_docker_buildkit() {
    use common::http_files::{File, HttpFiles};
    require_docker();
    let w = Wharf::new();
    let scratch = w.scratch();
    let (base, built, base_tar, _cleanup) = base_in_both(&w);

    let server = HttpFiles::start();
    let lm = Some("Thu, 04 Mar 2021 05:06:07 GMT".to_string());
    server.put(
        "/files/f.txt",
        File {
            body: b"remote content\n".to_vec(),
            etag: Some("\"v1\"".into()),
            last_modified: lm.clone(),
        },
    );
    server.put(
        "/a.tar",
        File {
            body: fs::read(&base_tar).unwrap(),
            etag: None,
            last_modified: lm,
        },
    );
    let dockerfile = format!(
        "ARG BASE\nFROM $BASE\nADD {f} /dst/\nADD {f} /named\nADD --chown=65534:65534 {a} /arch/\n",
        f = server.url("/files/f.txt"),
        a = server.url("/a.tar")
    );
    let ctx = scratch.join("ctx");
    fs::create_dir_all(&ctx).unwrap();
    fs::write(ctx.join("Dockerfile"), dockerfile).unwrap();
    let tag = build_both(&w, &ctx, &base, &built);
    compare(&w, &scratch.join("out"), &tag);
    let stat = ["busybox", "stat", "-c", "%a %u:%g %Y %s %n"];
    for f in ["/dst/f.txt", "/named", "/arch/a.tar"] {
        let mut args = vec!["run", "--rm", tag.as_str()];
        args.extend(stat);
        args.push(f);
        let theirs = sh(docker().args(&args));
        assert_eq!(w.ok(&args), theirs, "{f}");
    }
    let mut args = vec!["run", "--rm", tag.as_str()];
    args.extend(stat);
    args.push("/named");
    assert_eq!(w.ok(&args), "600 0:0 1614834367 15 /named\n");
}

/// `--progress plain` has BuildKit's shape: numbered vertices named as
/// BuildKit names them (`[1/3]` for the only, unnamed stage; `[name 1/2]`
/// and `[stage-1 1/1]` in a multi-stage file), step output lines, and a
/// `DONE`/`CACHED` end for each; `rawjson` gives the same vertices as JSON
/// lines with the step output in base64.
#[test]
fn progress_plain_shape_and_rawjson_as_docker_buildkit() {
    use base64::Engine as _;
    require_docker();
    let w = Wharf::new();
    let scratch = w.scratch();
    let base_tar = common::busybox_rootfs_tar(&scratch);
    let base = unique("wharf-bb");
    let _cleanup = DockerImages(vec![format!("{base}:1")]);
    sh(docker().args(["import", base_tar.to_str().unwrap(), &format!("{base}:1")]));
    w.ok(["import", base_tar.to_str().unwrap(), &format!("{base}:1")]);
    let arg = format!("BASE={base}:1");
    let titles = |log: &str| -> Vec<String> {
        log.lines()
            .filter_map(|l| {
                let rest = l.strip_prefix('#')?;
                let (_, title) = rest.split_once(' ')?;
                title.starts_with('[').then_some(title)
            })
            .filter(|t| !t.starts_with("[internal]"))
            // An image several stages start from is one vertex, named
            // after whichever stage BuildKit met first.
            .map(|t| match t.split_once("] FROM ") {
                Some((_, image)) => format!("FROM {image}"),
                None => t.to_string(),
            })
            .collect()
    };
    for (name, dockerfile) in [
        (
            "single",
            "ARG BASE\nFROM $BASE\nCOPY f.txt /\nRUN echo out-line && cat /f.txt\n",
        ),
        (
            "multi",
            "ARG BASE\nFROM $BASE AS build\nRUN echo built > /b\n\nFROM $BASE\nCOPY --from=build /b /\n",
        ),
    ] {
        let ctx = scratch.join(name);
        fs::create_dir_all(&ctx).unwrap();
        fs::write(ctx.join("Dockerfile"), dockerfile).unwrap();
        fs::write(ctx.join("f.txt"), "content\n").unwrap();
        // Untagged, docker's image is found (and removed) by its ID.
        let iid = scratch.join(format!("{name}.iid"));
        let theirs = docker()
            .env("DOCKER_BUILDKIT", "1")
            .args(["build", "--no-cache", "--progress", "plain", "--build-arg", &arg])
            .arg("--iidfile")
            .arg(&iid)
            .arg(&ctx)
            .output()
            .unwrap();
        let _built = DockerImages(fs::read_to_string(&iid).into_iter().collect());
        assert!(theirs.status.success());
        let theirs = String::from_utf8_lossy(&theirs.stderr).into_owned();
        let ours = w.run([
            "build",
            "--progress",
            "plain",
            "--build-arg",
            &arg,
            ctx.to_str().unwrap(),
        ]);
        assert!(ours.status.success());
        let ours = String::from_utf8_lossy(&ours.stderr).into_owned();
        let mut t_ours = titles(&ours);
        let mut t_theirs = titles(&theirs);
        // Parallel stages may interleave differently.
        t_ours.sort();
        t_theirs.sort();
        assert_eq!(t_ours, t_theirs, "{name}:\n{ours}\n---\n{theirs}");
        // Every vertex ends, and output lines carry their time.
        for log in [&ours, &theirs] {
            let started = log.lines().filter(|l| l.starts_with('#') && l.contains(" [")).count();
            let ended = log
                .lines()
                .filter(|l| l.contains(" DONE ") || l.ends_with(" CACHED"))
                .count();
            assert!(ended >= started, "{log}");
        }
        if name == "single" {
            let out_line = |log: &str| {
                log.lines()
                    .find(|l| l.contains("content"))
                    .map(|l| l.split(' ').skip(2).collect::<Vec<_>>().join(" "))
            };
            assert_eq!(out_line(&ours), out_line(&theirs));
            assert!(ours.contains("#1 transferring dockerfile: "), "{ours}");
            let raw = w.run([
                "build",
                "--progress",
                "rawjson",
                "--no-cache",
                "--build-arg",
                &arg,
                ctx.to_str().unwrap(),
            ]);
            assert!(raw.status.success());
            let mut names = Vec::new();
            let mut logs = String::new();
            for line in String::from_utf8_lossy(&raw.stderr).lines() {
                let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
                for vx in v["vertexes"].as_array().into_iter().flatten() {
                    if vx.get("completed").is_some() {
                        names.push(vx["name"].as_str().unwrap().to_string());
                    }
                }
                for l in v["logs"].as_array().into_iter().flatten() {
                    let data = base64::engine::general_purpose::STANDARD
                        .decode(l["data"].as_str().unwrap())
                        .unwrap();
                    logs.push_str(&String::from_utf8_lossy(&data));
                }
            }
            let mut from_json: Vec<String> = titles(
                &names.iter().map(|n| format!("#0 {n}\n")).collect::<String>(),
            );
            from_json.sort();
            assert_eq!(from_json, t_ours);
            assert!(logs.contains("content\n"), "{logs}");
        }
    }
}
