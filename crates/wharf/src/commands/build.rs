//! `build` and `builder prune`.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use wharf_build::{BuildRequest, Progress, ProgressMode};
use wharf_engine::{Engine, Reference};

use crate::cli::{BuildArgs, BuilderPruneArgs};
use crate::exit::{fail, fail_with};
use crate::output::confirm;

/// docker build's exit code for a failed build.
const BUILD_FAILED: u8 = 1;

pub fn build(engine: &Engine, a: BuildArgs) -> anyhow::Result<ExitCode> {
    // A context sent as an archive (stdin, a URL) is unpacked for the
    // build and removed after it.
    let mode = if a.quiet {
        ProgressMode::Quiet
    } else {
        match a.progress.as_str() {
            "plain" => ProgressMode::Plain,
            "tty" => ProgressMode::Tty,
            "rawjson" => ProgressMode::RawJson,
            "auto" if std::io::stderr().is_terminal() => ProgressMode::Tty,
            "auto" => ProgressMode::Plain,
            other => return Err(fail(format!("invalid progress mode {other:?}"))),
        }
    };
    let progress = Progress::new(mode, Box::new(std::io::stderr()));
    let (unpacked, stdin_dockerfile) = remote_context(engine, &a, &progress)?;
    let mut req = request(
        &a,
        unpacked.as_ref().map(|u| u.path.as_path()),
        stdin_dockerfile,
    )?;
    // Agents started for `--ssh id=KEY` live until the build is done.
    let agents = wharf_build::SshAgents::from_flags(
        &a.ssh,
        std::env::var("SSH_AUTH_SOCK").ok().as_deref(),
        &engine.store().temp_path("build-ssh"),
    )
    .map_err(|e| fail(e.to_string()))?;
    req.ssh = agents.sockets.clone();
    // Remote named contexts are fetched (and temporary ones removed after
    // the build) here, as the main context is.
    let mut fetched = Vec::new();
    for spec in &a.build_context {
        let (name, context) = named_context(engine, spec, &progress, &mut fetched)?;
        req.named_contexts.insert(name, context);
    }
    let outcome = engine
        .build(&req, &progress)
        .map_err(|e| fail_with(format!("failed to solve: {e}"), BUILD_FAILED))?;
    drop(agents);
    drop(fetched);
    let id = outcome.image_id.to_string();
    if let Some(path) = &a.iidfile {
        std::fs::write(path, &id)
            .map_err(|e| fail(format!("writing image ID file {}: {e}", path.display())))?;
    }
    if a.quiet {
        // docker prints an empty line for a build it only exported.
        println!("{}", if outcome.loaded { id.as_str() } else { "" });
    }
    Ok(ExitCode::SUCCESS)
}

/// A context directory not given as one: a temporary one (removed on
/// drop), or a git checkout in the store's cache (kept).
struct Unpacked {
    path: PathBuf,
    temporary: bool,
}

