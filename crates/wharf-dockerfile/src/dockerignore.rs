//! `.dockerignore`, with moby's patternmatcher rules: one pattern per line,
//! `#` comments, `!` exceptions (the last matching line wins), patterns
//! cleaned like Go's `filepath.Clean` with leading `/` dropped, `**`
//! matching any number of directories, and a pattern that matches a parent
//! directory matching everything below it. BuildKit keeps this parser in its
//! Dockerfile frontend (`frontend/dockerfile/dockerignore`); so does wharf.

use crate::glob::path_match;

#[derive(Debug, Clone)]
struct Pattern {
    exclusion: bool,
    /// Cleaned pattern split at `/`.
    parts: Vec<String>,
}

/// Parsed `.dockerignore` patterns.
#[derive(Debug, Clone, Default)]
pub struct Ignore {
    patterns: Vec<Pattern>,
}

/// Go's `path.Clean` for a relative path: no `.`, no empty parts, `..`
/// resolved (leading ones dropped, as the context root has no parent).
pub fn clean_context_path(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            p => out.push(p),
        }
    }
    out.join("/")
}

impl Ignore {
    pub fn parse(text: &str) -> Ignore {
        let patterns = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| {
                let (exclusion, p) = match l.strip_prefix('!') {
                    Some(rest) => (true, rest.trim()),
                    None => (false, l),
                };
                let cleaned = clean_context_path(p);
                (!cleaned.is_empty()).then(|| Pattern {
                    exclusion,
                    parts: cleaned.split('/').map(str::to_string).collect(),
                })
            })
            .collect();
        Ignore { patterns }
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether `path` (relative to the context root, `/`-separated) is
    /// excluded from the context.
    pub fn excludes(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let mut excluded = false;
        for p in &self.patterns {
            let hit = (1..=parts.len()).any(|n| match_parts(&p.parts, &parts[..n]));
            if hit {
                excluded = !p.exclusion;
            }
        }
        excluded
    }

    /// Whether some exception could re-include a path under directory
    /// `dir` (so an excluded directory must still be walked).
    pub fn may_include_below(&self, dir: &str) -> bool {
        let dir = format!("{dir}/");
        self.patterns.iter().any(|p| {
            p.exclusion && {
                let joined = p.parts.join("/");
                joined.starts_with(&dir) || joined.contains("**") || joined.contains('*')
            }
        })
    }
}

fn match_parts(pattern: &[String], path: &[&str]) -> bool {
    // Dynamic programming over (pattern part, path part), from the ends:
    // trying every split for every `**` is exponential in their number
    // (`**/**/**/…/x` against a deep path never returned; found by fuzzing).
    // at[i * w + j]: do pattern[i..] match path[j..]?
    let w = path.len() + 1;
    let mut at = vec![false; (pattern.len() + 1) * w];
    at[pattern.len() * w + path.len()] = true;
    for (i, part) in pattern.iter().enumerate().rev() {
        let last = i + 1 == pattern.len();
        let mut below = false;
        for j in (0..=path.len()).rev() {
            at[i * w + j] = if part == "**" && last {
                // A final `**` is Go's `.*` after the `/` before it: it
                // needs something below (`docs/**` leaves `docs` itself
                // in, BuildKit keeps the empty directory).
                j < path.len()
            } else if part == "**" {
                // Any number of parts, including none.
                below |= at[(i + 1) * w + j];
                below
            } else {
                j < path.len() && at[(i + 1) * w + j + 1] && path_match(part, path[j])
            };
        }
    }
    at[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_rules() {
        let ig = Ignore::parse(
            "# comment\nnode_modules\n*.log\n!keep.log\n/build/\ndocs/**/*.md\n**/tmp\n",
        );
        assert!(ig.excludes("node_modules"));
        assert!(ig.excludes("node_modules/x/y.js"));
        assert!(ig.excludes("a.log"));
        assert!(!ig.excludes("keep.log"));
        assert!(!ig.excludes("sub/a.log"), "* does not cross /");
        assert!(ig.excludes("build/out"));
        assert!(ig.excludes("docs/a.md"));
        assert!(ig.excludes("docs/x/y/z.md"));
        assert!(!ig.excludes("docs/a.txt"));
        assert!(ig.excludes("tmp"));
        assert!(ig.excludes("a/b/tmp/c"));
        assert!(!ig.excludes("server.js"));
        let ig = Ignore::parse("docs/**\n");
        assert!(!ig.excludes("docs"), "the directory itself stays");
        assert!(ig.excludes("docs/a.md"));
        assert!(ig.excludes("docs/sub/b"));
        assert!(Ignore::parse("**\n").excludes("x"));
    }

    #[test]
    fn cleans_patterns() {
        assert_eq!(clean_context_path("./a//b/../c/"), "a/c");
        assert_eq!(clean_context_path("/../x"), "x");
        let ig = Ignore::parse("./a/../b\n");
        assert!(ig.excludes("b"));
    }

    #[test]
    fn exception_inside_excluded_dir() {
        let ig = Ignore::parse("dir\n!dir/keep\n");
        assert!(ig.excludes("dir/other"));
        assert!(!ig.excludes("dir/keep"));
        assert!(ig.may_include_below("dir"));
    }

    /// Many `**` against a deep path: exponential when every split was
    /// tried, instant now.
    #[test]
    fn many_double_stars_are_linear() {
        let ig = Ignore::parse(&format!("{}x\n", "**/".repeat(30)));
        let deep = "d/".repeat(100);
        assert!(!ig.excludes(&format!("{deep}y")));
        assert!(ig.excludes(&format!("{deep}x")));
        assert!(ig.excludes(&format!("{deep}x/below")));
        assert!(ig.excludes("x"), "** matches no directory too");
    }
}
