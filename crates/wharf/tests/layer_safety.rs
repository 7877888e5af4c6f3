//! A hostile layer can never write outside its root.

mod common;

use std::fs;

use common::Wharf;

/// A tar with one symlink and one file written through it.
fn tar_with(entries: &[(&str, Option<&str>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, link) in entries {
        let mut h = tar::Header::new_gnu();
        match link {
            Some(target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                h.set_mode(0o777);
                // Write raw names: the tar crate refuses some of these itself.
                let raw = h.as_old_mut();
                raw.name[..name.len()].copy_from_slice(name.as_bytes());
                raw.linkname[..target.len()].copy_from_slice(target.as_bytes());
                h.set_cksum();
                b.append(&h, &[][..]).unwrap();
            }
            None => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(5);
                h.set_mode(0o644);
                let raw = h.as_old_mut();
                raw.name[..name.len()].copy_from_slice(name.as_bytes());
                h.set_cksum();
                b.append(&h, &b"pwned"[..]).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

#[test]
fn escaping_layers_are_rejected_and_the_host_is_untouched() {
    let w = Wharf::new();
    let outside = w.scratch().join("outside");
    fs::create_dir_all(&outside).unwrap();
    let victim = outside.display().to_string();
    let hostile: Vec<(&str, Vec<u8>)> = vec![
        (
            "dotdot",
            tar_with(&[(
                format!("../../../../../../../../../..{victim}/x").as_str(),
                None,
            )]),
        ),
        (
            "absolute",
            tar_with(&[(format!("{victim}/x").as_str(), None)]),
        ),
        (
            "absolute symlink",
            tar_with(&[("evil", Some(victim.as_str())), ("evil/x", None)]),
        ),
        (
            "relative symlink",
            tar_with(&[
                ("evil", Some("../../../../../../../../../..")),
                (format!("evil{victim}/x").as_str(), None),
            ]),
        ),
    ];
    w.ok(["images"]);
    let before = w.store_listing();
    for (what, tar) in hostile {
        let out = w.with_stdin(["import", "-", "evil:1"], &tar);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !outside.join("x").exists(),
            "{what}: wrote outside the layer"
        );
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0, "{what}");
        assert_eq!(w.store_listing(), before, "{what}: store unchanged");
    }
}
