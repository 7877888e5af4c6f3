//! Fuzz target: applying a layer tar (whiteouts, opaque directories, hard
//! and symbolic links, long GNU and PAX names, PAX xattrs, devices) onto a
//! small existing tree in a temp dir, inside the sandbox (see src/lib.rs).
//! Header checksums are repaired first so mutations reach the applier.
#![no_main]

use std::os::unix::fs::symlink;

use libfuzzer_sys::fuzz_target;
use wharf_fuzz::{fix_tar_checksums, sandbox, TempDir};

fuzz_target!(|data: &[u8]| {
    sandbox();
    let mut tar = data.to_vec();
    fix_tar_checksums(&mut tar);
    let dir = TempDir::new();
    let root = dir.path().join("rootfs");
    // A lower layer for whiteouts, links and replacements to meet.
    std::fs::create_dir_all(root.join("etc/conf.d")).expect("populating the lower tree");
    std::fs::write(root.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n")
        .expect("populating the lower tree");
    std::fs::write(root.join("etc/conf.d/a"), "a").expect("populating the lower tree");
    symlink("/etc", root.join("link")).expect("populating the lower tree");
    symlink("../..", root.join("up")).expect("populating the lower tree");
    let _ = wharf_image::layer::apply_layer(&tar[..], &root);
});
