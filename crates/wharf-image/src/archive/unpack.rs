//! A tar (plain, gzip or zstd) unpacked as a directory tree: a build
//! context sent as an archive (`build -`, a tarball URL, the API's build
//! endpoint) or a `cp`/`PUT archive` upload. Entries and hard-link
//! targets that would reach outside the directory are refused.

use std::io::{BufRead, Read};
use std::path::{Component, Path};

use wharf_oci::media_types::Compression;

use crate::{ImageError, ImageResult};

/// Whether a tar entry's path stays inside the directory it unpacks in.
fn inside(p: &Path) -> bool {
    p.components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// Whether `head` (the first bytes of a stream) starts a tar or a
/// compressed stream: what `docker build -` takes as a context rather
/// than a Dockerfile.
pub fn looks_like_archive(head: &[u8]) -> bool {
    !matches!(Compression::sniff(head), Compression::None)
        || head.starts_with(b"BZh")
        || head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0])
        || (head.len() >= 262 && &head[257..262] == b"ustar")
}

pub fn unpack_tree(tar: impl BufRead, dir: &Path) -> ImageResult<()> {
    let mut tar = tar;
    let bad = |e: std::io::Error| ImageError::invalid(format!("reading the archive: {e}"));
    let kind = Compression::sniff(tar.fill_buf().map_err(bad)?);
    let tar: Box<dyn Read> = match kind {
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(tar)),
        Compression::Zstd => Box::new(zstd::Decoder::with_buffer(tar).map_err(bad)?),
        _ => Box::new(tar),
    };
    let mut a = tar::Archive::new(tar);
    a.set_preserve_permissions(true);
    a.set_preserve_mtime(true);
    a.set_overwrite(true);
    for entry in a.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let path = entry.path().map_err(bad)?.into_owned();
        if !inside(&path) {
            return Err(ImageError::invalid(format!(
                "archive entry {} is outside the destination",
                path.display()
            )));
        }
        if entry.header().entry_type().is_hard_link() {
            let target = entry.link_name().ok().flatten().map(|t| t.into_owned());
            if !target.as_deref().is_some_and(inside) {
                return Err(ImageError::invalid(format!(
                    "archive entry {} links outside the destination",
                    path.display()
                )));
            }
        }
        let ok = entry.unpack_in(dir).map_err(|e| {
            ImageError::invalid(format!(
                "unpacking {}: {}",
                path.display(),
                relative_to(dir, &wharf_oci::OsError(&e).to_string())
            ))
        })?;
        if !ok {
            return Err(ImageError::invalid(format!(
                "archive entry {} is outside the destination",
                path.display()
            )));
        }
    }
    Ok(())
}

/// `message` (the tar crate's, which names the host paths it unpacked
/// at) with `dir` left out: an API client sending the archive learns
/// nothing of the server's store, and sees paths in its own archive.
fn relative_to(dir: &Path, message: &str) -> String {
    let dir = dir.display().to_string();
    message
        .replace(&format!("{dir}/"), "")
        .replace(&dir, "the destination")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_outside_are_refused() {
        assert!(inside(Path::new("a/b")) && inside(Path::new("./a")));
        assert!(!inside(Path::new("../x")) && !inside(Path::new("/etc/passwd")));
        assert!(!inside(Path::new("a/../../x")));
        assert!(looks_like_archive(&[0x1f, 0x8b, 8]));
        assert!(!looks_like_archive(b"FROM busybox\n"));
        assert_eq!(
            relative_to(
                Path::new("/s/tmp/a-1"),
                "failed to unpack `/s/tmp/a-1/hl`; outside of destination path: /s/tmp/a-1"
            ),
            "failed to unpack `hl`; outside of destination path: the destination"
        );
    }
}
