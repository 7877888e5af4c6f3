//! A container's mounts, from `-v`, `--mount`, `--tmpfs` and the image's
//! `VOLUME`s: first planned (every check docker makes, nothing made), then
//! made (volumes and their directories, missing `-v` source directories,
//! copy-up), then recorded with the container in one transaction.

use std::path::{Path, PathBuf};

use wharf_model::{MountKind, MountPoint, SpecMount};
use wharf_store::volumes::{self, VolumeRecord};

use super::manage::{check_name, check_options, volume_mount};
use super::spec::{clean_path, parse_bind, parse_mount, parse_tmpfs, Kind, Mount, Planned};
use crate::{Engine, EngineError, EngineResult};

/// What the user asked for, as docker's API carries it.
#[derive(Debug, Clone, Default)]
pub struct MountRequest {
    /// `-v` (`HostConfig.Binds`, plus `/dst` alone for an anonymous volume).
    pub binds: Vec<String>,
    /// `--mount` (`HostConfig.Mounts`).
    pub mounts: Vec<Mount>,
    /// `--tmpfs destination[:options]` (`HostConfig.Tmpfs`).
    pub tmpfs: Vec<String>,
    /// `--volume-driver` (`HostConfig.VolumeDriver`): the driver of `-v`
    /// and image volumes; empty is `local`.
    pub volume_driver: String,
    /// `--volumes-from`: the other containers' mounts (see
    /// [`Engine::volumes_from`]); a mount the request names at the same
    /// destination replaces one.
    pub inherited: Vec<Planned>,
}

/// `--volume-driver` for a volume `-v` or the image asks for.
fn with_driver(mut planned: Planned, driver: &str) -> Planned {
    if let Kind::Volume { driver: d, .. } = &mut planned.kind {
        if !driver.is_empty() {
            *d = driver.to_string();
        }
    }
    planned
}

/// One planned mount and whether `inspect` lists it under `Mounts`
/// (docker does not list `--tmpfs` ones).
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub planned: Planned,
    pub listed: bool,
    /// From `--volumes-from`: yields to the request's own mounts.
    pub inherited: bool,
}

/// Checked mounts, in docker's order: binds, mounts, tmpfs, then the
/// anonymous volumes (`-v /dst` and the image's) no other mount covers.
#[derive(Debug, Clone, Default)]
pub(crate) struct MountPlan {
    pub entries: Vec<Entry>,
    /// `HostConfig.Binds`: the `-v` entries with a source.
    pub binds: Vec<String>,
    /// `Config.Volumes`: the image's volumes and `-v /dst` ones.
    pub config_volumes: Vec<String>,
}

/// A volume's name, driver and options as docker checks them.
fn check_volume(planned: &Planned) -> EngineResult<()> {
    if let Kind::Volume { name: Some(n), .. } = &planned.kind {
        check_name(n)?;
    }
    if let Kind::Volume {
        driver,
        driver_options,
        ..
    } = &planned.kind
    {
        let name = match &planned.kind {
            Kind::Volume { name: Some(n), .. } => n.as_str(),
            _ => "",
        };
        if driver != "local" {
            return Err(EngineError::NotFound(format!(
                "create {name}: error looking up volume plugin {driver}: plugin \"{driver}\" not found"
            )));
        }
        check_options(name, driver_options)?;
    }
    Ok(())
}