impl Drop for Unpacked {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// One `--build-context name=VALUE`: a directory, `docker-image://REF`,
/// a git URL or an http(s) tarball (fetched into `fetched`).
fn named_context(
    engine: &Engine,
    spec: &str,
    progress: &Progress,
    fetched: &mut Vec<Unpacked>,
) -> anyhow::Result<(String, wharf_build::NamedContext)> {
    use wharf_build::NamedContext;
    let bad = |why: String| {
        fail_with(
            format!("invalid build context {spec:?}: {why}"),
            BUILD_FAILED,
        )
    };
    let (name, value) = match spec.split_once('=') {
        Some((n, v)) if !n.is_empty() && !v.is_empty() => (n, v),
        _ => return Err(bad("expected name=value".into())),
    };
    let key = wharf_build::context_name(name);
    if let Some(image) = value.strip_prefix("docker-image://") {
        return Ok((key, NamedContext::Image(image.to_string())));
    }
    if value.starts_with("oci-layout://") || value.starts_with("target:") {
        return Err(bad(format!(
            "{} contexts are not supported by wharf (directories, docker-image://, git and http(s) tarball URLs are)",
            value.split([':', '/']).next().unwrap_or(value)
        )));
    }
    if wharf_build::is_git_url(value) {
        let checkout = wharf_build::git_context(engine.store(), value, false, progress)
            .map_err(|e| bad(e.to_string()))?;
        return Ok((key, NamedContext::Dir(checkout.path)));
    }
    if value.starts_with("http://") || value.starts_with("https://") {
        let data =
            wharf_build::download_context(engine.store(), value).map_err(|e| bad(e.to_string()))?;
        let dir = Unpacked {
            path: engine.store().temp_path("build-context"),
            temporary: true,
        };
        return match wharf_build::unpack_context(&data, &dir.path) {
            Ok(None) => {
                let path = dir.path.clone();
                fetched.push(dir);
                Ok((key, NamedContext::Dir(path)))
            }
            Ok(Some(_)) => Err(bad(format!("{value} is not a tarball"))),
            Err(e) => Err(bad(e.to_string())),
        };
    }
    let dir = Path::new(value);
    if !dir.is_dir() {
        return Err(bad(format!("path {value:?} not found")));
    }
    let dir = dir.canonicalize().map_err(|e| bad(e.to_string()))?;
    Ok((key, NamedContext::Dir(dir)))
}

/// `build -` with an archive on stdin, `build <http(s) URL>` of a
/// tarball: the context unpacked in a temporary directory; `build <git
/// URL>`: the checkout. `build -` with anything else on stdin is a
/// Dockerfile (returned as the second value), and so is a URL that is not
/// an archive.
fn remote_context(
    engine: &Engine,
    a: &BuildArgs,
    progress: &Progress,
) -> anyhow::Result<(Option<Unpacked>, Option<String>)> {
    if wharf_build::is_git_url(&a.context) {
        // BuildKit keeps `.git` in a git context only when asked.
        let keep = a.build_arg.iter().any(|kv| {
            kv.split_once('=').is_some_and(|(k, v)| {
                k == "BUILDKIT_CONTEXT_KEEP_GIT_DIR" && !matches!(v, "" | "0" | "false")
            })
        });
        let checkout = wharf_build::git_context(engine.store(), &a.context, keep, progress)
            .map_err(|e| fail_with(format!("unable to prepare context: {e}"), BUILD_FAILED))?;
        let path = Unpacked {
            path: checkout.path,
            temporary: false,
        };
        return Ok((Some(path), None));
    }
    let data = if a.context == "-" {
        if a.file.as_deref().is_some_and(|f| f.as_os_str() == "-") {
            return Ok((None, None));
        }
        let mut data = Vec::new();
        std::io::stdin()
            .read_to_end(&mut data)
            .map_err(|e| fail(format!("reading the build context from stdin: {e}")))?;
        data
    } else if a.context.starts_with("http://") || a.context.starts_with("https://") {
        wharf_build::download_context(engine.store(), &a.context)
            .map_err(|e| fail_with(format!("unable to prepare context: {e}"), BUILD_FAILED))?
    } else {
        return Ok((None, None));
    };
    let dir = Unpacked {
        path: engine.store().temp_path("build-context"),
        temporary: true,
    };
    match wharf_build::unpack_context(&data, &dir.path) {
        Ok(Some(dockerfile)) => Ok((None, Some(dockerfile))),
        Ok(None) => Ok((Some(dir), None)),
        Err(e) => Err(fail_with(
            format!("unable to prepare context: {e}"),
            BUILD_FAILED,
        )),
    }
}

fn request(
    a: &BuildArgs,
    unpacked: Option<&Path>,
    stdin_dockerfile: Option<String>,
) -> anyhow::Result<BuildRequest> {
    let stdin_context = a.context == "-" || stdin_dockerfile.is_some();
    let context = if let Some(dir) = unpacked {
        Some(dir.to_path_buf())
    } else if stdin_context {
        None
    } else {
        let dir = PathBuf::from(&a.context);
        if !dir.is_dir() {
            return Err(fail(format!(
                "unable to prepare context: path {:?} not found",
                a.context
            )));
        }
        Some(
            dir.canonicalize()
                .map_err(|e| fail(format!("unable to prepare context: {e}")))?,
        )
    };
    let (dockerfile, name) = match (&a.file, &context, stdin_dockerfile) {
        (_, _, Some(text)) => (text, "Dockerfile".to_string()),
        (Some(f), _, None) if f.as_os_str() == "-" => (read_stdin()?, "Dockerfile".to_string()),
        // In an unpacked context, `-f` names a file inside it.
        (Some(f), Some(dir), None) if unpacked.is_some() => {
            (read_file(&dir.join(f))?, file_name(f))
        }
        (None, None, None) => (read_stdin()?, "Dockerfile".to_string()),
        (Some(f), _, None) => (read_file(f)?, file_name(f)),
        (None, Some(dir), None) => (read_file(&dir.join("Dockerfile"))?, "Dockerfile".into()),
    };
    let mut tags = Vec::new();
    for t in &a.tag {
        tags.push(Reference::parse_tagged(t).map_err(|e| {
            fail(format!(
                "invalid argument \"{t}\" for \"-t, --tag\" flag: {e}"
            ))
        })?);
    }
    let mut build_args: Vec<(String, Option<String>)> = a
        .build_arg
        .iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (kv.clone(), std::env::var(kv).ok()),
        })
        .collect();
    let source_date_epoch = source_date_epoch(&mut build_args)?;
    let outputs = a
        .output
        .iter()
        .map(|o| wharf_build::Output::parse(o))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail_with(e.to_string(), BUILD_FAILED))?;
    let cache_to = a
        .cache_to
        .iter()
        .map(|s| wharf_build::CacheTo::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail_with(e.to_string(), BUILD_FAILED))?;
    let cache_from = a
        .cache_from
        .iter()
        .map(|s| wharf_build::CacheFrom::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail_with(e.to_string(), BUILD_FAILED))?;
    let mut labels = BTreeMap::new();
    for l in &a.label {
        let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
        labels.insert(k.to_string(), v.to_string());
    }
    let mut secrets = BTreeMap::new();
    for s in &a.secret {
        let mut id = None;
        let mut src = None;
        for field in s.split(',') {
            match field.split_once('=') {
                Some(("id", v)) => id = Some(v.to_string()),
                Some(("src" | "source", v)) => src = Some(PathBuf::from(v)),
                _ => {}
            }
        }
        match (id, src) {
            (Some(id), Some(src)) => {
                secrets.insert(id, src);
            }
            _ => return Err(fail(format!("invalid secret {s:?}: need id=...,src=..."))),
        }
    }
    // `--platform a,b`: a multi-platform build (each named once).
    let mut platforms: Vec<wharf_build::Platform> = Vec::new();
    for p in a.platform.iter().flat_map(|p| p.split(',')) {
        let p = p.trim();
        if p.is_empty() {
            continue;
        }
        let parsed = wharf_build::Platform::parse(p)
            .map_err(|e| fail_with(format!("failed to parse platform {p}: {e}"), BUILD_FAILED))?;
        if !platforms.contains(&parsed) {
            platforms.push(parsed);
        }
    }
    Ok(BuildRequest {
        context,
        dockerfile,
        dockerfile_name: name,
        tags,
        target: a.target.clone(),
        build_args,
        labels,
        no_cache: a.no_cache,
        secrets,
        network: wharf_build::StepNetwork::parse(a.network.as_deref())
            .map_err(|e| fail_with(e.to_string(), BUILD_FAILED))?,
        step_options: step_options(a)?,
        source_date_epoch,
        export_only: !outputs.is_empty() && !a.load,
        outputs,
        cache_to,
        cache_from,
        platforms,
        ..Default::default()
    })
}

