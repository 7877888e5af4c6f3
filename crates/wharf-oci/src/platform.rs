//! This machine's platform in Go's (and so OCI's) vocabulary.

/// Architectures by Rust's name, Go's (`GOARCH`, OCI's) and the kernel's
/// (`uname -m`, which qemu-user and its binfmt_misc entries are named by).
const ARCHES: &[(&str, &str, &str)] = &[
    ("x86_64", "amd64", "x86_64"),
    ("aarch64", "arm64", "aarch64"),
    ("x86", "386", "i386"),
    ("arm", "arm", "arm"),
    ("powerpc64", "ppc64le", "ppc64le"),
    ("s390x", "s390x", "s390x"),
    ("riscv64", "riscv64", "riscv64"),
];

/// `GOARCH` for the architecture wharf was built for.
pub fn go_arch() -> &'static str {
    let rust = std::env::consts::ARCH;
    ARCHES
        .iter()
        .find(|(r, _, _)| *r == rust)
        .map_or(rust, |(_, go, _)| go)
}

/// The kernel's name of a `GOARCH` (`arm64` -> `aarch64`): what a qemu-user
/// binfmt_misc entry for it is called.
pub fn kernel_arch(go: &str) -> &str {
    ARCHES
        .iter()
        .find(|(_, g, _)| *g == go)
        .map_or(go, |(_, _, k)| k)
}

pub const OS: &str = "linux";

/// `linux/amd64`.
pub fn default_platform() -> String {
    format!("{OS}/{}", go_arch())
}
