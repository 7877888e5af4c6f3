//! `wharf serve`: the real docker CLIs (20.10 and 28.x) against the
//! Engine API over a test's own store, compared with dockerd where the
//! wording is the daemon's; bad input and clients that go mid-stream.

mod common;
mod registry_env;

use std::io::Write;
use std::process::Stdio;

use common::pty::Terminal;
use common::serve::{Serve, DOCKER_CLIENTS};
use common::{docker, eventually, import_busybox_in_both, require_docker, DockerImages, Wharf};

/// A store with busybox as `bb`, and `wharf serve` over it.
fn served() -> (Wharf, Serve) {
    let w = Wharf::new();
    w.import_busybox("bb");
    let s = Serve::start(&w);
    (w, s)
}

/// Resize the window, then ask the shell for its size until the client
/// has passed the change on (it does so asynchronously, on SIGWINCH).
/// The docker CLI reads the window's size, sends it, and only then listens
/// for SIGWINCH: a change in between is lost (on dockerd too), and the
/// shell's prompt can come before (seen once in a loaded suite: 20 s of
/// `30 100`). So the signal is sent again while the size is not there.
fn resized_to(t: &mut Terminal, rows: u16, cols: u16) {
    t.resize(rows, cols);
    let want = format!("{rows} {cols}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let from = t.screen.len();
        t.type_str("busybox stty size\r");
        t.expect_from(from, "# ", 10);
        if t.screen[from..].contains(&want) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the terminal never became {want}:\n{}",
            t.screen
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
        t.signal(libc::SIGWINCH);
    }
}

fn stderr_of(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn ping_version_negotiation_and_errors_as_docker_sends_them() {
    let w = Wharf::new();
    let s = Serve::start(&w);
    let ping = s.request("HEAD", "/_ping", b"");
    assert_eq!(ping.status, 200);
    assert_eq!(ping.header("api-version"), Some("1.47"));
    assert_eq!(ping.header("ostype"), Some("linux"));
    assert_eq!(s.request("GET", "/v1.41/_ping", b"").body, b"OK");
    for v in ["1.41", "1.44", "1.47"] {
        let r = s.request("GET", &format!("/v{v}/version"), b"");
        assert_eq!(r.status, 200, "version {v}");
        assert_eq!(r.json()["ApiVersion"], "1.47");
    }
    let too_new = s.request("GET", "/v1.99/info", b"");
    assert_eq!(too_new.status, 400);
    assert_eq!(
        too_new.message(),
        "client version 1.99 is too new. Maximum supported API version is 1.47"
    );
    assert_eq!(s.request("GET", "/v1.2/info", b"").status, 400);
    let info = s.request("GET", "/v1.41/info", b"").json();
    assert_eq!(info["Containers"], 0);
    assert_eq!(info["OSType"], "linux");
    let missing = s.request("GET", "/v1.41/containers/nope/json", b"");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.message(), "No such container: nope");
    assert_eq!(s.request("GET", "/v1.41/no/such/route", b"").status, 404);
    for bin in DOCKER_CLIENTS {
        let v = s.ok(bin, &["version", "--format", "{{.Server.APIVersion}}"]);
        assert_eq!(v.trim(), "1.47", "{bin}");
        // Negotiated down to what each client speaks, and the same error
        // text the CLI prints for dockerd.
        let ours = s.run(bin, &["rm", "nope"]);
        let theirs = std::process::Command::new(bin)
            .env("DOCKER_HOST", "unix:///var/run/docker.sock")
            .args(["rm", "nope-api-test"])
            .output()
            .unwrap();
        assert!(!ours.status.success());
        assert_eq!(ours.status.code(), theirs.status.code(), "{bin}");
        assert_eq!(
            stderr_of(&ours).replace("nope", "X"),
            stderr_of(&theirs).replace("nope-api-test", "X"),
            "{bin}"
        );
    }
}

