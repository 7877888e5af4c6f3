//! From a parsed Dockerfile to the stages to build: meta ARGs (with
//! `--build-arg` overrides and BuildKit's automatic platform args), stage
//! base names, `--target`, and the dependency graph through `FROM <stage>`,
//! `COPY --from` and `RUN --mount=from=`.

use std::collections::{BTreeMap, BTreeSet};

use wharf_dockerfile::{Dockerfile, InstructionKind, Lexer, Mount};
use wharf_registry::Platform;

use crate::{BuildError, BuildRequest, BuildResult, NamedContext};

/// Where a stage starts or copies from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Scratch,
    Stage(usize),
    Image(String),
    /// A local directory given as `--build-context name=DIR`.
    Context(std::path::PathBuf),
}

pub struct Plan {
    pub df: Dockerfile,
    /// Meta ARG values (global scope), automatic platform args included.
    pub meta: BTreeMap<String, String>,
    /// Build args given on the command line.
    pub build_args: BTreeMap<String, Option<String>>,
    /// Per stage: where it starts.
    pub bases: Vec<Source>,
    pub target: usize,
    /// The stages to build, the target last.
    pub needed: Vec<usize>,
    /// Per stage: its platform (`FROM --platform`, else `--platform`,
    /// else this machine's).
    pub platforms: Vec<Platform>,
    /// `--build-context`s, by their normalized names.
    named: BTreeMap<String, NamedContext>,
    /// The target platform, when steps are named with it (a
    /// multi-platform build: `[linux/arm64 2/3] RUN ...`).
    platform_label: Option<String>,
}

/// BuildKit's automatic platform args: `BUILD*` for this machine,
/// `TARGET*` for `--platform` (this machine's without it).
pub fn platform_args(target: &Platform) -> Vec<(String, String)> {
    let build = Platform::host();
    let mut out = Vec::new();
    for (prefix, p) in [("BUILD", &build), ("TARGET", target)] {
        out.push((format!("{prefix}PLATFORM"), p.to_string()));
        out.push((format!("{prefix}OS"), p.os.clone()));
        out.push((format!("{prefix}ARCH"), p.architecture.clone()));
        out.push((format!("{prefix}VARIANT"), p.variant.clone()));
    }
    out
}

impl Plan {
    /// The plan for `target_platform` (steps named with it when
    /// `labelled`).
    pub fn new(
        df: Dockerfile,
        req: &BuildRequest,
        target_platform: &Platform,
        labelled: bool,
    ) -> BuildResult<Plan> {
        if df.stages.is_empty() {
            return Err(BuildError::Invalid(
                "the Dockerfile has no FROM instruction (no build stage)".into(),
            ));
        }
        let build_args: BTreeMap<String, Option<String>> = req.build_args.iter().cloned().collect();
        let lexer = df.lexer();
        let mut meta: BTreeMap<String, String> =
            platform_args(target_platform).into_iter().collect();
        for def in df.meta_arg_defs() {
            let value = match build_args.get(&def.name) {
                Some(Some(v)) => Some(v.clone()),
                _ => match &def.default {
                    Some(d) => Some(expand(&lexer, d, &meta)?),
                    None => None,
                },
            };
            match value {
                Some(v) => meta.insert(def.name.clone(), v),
                None => meta.remove(&def.name),
            };
        }
        let names: Vec<Option<String>> = df.stages.iter().map(|s| s.name.clone()).collect();
        let find_stage = |name: &str, before: usize| -> Option<usize> {
            let lower = name.to_lowercase();
            names[..before]
                .iter()
                .position(|n| n.as_deref() == Some(lower.as_str()))
        };
        let mut bases = Vec::new();
        let mut deps = Vec::new();
        let mut platforms = Vec::new();
        for (i, stage) in df.stages.iter().enumerate() {
            platforms.push(match &stage.platform {
                None => target_platform.clone(),
                Some(raw) => {
                    let p = expand(&lexer, raw, &meta).map_err(|e| {
                        BuildError::Invalid(format!("Dockerfile:{}: {e}", stage.from.start_line))
                    })?;
                    Platform::parse(&p).map_err(|e| {
                        BuildError::Invalid(format!(
                            "Dockerfile:{}: failed to parse platform {p}: {e}",
                            stage.from.start_line
                        ))
                    })?
                }
            });
            let base = expand(&lexer, &stage.base_name, &meta).map_err(|e| {
                BuildError::Invalid(format!("Dockerfile:{}: {e}", stage.from.start_line))
            })?;
            if base.is_empty() {
                return Err(BuildError::Invalid(format!(
                    "Dockerfile:{}: base name ({}) should not be blank",
                    stage.from.start_line, stage.base_name
                )));
            }
            let source = if let Some(named) = named_source(req, &base) {
                named
            } else if base.eq_ignore_ascii_case("scratch") {
                Source::Scratch
            } else if let Some(s) = find_stage(&base, i) {
                Source::Stage(s)
            } else {
                Source::Image(base)
            };
            let mut d = BTreeSet::new();
            if let Source::Stage(s) = source {
                d.insert(s);
            }
            for ins in &stage.instructions {
                let from = match &ins.kind {
                    InstructionKind::Copy(c) => c.from.clone(),
                    InstructionKind::Run(r) => {
                        for m in &r.mounts {
                            if let Some(f) = Mount::parse(m, &mut |w: &str| Ok(w.to_string()))
                                .ok()
                                .and_then(|m| m.from)
                            {
                                if named_source(req, &f).is_some() {
                                    continue;
                                }
                                if let Some(s) = stage_ref(&f, i, &find_stage) {
                                    d.insert(s?);
                                }
                            }
                        }
                        None
                    }
                    _ => None,
                };
                if let Some(f) = from.filter(|f| named_source(req, f).is_none()) {
                    if let Some(s) = stage_ref(&f, i, &find_stage) {
                        d.insert(s.map_err(|e| e.at("Dockerfile", ins.start_line))?);
                    }
                }
            }
            bases.push(source);
            deps.push(d);
        }
        let target = match &req.target {
            Some(t) => df
                .stages
                .iter()
                .position(|s| s.name.as_deref() == Some(t.to_lowercase().as_str()))
                .ok_or_else(|| {
                    BuildError::NotFound(format!("failed to reach build target {t} in Dockerfile"))
                })?,
            None => df.stages.len() - 1,
        };
        let mut needed = BTreeSet::new();
        let mut todo = vec![target];
        while let Some(s) = todo.pop() {
            if needed.insert(s) {
                todo.extend(deps[s].iter().copied());
            }
        }
        Ok(Plan {
            df,
            meta,
            build_args,
            bases,
            target,
            needed: needed.into_iter().collect(),
            platforms,
            named: req.named_contexts.clone(),
            platform_label: labelled.then(|| target_platform.to_string()),
        })
    }

