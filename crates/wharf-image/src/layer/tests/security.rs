//! Hostile layers: nothing may be written outside the destination.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use wharf_oci::ErrorKind;

use super::{build, require_root, E};
use crate::layer::{apply_layer, LayerError};

/// A scratch area with the layer root at `root/dest` and a sibling
/// `root/outside` that no layer may touch.
struct Sandbox {
    _tmp: tempfile::TempDir,
    dest: std::path::PathBuf,
    outside: std::path::PathBuf,
}

fn sandbox() -> Sandbox {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("dest");
    let outside = tmp.path().join("outside");
    fs::create_dir(&dest).unwrap();
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("victim"), b"original").unwrap();
    Sandbox {
        _tmp: tmp,
        dest,
        outside,
    }
}

fn listing_of(dir: &Path) -> Vec<(String, u64, Vec<u8>)> {
    let mut v: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let md = fs::symlink_metadata(&p).unwrap();
            let data = if md.is_file() {
                fs::read(&p).unwrap()
            } else {
                Vec::new()
            };
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                md.ino(),
                data,
            )
        })
        .collect();
    v.sort();
    v
}

/// Applies `tar`, expects an InvalidArgument error mentioning `needle`, and
/// checks that `outside` was not modified.
fn expect_rejected(tar: &[u8], needle: &str) -> LayerError {
    let sb = sandbox();
    let before = listing_of(&sb.outside);
    let err = apply_layer(tar, &sb.dest).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    assert!(
        err.to_string().contains(needle),
        "{err:?} should mention {needle:?}"
    );
    assert_eq!(
        listing_of(&sb.outside),
        before,
        "outside of dest was modified"
    );
    assert!(!sb.dest.parent().unwrap().join("escaped").exists());
    err
}

#[test]
fn dotdot_names_rejected() {
    require_root();
    for name in [
        &b"../escaped"[..],
        b"a/../../escaped",
        b"./../outside/victim",
        b"..",
    ] {
        let tar = build(vec![E::file("x", b"pwned").raw_name(name)]);
        let err = expect_rejected(&tar, "\"..\"");
        assert!(
            err.to_string().contains(&*String::from_utf8_lossy(name)),
            "{err}"
        );
    }
}

#[test]
fn absolute_names_rejected() {
    require_root();
    let canary = "/tmp/wharf-layer-test-absolute-canary";
    let tar = build(vec![E::file("x", b"pwned").raw_name(canary.as_bytes())]);
    expect_rejected(&tar, "absolute path");
    assert!(!Path::new(canary).exists());
}

#[test]
fn write_through_absolute_symlink_rejected() {
    require_root();
    let passwd_before = fs::read("/etc/passwd").unwrap();
    let tar = build(vec![
        E::symlink("evil", "/etc"),
        E::file("evil/passwd", b"root::0:0::/:/bin/sh\n"),
    ]);
    expect_rejected(
        &tar,
        "through symlink \"evil\" -> \"/etc\" outside the layer root",
    );
    let canary = build(vec![
        E::symlink("evil", "/etc"),
        E::file("evil/wharf-layer-test-canary", b"x"),
    ]);
    expect_rejected(&canary, "outside the layer root");
    assert!(!Path::new("/etc/wharf-layer-test-canary").exists());
    assert_eq!(fs::read("/etc/passwd").unwrap(), passwd_before);
}

#[test]
fn write_through_escaping_relative_symlink_rejected() {
    require_root();
    for (target, path) in [
        ("../../..", "evil/x"),
        ("../outside", "evil/victim"),
        ("sub/../..", "evil/escaped"),
    ] {
        let tar = build(vec![
            E::dir("sub/"),
            E::symlink("evil", target),
            E::file(path, b"pwned"),
        ]);
        expect_rejected(&tar, "outside the layer root");
    }
    // A chain where only the second hop escapes, and a directory symlink
    // used as the parent of a directory entry.
    let tar = build(vec![
        E::dir("a/"),
        E::symlink("a/up", ".."),
        E::symlink("hop", "a/up/a/up/.."),
        E::dir("hop/etc/"),
    ]);
    expect_rejected(&tar, "outside the layer root");
}

#[test]
fn symlink_loops_rejected() {
    require_root();
    let tar = build(vec![
        E::symlink("l1", "l2"),
        E::symlink("l2", "l1"),
        E::file("l1/x", b"x"),
    ]);
    expect_rejected(&tar, "too many levels of symbolic links");
}

