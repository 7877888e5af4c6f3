//! `rename`, `pause`, `unpause`, `diff`, `export`.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use wharf_runtime::monitor::ContainerDir;
use wharf_store::containers;

use super::names::valid_name;
use crate::{Engine, EngineError, EngineResult};

/// Run `f` on libcontainer's handle of a started container.
pub(super) fn with_container(
    dir: &ContainerDir,
    f: impl FnOnce(&mut wharf_runtime::Container) -> Result<(), String>,
) -> EngineResult<()> {
    let mut c =
        wharf_runtime::load_container(dir).map_err(|e| EngineError::Invalid(e.to_string()))?;
    f(&mut c).map_err(EngineError::Invalid)
}

const MOUNT_POINTS: &[&str] = &["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"];

/// One line of `docker diff`: `A`dded, `C`hanged or `D`eleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub kind: char,
    pub path: String,
}

impl Engine {
    pub fn rename_container(&self, name: &str, new_name: &str) -> EngineResult<()> {
        let c = self.find_container(name)?;
        if !valid_name(new_name) {
            return Err(EngineError::Invalid(format!(
                "Invalid container name ({new_name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )));
        }
        if c.name == new_name {
            return Err(EngineError::Invalid(
                "Renaming a container with the same name as its current name".into(),
            ));
        }
        let old_name = format!("/{}", c.name);
        Ok(self.store.write(|tx| {
            containers::rename(tx, &c.id, new_name)?;
            wharf_store::events::container(tx, &c.id, "rename", &[("oldName", old_name)])
        })?)
    }

    /// `docker pause` / `docker unpause`: freeze or thaw the container's cgroup.
    pub fn pause_container(&self, name: &str, pause: bool) -> EngineResult<()> {
        let c = self.refresh(self.find_container(name)?)?;
        if !c.state.status.is_running() {
            return Err(EngineError::Conflict(format!(
                "Container {} is not running",
                c.id
            )));
        }
        if (c.state.status == wharf_model::Status::Paused) == pause {
            let what = if pause {
                "already paused"
            } else {
                "not paused"
            };
            return Err(EngineError::Conflict(format!(
                "Container {} is {what}",
                c.id
            )));
        }
        let dir = ContainerDir::new(self.store.root(), &c.id);
        with_container(&dir, |lc| {
            if pause { lc.pause() } else { lc.resume() }.map_err(|e| e.to_string())
        })?;
        Ok(self.store.write(|tx| {
            containers::set_paused(tx, &c.id, pause)?;
            let action = if pause { "pause" } else { "unpause" };
            wharf_store::events::container(tx, &c.id, action, &[])
        })?)
    }

    /// `docker diff`: changes in the container's upper dir, sorted.
    pub fn container_changes(&self, name: &str) -> EngineResult<Vec<Change>> {
        let c = self.find_container(name)?;
        let dir = ContainerDir::new(self.store.root(), &c.id);
        let lowers = self.launch_config(&c).lowers;
        let mut out = Vec::new();
        walk_changes(&dir.upper(), Path::new("/"), &lowers, &mut out)?;
        // The runtime creates these as mount points for its own files;
        // docker does not count them as changes.
        out.retain(|c| !(c.kind == 'A' && MOUNT_POINTS.contains(&c.path.as_str())));
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// `docker export`: the container's filesystem as one tar.
    pub fn export_container<W: Write>(&self, name: &str, out: W) -> EngineResult<W> {
        let root = self.container_root(name)?;
        wharf_image::layer::write_layer(
            &root.path,
            out,
            &wharf_image::layer::DiffOptions { whiteouts: false },
        )
        .map_err(|e| EngineError::Image(e.into()))
    }
}

fn in_lowers(lowers: &[std::path::PathBuf], rel: &Path) -> bool {
    lowers
        .iter()
        .any(|l| fs::symlink_metadata(l.join(rel)).is_ok())
}

/// Overlay upper dir → docker's A/C/D list: a 0:0 char device is a
/// deletion; anything that also exists below is a change, else an addition.
fn walk_changes(
    dir: &Path,
    at: &Path,
    lowers: &[std::path::PathBuf],
    out: &mut Vec<Change>,
) -> EngineResult<()> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(_) => return Ok(()),
    };
    for e in entries.flatten() {
        let path = at.join(e.file_name());
        let rel = path.strip_prefix("/").unwrap_or(&path).to_path_buf();
        let meta = match e.metadata() {
            Ok(m) => m,
            Err(_) => continue,
        };
        let kind = if meta.file_type().is_char_device() && meta.rdev() == 0 {
            'D'
        } else if in_lowers(lowers, &rel) {
            'C'
        } else {
            'A'
        };
        out.push(Change {
            kind,
            path: path.display().to_string(),
        });
        if meta.is_dir() {
            if kind == 'A' {
                // Everything under an added directory is added.
                walk_all(&e.path(), &path, out);
            } else {
                walk_changes(&e.path(), &path, lowers, out)?;
            }
        }
    }
    Ok(())
}

fn walk_all(dir: &Path, at: &Path, out: &mut Vec<Change>) {
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = at.join(e.file_name());
        out.push(Change {
            kind: 'A',
            path: path.display().to_string(),
        });
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            walk_all(&e.path(), &path, out);
        }
    }
}
