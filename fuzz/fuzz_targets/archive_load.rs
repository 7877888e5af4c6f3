//! Fuzz target: `load` of an image archive (docker-archive and OCI layout,
//! plain, gzip or zstd; symlinked blobs; nested layer tars) into a fresh
//! store in a temp dir, inside the sandbox (see src/lib.rs). Header
//! checksums of the archive and of the layer tars in it are repaired first.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wharf_fuzz::{fix_tar_checksums, sandbox, TempDir};

fuzz_target!(|data: &[u8]| {
    sandbox();
    let mut tar = data.to_vec();
    fix_tar_checksums(&mut tar);
    let dir = TempDir::new();
    let store = wharf_store::Store::open(dir.path()).expect("opening a fresh store");
    let _ = wharf_image::archive::load(&store, &tar[..]);
});
