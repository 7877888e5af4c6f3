//! apply_layer on well-formed layers.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use tar::EntryType;
use wharf_oci::ErrorKind;

use super::{build, require_root, xattrs, Counting, E, T0};
use crate::layer::{apply_layer, ApplyStats, LayerError};

#[test]
fn plain_tree_keeps_metadata() {
    require_root();
    let tar = build(vec![
        E::dir("./").mode(0o751).mtime(T0 - 100),
        E::dir("./etc/").mtime(T0 + 1),
        E::file("./etc/passwd", b"root:x:0:0")
            .owner(1000, 1001)
            .mtime(T0 + 2),
        E::symlink("etc/link", "passwd").owner(7, 8).mtime(T0 + 3),
        E::hardlink("etc/hard", "etc/passwd"),
        E::dir("run/").mode(0o1777),
        E::fifo("run/fifo").mode(0o620).owner(3, 4),
        E::dir("dev/"),
        E::dev(EntryType::Char, "dev/null", 1, 3),
        E::dev(EntryType::Block, "dev/loop0", 7, 0)
            .mode(0o660)
            .owner(0, 6),
        E::dir("bin/"),
        E::file("bin/su", b"su!").mode(0o4755).owner(0, 0),
        E::file("bin/sg", b"sg!!").mode(0o2755).owner(0, 42),
        E::file("usr//bin/./deep", b"implicit parents"),
    ]);
    let dest = tempfile::tempdir().unwrap();
    let d = dest.path();
    let stats = apply_layer(&tar[..], d).unwrap();
    assert_eq!(
        stats,
        ApplyStats {
            size: (10 + 3 + 4 + 16) as u64,
            entries: 14
        }
    );

    let root = fs::metadata(d).unwrap();
    assert_eq!(
        (root.mode() & 0o7777, root.mtime()),
        (0o751, T0 as i64 - 100)
    );
    let etc = fs::metadata(d.join("etc")).unwrap();
    // Children were written after the directory; its own mtime still wins.
    assert_eq!(etc.mtime(), T0 as i64 + 1);
    let passwd = fs::metadata(d.join("etc/passwd")).unwrap();
    assert_eq!(fs::read(d.join("etc/passwd")).unwrap(), b"root:x:0:0");
    assert_eq!(
        (
            passwd.mode() & 0o7777,
            passwd.uid(),
            passwd.gid(),
            passwd.mtime()
        ),
        (0o644, 1000, 1001, T0 as i64 + 2)
    );
    let hard = fs::metadata(d.join("etc/hard")).unwrap();
    assert_eq!((hard.ino(), hard.nlink()), (passwd.ino(), 2));
    let link = fs::symlink_metadata(d.join("etc/link")).unwrap();
    assert!(link.file_type().is_symlink());
    assert_eq!(
        fs::read_link(d.join("etc/link")).unwrap().to_str(),
        Some("passwd")
    );
    assert_eq!(
        (link.uid(), link.gid(), link.mtime()),
        (7, 8, T0 as i64 + 3)
    );
    assert_eq!(fs::metadata(d.join("run")).unwrap().mode() & 0o7777, 0o1777);
    let fifo = fs::symlink_metadata(d.join("run/fifo")).unwrap();
    assert!(fifo.file_type().is_fifo());
    assert_eq!(
        (fifo.mode() & 0o7777, fifo.uid(), fifo.gid()),
        (0o620, 3, 4)
    );
    let null = fs::symlink_metadata(d.join("dev/null")).unwrap();
    assert!(null.file_type().is_char_device());
    assert_eq!(
        (null.rdev(), null.mode() & 0o7777),
        (libc::makedev(1, 3), 0o666)
    );
    let lp = fs::symlink_metadata(d.join("dev/loop0")).unwrap();
    assert!(lp.file_type().is_block_device());
    assert_eq!(
        (lp.rdev(), lp.mode() & 0o7777, lp.gid()),
        (libc::makedev(7, 0), 0o660, 6)
    );
    // chmod after chown, or chown would have cleared these.
    assert_eq!(
        fs::metadata(d.join("bin/su")).unwrap().mode() & 0o7777,
        0o4755
    );
    let sg = fs::metadata(d.join("bin/sg")).unwrap();
    assert_eq!((sg.mode() & 0o7777, sg.gid()), (0o2755, 42));
    let deep = fs::metadata(d.join("usr/bin")).unwrap();
    assert_eq!((deep.mode() & 0o7777, deep.uid()), (0o755, 0));
    assert_eq!(
        fs::read(d.join("usr/bin/deep")).unwrap(),
        b"implicit parents"
    );
}

