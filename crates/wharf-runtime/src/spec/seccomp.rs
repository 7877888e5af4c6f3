//! Seccomp: Docker's default profile and `--security-opt seccomp=...`.
//!
//! Profiles are in Docker's JSON format (the runtime spec's `LinuxSeccomp`
//! plus `archMap`, and per-rule `includes`/`excludes` conditions on the
//! container's capabilities, the architecture and the kernel version).
//! `seccomp_default.json` is Docker's default allow-list in that format.
//!
//! One departure, on purpose: the filter covers only the native
//! architecture. Docker adds the sub-architectures (x86 and x32 on amd64),
//! which triples the filter libseccomp compiles at every container start
//! (~25 ms); a profile that lists `architectures` explicitly keeps them.

use std::path::Path;
use std::sync::OnceLock;

use oci_spec::runtime::{
    Arch, Capability, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompBuilder,
    LinuxSeccompFilterFlag, LinuxSyscall, LinuxSyscallBuilder,
};
use serde::Deserialize;

use super::caps::cap_name;
use super::host::HostInfo;
use super::SpecError;

const DEFAULT_PROFILE: &str = include_str!("seccomp_default.json");

/// A profile in Docker's format.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    #[serde(default)]
    default_action: Option<String>,
    default_errno_ret: Option<u32>,
    architectures: Option<Vec<Arch>>,
    arch_map: Option<Vec<ArchMapEntry>>,
    flags: Option<Vec<LinuxSeccompFilterFlag>>,
    listener_path: Option<std::path::PathBuf>,
    listener_metadata: Option<String>,
    syscalls: Option<Vec<Rule>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArchMapEntry {
    architecture: Arch,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    names: Option<Vec<String>>,
    /// The old single-name form.
    name: Option<String>,
    action: LinuxSeccompAction,
    errno_ret: Option<u32>,
    args: Option<Vec<LinuxSeccompArg>>,
    includes: Option<Filter>,
    excludes: Option<Filter>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Filter {
    caps: Option<Vec<String>>,
    arches: Option<Vec<String>>,
    min_kernel: Option<String>,
}

/// What the conditions of a profile are evaluated against.
struct Target<'a> {
    /// libseccomp's name of the native architecture (`amd64`, `x86` ...).
    arch: Option<&'static str>,
    kernel: (u32, u32),
    /// The container's bounding set.
    caps: &'a [Capability],
}

/// GOARCH → (libseccomp's name used in `arches` conditions, the OCI arch).
fn native_arch(goarch: &str) -> (Option<&'static str>, Option<Arch>) {
    let (name, arch) = match goarch {
        "amd64" => ("amd64", Arch::ScmpArchX86_64),
        "386" => ("x86", Arch::ScmpArchX86),
        "arm64" => ("arm64", Arch::ScmpArchAarch64),
        "arm" => ("arm", Arch::ScmpArchArm),
        "ppc64le" => ("ppc64le", Arch::ScmpArchPpc64le),
        "ppc64" => ("ppc64", Arch::ScmpArchPpc64),
        "s390x" => ("s390x", Arch::ScmpArchS390x),
        "riscv64" => ("riscv64", Arch::ScmpArchRiscv64),
        "loong64" => ("loongarch64", Arch::ScmpArchLoongarch64),
        "mips64" => ("mips64", Arch::ScmpArchMips64),
        "mips64le" => ("mipsel64", Arch::ScmpArchMipsel64),
        "mipsle" => ("mipsel", Arch::ScmpArchMipsel),
        _ => return (None, None),
    };
    (Some(name), Some(arch))
}

fn parse_profile(json: &str) -> Result<Profile, SpecError> {
    serde_json::from_str(json).map_err(|e| SpecError::SeccompProfile(e.to_string()))
}

