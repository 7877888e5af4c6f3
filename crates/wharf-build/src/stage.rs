//! Building one stage: start from its base, dispatch its instructions in
//! order, and publish the result for the stages that depend on it. Every
//! stage to build runs in its own thread; a stage that copies from another
//! waits for it here (or builds it, if no thread has).
//!
//! With `--cache-from`, a dry run first walks the stages for their cache
//! keys alone (they chain from definitions and content, never from what a
//! step produced), running and restoring nothing: a stage whose only uses
//! are `COPY --from` steps that the caches hold is then not built at all,
//! as BuildKit does not — an inline cache, which holds the result's steps
//! only, rebuilds the image without running the builder stages, and a
//! `mode=max` cache fetches only the layers the image is made of.

use std::collections::{BTreeSet, HashMap};
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
    results: Mutex<HashMap<usize, Slot>>,
    ready: Condvar,
    /// The stages given a thread of their own (`stages_to_run`).
    planned: Mutex<BTreeSet<usize>>,
    /// Dry runs, by stage.
    probes: Mutex<HashMap<usize, Arc<Probe>>>,
    /// Where dry runs' steps go: nowhere.
    quiet: Progress,
}

/// A stage's real run: under way, or done (`None`: it failed).
enum Slot {
    Running,
    Done(Option<Arc<StageOutput>>),
}

/// A stage's dry run: its output's config and key (no layers), and the
/// stages its real run would use: its base stage, and the sources of the
/// steps no cache holds.
struct Probe {
    out: Arc<StageOutput>,
    wants: BTreeSet<usize>,
    shown: Vec<Shown>,
}

/// What a dry run's stage would show: its FROM, a layer step a cache
/// holds, one none does.
enum Shown {
    From(String),
    Step(String, bool),
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
            planned: Mutex::new(BTreeSet::new()),
            probes: Mutex::new(HashMap::new()),
            quiet: Progress::new(
                crate::progress::ProgressMode::Quiet,
                Box::new(std::io::sink()),
            ),
        }
    }

    /// The stages to build, each in a thread of its own: all the plan
    /// needs; with `--cache-from`, only those the dry runs find a use for,
    /// from the target down (all again if a dry run cannot tell: a remote
    /// source, an error — the real run reports it).
    pub fn stages_to_run(&self) -> Vec<usize> {
        let run = self.choose_stages();
        *self.planned.lock().unwrap_or_else(|e| e.into_inner()) = run.iter().copied().collect();
        run
    }

    fn choose_stages(&self) -> Vec<usize> {
        let plan = self.plan;
        if self.req.no_cache || self.req.cache_from.is_empty() || plan.needed.len() < 2 {
            return plan.needed.clone();
        }
        let mut run = BTreeSet::new();
        let mut todo = vec![plan.target];
        while let Some(s) = todo.pop() {
            if !run.insert(s) {
                continue;
            }
            match self.probe(s) {
                Ok(p) => todo.extend(p.wants.iter().copied()),
                Err(e) => {
                    tracing::debug!(stage = s, error = %e, "no dry run: building every stage");
                    return plan.needed.clone();
                }
            }
        }
        tracing::debug!(?run, needed = ?plan.needed, "stages to build");
        // A stage not built shows its cached steps, as BuildKit's do: the
        // result needs none of their layers, so none is fetched.
        for s in plan.needed.iter().filter(|s| !run.contains(*s)) {
            let probes = self.probes.lock().unwrap_or_else(|e| e.into_inner());
            for shown in probes.get(s).map(|p| &p.shown[..]).unwrap_or_default() {
                match shown {
                    Shown::From(name) => self.progress.step(name).done(),
                    Shown::Step(name, true) => self.progress.step(name).cached(),
                    Shown::Step(_, false) => {}
                }
            }
        }
        plan.needed
            .iter()
            .copied()
            .filter(|s| run.contains(s))
            .collect()
    }

    /// The dry run of stage `s` (done once).
    fn probe(&self, s: usize) -> BuildResult<Arc<Probe>> {
        if let Some(p) = self
            .probes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&s)
        {
            return Ok(p.clone());
        }
        let (out, dry) = StageRun::start(self, s, true)?.finish()?;
        let p = Arc::new(Probe {
            out: Arc::new(out),
            wants: dry.wants,
            shown: dry.shown,
        });
        self.probes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(s, p.clone());
        Ok(p)
    }

    /// Build stage `s` here and publish its result (or its failure);
    /// `None` when another thread builds it.
    pub fn run_stage(&self, s: usize) -> Option<BuildResult<Arc<StageOutput>>> {
        {
            let mut results = self.results.lock().unwrap_or_else(|e| e.into_inner());
            if results.contains_key(&s) {
                return None;
            }
            results.insert(s, Slot::Running);
        }
        let result = StageRun::start(self, s, false)
            .and_then(|r| r.finish())
            .map(|(out, _)| Arc::new(out));
        let mut results = self.results.lock().unwrap_or_else(|e| e.into_inner());
        results.insert(s, Slot::Done(result.as_ref().ok().cloned()));
        self.ready.notify_all();
        Some(result)
    }

    /// Stage `s`'s output: built by its own thread, or here if it has
    /// none (a stage the dry run found no use for, needed after all: a
    /// cache entry gone since).
    pub fn wait_stage(&self, s: usize) -> BuildResult<Arc<StageOutput>> {
        let planned = self
            .planned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&s);
        if !planned {
            if let Some(result) = self.run_stage(s) {
                return result;
            }
        }
        let mut results = self.results.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            match results.get(&s) {
                Some(Slot::Done(Some(out))) => return Ok(out.clone()),
                Some(Slot::Done(None)) => {
                    return Err(BuildError::Invalid(format!(
                        "stage {} failed",
                        self.plan.label(s)
                    )))
                }
                _ => results = self.ready.wait(results).unwrap_or_else(|e| e.into_inner()),
            }
        }
    }

    /// The cache key of stage `s`'s result: its dry run's while no thread
    /// builds it (the same key: nothing a step produces goes into one),
    /// else the real run's.
    pub fn stage_key(&self, s: usize) -> BuildResult<String> {
        let running = self
            .results
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&s);
        if !running {
            if let Some(p) = self
                .probes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&s)
            {
                return Ok(p.out.key.clone());
            }
        }
        Ok(self.wait_stage(s)?.key.clone())
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
    /// A dry run: keys only, nothing run, restored, shown or recorded.
    pub dry: bool,
    /// Stages the next layer step uses (its `--from` sources).
    pub refs: Vec<usize>,
    /// Dry run: what the real run would use and show.
    found: DryRun,
}

