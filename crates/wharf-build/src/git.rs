//! Git sources: `build <git URL>` contexts and `ADD <git URL> <dir>`,
//! fetched with the git binary as BuildKit's git source does it. A URL is
//! `<remote>[#<ref>[:<subdir>]]`; the ref (a branch, tag, `refs/...` or a
//! commit) defaults to the remote's HEAD. Each remote has a bare mirror in
//! the store's cache (`cache/git/<key>/repo.git`, shallow fetches into
//! it), and each commit one checkout beside it (`checkouts/<commit>`),
//! reused by later builds: the context is then the same files, with the
//! same inodes, and the file hash cache holds. `.git` is left out unless
//! asked for (`ADD --keep-git-dir=true`, BuildKit's
//! `BUILDKIT_CONTEXT_KEEP_GIT_DIR` for a context); submodules are not
//! fetched.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use wharf_store::Store;

use crate::progress::Progress;
use crate::{BuildError, BuildResult};

/// A git URL split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitUrl {
    /// What git fetches from.
    pub remote: String,
    /// The ref; empty for the remote's HEAD.
    pub reference: String,
    /// A directory in the repository to use instead of its root.
    pub subdir: String,
}

/// docker's test for a git URL (`urlutil.IsGitURL`): `git://`, `git@`,
/// `ssh://`, `github.com/`, or an http(s) URL whose path ends in `.git`.
pub fn is_git_url(s: &str) -> bool {
    s.starts_with("git@")
        || s.starts_with("git://")
        || s.starts_with("ssh://")
        || s.starts_with("github.com/")
        || (crate::remote::is_http(s) && s.split('#').next().is_some_and(|u| u.ends_with(".git")))
}

impl GitUrl {
    pub fn parse(url: &str) -> GitUrl {
        let (remote, fragment) = url.split_once('#').unwrap_or((url, ""));
        let (reference, subdir) = fragment.split_once(':').unwrap_or((fragment, ""));
        let remote = match remote.strip_prefix("github.com/") {
            Some(rest) => format!("https://github.com/{rest}"),
            None => remote.to_string(),
        };
        GitUrl {
            remote,
            reference: reference.to_string(),
            subdir: subdir.trim_matches('/').to_string(),
        }
    }
}

/// A checked-out commit.
#[derive(Debug, Clone)]
pub struct Checkout {
    /// The commit's full ID.
    pub commit: String,
    /// The files (the subdirectory when the URL names one).
    pub path: PathBuf,
}

impl Checkout {
    /// What the files are, for a cache key.
    pub fn key(&self, url: &GitUrl, keep_git_dir: bool) -> String {
        format!("git {} {} {}", self.commit, url.subdir, keep_git_dir)
    }
}

fn git_error(remote: &str, what: &str, detail: &str) -> BuildError {
    let detail = detail.trim();
    BuildError::NotFound(if detail.is_empty() {
        format!("failed to {what} {remote}")
    } else {
        format!("failed to {what} {remote}: {detail}")
    })
}

/// Run git (no prompts, no terminal, no hooks of the user's config);
/// returns stdout, or stderr as the error.
fn git(args: &[&str], dir: Option<&Path>) -> Result<String, String> {
    let mut cmd = Command::new("git");
    cmd.args([
        "-c",
        "advice.detachedHead=false",
        "-c",
        "protocol.file.allow=always",
    ])
    .args(args)
    .env("GIT_TERMINAL_PROMPT", "0")
    .env("GIT_CONFIG_NOSYSTEM", "1")
    .stdin(Stdio::null());
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    match cmd.output() {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).into_owned()),
        Ok(o) => Err(format!(
            "{}: {}",
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Err(format!("running git: {e}")),
    }
}

/// Fetch `url` and check out its commit (or reuse the checkout); the
/// progress shows BuildKit's `[internal] load git source` vertex.
pub fn fetch(
    store: &Store,
    url: &str,
    keep_git_dir: bool,
    progress: &Progress,
) -> BuildResult<Checkout> {
    let step = progress.step(&format!("[internal] load git source {url}"));
    match fetch_quiet(store, &GitUrl::parse(url), keep_git_dir) {
        Ok(c) => {
            step.done();
            Ok(c)
        }
        Err(e) => {
            step.failed(&e.to_string());
            Err(e)
        }
    }
}

