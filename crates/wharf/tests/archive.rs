//! `save` and `load`: round trips, OCI tooling, bad archives (crashes: crash.rs).

mod common;

use std::fs;
use std::process::Stdio;

use common::{sh, Wharf};

#[test]
fn save_load_round_trip_keeps_id_and_tags() {
    let w = Wharf::new();
    let id = w.import_busybox("busybox:local");
    w.ok(["tag", "busybox:local", "me/bb:1.0"]);
    let tar = w.save_to("bb.tar", &["me/bb:1.0", "busybox:local"]);

    let w2 = Wharf::new();
    let out = w2.load(&tar);
    assert_eq!(
        out,
        "Loaded image: me/bb:1.0\nLoaded image: busybox:local\n"
    );
    assert_eq!(w2.image_id("me/bb:1.0"), id);
    assert_eq!(w2.image_id("busybox:local"), id);
    let layers = |w: &Wharf| {
        w.ok([
            "image",
            "inspect",
            "--format",
            "{{json .RootFS.Layers}}",
            "busybox:local",
        ])
    };
    assert_eq!(layers(&w), layers(&w2));

    // Loading again changes nothing and says the same.
    let out = w2.with_stdin(["load"], &fs::read(&tar).unwrap());
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Loaded image: me/bb:1.0\nLoaded image: busybox:local\n"
    );

    // Saved by ID: untagged in the archive, loaded untagged.
    let by_id = w.save_to("byid.tar", &[&id[7..19]]);
    let w3 = Wharf::new();
    let out = w3.load(&by_id);
    assert!(out.contains(&id), "{out}");

    // Streamed to stdout, byte-identical to -o.
    let streamed = w
        .command(["save", "me/bb:1.0", "busybox:local"])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(streamed.status.success());
    assert_eq!(streamed.stdout, fs::read(&tar).unwrap());
}

#[test]
fn loads_compressed_archives() {
    let w = Wharf::new();
    let id = w.import_busybox("busybox:local");
    let tar = w.save_to("bb.tar", &["busybox:local"]);
    sh(std::process::Command::new("gzip").arg("-k").arg(&tar));
    let w2 = Wharf::new();
    w2.load(&tar.with_extension("tar.gz"));
    assert_eq!(w2.image_id("busybox:local"), id);
}

#[test]
fn oci_layout_passes_skopeo_and_umoci() {
    let w = Wharf::new();
    let id = w.import_busybox("busybox:local");
    let tar = w.save_to("bb.tar", &["busybox:local"]);

    let out = sh(std::process::Command::new("skopeo")
        .arg("inspect")
        .arg("--config")
        .arg(format!("oci-archive:{}", tar.display())));
    let config: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(config["config"]["Cmd"], serde_json::json!(["sh"]));

    let layout = w.scratch().join("layout");
    fs::create_dir_all(&layout).unwrap();
    sh(std::process::Command::new("tar")
        .arg("-xf")
        .arg(&tar)
        .arg("-C")
        .arg(&layout));
    let stat = sh(std::process::Command::new("umoci")
        .arg("stat")
        .arg("--json")
        .arg("--image")
        .arg(format!("{}:local", layout.display())));
    assert!(stat.contains("history"), "{stat}");
    // skopeo can also copy it into a fresh OCI layout, blobs verified.
    let copy = w.scratch().join("copy");
    sh(std::process::Command::new("skopeo")
        .arg("copy")
        .arg(format!("oci-archive:{}", tar.display()))
        .arg(format!("oci:{}:x", copy.display())));
    assert!(
        copy.join("blobs/sha256").join(&id[7..]).exists(),
        "config blob keeps the image ID"
    );
}

