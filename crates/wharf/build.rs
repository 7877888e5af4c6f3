//! Link `wharf` as a position-dependent executable: a PIE of this size
//! spends ~2 ms of every start (CLI and monitor alike) applying ~26,000
//! relative relocations, and keeps ~450 KiB of relocated data private in
//! every resident monitor. (Go links docker's binaries this way too.)
fn main() {
    println!("cargo:rustc-link-arg-bins=-no-pie");
}