fn fetch_quiet(store: &Store, url: &GitUrl, keep_git_dir: bool) -> BuildResult<Checkout> {
    let base = cache_dir(store).join(crate::cache::key(&url.remote, &[]));
    let bare = base.join("repo.git");
    let io = |what: &str, e| BuildError::io(format!("{what} for {}", url.remote), e);
    if !bare.join("HEAD").exists() {
        fs::create_dir_all(&base).map_err(|e| io("creating the git cache", e))?;
        let bare_s = bare.to_string_lossy();
        git(&["init", "--quiet", "--bare", &bare_s], None)
            .map_err(|e| git_error(&url.remote, "init a mirror of", &e))?;
    }
    let wanted = if url.reference.is_empty() {
        "HEAD"
    } else {
        url.reference.as_str()
    };
    // A shallow fetch of the ref; a commit ID the server does not serve
    // by name is found in a full fetch of its branches and tags.
    let shallow = git(
        &[
            "fetch",
            "--quiet",
            "--no-tags",
            "--force",
            "--depth=1",
            &url.remote,
            wanted,
        ],
        Some(&bare),
    );
    let commit = match shallow {
        Ok(_) => git(&["rev-parse", "FETCH_HEAD^{commit}"], Some(&bare)),
        Err(e) if is_commit_id(wanted) => git(
            &[
                "fetch",
                "--quiet",
                "--force",
                &url.remote,
                "+refs/heads/*:refs/remotes/origin/*",
                "+refs/tags/*:refs/tags/*",
            ],
            Some(&bare),
        )
        .and_then(|_| git(&["rev-parse", &format!("{wanted}^{{commit}}")], Some(&bare)))
        .map_err(|_| e),
        Err(e) => Err(e),
    }
    .map_err(|e| git_error(&url.remote, "fetch remote", &e))?;
    let commit = commit.trim().to_string();
    // Later fetches may move FETCH_HEAD: the checkout fetches this ref.
    let pin = format!("refs/wharf/{commit}");
    git(&["update-ref", &pin, &commit], Some(&bare))
        .map_err(|e| git_error(&url.remote, "fetch remote", &e))?;
    let name = if keep_git_dir {
        format!("{commit}.git")
    } else {
        commit.clone()
    };
    let checkout = base.join("checkouts").join(&name);
    if !checkout.exists() {
        let tmp = base
            .join("checkouts")
            .join(format!(".{name}.{}", std::process::id()));
        let _ = fs::remove_dir_all(&tmp);
        fs::create_dir_all(&tmp).map_err(|e| io("creating a checkout", e))?;
        let bare_s = bare.to_string_lossy();
        let made = git(&["init", "--quiet"], Some(&tmp))
            .and_then(|_| {
                git(
                    &["fetch", "--quiet", "--depth=1", &bare_s, &pin],
                    Some(&tmp),
                )
            })
            .and_then(|_| git(&["checkout", "--quiet", "--detach", &commit], Some(&tmp)))
            .and_then(|_| git(&["remote", "add", "origin", &url.remote], Some(&tmp)));
        if let Err(e) = made {
            let _ = fs::remove_dir_all(&tmp);
            return Err(git_error(&url.remote, "checkout", &e));
        }
        if !keep_git_dir {
            fs::remove_dir_all(tmp.join(".git")).map_err(|e| io("removing .git", e))?;
        }
        if let Err(e) = fs::rename(&tmp, &checkout) {
            let _ = fs::remove_dir_all(&tmp);
            // Another build made it first.
            if !checkout.exists() {
                return Err(io("storing a checkout", e));
            }
        }
    }
    let path = if url.subdir.is_empty() {
        checkout
    } else {
        // Cleaned (`..` cannot climb out) and resolved: a symlink in the
        // repository must not make the context a host directory.
        let p = checkout.join(wharf_dockerfile::clean_context_path(&url.subdir));
        let inside = match (p.canonicalize(), checkout.canonicalize()) {
            (Ok(real), Ok(root)) => real.starts_with(&root) && real.is_dir(),
            _ => false,
        };
        if !inside {
            return Err(BuildError::NotFound(format!(
                "{}: subdirectory {} not found at {commit}",
                url.remote, url.subdir
            )));
        }
        p
    };
    Ok(Checkout { commit, path })
}

fn is_commit_id(s: &str) -> bool {
    s.len() >= 7 && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The git cache (removed by `builder prune`).
pub fn cache_dir(store: &Store) -> PathBuf {
    store.root().join("cache").join("git")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_as_docker_reads_them() {
        assert!(is_git_url("git://h/r"));
        assert!(is_git_url("git@github.com:a/b"));
        assert!(is_git_url("https://h/r.git#main:sub"));
        assert!(is_git_url("github.com/a/b"));
        assert!(!is_git_url("https://h/r.tar.gz"));
        assert!(!is_git_url("./dir"));
        let u = GitUrl::parse("http://127.0.0.1:1/r.git#v1:a/b/");
        assert_eq!(u.remote, "http://127.0.0.1:1/r.git");
        assert_eq!(u.reference, "v1");
        assert_eq!(u.subdir, "a/b");
        let u = GitUrl::parse("git://h/r.git");
        assert_eq!((u.reference.as_str(), u.subdir.as_str()), ("", ""));
        assert_eq!(
            GitUrl::parse("github.com/a/b#x").remote,
            "https://github.com/a/b"
        );
        assert!(is_commit_id("0123abc"));
        assert!(!is_commit_id("main"));
    }
}