/// `SOURCE_DATE_EPOCH` from `--build-arg`, else from the environment (which
/// then is a build arg too, as buildx passes it on).
fn source_date_epoch(
    build_args: &mut Vec<(String, Option<String>)>,
) -> anyhow::Result<Option<i64>> {
    const NAME: &str = wharf_build::SOURCE_DATE_EPOCH;
    if !build_args.iter().any(|(k, _)| k == NAME) {
        if let Some(v) = std::env::var(NAME).ok().filter(|v| !v.is_empty()) {
            build_args.push((NAME.to_string(), Some(v)));
        }
    }
    wharf_build::source_date_epoch(build_args).map_err(|e| fail_with(e.to_string(), BUILD_FAILED))
}

/// What `build`'s container flags ask of every RUN step, checked as
/// docker's daemon checks them (its warnings printed as docker prints
/// them); `--security-opt` and a non-default `--isolation` are refused
/// with docker's words, `--compress` and `--force-rm`
/// change nothing here.
fn step_options(a: &BuildArgs) -> anyhow::Result<wharf_build::StepOptions> {
    use super::create_opts::{memory_swap_flag, size_flag, ulimits};
    if !a.security_opt.is_empty() {
        return Err(fail_with(
            "The daemon on this platform does not support setting security options on build",
            BUILD_FAILED,
        ));
    }
    if let Some(i) = a.isolation.as_deref() {
        if !i.is_empty() && !i.eq_ignore_ascii_case("default") {
            return Err(fail_with(
                format!("Unsupported isolation: {i:?}"),
                BUILD_FAILED,
            ));
        }
    }
    let mut resources = wharf_model::Resources {
        memory: size_flag(&a.memory, "-m, --memory")?,
        memory_swap: memory_swap_flag(&a.memory_swap)?,
        cpu_shares: a.cpu_shares.unwrap_or(0),
        cpu_period: a.cpu_period.unwrap_or(0),
        cpu_quota: a.cpu_quota.unwrap_or(0),
        cpuset_cpus: a.cpuset_cpus.clone().unwrap_or_default(),
        cpuset_mems: a.cpuset_mems.clone().unwrap_or_default(),
        cgroup_parent: a.cgroup_parent.clone().unwrap_or_default(),
        ..Default::default()
    };
    let host = wharf_runtime::spec::HostInfo::detect_for(false);
    let warnings = wharf_runtime::spec::verify_resources(&mut resources, &host)
        .map_err(|e| fail_with(e.to_string(), BUILD_FAILED))?;
    for w in warnings {
        eprintln!("WARNING: {w}");
    }
    Ok(wharf_build::StepOptions {
        extra_hosts: wharf_engine::containers::parse_extra_hosts(&a.add_host)?,
        resources,
        shm_size: size_flag(&a.shm_size, "--shm-size")?,
        ulimits: ulimits(&a.ulimit)?
            .iter()
            .map(|u| format!("{}={}:{}", u.name, u.soft, u.hard))
            .collect(),
    })
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "Dockerfile".into())
}

fn read_file(p: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(p).map_err(|e| {
        fail(format!(
            "failed to read dockerfile: open {}: {}",
            p.display(),
            match e.kind() {
                std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
                _ => e.to_string(),
            }
        ))
    })
}

fn read_stdin() -> anyhow::Result<String> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .map_err(|e| fail(format!("reading the Dockerfile from stdin: {e}")))?;
    Ok(s)
}

pub fn prune(engine: &Engine, a: BuilderPruneArgs) -> anyhow::Result<ExitCode> {
    if !a.force
        && !confirm("WARNING! This will remove all dangling build cache. Are you sure you want to continue?")
    {
        return Ok(ExitCode::SUCCESS);
    }
    let (n, bytes) = engine.prune_build_cache()?;
    println!("Deleted build cache objects: {n}");
    println!(
        "Total reclaimed space: {}",
        wharf_format::units::human_size(bytes as f64)
    );
    Ok(ExitCode::SUCCESS)
}
