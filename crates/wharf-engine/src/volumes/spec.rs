//! What the user asks to mount, as docker's API carries it: `-v` strings
//! (`HostConfig.Binds`), `--mount` structs (`HostConfig.Mounts`, docker's
//! `mount.Mount`) and `--tmpfs` entries (`HostConfig.Tmpfs`), and the
//! checks docker's daemon makes of them (moby's Linux mount parser), with
//! its messages.

use std::collections::BTreeMap;

use crate::{EngineError, EngineResult};

pub use wharf_model::{BindOptions, DriverConfig, Mount, TmpfsOptions, VolumeOptions};

/// One mount after docker's checks: what goes into the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub kind: Kind,
    /// Cleaned absolute path in the container.
    pub destination: String,
    pub read_write: bool,
    /// docker's `Mode`: the `-v` mode string (`ro`, `rw,z` ...); `z` for
    /// volumes that had none.
    pub mode: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Volume {
        /// `None`: anonymous, a random name is given when it is made.
        name: Option<String>,
        /// Fill a new, empty volume from the image (not `nocopy`).
        copy_data: bool,
        labels: BTreeMap<String, String>,
        driver: String,
        driver_options: BTreeMap<String, String>,
    },
    Bind {
        source: String,
        propagation: String,
        recursive: bool,
        /// `-v` creates a missing source directory; `--mount` refuses it.
        create_source: bool,
    },
    Tmpfs {
        options: Vec<String>,
    },
}

fn invalid(msg: impl Into<String>) -> EngineError {
    EngineError::Invalid(msg.into())
}

/// Go's `path.Clean` for the paths docker cleans.
pub fn clean_path(p: &str) -> String {
    let absolute = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            x => parts.push(x),
        }
    }
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

const PROPAGATIONS: [&str; 6] = [
    "private", "rprivate", "shared", "rshared", "slave", "rslave",
];

/// moby's `ValidMountMode`: comma-separated, at most one of each group.
fn valid_mode(mode: &str) -> bool {
    if mode.is_empty() {
        return true;
    }
    let (mut rw, mut label, mut propagation, mut copy, mut consistency) = (0, 0, 0, 0, 0);
    for o in mode.split(',') {
        match o {
            "rw" | "ro" => rw += 1,
            "z" | "Z" => label += 1,
            "nocopy" => copy += 1,
            "consistent" | "cached" | "delegated" => consistency += 1,
            p if PROPAGATIONS.contains(&p) => propagation += 1,
            _ => return false,
        }
    }
    rw <= 1 && label <= 1 && propagation <= 1 && copy <= 1 && consistency <= 1
}

fn mode_has(mode: &str, what: &[&str]) -> Option<String> {
    mode.split(',')
        .find(|o| what.contains(o))
        .map(str::to_string)
}

/// A `-v` entry as docker's daemon reads `HostConfig.Binds`:
/// `[source:]destination[:mode]`. An absolute source is a bind mount,
/// anything else names a volume. (The CLI has made `./x` absolute.)
pub fn parse_bind(raw: &str) -> EngineResult<Planned> {
    let spec_err = || invalid(format!("invalid volume specification: '{raw}'"));
    if raw.matches(':').count() > 2 {
        return Err(spec_err());
    }
    let parts: Vec<&str> = raw.splitn(3, ':').collect();
    if parts[0].is_empty() {
        return Err(spec_err());
    }
    let (source, target, mode) = match parts.as_slice() {
        [target] => ("", *target, ""),
        [_, second] if valid_mode(second) => return Err(spec_err()),
        [source, target] => (*source, *target, ""),
        [source, target, mode] => (*source, *target, *mode),
        _ => return Err(spec_err()),
    };
    if !valid_mode(mode) {
        return Err(invalid(format!("invalid mode: {mode}")));
    }
    let mut spec = Mount {
        kind: if source.starts_with('/') {
            "bind"
        } else {
            "volume"
        }
        .into(),
        source: source.into(),
        target: target.into(),
        read_only: mode.split(',').any(|o| o == "ro"),
        ..Default::default()
    };
    if mode_has(mode, &["nocopy"]).is_some() {
        spec.volume_options = Some(VolumeOptions {
            no_copy: true,
            ..Default::default()
        });
    }
    if let Some(p) = mode_has(mode, &PROPAGATIONS) {
        spec.bind_options = Some(BindOptions {
            propagation: p,
            ..Default::default()
        });
    }
    let mut planned = plan(&spec, false)
        .map_err(|e| invalid(format!("invalid volume specification: '{raw}': {e}")))?;
    planned.mode = match (&planned.kind, mode) {
        (Kind::Volume { name: Some(_), .. }, "") => "z".into(),
        _ => mode.into(),
    };
    if let Kind::Bind { create_source, .. } = &mut planned.kind {
        *create_source = true;
    }
    Ok(planned)
}

/// A `--mount` as docker's daemon checks `HostConfig.Mounts`: a bind
/// source must exist.
pub fn parse_mount(spec: &Mount) -> EngineResult<Planned> {
    plan(spec, true).map_err(|e| invalid(e.to_string()))
}