/// What a dry run finds.
#[derive(Default)]
struct DryRun {
    /// The stages a real run would use.
    wants: BTreeSet<usize>,
    shown: Vec<Shown>,
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
    fn start(b: &'b Builder<'a>, index: usize, dry: bool) -> BuildResult<StageRun<'b, 'a>> {
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
            Source::Stage(s) if dry => {
                let out = b.probe(*s)?.out.clone();
                (out.image.clone(), out.key.clone())
            }
            Source::Stage(s) => {
                let out = b.wait_stage(*s)?;
                (out.image.clone(), out.key.clone())
            }
            Source::Image(name) => {
                let id = b.image_id(name)?;
                let image = b.image_config(name)?;
                if !dry {
                    warn_platform(b, name, &image, &b.plan.platforms[index]);
                }
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
        if !dry && !matches!(b.plan.bases[index], Source::Stage(_)) {
            b.recorder.push(crate::cache_io::StepRecord {
                key: key.clone(),
                parent: None,
                chain: image.diff_ids().to_vec(),
                created: None,
            });
        }
        let mut found = DryRun::default();
        if let Source::Stage(s) = b.plan.bases[index] {
            // A stage built on another needs that one's layers.
            found.wants.insert(s);
        }
        if b.plan.shows_from(index) {
            let from = format!(
                "{}1/{steps}] FROM {}",
                b.plan.step_prefix(index),
                match &b.plan.bases[index] {
                    Source::Image(n) => wharf_oci::Reference::parse(n)
                        .map(|r| r.to_string())
                        .unwrap_or_else(|_| n.clone()),
                    _ => stage.base_name.clone(),
                }
            );
            if dry {
                found.shown.push(Shown::From(from));
            } else {
                b.progress.step(&from).done();
            }
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
            dry,
            refs: Vec::new(),
            found,
        })
    }

    /// The output, and what a dry run found.
    fn finish(mut self) -> BuildResult<(StageOutput, DryRun)> {
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
        Ok((
            StageOutput {
                image: self.image,
                key: self.key,
                first_new: self.first_new,
            },
            self.found,
        ))
    }

    /// The cache key of stage `s`'s result, as a `--from` source.
    pub fn source_key(&self, s: usize) -> BuildResult<String> {
        if self.dry {
            Ok(self.b.probe(s)?.out.key.clone())
        } else {
            self.b.stage_key(s)
        }
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
        let progress = if self.dry {
            &self.b.quiet
        } else {
            self.b.progress
        };
        progress.step(&format!(
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
        let refs = std::mem::take(&mut self.refs);
        if self.dry {
            // Will the real run find it in a cache? If not, it runs the
            // step, and needs the step's sources.
            let hit = !self.b.req.no_cache
                && (cache::lookup(self.b.store, &key)?.is_some() || self.b.imports.offers(&key));
            if !hit {
                self.found.wants.extend(refs);
            }
            self.found
                .shown
                .push(Shown::Step(step.name().to_string(), hit));
            self.key = key;
            return Ok(());
        }
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
