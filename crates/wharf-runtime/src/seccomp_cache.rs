//! Compiled seccomp filters, kept in the store (`<root>/seccomp/<key>.bpf`).
//!
//! libcontainer's init compiled the container's seccomp profile with
//! libseccomp at every start and every `exec` (~0.7 ms of the init's CPU
//! for docker's default profile, on the start's critical path). The
//! profile is the same for nearly every container, so the program is
//! compiled once per profile and kept; the monitor (or `exec`'s CLI) reads
//! it and hands it to the patched libcontainer (`vendor/libcontainer`),
//! whose init loads it as libseccomp would have (same program, same
//! flags) when the profile it was given is equal to the one the program
//! was compiled from. Any failure here falls back to libcontainer's own
//! compilation: the filter is always the profile's.
//!
//! The key is the digest of the profile's JSON, the kernel release, the
//! architecture and libseccomp's version (which decide the program
//! libseccomp makes). Files are written under a temporary name and
//! renamed, so a reader never sees a partial program.

use std::io::{Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use libcontainer::oci_spec::runtime::LinuxSeccomp;

/// The cache directory of the store at `store_root`.
fn cache_dir(store_root: &Path) -> PathBuf {
    store_root.join("seccomp")
}

/// What decides the compiled program.
fn key(profile: &LinuxSeccomp) -> Option<String> {
    let mut bytes = serde_json::to_vec(profile).ok()?;
    let uts = nix::sys::utsname::uname().ok()?;
    bytes.push(b'\n');
    bytes.extend_from_slice(uts.release().as_encoded_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(std::env::consts::ARCH.as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(libcontainer::seccomp::compiler_version().as_bytes());
    Some(wharf_oci::Digest::of(&bytes).hex().to_string())
}

/// Make `profile`'s compiled program (from the cache, or compiled and
/// cached now) the one libcontainer loads for it in the processes this one
/// forks next. Best effort: on any failure libcontainer compiles it.
pub fn use_for(store_root: &Path, profile: &LinuxSeccomp) {
    match load_or_compile(store_root, profile) {
        Ok(Some(bpf)) => libcontainer::seccomp::use_compiled(profile.clone(), bpf),
        Ok(None) => {}
        Err(e) => tracing::debug!(error = %e, "seccomp cache"),
    }
}

fn load_or_compile(
    store_root: &Path,
    profile: &LinuxSeccomp,
) -> Result<Option<Vec<u8>>, Box<dyn std::error::Error>> {
    let Some(key) = key(profile) else {
        return Ok(None);
    };
    let dir = cache_dir(store_root);
    let path = dir.join(format!("{key}.bpf"));
    match std::fs::read(&path) {
        Ok(bpf) => return Ok(Some(bpf)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    std::fs::create_dir_all(&dir)?;
    let temp = dir.join(format!(".{key}.{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)?;
    let written = (|| -> Result<Option<Vec<u8>>, Box<dyn std::error::Error>> {
        if !libcontainer::seccomp::compile(profile, &file)? {
            return Ok(None);
        }
        file.seek(SeekFrom::Start(0))?;
        let mut bpf = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut bpf)?;
        std::fs::rename(&temp, &path)?;
        Ok(Some(bpf))
    })();
    let _ = std::fs::remove_file(&temp);
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_profile_is_compiled_once_and_read_back() {
        let root = tempfile::tempdir().unwrap();
        let host = crate::spec::HostInfo::detect_for(false);
        let profile = crate::spec::default_seccomp_profile(&host, &[]);
        let first = load_or_compile(root.path(), &profile).unwrap().unwrap();
        assert!(!first.is_empty());
        assert_eq!(first.len() % 8, 0, "whole BPF instructions");
        let files: Vec<_> = std::fs::read_dir(cache_dir(root.path()))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        assert!(files[0].ends_with(".bpf"));
        let again = load_or_compile(root.path(), &profile).unwrap().unwrap();
        assert_eq!(first, again);
    }
}
