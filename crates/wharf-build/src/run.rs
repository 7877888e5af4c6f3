//! RUN: the command in a build container (through the engine's runtime),
//! with the stage's env, user and working directory, the build args in
//! scope as environment, `--mount` (cache, bind, tmpfs, secret, ssh) and
//! `--network`; its upper dir becomes the layer, minus the mount points the
//! runtime had to create (BuildKit removes those stubs too). Bind mount
//! sources resolve inside the context (or the stage) like COPY's, and are
//! mounted through a throw-away overlay: the step sees the filtered
//! context, and `rw` writes never reach the real one.

use std::fs;
use std::path::{Path, PathBuf};

use wharf_dockerfile::{CommandForm, Instruction, Mount, MountType, NetworkMode, RunArgs};
use wharf_runtime::spec::SpecMount;

use crate::cache;
use crate::context::{Context, Matched};
use crate::mounted::{commit_upper, Mounted};
use crate::plan::Source;
use crate::ssh;
use crate::stage::{lowers_of, StageRun};
use crate::{BuildError, BuildResult, RunStep, StepNetwork};

/// Mount points the runtime creates in a rootfs that lacks them.
const STUBS: &[&str] = &[
    "etc/resolv.conf",
    "etc/hostname",
    "etc/hosts",
    "dev/shm",
    "dev/pts",
    "dev/mqueue",
    "dev",
    "proc",
    "sys/fs/cgroup",
    "sys",
];

impl StageRun<'_, '_> {
    pub fn run(&mut self, ins: &Instruction, r: &RunArgs) -> BuildResult<()> {
        can_run(&self.b.plan.platforms[self.index])?;
        let shell = self
            .config
            .shell
            .clone()
            .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
        let args: Vec<String> = match &r.command {
            CommandForm::Exec(a) => a.clone(),
            CommandForm::Shell(cmd) => {
                let script = match ins.heredocs.first() {
                    // `RUN <<EOF` alone: the heredoc is the script.
                    Some(h) if cmd.trim_start().starts_with("<<") && ins.heredocs.len() == 1 => {
                        h.chomped_content()
                    }
                    Some(_) => {
                        let mut s = cmd.clone();
                        for h in &ins.heredocs {
                            s.push('\n');
                            s.push_str(&h.content);
                            s.push_str(&h.name);
                        }
                        s
                    }
                    None => cmd.clone(),
                };
                shell.iter().cloned().chain([script]).collect()
            }
        };
        let prefix = if self.args.is_empty() {
            String::new()
        } else {
            let kv: Vec<String> = self.args.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("|{} {} ", kv.len(), kv.join(" "))
        };
        let created_by = format!("RUN {prefix}{} # buildkit", args.join(" "));
        let lexer = self.b.plan.df.lexer();
        let mut mounts = Vec::new();
        for m in &r.mounts {
            let parsed = Mount::parse(m, &mut |w: &str| {
                lexer.process_word(w, &|n: &str| self.lookup(n))
            })
            .map_err(|e| BuildError::Invalid(e.to_string()))?;
            mounts.push(parsed);
        }
        // The stages its mounts read, should the step run.
        for f in mounts.iter().filter_map(|m| m.from.as_deref()) {
            if let Ok(Source::Stage(s)) = self.b.plan.source(f, self.index) {
                self.refs.push(s);
            }
        }
        // BuildKit numbers the ssh mounts without a target, and points
        // SSH_AUTH_SOCK at the first ssh mount (forwarded or not).
        let mut ssh_targets = Vec::new();
        for m in mounts
            .iter_mut()
            .filter(|m| matches!(m.mount_type, MountType::Ssh))
        {
            let target = m
                .target
                .get_or_insert_with(|| ssh::default_target(ssh_targets.len()));
            ssh_targets.push(target.clone());
        }
        // The cache key holds the mode's name: `Default`, `Host`, `None`.
        let network = match (r.network, self.b.req.network) {
            (NetworkMode::None, _) | (_, StepNetwork::None) => StepNetwork::None,
            (NetworkMode::Host, _) | (_, StepNetwork::Host) => StepNetwork::Host,
            (NetworkMode::Default, StepNetwork::Default) => StepNetwork::Default,
        };
        let mut key_parts = vec![
            "RUN".to_string(),
            created_by.clone(),
            format!("{network:?}"),
            format!("{:?}", r.security),
        ];
        key_parts.extend(r.mounts.iter().cloned());
        // Context binds: the source resolved in the context, the digest of
        // what it holds, and what `.dockerignore` takes out of it, from
        // the one walk the cache key needs anyway.
        let mut binds: Vec<Option<ContextBind>> = Vec::new();
        for m in &mounts {
            let bind = match (&m.mount_type, &m.from, &self.b.ctx) {
                (MountType::Bind, None, Some(ctx)) => {
                    let src = m.source.clone().unwrap_or_else(|| ".".into());
                    let found = ctx.resolve(&src)?;
                    let (digest, excluded) =
                        ctx.digest_and_excluded(self.b.store, std::slice::from_ref(&found))?;
                    key_parts.push(digest);
                    Some(ContextBind { found, excluded })
                }
                _ => None,
            };
            binds.push(bind);
        }
        let refs: Vec<&str> = key_parts.iter().map(String::as_str).collect();
        let key = cache::key(&self.key, &refs);
        let step = self.step(ins);
        let privileged = matches!(r.security, wharf_dockerfile::SecurityMode::Insecure);
        self.layer_step(step, key, created_by, |run, result, out| {
            let mut keep = Vec::new();
            let spec_mounts = run.spec_mounts(&mounts, &binds, &mut keep)?;
            let mut config = run.config.clone();
            let sock = ssh_targets
                .first()
                .map(|t| ("SSH_AUTH_SOCK".to_string(), t.clone()));
            for (k, v) in run.args.iter().chain(sock.iter()) {
                if !config.env.iter().any(|e| e.split('=').next() == Some(k)) {
                    config.env.push(format!("{k}={v}"));
                }
            }
            let lowers = run.lowers();
            let step = RunStep {
                lowers: lowers.clone(),
                config,
                args: args.clone(),
                network,
                mounts: spec_mounts,
                privileged,
            };
            let output = run.b.host.run(&step, out)?;
            drop(keep);
            if output.exit_code != 0 {
                return Err(BuildError::RunFailed {
                    at: String::new(),
                    command: args.join(" "),
                    code: output.exit_code,
                });
            }
            remove_stubs(&output.upper, &lowers, &mounts);
            commit_upper(run.b.store, &output.upper, result)
        })
    }

