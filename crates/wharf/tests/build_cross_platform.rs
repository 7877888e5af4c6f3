//! `build --platform` for other architectures: RUN steps of a foreign base
//! image (made with `import --platform`) run through the host's qemu-user
//! binfmt_misc entries, as with docker 20.10's BuildKit (compared on the
//! same context); `--platform a,b,c` writes a multi-platform result (an
//! OCI image index skopeo reads, a directory per platform, one cache for
//! all) and refuses to load one into the single-platform image store, as
//! buildx does; `import --platform` refuses what docker refuses. The
//! emulators are registered for the test's duration and the host's
//! binfmt state restored after (see common/binfmt.rs).

mod common;

use std::fs;

use common::binfmt::{foreign_busybox_root, foreign_busybox_tar, Binfmt};
use common::{build_context, docker, require_docker, sh, Wharf};

/// One foreign platform: `--platform`, Debian's arch, the kernel's (the
/// binfmt entry's name), the image's architecture and variant, and what
/// `uname -m` says under emulation.
struct Foreign {
    platform: &'static str,
    deb: &'static str,
    kernel: &'static str,
    arch: &'static str,
    variant: &'static str,
    uname: &'static str,
}

fn foreign() -> Vec<Foreign> {
    if cfg!(target_arch = "x86_64") {
        vec![
            Foreign {
                platform: "linux/arm64",
                deb: "arm64",
                kernel: "aarch64",
                arch: "arm64",
                variant: "",
                uname: "aarch64",
            },
            Foreign {
                platform: "linux/arm/v7",
                deb: "armhf",
                kernel: "arm",
                arch: "arm",
                variant: "v7",
                uname: "armv7l",
            },
        ]
    } else {
        vec![Foreign {
            platform: "linux/amd64",
            deb: "amd64",
            kernel: "x86_64",
            arch: "amd64",
            variant: "",
            uname: "x86_64",
        }]
    }
}

fn host_uname() -> &'static str {
    if cfg!(target_arch = "x86_64") {
        "x86_64"
    } else {
        "aarch64"
    }
}

