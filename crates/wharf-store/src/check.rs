//! `system check` of the store itself: every row's files exist, every
//! blob holds what its name says, layers are referenced, and no file or
//! directory is left that no row accounts for. The engine adds the
//! kernel's side (mounts, cgroups, links, rules, processes).
//!
//! Findings come in two kinds. An *error* is an inconsistency a user can
//! trip on (a row whose files are gone, a corrupt blob); a *leftover* is
//! something nothing refers to any more (what a killed process left),
//! invisible to users but holding disk or kernel objects. `--repair`
//! deletes leftovers and fixes the errors it can.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use wharf_oci::Digest;

use crate::paths::{dead_entries, remove_any};
use crate::{containers, images, layers, volumes, Store, StoreResult};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The store contradicts itself: a user can see or trip on it.
    Error,
    /// Garbage nothing refers to: invisible, but holds resources.
    Leftover,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Leftover => "leftover",
        })
    }
}

/// One thing `system check` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    /// What it is about: `layer sha256:…`, `blob sha256:…`, `mount /…`.
    pub object: String,
    /// What is wrong, in words.
    pub problem: String,
    /// Whether `--repair` fixed it.
    pub repaired: bool,
}

impl Finding {
    pub fn error(object: impl Into<String>, problem: impl Into<String>) -> Finding {
        Finding {
            severity: Severity::Error,
            object: object.into(),
            problem: problem.into(),
            repaired: false,
        }
    }

    pub fn leftover(object: impl Into<String>, problem: impl Into<String>) -> Finding {
        Finding {
            severity: Severity::Leftover,
            ..Finding::error(object, problem)
        }
    }

    /// Mark it repaired when `ok`.
    pub fn repaired_if(mut self, ok: bool) -> Finding {
        self.repaired = ok;
        self
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.severity, self.object, self.problem)
    }
}

/// The SHA-256 of a file's content.
fn file_digest(path: &Path) -> std::io::Result<Digest> {
    let mut r = wharf_oci::digest::HashingReader::new(fs::File::open(path)?);
    std::io::copy(&mut r, &mut std::io::sink())?;
    Ok(r.finish().0)
}

fn names_in(dir: &Path) -> Vec<(String, PathBuf)> {
    fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
                .collect()
        })
        .unwrap_or_default()
}

/// What the rows say should be on disk.
struct Expected {
    layers: Vec<crate::LayerRecord>,
    /// Layer rows nothing (image, build cache) references.
    unreferenced: Vec<crate::LayerRecord>,
    images: Vec<crate::ImageRecord>,
    /// Blob hex digests some row accounts for.
    blobs: HashSet<String>,
    /// Blobs rows require (digest, which row).
    required_blobs: Vec<(Digest, String)>,
    volumes: Vec<String>,
}

impl Store {
    fn expected(&self) -> StoreResult<Expected> {
        self.read(|tx| {
            let layers = layers::all(tx)?;
            let unreferenced = layers::unreferenced(tx)?;
            let images = images::list(tx)?;
            let mut blobs: HashSet<String> =
                layers.iter().map(|l| l.blob.hex().to_string()).collect();
            blobs.extend(images.iter().map(|i| i.id.hex().to_string()));
            blobs.extend(crate::distribution::stored_blobs(tx)?);
            let mut required: Vec<(Digest, String)> = layers
                .iter()
                .map(|l| (l.blob.clone(), format!("layer {}", l.diff_id)))
                .collect();
            required.extend(
                images
                    .iter()
                    .map(|i| (i.id.clone(), format!("image {}", i.id))),
            );
            for (d, what) in crate::distribution::required_blobs(tx)? {
                required.push((d, what));
            }
            Ok(Expected {
                layers,
                unreferenced,
                images,
                blobs,
                required_blobs: required,
                volumes: volumes::list(tx)?.into_iter().map(|v| v.name).collect(),
            })
        })
    }

