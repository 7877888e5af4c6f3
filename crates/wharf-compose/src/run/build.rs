//! The services' images: built through the engine's builder for services
//! with `build:` (tagged `PROJECT-SERVICE` unless `image:` names it),
//! found in the store otherwise (pulled when missing), and their IDs
//! recorded for the `com.docker.compose.image` label, by which `up`
//! notices a rebuilt image.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use wharf_build::{BuildRequest, ProgressMode};
use wharf_engine::registry::PullPolicy;
use wharf_engine::Reference;
use wharf_oci::ErrorKind;

use super::convert::image_name;
use super::error::invalid;
use super::progress::{Progress, Status};
use super::{RunError, RunResult, Runtime};
use crate::model::{Build, Service};

/// `build` flags (and `up --build`'s).
#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub no_cache: bool,
    /// `--build-arg K=V` (a bare `K` from the environment).
    pub args: Vec<(String, Option<String>)>,
    /// How the builder shows its steps.
    pub mode: ProgressMode,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            no_cache: false,
            args: Vec::new(),
            mode: ProgressMode::Plain,
        }
    }
}

/// When `up` builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BuildPolicy {
    /// When the image is missing (or `pull_policy: build`).
    #[default]
    Missing,
    /// `--build`: always.
    Always,
    /// `--no-build`: never.
    Never,
}

/// The context directory of a build, checked as the builder would.
fn context_dir(b: &Build) -> RunResult<PathBuf> {
    let ctx = if b.context.is_empty() {
        "."
    } else {
        &b.context
    };
    let dir = PathBuf::from(ctx);
    if !dir.is_dir() {
        return Err(invalid(format!(
            "unable to prepare context: path {ctx:?} not found"
        )));
    }
    Ok(dir)
}

fn read_dockerfile(dir: &Path, b: &Build) -> RunResult<(String, String)> {
    if !b.dockerfile_inline.is_empty() {
        return Ok((b.dockerfile_inline.clone(), "Dockerfile".into()));
    }
    let name = if b.dockerfile.is_empty() {
        "Dockerfile"
    } else {
        &b.dockerfile
    };
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        let cause = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
            _ => e.to_string(),
        };
        invalid(format!(
            "failed to solve: failed to read dockerfile: open {}: {cause}",
            path.display()
        ))
    })?;
    let shown = Path::new(name)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "Dockerfile".into());
    Ok((text, shown))
}

