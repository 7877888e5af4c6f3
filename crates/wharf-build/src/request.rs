//! What `docker build` flags ask for.

use std::collections::BTreeMap;
use std::path::PathBuf;

use wharf_oci::Reference;

use crate::{BuildError, BuildResult};

#[derive(Debug, Clone, Default)]
pub struct BuildRequest {
    /// The context directory; `None` for `build -` (Dockerfile on stdin).
    pub context: Option<PathBuf>,
    /// The Dockerfile's text.
    pub dockerfile: String,
    /// Its name relative to the context, for messages and `.dockerignore`
    /// lookup (`Dockerfile`, `other.Dockerfile`).
    pub dockerfile_name: String,
    pub tags: Vec<Reference>,
    /// `--target`: the stage to build (default: the last).
    pub target: Option<String>,
    /// `--build-arg NAME=value` (values already taken from the environment
    /// for a bare `NAME`; `None` when unset there).
    pub build_args: Vec<(String, Option<String>)>,
    /// `--label`.
    pub labels: BTreeMap<String, String>,
    /// `--no-cache`.
    pub no_cache: bool,
    /// `--secret id=x,src=path`: secret files by ID.
    pub secrets: BTreeMap<String, PathBuf>,
    /// `--build-context name=...` by [`context_name`] (remote ones
    /// fetched by the caller).
    pub named_contexts: BTreeMap<String, NamedContext>,
    /// `--ssh`: agent sockets by ID, for `RUN --mount=type=ssh`.
    pub ssh: BTreeMap<String, PathBuf>,
    /// `--network` for RUN steps (`RUN --network` overrides it, but
    /// `none` here keeps every step off the network).
    pub network: crate::StepNetwork,
    /// What the other flags ask of every RUN step's container (the host
    /// applies it; the builder does not look).
    pub step_options: StepOptions,
    /// `SOURCE_DATE_EPOCH` (a build arg, or the environment): layer file
    /// times and history times later than it are clamped to it, as
    /// BuildKit's `rewrite-timestamp` does, for reproducible images.
    pub source_date_epoch: Option<i64>,
    /// `--output`: where else the result goes.
    pub outputs: Vec<Output>,
    /// `--output` without `--load`: the result is not put in the store as
    /// an image (nor tagged), only exported.
    pub export_only: bool,
    /// `--platform`: the target platforms (this machine's when empty);
    /// several make a multi-platform result.
    pub platforms: Vec<wharf_registry::Platform>,
    /// `--cache-to`: where this build's cache is exported.
    pub cache_to: Vec<crate::CacheTo>,
    /// `--cache-from`: caches (another root's, a registry's) to reuse.
    pub cache_from: Vec<crate::CacheFrom>,
}

/// A `--build-context` as the builder sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamedContext {
    /// A local directory (a URL's tarball or a git checkout, once fetched).
    Dir(PathBuf),
    /// `docker-image://REF`.
    Image(String),
}

/// The name a `--build-context` and a `FROM`/`--from` meet under:
/// BuildKit's familiar form without `:latest` (`docker.io/library/alpine:latest`
/// and `alpine` are one name); a name that is no image reference stays as
/// written, lowercased.
pub fn context_name(name: &str) -> String {
    match Reference::parse(name) {
        Ok(r) => {
            let f = r.familiar();
            f.strip_suffix(":latest").map(str::to_string).unwrap_or(f)
        }
        Err(_) => name.to_lowercase(),
    }
}

/// One `--output` (`-o`): BuildKit's local, tar, oci and docker exporters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// `type=local,dest=DIR` or `-o DIR`: the result's files in DIR.
    Local(PathBuf),
    /// `type=tar,dest=F` or `-o -`: the result's files as one tar.
    Tar(Dest),
    /// `type=oci,dest=F`: the image as an OCI image layout tar.
    Oci(Dest),
    /// `type=docker,dest=F`: the image as a `docker load` archive.
    Docker(Dest),
}

/// Where an archive output is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dest {
    File(PathBuf),
    /// `dest=-`.
    Stdout,
}

