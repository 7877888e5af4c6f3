//! Images move between wharf and the real docker (Debian's docker.io).

mod common;

use std::ffi::OsStr;

use common::{docker, require_docker, sh, unique, DockerImages, Wharf};

#[test]
fn wharf_save_loads_and_runs_in_docker() {
    require_docker();
    let w = Wharf::new();
    let name = unique("wharf-interop/bb");
    let reference = format!("{name}:1");
    let _cleanup = DockerImages(vec![reference.clone()]);
    let id = w.import_busybox(&reference);
    let tar = w.scratch().join("bb.tar");
    w.ok([
        OsStr::new("save"),
        OsStr::new("-o"),
        tar.as_os_str(),
        OsStr::new(&reference),
    ]);

    let out = sh(docker().arg("load").arg("-i").arg(&tar));
    assert!(out.contains(&format!("Loaded image: {reference}")), "{out}");
    let docker_id = sh(docker().args(["image", "inspect", "--format", "{{.Id}}", &reference]));
    assert_eq!(docker_id.trim(), id, "docker computes the same image ID");
    let ran = sh(docker().args(["run", "--rm", "--network", "none", &reference, "echo", "ok"]));
    assert_eq!(ran.trim(), "ok");
}

#[test]
fn docker_save_loads_into_wharf_with_same_id_tags_and_layers() {
    require_docker();
    let w = Wharf::new();
    // Make an image in docker from the same busybox rootfs, with two layers.
    let name = unique("wharf-interop/fromdocker");
    let base = format!("{name}:base");
    let top = format!("{name}:top");
    let _cleanup = DockerImages(vec![top.clone(), base.clone()]);
    let rootfs = common::busybox_rootfs_tar(&w.scratch());
    sh(docker()
        .args(["import", "--change", "CMD [\"sh\"]"])
        .arg(&rootfs)
        .arg(&base));
    let ctx = w.scratch().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        format!("FROM {base}\nRUN echo hi > /greeting && rm /bin/true\nENV A=1\n"),
    )
    .unwrap();
    sh(docker()
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "-q", "-t", &top])
        .arg(&ctx));

    let tar = w.scratch().join("docker.tar");
    sh(docker().args(["save", "-o"]).arg(&tar).arg(&top).arg(&base));
    let out = w.ok([OsStr::new("load"), OsStr::new("-i"), tar.as_os_str()]);
    assert!(
        out.contains(&format!("Loaded image: {top}"))
            && out.contains(&format!("Loaded image: {base}")),
        "{out}"
    );

    for r in [&base, &top] {
        let d_id = sh(docker().args(["image", "inspect", "--format", "{{.Id}}", r]));
        assert_eq!(w.image_id(r), d_id.trim(), "{r}: same ID");
        let d_layers =
            sh(docker().args(["image", "inspect", "--format", "{{json .RootFS.Layers}}", r]));
        let w_layers = w.ok(["image", "inspect", "--format", "{{json .RootFS.Layers}}", r]);
        assert_eq!(w_layers.trim(), d_layers.trim(), "{r}: same layers");
    }
    // The RUN layer's whiteout for /bin/true became an overlay whiteout.
    let layers: serde_json::Value = serde_json::from_str(&w.ok([
        "image",
        "inspect",
        "--format",
        "{{json .RootFS.Layers}}",
        &top,
    ]))
    .unwrap();
    let upper = layers
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    let diff = w.root().join("layers").join(upper).join("diff");
    assert_eq!(
        std::fs::read_to_string(diff.join("greeting")).unwrap(),
        "hi\n"
    );
    let meta = std::fs::symlink_metadata(diff.join("bin/true")).unwrap();
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    assert!(
        meta.file_type().is_char_device() && meta.rdev() == 0,
        "whiteout is a 0:0 char device"
    );
}