/// Check everything docker checks; make nothing.
pub(crate) fn plan(req: &MountRequest, image_volumes: &[String]) -> EngineResult<MountPlan> {
    let mut out = MountPlan::default();
    let mut anonymous = Vec::new();
    // Docker's order: the other containers' mounts first, which the
    // request's own replace.
    for planned in &req.inherited {
        out.entries
            .retain(|e| e.planned.destination != planned.destination);
        out.entries.push(Entry {
            planned: planned.clone(),
            listed: true,
            inherited: true,
        });
    }
    let add = |out: &mut MountPlan, planned: Planned, listed: bool| -> EngineResult<()> {
        out.entries
            .retain(|e| !(e.inherited && e.planned.destination == planned.destination));
        if out
            .entries
            .iter()
            .any(|e| e.planned.destination == planned.destination)
        {
            return Err(EngineError::Invalid(format!(
                "Duplicate mount point: {}",
                planned.destination
            )));
        }
        check_volume(&planned)?;
        out.entries.push(Entry {
            planned,
            listed,
            inherited: false,
        });
        Ok(())
    };
    for raw in &req.binds {
        let planned = with_driver(parse_bind(raw)?, &req.volume_driver);
        if matches!(planned.kind, Kind::Volume { name: None, .. }) {
            // The CLI sends these as Config.Volumes, like an image's.
            anonymous.push((planned.destination.clone(), planned));
            continue;
        }
        out.binds.push(raw.clone());
        add(&mut out, planned, true)?;
    }
    for m in &req.mounts {
        add(&mut out, parse_mount(m)?, true)?;
    }
    for t in &req.tmpfs {
        add(&mut out, parse_tmpfs(t)?, false)?;
    }
    for v in image_volumes {
        let destination = clean_path(v);
        if !anonymous.iter().any(|(d, _)| *d == destination) {
            let planned = parse_bind(&destination).map_err(|_| {
                EngineError::Invalid(format!("invalid volume in the image config: {v}"))
            })?;
            let planned = with_driver(planned, &req.volume_driver);
            anonymous.push((destination, planned));
        }
    }
    for (destination, planned) in anonymous {
        out.config_volumes.push(destination.clone());
        if !out
            .entries
            .iter()
            .any(|e| e.planned.destination == destination)
        {
            check_volume(&planned)?;
            out.entries.push(Entry {
                planned,
                listed: true,
                inherited: false,
            });
        }
    }
    Ok(out)
}

/// Mounts made for a container, ready to record.
#[derive(Debug, Default)]
pub(crate) struct MadeMounts {
    pub spec: Vec<SpecMount>,
    /// `inspect`'s `Mounts`.
    pub points: Vec<MountPoint>,
    /// (destination, volume, anonymous) for `container_volumes`.
    pub links: Vec<(String, String, bool)>,
    /// Volumes this create made, to insert with the container.
    pub new_volumes: Vec<VolumeRecord>,
    /// Volumes with driver options: the monitor mounts them.
    pub volume_mounts: Vec<wharf_model::VolumeMount>,
}

/// The image's root filesystem, for copy-up: `lowers` (top first) and the
/// container's own dirs to mount them with.
pub(crate) struct ImageRoot<'a> {
    pub lowers: &'a [PathBuf],
    pub upper: PathBuf,
    pub work: PathBuf,
    pub rootfs: PathBuf,
    pub empty: PathBuf,
}

/// One `--volumes-from container[:mode]`: the container and whether its
/// mounts may stay writable (docker's `ParseVolumesFrom`).
fn parse_volumes_from(spec: &str) -> EngineResult<(&str, bool)> {
    if spec.is_empty() {
        return Err(EngineError::Invalid(
            "volumes-from specification cannot be an empty string".into(),
        ));
    }
    let (id, mode) = spec.split_once(':').unwrap_or((spec, "rw"));
    let parts: Vec<&str> = mode.split(',').collect();
    let rw_modes = parts.iter().filter(|p| matches!(**p, "ro" | "rw")).count();
    // No propagation or copy modes: the mounts keep their own.
    if rw_modes > 1 || !parts.iter().all(|p| matches!(*p, "ro" | "rw" | "z" | "Z")) {
        return Err(EngineError::Invalid(format!("invalid mode: {mode}")));
    }
    Ok((id, !parts.contains(&"ro")))
}

impl Engine {
    /// `--volumes-from`: the binds and volumes of the containers named
    /// (not their tmpfs), read-only with `:ro` or where they were.
    pub(crate) fn volumes_from(&self, specs: &[String]) -> EngineResult<Vec<Planned>> {
        let mut out = Vec::new();
        for spec in specs {
            let (id, writable) = parse_volumes_from(spec)?;
            let other = self.find_container(id)?;
            for m in &other.definition.mounts {
                let kind = match m.kind.as_str() {
                    "volume" => Kind::Volume {
                        name: Some(m.name.clone()),
                        copy_data: false,
                        labels: Default::default(),
                        driver: if m.driver.is_empty() {
                            "local".into()
                        } else {
                            m.driver.clone()
                        },
                        driver_options: Default::default(),
                    },
                    "bind" => Kind::Bind {
                        source: m.source.clone(),
                        propagation: m.propagation.clone(),
                        recursive: true,
                        create_source: false,
                    },
                    _ => continue,
                };
                out.push(Planned {
                    kind,
                    destination: m.destination.clone(),
                    read_write: m.rw && writable,
                    mode: String::new(),
                });
            }
        }
        Ok(out)
    }
}