#[test]
fn bad_input_is_refused_and_the_server_keeps_serving() {
    let (w, s) = served();
    let before = w.store_listing();
    let bad_json = s.request("POST", "/v1.41/containers/create", b"{bad");
    assert_eq!(bad_json.status, 400);
    assert!(
        bad_json.message().contains("invalid JSON"),
        "{}",
        bad_json.message()
    );
    let wrong_type = s.request("POST", "/v1.41/containers/create", br#"{"Image": 5}"#);
    assert_eq!(wrong_type.status, 400);
    let empty = s.request("POST", "/v1.41/containers/create", b"");
    assert_eq!(empty.status, 400);
    let no_image = s.request(
        "POST",
        "/v1.41/containers/create",
        br#"{"Image":"nope:1","Cmd":["true"]}"#,
    );
    assert_eq!(no_image.status, 404);
    assert_eq!(no_image.message(), "No such image: nope:1");
    let bad_mem = s.request(
        "POST",
        "/v1.41/containers/create",
        br#"{"Image":"bb","HostConfig":{"Memory":"lots"}}"#,
    );
    assert_eq!(bad_mem.status, 400);
    let bad_filter = s.request("GET", "/v1.41/containers/json?filters=%7Bx", b"");
    assert_eq!(bad_filter.status, 400);
    let unknown_filter = s.request(
        "GET",
        "/v1.41/containers/json?filters=%7B%22bogus%22%3A%7B%22x%22%3Atrue%7D%7D",
        b"",
    );
    assert_eq!(unknown_filter.status, 400);
    assert_eq!(unknown_filter.message(), "Invalid filter 'bogus'");
    // A body over the limit, and headers over theirs.
    let huge = vec![b' '; 5 << 20];
    let r = s.try_request("POST", "/v1.41/containers/create", &huge);
    assert!(r.is_none_or(|r| r.status == 413));
    let long = format!("/v1.41/containers/json?x={}", "a".repeat(100_000));
    let r = s.try_request("GET", &long, b"");
    assert!(r.is_none_or(|r| [400, 414, 431].contains(&r.status)));
    // Nothing half-made, and it still answers.
    assert_eq!(w.store_listing(), before);
    assert_eq!(s.request("GET", "/_ping", b"").status, 200);
    assert_eq!(s.ok(DOCKER_CLIENTS[0], &["ps", "-aq"]), "");
}

#[test]
fn docker_cli_runs_containers_through_wharf_serve() {
    let (w, s) = served();
    for bin in DOCKER_CLIENTS {
        assert_eq!(s.ok(bin, &["run", "--rm", "bb", "echo", "hi"]), "hi\n");
        let out = s.run(
            bin,
            &[
                "run",
                "--rm",
                "bb",
                "sh",
                "-c",
                "echo out; echo err >&2; exit 3",
            ],
        );
        assert_eq!(out.status.code(), Some(3), "{bin}: {}", stderr_of(&out));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
        assert_eq!(stderr_of(&out), "err\n");
        // Input through the hijacked connection.
        let mut child = s
            .docker(bin)
            .args(["run", "-i", "--rm", "bb", "cat"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"typed\n").unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "typed\n");
        assert!(out.status.success());
    }
    // Nothing of the --rm containers is left.
    assert_eq!(w.ok(["ps", "-aq"]), "");
    let bin = DOCKER_CLIENTS[0];
    let id = s.ok(
        bin,
        &[
            "run",
            "-d",
            "--name",
            "svc",
            "bb",
            "sh",
            "-c",
            "echo started; exec sleep 100",
        ],
    );
    assert_eq!(id.trim().len(), 64);
    // The CLI and the API see the same container.
    assert_eq!(
        w.ok(["ps", "--format", "{{.Names}} {{.State}}"]),
        "svc running\n"
    );
    let ps = s.ok(
        bin,
        &["ps", "--format", "{{.Names}}|{{.Status}}|{{.Command}}"],
    );
    assert!(ps.starts_with("svc|Up "), "{ps}");
    assert!(ps.contains("\"sh -c 'echo started"), "{ps}");
    assert_eq!(s.ok(bin, &["ps", "-q", "--filter", "name=nomatch"]), "");
    eventually(10, "the first log line", || {
        s.ok(bin, &["logs", "svc"]) == "started\n"
    });
    assert_eq!(s.ok(bin, &["exec", "svc", "echo", "in exec"]), "in exec\n");
    let e = s.run(bin, &["exec", "svc", "sh", "-c", "exit 5"]);
    assert_eq!(e.status.code(), Some(5));
    let inspect = s.ok(
        bin,
        &["inspect", "--format", "{{.State.Status}} {{.Name}}", "svc"],
    );
    assert_eq!(inspect, "running /svc\n");
    s.ok(bin, &["stop", "-t", "1", "svc"]);
    assert_eq!(s.ok(bin, &["wait", "svc"]), "137\n");
    s.ok(bin, &["start", "svc"]);
    s.ok(bin, &["restart", "-t", "0", "svc"]);
    s.ok(bin, &["kill", "svc"]);
    assert_eq!(s.ok(bin, &["wait", "svc"]), "137\n");
    let logs = s.ok(bin, &["logs", "--tail", "1", "svc"]);
    assert_eq!(logs, "started\n");
    s.ok(bin, &["rm", "-f", "svc"]);
    assert_eq!(w.ok(["ps", "-aq"]), "");
    let gone = s.run(bin, &["logs", "svc"]);
    assert_eq!(stderr_of(&gone), "Error: No such container: svc\n");
}

#[test]
fn logs_follow_and_wait_conditions() {
    let (_w, s) = served();
    let bin = DOCKER_CLIENTS[1];
    s.ok(
        bin,
        &[
            "run",
            "-d",
            "--name",
            "ticker",
            "bb",
            "sh",
            "-c",
            "for i in 1 2 3; do echo t$i; sleep 0.3; done; echo bye >&2",
        ],
    );
    // Follows until the container ends, stdout and stderr apart.
    let out = s.run(bin, &["logs", "-f", "ticker"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "t1\nt2\nt3\n");
    assert_eq!(stderr_of(&out), "bye\n");
    let ts = s.ok(bin, &["logs", "-t", "--tail", "2", "ticker"]);
    assert!(ts.ends_with("Z t3\n") && ts.starts_with("20"), "{ts}");
    let r = s.request("POST", "/v1.41/containers/ticker/wait?condition=bogus", b"");
    assert_eq!(r.status, 400);
    let r = s.request("POST", "/v1.41/containers/ticker/wait", b"");
    assert_eq!(r.json()["StatusCode"], 0);
}

#[test]
fn docker_cli_terminals_through_wharf_serve() {
    let (_w, s) = served();
    for bin in DOCKER_CLIENTS {
        let mut cmd = s.docker(bin);
        cmd.args(["run", "-it", "--rm", "bb", "sh"]);
        let mut t = Terminal::spawn(cmd, 30, 100);
        t.expect("# ", 20);
        t.type_str("busybox stty size; echo $((6*7))\r");
        t.expect("30 100", 20);
        t.expect("42", 10);
        resized_to(&mut t, 40, 120);
        t.type_str("exit 7\r");
        assert_eq!(t.wait(20), Some(7), "{bin}");
    }
    let bin = DOCKER_CLIENTS[0];
    s.ok(bin, &["run", "-d", "--name", "box", "bb", "sleep", "100"]);
    for bin in DOCKER_CLIENTS {
        let mut cmd = s.docker(bin);
        cmd.args(["exec", "-it", "box", "sh"]);
        let mut t = Terminal::spawn(cmd, 25, 90);
        t.expect("# ", 20);
        t.type_str("busybox stty size\r");
        t.expect("25 90", 20);
        resized_to(&mut t, 33, 77);
        t.type_str("exit 4\r");
        assert_eq!(t.wait(20), Some(4), "{bin}");
    }
    s.ok(bin, &["rm", "-f", "box"]);
}

#[test]
fn clients_that_go_mid_stream_leak_nothing() {
    let (_w, s) = served();
    let bin = DOCKER_CLIENTS[0];
    s.ok(
        bin,
        &[
            "run",
            "-d",
            "--name",
            "chatty",
            "bb",
            "sh",
            "-c",
            "while true; do echo tick; sleep 0.1; done",
        ],
    );
    // Settle the server's own descriptors (blocking pool, store).
    s.ok(bin, &["logs", "--tail", "1", "chatty"]);
    let baseline = s.open_fds();
    for args in [
        vec!["logs", "-f", "chatty"],
        vec!["attach", "chatty"],
        vec![
            "run",
            "--rm",
            "--name",
            "fg",
            "bb",
            "sh",
            "-c",
            "while true; do echo x; sleep 0.1; done",
        ],
        vec!["stats", "chatty"],
    ] {
        let mut c = s
            .docker(bin)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = c.stdout.take().unwrap();
        let mut first = [0u8; 1];
        std::io::Read::read_exact(&mut out, &mut first).unwrap();
        c.kill().unwrap();
        c.wait().unwrap();
        drop(out);
    }
    // The foreground container runs on, detached from the client that went.
    eventually(10, "fg to be running on its own", || {
        s.ok(
            bin,
            &["ps", "--filter", "name=fg", "--format", "{{.Names}}"],
        ) == "fg\n"
    });
    s.ok(bin, &["rm", "-f", "fg", "chatty"]);
    eventually(10, "the server's descriptors to settle", || {
        s.open_fds() <= baseline
    });
    assert_eq!(s.request("GET", "/_ping", b"").status, 200);
}

#[test]
fn ps_through_the_api_matches_dockerd() {
    require_docker();
    let w = Wharf::new();
    let image = common::unique("apips");
    let _img = DockerImages(vec![image.clone()]);
    import_busybox_in_both(&w, &image, &["CMD [\"sh\"]"]);
    let s = Serve::start(&w);
    let name = common::unique("apips-c");
    let bin = DOCKER_CLIENTS[0];
    let _theirs = common::DockerObjects {
        containers: vec![name.clone()],
        volumes: vec![],
    };
    let fmt = "{{.Image}}|{{.Command}}|{{.Status}}|{{.Names}}|{{.State}}";
    let ours = s.ok(bin, &["create", "--name", &name, &image, "echo", "x"]);
    let theirs = common::sh(docker().args(["create", "--name", &name, &image, "echo", "x"]));
    assert_eq!(ours.trim().len(), theirs.trim().len());
    let a = s.ok(
        bin,
        &[
            "ps",
            "-a",
            "--format",
            fmt,
            "--filter",
            &format!("name={name}"),
        ],
    );
    let b = common::sh(docker().args([
        "ps",
        "-a",
        "--format",
        fmt,
        "--filter",
        &format!("name={name}"),
    ]));
    assert_eq!(a, b);
    s.ok(bin, &["start", "-a", &name]);
    common::sh(docker().args(["start", "-a", &name]));
    let fmt = "{{.Command}}|{{.Names}}|{{.State}}";
    let a = s.ok(
        bin,
        &["ps", "-a", "--format", fmt, "--filter", "status=exited"],
    );
    let b = common::sh(docker().args([
        "ps",
        "-a",
        "--format",
        fmt,
        "--filter",
        "status=exited",
        "--filter",
        &format!("name={name}"),
    ]));
    assert_eq!(a, b);
    s.ok(bin, &["rm", &name]);
}

/// A tar with one entry at `path` (not checked: the point is a bad one).
fn tar_with(path: &str, data: &[u8]) -> Vec<u8> {
    let mut h = [0u8; 512];
    h[..path.len()].copy_from_slice(path.as_bytes());
    h[100..107].copy_from_slice(b"0000644");
    h[108..115].copy_from_slice(b"0000000");
    h[116..123].copy_from_slice(b"0000000");
    h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
    h[136..147].copy_from_slice(b"00000000000");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| *b as u32).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    let mut out = h.to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512 + 1024, 0);
    out
}