#[test]
fn bad_archives_fail_cleanly() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    let good = w.save_to("bb.tar", &["busybox:local"]);
    let bytes = fs::read(&good).unwrap();

    let target = Wharf::new();
    target.ok(["images"]);
    let before = target.store_listing();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", bytes[..bytes.len() / 2].to_vec()),
        ("garbage", vec![7u8; 10_000]),
        ("empty", Vec::new()),
        ("tampered layer", {
            // Flip a byte deep inside the layer blob (past the metadata).
            let mut b = bytes.clone();
            let at = b.len() - 200_000;
            b[at] ^= 0xff;
            b
        }),
    ];
    for (what, data) in cases {
        let out = target.with_stdin(["load"], &data);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{what}: one line: {err}");
        assert_eq!(target.store_listing(), before, "{what}: store unchanged");
    }
    assert_eq!(target.ok(["images", "-aq"]), "");
}

#[test]
fn loads_a_pure_oci_layout_archive() {
    let w = Wharf::new();
    let id = w.import_busybox("busybox:local");
    let tar = w.save_to("bb.tar", &["busybox:local"]);
    // skopeo writes an OCI archive without docker's manifest.json.
    let oci = w.scratch().join("oci.tar");
    sh(std::process::Command::new("skopeo")
        .arg("copy")
        .arg(format!("oci-archive:{}", tar.display()))
        .arg(format!(
            "oci-archive:{}:docker.io/library/fromoci:2",
            oci.display()
        )));
    let listing = sh(std::process::Command::new("tar").arg("-tf").arg(&oci));
    assert!(
        !listing.contains("manifest.json") && listing.contains("index.json"),
        "{listing}"
    );

    let w2 = Wharf::new();
    let out = w2.load(&oci);
    assert_eq!(out, "Loaded image: fromoci:2\n");
    assert_eq!(w2.image_id("fromoci:2"), id);
}

#[test]
fn bare_repository_saves_every_tag_and_id_saves_none() {
    let w = Wharf::new();
    w.import_busybox("app:1");
    w.ok(["tag", "app:1", "app:2"]);
    w.import_busybox("other:1");
    let tar = w.save_to("app.tar", &["app"]);
    let w2 = Wharf::new();
    let out = w2.load(&tar);
    let mut lines: Vec<_> = out.lines().collect();
    lines.sort();
    assert_eq!(lines, ["Loaded image: app:1", "Loaded image: app:2"]);
}

#[test]
fn unknown_layer_media_type_is_refused() {
    use std::io::Read;
    use wharf_oci::Digest;
    let w = Wharf::new();
    let id = w.import_busybox("busybox:local");
    let tar = w.save_to("bb.tar", &["busybox:local"]);
    // Take config and layer out of wharf's archive and describe the layer
    // with a media type nobody knows.
    let layer_id = w.ok([
        "image",
        "inspect",
        "--format",
        "{{index .RootFS.Layers 0}}",
        "busybox:local",
    ]);
    let mut config = Vec::new();
    let mut layer = Vec::new();
    let mut archive = tar::Archive::new(fs::File::open(&tar).unwrap());
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let p = e.path().unwrap().display().to_string();
        if p == format!("blobs/sha256/{}", &id[7..]) {
            e.read_to_end(&mut config).unwrap();
        } else if p == format!("blobs/sha256/{}", &layer_id.trim()[7..]) {
            e.read_to_end(&mut layer).unwrap();
        }
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": id, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.example.unknown", "digest": layer_id.trim(), "size": layer.len()}],
    })
    .to_string();
    let md = Digest::of(manifest.as_bytes());
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md.to_string(), "size": manifest.len()}]})
    .to_string();
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |name: String, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, data).unwrap();
    };
    add("oci-layout".into(), br#"{"imageLayoutVersion":"1.0.0"}"#);
    add("index.json".into(), index.as_bytes());
    add(format!("blobs/sha256/{}", md.hex()), manifest.as_bytes());
    add(format!("blobs/sha256/{}", &id[7..]), &config);
    add(format!("blobs/sha256/{}", &layer_id.trim()[7..]), &layer);
    let bad = b.into_inner().unwrap();

    let target = Wharf::new();
    target.ok(["images"]);
    let before = target.store_listing();
    let out = target.with_stdin(["load"], &bad);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unsupported media type application/vnd.example.unknown"),
        "{err}"
    );
    assert_eq!(target.store_listing(), before);
}
