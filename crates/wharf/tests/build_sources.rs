//! Where a build's sources come from besides a local directory: `ADD
//! <url>` (checksums, the download cache with ETags) against a loopback
//! HTTP server the test runs, and build contexts from a tarball on stdin.

mod common;

use common::build_context as context;

use std::fs;

use common::http_files::{File, HttpFiles};
use common::Wharf;

fn file(body: &str, etag: &str) -> File {
    File {
        body: body.as_bytes().to_vec(),
        etag: Some(format!("\"{etag}\"")),
        last_modified: Some("Thu, 04 Mar 2021 05:06:07 GMT".into()),
    }
}

/// sha256 of `s`, as `--checksum` takes it.
fn sha256(s: &str) -> String {
    let out = common::sh(
        std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s '{s}' | sha256sum")),
    );
    format!("sha256:{}", out.split_whitespace().next().unwrap())
}

#[test]
fn add_url_checksum_chmod_and_download_cache() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    let server = HttpFiles::start();
    server.put("/f.txt", file("one\n", "v1"));
    let url = server.url("/f.txt");
    let df = format!("FROM busybox:local\nADD --chmod=644 {url} /srv/\n");
    let ctx = context(&w, "app", &[("Dockerfile", &df)]);
    let c = ctx.to_str().unwrap();
    let first = w.ok(["build", "-q", "-t", "u", c]).trim().to_string();
    let stat = |img: &str| {
        w.ok([
            "run",
            "--rm",
            img,
            "busybox",
            "stat",
            "-c",
            "%a %Y",
            "/srv/f.txt",
        ])
    };
    assert_eq!(stat("u"), "644 1614834367\n");
    assert_eq!(w.ok(["run", "--rm", "u", "cat", "/srv/f.txt"]), "one\n");
    assert_eq!(server.downloads("/f.txt"), 1);

    // Unchanged (the server answers 304 to the ETag): asked, not
    // downloaded, the step cached, the same image.
    let again = w.run(["build", "--progress", "plain", "-t", "u", c]);
    assert!(again.status.success());
    let log = String::from_utf8_lossy(&again.stderr);
    assert!(
        log.contains(&format!("] ADD --chmod=644 {url} /srv/\n#")),
        "{log}"
    );
    assert!(log.contains("CACHED"), "{log}");
    assert_eq!(server.requests("/f.txt"), 2);
    assert_eq!(server.downloads("/f.txt"), 1);
    assert_eq!(w.image_id("u"), first);

    // Changed on the server: downloaded again, a new layer.
    server.put("/f.txt", file("two\n", "v2"));
    let second = w.ok(["build", "-q", "-t", "u", c]).trim().to_string();
    assert_ne!(second, first);
    assert_eq!(w.ok(["run", "--rm", "u", "cat", "/srv/f.txt"]), "two\n");
    assert_eq!(server.downloads("/f.txt"), 2);

    // --checksum: the cached copy with that digest is used without asking.
    let sum = sha256("two\n");
    let df = format!("FROM busybox:local\nADD --checksum={sum} {url} /sum.txt\n");
    let ctx = context(&w, "sum", &[("Dockerfile", &df)]);
    let asked = server.requests("/f.txt");
    w.ok(["build", "-q", "-t", "s", ctx.to_str().unwrap()]);
    assert_eq!(server.requests("/f.txt"), asked);
    assert_eq!(w.ok(["run", "--rm", "s", "cat", "/sum.txt"]), "two\n");
    // A wrong one fails the build, naming both digests.
    let bad = sha256("three\n");
    let df = format!("FROM busybox:local\nADD --checksum={bad} {url} /sum.txt\n");
    let ctx = context(&w, "bad", &[("Dockerfile", &df)]);
    let (code, err) = w.fails(["build", ctx.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!("digest mismatch {sum}: {bad}")),
        "{err}"
    );
    // A missing file names the URL and the status.
    let df = format!("FROM busybox:local\nADD {} /x\n", server.url("/nope"));
    let ctx = context(&w, "missing", &[("Dockerfile", &df)]);
    let (code, err) = w.fails(["build", ctx.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains(&server.url("/nope")), "{err}");
    assert!(err.contains("404"), "{err}");
    // builder prune drops the downloads too.
    w.ok(["builder", "prune", "-f"]);
    w.ok(["build", "-q", "-t", "u", c]);
    assert_eq!(server.downloads("/f.txt"), 3);
}

/// `build -` with a gzipped tar on stdin, and `build <url>` of one: the
/// archive is the context (`-f` names a file in it); plain text on stdin
/// is still a Dockerfile without context.
#[test]
fn contexts_from_a_tarball_on_stdin_and_from_a_url() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    let ctx = context(
        &w,
        "ctx",
        &[
            ("Dockerfile", "FROM busybox:local\nCOPY app.txt /\n"),
            ("other.Dockerfile", "FROM busybox:local\nCOPY sub/ /sub/\n"),
            ("app.txt", "from the archive\n"),
            ("sub/x", "x\n"),
        ],
    );
    let tgz = w.scratch().join("ctx.tar.gz");
    common::sh(
        std::process::Command::new("tar")
            .arg("-czf")
            .arg(&tgz)
            .arg("-C")
            .arg(&ctx)
            .arg("."),
    );
    let data = fs::read(&tgz).unwrap();
    let out = w.with_stdin(["build", "-q", "-t", "stdin", "-"], &data);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        w.ok(["run", "--rm", "stdin", "cat", "/app.txt"]),
        "from the archive\n"
    );
    let out = w.with_stdin(
        ["build", "-q", "-f", "other.Dockerfile", "-t", "other", "-"],
        &data,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(w.ok(["run", "--rm", "other", "cat", "/sub/x"]), "x\n");
    // Nothing of the unpacked contexts stays under the root.
    let left: Vec<String> = w
        .store_listing()
        .into_iter()
        .filter(|p| p.starts_with("tmp/") && p.contains("build-context"))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // A Dockerfile on stdin: no context.
    let out = w.with_stdin(
        ["build", "-q", "-t", "plain", "-"],
        b"FROM busybox:local\nRUN echo plain > /p\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(w.ok(["run", "--rm", "plain", "cat", "/p"]), "plain\n");

    // The same archive from a URL.
    let server = HttpFiles::start();
    server.put(
        "/ctx.tar.gz",
        File {
            body: data,
            etag: None,
            last_modified: None,
        },
    );
    w.ok(["build", "-q", "-t", "url", &server.url("/ctx.tar.gz")]);
    assert_eq!(
        w.ok(["run", "--rm", "url", "cat", "/app.txt"]),
        "from the archive\n"
    );
    let (code, err) = w.fails(["build", &server.url("/missing.tar.gz")]);
    assert_eq!(code, 1);
    assert!(err.contains("unable to prepare context"), "{err}");
}
