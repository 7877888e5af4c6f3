//! This machine's platform in Go's (and so OCI's) vocabulary.

/// `GOARCH` for the architecture wharf was built for.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "arm",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}

pub const OS: &str = "linux";

/// `linux/amd64`.
pub fn default_platform() -> String {
    format!("{OS}/{}", go_arch())
}
