//! write_layer, and apply → write → apply round trips.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use tar::EntryType;

use super::{build, listing, require_root, tar_names, xattrs, E, T0};
use crate::layer::{apply_layer, write_layer, DiffOptions};

const LAYER: DiffOptions = DiffOptions { whiteouts: true };
const EXPORT: DiffOptions = DiffOptions { whiteouts: false };

fn everything_tar(big: &[u8], long_dir: &str, long_file: &str, long_target: &str) -> Vec<u8> {
    let cap: &[u8] = &[1, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    build(vec![
        E::dir("./").mode(0o755),
        E::dir("bin/").mtime(T0 + 1),
        E::file("bin/su", b"su").mode(0o4755),
        E::file("bin/ping", b"ping")
            .mode(0o755)
            .pax("SCHILY.xattr.security.capability", cap),
        E::file("bin/big", big)
            .owner(70000, 3_000_000)
            .mtime(T0 + 2),
        E::file("bin/empty", b"").mode(0o600),
        E::hardlink("bin/su2", "bin/su"),
        E::hardlink("bin/su3", "bin/su"),
        E::symlink("bin/sh", "/bin/busybox").owner(1, 2),
        E::symlink("lib", "usr/lib"),
        E::dir("usr/").owner(10, 20).mode(0o750),
        E::dir("usr/lib/").pax("SCHILY.xattr.user.dir", b"v"),
        E::file("lib/libc.so", b"elf")
            .pax("SCHILY.xattr.user.a", b"1")
            .pax("SCHILY.xattr.user.b", b"\x00\xff"),
        E::dir("dev/"),
        E::dev(EntryType::Char, "dev/null", 1, 3),
        E::dev(EntryType::Block, "dev/sda", 8, 0)
            .mode(0o660)
            .owner(0, 6),
        E::fifo("dev/initctl").mode(0o600),
        E::file("gone/.wh.old", b"").mtime(T0 + 3),
        E::dir("opq/").mtime(T0 + 4),
        E::file("opq/.wh..wh..opq", b""),
        E::file("opq/kept", b"kept"),
        E::file(".wh.toplevel", b""),
        E::file(long_file, b"long"),
        E::symlink(&format!("{long_dir}/link"), long_target),
        E::hardlink(&format!("{long_dir}/hard"), long_file),
        E::file("weird name-with.dots", b"w"),
        E::file("implicit/parent/file", b"i"),
    ])
}

#[test]
fn round_trip_is_lossless_and_deterministic() {
    require_root();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let long_dir = format!("deep/{}", "d".repeat(120));
    let long_file = format!("{long_dir}/{}", "f".repeat(140));
    let long_target = format!("../{}", "t".repeat(180));
    let tar1 = everything_tar(&big, &long_dir, &long_file, &long_target);
    // Non-UTF-8 names survive too.
    let mut tar1b = build(vec![E::file("x", b"bytes").raw_name(b"raw\xffname")]);
    tar1b.truncate(tar1b.len() - 1024);
    let tar1 = [&tar1b[..], &tar1[..]].concat();

    let a = tempfile::tempdir().unwrap();
    apply_layer(&tar1[..], a.path()).unwrap();
    let tar2 = write_layer(a.path(), Vec::new(), &LAYER).unwrap();
    let tar2_again = write_layer(a.path(), Vec::new(), &LAYER).unwrap();
    assert!(tar2 == tar2_again, "write_layer is not deterministic");

    let b = tempfile::tempdir().unwrap();
    let stats = apply_layer(&tar2[..], b.path()).unwrap();
    let (la, lb) = (listing(a.path()), listing(b.path()));
    assert_eq!(la.len(), lb.len());
    for (path, line) in &la {
        assert_eq!(Some(line), lb.get(path), "{path}");
    }
    // Hard links counted once.
    assert_eq!(stats.size, big.len() as u64 + 2 + 4 + 3 + 4 + 4 + 1 + 1 + 5);
    // Same tree, same bytes, even though every inode number differs.
    let tar3 = write_layer(b.path(), Vec::new(), &LAYER).unwrap();
    assert!(tar2 == tar3, "diff of an identical tree differs");

    // Spot checks on what the listing compared.
    assert!(la["gone/old"].starts_with("c 0 0:0"), "{}", la["gone/old"]);
    assert!(
        la["opq"].contains("trusted.overlay.opaque"),
        "{}",
        la["opq"]
    );
    assert!(la["bin/ping"].contains("security.capability"));
    assert!(la["bin/su"].contains("nlink=3"));
    assert!(la["bin/big"].contains("70000:3000000"));
}

#[test]
fn layer_tar_shape() {
    require_root();
    let tar1 = build(vec![
        E::dir("b/"),
        E::file("b/z", b"z"),
        E::file("b/a", b"a"),
        E::dir("a/"),
        E::file("a/.wh.x", b"").owner(5, 5).mode(0o644),
        E::dir("o/").pax("SCHILY.xattr.user.k", b"v"),
        E::file("o/.wh..wh..opq", b""),
        E::file("o/f", b"f"),
        E::file("a/b", b"sorts after the whiteout's tar name"),
        E::file("a-b", b""),
    ]);
    let dir = tempfile::tempdir().unwrap();
    apply_layer(&tar1[..], dir.path()).unwrap();
    let sock = dir.path().join("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let tar2 = write_layer(dir.path(), Vec::new(), &LAYER).unwrap();
    let names: Vec<String> = tar_names(&tar2)
        .into_iter()
        .map(|n| String::from_utf8(n).unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "a/",
            "a/.wh.x",
            "a/b",
            "a-b",
            "b/",
            "b/a",
            "b/z",
            "o/",
            "o/.wh..wh..opq",
            "o/f"
        ]
    );
    let mut ar = tar::Archive::new(&tar2[..]);
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let name = String::from_utf8(e.path_bytes().into_owned()).unwrap();
        let h = e.header();
        assert_eq!(h.username_bytes(), Some(&b""[..]), "{name}");
        if name.contains(".wh.") {
            assert_eq!(h.entry_type(), EntryType::Regular, "{name}");
            // docker: whiteouts 0600, opaque markers with the dir's mode.
            let mode = if name.ends_with(".wh..wh..opq") {
                0o755
            } else {
                0o600
            };
            assert_eq!(
                (
                    h.mode().unwrap(),
                    h.uid().unwrap(),
                    h.gid().unwrap(),
                    h.size().unwrap()
                ),
                (mode, 0, 0, 0),
                "{name}"
            );
        }
        let keys: Vec<String> = e
            .pax_extensions()
            .unwrap()
            .map(|p| p.map(|x| x.unwrap().key().unwrap().to_string()).collect())
            .unwrap_or_default();
        assert!(
            !keys.iter().any(|k| k.contains("trusted.overlay")),
            "{name}: {keys:?}"
        );
        if name == "o/" {
            assert_eq!(keys, ["SCHILY.xattr.user.k"]);
        }
    }
    // The archive ends with two zero blocks.
    assert!(tar2.len() % 512 == 0 && tar2[tar2.len() - 1024..].iter().all(|&b| b == 0));
}