impl Output {
    /// docker's `--output` syntax: `type=T,dest=D` (type defaults to
    /// local), a bare path for a local directory, `-` for a tar on stdout.
    pub fn parse(spec: &str) -> BuildResult<Output> {
        if !spec.contains('=') {
            return Ok(if spec == "-" {
                Output::Tar(Dest::Stdout)
            } else {
                Output::Local(PathBuf::from(spec))
            });
        }
        let mut kind = "local".to_string();
        let mut dest = None;
        for field in spec.split(',') {
            match field.split_once('=') {
                Some(("type", v)) => kind = v.to_string(),
                Some(("dest", v)) => dest = Some(v.to_string()),
                // name=, compression= ... change nothing here.
                Some(_) => {}
                None => {
                    return Err(BuildError::Invalid(format!(
                        "invalid value {field:?} in --output {spec:?}: expected key=value"
                    )))
                }
            }
        }
        let dest = dest.filter(|d| !d.is_empty());
        let file = |d: Option<String>| -> BuildResult<Dest> {
            match d.as_deref() {
                None => Err(BuildError::Invalid(format!(
                    "dest is required for {kind} output"
                ))),
                Some("-") => Ok(Dest::Stdout),
                Some(p) => Ok(Dest::File(PathBuf::from(p))),
            }
        };
        match kind.as_str() {
            "local" => match dest.as_deref() {
                None | Some("-") => Err(BuildError::Invalid(
                    "dest is required for local output".into(),
                )),
                Some(p) => Ok(Output::Local(PathBuf::from(p))),
            },
            "tar" => Ok(Output::Tar(file(dest)?)),
            "oci" => Ok(Output::Oci(file(dest)?)),
            "docker" => Ok(Output::Docker(file(dest)?)),
            other => Err(BuildError::Invalid(format!(
                "exporter {other:?} could not be found"
            ))),
        }
    }
}

/// `build`'s `--add-host`, `--memory`, `--memory-swap`, `--cpu-*`,
/// `--cpuset-*`, `--cgroup-parent`, `--shm-size` and `--ulimit`, for
/// every RUN step's container (docker's classic builder applies them).
#[derive(Debug, Clone, Default)]
pub struct StepOptions {
    /// `--add-host`, checked: (name, ip), after BuildKit's own lines.
    pub extra_hosts: Vec<(String, String)>,
    /// The cgroup limits (and parent), checked.
    pub resources: wharf_model::Resources,
    /// `--shm-size`; 0 is docker's 64 MiB.
    pub shm_size: i64,
    /// `--ulimit name=soft[:hard]`.
    pub ulimits: Vec<String>,
}

/// The build arg BuildKit reads for reproducible timestamps.
pub const SOURCE_DATE_EPOCH: &str = "SOURCE_DATE_EPOCH";

/// `SOURCE_DATE_EPOCH` among the build args (the last one given): seconds
/// since 1970; empty or absent is none.
pub fn source_date_epoch(build_args: &[(String, Option<String>)]) -> BuildResult<Option<i64>> {
    let value = build_args
        .iter()
        .rev()
        .find(|(k, _)| k == SOURCE_DATE_EPOCH)
        .and_then(|(_, v)| v.as_deref());
    match value {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|e| *e >= 0)
            .map(Some)
            .ok_or_else(|| BuildError::Invalid(format!("invalid SOURCE_DATE_EPOCH: {v}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_syntax_as_docker() {
        let p = |s: &str| Output::parse(s).map_err(|e| e.to_string());
        assert_eq!(p("out"), Ok(Output::Local("out".into())));
        assert_eq!(p("-"), Ok(Output::Tar(Dest::Stdout)));
        assert_eq!(p("dest=d"), Ok(Output::Local("d".into())));
        assert_eq!(p("type=local,dest=d"), Ok(Output::Local("d".into())));
        assert_eq!(p("type=tar,dest=-"), Ok(Output::Tar(Dest::Stdout)));
        assert_eq!(
            p("type=oci,dest=i.tar"),
            Ok(Output::Oci(Dest::File("i.tar".into())))
        );
        assert_eq!(
            p("type=docker,dest=i.tar,name=x"),
            Ok(Output::Docker(Dest::File("i.tar".into())))
        );
        assert!(p("type=tar")
            .unwrap_err()
            .contains("dest is required for tar output"));
        assert!(p("type=local")
            .unwrap_err()
            .contains("dest is required for local output"));
        assert!(p("type=foo,dest=x")
            .unwrap_err()
            .contains("exporter \"foo\" could not be found"));
    }
}
