//! The Engine API's `GET|HEAD|PUT /containers/{id}/archive` (what
//! `docker cp` sends to `wharf serve`) against a hostile container and
//! hostile archives (issue 15): paths with `..`, links in the container
//! (in a volume) to host paths, tar entries named `../x` or absolute,
//! hard links and symlinks out of the destination, and a loop swapping a
//! directory for a link to the host while requests run. Nothing outside
//! the container's root may be read or written: each attack aims at a
//! canary directory in the test's temp dir. dockerd 20.10 gets the same
//! requests on its own socket for comparison.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::serve::{request_on, Response, Serve};
use common::{
    docker, eventually, import_busybox_in_both, require_docker, swap_script, unique, DockerImages,
    DockerObjects, Wharf,
};

const DOCKER_SOCK: &str = "/var/run/docker.sock";

/// One engine under test: its API socket, the container the attacks
/// target, and its CLI (for `run` and `exec`).
struct Side<'a> {
    name: &'static str,
    sock: PathBuf,
    container: String,
    cli: &'a dyn Fn(&[&str]) -> Output,
    canary: PathBuf,
}

impl Side<'_> {
    /// A request to the archive endpoint for `path`; `None` when the
    /// connection ends without an answer (dockerd answers a PUT it refuses
    /// at once and may reset the connection while the body is still sent).
    fn try_archive(&self, method: &str, path: &str, body: &[u8]) -> Option<Response> {
        let q = path.replace('%', "%25").replace(' ', "%20");
        let url = format!("/v1.41/containers/{}/archive?path={q}", self.container);
        request_on(&self.sock, method, &url, &[], body)
    }

    fn archive(&self, method: &str, path: &str, body: &[u8]) -> Response {
        self.try_archive(method, path, body)
            .unwrap_or_else(|| panic!("{}: {method} {path}: no answer", self.name))
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = (self.cli)(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn sh(&self, script: &str) -> String {
        self.ok(&["exec", &self.container, "sh", "-c", script])
    }

    fn assert_canary_intact(&self) {
        assert_canary_intact(&self.canary);
    }
}

/// Wharf's side: `wharf serve` `s` over `w`'s store, attacking
/// `container`.
fn wharf_side<'a>(
    w: &Wharf,
    s: &Serve,
    cli: &'a dyn Fn(&[&str]) -> Output,
    container: &str,
) -> Side<'a> {
    Side {
        name: "wharf",
        sock: s.sock.clone(),
        container: container.into(),
        cli,
        canary: canary(&w.scratch().join("wharf")),
    }
}

/// Docker's side: dockerd's socket, attacking `container`.
fn docker_side<'a>(w: &Wharf, cli: &'a dyn Fn(&[&str]) -> Output, container: String) -> Side<'a> {
    Side {
        name: "docker",
        sock: DOCKER_SOCK.into(),
        container,
        cli,
        canary: canary(&w.scratch().join("docker")),
    }
}

/// A host directory the attacks aim at: a secret file, mode 0700.
fn canary(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let c = dir.join("canary");
    std::fs::create_dir_all(&c).unwrap();
    std::fs::write(c.join("secret"), "HOST SECRET\n").unwrap();
    std::fs::set_permissions(&c, std::fs::Permissions::from_mode(0o700)).unwrap();
    c
}

fn assert_canary_intact(canary: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut names: Vec<String> = std::fs::read_dir(canary)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["secret"], "the host canary is untouched");
    assert_eq!(
        std::fs::read_to_string(canary.join("secret")).unwrap(),
        "HOST SECRET\n"
    );
    let mode = std::fs::metadata(canary).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o700, "the canary's mode is untouched");
}

/// A relative link from `/data/<name>` in the container climbing to the
/// host path `target` (as many `..` as any root could need).
fn climbing(target: &Path) -> String {
    format!(
        "{}{}",
        "../".repeat(target.components().count() + 8),
        target.to_str().unwrap().trim_start_matches('/')
    )
}

