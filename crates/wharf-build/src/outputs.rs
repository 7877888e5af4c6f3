//! `--output`: the result written out as BuildKit's exporters write it —
//! `local` (the files of the target stage in a directory, owned by the
//! caller), `tar` (those files as one tar), `oci` (an OCI image layout
//! tar) and `docker` (an archive `docker load` reads).

use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;

use wharf_image::fscopy::{copy_tree_filtered, CopyOptions};
use wharf_image::layer::{write_layer, DiffOptions};
use wharf_image::manifest::{oci_manifest, unstored_image};
use wharf_oci::{ImageConfig, Reference};
use wharf_registry::Platform;
use wharf_store::Store;

use crate::mounted::Mounted;
use crate::progress::{Progress, Step};
use crate::stage::lowers_of;
use crate::{BuildError, BuildResult, Dest, Output};

/// Write one output of the image `image` (whose config is `config`).
pub fn write(
    store: &Store,
    output: &Output,
    image: &ImageConfig,
    config: &[u8],
    tags: &[Reference],
    progress: &Progress,
) -> BuildResult<()> {
    match output {
        Output::Local(dir) => {
            let step = progress.step("exporting to client");
            let r = with_tree(store, image, |root| copy_out(root, dir));
            finish(step, r, "copying files done")
        }
        Output::Tar(dest) => {
            let step = progress.step("exporting to client");
            let r = with_tree(store, image, |root| {
                to_dest(dest, |w| {
                    write_layer(root, w, &DiffOptions { whiteouts: false })
                        .map(|_| ())
                        .map_err(|e| BuildError::Image(e.into()))
                })
            });
            finish(step, r, "sending tarball done")
        }
        Output::Oci(dest) | Output::Docker(dest) => {
            let format = if matches!(output, Output::Oci(_)) {
                "oci"
            } else {
                "docker"
            };
            let mut step = progress.step(&format!("exporting to {format} image format"));
            let img = unstored_image(store, config.to_vec())?;
            let (_, manifest) = oci_manifest(&img)?;
            step.note("exporting layers done");
            step.note(&format!("exporting manifest {manifest} done"));
            step.note(&format!("exporting config {} done", img.id));
            let images = [(img, tags.to_vec())];
            let r = to_dest(dest, |w| {
                wharf_image::archive::write_archive(store, &images, w)?;
                Ok(())
            });
            finish(step, r, "sending tarball done")
        }
    }
}

/// Write one output of a multi-platform result (`type=docker` was refused
/// before the build): `local` and `tar` put each platform's files under
/// `linux_arm64/` (BuildKit's platform-split), `oci` writes an image index
/// of the platforms' manifests.
pub fn write_multi(
    store: &Store,
    output: &Output,
    images: &[(Platform, ImageConfig, Vec<u8>)],
    tags: &[Reference],
    progress: &Progress,
) -> BuildResult<()> {
    let split = |p: &Platform| p.to_string().replace('/', "_");
    match output {
        Output::Local(dir) => {
            let step = progress.step("exporting to client");
            let r = images.iter().try_for_each(|(p, image, _)| {
                with_tree(store, image, |root| copy_out(root, &dir.join(split(p))))
            });
            finish(step, r, "copying files done")
        }
        Output::Tar(dest) => {
            let step = progress.step("exporting to client");
            let tmp = store.temp_path("build-split");
            let r = images
                .iter()
                .try_for_each(|(p, image, _)| {
                    with_tree(store, image, |root| copy_out(root, &tmp.join(split(p))))
                })
                .and_then(|()| {
                    to_dest(dest, |w| {
                        write_layer(&tmp, w, &DiffOptions { whiteouts: false })
                            .map(|_| ())
                            .map_err(|e| BuildError::Image(e.into()))
                    })
                });
            let _ = fs::remove_dir_all(&tmp);
            finish(step, r, "sending tarball done")
        }
        Output::Oci(dest) => {
            let mut step = progress.step("exporting to oci image format");
            let mut stored = Vec::new();
            for (_, _, config) in images {
                let img = unstored_image(store, config.clone())?;
                step.note(&format!("exporting config {} done", img.id));
                stored.push(img);
            }
            step.note("exporting layers done");
            let r = to_dest(dest, |w| {
                wharf_image::archive::write_oci_index(store, &stored, tags, w)?;
                Ok(())
            });
            finish(step, r, "sending tarball done")
        }
        Output::Docker(_) => Err(BuildError::Invalid(
            "docker exporter does not currently support exporting manifest lists".into(),
        )),
    }
}

/// End an export step: `note` and done, or failed.
fn finish(mut step: Step<'_>, r: BuildResult<()>, note: &str) -> BuildResult<()> {
    match r {
        Ok(()) => {
            step.note(note);
            step.done();
            Ok(())
        }
        Err(e) => {
            step.failed(&e.to_string());
            Err(e)
        }
    }
}

/// Run `f` on the image's root filesystem, mounted read-only in effect
/// (a throw-away upper).
fn with_tree(
    store: &Store,
    image: &ImageConfig,
    f: impl FnOnce(&Path) -> BuildResult<()>,
) -> BuildResult<()> {
    let lowers = lowers_of(store, image);
    if lowers.is_empty() {
        // An image without layers (`FROM scratch` and no files).
        let empty = store.temp_path("build-empty");
        fs::create_dir_all(&empty).map_err(|e| BuildError::io("creating an empty tree", e))?;
        let r = f(&empty);
        let _ = fs::remove_dir_all(&empty);
        return r;
    }
    let m = Mounted::new(store, &lowers)?;
    f(m.root())
}

/// The tree's entries into `dir` (created if missing), owned by whoever
/// runs the build, as docker's client writes them.
fn copy_out(root: &Path, dir: &Path) -> BuildResult<()> {
    fs::create_dir_all(dir)
        .map_err(|e| BuildError::io(format!("creating {}", dir.display()), e))?;
    let opts = CopyOptions {
        owner: Some((
            nix::unistd::geteuid().as_raw(),
            nix::unistd::getegid().as_raw(),
        )),
        mode: None,
    };
    let entries = fs::read_dir(root).map_err(|e| BuildError::io("reading the build result", e))?;
    for e in entries {
        let e = e.map_err(|e| BuildError::io("reading the build result", e))?;
        copy_tree_filtered(&e.path(), &dir.join(e.file_name()), &opts, &|_| true)?;
    }
    Ok(())
}

/// Write an archive to its destination; a file left half-written by a
/// failure is removed.
fn to_dest(dest: &Dest, write: impl FnOnce(&mut dyn Write) -> BuildResult<()>) -> BuildResult<()> {
    match dest {
        Dest::Stdout => {
            let mut out = std::io::stdout().lock();
            write(&mut out)?;
            out.flush()
                .map_err(|e| BuildError::io("writing to stdout", e))
        }
        Dest::File(path) => {
            let err = |e| BuildError::io(format!("failed to open {}", path.display()), e);
            let file = fs::File::create(path).map_err(err)?;
            let mut w = BufWriter::new(file);
            let r = write(&mut w).and_then(|()| {
                w.flush()
                    .map_err(|e| BuildError::io(format!("writing {}", path.display()), e))
            });
            if r.is_err() {
                let _ = fs::remove_file(path);
            }
            r
        }
    }
}
