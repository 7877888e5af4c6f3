//! Building one stage: start from its base, dispatch its instructions in
//! order, and publish the result for the stages that depend on it. Every
//! needed stage runs in its own thread; a stage that copies from another
//! waits for it here.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};

use wharf_dockerfile::{parse_trigger, Instruction, InstructionKind};
use wharf_oci::{ContainerConfig, Digest, History, ImageConfig};
use wharf_registry::Platform;
use wharf_store::Store;

use crate::cache::{self, StepResult};
use crate::context::Context;
use crate::history;
use crate::meta;
use crate::plan::{Plan, Source};
use crate::progress::{Progress, Step};
use crate::{BuildError, BuildHost, BuildRequest, BuildResult};

/// A finished stage.
#[derive(Debug)]
pub struct StageOutput {
    pub image: ImageConfig,
    /// The cache key of its last step.
    pub key: String,
    /// Index of the first history entry this build added.
    pub first_new: usize,
}

impl StageOutput {
    /// Layer trees, top first (overlay lowerdir order).
    pub fn lowers(&self, store: &Store) -> Vec<PathBuf> {
        lowers_of(store, &self.image)
    }
}

pub fn lowers_of(store: &Store, image: &ImageConfig) -> Vec<PathBuf> {
    image
        .diff_ids()
        .iter()
        .rev()
        .map(|d| store.layer_dir(d))
        .collect()
}

pub struct Builder<'a> {
    pub store: &'a Store,
    pub host: &'a dyn BuildHost,
    pub req: &'a BuildRequest,
    pub plan: &'a Plan,
    pub ctx: Option<Context>,
    pub progress: &'a Progress,
    /// Base images resolved up front, by name.
    pub bases: HashMap<String, Digest>,
    /// `--cache-from`: results other roots exported.
    pub imports: crate::cache_io::Imports,
    /// Every key the build went through, for `--cache-to`.
    pub recorder: crate::cache_io::Recorder,
    results: Mutex<HashMap<usize, Option<Arc<StageOutput>>>>,
    ready: Condvar,
}

impl<'a> Builder<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: &'a Store,
        host: &'a dyn BuildHost,
        req: &'a BuildRequest,
        plan: &'a Plan,
        ctx: Option<Context>,
        progress: &'a Progress,
        bases: HashMap<String, Digest>,
        imports: crate::cache_io::Imports,
    ) -> Builder<'a> {
        Builder {
            store,
            host,
            req,
            plan,
            ctx,
            progress,
            bases,
            imports,
            recorder: Default::default(),
            results: Mutex::new(HashMap::new()),
            ready: Condvar::new(),
        }
    }

    /// Build stage `s` and publish its result (or its failure).
    pub fn run_stage(&self, s: usize) -> BuildResult<Arc<StageOutput>> {
        let result = StageRun::start(self, s)
            .and_then(|r| r.finish())
            .map(Arc::new);
        let mut results = self.results.lock().unwrap_or_else(|e| e.into_inner());
        results.insert(s, result.as_ref().ok().cloned());
        self.ready.notify_all();
        result
    }

    /// Wait for stage `s` (built by its own thread).
    pub fn wait_stage(&self, s: usize) -> BuildResult<Arc<StageOutput>> {
        let mut results = self.results.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            match results.get(&s) {
                Some(Some(out)) => return Ok(out.clone()),
                Some(None) => {
                    return Err(BuildError::Invalid(format!(
                        "stage {} failed",
                        self.plan.label(s)
                    )))
                }
                None => results = self.ready.wait(results).unwrap_or_else(|e| e.into_inner()),
            }
        }
    }

    /// The config of an image the plan resolved (or resolves now).
    pub fn image_config(&self, name: &str) -> BuildResult<ImageConfig> {
        let id = match self.bases.get(name) {
            Some(id) => id.clone(),
            None => self.host.base_image(name, &mut std::io::sink())?,
        };
        ImageConfig::from_slice(&self.store.read_blob(&id)?)
            .map_err(|e| BuildError::Invalid(format!("image {name} has an invalid config: {e}")))
    }

    pub fn image_id(&self, name: &str) -> BuildResult<Digest> {
        match self.bases.get(name) {
            Some(id) => Ok(id.clone()),
            None => self.host.base_image(name, &mut std::io::sink()),
        }
    }
}