/// `--tmpfs destination[:options]`.
pub fn parse_tmpfs(raw: &str) -> EngineResult<Planned> {
    let (target, data) = raw.split_once(':').unwrap_or((raw, ""));
    check_destination(target).map_err(invalid)?;
    Ok(Planned {
        kind: Kind::Tmpfs {
            options: data
                .split(',')
                .filter(|o| !o.is_empty())
                .map(str::to_string)
                .collect(),
        },
        destination: clean_path(target),
        read_write: true,
        mode: String::new(),
    })
}

fn check_destination(target: &str) -> Result<(), String> {
    if target.is_empty() {
        return Err("field Target must not be empty".into());
    }
    if clean_path(target) == "/" {
        return Err("invalid specification: destination can't be '/'".into());
    }
    if !target.starts_with('/') {
        return Err(format!(
            "invalid mount path: '{target}' mount path must be absolute"
        ));
    }
    Ok(())
}

/// moby's `validateMountConfig` + `parseMountSpec`.
fn plan(spec: &Mount, bind_source_must_exist: bool) -> Result<Planned, MountConfigError> {
    let fail = |cause: String| MountConfigError {
        kind: spec.kind.clone(),
        cause,
    };
    check_destination(&spec.target).map_err(fail)?;
    let kind = match spec.kind.as_str() {
        "bind" => {
            if spec.source.is_empty() {
                return Err(fail("field Source must not be empty".into()));
            }
            let propagation = spec
                .bind_options
                .as_ref()
                .map(|b| b.propagation.clone())
                .unwrap_or_default();
            if !propagation.is_empty() && !PROPAGATIONS.contains(&propagation.as_str()) {
                return Err(fail(format!("invalid propagation mode: {propagation}")));
            }
            if spec.volume_options.is_some() {
                return Err(fail("field VolumeOptions must not be specified".into()));
            }
            if !spec.source.starts_with('/') {
                return Err(fail(format!(
                    "invalid mount path: '{}' mount path must be absolute",
                    spec.source
                )));
            }
            if bind_source_must_exist && std::fs::symlink_metadata(&spec.source).is_err() {
                return Err(fail(format!(
                    "bind source path does not exist: {}",
                    spec.source
                )));
            }
            Kind::Bind {
                source: clean_path(&spec.source),
                propagation: if propagation.is_empty() {
                    "rprivate".into()
                } else {
                    propagation
                },
                recursive: !spec.bind_options.as_ref().is_some_and(|b| b.non_recursive),
                create_source: false,
            }
        }
        "volume" => {
            if spec.bind_options.is_some() {
                return Err(fail("field BindOptions must not be specified".into()));
            }
            if spec.source.is_empty() && spec.read_only {
                return Err(fail(
                    "must not set ReadOnly mode when using anonymous volumes".into(),
                ));
            }
            let opts = spec.volume_options.clone().unwrap_or_default();
            let driver = opts.driver_config.unwrap_or_default();
            Kind::Volume {
                name: (!spec.source.is_empty()).then(|| spec.source.clone()),
                copy_data: !opts.no_copy,
                labels: opts.labels,
                driver: if driver.name.is_empty() {
                    "local".into()
                } else {
                    driver.name
                },
                driver_options: driver.options,
            }
        }
        "tmpfs" => {
            if spec.bind_options.is_some() {
                return Err(fail("field BindOptions must not be specified".into()));
            }
            if !spec.source.is_empty() {
                return Err(fail("field Source must not be specified".into()));
            }
            Kind::Tmpfs {
                options: tmpfs_options(spec.tmpfs_options.as_ref(), spec.read_only),
            }
        }
        _ => return Err(fail("mount type unknown".into())),
    };
    Ok(Planned {
        mode: match kind {
            Kind::Volume { .. } => "z".into(),
            _ => String::new(),
        },
        kind,
        destination: clean_path(&spec.target),
        read_write: !spec.read_only,
    })
}

/// moby's `ConvertTmpfsOptions`: `ro`, `mode=<octal>`, `size=<n>[kmg]`
/// with the largest unit that divides the size.
fn tmpfs_options(opts: Option<&TmpfsOptions>, read_only: bool) -> Vec<String> {
    let mut out = Vec::new();
    if read_only {
        out.push("ro".to_string());
    }
    let Some(o) = opts else { return out };
    if o.mode != 0 {
        out.push(format!("mode={:o}", o.mode));
    }
    if o.size_bytes != 0 {
        let (mut size, mut suffix) = (o.size_bytes, "");
        for unit in ["k", "m", "g"] {
            if size % 1024 != 0 {
                break;
            }
            size /= 1024;
            suffix = unit;
        }
        out.push(format!("size={size}{suffix}"));
    }
    out
}

#[derive(Debug)]
struct MountConfigError {
    kind: String,
    cause: String,
}

impl std::fmt::Display for MountConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "invalid mount config for type \"{}\": {}",
            self.kind, self.cause
        )
    }
}

#[cfg(test)]
#[path = "spec_tests.rs"]
mod tests;
