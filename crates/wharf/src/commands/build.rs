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
    let (unpacked, stdin_dockerfile) = remote_context(engine, &a)?;
    let req = request(
        &a,
        unpacked.as_ref().map(|u| u.0.as_path()),
        stdin_dockerfile,
    )?;
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
    let outcome = engine
        .build(&req, &progress)
        .map_err(|e| fail_with(format!("failed to solve: {e}"), BUILD_FAILED))?;
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

/// A temporary context directory, removed on drop.
struct Unpacked(PathBuf);

impl Drop for Unpacked {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn is_git_url(s: &str) -> bool {
    s.starts_with("git@")
        || s.starts_with("git://")
        || s.split('#').next().is_some_and(|u| u.ends_with(".git"))
}

/// `build -` with an archive on stdin, or `build <http(s) URL>` of a
/// tarball: the context unpacked in a temporary directory. `build -` with
/// anything else on stdin is a Dockerfile (returned as the second value),
/// and so is a URL that is not an archive.
fn remote_context(
    engine: &Engine,
    a: &BuildArgs,
) -> anyhow::Result<(Option<Unpacked>, Option<String>)> {
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
        if is_git_url(&a.context) {
            return Err(fail_with(
                format!(
                    "unable to prepare context: git contexts are not supported by wharf yet: {}",
                    a.context
                ),
                BUILD_FAILED,
            ));
        }
        wharf_build::download_context(engine.store(), &a.context)
            .map_err(|e| fail_with(format!("unable to prepare context: {e}"), BUILD_FAILED))?
    } else {
        return Ok((None, None));
    };
    let dir = Unpacked(engine.store().temp_path("build-context"));
    match wharf_build::unpack_context(&data, &dir.0) {
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
    let platform =
        match a.platform.as_deref().filter(|p| !p.is_empty()) {
            None => None,
            Some(p) if p.contains(',') => {
                return Err(fail_with(
                    format!(
                    "multiple platforms feature is currently not supported for docker driver: {p}"
                ),
                    BUILD_FAILED,
                ))
            }
            Some(p) => Some(wharf_build::Platform::parse(p).map_err(|e| {
                fail_with(format!("failed to parse platform {p}: {e}"), BUILD_FAILED)
            })?),
        };
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
        network: a.network.clone(),
        step_options: step_options(a)?,
        source_date_epoch,
        export_only: !outputs.is_empty() && !a.load,
        outputs,
        cache_to,
        cache_from,
        platform,
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
