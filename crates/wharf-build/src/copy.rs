//! COPY and ADD: sources from the context (`.dockerignore` applied), an
//! earlier stage or an image, written into the stage's mounted filesystem
//! with BuildKit's rules: a directory source copies its contents; several
//! sources or a destination ending in `/` mean a directory; relative
//! destinations start at WORKDIR; missing parents are created 0755; files
//! from the context belong to root unless `--chown`, files from a stage
//! keep their owners; modes and modification times are kept unless
//! `--chmod`. ADD also unpacks local tar archives.

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use wharf_dockerfile::{Instruction, InstructionKind, SourceContent};
use wharf_image::fscopy::{copy_tree_filtered, resolve_in_root, CopyOptions};

use crate::cache;
use crate::context::{Context, Matched};
use crate::git;
use crate::mounted::Mounted;
use crate::plan::Source;
use crate::remote;
use crate::stage::{lowers_of, StageRun};
use crate::{BuildError, BuildResult};

/// The parts of COPY and ADD the builder uses, expanded.
struct CopySpec {
    add: bool,
    sources: Vec<String>,
    contents: Vec<SourceContent>,
    dest: String,
    from: Option<String>,
    chown: Option<String>,
    chmod: Option<String>,
    /// `--parents`: keep the sources' directories under the destination.
    parents: bool,
    /// `--exclude` patterns, relative to each source.
    excludes: Vec<String>,
    /// ADD `--checksum=sha256:...` of a URL source.
    checksum: Option<String>,
    /// ADD `--keep-git-dir`.
    keep_git_dir: bool,
}

impl CopySpec {
    fn of(ins: &Instruction) -> CopySpec {
        match &ins.kind {
            InstructionKind::Copy(c) => CopySpec {
                add: false,
                sources: c.sources.clone(),
                contents: c.contents.clone(),
                dest: c.dest.clone(),
                from: c.from.clone(),
                chown: c.chown.clone(),
                chmod: c.chmod.clone(),
                parents: c.parents,
                excludes: c.excludes.clone(),
                checksum: None,
                keep_git_dir: false,
            },
            InstructionKind::Add(a) => CopySpec {
                add: true,
                sources: a.sources.clone(),
                contents: a.contents.clone(),
                dest: a.dest.clone(),
                from: None,
                chown: a.chown.clone(),
                chmod: a.chmod.clone(),
                parents: false,
                excludes: a.excludes.clone(),
                checksum: a.checksum.clone(),
                keep_git_dir: a.keep_git_dir.unwrap_or(false),
            },
            _ => unreachable!("COPY or ADD"),
        }
    }
}

/// Create `path` (absolute, inside `root`) and its missing parents, owned
/// by `owner`; returns the host path it resolved to.
pub fn mkdir_all(root: &Path, path: &str, owner: (u32, u32)) -> BuildResult<PathBuf> {
    let mut prefix = String::new();
    let mut resolved = root.to_path_buf();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        prefix.push('/');
        prefix.push_str(part);
        resolved = resolve_in_root(root, &prefix)?;
        match fs::symlink_metadata(&resolved) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(BuildError::Invalid(format!(
                    "cannot create directory {prefix}: a file is in the way"
                )))
            }
            Err(_) => {
                fs::create_dir(&resolved)
                    .map_err(|e| BuildError::io(format!("creating {prefix}"), e))?;
                std::os::unix::fs::lchown(&resolved, Some(owner.0), Some(owner.1))
                    .map_err(|e| BuildError::io(format!("chown {prefix}"), e))?;
            }
        }
    }
    Ok(resolved)
}

fn parse_chmod(s: &str) -> BuildResult<u32> {
    u32::from_str_radix(s, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| BuildError::Invalid(format!("invalid chmod parameter: {s}")))
}