/// The state of a stage being built.
pub struct StageRun<'b, 'a> {
    pub b: &'b Builder<'a>,
    pub index: usize,
    pub image: ImageConfig,
    pub config: ContainerConfig,
    pub key: String,
    /// ARGs in scope with a value, in declaration order.
    pub args: Vec<(String, String)>,
    pub first_new: usize,
    cmd_set: bool,
    step_no: usize,
    steps: usize,
}

fn counts_as_step(ins: &Instruction) -> bool {
    matches!(
        ins.kind,
        InstructionKind::Run(_)
            | InstructionKind::Copy(_)
            | InstructionKind::Add(_)
            | InstructionKind::Workdir(_)
    )
}

impl<'b, 'a> StageRun<'b, 'a> {
    fn start(b: &'b Builder<'a>, index: usize) -> BuildResult<StageRun<'b, 'a>> {
        let stage = &b.plan.df.stages[index];
        // BuildKit has no FROM step for scratch: its steps count from 1.
        let from_step = usize::from(b.plan.bases[index] != Source::Scratch);
        let steps = from_step
            + stage
                .instructions
                .iter()
                .filter(|i| counts_as_step(i))
                .count();
        let (image, key) = match &b.plan.bases[index] {
            Source::Scratch => (
                scratch_image(&b.plan.platforms[index]),
                epoch_key("scratch", b.req),
            ),
            Source::Stage(s) => {
                let out = b.wait_stage(*s)?;
                (out.image.clone(), out.key.clone())
            }
            Source::Image(name) => {
                let id = b.image_id(name)?;
                let image = b.image_config(name)?;
                warn_platform(b, name, &image, &b.plan.platforms[index]);
                (image, epoch_key(&id.to_string(), b.req))
            }
            Source::Context(dir) => {
                return Err(BuildError::Invalid(format!(
                    "FROM {}: a local --build-context ({}) can only be used by COPY --from and RUN --mount from= in wharf, not as a stage's base",
                    stage.base_name,
                    dir.display()
                )))
            }
        };
        if !matches!(b.plan.bases[index], Source::Stage(_)) {
            b.recorder.push(crate::cache_io::StepRecord {
                key: key.clone(),
                parent: None,
                chain: image.diff_ids().to_vec(),
                created: None,
            });
        }
        if b.plan.shows_from(index) {
            let step = b.progress.step(&format!(
                "{}1/{steps}] FROM {}",
                b.plan.step_prefix(index),
                match &b.plan.bases[index] {
                    Source::Image(n) => wharf_oci::Reference::parse(n)
                        .map(|r| r.to_string())
                        .unwrap_or_else(|_| n.clone()),
                    _ => stage.base_name.clone(),
                }
            ));
            step.done();
        }
        let mut config = image.config.clone().unwrap_or_default();
        // BuildKit gives every stage a PATH.
        if !config.env.iter().any(|e| e.starts_with("PATH=")) {
            config
                .env
                .push(format!("PATH={}", wharf_runtime::spec::DEFAULT_PATH));
        }
        let first_new = image.history.len();
        Ok(StageRun {
            b,
            index,
            image,
            config,
            key,
            args: Vec::new(),
            first_new,
            cmd_set: false,
            step_no: from_step,
            steps,
        })
    }

    fn finish(mut self) -> BuildResult<StageOutput> {
        let stage = &self.b.plan.df.stages[self.index];
        let triggers = self.config.on_build.take().unwrap_or_default();
        for t in &triggers {
            let parsed = parse_trigger(t)
                .map_err(|e| BuildError::Invalid(format!("invalid ONBUILD trigger {t:?}: {e}")))?;
            for ins in parsed {
                self.dispatch(&ins)
                    .map_err(|e| e.at("Dockerfile", stage.from.start_line))?;
            }
        }
        for ins in &stage.instructions {
            self.dispatch(ins)
                .map_err(|e| e.at(&self.b.req.dockerfile_name, ins.start_line))?;
        }
        self.image.config = Some(self.config);
        Ok(StageOutput {
            image: self.image,
            key: self.key,
            first_new: self.first_new,
        })
    }