fn is_empty_dir(p: &Path) -> bool {
    std::fs::read_dir(p).is_ok_and(|mut d| d.next().is_none())
}

impl Engine {
    /// Make what `plan` checked: volumes (directories only; rows come
    /// with the container), missing `-v` sources, copy-up. On error,
    /// nothing this call made is left.
    pub(crate) fn make_mounts(
        &self,
        plan: &MountPlan,
        image: &ImageRoot,
    ) -> EngineResult<MadeMounts> {
        let mut made = MadeMounts::default();
        let result = self.make_mounts_into(plan, image, &mut made);
        if result.is_err() {
            self.forget_new_volumes(&made);
        }
        result.map(|()| made)
    }

    /// Remove the directories of volumes this create made, unless their
    /// rows exist (someone else made the same volume meanwhile).
    pub(crate) fn forget_new_volumes(&self, made: &MadeMounts) {
        for v in &made.new_volumes {
            let stored = self.store.read(|tx| volumes::get(tx, &v.name));
            if matches!(stored, Ok(None)) {
                self.store.discard_tree(&self.store.volume_dir(&v.name));
            }
        }
    }

    fn make_mounts_into(
        &self,
        plan: &MountPlan,
        image: &ImageRoot,
        made: &mut MadeMounts,
    ) -> EngineResult<()> {
        let mut fill: Vec<(String, PathBuf)> = Vec::new();
        for Entry {
            planned: p, listed, ..
        } in &plan.entries
        {
            let mut volume = None;
            match &p.kind {
                Kind::Volume {
                    name,
                    copy_data,
                    labels,
                    driver_options,
                    ..
                } => {
                    let existing = match name {
                        Some(n) => self.store.read(|tx| volumes::get(tx, n))?,
                        None => None,
                    };
                    let record = match existing {
                        Some(r) => r,
                        None => {
                            let r = self.new_volume_record(
                                name.as_deref(),
                                labels.clone(),
                                driver_options.clone(),
                            );
                            self.make_volume_dir(&r.name)?;
                            made.new_volumes.push(r.clone());
                            r
                        }
                    };
                    let data = self.store.volume_data(&record.name);
                    let mounted = volume_mount(self, &record);
                    // What a mounted volume holds is the mount's business:
                    // no copy-up (docker's copy would vanish at unmount).
                    if *copy_data && mounted.is_none() && is_empty_dir(&data) {
                        fill.push((p.destination.clone(), data.clone()));
                    }
                    made.links
                        .push((p.destination.clone(), record.name.clone(), name.is_none()));
                    made.volume_mounts.extend(mounted);
                    volume = Some((record, data));
                }
                Kind::Bind {
                    source,
                    create_source: true,
                    ..
                } if std::fs::symlink_metadata(source).is_err() => {
                    std::fs::create_dir_all(source).map_err(|e| {
                        EngineError::io(format!("creating bind source {source}"), e)
                    })?;
                }
                _ => {}
            }
            let volume = volume.as_ref().map(|(r, d)| (r, d.as_path()));
            made.spec.push(spec_mount(p, volume.map(|(_, d)| d)));
            if *listed {
                made.points.push(mount_point(p, volume));
            }
        }
        if !fill.is_empty() {
            super::copyup::copy_up(image, &fill)?;
        }
        Ok(())
    }
}

