//! A root directory seen the way a process chrooted into it sees it, with
//! other host directories mounted at paths inside it: a container's
//! rootfs plus its volumes and bind mounts (which, in the host's mount
//! namespace, are not mounted there).
//!
//! A lookup walks the path one component at a time, each an `openat` of a
//! single name with `O_PATH|O_NOFOLLOW` relative to the directory fd the
//! walk holds, so nothing the tree's owner changes meanwhile can move the
//! walk outside the view. A symlink is read from the fd of the link itself
//! and its target walked from the view's root (absolute) or from where the
//! link is: inside a volume, `/x` is the container's `/x`, which may be in
//! the rootfs or in another mount, never the host's. `..` pops the walk's
//! own stack of open directories, stopping at the root, so no kernel `..`
//! is ever taken. (`openat2(RESOLVE_IN_ROOT)` does the same for a single
//! tree, but cannot cross into mounts that exist only in the container's
//! namespace; this is filepath-securejoin's component walk, with mounts.)
//!
//! A lookup may also hide entries ([`RootView::lookup_visible`]): the
//! builder's context minus what `.dockerignore` excludes, where a link to an
//! excluded path leads nowhere, as in BuildKit's transferred context.

use std::ffi::OsString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::stat::SFlag;

use super::at::{kind, link_target, list, open_dir, open_entry, owned, stat};
use super::MAX_LINKS;
use crate::{ImageError, ImageResult};

/// A root with mounts; see the module docs.
pub struct RootView {
    root: OwnedFd,
    mounts: Vec<Mount>,
}

struct Mount {
    /// Where it is in the view, as the components of a resolved path.
    at: Vec<OsString>,
    /// What is mounted there (a directory or a file).
    source: OwnedFd,
}

/// What a lookup found.
pub enum Lookup {
    Found(Entry),
    /// All but the last component exist: the directory that would hold it,
    /// and its name there.
    Missing {
        dir: OwnedFd,
        name: OsString,
    },
}

/// An entry that exists in the view.
pub struct Entry {
    /// The entry, open with `O_PATH` (a symlink not followed is the link).
    pub fd: OwnedFd,
    kind: SFlag,
    /// Its resolved path's components.
    at: Vec<OsString>,
    /// The directory holding it and its name there; `None` for the root
    /// and for mount points, which cannot be replaced.
    pub parent: Option<(OwnedFd, OsString)>,
}

impl Entry {
    pub fn is_dir(&self) -> bool {
        self.kind == SFlag::S_IFDIR
    }

    pub fn is_symlink(&self) -> bool {
        self.kind == SFlag::S_IFLNK
    }

    /// Its name in the view (the last component of its resolved path);
    /// `None` for the root.
    pub fn name(&self) -> Option<&std::ffi::OsStr> {
        self.at.last().map(OsString::as_os_str)
    }

    /// Its resolved path, relative to the view's root (empty for the root).
    pub fn path(&self) -> PathBuf {
        self.at.iter().collect()
    }

    /// The names in the directory it is.
    pub fn names(&self) -> ImageResult<Vec<OsString>> {
        list(self.fd.as_fd(), &self.path())
    }

    /// Where the symlink it is points.
    pub fn link_target(&self) -> ImageResult<PathBuf> {
        link_target(self.fd.as_fd())
            .map(PathBuf::from)
            .map_err(|e| ImageError::io("reading a symlink", e.into()))
    }
}

/// One directory the walk holds.
struct Step {
    name: OsString,
    fd: OwnedFd,
    mount: bool,
}

/// Where a walk ended.
struct Walk {
    /// The directories walked through, then the entry reached (maybe not a
    /// directory).
    steps: Vec<Step>,
    kind: SFlag,
    /// The component that does not exist, and the components after it.
    missing: Option<(OsString, Vec<OsString>)>,
}

impl RootView {
    /// The directory at `root` (a host path), with nothing mounted in it.
    pub fn open(root: &Path) -> ImageResult<RootView> {
        Ok(RootView {
            root: open_dir(root)?,
            mounts: Vec::new(),
        })
    }