    /// Variables for expansion: ENV wins over ARG, as in BuildKit.
    pub fn lookup(&self, name: &str) -> Option<String> {
        self.config
            .env
            .iter()
            .rev()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=').map(str::to_string))
            .or_else(|| {
                self.args
                    .iter()
                    .rev()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            })
    }

    pub fn expand(&self, ins: &Instruction) -> BuildResult<Instruction> {
        let lexer = self.b.plan.df.lexer();
        let lookup = |n: &str| self.lookup(n);
        ins.expand(&lexer, &lookup)
            .map(|(e, _)| e)
            .map_err(|e| BuildError::Invalid(e.to_string()))
    }

    fn dispatch(&mut self, ins: &Instruction) -> BuildResult<()> {
        match &ins.kind {
            InstructionKind::From(_) => Err(BuildError::Invalid("unexpected FROM".into())),
            InstructionKind::Arg(defs) => {
                let expanded = self.expand(ins)?;
                let InstructionKind::Arg(values) = expanded.kind else {
                    unreachable!("ARG expands to ARG")
                };
                for (raw, def) in defs.iter().zip(values) {
                    let value = match self.b.plan.build_args.get(&raw.name) {
                        Some(Some(v)) => Some(v.clone()),
                        _ => def
                            .default
                            .clone()
                            .or_else(|| self.b.plan.meta.get(&def.name).cloned()),
                    };
                    self.args.retain(|(k, _)| *k != def.name);
                    if let Some(v) = value {
                        self.args.push((def.name.clone(), v));
                    }
                }
                self.note(meta::arg_history(defs), None);
                Ok(())
            }
            InstructionKind::Run(r) => self.run(ins, r),
            InstructionKind::Copy(_) | InstructionKind::Add(_) => {
                let expanded = self.expand(ins)?;
                self.copy(ins, &expanded)
            }
            InstructionKind::Workdir(_) => {
                let expanded = self.expand(ins)?;
                let InstructionKind::Workdir(dir) = expanded.kind else {
                    unreachable!("WORKDIR expands to WORKDIR")
                };
                self.workdir(ins, &dir)
            }
            _ => {
                let expanded = self.expand(ins)?;
                if let InstructionKind::Maintainer(m) = &expanded.kind {
                    self.image.author = m.clone();
                }
                let created_by = meta::apply(&mut self.config, expanded.kind, &mut self.cmd_set)?;
                self.note(created_by, None);
                Ok(())
            }
        }
    }

    /// Record a history entry (`diff` for a layer step).
    fn note(&mut self, created_by: String, layer: Option<(Digest, String)>) {
        match layer {
            Some((diff_id, created)) => {
                self.image
                    .rootfs
                    .get_or_insert_with(|| wharf_oci::RootFs::layers(Vec::new()))
                    .diff_ids
                    .push(diff_id);
                self.image
                    .history
                    .push(history::entry(created_by, Some(created), false));
            }
            None => self
                .image
                .history
                .push(history::entry(created_by, None, true)),
        }
    }