/// Where sources come from.
enum Origin<'m> {
    Context(&'m Context),
    Tree(&'m Path),
}

impl StageRun<'_, '_> {
    pub fn copy(&mut self, ins: &Instruction, expanded: &Instruction) -> BuildResult<()> {
        let spec = CopySpec::of(expanded);
        let name = if spec.add { "ADD" } else { "COPY" };
        // A git source is a tree of its own, as a stage is for COPY --from.
        let git_url = spec.sources.iter().find(|s| spec.add && git::is_git_url(s));
        if let Some(u) = git_url {
            if spec.sources.len() + spec.contents.len() > 1 {
                return Err(BuildError::Invalid(format!(
                    "ADD {u}: a git source must be the only source of its ADD"
                )));
            }
        }
        if spec.checksum.is_some() && !spec.sources.iter().all(|s| remote::is_http(s)) {
            return Err(BuildError::Invalid(
                "checksum can't be specified for non-HTTP(S) sources".into(),
            ));
        }
        // URL sources are fetched first: what they hold is part of the key.
        // A dry run fetches nothing: it gives up, and every stage is built.
        let fetches = spec.add
            && spec
                .sources
                .iter()
                .any(|s| remote::is_http(s) || git::is_git_url(s));
        if self.dry && fetches {
            return Err(BuildError::Invalid(format!(
                "{name} fetches a remote source: no dry run"
            )));
        }
        let mut remotes = Vec::new();
        if spec.add {
            for u in spec
                .sources
                .iter()
                .filter(|s| remote::is_http(s) && !git::is_git_url(s))
            {
                remotes.push(remote::fetch(
                    self.b.store,
                    u,
                    spec.checksum.as_deref(),
                    self.b.progress,
                )?);
            }
        }
        let checkout = match git_url {
            Some(u) => Some((
                git::GitUrl::parse(u),
                git::fetch(self.b.store, u, spec.keep_git_dir, self.b.progress)?,
            )),
            None => None,
        };
        let local: Vec<String> = match &checkout {
            Some(_) => vec![".".to_string()],
            None => spec
                .sources
                .iter()
                .filter(|s| !(spec.add && remote::is_http(s)))
                .cloned()
                .collect(),
        };
        let mut shown: Vec<String> = spec.sources.clone();
        shown.extend(spec.contents.iter().map(|c| c.path.clone()));
        let created_by = format!("{name} {} {} # buildkit", shown.join(" "), spec.dest);
        let chmod = spec.chmod.as_deref().map(parse_chmod).transpose()?;

        // What the sources are, and a digest of them for the key.
        let source = match &spec.from {
            None => None,
            Some(f) => Some(self.b.plan.source(f, self.index)?),
        };
        // A named context (`--build-context name=DIR`) is a context of its
        // own, with its own `.dockerignore`.
        let named_ctx = match &source {
            Some(Source::Context(dir)) => Some(Context::open(dir.clone())?),
            _ => None,
        };
        let main_ctx = named_ctx.as_ref().or(self.b.ctx.as_ref());
        let (digest, source_tree) = match &source {
            None if checkout.is_some() => (
                checkout
                    .as_ref()
                    .map(|(u, c)| c.key(u, spec.keep_git_dir))
                    .unwrap_or_default(),
                None,
            ),
            None | Some(Source::Context(_)) => {
                let ctx = main_ctx;
                let mut all = Vec::new();
                for s in &local {
                    let ctx = ctx.ok_or_else(|| {
                        BuildError::NotFound(format!(
                            "failed to compute cache key: \"/{s}\" not found: not found (the build has no context)"
                        ))
                    })?;
                    all.extend(ctx.matches(s)?);
                }
                let d = match ctx {
                    Some(c) if !all.is_empty() => c.digest(self.b.store, &all)?,
                    _ => String::new(),
                };
                (d, None)
            }
            // The stage's layers are needed only if the step runs.
            Some(Source::Stage(s)) => {
                self.refs.push(*s);
                (self.source_key(*s)?, None)
            }
            Some(Source::Image(n)) => {
                let id = self.b.image_id(n)?;
                let image = self.b.image_config(n)?;
                (id.to_string(), Some(lowers_of(self.b.store, &image)))
            }
            Some(Source::Scratch) => (String::from("scratch"), Some(Vec::new())),
        };
        let mut contents: Vec<String> = spec
            .contents
            .iter()
            .map(|c| format!("{}\0{}", c.path, c.data))
            .collect();
        contents.extend(
            remotes
                .iter()
                .map(|r| format!("{}\0{}\0{}\0{:?}", r.url, r.digest, r.filename, r.mtime)),
        );
        let key = cache::key(
            &self.key,
            &[
                name,
                &created_by,
                spec.from.as_deref().unwrap_or(""),
                spec.chown.as_deref().unwrap_or(""),
                spec.chmod.as_deref().unwrap_or(""),
                &format!("parents={} exclude={:?}", spec.parents, spec.excludes),
                &digest,
                &contents.join("\0"),
                &self.config.working_dir,
            ],
        );
        let git_tree = checkout.as_ref().map(|(_, c)| c.path.clone());
        let step = self.step(ins);
        self.layer_step(step, key, created_by, |run, result, _| {
            let m = Mounted::new(run.b.store, &run.lowers())?;
            let source_tree = match &source {
                Some(Source::Stage(s)) => Some(run.b.wait_stage(*s)?.lowers(run.b.store)),
                _ => source_tree,
            };
            let src_mount = match &source_tree {
                Some(lowers) => Some(Mounted::new(run.b.store, lowers)?),
                None => None,
            };
            let origin = match (&git_tree, &src_mount, main_ctx) {
                (Some(tree), _, _) => Origin::Tree(tree),
                (None, Some(sm), _) => Origin::Tree(sm.root()),
                (None, None, Some(ctx)) => Origin::Context(ctx),
                (None, None, None) => Origin::Tree(Path::new("/nonexistent-context")),
            };
            let owner = match &spec.chown {
                Some(c) => Some(run.owner(m.root(), Some(c))?),
                None => None,
            };
            let opts = CopyOptions {
                owner: owner.or(match origin {
                    Origin::Context(_) => Some((0, 0)),
                    // A checkout's files are the build's, like the context's.
                    Origin::Tree(_) if git_tree.is_some() => Some((0, 0)),
                    Origin::Tree(_) => None,
                }),
                mode: chmod,
            };
            let dir_owner = owner.unwrap_or((0, 0));
            run.copy_into(m.root(), &spec, &local, &remotes, &origin, &opts, dir_owner)?;
            drop(src_mount);
            m.into_layer(run.b.store, result)
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn copy_into(
        &self,
        root: &Path,
        spec: &CopySpec,
        local: &[String],
        remotes: &[remote::Remote],
        origin: &Origin,
        opts: &CopyOptions,
        dir_owner: (u32, u32),
    ) -> BuildResult<()> {
        let mut matched: Vec<Matched> = Vec::new();
        for s in local {
            match origin {
                Origin::Context(ctx) => matched.extend(ctx.matches(s)?),
                Origin::Tree(tree) => matched.extend(Context::tree(tree).matches(s)?),
            }
        }
        let total = matched.len() + spec.contents.len() + remotes.len();
        let wd = if self.config.working_dir.is_empty() {
            "/"
        } else {
            &self.config.working_dir
        };
        let dest_abs = if spec.dest.starts_with('/') {
            spec.dest.clone()
        } else {
            format!("{}/{}", wd.trim_end_matches('/'), spec.dest)
        };
        let dir_form =
            spec.dest.ends_with('/') || spec.dest == "." || spec.dest.ends_with("/.") || total > 1;
        if spec.sources.len() + spec.contents.len() > 1 && !dir_form {
            return Err(BuildError::Invalid(format!(
                "When using {} with more than one source file, the destination must be a directory and end with a /",
                if spec.add { "ADD" } else { "COPY" }
            )));
        }
        let dest_clean = format!("/{}", wharf_dockerfile::clean_context_path(&dest_abs));
        let dest_is_dir = dir_form || resolve_in_root(root, &dest_clean)?.is_dir();
        let excludes = crate::Ignore::parse(&spec.excludes.join("\n"));
        let ignored = |p: &Path| match origin {
            // An excluded directory is still entered when an exception
            // (`!dir/keep`) may re-include something below it.
            Origin::Context(ctx) => p
                .strip_prefix(&ctx.root)
                .map(|rel| {
                    let rel = rel.to_string_lossy();
                    !(ctx.included(&rel) || (p.is_dir() && ctx.ignore.may_include_below(&rel)))
                })
                .unwrap_or(false),
            Origin::Tree(_) => false,
        };
        for m in &matched {
            let meta = fs::metadata(&m.path)
                .map_err(|e| BuildError::io(format!("reading {}", m.rel), e))?;
            let keep = |p: &Path| {
                let under = p.strip_prefix(&m.path).unwrap_or(p).to_string_lossy();
                !ignored(p) && (excludes.is_empty() || !excludes.excludes(&under))
            };
            // --parents keeps the source's own path under the destination.
            let dest_here = if spec.parents {
                let parent = Path::new(&m.rel)
                    .parent()
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default();
                format!("{}/{parent}", dest_clean.trim_end_matches('/'))
            } else {
                dest_clean.clone()
            };
            if meta.is_dir() {
                let dir = if spec.parents {
                    format!("{}/{}", dest_clean.trim_end_matches('/'), m.rel)
                } else {
                    dest_here.clone()
                };
                let target = mkdir_all(root, &dir, dir_owner)?;
                for e in fs::read_dir(&m.path)
                    .map_err(|e| BuildError::io(format!("reading {}", m.rel), e))?
                    .flatten()
                {
                    let p = e.path();
                    if keep(&p) {
                        copy_tree_filtered(&p, &target.join(e.file_name()), opts, &keep)?;
                    }
                }
                continue;
            }
            // A symlink named as a source was followed (inside the root).
            let src = &m.path;
            let base = Path::new(&m.rel)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !excludes.is_empty() && excludes.excludes(&base) {
                continue;
            }
            if spec.add && is_archive(src) {
                let target = mkdir_all(root, &dest_here, dir_owner)?;
                unpack_archive(src, &target)?;
                continue;
            }
            let target_path = if dest_is_dir || spec.parents {
                format!("{}/{base}", dest_here.trim_end_matches('/'))
            } else {
                dest_clean.clone()
            };
            let target = place(root, &target_path, dir_owner)?;
            copy_tree_filtered(src, &target, opts, &keep)?;
        }
        for r in remotes {
            let target_path = if dest_is_dir {
                format!("{}/{}", dest_clean.trim_end_matches('/'), r.filename)
            } else {
                dest_clean.clone()
            };
            let target = place(root, &target_path, dir_owner)?;
            write_remote(r, &target, &target_path, opts)?;
        }
        for c in &spec.contents {
            let target_path = if dest_is_dir {
                format!("{}/{}", dest_clean.trim_end_matches('/'), c.path)
            } else {
                dest_clean.clone()
            };
            let target = place(root, &target_path, dir_owner)?;
            fs::write(&target, &c.data)
                .map_err(|e| BuildError::io(format!("writing {target_path}"), e))?;
            let (uid, gid) = opts.owner.unwrap_or((0, 0));
            std::os::unix::fs::lchown(&target, Some(uid), Some(gid))
                .map_err(|e| BuildError::io(format!("chown {target_path}"), e))?;
            let mode = opts.mode.unwrap_or(0o644);
            fs::set_permissions(&target, fs::Permissions::from_mode(mode))
                .map_err(|e| BuildError::io(format!("chmod {target_path}"), e))?;
        }
        Ok(())
    }
}

/// A downloaded file at `target`: BuildKit's mode 0600 (unless
/// `--chmod`), root's (unless `--chown`), the server's `Last-Modified`.
fn write_remote(
    r: &remote::Remote,
    target: &Path,
    shown: &str,
    opts: &CopyOptions,
) -> BuildResult<()> {
    let err = |e| BuildError::io(format!("writing {shown}"), e);
    if fs::symlink_metadata(target).is_ok_and(|m| !m.is_dir()) {
        fs::remove_file(target).map_err(err)?;
    }
    fs::copy(&r.path, target).map_err(err)?;
    let (uid, gid) = opts.owner.unwrap_or((0, 0));
    std::os::unix::fs::lchown(target, Some(uid), Some(gid)).map_err(err)?;
    fs::set_permissions(
        target,
        fs::Permissions::from_mode(opts.mode.unwrap_or(0o600)),
    )
    .map_err(err)?;
    if let Some(t) = r.mtime {
        let at = nix::sys::time::TimeSpec::new(t, 0);
        nix::sys::stat::utimensat(
            None,
            target,
            &at,
            &at,
            nix::sys::stat::UtimensatFlags::NoFollowSymlink,
        )
        .map_err(|e| err(e.into()))?;
    }
    Ok(())
}

/// The host path for a new entry at `path` (absolute, inside `root`), its
/// parent created and resolved in the root.
fn place(root: &Path, path: &str, dir_owner: (u32, u32)) -> BuildResult<PathBuf> {
    let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
    let dir = mkdir_all(root, parent, dir_owner)?;
    Ok(dir.join(name))
}

/// ADD unpacks what looks like a tar (plain, gzip, bzip2 magic aside,
/// xz unsupported) and copies anything else.
fn is_archive(path: &Path) -> bool {
    let Ok(mut f) = fs::File::open(path) else {
        return false;
    };
    let mut head = [0u8; 512];
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(_) => return false,
        }
    }
    let head = &head[..n];
    if head.starts_with(&[0x1f, 0x8b]) || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return true;
    }
    head.len() >= 262 && &head[257..262] == b"ustar"
}

fn unpack_archive(path: &Path, dest: &Path) -> BuildResult<()> {
    use std::io::BufRead;
    use wharf_oci::media_types::Compression;
    let err = |e| BuildError::io(format!("unpacking {}", path.display()), e);
    let f = fs::File::open(path).map_err(err)?;
    let mut buffered = std::io::BufReader::new(f);
    let kind = Compression::sniff(buffered.fill_buf().map_err(err)?);
    let reader: Box<dyn Read> = match kind {
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
        Compression::Zstd => Box::new(zstd::Decoder::with_buffer(buffered).map_err(err)?),
        _ => Box::new(buffered),
    };
    let mut ar = tar::Archive::new(reader);
    ar.set_preserve_permissions(true);
    ar.set_preserve_ownerships(true);
    ar.set_overwrite(true);
    ar.unpack(dest).map_err(err)
}