/// The runtime's mount for `p`; `volume_data` is the volume's directory
/// (any path will do for checking options before it exists).
pub(crate) fn spec_mount(p: &Planned, volume_data: Option<&Path>) -> SpecMount {
    let kind = match &p.kind {
        Kind::Volume { .. } => MountKind::Bind {
            source: volume_data.unwrap_or(Path::new("/")).to_path_buf(),
            read_only: !p.read_write,
            propagation: None,
            recursive: true,
        },
        Kind::Bind {
            source,
            propagation,
            recursive,
            ..
        } => MountKind::Bind {
            source: source.into(),
            read_only: !p.read_write,
            propagation: Some(propagation.clone()),
            recursive: *recursive,
        },
        Kind::Tmpfs { options } => MountKind::Tmpfs {
            options: options.clone(),
        },
    };
    SpecMount {
        destination: p.destination.clone(),
        kind,
    }
}

/// One entry of `inspect`'s `Mounts`, as docker shows it.
fn mount_point(p: &Planned, volume: Option<(&VolumeRecord, &Path)>) -> MountPoint {
    let (kind, source, propagation) = match &p.kind {
        Kind::Volume { .. } => ("volume", String::new(), String::new()),
        Kind::Bind {
            source,
            propagation,
            ..
        } => ("bind", source.clone(), propagation.clone()),
        Kind::Tmpfs { .. } => ("tmpfs", String::new(), String::new()),
    };
    let (name, source, driver) = match volume {
        Some((record, data)) => (
            record.name.clone(),
            data.display().to_string(),
            record.driver.clone(),
        ),
        None => (String::new(), source, String::new()),
    };
    MountPoint {
        kind: kind.into(),
        name,
        source,
        destination: p.destination.clone(),
        driver,
        mode: p.mode.clone(),
        rw: p.read_write,
        propagation,
    }
}

impl MountPlan {
    /// The runtime's mounts with stand-in volume paths, to check options
    /// before anything exists.
    pub(crate) fn check_mounts(&self) -> Vec<SpecMount> {
        self.entries
            .iter()
            .map(|e| spec_mount(&e.planned, None))
            .collect()
    }

    /// `HostConfig.Binds`: null when there are none, as docker.
    pub(crate) fn host_binds(&self) -> Option<Vec<String>> {
        (!self.binds.is_empty()).then(|| self.binds.clone())
    }

    /// `Config.Volumes`: `{"/dst": {}}`, null when there are none.
    pub(crate) fn config_volumes(
        &self,
    ) -> Option<std::collections::BTreeMap<String, wharf_oci::config::EmptyObject>> {
        (!self.config_volumes.is_empty()).then(|| {
            self.config_volumes
                .iter()
                .map(|d| (d.clone(), Default::default()))
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(binds: &[&str], tmpfs: &[&str]) -> MountRequest {
        MountRequest {
            binds: binds.iter().map(|s| s.to_string()).collect(),
            mounts: Vec::new(),
            tmpfs: tmpfs.iter().map(|s| s.to_string()).collect(),
            volume_driver: String::new(),
            inherited: Vec::new(),
        }
    }

    fn destinations(p: &MountPlan) -> Vec<&str> {
        p.entries
            .iter()
            .map(|e| e.planned.destination.as_str())
            .collect()
    }

    #[test]
    fn image_volumes_yield_to_user_mounts() {
        let p = plan(
            &req(&["data:/data", "/anon/"], &["/run"]),
            &["/data".into(), "/var/lib/x/".into(), "/anon".into()],
        )
        .unwrap();
        assert_eq!(destinations(&p), ["/data", "/run", "/anon", "/var/lib/x"]);
        assert_eq!(p.binds, ["data:/data"]);
        assert_eq!(p.config_volumes, ["/anon", "/data", "/var/lib/x"]);
        assert!(!p.entries[1].listed, "--tmpfs is not listed in Mounts");
    }

    #[test]
    fn duplicates_and_bad_names_fail_before_anything() {
        let e = plan(&req(&["/tmp:/x", "/etc:/x"], &[]), &[]).unwrap_err();
        assert_eq!(e.to_string(), "Duplicate mount point: /x");
        let e = plan(&req(&["/tmp:/x/"], &["/x"]), &[]).unwrap_err();
        assert_eq!(e.to_string(), "Duplicate mount point: /x");
        let e = plan(&req(&["a/b:/x"], &[]), &[]).unwrap_err();
        assert!(e
            .to_string()
            .starts_with("create a/b: \"a/b\" includes invalid characters"));
    }
}
