//! Volume copy-up against hostile images and containers (issue 15): a
//! new volume mounted over an image directory starts as a copy of it, and
//! neither links in that directory (absolute, `../..`, a mount
//! destination through a link) nor a container swapping a directory for
//! a link in a volume while others copy into it may make wharf read or
//! write the host's files. Each attack aims at a canary directory in the
//! test's temp dir; docker 20.10 runs the image attacks for comparison.

mod common;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use common::{
    busybox_rootfs_tar, cli_ok as ok, docker, eventually, require_docker, sh, unique, Cli,
    DockerImages, DockerObjects, Wharf,
};

/// A host directory the attacks aim at, holding one secret file.
fn canary(dir: &Path) -> PathBuf {
    let c = dir.join("canary");
    std::fs::create_dir_all(&c).unwrap();
    std::fs::write(c.join("secret"), "HOST SECRET\n").unwrap();
    c
}

fn assert_canary_intact(canary: &Path) {
    let names: Vec<String> = std::fs::read_dir(canary)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["secret"], "the host canary is untouched");
    assert_eq!(
        std::fs::read_to_string(canary.join("secret")).unwrap(),
        "HOST SECRET\n"
    );
}

/// A relative link climbing from anywhere in a root to the host path
/// `target`.
fn climbing(target: &Path) -> String {
    format!(
        "{}{}",
        "../".repeat(target.components().count() + 8),
        target.to_str().unwrap().trim_start_matches('/')
    )
}

/// The busybox rootfs plus `/data` holding `sub/f` and links out of the
/// root to `canary`: `abs` (absolute), `absfile` (to its secret), `up`
/// (climbing); and `/dlink`, a link to `canary` to mount a volume at.
fn hostile_image_tar(scratch: &Path, canary: &Path) -> PathBuf {
    let base = std::fs::read(busybox_rootfs_tar(scratch)).unwrap();
    let mut b = tar::Builder::new(Vec::new());
    let mut a = tar::Archive::new(&base[..]);
    for e in a.entries().unwrap() {
        let e = e.unwrap();
        let h = e.header().clone();
        b.append(&h, e).unwrap();
    }
    let mut dir = |name: &str| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        b.append_data(&mut h, name, &[][..]).unwrap();
    };
    dir("data/");
    dir("data/sub/");
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o644);
    h.set_size(6);
    b.append_data(&mut h, "data/sub/f", &b"image\n"[..])
        .unwrap();
    for (name, target) in [
        ("data/abs", canary.to_path_buf()),
        ("data/absfile", canary.join("secret")),
        ("data/up", PathBuf::from(climbing(canary))),
        ("dlink", canary.to_path_buf()),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_mode(0o777);
        h.set_size(0);
        b.append_link(&mut h, name, &target).unwrap();
    }
    let tar = scratch.join("hostile-image.tar");
    std::fs::write(&tar, b.into_inner().unwrap()).unwrap();
    tar
}

/// Run the hostile image with a new volume at `/data` (copied up), read
/// and write through its links from inside, and return what the container
/// and the volume show; the canary must be untouched.
fn copy_up_attack(cli: Cli, image: &str, volume: &str, canary: &Path) -> String {
    let script = "cat /data/absfile; cat /data/up/secret; echo pwned > /data/abs/pwned; \
                  ls /data/; cat /data/sub/f";
    let seen = run_attack(cli, &["-v", &format!("{volume}:/data")], image, script);
    assert!(!seen.contains("HOST SECRET"), "{seen}");
    // The volume holds the image's directory, links as links.
    let listing = ok(
        cli,
        &[
            "run",
            "--rm",
            "-v",
            &format!("{volume}:/v"),
            image,
            "sh",
            "-c",
            "cd /v && ls -A && cat sub/f && for l in abs absfile up; do busybox readlink $l; done",
        ],
    );
    assert_canary_intact(canary);
    format!("{seen}--\n{listing}")
}

