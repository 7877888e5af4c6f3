//! Living next to docker: its `filter FORWARD` chain drops whatever none
//! of its own rules accepts, which would drop our bridges' forwarded
//! traffic too (and, with br_netfilter, traffic within a bridge). Its
//! `DOCKER-USER` chain is where other software lets traffic through, so
//! while docker runs each wharf bridge gets `-i/-o <bridge> -j ACCEPT`
//! there (our own table still does the filtering). The rules go in through
//! `iptables-restore`, so iptables-nft can still read docker's table; a
//! marker in /run remembers that a bridge has them, which makes the check
//! on every container start two `stat`s.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn docker_running() -> bool {
    ["/run/docker.pid", "/var/run/docker.pid"]
        .iter()
        .any(|p| Path::new(p).exists())
}

fn marker(bridge: &str) -> PathBuf {
    Path::new(crate::ipam::RUN_DIR)
        .join("docker-user")
        .join(bridge)
}

fn restore(bridge: &str, op: &str) -> bool {
    let input = format!(
        "*filter\n{op} DOCKER-USER -i {bridge} -j ACCEPT\n{op} DOCKER-USER -o {bridge} -j ACCEPT\nCOMMIT\n"
    );
    let child = Command::new("iptables-restore")
        .arg("--noflush")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut c) = child else { return false };
    if let Some(mut stdin) = c.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
    c.wait().is_ok_and(|s| s.success())
}

/// Let `bridge`'s traffic past docker's FORWARD chain, if docker runs and
/// it is not done yet (docker may have started after the bridge).
pub fn allow(bridge: &str) {
    let m = marker(bridge);
    if !docker_running() || m.exists() {
        return;
    }
    if restore(bridge, "-I") {
        let _ = std::fs::create_dir_all(m.parent().expect("has a parent"));
        let _ = std::fs::write(&m, b"");
    }
}

/// Take `bridge`'s rules out of docker's chain (the bridge is going).
pub fn forget(bridge: &str) {
    let m = marker(bridge);
    if m.exists() {
        restore(bridge, "-D");
        let _ = std::fs::remove_file(m);
    }
}