#[test]
fn in_root_relative_symlinks_followed() {
    require_root();
    let tar = build(vec![
        E::dir("usr/"),
        E::dir("usr/lib/"),
        E::symlink("lib", "usr/lib"),
        E::file("lib/x.so", b"elf"),
        E::symlink("usr/lib/self", "../lib/./"),
        E::file("usr/lib/self/y.so", b"elf2"),
        E::symlink("dot", "."),
        E::file("dot/top", b"t"),
    ]);
    let dest = tempfile::tempdir().unwrap();
    let d = dest.path();
    apply_layer(&tar[..], d).unwrap();
    assert_eq!(fs::read(d.join("usr/lib/x.so")).unwrap(), b"elf");
    assert_eq!(fs::read(d.join("usr/lib/y.so")).unwrap(), b"elf2");
    assert_eq!(fs::read(d.join("top")).unwrap(), b"t");
    assert!(fs::symlink_metadata(d.join("lib"))
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn non_directory_replaces_symlink_instead_of_following_it() {
    require_root();
    let sb = sandbox();
    let victim = sb.outside.join("victim");
    let tar = build(vec![
        E::symlink("f", &victim.to_string_lossy()),
        E::file("f", b"pwned"),
        E::symlink("d", "../outside"),
        E::dir("d/"),
        E::file("d/victim", b"pwned"),
    ]);
    apply_layer(&tar[..], &sb.dest).unwrap();
    assert_eq!(fs::read(&victim).unwrap(), b"original");
    assert_eq!(fs::read(sb.dest.join("f")).unwrap(), b"pwned");
    assert!(fs::symlink_metadata(sb.dest.join("d")).unwrap().is_dir());
    assert_eq!(fs::read(sb.dest.join("d/victim")).unwrap(), b"pwned");
}

#[test]
fn hardlinks_outside_rejected() {
    require_root();
    let cases: Vec<(Vec<E>, &str)> = vec![
        (vec![E::hardlink("h", "/etc/passwd")], "absolute path"),
        (vec![E::hardlink("h", "../outside/victim")], "\"..\""),
        (
            vec![E::symlink("evil", "/etc"), E::hardlink("h", "evil/passwd")],
            "outside the layer root",
        ),
        (
            vec![
                E::symlink("evil", "../outside"),
                E::hardlink("h", "evil/victim"),
            ],
            "outside the layer root",
        ),
        (vec![E::hardlink("h", "missing")], "does not exist"),
        (vec![E::hardlink("h", "nodir/missing")], "does not exist"),
        (vec![E::dir("d/"), E::hardlink("h", "d")], "is a directory"),
    ];
    for (entries, needle) in cases {
        let tar = build(entries);
        expect_rejected(&tar, needle);
    }
}

#[test]
fn hardlink_to_symlink_links_the_symlink() {
    require_root();
    let tar = build(vec![
        E::dir("sub/"),
        E::symlink("s", "sub"),
        E::hardlink("h", "s"),
        E::file("h/through-hardlinked-symlink", b"ok"),
        E::symlink("abs", "/etc"),
        E::hardlink("abs2", "abs"),
        E::file("abs2/x", b"must fail"),
    ]);
    let sb = sandbox();
    let err = apply_layer(&tar[..], &sb.dest).unwrap_err();
    assert!(err.to_string().contains("entry \"abs2/x\""), "{err}");
    let d = &sb.dest;
    let (s, h) = (
        fs::symlink_metadata(d.join("s")).unwrap(),
        fs::symlink_metadata(d.join("h")).unwrap(),
    );
    assert!(h.file_type().is_symlink());
    assert_eq!(s.ino(), h.ino());
    assert_eq!(
        fs::read(d.join("sub/through-hardlinked-symlink")).unwrap(),
        b"ok"
    );
}

#[test]
fn bad_whiteouts_rejected() {
    require_root();
    expect_rejected(&build(vec![E::file(".wh.", b"")]), "invalid whiteout name");
    expect_rejected(
        &build(vec![E::file("a/.wh...", b"")]),
        "invalid whiteout name",
    );
    let tar = build(vec![
        E::symlink("evil", "/etc"),
        E::file("evil/.wh.passwd", b""),
    ]);
    expect_rejected(&tar, "outside the layer root");
    let tar = build(vec![
        E::symlink("evil", "/etc"),
        E::file("evil/.wh..wh..opq", b""),
    ]);
    expect_rejected(&tar, "outside the layer root");
    assert!(Path::new("/etc/passwd").is_file());
}
