//! The README's main job, as the seed tutorial does it with docker: build
//! the two-stage Node.js app (npm install reaches the npm registry), run it
//! with `-p`, get its greeting over HTTP, and see the multi-stage image far
//! smaller than a single-stage build. Base images come from
//! `scripts/node-images.sh` (debootstrap; cached after the first run).

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{free_port, http_get, import_node_image, repo, sh, Wharf};

#[test]
fn seed_multi_stage_walkthrough() {
    let w = Wharf::new();
    let tars = sh(&mut Command::new(repo().join("scripts/node-images.sh")));
    let tars: Vec<&str> = tars.lines().collect();
    assert_eq!(tars.len(), 2, "node-images.sh prints two tarballs");
    for (tar, name) in tars.iter().zip(["node:18", "node:18-slim"]) {
        import_node_image(&w, tar, name);
    }
    let app = w.scratch().join("node-multi-stage");
    sh(Command::new("cp")
        .arg("-a")
        .arg(repo().join("examples/node-multi-stage"))
        .arg(&app));
    let ctx = app.to_str().unwrap();
    w.ok(["build", "-t", "node-multi-stage-app", ctx]);
    let port = free_port();
    let publish = format!("{port}:3000");
    w.ok([
        "run",
        "-d",
        "-p",
        &publish,
        "--name",
        "my_node_app",
        "node-multi-stage-app",
    ]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let body = loop {
        match http_get(port) {
            Some(r) if r.contains("200 OK") => break r,
            _ if Instant::now() > deadline => panic!(
                "no HTTP 200 on 127.0.0.1:{port}; logs:\n{}",
                w.ok(["logs", "my_node_app"])
            ),
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    assert!(
        body.ends_with("Hello, Docker Multi-Stage Build!\n"),
        "{body}"
    );

    w.ok([
        "build",
        "-q",
        "-t",
        "node-single-stage-app",
        "-f",
        app.join("Dockerfile.single").to_str().unwrap(),
        ctx,
    ]);
    let size = |img: &str| -> u64 {
        w.ok(["image", "inspect", "--format", "{{.Size}}", img])
            .trim()
            .parse()
            .unwrap()
    };
    let (multi, single) = (size("node-multi-stage-app"), size("node-single-stage-app"));
    assert!(
        multi * 2 < single,
        "multi-stage {multi} B should be far smaller than single-stage {single} B"
    );
    let listing = w.ok(["images"]);
    assert!(listing.contains("node-multi-stage-app"), "{listing}");
    w.ok(["stop", "my_node_app"]);
    w.ok(["rm", "my_node_app"]);
}
