//! `import`, `images`, `tag`, `inspect`, `history`, `rmi`, `prune`, `system df`.

mod common;

use std::ffi::OsStr;

use common::{busybox_rootfs_tar, Wharf};

#[test]
fn import_from_file_lists_and_inspects_like_docker() {
    let w = Wharf::new();
    let id = w.import_busybox("busybox:local");
    assert!(
        id.starts_with("sha256:") && id.len() == 71,
        "import prints the full ID: {id}"
    );

    let table = w.ok(["images"]);
    let mut lines = table.lines();
    let header = lines.next().unwrap();
    for col in ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"] {
        assert!(header.contains(col), "header {header:?} lacks {col}");
    }
    let row = lines.next().expect("one image row");
    assert!(row.starts_with("busybox "), "{row}");
    assert!(row.contains(" local "), "{row}");
    assert!(row.contains(&id[7..19]), "short ID in {row}");
    assert!(row.contains("ago") || row.contains("Less than"), "{row}");
    assert!(row.trim_end().ends_with("MB"), "size in MB: {row}");

    assert_eq!(w.ok(["images", "-q"]).trim(), &id[7..19]);
    assert_eq!(w.ok(["images", "-q", "--no-trunc"]).trim(), id);
    assert_eq!(
        w.ok(["images", "--format", "{{.Repository}}:{{.Tag}}"])
            .trim(),
        "busybox:local"
    );
    let json: serde_json::Value =
        serde_json::from_str(w.ok(["images", "--format", "{{json .}}"]).trim()).unwrap();
    assert_eq!(json["Repository"], "busybox");
    assert_eq!(json["ID"], &id[7..19]);

    let inspect: serde_json::Value =
        serde_json::from_str(&w.ok(["image", "inspect", "busybox:local"])).unwrap();
    let img = &inspect[0];
    assert_eq!(img["Id"], id.as_str());
    assert_eq!(img["RepoTags"], serde_json::json!(["busybox:local"]));
    assert_eq!(img["Config"]["Cmd"], serde_json::json!(["sh"]));
    assert_eq!(img["Os"], "linux");
    assert_eq!(img["RootFS"]["Type"], "layers");
    assert_eq!(img["RootFS"]["Layers"].as_array().unwrap().len(), 1);
    assert!(img["Size"].as_u64().unwrap() > 500_000);
    assert_eq!(img["Comment"], "Imported from -");
    assert_eq!(
        w.ok(["inspect", "--format", "{{.Config.Cmd}}", "busybox:local"])
            .trim(),
        "[sh]"
    );
}