#[test]
fn images_volumes_networks_cp_and_build_through_wharf_serve() {
    let (w, s) = served();
    let bin = DOCKER_CLIENTS[0];
    s.ok(bin, &["tag", "bb", "bb2:v1"]);
    let images = s.ok(bin, &["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    let mut images: Vec<&str> = images.lines().collect();
    images.sort();
    assert_eq!(images, ["bb2:v1", "bb:latest"]);
    assert_eq!(s.ok(bin, &["rmi", "bb2:v1"]), "Untagged: bb2:v1\n");
    let hist = s.ok(bin, &["history", "--format", "{{.Comment}}", "bb"]);
    assert_eq!(hist, "Imported from -\n");
    // save/load as tar streams, import from a body.
    let saved = w.scratch().join("saved.tar");
    s.ok(bin, &["save", "-o", saved.to_str().unwrap(), "bb"]);
    assert_eq!(
        s.ok(bin, &["load", "-i", saved.to_str().unwrap()]),
        "Loaded image: bb:latest\n"
    );
    let rootfs = common::busybox_rootfs_tar(&w.scratch());
    let imported = s.ok(bin, &["import", rootfs.to_str().unwrap(), "imp:1"]);
    assert!(imported.starts_with("sha256:"), "{imported}");
    // Volumes and networks.
    s.ok(bin, &["volume", "create", "--label", "k=v", "vol1"]);
    assert_eq!(
        s.ok(bin, &["volume", "ls", "-q", "--filter", "label=k=v"]),
        "vol1\n"
    );
    assert_eq!(w.ok(["volume", "ls", "-q"]), "vol1\n");
    s.ok(bin, &["network", "create", "net1"]);
    let nets = s.ok(bin, &["network", "ls", "--format", "{{.Name}}"]);
    assert!(nets.lines().any(|l| l == "net1"), "{nets}");
    // cp both ways.
    s.ok(
        bin,
        &[
            "run",
            "-d",
            "--name",
            "cpc",
            "-v",
            "vol1:/data",
            "bb",
            "sleep",
            "100",
        ],
    );
    let f = w.scratch().join("f.txt");
    std::fs::write(&f, "hello\n").unwrap();
    s.ok(bin, &["cp", f.to_str().unwrap(), "cpc:/data/"]);
    assert_eq!(s.ok(bin, &["exec", "cpc", "cat", "/data/f.txt"]), "hello\n");
    let back = w.scratch().join("back");
    std::fs::create_dir_all(&back).unwrap();
    s.ok(bin, &["cp", "cpc:/data/f.txt", back.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(back.join("f.txt")).unwrap(),
        "hello\n"
    );
    let missing = s.run(bin, &["cp", "cpc:/nope", back.to_str().unwrap()]);
    assert!(!missing.status.success());
    // An archive naming a path outside the destination is refused.
    for evil in ["../escape.txt", "a/../../escape.txt", "/escape.txt"] {
        let r = s.request(
            "PUT",
            "/v1.41/containers/cpc/archive?path=/data",
            &tar_with(evil, b"x"),
        );
        assert_eq!(
            r.status,
            400,
            "{evil}: {}",
            String::from_utf8_lossy(&r.body)
        );
    }
    let ls = s.ok(bin, &["exec", "cpc", "ls", "/", "/data"]);
    assert!(!ls.contains("escape"), "{ls}");
    let ok = s.request(
        "PUT",
        "/v1.41/containers/cpc/archive?path=/data",
        &tar_with("good.txt", b"fine"),
    );
    assert_eq!(ok.status, 200);
    assert_eq!(s.ok(bin, &["exec", "cpc", "cat", "/data/good.txt"]), "fine");
    s.ok(bin, &["rm", "-f", "cpc"]);
    // The classic builder's protocol, from both clients.
    let ctx_dir = w.scratch().join("ctx");
    std::fs::create_dir_all(&ctx_dir).unwrap();
    std::fs::write(
        ctx_dir.join("Dockerfile"),
        "FROM bb\nARG X=1\nRUN echo built-$X > /b\nLABEL a=b\n",
    )
    .unwrap();
    for (i, bin) in DOCKER_CLIENTS.iter().enumerate() {
        let tag = format!("built:{i}");
        let out = s
            .docker(bin)
            .env("DOCKER_BUILDKIT", "0")
            .args(["build", "--build-arg", "X=7", "-t", &tag])
            .arg(&ctx_dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{bin}: {}", stderr_of(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(&format!("Successfully tagged {tag}")),
            "{text}"
        );
        assert_eq!(s.ok(bin, &["run", "--rm", &tag, "cat", "/b"]), "built-7\n");
    }
    let q = s
        .docker(bin)
        .args(["build", "-q"])
        .arg(&ctx_dir)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&q.stdout).starts_with("sha256:"));
    let bad = s.request(
        "POST",
        "/v1.41/build",
        &tar_with("../Dockerfile", b"FROM bb\n"),
    );
    assert!(String::from_utf8_lossy(&bad.body).contains("outside"));
    let df = s.ok(
        bin,
        &["system", "df", "--format", "{{.Type}} {{.TotalCount}}"],
    );
    assert!(df.contains("Local Volumes 1"), "{df}");
    s.ok(bin, &["volume", "rm", "vol1"]);
    s.ok(bin, &["network", "rm", "net1"]);
    let pruned = s.request("POST", "/v1.41/images/prune", b"");
    assert_eq!(pruned.status, 200);
}

/// What SDKs (docker-py) rely on beyond the CLI's verbs.
#[test]
fn what_sdks_rely_on() {
    let (w, s) = served();
    let bin = DOCKER_CLIENTS[0];
    // A SIGKILL is answered once the container is down.
    s.ok(bin, &["run", "-d", "--name", "kk", "bb", "sleep", "100"]);
    assert_eq!(
        s.request("POST", "/v1.45/containers/kk/kill", b"").status,
        204
    );
    let st = s.request("GET", "/v1.45/containers/kk/json", b"").json();
    assert_eq!(st["State"]["Running"], false);
    assert_eq!(st["State"]["ExitCode"], 137);
    // A stopped container's stats are zeros, not an error.
    let stats = s.request("GET", "/v1.45/containers/kk/stats?stream=0", b"");
    assert_eq!(stats.status, 200);
    assert!(stats.json()["networks"].is_object());
    // `wait` returns on an exit even when a restart policy runs it again.
    s.ok(
        bin,
        &[
            "run",
            "-d",
            "--name",
            "again",
            "--restart",
            "always",
            "bb",
            "sh",
            "-c",
            "sleep 1; exit 3",
        ],
    );
    let r = s.request("POST", "/v1.45/containers/again/wait", b"");
    assert_eq!(r.json()["StatusCode"], 3);
    s.ok(bin, &["rm", "-f", "again", "kk"]);
    // An exec made with a terminal but started without one: frames.
    s.ok(bin, &["run", "-d", "--name", "ex", "bb", "sleep", "100"]);
    let ex = s.request(
        "POST",
        "/v1.45/containers/ex/exec",
        br#"{"Cmd":["echo","-n","yay"],"Tty":true,"AttachStdout":true}"#,
    );
    let exec_id = ex.json()["Id"].as_str().unwrap().to_string();
    let started = s.request(
        "POST",
        &format!("/v1.45/exec/{exec_id}/start"),
        br#"{"Detach":false,"Tty":false}"#,
    );
    assert_eq!(started.body, b"\x01\0\0\0\0\0\0\x03yay");
    let inspect = s.request("GET", &format!("/v1.45/exec/{exec_id}/json"), b"");
    assert_eq!(inspect.json()["ExitCode"], 0);
    s.ok(bin, &["rm", "-f", "ex"]);
    // The journal through /events: what the API did, in docker's words
    // (history up to a second from now, then the stream ends).
    let until = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
    let r = s.request(
        "GET",
        &format!(
            "/v1.45/events?since=0&until={until}&filters=%7B%22container%22%3A%7B%22ex%22%3Atrue%7D%7D"
        ),
        b"",
    );
    let actions: Vec<String> = String::from_utf8_lossy(&r.body)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["Action"].to_string())
        .collect();
    for action in ["create", "start", "destroy"] {
        assert!(
            actions.iter().any(|a| a == &format!("\"{action}\"")),
            "{action} in {actions:?}"
        );
    }
    // update: the engine's (docker's rules and messages).
    s.ok(bin, &["create", "--name", "upd", "bb", "true"]);
    let r = s.request(
        "POST",
        "/v1.45/containers/upd/update",
        br#"{"Memory":16777216,"MemorySwap":33554432,"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":2}}"#,
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let hc = s.request("GET", "/v1.45/containers/upd/json", b"").json()["HostConfig"].clone();
    assert_eq!(hc["Memory"], 16777216);
    let small = s.request(
        "POST",
        "/v1.45/containers/upd/update",
        br#"{"Memory":131072}"#,
    );
    assert_eq!(small.status, 400);
    assert_eq!(small.message(), "Minimum memory limit allowed is 6MB");
    assert_eq!(hc["RestartPolicy"]["Name"], "on-failure");
    s.ok(bin, &["rm", "upd"]);
    // Swarm mode is answered as on a node outside a swarm.
    assert_eq!(
        s.request("POST", "/v1.45/swarm/leave?force=1", b"").status,
        503
    );
    assert_eq!(s.request("GET", "/v1.45/services", b"").status, 503);
    // A gzipped build context.
    let ctx = w.scratch().join("gzctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("Dockerfile"), "FROM bb\nRUN echo gz > /gz\n").unwrap();
    let tgz = w.scratch().join("ctx.tar.gz");
    common::sh(
        std::process::Command::new("tar")
            .arg("-czf")
            .arg(&tgz)
            .arg("-C")
            .arg(&ctx)
            .arg("."),
    );
    let r = s.request("POST", "/v1.45/build?t=gz:1", &std::fs::read(&tgz).unwrap());
    let text = String::from_utf8_lossy(&r.body).into_owned();
    assert!(text.contains("Successfully tagged gz:1"), "{text}");
    assert_eq!(s.ok(bin, &["run", "--rm", "gz:1", "cat", "/gz"]), "gz\n");
}

#[test]
fn listeners_socket_mode_loopback_tcp_and_socket_activation() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let w = Wharf::new();
    w.import_busybox("bb");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tcp = format!("tcp://127.0.0.1:{port}");
    let s = Serve::start_with(&w, &["-H", &tcp, "--group", "1"]);
    let meta = std::fs::metadata(&s.sock).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    assert_eq!((meta.uid(), meta.gid()), (0, 1));
    let over_tcp = std::process::Command::new(DOCKER_CLIENTS[0])
        .env("DOCKER_HOST", &tcp)
        .args(["run", "--rm", "bb", "echo", "over tcp"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&over_tcp.stdout), "over tcp\n");
    drop(s);
    // Off loopback without client certificates: refused, before anything.
    let refused = w.run(["serve", "-H", "tcp://0.0.0.0:0"]);
    assert!(!refused.status.success());
    assert!(
        stderr_of(&refused).contains("refusing to listen on 0.0.0.0:0 without --tlsverify"),
        "{}",
        stderr_of(&refused)
    );
    let bad = w.run(["serve", "-H", "http://x"]);
    assert!(
        stderr_of(&bad).contains("invalid -H address"),
        "{}",
        stderr_of(&bad)
    );
    // Socket activation: systemd's sockets on fd 3.. (`-H fd://`).
    let activate = "/usr/bin/systemd-socket-activate";
    assert!(
        std::path::Path::new(activate).exists(),
        "{activate} is missing (package systemd)"
    );
    let sock = w.dir.path().join("activated.sock");
    let mut server = std::process::Command::new(activate)
        .arg("-l")
        .arg(&sock)
        .arg(env!("CARGO_BIN_EXE_wharf"))
        .arg("--root")
        .arg(w.root())
        .args(["serve", "-H", "fd://"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    eventually(10, "the activation socket", || sock.exists());
    let out = std::process::Command::new(DOCKER_CLIENTS[1])
        .env("DOCKER_HOST", format!("unix://{}", sock.display()))
        .args(["run", "--rm", "bb", "echo", "activated"])
        .output()
        .unwrap();
    // SAFETY: signalling the process this test started.
    unsafe { libc::kill(server.id() as i32, libc::SIGTERM) };
    let _ = server.wait();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "activated\n",
        "{}",
        stderr_of(&out)
    );
}

/// A compose log line without the name column's padding (Compose widens
/// it as containers register, so it depends on timing).
fn log_line(l: &str) -> String {
    match l.split_once('|') {
        Some((name, text)) => format!("{} |{text}", name.trim_end()),
        None => l.to_string(),
    }
}

#[test]
fn docker_compose_through_wharf_serve_as_on_dockerd() {
    use common::compose::{
        compose_command, ok, progress_lines, require_docker_compose, DockerProject, Project,
    };
    require_docker_compose();
    let w = Wharf::new();
    let image = common::unique("apicompose");
    let _img = DockerImages(vec![image.clone()]);
    import_busybox_in_both(&w, &image, &[]);
    let s = Serve::start(&w);
    // A network and a volume of the project's, service DNS between them,
    // depends_on ordering.
    let yaml = format!(
        r#"services:
  web:
    image: {image}
    command: ["sh", "-c", "echo web up; exec sleep 1000"]
    depends_on: [db]
    networks: [back]
    volumes: [data:/data]
  db:
    image: {image}
    command: ["sh", "-c", "echo db ready > /data/state; echo db up; exec httpd -f -p 8080 -h /var/www"]
    networks: [back]
    volumes: [data:/data]
volumes:
  data:
networks:
  back:
"#
    );
    let p = Project::new(&w, &common::unique("apicompose"), &yaml);
    let _theirs = DockerProject(&p);
    let sock = format!("unix://{}", s.sock.display());
    let ours = |args: &[&str]| {
        compose_command(&p.dir)
            .env("DOCKER_HOST", &sock)
            .env_remove("DOCKER_CONTEXT")
            .args(["compose", "-p", &p.name])
            .args(args)
            .output()
            .expect("run docker compose")
    };
    let up = ours(&["up", "-d"]);
    ok(&up, "docker compose up -d through wharf serve");
    let theirs = p.docker(["up", "-d"]);
    ok(&theirs, "docker compose up -d on dockerd");
    assert_eq!(progress_lines(&up), progress_lines(&theirs));

    let fmt = "{{.Name}} {{.Service}} {{.State}} {{.Networks}} {{.Mounts}}";
    let a = ok(&ours(&["ps", "--format", fmt]), "compose ps");
    let b = ok(&p.docker(["ps", "--format", fmt]), "compose ps on dockerd");
    assert_eq!(a, b);
    assert!(a.contains(&format!("{}_back", p.name)), "{a}");

    let logs = |out: std::process::Output| -> Vec<String> {
        let mut v: Vec<String> = ok(&out, "compose logs").lines().map(log_line).collect();
        v.sort();
        v
    };
    let both_up = |v: &[String]| v.len() == 2;
    let mut a = Vec::new();
    eventually(20, "both services' first lines in compose logs", || {
        a = logs(ours(&["logs", "--no-color"]));
        both_up(&a)
    });
    let mut b = Vec::new();
    eventually(20, "both services' first lines on dockerd", || {
        b = logs(p.docker(["logs", "--no-color"]));
        both_up(&b)
    });
    assert_eq!(a, b);

    // The volume is shared and the service's name resolves on the
    // project's network, through exec's hijacked stream.
    let state = ok(&ours(&["exec", "-T", "web", "cat", "/data/state"]), "exec");
    assert_eq!(state, "db ready\n");
    let mut page = String::new();
    eventually(20, "web to fetch db's page by its service name", || {
        let o = ours(&["exec", "-T", "web", "wget", "-qO-", "http://db:8080/"]);
        page = String::from_utf8_lossy(&o.stdout).into_owned();
        o.status.success()
    });
    assert_eq!(page, "hello from busybox\n");

    let down = ours(&["down", "-v", "-t", "1"]);
    ok(&down, "docker compose down through wharf serve");
    let theirs = p.docker(["down", "-v", "-t", "1"]);
    ok(&theirs, "docker compose down on dockerd");
    assert_eq!(progress_lines(&down), progress_lines(&theirs));
    let bin = DOCKER_CLIENTS[0];
    let label = format!("label=com.docker.compose.project={}", p.name);
    assert_eq!(s.ok(bin, &["ps", "-aq", "--filter", &label]), "");
    assert_eq!(s.ok(bin, &["network", "ls", "-q", "--filter", &label]), "");
    assert_eq!(s.ok(bin, &["volume", "ls", "-q", "--filter", &label]), "");
}

#[test]
fn registry_auth_from_the_client_and_distribution_inspect() {
    use base64::Engine as _;
    use registry_env::{htpasswd, Registry, RegistryConfig};
    let (w, s) = served();
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::start(RegistryConfig {
        htpasswd: Some(htpasswd(dir.path(), "me", "s3cret")),
        ..Default::default()
    });
    let name = format!("{}/me/private:1", reg.host());
    let bin = DOCKER_CLIENTS[0];
    // The client's credentials live in its own config, not the server's.
    let config = tempfile::tempdir().unwrap();
    let client = |args: &[&str], input: &[u8]| {
        let mut c = s.docker(bin);
        c.env("DOCKER_CONFIG", config.path())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("run docker");
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    };
    s.ok(bin, &["tag", "bb", &name]);
    let denied = client(&["push", &name], b"");
    assert!(!denied.status.success(), "pushed without credentials");
    assert!(
        stderr_of(&denied).contains("unauthorized")
            || String::from_utf8_lossy(&denied.stdout).contains("unauthorized"),
        "{denied:?}"
    );

    let login = client(
        &["login", "-u", "me", "--password-stdin", &reg.host()],
        b"s3cret\n",
    );
    assert!(login.status.success(), "{login:?}\n{}", s.log());
    let pushed = client(&["push", &name], b"");
    assert!(pushed.status.success(), "{pushed:?}\n{}", s.log());
    let out = String::from_utf8_lossy(&pushed.stdout).into_owned();
    let digest = out
        .lines()
        .find_map(|l| l.strip_prefix("1: digest: "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no digest in {out}"))
        .to_string();
    s.ok(bin, &["rmi", &name]);
    let pulled = client(&["pull", &name], b"");
    assert!(pulled.status.success(), "{pulled:?}\n{}", s.log());
    assert!(
        String::from_utf8_lossy(&pulled.stdout).contains(&format!("Digest: {digest}")),
        "{pulled:?}"
    );

    // docker-py's `distribution` / `docker service create` ask this.
    let auth = base64::engine::general_purpose::URL_SAFE
        .encode(serde_json::json!({"username": "me", "password": "s3cret"}).to_string());
    let path = format!("/v1.41/distribution/{name}/json");
    let r = s.request_with("GET", &path, &[("X-Registry-Auth", &auth)], b"");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["Descriptor"]["digest"], digest.as_str(), "{v}");
    assert_eq!(
        v["Descriptor"]["mediaType"], "application/vnd.docker.distribution.manifest.v2+json",
        "{v}"
    );
    assert!(v["Descriptor"]["size"].as_u64().unwrap() > 0, "{v}");
    assert_eq!(v["Platforms"][0]["os"], "linux", "{v}");
    assert_eq!(v["Platforms"][0]["architecture"], "amd64", "{v}");
    // Without the client's credentials the registry says no (dockerd
    // answers 500 "no basic auth credentials" there, 401 for wrong ones).
    let r = s.request("GET", &path, b"");
    assert!(
        r.status >= 400 && r.message().to_lowercase().contains("unauthorized"),
        "{} {}",
        r.status,
        r.message()
    );
    drop(w);
}
