//! Devices: the device cgroup allow-list and the device nodes created in
//! the container's /dev.
//!
//! The rules are Docker's default spec (deny everything, allow the basic
//! character devices, deny fuse) followed by the ones runc always adds
//! (mknod of anything, full, ptys, ptmx, tun), duplicates dropped.
//! libcontainer adds runc's set again by itself; listing it keeps the spec
//! complete for any runtime. Then `--device` (host nodes, or every node
//! under a host directory, as moby's `DevicesFromPath` finds them) and
//! `--device-cgroup-rule`.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use oci_spec::runtime::{
    LinuxDevice, LinuxDeviceBuilder, LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType,
};
use wharf_model::DeviceMapping;

use super::SpecError;

fn rule(
    allow: bool,
    typ: LinuxDeviceType,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> Result<LinuxDeviceCgroup, SpecError> {
    let mut b = LinuxDeviceCgroupBuilder::default()
        .allow(allow)
        .typ(typ)
        .access(access);
    if let Some(major) = major {
        b = b.major(major);
    }
    if let Some(minor) = minor {
        b = b.minor(minor);
    }
    Ok(b.build()?)
}

/// allow, type, major, minor (`None` = any), access.
type RuleSpec = (
    bool,
    LinuxDeviceType,
    Option<i64>,
    Option<i64>,
    &'static str,
);

/// The device cgroup rules; a privileged container may use every device.
pub fn device_rules(privileged: bool) -> Result<Vec<LinuxDeviceCgroup>, SpecError> {
    use LinuxDeviceType::{A, B, C};
    if privileged {
        return Ok(vec![rule(true, A, None, None, "rwm")?]);
    }
    let spec: [RuleSpec; 14] = [
        (false, A, None, None, "rwm"),
        (true, C, Some(1), Some(5), "rwm"),     // zero
        (true, C, Some(1), Some(3), "rwm"),     // null
        (true, C, Some(1), Some(9), "rwm"),     // urandom
        (true, C, Some(1), Some(8), "rwm"),     // random
        (true, C, Some(5), Some(0), "rwm"),     // tty
        (true, C, Some(5), Some(1), "rwm"),     // console
        (false, C, Some(10), Some(229), "rwm"), // fuse
        (true, C, None, None, "m"),             // mknod of any char device
        (true, B, None, None, "m"),             // mknod of any block device
        (true, C, Some(1), Some(7), "rwm"),     // full
        (true, C, Some(136), None, "rwm"),      // /dev/pts/*
        (true, C, Some(5), Some(2), "rwm"),     // ptmx
        (true, C, Some(10), Some(200), "rwm"),  // tun
    ];
    spec.into_iter()
        .map(|(allow, typ, major, minor, access)| rule(allow, typ, major, minor, access))
        .collect()
}

/// `--device` mappings as device nodes and the cgroup rules allowing
/// them: a node's type, numbers, mode and owner are the host's.
pub(crate) fn user_devices(
    mappings: &[DeviceMapping],
) -> Result<(Vec<LinuxDevice>, Vec<LinuxDeviceCgroup>), SpecError> {
    let mut nodes = Vec::new();
    let mut rules = Vec::new();
    for m in mappings {
        let host = Path::new(&m.path_on_host);
        // A link is followed to its node (docker's EvalSymlinks).
        let resolved = std::fs::canonicalize(host).unwrap_or_else(|_| host.to_path_buf());
        let found = match device_node(&resolved, &m.path_in_container, &m.cgroup_permissions) {
            Ok(d) => vec![d],
            Err(e) if e.kind() == std::io::ErrorKind::InvalidInput && resolved.is_dir() => {
                let mut all = Vec::new();
                walk_devices(&resolved, &resolved, m, &mut all);
                if all.is_empty() {
                    return Err(gathering(m, "not a device node"));
                }
                all
            }
            Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
                return Err(gathering(m, "not a device node"))
            }
            Err(e) => {
                return Err(gathering(m, &crate::error::go_io_error(&e)));
            }
        };
        for (node, rule) in found {
            nodes.push(node);
            rules.push(rule);
        }
    }
    Ok((nodes, rules))
}

fn gathering(m: &DeviceMapping, why: &str) -> SpecError {
    SpecError::invalid(format!(
        "error gathering device information while adding custom device {:?}: {why}",
        m.path_on_host
    ))
}

/// Every device node under `dir`, mapped under the container path.
fn walk_devices(
    root: &Path,
    dir: &Path,
    m: &DeviceMapping,
    out: &mut Vec<(LinuxDevice, LinuxDeviceCgroup)>,
) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() && !p.is_symlink() {
            walk_devices(root, &p, m, out);
            continue;
        }
        let Ok(rel) = p.strip_prefix(root) else {
            continue;
        };
        let inside = Path::new(&m.path_in_container).join(rel);
        if let Ok(d) = device_node(&p, &inside.to_string_lossy(), &m.cgroup_permissions) {
            out.push(d);
        }
    }
}

