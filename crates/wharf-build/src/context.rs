//! The build context, read in place: source matching (Go globs per path
//! component), `.dockerignore` filtering, and content digests for cache
//! keys, with each file's hash cached in the store by its stat identity so
//! an unchanged context is not re-read.

use std::fs;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};
use wharf_store::build_cache::{self, FileStamp};
use wharf_store::Store;

use crate::ignore::{clean, Ignore};
use crate::{BuildError, BuildResult};

/// A context directory and its `.dockerignore`.
#[derive(Debug, Clone)]
pub struct Context {
    pub root: PathBuf,
    pub ignore: Ignore,
}

/// One source path matched in the context.
#[derive(Debug, Clone)]
pub struct Matched {
    /// Relative path (`/`-separated, no leading `/`); empty for the root.
    pub rel: String,
    pub path: PathBuf,
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
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

    pub fn included(&self, rel: &str) -> bool {
        rel.is_empty() || !self.ignore.excludes(rel)
    }

    /// The paths a COPY source names, in sorted order; an error when
    /// nothing matches (BuildKit: `"/x": not found`).
    pub fn matches(&self, source: &str) -> BuildResult<Vec<Matched>> {
        let rel = clean(source);
        let mut found = Vec::new();
        if has_glob(&rel) {
            self.glob(
                &rel.split('/').collect::<Vec<_>>(),
                String::new(),
                &mut found,
            );
        } else {
            let path = self.root.join(&rel);
            if fs::symlink_metadata(&path).is_ok() && self.included(&rel) {
                found.push(Matched { rel, path });
            }
        }
        if found.is_empty() {
            return Err(BuildError::NotFound(format!(
                "failed to compute cache key: \"/{}\": not found",
                clean(source)
            )));
        }
        Ok(found)
    }

    fn glob(&self, parts: &[&str], prefix: String, out: &mut Vec<Matched>) {
        let Some((first, rest)) = parts.split_first() else {
            return;
        };
        let dir = self.root.join(&prefix);
        let mut names: Vec<String> = match fs::read_dir(&dir) {
            Ok(rd) => rd
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| wharf_dockerfile::path_match(first, n))
                .collect(),
            Err(_) => return,
        };
        names.sort();
        for n in names {
            let rel = if prefix.is_empty() {
                n
            } else {
                format!("{prefix}/{n}")
            };
            if !self.included(&rel) {
                continue;
            }
            if rest.is_empty() {
                out.push(Matched {
                    path: self.root.join(&rel),
                    rel,
                });
            } else {
                self.glob(rest, rel, out);
            }
        }
    }

    /// A digest of everything under the matched sources that COPY would
    /// take: names, types, modes, link targets and file contents.
    pub fn digest(&self, store: &Store, sources: &[Matched]) -> BuildResult<String> {
        let mut entries = Vec::new();
        for m in sources {
            self.walk(&m.path, &m.rel, &mut entries)?;
        }
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
        Ok(hex::encode(h.finalize()))
    }

    fn walk(&self, path: &Path, rel: &str, out: &mut Vec<Entry>) -> BuildResult<()> {
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
            out.push(entry);
        } else if ft.is_dir() {
            entry.line.push('d');
            out.push(entry);
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
                if self.included(&child_rel) {
                    self.walk(&child, &child_rel, out)?;
                } else if self.ignore.may_include_below(&child_rel) && child.is_dir() {
                    self.walk_excluded_dir(&child, &child_rel, out)?;
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
            out.push(entry);
        }
        Ok(())
    }

    /// An excluded directory may hold re-included files (`!dir/keep`).
    fn walk_excluded_dir(&self, path: &Path, rel: &str, out: &mut Vec<Entry>) -> BuildResult<()> {
        let mut inner = Vec::new();
        self.walk(path, rel, &mut inner)?;
        out.extend(inner.into_iter().skip(1));
        Ok(())
    }
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
        assert!(e.contains("\"/nope\": not found"), "{e}");
    }
}
