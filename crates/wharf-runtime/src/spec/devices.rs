//! Devices: the device cgroup allow-list and the device nodes created in
//! the container's /dev.
//!
//! The rules are Docker's default spec (deny everything, allow the basic
//! character devices, deny fuse) followed by the ones runc always adds
//! (mknod of anything, full, ptys, ptmx, tun), duplicates dropped.
//! libcontainer adds runc's set again by itself; listing it keeps the spec
//! complete for any runtime.

use oci_spec::runtime::{
    LinuxDevice, LinuxDeviceBuilder, LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType,
};

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
