//! Fuzz target: image references (`name[:tag][@digest]`, registries with
//! ports, IPv6 hosts, docker.io normalization), digests and `--platform`.
//! A reference that parses must print as one that parses back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wharf_oci::{Digest, Reference};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = Reference::parse(s) {
        let printed = r.to_string();
        let again = Reference::parse(&printed)
            .unwrap_or_else(|e| panic!("{s:?} printed as {printed:?}, which fails: {e}"));
        assert_eq!(again, r, "{s:?} printed as {printed:?}");
        let _ = (
            r.domain(),
            r.path(),
            r.repository(),
            r.familiar_repository(),
        );
        let familiar = r.familiar();
        let back = Reference::parse(&familiar)
            .unwrap_or_else(|e| panic!("{s:?}: familiar form {familiar:?} fails: {e}"));
        assert_eq!(back, r, "{s:?}: familiar form {familiar:?}");
        let _ = r.clone().with_default_tag();
        let _ = r.with_tag("latest");
    }
    let _ = Reference::parse_tagged(s);
    let _ = s.parse::<Digest>();
    let _ = wharf_registry::Platform::parse(s);
});
