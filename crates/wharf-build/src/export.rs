//! The whole build: load the Dockerfile and context, resolve base images,
//! build the needed stages in parallel, and export the target stage as an
//! image (BuildKit's history timestamps, `--label`s, tags).

use std::collections::HashMap;

use wharf_dockerfile::Dockerfile;
use wharf_image::commit::commit_image;
use wharf_oci::{Digest, ImageConfig, Reference};
use wharf_registry::Platform;
use wharf_store::Store;

use crate::context::Context;
use crate::history::{self, normalize};
use crate::plan::{Plan, Source};
use crate::progress::Progress;
use crate::stage::Builder;
use crate::{BuildError, BuildHost, BuildRequest, BuildResult, Output};

#[derive(Debug, Clone)]
pub struct BuildOutcome {
    /// The image's ID (its config's digest), whether or not it was loaded.
    pub image_id: Digest,
    /// Whether the image is in the store (and tagged): not for `--output`
    /// without `--load`.
    pub loaded: bool,
    /// Tags that moved here from another image: (tag, previous image).
    pub moved_tags: Vec<(Reference, Digest)>,
}

pub fn build(
    store: &Store,
    host: &dyn BuildHost,
    req: &BuildRequest,
    progress: &Progress,
) -> BuildResult<BuildOutcome> {
    if req.platforms.len() > 1 {
        return build_multi(store, host, req, progress);
    }
    let (df, ctx) = load(req, progress)?;
    let target = req
        .platforms
        .first()
        .cloned()
        .unwrap_or_else(Platform::host);
    let built = build_image(store, host, req, df, ctx, &target, false, progress)?;
    let image = &built.image;
    let config = &built.config;
    let mut outcome = BuildOutcome {
        image_id: Digest::of(config),
        loaded: false,
        moved_tags: Vec::new(),
    };
    // Every step done and cached, the image not yet made nor tagged.
    wharf_failpoint::hit("build-before-tag");
    if !req.export_only {
        let mut step = progress.step("exporting to image");
        let committed = commit_image(store, Vec::new(), config, &req.tags, None)?;
        step.note("exporting layers done");
        step.note(&format!("writing image {} done", committed.id));
        for t in &req.tags {
            step.note(&format!("naming to {t} done"));
        }
        step.done();
        outcome.loaded = true;
        outcome.moved_tags = committed.moved_tags;
    }
    for o in &req.outputs {
        crate::outputs::write(store, o, image, config, &req.tags, progress)?;
    }
    for to in &req.cache_to {
        crate::cache_io::export(store, to, &built.recorder, &[&built.key], progress)?;
    }
    progress.finish();
    Ok(outcome)
}

/// `--platform a,b`: the target built once per platform (one after the
/// other, steps named `[linux/arm64 2/3]` as BuildKit names them), then
/// written out as one multi-platform result: an image index in an OCI
/// layout (`type=oci`), a directory per platform (`local`, `tar`). The
/// store holds single-platform images under a tag, as docker's own image
/// store does, so loading such a result (no `--output`, `--load`,
/// `type=docker`) is refused before anything is built, as buildx refuses
/// it. `--cache-to` exports one cache holding every platform's steps.
fn build_multi(
    store: &Store,
    host: &dyn BuildHost,
    req: &BuildRequest,
    progress: &Progress,
) -> BuildResult<BuildOutcome> {
    let list = req
        .platforms
        .iter()
        .map(Platform::to_string)
        .collect::<Vec<_>>()
        .join(",");
    if !req.export_only || req.outputs.iter().any(|o| matches!(o, Output::Docker(_))) {
        return Err(BuildError::Invalid(format!(
            "docker exporter does not currently support exporting manifest lists: the image store keeps one platform per image; to build for {list}, write the result with --output type=oci,dest=FILE (an OCI layout with an image index) or type=local,dest=DIR"
        )));
    }
    let (df, ctx) = load(req, progress)?;
    let mut built = Vec::new();
    for p in &req.platforms {
        let b = build_image(store, host, req, df.clone(), ctx.clone(), p, true, progress)?;
        built.push((p.clone(), b));
    }
    wharf_failpoint::hit("build-before-tag");
    let recorder = crate::cache_io::Recorder::default();
    let mut lasts = Vec::new();
    let mut images: Vec<(Platform, ImageConfig, Vec<u8>)> = Vec::new();
    for (p, b) in built {
        recorder.append(b.recorder);
        lasts.push(b.key);
        images.push((p, b.image, b.config));
    }
    for o in &req.outputs {
        crate::outputs::write_multi(store, o, &images, &req.tags, progress)?;
    }
    let lasts: Vec<&str> = lasts.iter().map(String::as_str).collect();
    for to in &req.cache_to {
        crate::cache_io::export(store, to, &recorder, &lasts, progress)?;
    }
    progress.finish();
    // docker prints no ID for an exported multi-platform result; the
    // first platform's image stands for it.
    Ok(BuildOutcome {
        image_id: Digest::of(&images[0].2),
        loaded: false,
        moved_tags: Vec::new(),
    })
}

