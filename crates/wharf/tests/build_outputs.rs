//! What a build produces besides a tagged image: reproducible images
//! (`SOURCE_DATE_EPOCH`) and `--output` exports (local directory, tar, OCI
//! and docker archives).

mod common;

use common::build_context as context;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use common::{docker, require_docker, sh, unique, DockerImages, Wharf};

const REPRO: &str = r#"FROM busybox:local
ARG SOURCE_DATE_EPOCH
COPY app.txt /app/
RUN echo built > /built.txt && mkdir -p /var/made && echo "$SOURCE_DATE_EPOCH" > /epoch
WORKDIR /work
ENV X=1
CMD ["cat", "/built.txt"]
"#;

const EPOCH: &str = "1700000000";
const EPOCH_TIME: &str = "2023-11-14T22:13:20Z";

fn inspect(w: &Wharf, image: &str, format: &str) -> String {
    w.ok(["image", "inspect", "--format", format, image])
        .trim()
        .to_string()
}

#[test]
fn source_date_epoch_gives_the_same_image_on_two_roots() {
    // One root takes it as a build arg, the other from the environment;
    // the context is written anew for the second (new file times).
    let a = Wharf::new();
    a.import_busybox("busybox:local");
    let ctx_a = context(&a, "app", &[("Dockerfile", REPRO), ("app.txt", "hello\n")]);
    let id_a = a
        .ok([
            "build",
            "-q",
            "--build-arg",
            &format!("SOURCE_DATE_EPOCH={EPOCH}"),
            "-t",
            "repro",
            ctx_a.to_str().unwrap(),
        ])
        .trim()
        .to_string();

    let b = Wharf::new();
    b.import_busybox("busybox:local");
    let ctx_b = context(&b, "app", &[("Dockerfile", REPRO), ("app.txt", "hello\n")]);
    let out = b
        .command(["build", "-q", "-t", "repro", ctx_b.to_str().unwrap()])
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id_b = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(id_a, id_b, "the same context and epoch give the same image");

    // The times say the epoch: the image's, its history's, the files'.
    assert_eq!(inspect(&a, "repro", "{{.Created}}"), EPOCH_TIME);
    for f in ["/built.txt", "/var/made", "/app/app.txt", "/work"] {
        let mtime = a.ok(["run", "--rm", "repro", "busybox", "stat", "-c", "%Y", f]);
        assert_eq!(mtime.trim(), EPOCH, "{f}");
    }
    // The arg reaches RUN steps that declare it.
    assert_eq!(
        a.ok(["run", "--rm", "repro", "cat", "/epoch"]),
        format!("{EPOCH}\n")
    );

    // Without it, times are the build's own (a different image), and a bad
    // value is refused.
    let plain = a
        .ok(["build", "-q", ctx_a.to_str().unwrap()])
        .trim()
        .to_string();
    assert_ne!(plain, id_a);
    let (code, err) = a.fails([
        "build",
        "--build-arg",
        "SOURCE_DATE_EPOCH=soon",
        ctx_a.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("invalid SOURCE_DATE_EPOCH: soon"), "{err}");
}

const EXPORT: &str = r#"ARG BASE
FROM $BASE AS files
RUN mkdir -p /out/sub && echo hi > /out/f && echo g > /out/sub/g && chown 65534:65534 /out/sub/g && chmod 640 /out/sub/g && ln -s sub/g /out/link

FROM scratch
COPY --from=files /out /
"#;

/// A tar's entries (see `common::tar_listing`), the root entry left out.
fn tar_listing(data: &[u8]) -> Vec<String> {
    common::tar_listing(data)
        .into_iter()
        .filter(|l| !l.ends_with(' '))
        .collect()
}

/// A directory's entries: "kind mode uid:gid name [content|-> link]".
fn dir_listing(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let m = fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            let what = if m.file_type().is_symlink() {
                format!("-> {}", fs::read_link(&p).unwrap().display())
            } else if m.is_dir() {
                String::new()
            } else {
                fs::read_to_string(&p).unwrap()
            };
            let mode = if m.file_type().is_symlink() {
                0
            } else {
                m.mode() & 0o7777
            };
            out.push(format!("{mode:o} {}:{} {rel} {what}", m.uid(), m.gid()));
            if m.is_dir() {
                walk(root, &p, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

#[test]
fn outputs_local_and_tar_as_docker_buildkit_and_image_archives() {
    require_docker();
    let w = Wharf::new();
    let scratch = w.scratch();
    let base_tar = common::busybox_rootfs_tar(&scratch);
    let base = unique("wharf-bb");
    let loaded = unique("wharf-exported");
    let _cleanup = DockerImages(vec![format!("{base}:1"), format!("{loaded}:1")]);
    sh(docker().args(["import", base_tar.to_str().unwrap(), &format!("{base}:1")]));
    w.ok(["import", base_tar.to_str().unwrap(), &format!("{base}:1")]);
    let ctx = context(&w, "ctx", &[("Dockerfile", EXPORT)]);
    let arg = format!("BASE={base}:1");
    let c = ctx.to_str().unwrap();
    let out = |name: &str| scratch.join(name).display().to_string();
    let before = w.ok(["images", "-aq"]);

    // local: `type=local,dest=` and a bare path; tar: to a file and to stdout.
    let build = |args: &[&str]| {
        let mut all = vec!["build", "-q", "--build-arg", &arg];
        all.extend_from_slice(args);
        all.push(c);
        w.ok(all)
    };
    assert_eq!(
        build(&["-o", &format!("type=local,dest={}", out("w-local"))]),
        "\n"
    );
    build(&["-o", &out("w-bare")]);
    build(&["-o", &format!("type=tar,dest={}", out("w.tar"))]);
    let streamed = w
        .command(["build", "-q", "--build-arg", &arg, "-o", "-", c])
        .output()
        .unwrap();
    assert!(streamed.status.success());
    for o in [
        format!("type=local,dest={}", out("d-local")),
        format!("type=tar,dest={}", out("d.tar")),
    ] {
        sh(docker().env("DOCKER_BUILDKIT", "1").args([
            "build",
            "-q",
            "--build-arg",
            &arg,
            "-o",
            &o,
            c,
        ]));
    }
    let ours = dir_listing(Path::new(&out("w-local")));
    assert_eq!(ours, dir_listing(Path::new(&out("d-local"))));
    assert_eq!(dir_listing(Path::new(&out("w-bare"))), ours);
    assert!(ours.contains(&"640 0:0 sub/g g\n".to_string()), "{ours:?}");
    let their_tar = tar_listing(&fs::read(out("d.tar")).unwrap());
    assert_eq!(tar_listing(&fs::read(out("w.tar")).unwrap()), their_tar);
    assert_eq!(tar_listing(&streamed.stdout), their_tar);
    assert!(
        their_tar.contains(&"Regular 640 65534:65534 2 sub/g".to_string()),
        "{their_tar:?}"
    );
    // Exporting only leaves no image behind.
    assert_eq!(w.ok(["images", "-aq"]), before);

    // docker: an archive docker loads, with the tags; oci: an image layout
    // (wharf loads both). --load also puts the image in the store.
    let tag = format!("{loaded}:1");
    build(&[
        "-t",
        &tag,
        "-o",
        &format!("type=docker,dest={}", out("img-docker.tar")),
    ]);
    build(&[
        "-t",
        &tag,
        "-o",
        &format!("type=oci,dest={}", out("img-oci.tar")),
    ]);
    assert_eq!(w.ok(["images", "-aq"]), before, "not loaded without --load");
    let said = sh(docker().args(["load", "-i", &out("img-docker.tar")]));
    assert!(said.contains(&format!("Loaded image: {tag}")), "{said}");
    let names = common::tar_names(&fs::read(out("img-oci.tar")).unwrap());
    assert!(names.contains(&"index.json".to_string()), "{names:?}");
    assert!(names.contains(&"oci-layout".to_string()), "{names:?}");
    let id = build(&["--load", "-t", &tag, "-o", &out("w-loaded")]);
    assert!(id.trim().starts_with("sha256:"), "{id}");
    assert_eq!(w.image_id(&tag), id.trim());
    assert_eq!(dir_listing(Path::new(&out("w-loaded"))), ours);
    let other = Wharf::new();
    let said = other.load(Path::new(&out("img-oci.tar")));
    assert!(said.contains(&tag), "{said}");
    assert_eq!(other.image_id(&tag), id.trim());

    // Bad outputs, in docker's words.
    let (code, err) = w.fails(["build", "-o", "type=tar", c]);
    assert_eq!(code, 1);
    assert!(err.contains("dest is required for tar output"), "{err}");
    let (_, err) = w.fails(["build", "-o", "type=foo,dest=x", c]);
    assert!(err.contains("exporter \"foo\" could not be found"), "{err}");
}