#[test]
fn whiteouts_become_overlay_format() {
    require_root();
    let tar = build(vec![
        E::dir("a/"),
        E::file("a/kept", b"x"),
        E::file("a/f", b"to be whited out"),
        E::file("a/.wh.f", b"").mtime(T0 + 5),
        E::file("a/.wh.gone", b""),
        E::dir("b/").pax("SCHILY.xattr.trusted.overlay.opaque", b"n"),
        E::file("b/.wh..wh..opq", b""),
        E::file("b/new", b"n"),
        E::file("c/.wh..wh..opq", b""),
        E::file("d/.wh.x", b""),
        E::dir(".wh..wh.plnk/"),
        E::file(".wh..wh.plnk/123.456", b"aufs hardlink store"),
        E::file(".wh..wh.aufs", b""),
    ]);
    let dest = tempfile::tempdir().unwrap();
    let d = dest.path();
    apply_layer(&tar[..], d).unwrap();
    for wh in ["a/f", "a/gone", "d/x"] {
        let md = fs::symlink_metadata(d.join(wh)).unwrap();
        assert!(md.file_type().is_char_device(), "{wh}");
        assert_eq!(md.rdev(), 0, "{wh}");
    }
    assert_eq!(
        fs::symlink_metadata(d.join("a/f")).unwrap().mtime(),
        T0 as i64 + 5
    );
    assert!(!d.join("a/.wh.f").exists());
    assert_eq!(fs::read(d.join("a/kept")).unwrap(), b"x");
    // The tar's own trusted.overlay.* xattr is ignored; the marker sets it.
    for opq in ["b", "c"] {
        let x = xattrs(&d.join(opq));
        assert_eq!(
            x.get("trusted.overlay.opaque").map(|v| &v[..]),
            Some(&b"y"[..]),
            "{opq}"
        );
    }
    assert!(!d.join("b/.wh..wh..opq").exists());
    assert!(d.join("b/new").exists());
    assert!(!d.join(".wh..wh.plnk").exists());
    assert!(!d.join(".wh..wh.aufs").exists());
}

#[test]
fn later_entries_replace_earlier_ones() {
    require_root();
    let tar = build(vec![
        E::dir("d/").mode(0o700),
        E::file("d/keep", b"k"),
        // Directory over directory: metadata only, contents stay.
        E::dir("d/").mode(0o755).mtime(T0 + 9),
        // File over directory, directory over file, symlink over file.
        E::dir("x/"),
        E::file("x/child", b"c"),
        E::file("x", b"now a file"),
        E::file("y", b"a file"),
        E::dir("y/"),
        E::file("y/in", b"i"),
        E::file("z", b"z"),
        E::symlink("z", "y"),
        E::file("z/via-link", b"v"),
        E::file("f", b"old"),
        E::file("f", b"new"),
    ]);
    let dest = tempfile::tempdir().unwrap();
    let d = dest.path();
    apply_layer(&tar[..], d).unwrap();
    let dm = fs::metadata(d.join("d")).unwrap();
    assert_eq!((dm.mode() & 0o7777, dm.mtime()), (0o755, T0 as i64 + 9));
    assert_eq!(fs::read(d.join("d/keep")).unwrap(), b"k");
    assert_eq!(fs::read(d.join("x")).unwrap(), b"now a file");
    assert_eq!(fs::read(d.join("y/in")).unwrap(), b"i");
    assert_eq!(fs::read(d.join("y/via-link")).unwrap(), b"v");
    assert_eq!(fs::read(d.join("f")).unwrap(), b"new");
}

