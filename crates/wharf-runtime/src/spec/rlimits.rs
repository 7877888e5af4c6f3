//! `--ulimit` parsing (go-units' rules and messages) and the process's
//! rlimits. Docker passes only what `--ulimit` gives; like containerd's
//! default spec we add `RLIMIT_NOFILE 1024:1024` when `nofile` is not given.
//! Every limit is capped at this process's hard limit: without
//! CAP_SYS_RESOURCE a hard limit can only be lowered, and the runtime would
//! fail to start the container.

use std::fmt;

use oci_spec::runtime::{PosixRlimit, PosixRlimitBuilder, PosixRlimitType};

use super::host::HostInfo;
use super::SpecError;

/// The default open-files limit (containerd's default spec).
pub const DEFAULT_NOFILE: u64 = 1024;

/// The resources `--ulimit` accepts (go-units' list; `as` is disabled there
/// too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    Core,
    Cpu,
    Data,
    Fsize,
    Locks,
    Memlock,
    Msgqueue,
    Nice,
    Nofile,
    Nproc,
    Rss,
    Rtprio,
    Rttime,
    Sigpending,
    Stack,
}

#[cfg(target_env = "gnu")]
type RawResource = libc::__rlimit_resource_t;
#[cfg(not(target_env = "gnu"))]
type RawResource = libc::c_int;

impl Resource {
    pub const ALL: [Resource; 15] = [
        Resource::Core,
        Resource::Cpu,
        Resource::Data,
        Resource::Fsize,
        Resource::Locks,
        Resource::Memlock,
        Resource::Msgqueue,
        Resource::Nice,
        Resource::Nofile,
        Resource::Nproc,
        Resource::Rss,
        Resource::Rtprio,
        Resource::Rttime,
        Resource::Sigpending,
        Resource::Stack,
    ];

    /// The name `--ulimit` uses.
    pub fn name(self) -> &'static str {
        match self {
            Resource::Core => "core",
            Resource::Cpu => "cpu",
            Resource::Data => "data",
            Resource::Fsize => "fsize",
            Resource::Locks => "locks",
            Resource::Memlock => "memlock",
            Resource::Msgqueue => "msgqueue",
            Resource::Nice => "nice",
            Resource::Nofile => "nofile",
            Resource::Nproc => "nproc",
            Resource::Rss => "rss",
            Resource::Rtprio => "rtprio",
            Resource::Rttime => "rttime",
            Resource::Sigpending => "sigpending",
            Resource::Stack => "stack",
        }
    }

    pub fn from_name(name: &str) -> Option<Resource> {
        Resource::ALL.into_iter().find(|r| r.name() == name)
    }

    fn oci(self) -> PosixRlimitType {
        match self {
            Resource::Core => PosixRlimitType::RlimitCore,
            Resource::Cpu => PosixRlimitType::RlimitCpu,
            Resource::Data => PosixRlimitType::RlimitData,
            Resource::Fsize => PosixRlimitType::RlimitFsize,
            Resource::Locks => PosixRlimitType::RlimitLocks,
            Resource::Memlock => PosixRlimitType::RlimitMemlock,
            Resource::Msgqueue => PosixRlimitType::RlimitMsgqueue,
            Resource::Nice => PosixRlimitType::RlimitNice,
            Resource::Nofile => PosixRlimitType::RlimitNofile,
            Resource::Nproc => PosixRlimitType::RlimitNproc,
            Resource::Rss => PosixRlimitType::RlimitRss,
            Resource::Rtprio => PosixRlimitType::RlimitRtprio,
            Resource::Rttime => PosixRlimitType::RlimitRttime,
            Resource::Sigpending => PosixRlimitType::RlimitSigpending,
            Resource::Stack => PosixRlimitType::RlimitStack,
        }
    }

    fn raw(self) -> RawResource {
        match self {
            Resource::Core => libc::RLIMIT_CORE,
            Resource::Cpu => libc::RLIMIT_CPU,
            Resource::Data => libc::RLIMIT_DATA,
            Resource::Fsize => libc::RLIMIT_FSIZE,
            Resource::Locks => libc::RLIMIT_LOCKS,
            Resource::Memlock => libc::RLIMIT_MEMLOCK,
            Resource::Msgqueue => libc::RLIMIT_MSGQUEUE,
            Resource::Nice => libc::RLIMIT_NICE,
            Resource::Nofile => libc::RLIMIT_NOFILE,
            Resource::Nproc => libc::RLIMIT_NPROC,
            Resource::Rss => libc::RLIMIT_RSS,
            Resource::Rtprio => libc::RLIMIT_RTPRIO,
            Resource::Rttime => libc::RLIMIT_RTTIME,
            Resource::Sigpending => libc::RLIMIT_SIGPENDING,
            Resource::Stack => libc::RLIMIT_STACK,
        }
    }

    /// This process's hard limit (`u64::MAX` = unlimited), if readable.
    pub fn current_hard_limit(self) -> Option<u64> {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit only writes the struct we pass.
        let rc = unsafe { libc::getrlimit(self.raw(), &mut lim) };
        // rlim_t is 32 bits on some targets.
        #[allow(clippy::unnecessary_cast)]
        let hard = lim.rlim_max as u64;
        (rc == 0).then_some(hard)
    }
}