    /// `--mount` specs as runtime mounts (`binds` holds, at the same
    /// index, what a context bind resolved to); `keep` holds mounted
    /// stages and context views alive for the step.
    fn spec_mounts(
        &self,
        mounts: &[Mount],
        binds: &[Option<ContextBind>],
        keep: &mut Vec<Mounted>,
    ) -> BuildResult<Vec<SpecMount>> {
        let mut out = Vec::new();
        for (m, bind) in mounts.iter().zip(binds) {
            let target = m.target.clone().unwrap_or_default();
            match m.mount_type {
                MountType::Cache => {
                    let id = m.id.clone().unwrap_or_else(|| target.clone());
                    let dir = self
                        .b
                        .host
                        .cache_mounts_dir()
                        .join(cache::key("cache-mount", &[&id]));
                    if !dir.exists() {
                        fs::create_dir_all(&dir)
                            .map_err(|e| BuildError::io("creating a cache mount", e))?;
                        let uid = m.uid.unwrap_or(0);
                        let gid = m.gid.unwrap_or(0);
                        let _ = std::os::unix::fs::lchown(&dir, Some(uid), Some(gid));
                        let mode = m.mode.unwrap_or(0o755);
                        let _ = fs::set_permissions(
                            &dir,
                            std::os::unix::fs::PermissionsExt::from_mode(mode),
                        );
                    }
                    out.push(SpecMount::bind(dir, target, m.readonly));
                }
                MountType::Tmpfs => {
                    let size = m.size_limit.map(|s| format!("size={s}"));
                    let opts: Vec<&str> = size.iter().map(String::as_str).collect();
                    out.push(SpecMount::tmpfs(target, &opts));
                }
                MountType::Bind => {
                    let src = m.source.clone().unwrap_or_else(|| "/".into());
                    let host_path = match (&m.from, bind) {
                        (None, Some(bind)) => {
                            let (view, path) = bind.view(self.b.store)?;
                            keep.push(view);
                            path
                        }
                        (None, None) => {
                            return Err(BuildError::NotFound(
                                "RUN --mount=type=bind: the build has no context".into(),
                            ))
                        }
                        // The stage's overlay has its own throw-away upper
                        // (a named context's too).
                        (Some(f), _) => {
                            let mounted = match self.b.plan.source(f, self.index)? {
                                Source::Context(dir) => {
                                    Mounted::throwaway(self.b.store, &dir, &[])?
                                }
                                _ => Mounted::new(self.b.store, &self.source_lowers(f)?)?,
                            };
                            let p = Context::tree(mounted.root()).resolve(&src)?.path;
                            keep.push(mounted);
                            p
                        }
                    };
                    out.push(SpecMount::bind(host_path, target, m.readonly));
                }
                MountType::Secret => {
                    let id = m.id.clone().unwrap_or_else(|| {
                        Path::new(&target)
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default()
                    });
                    let target = if target.is_empty() {
                        format!("/run/secrets/{id}")
                    } else {
                        target
                    };
                    match self.b.req.secrets.get(&id) {
                        Some(src) => out.push(SpecMount::bind(src.clone(), target, true)),
                        None if m.required => {
                            return Err(BuildError::NotFound(format!("secret {id} not found")))
                        }
                        None => {}
                    }
                }
                // The agent's socket itself: its owner and mode stay the
                // agent's (BuildKit proxies it as uid/gid/mode say).
                MountType::Ssh => {
                    if let Some(sock) =
                        ssh::socket_for(&self.b.req.ssh, m.id.as_deref(), m.required)?
                    {
                        out.push(SpecMount::bind(sock, target, false));
                    }
                }
            }
        }
        Ok(out)
    }

