//! Living next to docker: its `filter FORWARD` chain drops whatever none
//! of its own rules accepts, which would drop our bridges' forwarded
//! traffic too (and, with br_netfilter, traffic within a bridge). Its
//! `DOCKER-USER` chain is where other software lets traffic through, so
//! once docker has run since the boot each wharf bridge gets `-i/-o
//! <bridge> -j ACCEPT` there (our own table still does the filtering).
//! "Has run", not "runs": a stopped dockerd leaves its chains and the
//! FORWARD chain's DROP policy in place until the reboot. The rules go in through
//! `iptables-restore`, so iptables-nft can still read docker's table; a
//! marker in /run remembers that a bridge has them, which makes the check
//! on every container start two `stat`s. Every deletion of a bridge takes
//! its rules out (`forget`); `system check` finds those a bridge lost some
//! other way (see `check_host`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const CHAIN: &str = "DOCKER-USER";

/// Whether docker's rules may be in the kernel: dockerd runs (its pid
/// file) or ran since the boot (its state directory in /run, which it
/// leaves behind when stopped, as it leaves its iptables rules).
fn docker_has_run() -> bool {
    docker_has_run_under(Path::new("/"))
}

fn docker_has_run_under(root: &Path) -> bool {
    ["run/docker.pid", "var/run/docker.pid", "run/docker"]
        .iter()
        .any(|p| root.join(p).exists())
}

fn marker_dir() -> PathBuf {
    Path::new(crate::ipam::RUN_DIR).join("docker-user")
}

/// The marker saying that `bridge` has its rules.
pub(crate) fn marker(bridge: &str) -> PathBuf {
    marker_dir().join(bridge)
}

/// One of our rules in docker's chain: `-i <bridge> -j ACCEPT` or
/// `-o <bridge> -j ACCEPT`, as `iptables -S` prints it (after `-A CHAIN`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UserRule {
    pub bridge: String,
    pub spec: String,
}

/// A rule of docker's chain, if it has the shape of ours.
fn parse_rule(line: &str) -> Option<UserRule> {
    let spec = line.strip_prefix("-A ")?.strip_prefix(CHAIN)?.trim();
    match spec.split_whitespace().collect::<Vec<_>>()[..] {
        ["-i" | "-o", bridge, "-j", "ACCEPT"] => Some(UserRule {
            bridge: bridge.to_string(),
            spec: spec.to_string(),
        }),
        _ => None,
    }
}

/// The rules of our shape in docker's chain; `None` without the chain
/// (docker never ran since the boot) or without iptables.
pub(crate) fn rules() -> Option<Vec<UserRule>> {
    let out = Command::new("iptables")
        .args(["-w", "-S", CHAIN])
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(parse_rule)
            .collect(),
    )
}

/// The bridges a marker says have their rules, by name.
pub(crate) fn marked() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(marker_dir())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

/// Run `lines` (`-I …`, `-D …`) through one `iptables-restore --noflush`
/// (atomic: all or nothing).
fn restore(lines: &[String]) -> bool {
    let mut input = String::from("*filter\n");
    for l in lines {
        input.push_str(l);
        input.push('\n');
    }
    input.push_str("COMMIT\n");
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

fn pair(bridge: &str, op: &str) -> Vec<String> {
    ["-i", "-o"]
        .iter()
        .map(|dir| format!("{op} {CHAIN} {dir} {bridge} -j ACCEPT"))
        .collect()
}

/// Let `bridge`'s traffic past docker's FORWARD chain, if docker has run
/// and it is not done yet (docker may have started after the bridge);
/// whether it has its rules now.
pub fn allow(bridge: &str) -> bool {
    let m = marker(bridge);
    if !docker_has_run() || m.exists() {
        return m.exists();
    }
    restore(&pair(bridge, "-I"))
        && std::fs::create_dir_all(marker_dir())
            .and_then(|_| std::fs::write(&m, b""))
            .is_ok()
}

/// Take `bridge`'s rules out of docker's chain (the bridge is going, or
/// is gone). A bridge without a marker has none of ours.
pub fn forget(bridge: &str) {
    let m = marker(bridge);
    if !m.exists() {
        return;
    }
    // The pair in one run; if that fails (one of the two went by another
    // hand, or docker's chain is gone), whatever of it is there.
    if !restore(&pair(bridge, "-D")) {
        let left: Vec<UserRule> = rules()
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.bridge == bridge)
            .collect();
        remove(&left);
    }
    let _ = std::fs::remove_file(m);
}

/// Delete `rules` from docker's chain (each that is still there) and
/// their bridges' markers; whether none is left.
pub(crate) fn remove(rules: &[UserRule]) -> bool {
    let delete = |rs: &[&UserRule]| {
        let lines: Vec<String> = rs
            .iter()
            .map(|r| format!("-D {CHAIN} {}", r.spec))
            .collect();
        restore(&lines)
    };
    let all: Vec<&UserRule> = rules.iter().collect();
    // One at a time if the batch failed (another process deleted one).
    if !all.is_empty() && !delete(&all) {
        for r in &all {
            delete(&[*r]);
        }
    }
    let left = self::rules().unwrap_or_default();
    let gone = rules.iter().all(|r| !left.contains(r));
    for r in rules {
        if !left.iter().any(|l| l.bridge == r.bridge) {
            let _ = std::fs::remove_file(marker(&r.bridge));
        }
    }
    gone
}

/// Forget that `bridge` has its rules (they are missing, or it is gone).
pub(crate) fn unmark(bridge: &str) -> bool {
    let m = marker(bridge);
    !m.exists() || std::fs::remove_file(m).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stopped_docker_still_counts_as_having_run() {
        let root = std::env::temp_dir().join(format!("wharf-docker-ran-{}", std::process::id()));
        std::fs::create_dir_all(root.join("run")).unwrap();
        assert!(!docker_has_run_under(&root), "no trace of docker");
        // What `systemctl stop docker` leaves: no pid file, its state
        // directory (and its DROP policy) still there.
        std::fs::create_dir(root.join("run/docker")).unwrap();
        assert!(docker_has_run_under(&root));
        std::fs::remove_dir(root.join("run/docker")).unwrap();
        std::fs::write(root.join("run/docker.pid"), b"1").unwrap();
        assert!(docker_has_run_under(&root));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn only_rules_of_our_shape_are_ours() {
        let r = parse_rule("-A DOCKER-USER -i wb12345-abcdef0 -j ACCEPT").unwrap();
        assert_eq!(r.bridge, "wb12345-abcdef0");
        assert_eq!(r.spec, "-i wb12345-abcdef0 -j ACCEPT");
        assert!(parse_rule("-A DOCKER-USER -o wharf0 -j ACCEPT").is_some());
        for other in [
            "-N DOCKER-USER",
            "-A DOCKER-USER -j RETURN",
            "-A DOCKER-USER -i eth0 -j DROP",
            "-A DOCKER-USER -i eth0 -s 10.0.0.0/8 -j ACCEPT",
            "-A FORWARD -i wharf0 -j ACCEPT",
        ] {
            assert_eq!(parse_rule(other), None, "{other}");
        }
        assert_eq!(
            pair("wharf0", "-D"),
            [
                "-D DOCKER-USER -i wharf0 -j ACCEPT",
                "-D DOCKER-USER -o wharf0 -j ACCEPT"
            ]
        );
    }
}