impl Runtime<'_> {
    /// The builder's request for service `name`.
    fn build_request(
        &self,
        name: &str,
        s: &Service,
        b: &Build,
        opts: &BuildOptions,
    ) -> RunResult<BuildRequest> {
        let dir = context_dir(b)?;
        let (dockerfile, dockerfile_name) = read_dockerfile(&dir, b)?;
        let mut tags = Vec::new();
        for t in std::iter::once(image_name(self.name(), name, s)).chain(b.tags.iter().cloned()) {
            tags.push(
                Reference::parse_tagged(&t)
                    .map_err(|e| invalid(format!("invalid tag {t:?}: {e}")))?,
            );
        }
        // `build.args`, then `--build-arg`; a bare name from the project's
        // environment.
        let mut args: BTreeMap<String, Option<String>> = b.args.0.clone();
        for (k, v) in &opts.args {
            args.insert(k.clone(), v.clone());
        }
        let build_args: Vec<(String, Option<String>)> = args
            .into_iter()
            .map(|(k, v)| {
                let v = v.or_else(|| self.environment.get(&k).cloned());
                (k, v)
            })
            .collect();
        let mut secrets = BTreeMap::new();
        for r in &b.secrets {
            if let Some(def) = self.project.secrets.get(&r.source) {
                if !def.0.file.is_empty() {
                    let id = if r.target.is_empty() {
                        r.source.clone()
                    } else {
                        r.target.clone()
                    };
                    secrets.insert(id, PathBuf::from(&def.0.file));
                }
            }
        }
        let source_date_epoch =
            wharf_build::source_date_epoch(&build_args).map_err(|e| invalid(e.to_string()))?;
        Ok(BuildRequest {
            context: Some(
                dir.canonicalize()
                    .map_err(|e| invalid(format!("unable to prepare context: {e}")))?,
            ),
            dockerfile,
            dockerfile_name,
            tags,
            target: (!b.target.is_empty()).then(|| b.target.clone()),
            build_args,
            labels: b.labels.0.clone(),
            no_cache: opts.no_cache || b.no_cache,
            secrets,
            network: wharf_build::StepNetwork::parse(Some(&b.network))
                .map_err(|e| invalid(e.to_string()))?,
            step_options: Default::default(),
            source_date_epoch,
            outputs: Vec::new(),
            export_only: false,
            ..Default::default()
        })
    }

    /// Build `services` (those with `build:`), in name order; returns the
    /// image IDs by image name.
    pub fn build(
        &self,
        services: &[String],
        opts: &BuildOptions,
        progress: &dyn Progress,
    ) -> RunResult<BTreeMap<String, String>> {
        // Every request first: a missing context or Dockerfile fails
        // before anything is built.
        let mut requests = Vec::new();
        for name in services {
            let s = self.service(name)?;
            let Some(b) = &s.build else {
                continue;
            };
            requests.push((name, self.build_request(name, s, b, opts)?));
        }
        let mut built = BTreeMap::new();
        for (name, req) in requests {
            let steps = wharf_build::Progress::new(opts.mode, Box::new(std::io::stderr()));
            let outcome = self
                .engine
                .build(&req, &steps)
                .map_err(|e| RunError::Build(e.to_string()))?;
            steps.finish();
            progress.event(name, Status::Done, "Built");
            let image = image_name(self.name(), name, self.service(name)?);
            built.insert(image, outcome.image_id.to_string());
        }
        Ok(built)
    }

    /// The image ID of every service in `services`, building or pulling
    /// what is missing as `policy` says.
    pub(crate) fn ensure_images(
        &self,
        services: &[String],
        policy: BuildPolicy,
        opts: &BuildOptions,
        progress: &dyn Progress,
    ) -> RunResult<BTreeMap<String, String>> {
        let mut ids = BTreeMap::new();
        let mut to_build = Vec::new();
        for name in services {
            let s = self.service(name)?;
            let image = image_name(self.name(), name, s);
            let local = self.engine.resolve_image(&image);
            let build = s.build.is_some()
                && match policy {
                    BuildPolicy::Always => true,
                    BuildPolicy::Never => false,
                    BuildPolicy::Missing => local.is_err() || s.pull_policy == "build",
                };
            if build {
                to_build.push(name.clone());
                continue;
            }
            match local {
                Ok(id) if s.pull_policy != "always" => {
                    ids.insert(image, id.to_string());
                }
                other => {
                    if s.pull_policy == "never" {
                        return Err(other
                            .map(|_| ())
                            .err()
                            .map(RunError::from)
                            .unwrap_or_else(|| invalid(format!("No such image: {image}"))));
                    }
                    let id = self.pull(name, &image, s, progress)?;
                    ids.insert(image, id);
                }
            }
        }
        ids.extend(self.build(&to_build, opts, progress)?);
        Ok(ids)
    }

    fn pull(
        &self,
        name: &str,
        image: &str,
        s: &Service,
        progress: &dyn Progress,
    ) -> RunResult<String> {
        progress.event(name, Status::Working, "Pulling");
        let policy = if s.pull_policy == "always" {
            PullPolicy::Always
        } else {
            PullPolicy::Missing
        };
        let platform = (!s.platform.is_empty()).then_some(s.platform.as_str());
        match self
            .engine
            .ensure_image(image, policy, platform, &wharf_engine::registry::Silent)
        {
            Ok(id) => {
                progress.event(name, Status::Done, "Pulled");
                Ok(id.to_string())
            }
            Err(e) => {
                progress.event(name, Status::Error, &e.to_string());
                if e.kind() == ErrorKind::NotFound && s.build.is_some() {
                    return Err(invalid(format!("No such image: {image}")));
                }
                Err(e.into())
            }
        }
    }
}

impl Runtime<'_> {
    /// `pull`: the images of `services` (all when empty) from their
    /// registries; `ignore_buildable` skips services with `build:`.
    pub fn pull_images(
        &self,
        services: &[String],
        ignore_buildable: bool,
        ignore_failures: bool,
        progress: &dyn Progress,
    ) -> RunResult<()> {
        for (name, s) in &self.project.services {
            if !services.is_empty() && !services.contains(name) {
                continue;
            }
            if s.image.is_empty() || (ignore_buildable && s.build.is_some()) {
                continue;
            }
            progress.event(name, Status::Working, "Pulling");
            let req = wharf_engine::registry::PullRequest {
                name: s.image.clone(),
                platform: (!s.platform.is_empty()).then(|| s.platform.clone()),
            };
            match self.engine.pull(&req, &wharf_engine::registry::Silent) {
                Ok(_) => progress.event(name, Status::Done, "Pulled"),
                Err(e) => {
                    progress.event(name, Status::Error, &e.to_string());
                    if !(ignore_failures || s.build.is_some()) {
                        return Err(e.into());
                    }
                }
            }
        }
        Ok(())
    }

    /// `push`: the images of the services that build them.
    pub fn push_images(&self, services: &[String], progress: &dyn Progress) -> RunResult<()> {
        for (name, s) in &self.project.services {
            if !services.is_empty() && !services.contains(name) {
                continue;
            }
            if s.build.is_none() || s.image.is_empty() {
                continue;
            }
            let id = format!("Image {}", s.image);
            progress.event(&id, Status::Working, "Pushing");
            let targets = self.engine.push_targets(&s.image, false)?;
            for (reference, image_id) in &targets {
                if let Err(e) =
                    self.engine
                        .push(reference, image_id, &wharf_engine::registry::Silent)
                {
                    progress.event(&id, Status::Error, &e.to_string());
                    return Err(e.into());
                }
            }
            progress.event(&id, Status::Done, "Pushed");
        }
        Ok(())
    }
}