/// `"4.8"` → `(4, 8)`, with moby's rules.
fn parse_min_kernel(v: &str) -> Result<(u32, u32), SpecError> {
    let bad = || {
        SpecError::SeccompProfile(format!(
            "invalid kernel version: {v:?}, expected \"<kernel>.<major>\""
        ))
    };
    let (k, m) = v.split_once('.').ok_or_else(bad)?;
    let k: u8 = k.parse().map_err(|_| bad())?;
    let m: u8 = m.parse().map_err(|_| bad())?;
    if (k, m) == (0, 0) {
        return Err(bad());
    }
    Ok((k.into(), m.into()))
}

fn has_cap(target: &Target, name: &str) -> bool {
    target.caps.iter().any(|c| cap_name(*c) == name)
}

/// moby's `setupSeccomp` filter: does `rule` apply to this container?
fn applies(rule: &Rule, target: &Target) -> Result<bool, SpecError> {
    let on_arch = |arches: &[String]| target.arch.is_some_and(|a| arches.iter().any(|x| x == a));
    if let Some(ex) = &rule.excludes {
        if ex
            .arches
            .as_deref()
            .is_some_and(|a| !a.is_empty() && on_arch(a))
        {
            return Ok(false);
        }
        if ex.caps.iter().flatten().any(|c| has_cap(target, c)) {
            return Ok(false);
        }
        if let Some(v) = ex.min_kernel.as_deref().filter(|v| !v.is_empty()) {
            if target.kernel >= parse_min_kernel(v)? {
                return Ok(false);
            }
        }
    }
    if let Some(inc) = &rule.includes {
        if inc
            .arches
            .as_deref()
            .is_some_and(|a| !a.is_empty() && !on_arch(a))
        {
            return Ok(false);
        }
        if inc.caps.iter().flatten().any(|c| !has_cap(target, c)) {
            return Ok(false);
        }
        if let Some(v) = inc.min_kernel.as_deref().filter(|v| !v.is_empty()) {
            if target.kernel < parse_min_kernel(v)? {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// The runtime-spec filter for `profile`; `None` when the profile disables
/// seccomp (no default action and no rules).
fn setup(
    profile: &Profile,
    host: &HostInfo,
    caps: &[Capability],
    builtin: bool,
) -> Result<Option<LinuxSeccomp>, SpecError> {
    let rules = profile.syscalls.as_deref().unwrap_or_default();
    let default_action = profile.default_action.as_deref().unwrap_or("");
    if default_action.is_empty() && rules.is_empty() {
        return Ok(None);
    }
    let default_action: LinuxSeccompAction = default_action.parse().map_err(|_| {
        SpecError::SeccompProfile(format!("unknown defaultAction {default_action:?}"))
    })?;
    let explicit = profile.architectures.clone().unwrap_or_default();
    let arch_map = profile.arch_map.as_deref().unwrap_or_default();
    if !explicit.is_empty() && !arch_map.is_empty() {
        return Err(SpecError::SeccompProfile(
            "both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'".into(),
        ));
    }
    let (arch_name, native) = native_arch(&host.arch);
    let architectures = if !explicit.is_empty() {
        explicit
    } else {
        // Native only: no sub-architectures (see the module doc).
        native
            .filter(|n| builtin || arch_map.iter().any(|e| e.architecture == *n))
            .into_iter()
            .collect()
    };

    let target = Target {
        arch: arch_name,
        kernel: host.kernel,
        caps,
    };
    let mut syscalls: Vec<LinuxSyscall> = Vec::new();
    for rule in rules {
        let names = match (&rule.name, &rule.names) {
            (Some(_), Some(names)) if !names.is_empty() => {
                return Err(SpecError::SeccompProfile(
                    "both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'".into(),
                ))
            }
            (Some(name), _) if !name.is_empty() => vec![name.clone()],
            (_, names) => names.clone().unwrap_or_default(),
        };
        if !applies(rule, &target)? {
            continue;
        }
        let mut syscall = LinuxSyscallBuilder::default()
            .names(names)
            .action(rule.action);
        if let Some(errno) = rule.errno_ret {
            syscall = syscall.errno_ret(errno);
        }
        if let Some(args) = rule.args.clone().filter(|a| !a.is_empty()) {
            syscall = syscall.args(args);
        }
        syscalls.push(syscall.build()?);
    }

    let mut seccomp = LinuxSeccompBuilder::default()
        .default_action(default_action)
        .syscalls(syscalls);
    if let Some(errno) = profile.default_errno_ret {
        seccomp = seccomp.default_errno_ret(errno);
    }
    if !architectures.is_empty() {
        seccomp = seccomp.architectures(architectures);
    }
    if let Some(flags) = profile.flags.clone().filter(|f| !f.is_empty()) {
        seccomp = seccomp.flags(flags);
    }
    if let Some(path) = profile.listener_path.clone() {
        seccomp = seccomp.listener_path(path);
    }
    if let Some(meta) = profile.listener_metadata.clone() {
        seccomp = seccomp.listener_metadata(meta);
    }
    Ok(Some(seccomp.build()?))
}

fn builtin_profile() -> &'static Profile {
    static PROFILE: OnceLock<Profile> = OnceLock::new();
    PROFILE.get_or_init(|| parse_profile(DEFAULT_PROFILE).expect("the built-in profile parses"))
}

/// Docker's default profile for a container with bounding set `caps`.
pub fn default_profile(host: &HostInfo, caps: &[Capability]) -> LinuxSeccomp {
    setup(builtin_profile(), host, caps, true)
        .expect("the built-in profile is valid")
        .expect("the built-in profile has rules")
}

/// A profile in Docker's JSON format; `None` if it disables seccomp.
pub fn load_profile(
    json: &str,
    host: &HostInfo,
    caps: &[Capability],
) -> Result<Option<LinuxSeccomp>, SpecError> {
    setup(&parse_profile(json)?, host, caps, false)
}

/// The value of `seccomp=`: inline JSON (what the docker CLI sends the
/// daemon) or a file to read.
pub(crate) fn read_profile(value: &str) -> Result<String, SpecError> {
    if value.trim_start().starts_with('{') {
        return Ok(value.to_string());
    }
    std::fs::read_to_string(value).map_err(|source| SpecError::SeccompProfileOpen {
        path: Path::new(value).to_path_buf(),
        source,
    })
}

/// The container's filter, as moby's `WithSeccomp` decides it: none for
/// `unconfined`; privileged containers get one only if a profile is named;
/// otherwise the named profile or the default one.
pub(crate) fn container_seccomp(
    option: Option<&str>,
    privileged: bool,
    host: &HostInfo,
    caps: &[Capability],
) -> Result<Option<LinuxSeccomp>, SpecError> {
    match option {
        Some("unconfined") => Ok(None),
        None if privileged => Ok(None),
        Some(custom) if !host.seccomp && custom != "builtin" => Err(SpecError::invalid(
            "seccomp is not enabled in your kernel, cannot run a custom seccomp profile",
        )),
        _ if !host.seccomp => {
            tracing::warn!(
                "seccomp is not enabled in your kernel, running container without default profile"
            );
            Ok(None)
        }
        None | Some("builtin") => Ok(Some(default_profile(host, caps))),
        Some(custom) => load_profile(&read_profile(custom)?, host, caps),
    }
}

#[cfg(test)]
mod tests {
    use super::super::caps::DEFAULT_CAPS;
    use super::super::tests::test_host;
    use super::*;

    fn names_allowed(s: &LinuxSeccomp) -> Vec<String> {
        s.syscalls()
            .iter()
            .flatten()
            .filter(|r| r.action() == LinuxSeccompAction::ScmpActAllow && r.args().is_none())
            .flat_map(|r| r.names().clone())
            .collect()
    }

    #[test]
    fn default_profile_shape() {
        let host = test_host();
        let s = default_profile(&host, &DEFAULT_CAPS);
        assert_eq!(s.default_action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(s.default_errno_ret(), Some(1));
        assert_eq!(
            s.architectures().as_deref(),
            Some(&[Arch::ScmpArchX86_64][..])
        );
        let allowed = names_allowed(&s);
        for name in ["read", "write", "execve", "arch_prctl", "ptrace"] {
            assert!(allowed.iter().any(|n| n == name), "{name} allowed");
        }
        // Not without the capability.
        for name in ["mount", "unshare", "setns", "reboot", "init_module", "bpf"] {
            assert!(!allowed.iter().any(|n| n == name), "{name} denied");
        }
        // clone only without namespace flags; clone3 fails with ENOSYS so
        // libc falls back to clone.
        let rules = s.syscalls().as_ref().unwrap();
        let clone = rules
            .iter()
            .find(|r| r.names() == &["clone"])
            .expect("conditional clone rule");
        let arg = clone.args().as_ref().unwrap()[0];
        assert_eq!((arg.index(), arg.value()), (0, 2114060288));
        let clone3 = rules.iter().find(|r| r.names() == &["clone3"]).unwrap();
        assert_eq!(clone3.action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(clone3.errno_ret(), Some(38));
        // Other architectures' rules are left out.
        assert!(!allowed.iter().any(|n| n == "s390_runtime_instr"));
        assert!(!allowed.iter().any(|n| n == "riscv_flush_icache"));
    }

    #[test]
    fn capabilities_unlock_syscalls() {
        let host = test_host();
        let mut caps = DEFAULT_CAPS.to_vec();
        caps.push(Capability::SysAdmin);
        caps.push(Capability::SysPtrace);
        let s = default_profile(&host, &caps);
        let allowed = names_allowed(&s);
        for name in ["mount", "unshare", "setns", "clone", "clone3", "kcmp"] {
            assert!(allowed.iter().any(|n| n == name), "{name} allowed");
        }
        let rules = s.syscalls().as_ref().unwrap();
        assert!(!rules
            .iter()
            .any(|r| r.names() == &["clone3"] && r.action() == LinuxSeccompAction::ScmpActErrno));
    }

    #[test]
    fn kernel_conditions() {
        let mut host = test_host();
        host.kernel = (4, 4);
        let s = default_profile(&host, &DEFAULT_CAPS);
        assert!(!names_allowed(&s).iter().any(|n| n == "ptrace"));
        host.kernel = (4, 8);
        let s = default_profile(&host, &DEFAULT_CAPS);
        assert!(names_allowed(&s).iter().any(|n| n == "ptrace"));
    }

    #[test]
    fn custom_profiles() {
        let host = test_host();
        let json = r#"{
            "defaultAction": "SCMP_ACT_ALLOW",
            "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]},
                        {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": null}],
            "syscalls": [
                {"name": "mkdir", "action": "SCMP_ACT_ERRNO", "errnoRet": 13, "comment": "old form"},
                {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "includes": {"arches": ["s390x"]}}
            ]
        }"#;
        let s = load_profile(json, &host, &DEFAULT_CAPS).unwrap().unwrap();
        assert_eq!(s.default_action(), LinuxSeccompAction::ScmpActAllow);
        assert_eq!(
            s.architectures().as_deref(),
            Some(&[Arch::ScmpArchX86_64][..])
        );
        let rules = s.syscalls().as_ref().unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].names(), &["mkdir"]);
        assert_eq!(rules[0].errno_ret(), Some(13));

        let explicit = r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"], "syscalls": null}"#;
        let s = load_profile(explicit, &host, &DEFAULT_CAPS)
            .unwrap()
            .unwrap();
        assert_eq!(s.architectures().as_ref().unwrap().len(), 2);

        assert!(load_profile("{}", &host, &DEFAULT_CAPS).unwrap().is_none());
        let e = load_profile("{nope", &host, &DEFAULT_CAPS).unwrap_err();
        assert!(e
            .to_string()
            .starts_with("Decoding seccomp profile failed: "));
        let e = read_profile("/nonexistent/profile.json").unwrap_err();
        assert!(e
            .to_string()
            .starts_with("opening seccomp profile (/nonexistent/profile.json) failed: "));
    }
}