/// The node at `host` (not followed) as a device at `inside`, with its
/// cgroup rule; `InvalidInput` when it is no device node.
fn device_node(
    host: &Path,
    inside: &str,
    permissions: &str,
) -> std::io::Result<(LinuxDevice, LinuxDeviceCgroup)> {
    let meta = std::fs::symlink_metadata(host)?;
    let ft = meta.file_type();
    let typ = if ft.is_char_device() {
        LinuxDeviceType::C
    } else if ft.is_block_device() {
        LinuxDeviceType::B
    } else {
        return Err(std::io::ErrorKind::InvalidInput.into());
    };
    let rdev = meta.rdev();
    let (major, minor) = (
        nix::sys::stat::major(rdev) as i64,
        nix::sys::stat::minor(rdev) as i64,
    );
    let bad = |e: oci_spec::OciSpecError| std::io::Error::other(e.to_string());
    let node = LinuxDeviceBuilder::default()
        .path(inside)
        .typ(typ)
        .major(major)
        .minor(minor)
        .file_mode(meta.mode() & 0o777)
        .uid(meta.uid())
        .gid(meta.gid())
        .build()
        .map_err(bad)?;
    let rule = rule(true, typ, Some(major), Some(minor), permissions).map_err(|e| match e {
        SpecError::Oci(e) => bad(e),
        other => std::io::Error::other(other.to_string()),
    })?;
    Ok((node, rule))
}

/// `--device-cgroup-rule 'c 42:* rmw'` (checked by the CLI as docker's is).
pub(crate) fn cgroup_rule(text: &str) -> Result<LinuxDeviceCgroup, SpecError> {
    let bad = || SpecError::invalid(format!("invalid device cgroup format '{text}'"));
    let mut parts = text.split(' ');
    let (Some(t), Some(numbers), Some(access), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let typ = match t {
        "a" => LinuxDeviceType::A,
        "b" => LinuxDeviceType::B,
        "c" => LinuxDeviceType::C,
        _ => return Err(bad()),
    };
    let (major, minor) = numbers.split_once(':').ok_or_else(bad)?;
    let number = |n: &str| -> Result<Option<i64>, SpecError> {
        match n {
            "*" => Ok(None),
            n => n.parse().map(Some).map_err(|_| bad()),
        }
    };
    if access.is_empty() || access.len() > 3 || !access.chars().all(|c| "rwm".contains(c)) {
        return Err(bad());
    }
    rule(true, typ, number(major)?, number(minor)?, access)
}

/// The device nodes every container gets (runc's default set).
pub fn default_devices() -> Result<Vec<LinuxDevice>, SpecError> {
    [
        ("/dev/null", 1, 3),
        ("/dev/zero", 1, 5),
        ("/dev/full", 1, 7),
        ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9),
        ("/dev/tty", 5, 0),
    ]
    .into_iter()
    .map(|(path, major, minor)| {
        Ok(LinuxDeviceBuilder::default()
            .path(path)
            .typ(LinuxDeviceType::C)
            .major(major)
            .minor(minor)
            .file_mode(0o666u32)
            .uid(0u32)
            .gid(0u32)
            .build()?)
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rules_deny_first_then_allow_the_basics() {
        let rules: Vec<String> = device_rules(false)
            .unwrap()
            .iter()
            .map(|r| format!("{} {r}", if r.allow() { "allow" } else { "deny" }))
            .collect();
        assert_eq!(
            rules,
            [
                "deny a *:* rwm",
                "allow c 1:5 rwm",
                "allow c 1:3 rwm",
                "allow c 1:9 rwm",
                "allow c 1:8 rwm",
                "allow c 5:0 rwm",
                "allow c 5:1 rwm",
                "deny c 10:229 rwm",
                "allow c *:* m",
                "allow b *:* m",
                "allow c 1:7 rwm",
                "allow c 136:* rwm",
                "allow c 5:2 rwm",
                "allow c 10:200 rwm",
            ]
        );
    }

    #[test]
    fn privileged_allows_everything() {
        let rules = device_rules(true).unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].to_string(), "a *:* rwm");
        assert!(rules[0].allow());
    }

    #[test]
    fn device_nodes() {
        let devs = default_devices().unwrap();
        let paths: Vec<_> = devs
            .iter()
            .map(|d| d.path().display().to_string())
            .collect();
        assert_eq!(
            paths,
            [
                "/dev/null",
                "/dev/zero",
                "/dev/full",
                "/dev/random",
                "/dev/urandom",
                "/dev/tty"
            ]
        );
        assert!(devs.iter().all(|d| d.file_mode() == Some(0o666)));
    }
}
