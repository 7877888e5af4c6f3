//! The README's Compose walkthrough (scripts/compose-demo.sh), as the seed
//! tutorial's app shape: a Node.js service built from `.` counting its
//! visits in Redis (a named volume) on `app-network`. `curl` counts up,
//! `down` + `up -d` keeps the count, `build` after an edit recreates the
//! app, `--scale app=3` on a port range serves on three ports, `down -v`
//! leaves nothing. Base images come from scripts/debian-image.sh
//! (debootstrap; cached after the first run).

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::compose::{ok, Project, WharfProject};
use common::{http_get, import_node_image, import_redis_image, repo, sh, Wharf};

/// The app's answer on `port` once it listens.
fn visit(port: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let body = http_get(port).and_then(|r| Some(r.split_once("\r\n\r\n")?.1.to_string()));
        if let Some(body) = body.filter(|b| b.contains("Visits")) {
            return body;
        }
        assert!(Instant::now() < deadline, "no answer on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn port_free(port: u16) -> bool {
    std::net::TcpListener::bind(("0.0.0.0", port)).is_ok()
}

/// The first of `n` consecutive ports nothing listens on.
fn free_ports(n: u16) -> u16 {
    let mut base = 20000 + (std::process::id() % 20000) as u16;
    loop {
        if (base..base + n).all(port_free) {
            return base;
        }
        base += n;
    }
}

#[test]
fn seed_compose_walkthrough() {
    let w = Wharf::new();
    let node = sh(&mut Command::new(repo().join("scripts/node-images.sh")));
    let node = node
        .lines()
        .next()
        .expect("node-images.sh prints a tarball");
    import_node_image(&w, node, "node:18");
    import_redis_image(&w);
    let p = Project {
        dir: w.scratch().join("my-app"),
        name: "my-app".into(),
    };
    sh(Command::new("cp")
        .arg("-a")
        .arg(repo().join("examples/compose-visits/."))
        .arg(&p.dir));
    // The seed publishes 3000 (3000-3002 scaled); tests running in
    // parallel must not collide on fixed ports: three free ones instead.
    let base = free_ports(3);
    let (p0, p1, p2) = (base, base + 1, base + 2);
    for (file, from, to) in [
        (
            "docker-compose.yml",
            "\"3000:3000\"",
            format!("\"{p0}:3000\""),
        ),
        (
            "docker-compose.scale.yml",
            "\"3000-3002:3000\"",
            format!("\"{p0}-{p2}:3000\""),
        ),
    ] {
        let path = p.dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} publishes {from}");
        std::fs::write(&path, text.replace(from, &to)).unwrap();
    }
    let _down = WharfProject(&w, &p);

    let up = p.wharf(&w, ["up", "-d"]);
    ok(&up, "compose up -d");
    let progress = String::from_utf8_lossy(&up.stderr);
    for line in [
        " app  Built",
        " Network my-app_app-network  Created",
        " Volume my-app_redis-data  Created",
        " Container my-app-db-1  Started",
        " Container my-app-app-1  Started",
    ] {
        assert!(progress.contains(line), "{line:?} missing in:\n{progress}");
    }
    assert_eq!(visit(p0), "Hello from Node.js app! Visits: 1\n");
    assert_eq!(visit(p0), "Hello from Node.js app! Visits: 2\n");

    // The count lives in the named volume: down and up again keep it.
    ok(&p.wharf(&w, ["down"]), "compose down");
    assert!(w.ok(["ps", "-aq"]).is_empty());
    ok(&p.wharf(&w, ["up", "-d"]), "compose up -d");
    assert_eq!(visit(p0), "Hello from Node.js app! Visits: 3\n");

    let ps = ok(&p.wharf(&w, ["ps"]), "compose ps");
    let mut lines = ps.lines();
    assert!(lines.next().unwrap().starts_with("NAME "), "{ps}");
    assert!(
        ps.contains("my-app-app-1") && ps.contains(&format!("0.0.0.0:{p0}->3000/tcp")),
        "{ps}"
    );
    assert!(ps.contains("my-app-db-1") && ps.contains("redis:7"), "{ps}");
    let logs = ok(&p.wharf(&w, ["logs", "--no-color"]), "compose logs");
    assert!(logs.contains("app-1  | App running on port 3000"), "{logs}");
    assert!(logs.contains("Ready to accept connections"), "{logs}");

    // An edit, a build, and `up -d` recreates the app from the new image.
    let app_js = p.dir.join("app.js");
    let text = std::fs::read_to_string(&app_js).unwrap();
    std::fs::write(&app_js, text.replace("Hello from", "Hello again from")).unwrap();
    ok(&p.wharf(&w, ["build"]), "compose build");
    let up = p.wharf(&w, ["up", "-d"]);
    ok(&up, "compose up -d after the build");
    let progress = String::from_utf8_lossy(&up.stderr);
    assert!(
        progress.contains(" Container my-app-app-1  Recreated")
            && progress.contains(" Container my-app-db-1  Running"),
        "{progress}"
    );
    assert_eq!(visit(p0), "Hello again from Node.js app! Visits: 4\n");

    // Three replicas, each on a port of the range.
    ok(
        &p.wharf(
            &w,
            [
                "-f",
                "docker-compose.yml",
                "-f",
                "docker-compose.scale.yml",
                "up",
                "-d",
                "--scale",
                "app=3",
            ],
        ),
        "compose up --scale app=3",
    );
    let names = ok(&p.wharf(&w, ["ps", "--format", "{{.Name}}"]), "ps");
    let mut names: Vec<&str> = names.lines().collect();
    names.sort();
    assert_eq!(
        names,
        [
            "my-app-app-1",
            "my-app-app-2",
            "my-app-app-3",
            "my-app-db-1"
        ]
    );
    let mut counts: Vec<String> = [p0, p1, p2].iter().map(|p| visit(*p)).collect();
    counts.sort();
    assert_eq!(
        counts,
        [
            "Hello again from Node.js app! Visits: 5\n",
            "Hello again from Node.js app! Visits: 6\n",
            "Hello again from Node.js app! Visits: 7\n"
        ]
    );

    ok(&p.wharf(&w, ["down", "-v"]), "compose down -v");
    assert!(w.ok(["ps", "-aq"]).is_empty());
    assert!(!w.ok(["volume", "ls", "-q"]).contains("my-app"));
    assert!(!w.ok(["network", "ls"]).contains("my-app"));
    for port in [p0, p1, p2] {
        assert!(port_free(port), "port {port} still taken after down");
    }
}
