//! `build --platform` and BuildKit's platform args (`TARGETPLATFORM`,
//! `BUILDPLATFORM`, ...), `FROM --platform=$BUILDPLATFORM`, compared with
//! docker 20.10's BuildKit; a RUN step for a platform this machine cannot
//! run fails with one line naming the platform and the missing emulator
//! (build_cross_platform.rs runs them through qemu).

mod common;

use std::fs;

use common::{
    build_context, docker, import_busybox_in_both, require_docker, unique, DockerImages, Wharf,
};

/// This machine's GOARCH and another one.
fn arches() -> (&'static str, &'static str) {
    if cfg!(target_arch = "x86_64") {
        ("amd64", "arm64")
    } else {
        ("arm64", "amd64")
    }
}

#[test]
fn platform_args_and_from_platform_match_docker() {
    require_docker();
    let (host, other) = arches();
    let w = Wharf::new();
    let base = unique("wharf-platform-base");
    import_busybox_in_both(&w, &base, &["CMD [\"sh\"]"]);
    let _images = DockerImages(vec![base.clone()]);
    let df = format!(
        "FROM --platform=$BUILDPLATFORM {base} AS b\n\
         ARG TARGETPLATFORM\nARG TARGETOS\nARG TARGETARCH\nARG TARGETVARIANT\nARG BUILDPLATFORM\nARG BUILDARCH\n\
         RUN echo \"$TARGETPLATFORM $TARGETOS $TARGETARCH [$TARGETVARIANT] $BUILDPLATFORM $BUILDARCH\" > /p\n\
         FROM scratch\nCOPY --from=b /p /p\n"
    );
    let dir = build_context(&w, "ctx", &[("Dockerfile", &df)]);
    for platform in [format!("linux/{host}"), format!("linux/{other}")] {
        let ours = w
            .scratch()
            .join(format!("ours-{}", platform.replace('/', "-")));
        let theirs = w
            .scratch()
            .join(format!("theirs-{}", platform.replace('/', "-")));
        w.ok([
            "build",
            "-q",
            "--platform",
            &platform,
            "-o",
            &format!("type=local,dest={}", ours.display()),
            dir.to_str().unwrap(),
        ]);
        let out = docker()
            .env("DOCKER_BUILDKIT", "1")
            .args(["build", "-q", "--platform", &platform, "-o"])
            .arg(format!("type=local,dest={}", theirs.display()))
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let p_ours = fs::read_to_string(ours.join("p")).unwrap();
        assert_eq!(p_ours, fs::read_to_string(theirs.join("p")).unwrap());
        assert_eq!(
            p_ours,
            format!(
                "{platform} linux {} [] linux/{host} {host}\n",
                platform.split('/').nth(1).unwrap()
            )
        );
    }

    // The image of a foreign platform built without running anything of
    // it says that platform.
    let tag = unique("wharf-platform-img");
    w.ok([
        "build",
        "-q",
        "--platform",
        &format!("linux/{other}"),
        "-t",
        &tag,
        dir.to_str().unwrap(),
    ]);
    let arch = w.ok([
        "image",
        "inspect",
        "--format",
        "{{.Os}}/{{.Architecture}}",
        &tag,
    ]);
    assert_eq!(arch.trim(), format!("linux/{other}"));
}

#[test]
fn run_for_a_platform_without_an_emulator_fails_with_one_line() {
    let (_, other) = arches();
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    let df =
        "FROM busybox:local AS b\nFROM scratch\nCOPY --from=b /bin/busybox /bin/sh\nRUN echo ran\n";
    let dir = build_context(&w, "ctx", &[("Dockerfile", df)]);
    let kernel = if other == "arm64" {
        "aarch64"
    } else {
        "x86_64"
    };
    // Any emulator the host has is disabled for the test (and enabled
    // again after it).
    let _binfmt = common::binfmt::Binfmt::without(kernel);
    let platform = format!("linux/{other}");
    let out = w
        .command([
            "build",
            "--progress",
            "plain",
            "--platform",
            &platform,
            "-t",
            "x",
            dir.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let line = err
        .lines()
        .find(|l| l.contains("cannot run RUN steps"))
        .unwrap_or_else(|| panic!("no error line: {err}"));
    assert!(line.contains(&format!("platform {platform}")), "{line}");
    assert!(
        line.contains("binfmt_misc") || line.contains("qemu-user-static"),
        "{line}"
    );
    // Nothing was tagged.
    assert!(!w.run(["image", "inspect", "x"]).status.success());
}
