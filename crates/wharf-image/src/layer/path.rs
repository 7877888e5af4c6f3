//! Entry-name hygiene and lexical symlink resolution for apply.
//!
//! The destination starts empty and only the tar being applied creates
//! symlinks in it, so a table of those symlinks is a complete picture of
//! where the kernel would follow one. Resolving parents against the table
//! lets us honour in-root links (`lib -> usr/lib`, then `lib/x.so`) like
//! docker does, and reject anything that would leave the root, before any
//! syscall runs. The kernel-side walk (O_NOFOLLOW per component) is the
//! second line of defence should the table ever be wrong.

use std::collections::HashMap;

/// The kernel's limit on symlink expansions in one lookup.
const MAX_SYMLINK_HOPS: u32 = 40;

/// Cleans a tar entry name into `out` as `a/b/c`: drops a leading `./`,
/// empty and `.` components. Absolute names and any `..` are refused, which
/// is stricter than needed but no legitimate layer uses them.
pub fn clean_name(raw: &[u8], out: &mut Vec<u8>) -> Result<(), &'static str> {
    out.clear();
    if raw.first() == Some(&b'/') {
        return Err("absolute path");
    }
    for comp in raw.split(|&b| b == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => return Err("path contains a \"..\" component"),
            c => {
                if c.contains(&0) {
                    return Err("path contains a NUL byte");
                }
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(c);
            }
        }
    }
    Ok(())
}

/// Splits a cleaned path into (parent, base); the parent of `a` is "".
pub fn split_last(p: &[u8]) -> (&[u8], &[u8]) {
    match p.iter().rposition(|&b| b == b'/') {
        Some(i) => (&p[..i], &p[i + 1..]),
        None => (&[], p),
    }
}

/// Appends `base` to the cleaned path `dir`.
pub fn join(dir: &[u8], base: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(dir);
    if !dir.is_empty() {
        out.push(b'/');
    }
    out.extend_from_slice(base);
}

/// Whether `p` is `dir` itself or below it.
pub fn is_within(p: &[u8], dir: &[u8]) -> bool {
    dir.is_empty() || (p.starts_with(dir) && (p.len() == dir.len() || p[dir.len()] == b'/'))
}

/// The symlinks this layer has created so far, by resolved path.
#[derive(Default)]
pub struct Symlinks {
    map: HashMap<Box<[u8]>, Box<[u8]>>,
}

impl Symlinks {
    pub fn insert(&mut self, path: &[u8], target: &[u8]) {
        self.map.insert(path.into(), target.into());
    }

    pub fn get(&self, path: &[u8]) -> Option<&[u8]> {
        self.map.get(path).map(|t| &**t)
    }

    pub fn remove(&mut self, path: &[u8]) {
        if !self.map.is_empty() {
            self.map.remove(path);
        }
    }

    /// Forgets `dir` and everything below it (the directory was deleted).
    pub fn remove_tree(&mut self, dir: &[u8]) {
        self.map.retain(|k, _| !is_within(k, dir));
    }

    /// Resolves the cleaned directory path `dir` into `out`, following the
    /// layer's own symlinks, so that `out` names a symlink-free path inside
    /// the root. `starts` is scratch space (component offsets in `out`).
    pub fn resolve(
        &self,
        dir: &[u8],
        out: &mut Vec<u8>,
        starts: &mut Vec<usize>,
    ) -> Result<(), String> {
        out.clear();
        if self.map.is_empty() {
            out.extend_from_slice(dir);
            return Ok(());
        }
        starts.clear();
        let mut hops = MAX_SYMLINK_HOPS;
        for comp in dir.split(|&b| b == b'/') {
            self.push(comp, None, out, starts, &mut hops)?;
        }
        Ok(())
    }

    /// Appends one component, expanding it if it is one of our symlinks.
    /// `via` is the symlink whose target is being expanded, for errors.
    fn push(
        &self,
        comp: &[u8],
        via: Option<(&[u8], &[u8])>,
        out: &mut Vec<u8>,
        starts: &mut Vec<usize>,
        hops: &mut u32,
    ) -> Result<(), String> {
        match comp {
            b"" | b"." => return Ok(()),
            b".." => {
                // `out` is symlink-free, so lexical `..` is what the kernel does.
                return match starts.pop() {
                    Some(s) => {
                        out.truncate(s);
                        Ok(())
                    }
                    None => Err(escape_msg(via)),
                };
            }
            _ => {}
        }
        let start = out.len();
        if !out.is_empty() {
            out.push(b'/');
        }
        out.extend_from_slice(comp);
        let Some((link, target)) = self.map.get_key_value(&out[..]) else {
            starts.push(start);
            return Ok(());
        };
        if *hops == 0 {
            return Err(format!(
                "too many levels of symbolic links at {:?}",
                String::from_utf8_lossy(link)
            ));
        }
        *hops -= 1;
        out.truncate(start);
        let via = Some((&**link, &**target));
        if target.first() == Some(&b'/') {
            return Err(escape_msg(via));
        }
        for c in target.split(|&b| b == b'/') {
            self.push(c, via, out, starts, hops)?;
        }
        Ok(())
    }
}

fn escape_msg(via: Option<(&[u8], &[u8])>) -> String {
    match via {
        Some((link, target)) => format!(
            "path goes through symlink {:?} -> {:?} outside the layer root",
            String::from_utf8_lossy(link),
            String::from_utf8_lossy(target)
        ),
        None => "path leaves the layer root".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(s: &str) -> Result<String, &'static str> {
        let mut out = Vec::new();
        clean_name(s.as_bytes(), &mut out).map(|_| String::from_utf8(out).unwrap())
    }

    fn resolve(links: &Symlinks, dir: &str) -> Result<String, String> {
        let (mut out, mut starts) = (Vec::new(), Vec::new());
        links
            .resolve(dir.as_bytes(), &mut out, &mut starts)
            .map(|_| String::from_utf8(out).unwrap())
    }

    #[test]
    fn cleans_names() {
        assert_eq!(clean("./").unwrap(), "");
        assert_eq!(clean("./etc/passwd").unwrap(), "etc/passwd");
        assert_eq!(clean("a//b/./c/").unwrap(), "a/b/c");
        assert!(clean("/etc/passwd").is_err());
        assert!(clean("a/../b").is_err());
        assert!(clean("..").is_err());
    }

    #[test]
    fn resolves_symlinks_lexically() {
        let mut l = Symlinks::default();
        l.insert(b"lib", b"usr/lib");
        l.insert(b"usr/lib/up", b"../..");
        l.insert(b"usr/lib/far", b"../../..");
        l.insert(b"abs", b"/etc");
        l.insert(b"loop1", b"loop2");
        l.insert(b"loop2", b"loop1");
        l.insert(b"here", b"./.");
        assert_eq!(resolve(&l, "lib/x").unwrap(), "usr/lib/x");
        assert_eq!(resolve(&l, "lib/up/etc").unwrap(), "etc");
        assert_eq!(resolve(&l, "here/lib").unwrap(), "usr/lib");
        assert!(resolve(&l, "lib/far").unwrap_err().contains("outside"));
        assert!(resolve(&l, "abs/x").unwrap_err().contains("outside"));
        assert!(resolve(&l, "loop1/x")
            .unwrap_err()
            .contains("too many levels"));
        assert_eq!(resolve(&l, "").unwrap(), "");
    }
}