    /// The progress vertex of the next layer step.
    pub fn step(&mut self, ins: &Instruction) -> Step<'b> {
        self.step_no += 1;
        self.b.progress.step(&format!(
            "{}{}/{}] {}",
            self.b.plan.step_prefix(self.index),
            self.step_no,
            self.steps,
            ins.original
        ))
    }

    /// A layer step through the cache: on a hit reuse the layer, else run
    /// `work`, which stores the layer (recording the cache entry with it).
    pub fn layer_step(
        &mut self,
        step: Step<'b>,
        key: String,
        created_by: String,
        work: impl FnOnce(&mut Self, &StepResult, &mut Step<'b>) -> BuildResult<Digest>,
    ) -> BuildResult<()> {
        if !self.b.req.no_cache {
            let hit = match cache::lookup(self.b.store, &key)? {
                Some(hit) => {
                    cache::touch(self.b.store, &key);
                    Some(hit)
                }
                None => self.b.imports.restore(self.b.store, &key)?,
            };
            if let Some(hit) = hit {
                step.cached();
                let diff = hit.diff_id.expect("layer steps cache a layer");
                self.note(created_by, Some((diff, hit.created.clone())));
                self.record(key, hit.created);
                return Ok(());
            }
        }
        let result = StepResult {
            key: key.clone(),
            created: wharf_oci::config::format_time(chrono::Utc::now()),
            record: true,
            epoch: self.b.req.source_date_epoch,
        };
        let mut step = step;
        match work(self, &result, &mut step) {
            Ok(diff) => {
                step.done();
                self.note(created_by, Some((diff, result.created.clone())));
                self.record(key, result.created);
                Ok(())
            }
            Err(e) => {
                step.failed(&e.to_string());
                Err(e)
            }
        }
    }

    /// Move on to `key` (a layer step's, just noted), recording it for
    /// `--cache-to`.
    fn record(&mut self, key: String, created: String) {
        tracing::debug!(%key, parent = %self.key, "build step");
        self.b.recorder.push(crate::cache_io::StepRecord {
            key: key.clone(),
            parent: Some(std::mem::take(&mut self.key)),
            chain: self.image.diff_ids().to_vec(),
            created: Some(created),
        });
        self.key = key;
    }

    pub fn lowers(&self) -> Vec<PathBuf> {
        lowers_of(self.b.store, &self.image)
    }

    fn workdir(&mut self, ins: &Instruction, dir: &str) -> BuildResult<()> {
        let base = if self.config.working_dir.is_empty() {
            "/"
        } else {
            self.config.working_dir.as_str()
        };
        let joined = if dir.starts_with('/') {
            dir.to_string()
        } else {
            format!("{}/{dir}", base.trim_end_matches('/'))
        };
        let wd = format!("/{}", wharf_dockerfile::clean_context_path(&joined));
        self.config.working_dir = wd.clone();
        let created_by = format!("WORKDIR {wd}");
        let key = cache::key(&self.key, &["WORKDIR", &wd, &self.config.user]);
        let step = self.step(ins);
        self.layer_step(step, key, created_by, |run, result, _| {
            let m = crate::mounted::Mounted::new(run.b.store, &run.lowers())?;
            let owner = run.owner(m.root(), None)?;
            crate::copy::mkdir_all(m.root(), &wd, owner)?;
            m.into_layer(run.b.store, result)
        })
    }

    /// uid/gid for created files: `--chown` if given, else the stage's USER
    /// for WORKDIR (None = root), resolved in the stage's own /etc files.
    pub fn owner(&self, root: &std::path::Path, chown: Option<&str>) -> BuildResult<(u32, u32)> {
        let user = match chown {
            Some(c) => c,
            None if self.config.user.is_empty() => return Ok((0, 0)),
            None => self.config.user.as_str(),
        };
        let u = wharf_runtime::spec::resolve_user(root, user)
            .map_err(|e| BuildError::Invalid(e.to_string()))?;
        Ok((u.uid, u.gid))
    }
}

/// A stage's first key: its base, and `SOURCE_DATE_EPOCH` when set (its
/// layers differ in their file times).
fn epoch_key(base: &str, req: &BuildRequest) -> String {
    match req.source_date_epoch {
        None => cache::key(base, &[]),
        Some(e) => cache::key(base, &["SOURCE_DATE_EPOCH", &e.to_string()]),
    }
}

/// BuildKit's `InvalidBaseImagePlatform` warning: the store has one
/// platform per image, so a base of another platform is used as it is
/// (its programs then run natively or not at all; the result says its
/// platform).
fn warn_platform(b: &Builder<'_>, name: &str, image: &ImageConfig, want: &Platform) {
    let have = Platform {
        os: image.os.clone(),
        architecture: image.architecture.clone(),
        variant: image.variant.clone(),
    };
    let same = have.os == want.os
        && have.architecture == want.architecture
        && (want.variant.is_empty() || have.variant == want.variant);
    if !same {
        b.progress.warn(&format!(
            "InvalidBaseImagePlatform: Base image {name} was pulled with platform \"{have}\", expected \"{want}\" for current build"
        ));
    }
}

fn scratch_image(platform: &wharf_registry::Platform) -> ImageConfig {
    ImageConfig {
        architecture: platform.architecture.clone(),
        os: platform.os.clone(),
        variant: platform.variant.clone(),
        rootfs: Some(wharf_oci::RootFs::layers(Vec::new())),
        config: Some(ContainerConfig::default()),
        history: Vec::<History>::new(),
        ..Default::default()
    }
}