#[test]
fn export_keeps_whiteouts_as_devices() {
    require_root();
    let tar1 = build(vec![
        E::file(".wh.x", b""),
        E::dir("o/"),
        E::file("o/.wh..wh..opq", b""),
    ]);
    let dir = tempfile::tempdir().unwrap();
    apply_layer(&tar1[..], dir.path()).unwrap();
    let tar2 = write_layer(dir.path(), Vec::new(), &EXPORT).unwrap();
    let names: Vec<_> = tar_names(&tar2);
    assert_eq!(names, [b"o/".to_vec(), b"x".to_vec()]);
    let out = tempfile::tempdir().unwrap();
    apply_layer(&tar2[..], out.path()).unwrap();
    assert!(fs::symlink_metadata(out.path().join("x"))
        .unwrap()
        .file_type()
        .is_char_device());
    assert!(xattrs(&out.path().join("o")).is_empty());
}

#[test]
fn redirect_dirs_are_refused() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let moved = dir.path().join("moved");
    fs::create_dir(&moved).unwrap();
    let p = std::ffi::CString::new(moved.to_str().unwrap()).unwrap();
    let n = c"trusted.overlay.redirect";
    let v = b"/orig";
    let r = unsafe { libc::lsetxattr(p.as_ptr(), n.as_ptr(), v.as_ptr() as *const _, v.len(), 0) };
    assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
    let err = write_layer(dir.path(), Vec::new(), &LAYER).unwrap_err();
    assert!(err.to_string().contains("redirect_dir=off"), "{err}");
    // A plain export does not care.
    write_layer(dir.path(), Vec::new(), &EXPORT).unwrap();
    assert_eq!(fs::metadata(&moved).unwrap().nlink(), 2);
}