#[test]
fn foreign_run_steps_go_through_qemu_and_multi_platform_makes_an_index() {
    let all = foreign();
    let kernels: Vec<&str> = all.iter().map(|f| f.kernel).collect();
    let _binfmt = Binfmt::emulate(&kernels);
    let w = Wharf::new();
    let host_tag = format!("bb:{}", wharf_arch_tag(&host_platform()));
    w.import_busybox(&host_tag);
    for f in &all {
        let tar = foreign_busybox_tar(&w.scratch(), f.deb);
        w.ok([
            "import",
            "--platform",
            f.platform,
            tar.to_str().unwrap(),
            &format!("bb:{}", wharf_arch_tag(f.platform)),
        ]);
        let image = format!("bb:{}", wharf_arch_tag(f.platform));
        let shown = w.ok([
            "image",
            "inspect",
            "--format",
            "{{.Os}}/{{.Architecture}}",
            &image,
        ]);
        assert_eq!(shown.trim(), format!("linux/{}", f.arch));
        if !f.variant.is_empty() {
            let v = w.ok(["image", "inspect", "--format", "{{.Variant}}", &image]);
            assert_eq!(v.trim(), f.variant);
        }
    }
    // The base is picked by the automatic TARGET args, as users do for
    // per-architecture bases.
    let df = "FROM bb:${TARGETARCH}${TARGETVARIANT} AS base\n\
              RUN uname -m > /arch && echo \"ran on $(uname -m)\"\n\
              FROM base\nRUN cat /arch\n";
    let dir = build_context(&w, "ctx", &[("Dockerfile", df)]);
    for f in &all {
        let tag = format!("out:{}", wharf_arch_tag(f.platform));
        let err = build_plain(
            &w,
            &["--platform", f.platform, "-t", &tag, dir.to_str().unwrap()],
        );
        assert!(err.contains(&format!("ran on {}", f.uname)), "{err}");
        assert!(!err.contains("InvalidBaseImagePlatform"), "{err}");
        let arch = w.ok(["image", "inspect", "--format", "{{.Architecture}}", &tag]);
        assert_eq!(arch.trim(), f.arch);
        // The image runs through the same emulator.
        let ran = w.ok(["run", "--rm", &tag, "cat", "/arch"]);
        assert_eq!(ran, format!("{}\n", f.uname));
    }

    // Several platforms at once: one OCI layout with an index, and a
    // directory per platform.
    let mut platforms = vec![host_platform()];
    platforms.extend(all.iter().map(|f| f.platform.to_string()));
    let list = platforms.join(",");
    let oci = w.scratch().join("multi.tar");
    let local = w.scratch().join("multi");
    let cache = w.scratch().join("cache");
    let oci_out = format!("type=oci,dest={}", oci.display());
    let local_out = format!("type=local,dest={}", local.display());
    let cache_to = format!("type=local,dest={},mode=max", cache.display());
    let err = build_plain(
        &w,
        &[
            "--platform",
            &list,
            "-t",
            "multi:1",
            "-o",
            &oci_out,
            "-o",
            &local_out,
            "--cache-to",
            &cache_to,
            dir.to_str().unwrap(),
        ],
    );
    // BuildKit names each platform's steps with it.
    for p in &platforms {
        assert!(
            err.contains(&format!("[{p} base 2/2] RUN uname -m")),
            "{err}"
        );
    }
    let mut unames = vec![host_uname()];
    unames.extend(all.iter().map(|f| f.uname));
    for (p, u) in platforms.iter().zip(&unames) {
        let arch = fs::read_to_string(local.join(p.replace('/', "_")).join("arch")).unwrap();
        assert_eq!(arch, format!("{u}\n"), "{p}");
    }
    // skopeo reads the index and picks each platform's image from it.
    let raw = skopeo(&[
        "inspect",
        "--raw",
        &format!("oci-archive:{}", oci.display()),
    ]);
    let index: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(
        index["mediaType"], "application/vnd.oci.image.index.v1+json",
        "{raw}"
    );
    let listed: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let p = &m["platform"];
            let mut s = format!(
                "{}/{}",
                p["os"].as_str().unwrap(),
                p["architecture"].as_str().unwrap()
            );
            if let Some(v) = p["variant"].as_str() {
                s = format!("{s}/{v}");
            }
            s
        })
        .collect();
    assert_eq!(listed, platforms);
    for f in &all {
        let mut args = vec!["inspect", "--override-arch", f.arch];
        if !f.variant.is_empty() {
            args.extend(["--override-variant", f.variant]);
        }
        let target = format!("oci-archive:{}", oci.display());
        args.push(&target);
        let inspected: serde_json::Value = serde_json::from_str(&skopeo(&args)).unwrap();
        assert_eq!(inspected["Architecture"], f.arch, "{inspected}");
    }

    // One exported cache serves every platform: with the local cache
    // pruned, each platform's RUN steps come from it.
    w.ok(["builder", "prune", "-f"]);
    let again = w.scratch().join("again");
    let again_out = format!("type=local,dest={}", again.display());
    let cache_from = format!("type=local,src={}", cache.display());
    let err = build_plain(
        &w,
        &[
            "--platform",
            &list,
            "-o",
            &again_out,
            "--cache-from",
            &cache_from,
            dir.to_str().unwrap(),
        ],
    );
    for (p, u) in platforms.iter().zip(&unames) {
        let step = format!("[{p} base 2/2] RUN uname -m");
        let n = err
            .lines()
            .position(|l| l.contains(&step))
            .unwrap_or_else(|| panic!("no step {step}: {err}"));
        let id = err.lines().nth(n).unwrap().split(' ').next().unwrap();
        assert!(
            err.contains(&format!("{id} CACHED")),
            "{step} not from the cache: {err}"
        );
        let arch = fs::read_to_string(again.join(p.replace('/', "_")).join("arch")).unwrap();
        assert_eq!(arch, format!("{u}\n"), "{p}");
    }

    // Loading a multi-platform result into the store is refused before
    // anything is built, as buildx refuses it; nothing is tagged.
    let (code, err) = w.fails([
        "build",
        "--platform",
        &list,
        "-t",
        "multi:2",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("docker exporter does not currently support exporting manifest lists"),
        "{err}"
    );
    assert!(err.contains("--output type=oci"), "{err}");
    assert!(!w.run(["image", "inspect", "multi:2"]).status.success());
}