/// One parsed `--ulimit`; -1 means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ulimit {
    pub resource: Resource,
    pub soft: i64,
    pub hard: i64,
}

impl fmt::Display for Ulimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}:{}", self.resource.name(), self.soft, self.hard)
    }
}

/// `name=soft[:hard]`, as go-units' `ParseUlimit` reads it.
pub fn parse_ulimit(value: &str) -> Result<Ulimit, SpecError> {
    let Some((name, limits)) = value.split_once('=') else {
        return Err(SpecError::invalid(format!(
            "invalid ulimit argument: {value}"
        )));
    };
    let resource = Resource::from_name(name)
        .ok_or_else(|| SpecError::invalid(format!("invalid ulimit type: {name}")))?;
    let parts: Vec<&str> = limits.split(':').collect();
    let (soft, hard) = match parts.as_slice() {
        [soft] => {
            let soft = parse_int(soft)?;
            (soft, soft)
        }
        [soft, hard] => (parse_int(soft)?, parse_int(hard)?),
        _ => {
            return Err(SpecError::invalid(format!(
                "too many limit value arguments - {limits}, can only have up to two, `soft[:hard]`"
            )))
        }
    };
    if hard != -1 {
        if soft == -1 {
            return Err(SpecError::invalid(format!(
                "ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: {hard}"
            )));
        }
        if soft > hard {
            return Err(SpecError::invalid(format!(
                "ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
            )));
        }
    }
    Ok(Ulimit {
        resource,
        soft,
        hard,
    })
}

/// Go's `strconv.ParseInt(s, 10, 64)`, with its error messages.
fn parse_int(s: &str) -> Result<i64, SpecError> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SpecError::invalid(format!(
            "strconv.ParseInt: parsing {s:?}: invalid syntax"
        )));
    }
    s.parse().map_err(|_| {
        SpecError::invalid(format!(
            "strconv.ParseInt: parsing {s:?}: value out of range"
        ))
    })
}

/// -1 (and any negative value) is RLIM_INFINITY.
fn to_rlim(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// The process's rlimits: `--ulimit`s in the order given (a repeated name:
/// the last value wins), then the default `nofile` unless given; each capped
/// at the host's hard limit.
pub(crate) fn build_rlimits(
    ulimits: &[String],
    host: &HostInfo,
) -> Result<Vec<PosixRlimit>, SpecError> {
    let mut parsed: Vec<Ulimit> = Vec::new();
    for value in ulimits {
        let u = parse_ulimit(value)?;
        match parsed.iter_mut().find(|p| p.resource == u.resource) {
            Some(p) => *p = u,
            None => parsed.push(u),
        }
    }
    let mut limits: Vec<(Resource, u64, u64)> = parsed
        .iter()
        .map(|u| (u.resource, to_rlim(u.soft), to_rlim(u.hard)))
        .collect();
    if !limits.iter().any(|(r, _, _)| *r == Resource::Nofile) {
        limits.push((Resource::Nofile, DEFAULT_NOFILE, DEFAULT_NOFILE));
    }
    limits
        .into_iter()
        .map(|(resource, soft, hard)| {
            let max = host.hard_limit(resource);
            let (soft, hard) = (soft.min(max), hard.min(max));
            Ok(PosixRlimitBuilder::default()
                .typ(resource.oci())
                .soft(soft)
                .hard(hard)
                .build()?)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(value: &str) -> String {
        parse_ulimit(value).unwrap_err().to_string()
    }

    #[test]
    fn parses_docker_forms() {
        let u = parse_ulimit("nofile=1024:2048").unwrap();
        assert_eq!((u.resource, u.soft, u.hard), (Resource::Nofile, 1024, 2048));
        let u = parse_ulimit("nproc=512").unwrap();
        assert_eq!((u.soft, u.hard), (512, 512));
        let u = parse_ulimit("core=-1").unwrap();
        assert_eq!((u.soft, u.hard), (-1, -1));
        let u = parse_ulimit("memlock=100:-1").unwrap();
        assert_eq!((u.soft, u.hard), (100, -1));
        assert_eq!(u.to_string(), "memlock=100:-1");
    }

    #[test]
    fn bad_ulimits_fail_with_go_units_messages() {
        assert_eq!(msg("foo=1"), "invalid ulimit type: foo");
        assert_eq!(msg("as=1"), "invalid ulimit type: as");
        assert_eq!(msg("nofile"), "invalid ulimit argument: nofile");
        assert_eq!(
            msg("nofile=2048:1024"),
            "ulimit soft limit must be less than or equal to hard limit: 2048 > 1024"
        );
        assert_eq!(
            msg("nofile=-1:1024"),
            "ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: 1024"
        );
        assert_eq!(
            msg("nofile=abc"),
            r#"strconv.ParseInt: parsing "abc": invalid syntax"#
        );
        assert_eq!(
            msg("nofile=1:2:3"),
            "too many limit value arguments - 1:2:3, can only have up to two, `soft[:hard]`"
        );
        assert_eq!(
            parse_ulimit("nofile=x").unwrap_err().kind(),
            wharf_oci::ErrorKind::InvalidArgument
        );
    }
}
