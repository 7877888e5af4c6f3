//! The build context, read in place: source matching (Go globs per path
//! component), `.dockerignore` filtering, and content digests for cache
//! keys, with each file's hash cached in the store by its stat identity so
//! an unchanged context is not re-read.
//!
//! Sources resolve as in BuildKit's transferred context: as if the context
//! were `/`, links followed inside it ([`RootView`]), excluded entries
//! absent. A context's own links to the host lead nowhere, and a link
//! inside a copied directory is copied as the link. The context is the
//! user's directory, which does not change under the build: once resolved,
//! a source's path has no symlink in it and is read by path.

use std::fs;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};
use wharf_store::build_cache::{self, FileStamp};
use wharf_store::Store;

use wharf_image::fscopy::{Lookup, RootView, MAX_LINKS};
use wharf_image::ImageError;

use crate::{BuildError, BuildResult};
use wharf_dockerfile::{clean_context_path as clean, Ignore};

/// A context directory and its `.dockerignore`.
#[derive(Debug, Clone)]
pub struct Context {
    pub root: PathBuf,
    pub ignore: Ignore,
}

/// One source path matched in the context.
#[derive(Debug, Clone)]
pub struct Matched {
    /// The path as named (cleaned, `/`-separated, no leading `/`; empty
    /// for the root): what the destination is named after.
    pub rel: String,
    /// Where it led in the context, symlinks followed inside the root
    /// (same form): what `.dockerignore` rules apply to.
    pub resolved: String,
    /// The host path of `resolved`; no component of it is a symlink.
    pub path: PathBuf,
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// BuildKit's error for a source that is not in the context (or stage).
fn not_found(path: &str) -> BuildError {
    BuildError::NotFound(format!(
        "failed to compute cache key: \"/{}\" not found: not found",
        clean(path)
    ))
}

impl Context {
    pub fn open(root: PathBuf) -> BuildResult<Context> {
        let ignore = match fs::read_to_string(root.join(".dockerignore")) {
            Ok(t) => Ignore::parse(&t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ignore::default(),
            Err(e) => return Err(BuildError::io("reading .dockerignore", e)),
        };
        Ok(Context { root, ignore })
    }

    /// A stage's or an image's filesystem as a source root: nothing is
    /// excluded.
    pub fn tree(root: &Path) -> Context {
        Context {
            root: root.to_path_buf(),
            ignore: Ignore::default(),
        }
    }

    pub fn included(&self, rel: &str) -> bool {
        rel.is_empty() || !self.ignore.excludes(rel)
    }

    /// Whether the entry at `rel` (resolved) is in the context BuildKit
    /// would see: included, or a directory an exception may reach into.
    fn present(&self, rel: &Path, is_dir: bool) -> bool {
        let rel = rel.to_string_lossy();
        self.included(&rel) || (is_dir && self.ignore.may_include_below(&rel))
    }

    fn view(&self) -> BuildResult<RootView> {
        Ok(RootView::open(&self.root)?)
    }

    /// The paths a COPY source names, in sorted order; an error when
    /// nothing matches (BuildKit: `"/x" not found: not found`).
    pub fn matches(&self, source: &str) -> BuildResult<Vec<Matched>> {
        if !has_glob(source) {
            return Ok(vec![self.resolve(source)?]);
        }
        let rel = clean(source);
        let mut found = Vec::new();
        let view = self.view()?;
        self.glob(
            &view,
            &rel.split('/').collect::<Vec<_>>(),
            String::new(),
            &mut found,
        )?;
        if found.is_empty() {
            return Err(not_found(source));
        }
        Ok(found)
    }

    /// The single path `source` names, resolved as if the context (or
    /// tree) were `/`, the way BuildKit follows a source: links on the way
    /// and a link at the end are followed inside the root, so nothing
    /// outside it is ever reached, and excluded entries do not exist. The
    /// error names the path that was not there (a final link's target).
    pub fn resolve(&self, source: &str) -> BuildResult<Matched> {
        self.resolve_in(&self.view()?, source)
    }

    fn resolve_in(&self, view: &RootView, source: &str) -> BuildResult<Matched> {
        let visible = |p: &Path, d: bool| self.present(p, d);
        let rel = clean(source);
        let mut p = Path::new("/").join(&rel);
        for _ in 0..=MAX_LINKS {
            let e = match view.lookup_visible(&p, false, &visible) {
                Ok(Lookup::Found(e)) => e,
                Ok(Lookup::Missing { .. }) | Err(ImageError::NotFound(_)) => {
                    return Err(not_found(&p.to_string_lossy()))
                }
                Err(e) => return Err(e.into()),
            };
            if !e.is_symlink() {
                let resolved = e.path();
                return Ok(Matched {
                    rel,
                    resolved: resolved.to_string_lossy().into_owned(),
                    path: self.root.join(resolved),
                });
            }
            // Relative targets start where the link is; `..` is taken
            // by the next lookup, inside the root.
            let at = Path::new("/").join(e.path());
            p = at.parent().unwrap_or(Path::new("/")).join(e.link_target()?);
        }
        Err(BuildError::Invalid(format!(
            "/{rel}: too many levels of symbolic links"
        )))
    }

    /// Glob `parts` below the named directory `prefix`, each directory on
    /// the way looked up in the view; a match is resolved like a single
    /// source (a link to outside the root is an error, as in BuildKit).
    fn glob(
        &self,
        view: &RootView,
        parts: &[&str],
        prefix: String,
        out: &mut Vec<Matched>,
    ) -> BuildResult<()> {
        let Some((first, rest)) = parts.split_first() else {
            return Ok(());
        };
        let visible = |p: &Path, d: bool| self.present(p, d);
        let dir = match view.lookup_visible(&Path::new("/").join(&prefix), true, &visible) {
            Ok(Lookup::Found(e)) if e.is_dir() => e,
            Ok(_) | Err(ImageError::NotFound(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let mut names: Vec<String> = dir
            .names()?
            .into_iter()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| wharf_dockerfile::path_match(first, n))
            .collect();
        names.sort();
        for n in names {
            let rel = if prefix.is_empty() {
                n
            } else {
                format!("{prefix}/{n}")
            };
            // Excluded entries are not there to match.
            match view.lookup_visible(&Path::new("/").join(&rel), false, &visible)? {
                Lookup::Found(_) => {}
                Lookup::Missing { .. } => continue,
            }
            if rest.is_empty() {
                out.push(self.resolve_in(view, &rel)?);
            } else {
                self.glob(view, rest, rel, out)?;
            }
        }
        Ok(())
    }

    /// A digest of everything under the matched sources that COPY would
    /// take: names, types, modes, link targets and file contents.
    pub fn digest(&self, store: &Store, sources: &[Matched]) -> BuildResult<String> {
        Ok(self.digest_and_excluded(store, sources)?.0)
    }

    /// [`Context::digest`], and the paths the walk left out because
    /// `.dockerignore` excludes them (relative to the context root; an
    /// excluded directory stands for all below it).
    pub fn digest_and_excluded(
        &self,
        store: &Store,
        sources: &[Matched],
    ) -> BuildResult<(String, Vec<String>)> {
        let mut w = Walked::default();
        for m in sources {
            self.walk(&m.path, &m.resolved, &mut w)?;
        }
        let Walked {
            mut entries,
            excluded,
        } = w;
        let mut h = Sha256::new();
        let mut misses = Vec::new();
        store.read(|tx| {
            for e in &mut entries {
                if let Some(stamp) = &e.stamp {
                    e.digest = build_cache::file_hash(tx, &e.path_key, stamp)?;
                }
            }
            Ok(())
        })?;
        for e in &mut entries {
            if let (Some(stamp), None) = (&e.stamp, &e.digest) {
                let d = hash_file(Path::new(&e.path_key))?;
                misses.push((e.path_key.clone(), *stamp, d.clone()));
                e.digest = Some(d);
            }
            h.update(e.line.as_bytes());
            h.update(e.digest.as_deref().unwrap_or("").as_bytes());
            h.update(b"\n");
        }
        if !misses.is_empty() {
            store.write(|tx| {
                for (p, s, d) in &misses {
                    build_cache::put_file_hash(tx, p, s, d)?;
                }
                Ok(())
            })?;
        }
        Ok((hex::encode(h.finalize()), excluded))
    }

    fn walk(&self, path: &Path, rel: &str, out: &mut Walked) -> BuildResult<()> {
        let meta = fs::symlink_metadata(path)
            .map_err(|e| BuildError::io(format!("reading {}", path.display()), e))?;
        let ft = meta.file_type();
        let mode = meta.mode() & 0o7777;
        let mut entry = Entry {
            line: format!("{rel}\0{mode:o}\0"),
            path_key: path.display().to_string(),
            stamp: None,
            digest: None,
        };
        if ft.is_symlink() {
            let target = fs::read_link(path)
                .map_err(|e| BuildError::io(format!("reading {}", path.display()), e))?;
            entry.line.push_str(&format!("l{}", target.display()));
            out.entries.push(entry);
        } else if ft.is_dir() {
            entry.line.push('d');
            out.entries.push(entry);
            let mut names: Vec<_> = fs::read_dir(path)
                .map_err(|e| BuildError::io(format!("reading {}", path.display()), e))?
                .flatten()
                .map(|e| e.file_name())
                .collect();
            names.sort();
            for n in names {
                let child_rel = if rel.is_empty() {
                    n.to_string_lossy().into_owned()
                } else {
                    format!("{rel}/{}", n.to_string_lossy())
                };
                let child = path.join(&n);
                let is_dir = || fs::symlink_metadata(&child).is_ok_and(|m| m.is_dir());
                if self.included(&child_rel) {
                    self.walk(&child, &child_rel, out)?;
                } else if self.ignore.may_include_below(&child_rel) && is_dir() {
                    // An excluded directory may hold re-included files
                    // (`!dir/keep`): walked, without its own entry.
                    let at = out.entries.len();
                    self.walk(&child, &child_rel, out)?;
                    out.entries.remove(at);
                } else {
                    out.excluded.push(child_rel);
                }
            }
        } else {
            entry.line.push('f');
            entry.stamp = Some(FileStamp {
                ino: meta.ino(),
                size: meta.size(),
                mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
                ctime_ns: meta.ctime() * 1_000_000_000 + meta.ctime_nsec(),
            });
            out.entries.push(entry);
        }
        Ok(())
    }
}

/// What a walk of the context found: entries to digest, and the paths
/// `.dockerignore` left out.
#[derive(Default)]
struct Walked {
    entries: Vec<Entry>,
    excluded: Vec<String>,
}

struct Entry {
    line: String,
    path_key: String,
    stamp: Option<FileStamp>,
    digest: Option<String>,
}

fn hash_file(path: &Path) -> BuildResult<String> {
    let mut f = fs::File::open(path)
        .map_err(|e| BuildError::io(format!("reading {}", path.display()), e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| BuildError::io(format!("reading {}", path.display()), e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_ignores() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        fs::create_dir_all(r.join("src/a")).unwrap();
        fs::write(r.join("package.json"), "{}").unwrap();
        fs::write(r.join("package-lock.json"), "{}").unwrap();
        fs::write(r.join("src/a/x.js"), "x").unwrap();
        fs::write(r.join(".dockerignore"), "*.log\nsrc/a\n").unwrap();
        fs::write(r.join("debug.log"), "x").unwrap();
        let c = Context::open(r.to_path_buf()).unwrap();
        let m: Vec<_> = c
            .matches("package*.json")
            .unwrap()
            .into_iter()
            .map(|m| m.rel)
            .collect();
        assert_eq!(m, ["package-lock.json", "package.json"]);
        assert!(c.matches("debug.log").is_err());
        assert!(c.matches("src/a/x.js").is_err());
        let e = c.matches("nope").unwrap_err().to_string();
        assert!(e.contains("\"/nope\" not found: not found"), "{e}");
    }

    #[test]
    fn sources_resolve_inside_the_filtered_context() {
        use std::os::unix::fs::symlink;
        let d = tempfile::tempdir().unwrap();
        let outside = d.path().join("outside");
        fs::create_dir_all(&outside).unwrap();
        fs::write(outside.join("secret"), "host").unwrap();
        let r = d.path().join("ctx");
        fs::create_dir_all(r.join("sub")).unwrap();
        fs::create_dir_all(r.join("hidden")).unwrap();
        fs::write(r.join("sub/f"), "f").unwrap();
        fs::write(r.join("sub/skip"), "s").unwrap();
        fs::write(r.join("hidden/h"), "h").unwrap();
        fs::write(r.join(".dockerignore"), "hidden\nsub/skip\n").unwrap();
        symlink(&outside, r.join("link")).unwrap();
        symlink("/sub", r.join("inside")).unwrap();
        symlink("hidden", r.join("alias")).unwrap();
        let c = Context::open(r.clone()).unwrap();
        let err = |s: &str| c.matches(s).unwrap_err().to_string();
        assert!(err("link/secret").contains("\"/link/secret\" not found"));
        let named = format!("\"{}\" not found", outside.display());
        assert!(err("link").contains(&named), "{}", err("link"));
        assert!(err("lin?").contains(&named));
        assert!(err("link/*").contains("\"/link/*\" not found"));
        assert!(err("alias").contains("\"/hidden\" not found"));
        assert!(err("alias/h").contains("\"/alias/h\" not found"));
        let m = c.resolve("inside/f").unwrap();
        assert_eq!((m.rel.as_str(), m.resolved.as_str()), ("inside/f", "sub/f"));
        assert_eq!(m.path, r.join("sub/f"));
        let m = c.matches("ins*").unwrap();
        assert_eq!(m[0].resolved, "sub");
        // What .dockerignore takes out of a source, for mounts to hide.
        let d = tempfile::tempdir().unwrap();
        let store = Store::open(d.path()).unwrap();
        let (_, excluded) = c
            .digest_and_excluded(&store, &[c.resolve("inside").unwrap()])
            .unwrap();
        assert_eq!(excluded, ["sub/skip"]);
        let (_, excluded) = c
            .digest_and_excluded(&store, &[c.resolve(".").unwrap()])
            .unwrap();
        assert_eq!(excluded, ["hidden", "sub/skip"]);
    }
}