    fn source_lowers(&self, from: &str) -> BuildResult<Vec<PathBuf>> {
        Ok(match self.b.plan.source(from, self.index)? {
            Source::Stage(s) => self.b.wait_stage(s)?.lowers(self.b.store),
            Source::Image(n) => lowers_of(self.b.store, &self.b.image_config(&n)?),
            Source::Scratch | Source::Context(_) => Vec::new(),
        })
    }
}

/// A `RUN --mount=type=bind` of the context.
struct ContextBind {
    found: Matched,
    /// Excluded paths, relative to the context root.
    excluded: Vec<String>,
}

impl ContextBind {
    /// What the step mounts: a throw-away view of the source's directory
    /// (for a file, the one holding it) without what `.dockerignore`
    /// excludes, and the path of the source in it.
    fn view(&self, store: &wharf_store::Store) -> BuildResult<(Mounted, PathBuf)> {
        let f = &self.found;
        let is_dir = fs::symlink_metadata(&f.path)
            .map_err(|e| BuildError::io(format!("reading {}", f.rel), e))?
            .is_dir();
        if is_dir {
            let hidden: Vec<&str> = self
                .excluded
                .iter()
                .filter_map(|e| match f.resolved.as_str() {
                    "" => Some(e.as_str()),
                    r => e.strip_prefix(r)?.strip_prefix('/'),
                })
                .collect();
            let view = Mounted::throwaway(store, &f.path, &hidden)?;
            let path = view.root().to_path_buf();
            return Ok((view, path));
        }
        let (dir, name) = match (f.path.parent(), f.path.file_name()) {
            (Some(d), Some(n)) => (d, n),
            _ => {
                return Err(BuildError::Invalid(format!(
                    "RUN --mount=type=bind: {} is not a directory or a file in the context",
                    f.rel
                )))
            }
        };
        let view = Mounted::throwaway(store, dir, &[])?;
        let path = view.root().join(name);
        Ok((view, path))
    }
}

/// Drop empty files and directories the runtime created as mount points
/// where the image had nothing.
fn remove_stubs(upper: &Path, lowers: &[PathBuf], mounts: &[Mount]) {
    let extra: Vec<String> = mounts
        .iter()
        .filter_map(|m| m.target.as_deref())
        .map(|t| t.trim_start_matches('/').to_string())
        .collect();
    let mut paths: Vec<&str> = STUBS.to_vec();
    paths.extend(extra.iter().map(String::as_str));
    for rel in paths {
        if lowers
            .iter()
            .any(|l| fs::symlink_metadata(l.join(rel)).is_ok())
        {
            continue;
        }
        let p = upper.join(rel);
        let Ok(meta) = fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            let _ = fs::remove_dir(&p);
        } else if meta.is_file() && meta.len() == 0 {
            let _ = fs::remove_file(&p);
        }
    }
}

/// Whether this machine runs programs of `platform`: its own, or one a
/// qemu-user binfmt_misc entry (with the `F` flag, so it works inside the
/// step's root) emulates. Otherwise one line naming what is missing.
fn can_run(platform: &wharf_registry::Platform) -> BuildResult<()> {
    let host = wharf_registry::Platform::host();
    if platform.os == host.os && platform.architecture == host.architecture {
        return Ok(());
    }
    let dir = std::path::Path::new("/proc/sys/fs/binfmt_misc");
    let arch = wharf_oci::platform::kernel_arch(&platform.architecture);
    let entry = dir.join(format!("qemu-{arch}"));
    let missing = if platform.os != host.os {
        format!("{} programs do not run on {}", platform.os, host.os)
    } else if !dir.join("status").exists() {
        format!(
            "binfmt_misc is not mounted at {} (mount -t binfmt_misc binfmt_misc {0}, then install qemu-user-static)",
            dir.display()
        )
    } else {
        match std::fs::read_to_string(&entry) {
            Err(_) => format!(
                "no emulator for {arch} is registered ({} is missing: install qemu-user-static)",
                entry.display()
            ),
            Ok(e) if !e.starts_with("enabled") => {
                format!("the emulator {} is disabled", entry.display())
            }
            Ok(e)
                if !e
                    .lines()
                    .any(|l| l.starts_with("flags:") && l.contains('F')) =>
            {
                format!(
                    "the emulator {} lacks the F flag (it cannot run inside a container)",
                    entry.display()
                )
            }
            Ok(_) => return Ok(()),
        }
    };
    Err(BuildError::Invalid(format!(
        "cannot run RUN steps for platform {platform}: {missing}"
    )))
}
