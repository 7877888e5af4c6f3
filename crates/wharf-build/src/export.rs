//! The whole build: load the Dockerfile and context, resolve base images,
//! build the needed stages in parallel, and export the target stage as an
//! image (BuildKit's history timestamps, `--label`s, tags).

use std::collections::HashMap;

use wharf_image::commit::commit_image;
use wharf_oci::{Digest, Reference};
use wharf_store::Store;

use crate::context::Context;
use crate::history::{self, normalize};
use crate::plan::{Plan, Source};
use crate::progress::Progress;
use crate::stage::Builder;
use crate::{BuildError, BuildHost, BuildRequest, BuildResult};

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
    let plan = Plan::new(df, req)?;

    let ctx = match &req.context {
        Some(dir) => {
            let step = progress.step("[internal] load .dockerignore");
            let ctx = Context::open(dir.clone())?;
            step.done();
            Some(ctx)
        }
        None => None,
    };

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
    let results: Vec<BuildResult<_>> = std::thread::scope(|scope| {
        let handles: Vec<_> = plan
            .needed
            .iter()
            .map(|&s| {
                let b = &builder;
                scope.spawn(move || b.run_stage(s))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(BuildError::Invalid("a build stage panicked".into())))
            })
            .collect()
    });
    // Report the first failure in file order (others are its knock-on).
    let mut target = None;
    for (s, r) in plan.needed.iter().zip(results) {
        match r {
            Ok(out) if *s == plan.target => target = Some(out),
            Ok(_) => {}
            Err(e) => return Err(e),
        }
    }
    let out = target.expect("the target stage is built");

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
    if req.cache_to.contains(&crate::CacheTo::Inline) {
        if let Some(c) =
            crate::cache_io::inline_cache(&builder.recorder, &out.key, image.diff_ids())
        {
            image
                .extra
                .insert(crate::cache_io::INLINE_KEY.into(), c.into());
        }
    }
    let config = image.to_bytes();
    let mut outcome = BuildOutcome {
        image_id: Digest::of(&config),
        loaded: false,
        moved_tags: Vec::new(),
    };
    // Every step done and cached, the image not yet made nor tagged.
    wharf_failpoint::hit("build-before-tag");
    if !req.export_only {
        let mut step = progress.step("exporting to image");
        let committed = commit_image(store, Vec::new(), &config, &req.tags, None)?;
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
        crate::outputs::write(store, o, &image, &config, &req.tags, progress)?;
    }
    for to in &req.cache_to {
        crate::cache_io::export(store, to, &builder.recorder, &out.key, progress)?;
    }
    progress.finish();
    Ok(outcome)
}
