//! Fuzz target: registry manifests and indexes (Docker schema 2, OCI, by
//! content type or by their own `mediaType`), platform selection, and the
//! image config and OCI index/manifest JSON as pull and load read them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wharf_oci::media_types as mt;
use wharf_registry::manifest::{select_platform, Manifest};
use wharf_registry::Platform;

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    let ct = match which % 6 {
        0 => mt::DOCKER_MANIFEST,
        1 => mt::DOCKER_MANIFEST_LIST,
        2 => mt::OCI_MANIFEST,
        3 => mt::OCI_INDEX,
        4 => "application/json; charset=utf-8",
        _ => "",
    };
    if let Ok((Manifest::Index { manifests }, _)) = Manifest::parse(ct, body) {
        for want in [
            "linux/amd64",
            "linux/arm64/v8",
            "linux/arm",
            "windows/amd64",
        ] {
            if let Ok(p) = Platform::parse(want) {
                let _ = select_platform(&manifests, &p);
            }
        }
    }
    if let Ok(cfg) = wharf_oci::ImageConfig::from_slice(body) {
        let _ = cfg.diff_ids();
        let _ = cfg.created_time();
        let _ = wharf_oci::ImageConfig::from_slice(&cfg.to_bytes())
            .expect("a config wharf wrote must read back");
    }
    let _ = serde_json::from_slice::<wharf_oci::oci::ImageIndex>(body);
    let _ = serde_json::from_slice::<wharf_oci::oci::ImageManifest>(body);
});