    /// Mount the host path `source` at `destination`, resolved in the view
    /// as it is now (as a runtime mounts in order, following symlinks
    /// inside the root).
    pub fn mount(&mut self, destination: &Path, source: &Path) -> ImageResult<()> {
        // The source is the host's (the user's own bind, or a volume's
        // directory): followed as given.
        let source = nix::fcntl::open(
            source,
            nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .map(owned)
        .map_err(|e| ImageError::io(format!("opening {}", source.display()), e.into()))?;
        let walk = self.walk(destination, true, &|_, _| true)?;
        let mut at: Vec<OsString> = walk.steps.into_iter().map(|s| s.name).collect();
        if let Some((name, mut rest)) = walk.missing {
            rest.push(name);
            while let Some(part) = rest.pop() {
                if part == ".." {
                    at.pop();
                } else {
                    at.push(part);
                }
            }
        }
        self.mounts.push(Mount { at, source });
        Ok(())
    }

    /// Look `path` up in the view. Symlinks on the way are followed inside
    /// the view; the last component's only if `follow`. An intermediate
    /// component that is missing or not a directory is `NotFound`.
    pub fn lookup(&self, path: &Path, follow: bool) -> ImageResult<Lookup> {
        self.lookup_visible(path, follow, &|_, _| true)
    }

    /// [`RootView::lookup`] in the view without the entries for which
    /// `visible(resolved path relative to the root, is a directory)` is
    /// false: they, and what is below them, do not exist.
    pub fn lookup_visible(
        &self,
        path: &Path,
        follow: bool,
        visible: &dyn Fn(&Path, bool) -> bool,
    ) -> ImageResult<Lookup> {
        let mut walk = self.walk(path, follow, visible)?;
        if let Some((name, rest)) = walk.missing {
            if !rest.is_empty() {
                return Err(ImageError::NotFound(path.display().to_string()));
            }
            let dir = match walk.steps.last() {
                Some(s) => &s.fd,
                None => &self.root,
            };
            return Ok(Lookup::Missing {
                dir: dup(dir.as_fd())?,
                name,
            });
        }
        let Some(last) = walk.steps.pop() else {
            return Ok(Lookup::Found(Entry {
                fd: dup(self.root.as_fd())?,
                kind: SFlag::S_IFDIR,
                at: Vec::new(),
                parent: None,
            }));
        };
        let parent = if last.mount {
            None
        } else {
            let dir = walk.steps.last().map_or(&self.root, |s| &s.fd);
            Some((dup(dir.as_fd())?, last.name.clone()))
        };
        let mut at: Vec<OsString> = walk.steps.into_iter().map(|s| s.name).collect();
        at.push(last.name);
        Ok(Lookup::Found(Entry {
            fd: last.fd,
            kind: walk.kind,
            at,
            parent,
        }))
    }

    /// The mount at the path `steps` + `name`, the last one mounted there.
    fn mount_at(&self, steps: &[Step], name: &OsString) -> Option<&Mount> {
        self.mounts.iter().rev().find(|m| {
            m.at.len() == steps.len() + 1
                && m.at.last() == Some(name)
                && m.at.iter().zip(steps).all(|(a, s)| *a == s.name)
        })
    }

    fn walk(
        &self,
        path: &Path,
        follow: bool,
        visible: &dyn Fn(&Path, bool) -> bool,
    ) -> ImageResult<Walk> {
        let mut pending = super::pending(path);
        let mut steps: Vec<Step> = Vec::new();
        let mut kind_of_last = SFlag::S_IFDIR;
        let mut links = 0;
        while let Some(part) = pending.pop() {
            if part == ".." {
                steps.pop();
                kind_of_last = SFlag::S_IFDIR;
                continue;
            }
            let last = pending.is_empty();
            let dir: BorrowedFd = steps.last().map_or(self.root.as_fd(), |s| s.fd.as_fd());
            let (entry, mount) = match self.mount_at(&steps, &part) {
                Some(m) => (Some(dup(m.source.as_fd())?), true),
                None => match open_entry(dir, &part) {
                    Ok(fd) => (Some(fd), false),
                    Err(Errno::ENOENT) => (None, false),
                    Err(e) => return Err(io(path, e)),
                },
            };
            let k = match &entry {
                Some(fd) => kind(&stat(fd.as_fd()).map_err(|e| io(path, e))?),
                None => SFlag::empty(),
            };
            let shown = || {
                let at: PathBuf = steps.iter().map(|s| &s.name).chain([&part]).collect();
                visible(&at, k == SFlag::S_IFDIR)
            };
            let entry = entry.filter(|_| mount || shown());
            let Some(fd) = entry.filter(|_| last || k == SFlag::S_IFDIR || k == SFlag::S_IFLNK)
            else {
                // Missing, or (like ENOTDIR) nothing can be below it.
                return Ok(Walk {
                    steps,
                    kind: kind_of_last,
                    missing: Some((part, pending)),
                });
            };
            if k == SFlag::S_IFLNK && (!last || follow) {
                links += 1;
                if links > MAX_LINKS {
                    return Err(ImageError::invalid(format!(
                        "{}: too many levels of symbolic links",
                        path.display()
                    )));
                }
                let target = PathBuf::from(link_target(fd.as_fd()).map_err(|e| io(path, e))?);
                if target.is_absolute() {
                    steps.clear();
                }
                pending.extend(super::pending(&target));
                kind_of_last = SFlag::S_IFDIR;
                continue;
            }
            steps.push(Step {
                name: part,
                fd,
                mount,
            });
            kind_of_last = k;
        }
        Ok(Walk {
            steps,
            kind: kind_of_last,
            missing: None,
        })
    }
}

fn dup(fd: BorrowedFd) -> ImageResult<OwnedFd> {
    fd.try_clone_to_owned()
        .map_err(|e| ImageError::io("duplicating a file descriptor", e))
}

fn io(path: &Path, e: Errno) -> ImageError {
    ImageError::io(format!("resolving {}", path.display()), e.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// The host path of what a lookup found (through /proc).
    fn host_path(l: Lookup) -> PathBuf {
        match l {
            Lookup::Found(e) => std::fs::read_link(format!("/proc/self/fd/{}", {
                use std::os::fd::AsRawFd;
                e.fd.as_raw_fd()
            }))
            .unwrap(),
            Lookup::Missing { .. } => panic!("not found"),
        }
    }

    #[test]
    fn links_in_mounts_resolve_in_the_view() {
        let d = tempfile::tempdir().unwrap();
        let (root, vol, host) = (
            d.path().join("root"),
            d.path().join("vol"),
            d.path().join("host"),
        );
        for p in [
            root.join("etc"),
            root.join("data"),
            vol.clone(),
            host.clone(),
        ] {
            std::fs::create_dir_all(p).unwrap();
        }
        std::fs::write(host.join("secret"), "host").unwrap();
        symlink(&host, vol.join("out")).unwrap();
        symlink("/etc", vol.join("etc")).unwrap();
        symlink("../../..", vol.join("up")).unwrap();
        let mut v = RootView::open(&root).unwrap();
        v.mount(Path::new("/data"), &vol).unwrap();
        // The host path is looked for in the container: not there.
        assert!(matches!(
            v.lookup(&host.join("secret"), false),
            Err(ImageError::NotFound(_))
        ));
        assert!(matches!(
            v.lookup(Path::new("/data/out/secret"), false),
            Err(ImageError::NotFound(_))
        ));
        assert_eq!(
            host_path(v.lookup(Path::new("/data/etc"), true).unwrap()),
            root.join("etc")
        );
        assert_eq!(
            host_path(v.lookup(Path::new("/data/up/etc"), true).unwrap()),
            root.join("etc")
        );
        assert_eq!(
            host_path(v.lookup(Path::new("/data/.."), true).unwrap()),
            root
        );
        assert_eq!(
            host_path(v.lookup(Path::new("/etc/../data"), true).unwrap()),
            vol
        );
        // Not followed at the end: the link itself, which can be replaced.
        match v.lookup(Path::new("/data/out"), false).unwrap() {
            Lookup::Found(e) => {
                assert!(e.is_symlink());
                assert_eq!(e.link_target().unwrap(), host);
                assert!(e.parent.is_some());
            }
            Lookup::Missing { .. } => panic!("the link is there"),
        }
        // A mount point cannot be replaced.
        match v.lookup(Path::new("/data"), false).unwrap() {
            Lookup::Found(e) => assert!(e.is_dir() && e.parent.is_none()),
            Lookup::Missing { .. } => panic!("the mount is there"),
        }
        assert!(matches!(
            v.lookup(Path::new("/data/new"), false).unwrap(),
            Lookup::Missing { name, .. } if name == "new"
        ));
    }

    #[test]
    fn mount_destinations_resolve_in_the_view_and_loops_end() {
        let d = tempfile::tempdir().unwrap();
        let (root, vol) = (d.path().join("root"), d.path().join("vol"));
        std::fs::create_dir_all(root.join("real")).unwrap();
        std::fs::create_dir_all(&vol).unwrap();
        symlink("/real", root.join("data")).unwrap();
        symlink("loop", root.join("loop")).unwrap();
        let mut v = RootView::open(&root).unwrap();
        v.mount(Path::new("/data"), &vol).unwrap();
        assert_eq!(host_path(v.lookup(Path::new("/real"), true).unwrap()), vol);
        assert!(matches!(
            v.lookup(Path::new("/loop/x"), true),
            Err(ImageError::Invalid(_))
        ));
    }
}