/// `run --rm` of `image` with `flags`, `sh -c script`: its stdout.
fn run_attack(cli: Cli, flags: &[&str], image: &str, script: &str) -> String {
    let mut args = vec!["run", "--rm"];
    args.extend(flags);
    args.extend([image, "sh", "-c", script]);
    let out = cli(&args);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// New volumes mounted at destinations through the image's links out of
/// the root (`/data/up/mnt`, `/dlink`): whatever the engine does, the
/// host's canary is not where they go. Whether the container ran.
fn mount_through_links(cli: Cli, image: &str, volumes: [&str; 2], canary: &Path) -> bool {
    let c = canary.display();
    let out = cli(&[
        "run",
        "--rm",
        "-v",
        &format!("{}:/data/up/mnt", volumes[0]),
        "-v",
        &format!("{}:/dlink", volumes[1]),
        image,
        "sh",
        "-c",
        &format!("echo pwned > /dlink/pwned; ls {c}"),
    ]);
    assert_canary_intact(canary);
    out.status.success()
}

#[test]
fn copy_up_of_an_image_dir_holding_links_out_stays_in_the_volume() {
    require_docker();
    let w = Wharf::new();
    let ours_canary = canary(&w.scratch().join("wharf"));
    let image = format!("{}:1", unique("wharf-secvol/hostile"));
    let _images = DockerImages(vec![image.clone()]);
    // One image for both: its links name this canary.
    let tar = hostile_image_tar(&w.scratch(), &ours_canary);
    w.ok([
        OsStr::new("import"),
        OsStr::new("-c"),
        OsStr::new("CMD [\"sh\"]"),
        tar.as_os_str(),
        OsStr::new(&image),
    ]);
    sh(docker()
        .args(["import", "-c", "CMD [\"sh\"]"])
        .arg(&tar)
        .arg(&image));

    let wharf_cli = |args: &[&str]| w.run(args);
    let ours = copy_up_attack(&wharf_cli, &image, "v1", &ours_canary);
    // The links were copied as links, and wharf read nothing through them
    // on the host.
    let data = PathBuf::from(
        w.ok(["volume", "inspect", "-f", "{{.Mountpoint}}", "v1"])
            .trim(),
    );
    assert_eq!(std::fs::read_link(data.join("abs")).unwrap(), ours_canary);
    assert_eq!(
        std::fs::read_to_string(data.join("sub/f")).unwrap(),
        "image\n"
    );
    // Docker resolves such a destination inside the root and mounts
    // there; wharf's runtime (libcontainer's pathrs) refuses a
    // destination through a link that leads nowhere in the root, and the
    // container does not start ("failed to prepare rootfs").
    assert!(!mount_through_links(
        &wharf_cli,
        &image,
        ["v2", "v3"],
        &ours_canary
    ));
    let _ = w.run(["volume", "rm", "-f", "v1", "v2", "v3"]);

    let docker_cli = |args: &[&str]| docker().args(args).output().unwrap();
    let volumes = [
        unique("wharf-secvol-v"),
        unique("wharf-secvol-v"),
        unique("wharf-secvol-v"),
    ];
    let _objects = DockerObjects {
        containers: vec![],
        volumes: volumes.to_vec(),
    };
    let theirs = copy_up_attack(&docker_cli, &image, &volumes[0], &ours_canary);
    assert_eq!(ours, theirs);
    assert!(mount_through_links(
        &docker_cli,
        &image,
        [&volumes[1], &volumes[2]],
        &ours_canary
    ));
    w.settled();
}

/// How many creates the race makes: each copies up only when it finds
/// the volume empty, which the racing loop makes it about one time in
/// five.
const RACE_CREATES: usize = 150;

/// A container loops emptying a shared volume and making `sub` (the
/// image's directory name) a link to the host, while `create`s of the
/// hostile image copy up into it and `cp` copies into another container
/// mounting it. Nothing may land on the host, and the race must be live:
/// some copy-ups ran, some copies landed.
#[test]
fn copy_up_and_cp_into_a_volume_a_container_swaps_stay_inside() {
    let w = Wharf::new();
    let canary = canary(&w.scratch());
    let tar = hostile_image_tar(&w.scratch(), &canary);
    w.ok([
        OsStr::new("import"),
        OsStr::new("-c"),
        OsStr::new("CMD [\"sh\"]"),
        tar.as_os_str(),
        OsStr::new("hostile:1"),
    ]);
    let c = canary.display();
    let script = format!(
        "while :; do rm -rf /w/* /w/.[!.]*; busybox ln -s {c} /w/sub; rm /w/sub; \
         mkdir /w/sub; rm -rf /w/sub; busybox ln -s {c} /w/sub; busybox ln -s {c} /w/abs; \
         echo > /looping; done"
    );
    w.ok([
        "run",
        "-d",
        "--name",
        "racer",
        "-v",
        "shared:/w",
        "hostile:1",
        "sh",
        "-c",
        &script,
    ]);
    eventually(10, "the racing loop to start", || {
        w.run(["exec", "racer", "cat", "/looping"]).status.success()
    });
    w.ok([
        "run",
        "-d",
        "--name",
        "other",
        "-v",
        "shared:/data",
        "hostile:1",
        "sleep",
        "600",
    ]);
    let file = w.scratch().join("pwned");
    std::fs::write(&file, "from host\n").unwrap();
    let (mut copied_up, mut landed) = (0, 0);
    for round in 0..3 {
        for i in 0..RACE_CREATES {
            let name = format!("c{round}-{i}");
            let out = w.run([
                "--log-level",
                "debug",
                "create",
                "--name",
                &name,
                "-v",
                "shared:/data",
                "hostile:1",
            ]);
            if String::from_utf8_lossy(&out.stderr).contains("copy-up") {
                copied_up += 1;
            }
            let _ = w.run(["rm", "-f", &name]);
            let dest = if i % 2 == 0 {
                "other:/data/sub/"
            } else {
                "other:/data/sub/f"
            };
            let cp = w.run([OsStr::new("cp"), file.as_os_str(), OsStr::new(dest)]);
            if cp.status.success() {
                landed += 1;
            }
            if i % 25 == 24 {
                assert_canary_intact(&canary);
            }
        }
        assert_canary_intact(&canary);
        if copied_up > 0 && landed > 0 {
            break;
        }
    }
    assert!(
        copied_up > 0 && landed > 0,
        "the race never ran: {copied_up} copy-ups, {landed} copies"
    );
    w.ok(["rm", "-f", "racer", "other"]);
    w.settled();
}