/// A tar of `entries`: (kind, name, data or link target); kind `f` a
/// file, `d` a directory (mode 0777), `l` a symlink, `h` a hard link.
fn tar_of(entries: &[(&str, &str, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (kind, name, data) in entries {
        let mut h = tar::Header::new_ustar();
        h.set_mode(0o644);
        // The raw name, as a hostile client writes it (`set_path`
        // refuses `..` and absolute names).
        let raw = name.as_bytes();
        assert!(raw.len() < 100, "{name}: too long for a ustar name");
        h.as_old_mut().name[..raw.len()].copy_from_slice(raw);
        match *kind {
            "f" => {
                h.set_size(data.len() as u64);
                h.set_cksum();
                b.append(&h, data.as_bytes()).unwrap();
            }
            "d" => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o777);
                h.set_size(0);
                h.set_cksum();
                b.append(&h, &[][..]).unwrap();
            }
            k => {
                h.set_entry_type(if k == "l" {
                    tar::EntryType::Symlink
                } else {
                    tar::EntryType::Link
                });
                h.set_size(0);
                let link = data.as_bytes();
                assert!(link.len() < 100, "{data}: too long for a ustar link");
                h.as_old_mut().linkname[..link.len()].copy_from_slice(link);
                h.set_cksum();
                b.append(&h, &[][..]).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

/// Every file's content in a tar, joined.
fn tar_text(body: &[u8]) -> String {
    use std::io::Read;
    let mut out = String::new();
    let mut a = tar::Archive::new(body);
    // (A stream cut short by a failed copy ends the text.)
    for e in a.entries().unwrap() {
        let Ok(mut e) = e else { break };
        let _ = e.read_to_string(&mut out);
    }
    out
}

/// The attacks of one side; returns, for each, what the engine answered:
/// `(status, message)` with the container's name and the canary's path
/// replaced.
fn attack(side: &Side) -> Vec<(String, u16, String)> {
    let canary = &side.canary;
    let c = canary.to_str().unwrap();
    side.sh(&format!(
        "mkdir -p /x && busybox ln -s {c} /data/l && busybox ln -s {up} /data/up \
         && busybox ln -s /etc /data/etc && echo container > /etc/mine",
        up = climbing(canary)
    ));
    let mut results = Vec::new();
    let mut note = |what: String, r: &Response| {
        // (A HEAD's error has no body.)
        let msg = serde_json::from_slice::<serde_json::Value>(&r.body)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_string))
            .unwrap_or_default()
            .replace(&side.container, "C")
            .replace(c, "CANARY");
        results.push((what.replace(c, "CANARY"), r.status, msg));
    };

    // Reading: through links to the host, and `..` above the root.
    let up_secret = format!("/../../..{c}/secret");
    let reads = [
        "/data/l/secret".to_string(),
        "/data/up/secret".into(),
        up_secret.clone(),
        format!("{c}/secret"),
        "/data/l/".into(),
        "/data/up/".into(),
    ];
    for path in &reads {
        for method in ["HEAD", "GET"] {
            let r = side.archive(method, path, b"");
            assert!(
                !String::from_utf8_lossy(&r.body).contains("HOST SECRET"),
                "{method} {path} read the host's file"
            );
            note(format!("{method} {path}"), &r);
        }
    }
    // A link is given as the link; `..` is taken lexically, as docker's
    // daemon cleans paths, and stays in the container.
    let r = side.archive("GET", "/data/l", b"");
    assert_eq!(r.status, 200);
    assert_eq!(common::tar_names(&r.body), ["l"]);
    assert_eq!(tar_text(&r.body), "");
    for path in [
        "/data/etc/mine",
        "/data/l/../../etc/mine",
        "/data/up/../../etc/mine",
    ] {
        let r = side.archive("GET", path, b"");
        assert_eq!(
            r.status,
            200,
            "{path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(tar_text(&r.body), "container\n", "{path}");
    }

    // Writing into links: inside the container, a link is followed
    // there; a link to a host path leads nowhere. (Before the hostile
    // archives: docker makes the parent directories of a climbing entry
    // inside the container's root before refusing it, which would give
    // its canary's path a directory there.)
    let ok = tar_of(&[("f", "good", "fine")]);
    let inside_etc = side.archive("PUT", "/data/etc", &ok);
    assert_eq!(
        inside_etc.status, 200,
        "a link inside the container is followed"
    );
    assert_eq!(side.sh("cat /etc/good"), "fine");
    for path in [
        "/data/l",
        "/data/l/",
        "/data/up",
        up_secret.trim_end_matches("/secret"),
        c,
    ] {
        let r = side.archive("PUT", path, &ok);
        note(format!("PUT into {path}"), &r);
    }
    // Writing: archive entries out of the destination.
    let up = climbing(canary);
    let secret = format!("{c}/secret");
    let pwned = format!("{c}/pwned");
    let up_pwned = format!("{up}/pwned");
    let archives: Vec<(&str, Vec<u8>)> = vec![
        ("dotdot", tar_of(&[("f", "../escape", "x")])),
        ("deep dotdot", tar_of(&[("f", "a/../../escape", "x")])),
        ("name of a host path", tar_of(&[("f", &pwned, "x")])),
        ("climbing name", tar_of(&[("f", &up_pwned, "x")])),
        (
            "symlink out, then a file through it",
            tar_of(&[("l", "sl", c), ("f", "sl/pwned", "x")]),
        ),
        (
            "climbing symlink, then a file through it",
            tar_of(&[("l", "sl", &up), ("f", "sl/pwned", "x")]),
        ),
        (
            "symlink out, then a directory over it",
            tar_of(&[("l", "sl", c), ("d", "sl/", "")]),
        ),
        ("hard link to a host path", tar_of(&[("h", "hl", &secret)])),
        (
            "climbing hard link",
            tar_of(&[("h", "hl", &format!("{up}/secret"))]),
        ),
        (
            "hard link through a symlink out",
            tar_of(&[("l", "sl", c), ("h", "hl", "sl/secret")]),
        ),
        (
            "symlink to a host file, then a file of its name",
            tar_of(&[("l", "f", &secret), ("f", "f", "over")]),
        ),
    ];
    for (what, tar) in &archives {
        side.sh("rm -rf /x && mkdir /x");
        let r = side.archive("PUT", "/x", tar);
        note(format!("PUT {what}"), &r);
        side.assert_canary_intact();
        // Nothing of the host's reached the container either.
        assert_eq!(
            side.sh("busybox grep -rl 'HOST SECRET' /x; true"),
            "",
            "{what}"
        );
    }
    side.assert_canary_intact();
    assert_eq!(
        side.sh("busybox grep -rl 'HOST SECRET' /x /data /etc; true"),
        ""
    );
    results
}

/// Start `side`'s attack container (with the volume `volume` at /data).
fn victim(side: &Side, image: &str, volume: &str) {
    side.ok(&[
        "run",
        "-d",
        "--name",
        &side.container,
        "-v",
        &format!("{volume}:/data"),
        image,
        "sleep",
        "600",
    ]);
}

#[test]
fn archive_endpoints_stay_in_the_container() {
    require_docker();
    let w = Wharf::new();
    let image = format!("{}:1", unique("wharf-secarchive/bb"));
    let _images = DockerImages(vec![image.clone()]);
    import_busybox_in_both(&w, &image, &["CMD [\"sh\"]"]);
    let s = Serve::start(&w);

    let wharf_cli = |args: &[&str]| w.run(args);
    let ours = wharf_side(&w, &s, &wharf_cli, "victim");
    victim(&ours, &image, "v1");
    let got = attack(&ours);

    let docker_cli = |args: &[&str]| docker().args(args).output().unwrap();
    let (container, volume) = (unique("wharf-secarchive-c"), unique("wharf-secarchive-v"));
    let _objects = DockerObjects {
        containers: vec![container.clone()],
        volumes: vec![volume.clone()],
    };
    let theirs = docker_side(&w, &docker_cli, container);
    victim(&theirs, &image, &volume);
    let want = attack(&theirs);

    // Reads and the PUTs into links answer alike. Of the hostile
    // archives, wharf refuses each (400) before writing anything: it
    // unpacks into a private directory first. Docker unpacks in a chroot
    // at the container's root, so it writes absolute names and links
    // inside the destination (200) and fails (500, "Error processing tar
    // file") at the first entry that leads out, after writing those before
    // it. Neither reached the canary (checked after each).
    for ((what, status, msg), (what2, status2, msg2)) in got.iter().zip(&want) {
        assert_eq!(what, what2);
        if what.starts_with("PUT ") && !what.starts_with("PUT into") {
            let expected = if what.ends_with("then a file of its name") {
                200
            } else {
                400
            };
            assert_eq!(
                *status, expected,
                "{what}: {msg} (docker: {status2} {msg2})"
            );
            // Naming the archive's own paths, not the server's store.
            assert!(!msg.contains(&*w.root().to_string_lossy()), "{what}: {msg}");
        } else {
            assert_eq!(status, status2, "{what}: wharf {msg:?}, docker {msg2:?}");
        }
    }
    // The not-found wording is the 20.10 CLI's (`No such container:path`);
    // 20.10's daemon says "Could not find the file P in container C".
    let (_, _, msg) = got
        .iter()
        .find(|(w, ..)| w == "GET /data/l/secret")
        .unwrap();
    assert_eq!(msg, "No such container:path: C:/data/l/secret");
    let (_, _, msg) = want
        .iter()
        .find(|(w, ..)| w == "GET /data/l/secret")
        .unwrap();
    assert_eq!(msg, "Could not find the file /data/l/secret in container C");
    w.ok(["rm", "-f", "victim"]);
}

/// PUTs into, and GETs out of, a directory the container swaps for a
/// link to the host: how many PUTs succeeded and GETs gave a file.
fn race(side: &Side, rounds: usize) -> (usize, usize) {
    let tar = tar_of(&[("f", "pwned", "from the api\n")]);
    let (mut put, mut got) = (0, 0);
    for i in 0..rounds {
        if side
            .try_archive("PUT", "/w", &tar)
            .is_some_and(|r| r.status == 200)
        {
            put += 1;
        }
        let path = if i % 3 == 2 { "/w/" } else { "/w/secret" };
        let Some(r) = side.try_archive("GET", path, b"") else {
            continue;
        };
        if r.status == 200 {
            let text = tar_text(&r.body);
            assert!(
                !text.contains("HOST"),
                "GET {path} read the host's file: {text:?}"
            );
            got += 1;
        }
        if i % 50 == 49 {
            side.assert_canary_intact();
        }
    }
    side.assert_canary_intact();
    (put, got)
}

/// Start the swapping loop in `side`'s container and race it; up to three
/// rounds until both ways found `/w` a directory at least once.
fn race_side(side: &Side, image: &str, rounds: usize) {
    side.ok(&[
        "run",
        "-d",
        "--name",
        &side.container,
        image,
        "sh",
        "-c",
        &swap_script(&side.canary, 3000),
    ]);
    eventually(10, "the swapping loop to start", || {
        (side.cli)(&["exec", &side.container, "cat", "/looping"])
            .status
            .success()
    });
    let (mut put, mut got) = (0, 0);
    for _ in 0..3 {
        let (p, g) = race(side, rounds);
        (put, got) = (put + p, got + g);
        if put > 0 && got > 0 {
            return;
        }
    }
    panic!(
        "{}: the race never found /w a directory: {put} PUTs, {got} GETs",
        side.name
    );
}

#[test]
fn archive_endpoints_against_a_container_swapping_a_dir_for_a_symlink() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    let s = Serve::start(&w);
    let wharf_cli = |args: &[&str]| w.run(args);
    let ours = wharf_side(&w, &s, &wharf_cli, "racer");
    race_side(&ours, "busybox:local", 300);
    w.ok(["rm", "-f", "racer"]);

    // Docker holds the same race (fewer rounds: each is slower there).
    require_docker();
    let image = format!("{}:1", unique("wharf-secarchive/race"));
    let _images = DockerImages(vec![image.clone()]);
    common::sh(
        docker()
            .args(["import", "-c", "CMD [\"sh\"]"])
            .arg(common::busybox_rootfs_tar(&w.scratch()))
            .arg(&image),
    );
    let container = unique("wharf-secarchive-race");
    let _objects = DockerObjects {
        containers: vec![container.clone()],
        volumes: vec![],
    };
    let docker_cli = |args: &[&str]| docker().args(args).output().unwrap();
    let theirs = docker_side(&w, &docker_cli, container);
    race_side(&theirs, &image, 30);
}