    /// BuildKit's stage label: its name, or `stage-N`.
    pub fn label(&self, stage: usize) -> String {
        self.df.stages[stage]
            .name
            .clone()
            .unwrap_or_else(|| format!("stage-{stage}"))
    }

    /// How BuildKit opens a step's progress name: `[name `, `[stage-N `
    /// for an unnamed stage of a multi-stage file, `[` for the only one.
    pub fn step_prefix(&self, stage: usize) -> String {
        let platform = self
            .platform_label
            .as_ref()
            .map(|p| format!("{p} "))
            .unwrap_or_default();
        if self.df.stages[stage].name.is_none() && self.df.stages.len() == 1 {
            format!("[{platform}")
        } else {
            format!("[{platform}{} ", self.label(stage))
        }
    }

    /// Whether stage `s` shows a FROM step: not for scratch, and an image
    /// several stages start from is one step (BuildKit's one vertex),
    /// shown by the last of them.
    pub fn shows_from(&self, s: usize) -> bool {
        match &self.bases[s] {
            Source::Scratch => false,
            Source::Stage(_) | Source::Context(_) => true,
            Source::Image(n) => !self
                .needed
                .iter()
                .any(|&o| o > s && self.bases[o] == Source::Image(n.clone())),
        }
    }

    /// What `COPY --from=x` / `--mount from=x` in stage `at` refers to.
    pub fn source(&self, from: &str, at: usize) -> BuildResult<Source> {
        if let Some(named) = named_source_in(&self.named, from) {
            return Ok(named);
        }
        let lower = from.to_lowercase();
        if let Some(s) = self.df.stages[..at]
            .iter()
            .position(|s| s.name.as_deref() == Some(lower.as_str()))
        {
            return Ok(Source::Stage(s));
        }
        if let Ok(n) = from.parse::<usize>() {
            return if n < at {
                Ok(Source::Stage(n))
            } else {
                Err(BuildError::Invalid(format!(
                    "invalid stage index {n}: a stage can only copy from an earlier one"
                )))
            };
        }
        if from.eq_ignore_ascii_case("scratch") {
            return Ok(Source::Scratch);
        }
        Ok(Source::Image(from.to_string()))
    }
}

/// What a name (`FROM name`, `--from=name`) is when a `--build-context`
/// gives it: named contexts come before stages and images, as BuildKit's
/// frontend looks them up first.
fn named_source(req: &BuildRequest, name: &str) -> Option<Source> {
    named_source_in(&req.named_contexts, name)
}

fn named_source_in(named: &BTreeMap<String, NamedContext>, name: &str) -> Option<Source> {
    match named.get(&crate::request::context_name(name))? {
        NamedContext::Dir(d) => Some(Source::Context(d.clone())),
        NamedContext::Image(r) => Some(if r.eq_ignore_ascii_case("scratch") {
            Source::Scratch
        } else {
            Source::Image(r.clone())
        }),
    }
}

/// A stage referenced by `--from`: earlier stages only (a later or the same
/// stage is a cycle, as BuildKit reports it).
fn stage_ref(
    from: &str,
    at: usize,
    find: &dyn Fn(&str, usize) -> Option<usize>,
) -> Option<BuildResult<usize>> {
    if let Some(s) = find(from, at) {
        return Some(Ok(s));
    }
    if let Ok(n) = from.parse::<usize>() {
        return Some(if n < at {
            Ok(n)
        } else {
            Err(BuildError::Invalid(format!(
                "circular dependency detected on stage: {from}"
            )))
        });
    }
    None
}

pub fn expand(lexer: &Lexer, word: &str, vars: &BTreeMap<String, String>) -> BuildResult<String> {
    lexer
        .process_word(word, &|n: &str| vars.get(n).cloned())
        .map_err(|e| BuildError::Invalid(e.to_string()))
}