    /// Check the store's rows against its files. With `repair`, delete
    /// leftovers and unreferenced layers (under the GC lock, as garbage
    /// collection does) and report what could not be fixed.
    pub fn check(&self, repair: bool) -> StoreResult<Vec<Finding>> {
        let mut out = Vec::new();
        self.check_database(&mut out)?;
        // Repairs delete: nothing may be committing meanwhile.
        let _gc = if repair { Some(self.gc_lock()?) } else { None };
        let want = self.expected()?;

        for l in &want.layers {
            if !self.layer_dir(&l.diff_id).is_dir() {
                out.push(Finding::error(
                    format!("layer {}", l.diff_id),
                    format!(
                        "its tree {} is missing",
                        self.layer_dir(&l.diff_id).display()
                    ),
                ));
            }
        }
        for i in &want.images {
            let missing: Vec<&Digest> = i
                .layers
                .iter()
                .filter(|d| !want.layers.iter().any(|l| &l.diff_id == *d))
                .collect();
            if let Some(d) = missing.first() {
                out.push(Finding::error(
                    format!("image {}", i.id),
                    format!("its layer {d} has no row"),
                ));
            }
        }
        for (blob, what) in &want.required_blobs {
            if !self.has_blob(blob) {
                out.push(Finding::error(
                    what.clone(),
                    format!("its blob {blob} is missing"),
                ));
            }
        }
        if !want.unreferenced.is_empty() {
            let repaired = repair && self.collect_unreferenced().is_ok();
            for l in &want.unreferenced {
                out.push(
                    Finding::leftover(
                        format!("layer {}", l.diff_id),
                        "no image or build cache entry refers to it",
                    )
                    .repaired_if(repaired),
                );
            }
        }

        // Every blob's content, and blobs no row accounts for.
        for (name, path) in names_in(&self.root().join("blobs/sha256")) {
            if !want.blobs.contains(&name) {
                let f = Finding::leftover(format!("blob sha256:{name}"), "no row refers to it");
                out.push(f.repaired_if(repair && discard(self, &path)));
                continue;
            }
            match file_digest(&path) {
                Ok(d) if d.hex() == name => {}
                Ok(d) => out.push(Finding::error(
                    format!("blob sha256:{name}"),
                    format!("its content has digest {d}"),
                )),
                Err(e) => out.push(Finding::error(
                    format!("blob sha256:{name}"),
                    format!("cannot be read: {e}"),
                )),
            }
        }
        let known: HashSet<String> = want
            .layers
            .iter()
            .map(|l| l.diff_id.hex().to_string())
            .collect();
        for (name, path) in names_in(&self.root().join("layers")) {
            if !known.contains(&name) {
                let f = Finding::leftover(format!("layer tree {}", path.display()), "no row");
                out.push(f.repaired_if(repair && discard(self, &path)));
            }
        }
        for v in &want.volumes {
            if !self.volume_data(v).is_dir() {
                out.push(Finding::error(
                    format!("volume {v}"),
                    format!("its data {} is missing", self.volume_data(v).display()),
                ));
            }
        }
        for (name, path) in names_in(&self.root().join("volumes")) {
            if !want.volumes.contains(&name) {
                let f = Finding::leftover(format!("volume directory {}", path.display()), "no row");
                out.push(f.repaired_if(
                    repair && {
                        self.discard_volume(&name);
                        !path.exists()
                    },
                ));
            }
        }
        for dir in ["tmp", "trash"] {
            for path in dead_entries(&self.root().join(dir)) {
                let f =
                    Finding::leftover(path.display().to_string(), "left by a process that is gone");
                out.push(f.repaired_if(
                    repair && {
                        remove_any(&path);
                        !path.exists()
                    },
                ));
            }
        }
        Ok(out)
    }

    /// The container IDs the store has rows for (the engine checks their
    /// directories and kernel objects).
    pub fn container_ids(&self) -> StoreResult<Vec<String>> {
        // IDs only: decoding every record would cost each build's sweep
        // (and `system check`) time in proportion to the containers.
        self.read(|tx| containers::ids_with_prefix(tx, ""))
    }

    /// SQLite's own checks: the file's structure and every foreign key.
    fn check_database(&self, out: &mut Vec<Finding>) -> StoreResult<()> {
        let db = self.root().join("db.sqlite").display().to_string();
        self.read(|tx| {
            let mut st = tx.prepare("PRAGMA integrity_check")?;
            let rows: Vec<String> = st.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
            for r in rows.into_iter().filter(|r| r != "ok") {
                out.push(Finding::error(db.clone(), r));
            }
            let mut st = tx.prepare("PRAGMA foreign_key_check")?;
            let rows: Vec<(String, Option<i64>, String)> = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?;
            for (table, rowid, parent) in rows {
                out.push(Finding::error(
                    format!("{table} row {}", rowid.unwrap_or_default()),
                    format!("refers to a missing {parent} row"),
                ));
            }
            Ok(())
        })
    }

    /// Drop unreferenced layer rows and their files (the caller holds the
    /// GC lock).
    fn collect_unreferenced(&self) -> StoreResult<()> {
        let garbage = self.write(|tx| self.drop_unreferenced(tx, Vec::new()))?;
        self.discard(&garbage);
        Ok(())
    }
}

fn discard(store: &Store, path: &Path) -> bool {
    store.discard_tree(path);
    !path.exists()
}