#[test]
fn xattrs_and_pax_times() {
    require_root();
    // cap_net_bind_service+ep, the bytes `setcap` writes.
    let cap: &[u8] = &[1, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let tar = build(vec![
        E::file("bin/ping", b"ping")
            .mode(0o755)
            .owner(5, 5)
            .pax("SCHILY.xattr.security.capability", cap)
            .pax("SCHILY.xattr.user.note", b"hello\0bin")
            .pax("mtime", b"1600000123.25"),
        E::dir("data/").pax("SCHILY.xattr.user.dir", b"d"),
        E::symlink("sl", "bin/ping").pax("SCHILY.xattr.trusted.sl", b"t"),
    ]);
    let dest = tempfile::tempdir().unwrap();
    let d = dest.path();
    apply_layer(&tar[..], d).unwrap();
    let x = xattrs(&d.join("bin/ping"));
    assert_eq!(x.get("security.capability").map(|v| &v[..]), Some(cap));
    assert_eq!(x.get("user.note").map(|v| &v[..]), Some(&b"hello\0bin"[..]));
    let md = fs::metadata(d.join("bin/ping")).unwrap();
    assert_eq!((md.mtime(), md.mtime_nsec()), (1_600_000_123, 250_000_000));
    assert_eq!(
        xattrs(&d.join("data")).get("user.dir").map(|v| &v[..]),
        Some(&b"d"[..])
    );
    assert_eq!(
        xattrs(&d.join("sl")).get("trusted.sl").map(|v| &v[..]),
        Some(&b"t"[..])
    );
}

#[test]
fn long_names_gnu_and_pax() {
    require_root();
    let long_dir = "d".repeat(120);
    let long_file = format!("{long_dir}/{}", "f".repeat(150));
    let long_target = format!("{}/target", "t".repeat(200));
    // GNU long name / long link entries, as the tar crate's Builder writes them.
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(EntryType::Regular);
    h.set_mode(0o644);
    h.set_size(3);
    b.append_data(&mut h, format!("gnu/{long_file}"), &b"gnu"[..])
        .unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(EntryType::Symlink);
    h.set_mode(0o777);
    h.set_size(0);
    b.append_link(&mut h, "gnu/link", &long_target).unwrap();
    let gnu = b.into_inner().unwrap();
    let pax = build(vec![
        E::file(&long_file, b"pax"),
        E::symlink("paxlink", &long_target),
        E::hardlink("paxhard", &long_file),
    ]);
    let dest = tempfile::tempdir().unwrap();
    let d = dest.path();
    apply_layer(&gnu[..], d).unwrap();
    apply_layer(&pax[..], d).unwrap();
    assert_eq!(fs::read(d.join("gnu").join(&long_file)).unwrap(), b"gnu");
    assert_eq!(
        fs::read_link(d.join("gnu/link")).unwrap().to_str(),
        Some(&long_target[..])
    );
    assert_eq!(fs::read(d.join(&long_file)).unwrap(), b"pax");
    assert_eq!(
        fs::read_link(d.join("paxlink")).unwrap().to_str(),
        Some(&long_target[..])
    );
    assert_eq!(fs::read(d.join("paxhard")).unwrap(), b"pax");
}

#[test]
fn drains_stream_past_end_of_archive() {
    require_root();
    let mut tar = build(vec![E::file("a", &[7u8; 1000])]);
    // Record padding (tar blocks to 10 KiB) plus trailing bytes a producer
    // may leave; all of it is part of the blob being hashed.
    tar.extend_from_slice(&[0u8; 10240]);
    tar.extend_from_slice(b"trailing garbage after the archive");
    let dest = tempfile::tempdir().unwrap();
    let mut r = Counting {
        inner: &tar[..],
        n: 0,
    };
    let stats = apply_layer(&mut r, dest.path()).unwrap();
    assert_eq!(r.n, tar.len() as u64);
    assert_eq!(
        stats,
        ApplyStats {
            size: 1000,
            entries: 1
        }
    );
}

#[test]
fn truncated_or_corrupt_tar_is_invalid_argument() {
    require_root();
    let tar = build(vec![E::file("a", &[1u8; 5000]), E::file("b", b"b")]);
    for cut in [300, 512 + 1000, 512 + 5000 + 10, 512 + 5120 + 100] {
        let dest = tempfile::tempdir().unwrap();
        let err = apply_layer(&tar[..cut], dest.path()).unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::InvalidArgument,
            "cut at {cut}: {err}"
        );
        assert!(
            matches!(err, LayerError::Corrupt(_)),
            "cut at {cut}: {err:?}"
        );
        assert!(err.to_string().starts_with("invalid layer tar: "), "{err}");
        if cut == 512 + 1000 {
            assert!(
                err.to_string().contains("unexpected end of archive"),
                "{err}"
            );
        }
    }
    let mut bad = tar.clone();
    bad[10] ^= 0x55; // header checksum no longer matches
    let dest = tempfile::tempdir().unwrap();
    let err = apply_layer(&bad[..], dest.path()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    assert!(err.to_string().contains("checksum"), "{err}");
}

#[test]
fn dest_must_be_a_directory() {
    let f = tempfile::NamedTempFile::new().unwrap();
    let err = apply_layer(&build(vec![])[..], f.path()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal);
    assert!(
        err.to_string().contains(&*f.path().to_string_lossy()),
        "{err}"
    );
}