#[test]
fn import_from_stdin_with_changes_and_message() {
    let w = Wharf::new();
    let tar = std::fs::read(busybox_rootfs_tar(&w.scratch())).unwrap();
    let out = w.with_stdin(
        [
            "import",
            "-c",
            "ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin",
            "-c",
            "ENTRYPOINT [\"/bin/sh\", \"-c\"]",
            "-c",
            "WORKDIR /srv",
            "-c",
            "EXPOSE 8080/tcp 53/udp",
            "-c",
            "LABEL a=b \"c d\"=e",
            "-c",
            "USER nobody",
            "-m",
            "from a pipe",
            "-",
            "me/bb:1.0",
        ],
        &tar,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cfg: serde_json::Value = serde_json::from_str(&w.ok([
        "image",
        "inspect",
        "--format",
        "{{json .Config}}",
        "me/bb:1.0",
    ]))
    .unwrap();
    assert_eq!(
        cfg["Env"],
        serde_json::json!(["PATH=/usr/sbin:/usr/bin:/sbin:/bin"])
    );
    assert_eq!(cfg["Entrypoint"], serde_json::json!(["/bin/sh", "-c"]));
    assert_eq!(cfg["WorkingDir"], "/srv");
    assert_eq!(cfg["User"], "nobody");
    assert_eq!(
        cfg["ExposedPorts"],
        serde_json::json!({"53/udp": {}, "8080/tcp": {}})
    );
    assert_eq!(cfg["Labels"], serde_json::json!({"a": "b", "c d": "e"}));
    assert_eq!(
        w.ok(["history", "--format", "{{.Comment}}", "me/bb:1.0"])
            .trim(),
        "from a pipe"
    );
}

#[test]
fn same_rootfs_imports_share_the_layer() {
    let w = Wharf::new();
    let a = w.import_busybox("a:1");
    let b = w.import_busybox("b:1");
    assert_ne!(a, b, "created time differs, so IDs differ");
    let la = w.ok([
        "image",
        "inspect",
        "--format",
        "{{json .RootFS.Layers}}",
        "a:1",
    ]);
    let lb = w.ok([
        "image",
        "inspect",
        "--format",
        "{{json .RootFS.Layers}}",
        "b:1",
    ]);
    assert_eq!(la, lb);
    let layers: Vec<_> = std::fs::read_dir(w.root().join("layers"))
        .unwrap()
        .collect();
    assert_eq!(layers.len(), 1, "one unpacked tree serves both images");
}

#[test]
fn tag_and_rmi_follow_docker() {
    let w = Wharf::new();
    let id = w.import_busybox("busybox:local");
    w.ok(["tag", "busybox:local", "me/bb:1.0"]);
    w.ok(["tag", &id[7..19], "localhost:5000/bb"]);
    let tags = w.ok(["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    let mut tags: Vec<_> = tags.lines().collect();
    tags.sort();
    assert_eq!(
        tags,
        ["busybox:local", "localhost:5000/bb:latest", "me/bb:1.0"]
    );

    // By ID with several tags: refused without -f.
    let (code, err) = w.fails(["rmi", &id[7..19]]);
    assert_eq!(code, 1);
    assert!(err.contains("must be forced"), "{err}");

    // By tag: only untags while other tags remain.
    assert_eq!(w.ok(["rmi", "me/bb:1.0"]).trim(), "Untagged: me/bb:1.0");
    assert_eq!(
        w.ok(["rmi", "localhost:5000/bb"]).trim(),
        "Untagged: localhost:5000/bb:latest"
    );
    // The last tag: untag and delete, layers too.
    let out = w.ok(["rmi", "busybox:local"]);
    assert!(
        out.starts_with("Untagged: busybox:local\nDeleted: "),
        "{out}"
    );
    assert!(out.contains(&id), "{out}");
    assert_eq!(w.ok(["images", "-q"]), "");
    assert_eq!(
        std::fs::read_dir(w.root().join("layers")).unwrap().count(),
        0,
        "layer tree removed"
    );
    let blobs = std::fs::read_dir(w.root().join("blobs/sha256"))
        .unwrap()
        .count();
    assert_eq!(blobs, 0, "config and layer blobs removed");
}

#[test]
fn rmi_force_by_id_removes_all_tags() {
    let w = Wharf::new();
    let id = w.import_busybox("x:1");
    w.ok(["tag", "x:1", "y:2"]);
    let out = w.ok(["rmi", "-f", &id]);
    assert!(
        out.contains("Untagged: x:1") && out.contains("Untagged: y:2"),
        "{out}"
    );
    assert!(out.contains(&format!("Deleted: {id}")), "{out}");
    assert_eq!(w.ok(["images", "-aq"]), "");
}

#[test]
fn history_shows_one_row_per_entry() {
    let w = Wharf::new();
    let id = w.import_busybox("busybox:local");
    let out = w.ok(["history", "busybox:local"]);
    let lines: Vec<_> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    for col in ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"] {
        assert!(lines[0].contains(col), "{}", lines[0]);
    }
    assert!(lines[1].starts_with(&id[7..19]), "{}", lines[1]);
    assert!(lines[1].contains("Imported from -"), "{}", lines[1]);
    assert_eq!(
        w.ok(["history", "-q", "--no-trunc", "busybox:local"])
            .trim(),
        id
    );
}

#[test]
fn prune_and_df() {
    let w = Wharf::new();
    w.import_busybox("keep:1");
    let id = w.import_busybox("gone:1");
    w.ok(["rmi", "gone:1"]);
    // An untagged image: import without a name.
    let tar = busybox_rootfs_tar(&w.scratch());
    let dangling = w
        .ok([OsStr::new("import"), tar.as_os_str()])
        .trim()
        .to_string();
    let none_row = w.ok([
        "images",
        "--filter",
        "dangling=true",
        "--format",
        "{{.Repository}} {{.Tag}} {{.ID}}",
    ]);
    assert_eq!(
        none_row.trim(),
        format!("<none> <none> {}", &dangling[7..19])
    );
    assert!(!w.ok(["images", "-q"]).contains(&id[7..19]));

    let df = w.ok(["system", "df"]);
    assert!(df.starts_with("TYPE"), "{df}");
    assert!(
        df.lines().nth(1).unwrap().starts_with("Images") && df.contains(" 2 "),
        "{df}"
    );

    let out = w.ok(["image", "prune", "-f"]);
    assert!(out.contains(&format!("deleted: {dangling}")), "{out}");
    assert!(out.contains("Total reclaimed space:"), "{out}");
    assert_eq!(
        w.ok(["images", "--format", "{{.Repository}}"]).trim(),
        "keep"
    );
    let out = w.ok(["image", "prune", "-a", "-f"]);
    assert!(out.contains("untagged: keep:1"), "{out}");
    assert_eq!(w.ok(["images", "-aq"]), "");
}

#[test]
fn bad_input_is_one_clear_line_with_docker_s_code_and_changes_nothing() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    let before = w.store_listing();

    let (code, err) = w.fails(["image", "inspect", "nope:1"]);
    assert_eq!(code, 1);
    assert!(err.contains("No such image: nope:1"), "{err}");
    let (code, err) = w.fails(["rmi", "nope"]);
    assert_eq!(code, 1);
    assert!(err.contains("No such image: nope:latest"), "{err}");
    let (code, err) = w.fails(["tag", "busybox:local", "Bad/Name"]);
    assert_eq!(code, 1);
    assert!(err.contains("must be lowercase"), "{err}");
    let (code, err) = w.fails(["tag", "busybox:local", &"a".repeat(64)]);
    assert_eq!(code, 1);
    assert!(err.contains("64-byte hexadecimal"), "{err}");
    let (code, err) = w.fails(["history", "a:b:c"]);
    assert_eq!(code, 1);
    assert!(err.contains("invalid reference format"), "{err}");
    let (code, _) = w.fails(["images", "--bogus-flag"]);
    assert_eq!(code, 125);
    let (code, err) = w.fails(["import", "-c", "RUN echo hi", "/dev/null"]);
    assert_eq!(code, 1);
    assert!(err.contains("RUN"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");

    let junk = w.scratch().join("junk.tar");
    std::fs::write(&junk, vec![b'x'; 3000]).unwrap();
    let (code, err) = w.fails([OsStr::new("import"), junk.as_os_str(), OsStr::new("junk:1")]);
    assert_eq!(code, 1);
    assert_eq!(err.lines().count(), 1, "one line: {err}");

    assert_eq!(
        w.store_listing(),
        before,
        "failed commands left the store as it was"
    );
}