/// The Dockerfile parsed and the context opened, once for every platform.
fn load(req: &BuildRequest, progress: &Progress) -> BuildResult<(Dockerfile, Option<Context>)> {
    let mut step = progress.step(&format!(
        "[internal] load build definition from {}",
        req.dockerfile_name
    ));
    step.note(&format!(
        "transferring dockerfile: {}B done",
        req.dockerfile.len()
    ));
    let df = match wharf_dockerfile::parse(&req.dockerfile) {
        Ok(df) => df,
        Err(e) => {
            let msg = e.to_string();
            step.failed(&msg);
            return Err(BuildError::Invalid(msg));
        }
    };
    step.done();
    let ctx = match &req.context {
        Some(dir) => {
            let step = progress.step("[internal] load .dockerignore");
            let ctx = Context::open(dir.clone())?;
            step.done();
            Some(ctx)
        }
        None => None,
    };
    Ok((df, ctx))
}

/// One platform's image, made but neither stored as an image nor tagged.
struct Built {
    image: ImageConfig,
    /// The image's config bytes (its ID is their digest).
    config: Vec<u8>,
    /// Every key the build went through, and the last one: `--cache-to`.
    recorder: crate::cache_io::Recorder,
    key: String,
}

/// Build the target stage for `platform` (its steps named with it when
/// `labelled`): base images resolved, stages run in parallel, the result's
/// history, labels and inline cache set.
#[allow(clippy::too_many_arguments)]
fn build_image(
    store: &Store,
    host: &dyn BuildHost,
    req: &BuildRequest,
    df: Dockerfile,
    ctx: Option<Context>,
    platform: &Platform,
    labelled: bool,
    progress: &Progress,
) -> BuildResult<Built> {
    let plan = Plan::new(df, req, platform, labelled)?;
    let mut bases = HashMap::new();
    for s in &plan.needed {
        if let Source::Image(name) = &plan.bases[*s] {
            if bases.contains_key(name) {
                continue;
            }
            let shown = Reference::parse(name)
                .map(|r| r.to_string())
                .unwrap_or_else(|_| name.clone());
            let mut step = progress.step(&format!("[internal] load metadata for {shown}"));
            match host.base_image(name, &mut step) {
                Ok(id) => {
                    step.done();
                    bases.insert(name.clone(), id);
                }
                Err(e) => {
                    step.failed(&e.to_string());
                    let line = plan.df.stages[*s].from.start_line;
                    return Err(e.at(&req.dockerfile_name, line));
                }
            }
        }
    }

    let imports = crate::cache_io::Imports::load(store, host, &req.cache_from, progress);
    let builder = Builder::new(store, host, req, &plan, ctx, progress, bases, imports);
    let to_run = builder.stages_to_run();
    let results: Vec<Option<BuildResult<_>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = to_run
            .iter()
            .map(|&s| {
                let b = &builder;
                scope.spawn(move || b.run_stage(s))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Some(Err(BuildError::Invalid("a build stage panicked".into())))
                })
            })
            .collect()
    });
    // Report the first failure in file order (others are its knock-on).
    let mut target = None;
    for (s, r) in to_run.iter().zip(results) {
        match r {
            Some(Ok(out)) if *s == plan.target => target = Some(out),
            Some(Err(e)) => return Err(e),
            _ => {}
        }
    }
    let out = match target {
        Some(out) => out,
        None => builder.wait_stage(plan.target)?,
    };

    let mut image = out.image.clone();
    let now = wharf_oci::config::format_time(chrono::Utc::now());
    normalize(&mut image.history, out.first_new, &now);
    if let Some(epoch) = req.source_date_epoch {
        history::clamp(&mut image.history, epoch);
    }
    if !req.labels.is_empty() {
        let config = image.config.get_or_insert_with(Default::default);
        let labels = config.labels.get_or_insert_with(Default::default);
        labels.extend(req.labels.clone());
    }
    image.created = image.history.last().and_then(|h| h.created.clone());
    let recorder = builder.recorder;
    if req.cache_to.contains(&crate::CacheTo::Inline) {
        if let Some(c) = crate::cache_io::inline_cache(&recorder, &out.key, image.diff_ids()) {
            image
                .extra
                .insert(crate::cache_io::INLINE_KEY.into(), c.into());
        }
    }
    let config = image.to_bytes();
    Ok(Built {
        image,
        config,
        recorder,
        key: out.key.clone(),
    })
}