/// The same foreign RUN step gives what docker 20.10's BuildKit gives
/// through the same emulators (a scratch base with the foreign busybox
/// copied in: docker 20.10's `import` records no architecture).
#[test]
fn foreign_run_matches_docker() {
    require_docker();
    let all = foreign();
    let kernels: Vec<&str> = all.iter().map(|f| f.kernel).collect();
    let _binfmt = Binfmt::emulate(&kernels);
    let w = Wharf::new();
    for f in &all {
        let df = "FROM scratch\nCOPY rootfs/ /\n\
                  RUN uname -m > /arch && echo \"$TARGETPLATFORM\" > /p\n";
        let dir = build_context(&w, &format!("ctx-{}", f.deb), &[("Dockerfile", df)]);
        let root = foreign_busybox_root(&w.scratch(), f.deb);
        sh(std::process::Command::new("cp")
            .arg("-a")
            .arg(&root)
            .arg(dir.join("rootfs")));
        let ours = w.scratch().join(format!("ours-{}", f.deb));
        let theirs = w.scratch().join(format!("theirs-{}", f.deb));
        w.ok([
            "build",
            "-q",
            "--platform",
            f.platform,
            "-o",
            &format!("type=local,dest={}", ours.display()),
            dir.to_str().unwrap(),
        ]);
        sh(docker()
            .env("DOCKER_BUILDKIT", "1")
            .args(["build", "-q", "--platform", f.platform, "-o"])
            .arg(format!("type=local,dest={}", theirs.display()))
            .arg(&dir));
        for file in ["arch", "p"] {
            let a = fs::read_to_string(ours.join(file)).unwrap();
            assert_eq!(a, fs::read_to_string(theirs.join(file)).unwrap(), "{file}");
        }
        assert_eq!(
            fs::read_to_string(ours.join("arch")).unwrap(),
            format!("{}\n", f.uname)
        );
    }
}

/// `import --platform` refuses what docker refuses, with its words.
#[test]
fn import_platform_errors_match_docker() {
    require_docker();
    let w = Wharf::new();
    let tar = common::busybox_rootfs_tar(&w.scratch());
    for (platform, words) in [
        ("windows/amd64", "operating system is not supported"),
        (
            "bogus/x/y/z",
            "\"bogus/x/y/z\": cannot parse platform specifier: invalid argument",
        ),
    ] {
        let (code, err) = w.fails(["import", "--platform", platform, tar.to_str().unwrap()]);
        assert_eq!(code, 1, "{err}");
        assert!(err.trim_end().ends_with(words), "{err}");
        let out = docker()
            .args(["import", "--platform", platform])
            .arg(&tar)
            .output()
            .unwrap();
        let theirs = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{theirs}");
        assert!(theirs.trim_end().ends_with(words), "{theirs}");
    }
    assert_eq!(w.ok(["images", "-q"]), "");
}

fn host_platform() -> String {
    if cfg!(target_arch = "x86_64") {
        "linux/amd64".into()
    } else {
        "linux/arm64".into()
    }
}

/// The tag the Dockerfile's `bb:${TARGETARCH}${TARGETVARIANT}` names.
fn wharf_arch_tag(platform: &str) -> String {
    platform.split('/').skip(1).collect::<Vec<_>>().join("")
}

fn skopeo(args: &[&str]) -> String {
    sh(std::process::Command::new("skopeo").args(args))
}

/// `build --progress plain ARGS`, which must succeed; its progress.
fn build_plain(w: &Wharf, args: &[&str]) -> String {
    let out = w
        .command(["build", "--progress", "plain"].iter().chain(args))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "build {args:?}: {err}");
    err
}
