//! Loading a project as `docker compose` does: which files, which
//! environment, which name, then each file parsed, interpolated, extended,
//! included, merged, validated and made canonical, and finally the typed
//! model with profiles applied and references checked.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path as FsPath, PathBuf};

use indexmap::IndexMap;
use serde_json::{Map, Value};

use crate::canonical;
use crate::error::{invalid, ComposeError, Result};
use crate::interpolate::interpolate;
use crate::merge;
use crate::model::{EnvMap, Project, Service};
use crate::normalize::{self, join};
use crate::schema;
use crate::template::Mapping;
use crate::yaml::{self, Document};

/// The command line's project options (`-f`, `-p`, `--project-directory`,
/// `--profile`, `--env-file`) and what `config` changes in loading.
#[derive(Debug, Clone)]
pub struct Options {
    pub files: Vec<PathBuf>,
    pub project_name: Option<String>,
    pub project_directory: Option<PathBuf>,
    pub profiles: Vec<String>,
    pub env_files: Vec<PathBuf>,
    /// The process environment (defaults to this process's).
    pub environment: Option<HashMap<String, String>>,
    /// The directory the command runs in (defaults to the current one).
    pub cwd: Option<PathBuf>,
    pub interpolate: bool,
    pub normalize: bool,
    pub resolve_paths: bool,
    pub consistency: bool,
    /// Services named on the command line (with their dependencies).
    pub services: Vec<String>,
    /// Keep networks and volumes no selected service uses.
    pub all_resources: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            files: Vec::new(),
            project_name: None,
            project_directory: None,
            profiles: Vec::new(),
            env_files: Vec::new(),
            environment: None,
            cwd: None,
            interpolate: true,
            normalize: true,
            resolve_paths: true,
            consistency: true,
            services: Vec::new(),
            all_resources: false,
        }
    }
}

/// A loaded project and what loading it said on the way.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub project: Project,
    /// Services disabled by profiles.
    pub disabled: Vec<String>,
    /// The dynamic model (what `config --no-interpolate` prints).
    pub model: Value,
    pub working_dir: String,
    pub config_files: Vec<String>,
    pub env_files: Vec<String>,
    pub environment: HashMap<String, String>,
    /// Warnings Compose prints to stderr (unset variables, `version`...).
    pub warnings: Vec<String>,
    /// Per service, its `env_file`s in order with the variables each
    /// one defines (the service's `environment` has them merged): what
    /// `kube generate` turns into ConfigMaps.
    pub env_files_read: BTreeMap<String, Vec<EnvFileVars>>,
}

/// One `env_file` of a service and the variables it defines.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EnvFileVars {
    pub path: String,
    pub vars: Vec<(String, String)>,
}

/// Per-load switches (compose-go's loader options).
#[derive(Clone, Copy)]
struct LoadOpts {
    interpolate: bool,
    extends: bool,
    include: bool,
    validate: bool,
    resolve_paths: bool,
    defaults: bool,
}

struct Ctx {
    warnings: RefCell<Vec<String>>,
}

impl Ctx {
    fn warn(&self, w: String) {
        self.warnings.borrow_mut().push(w);
    }
}

struct EnvLookup<'a> {
    env: &'a HashMap<String, String>,
    ctx: &'a Ctx,
}

impl Mapping for EnvLookup<'_> {
    fn lookup(&self, name: &str) -> Option<String> {
        self.env.get(name).cloned()
    }
    fn unset(&self, name: &str) {
        self.ctx.warn(format!(
            "The {name:?} variable is not set. Defaulting to a blank string."
        ));
    }
}

pub const DEFAULT_FILES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];
pub const DEFAULT_OVERRIDES: [&str; 4] = [
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];

fn abs(cwd: &str, p: &FsPath) -> String {
    let s = p.to_string_lossy();
    if s.starts_with('/') {
        canonical::clean_path(&s)
    } else {
        join(cwd, &s)
    }
}

fn dir_of(p: &str) -> String {
    match p.rfind('/') {
        Some(0) => "/".into(),
        Some(i) => p[..i].to_string(),
        None => ".".into(),
    }
}

fn base_name(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// compose-go's `NormalizeProjectName`.
pub fn normalize_project_name(s: &str) -> String {
    let lower = s.to_lowercase();
    let kept: String = lower
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    kept.trim_start_matches(['_', '-']).to_string()
}

fn invalid_name(v: &str) -> ComposeError {
    invalid(format!(
        "invalid project name {v:?}: must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number"
    ))
}

fn is_file(p: &str) -> bool {
    std::fs::metadata(p).map(|m| !m.is_dir()).unwrap_or(false)
}

fn read_env_files(
    files: &[String],
    current: &HashMap<String, String>,
) -> Result<IndexMap<String, String>> {
    let mut out: IndexMap<String, String> = IndexMap::new();
    for f in files {
        let meta = std::fs::metadata(f).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                invalid(format!("couldn't find env file: {f}"))
            } else {
                ComposeError::io(f.clone(), e)
            }
        })?;
        if meta.is_dir() {
            return Err(invalid(format!("{f} is a directory")));
        }
        let text = std::fs::read_to_string(f).map_err(|e| ComposeError::io(f.clone(), e))?;
        let snapshot = out.clone();
        crate::envfile::parse(&text, &mut out, &|k: &str| {
            current.get(k).cloned().or_else(|| snapshot.get(k).cloned())
        })
        .map_err(|e| invalid(format!("failed to read {f}: {e}")))?;
    }
    Ok(out)
}

/// Loads the project the options designate.
pub fn load(opts: &Options) -> Result<Loaded> {
    let cwd = match &opts.cwd {
        Some(c) => c.to_string_lossy().into_owned(),
        None => std::env::current_dir()
            .map_err(|e| ComposeError::io(".", e))?
            .to_string_lossy()
            .into_owned(),
    };
    let mut env: HashMap<String, String> = match &opts.environment {
        Some(e) => e.clone(),
        None => std::env::vars().collect(),
    };
    env.entry("PWD".into()).or_insert_with(|| cwd.clone());
    let ctx = Ctx {
        warnings: RefCell::new(Vec::new()),
    };

    let project_dir = opts.project_directory.as_ref().map(|d| abs(&cwd, d));
    let mut files: Vec<String> = opts.files.iter().map(|f| abs(&cwd, f)).collect();
    let explicit_env_files: Vec<String> = if opts.env_files.is_empty() {
        env.get("COMPOSE_ENV_FILES")
            .map(|v| {
                v.split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| abs(&cwd, FsPath::new(s)))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        opts.env_files.iter().map(|f| abs(&cwd, f)).collect()
    };
    let working_dir = |files: &[String]| -> String {
        if let Some(d) = &project_dir {
            return d.clone();
        }
        files
            .iter()
            .find(|f| *f != "-")
            .map(|f| dir_of(f))
            .unwrap_or_else(|| cwd.clone())
    };
    let disable_default = env
        .get("COMPOSE_DISABLE_ENV_FILE")
        .is_some_and(|v| matches!(v.as_str(), "1" | "t" | "T" | "true" | "TRUE" | "True"));
    let default_env_files = |wd: &str| -> Vec<String> {
        if !explicit_env_files.is_empty() {
            return explicit_env_files.clone();
        }
        if disable_default {
            return Vec::new();
        }
        let f = join(wd, ".env");
        if is_file(&f) {
            vec![f]
        } else {
            Vec::new()
        }
    };

    // `COMPOSE_*` variables of the .env file act as if set in the shell.
    let mut env_files = default_env_files(&working_dir(&files));
    for (k, v) in read_env_files(&env_files, &env)? {
        if k.starts_with("COMPOSE_") && !env.contains_key(&k) {
            env.insert(k, v);
        }
    }
    let os_env = env.clone();
    for (k, v) in read_env_files(&env_files, &os_env)? {
        env.entry(k).or_insert(v);
    }

    // COMPOSE_FILE, then discovery upward from the working directory.
    if files.is_empty() {
        if let Some(f) = env.get("COMPOSE_FILE") {
            let sep = env
                .get("COMPOSE_PATH_SEPARATOR")
                .filter(|s| !s.is_empty())
                .cloned()
                .unwrap_or_else(|| ":".into());
            for p in f.split(sep.as_str()) {
                if p == "-" {
                    files.push(p.into());
                    continue;
                }
                let a = abs(&cwd, FsPath::new(p));
                if std::fs::metadata(&a).is_err() {
                    return Err(ComposeError::NotFound {
                        message: format!("stat {a}: no such file or directory"),
                    });
                }
                files.push(a);
            }
        }
    }
    if files.is_empty() {
        let mut dir = working_dir(&files);
        loop {
            let found: Vec<String> = DEFAULT_FILES
                .iter()
                .map(|n| join(&dir, n))
                .filter(|f| std::fs::metadata(f).is_ok())
                .collect();
            if let Some(winner) = found.first() {
                if found.len() > 1 {
                    ctx.warn(format!(
                        "Found multiple config files with supported names: {}",
                        found.join(", ")
                    ));
                    ctx.warn(format!("Using {winner}"));
                }
                files.push(winner.clone());
                let overrides: Vec<String> = DEFAULT_OVERRIDES
                    .iter()
                    .map(|n| join(&dir, n))
                    .filter(|f| std::fs::metadata(f).is_ok())
                    .collect();
                if let Some(o) = overrides.first() {
                    if overrides.len() > 1 {
                        ctx.warn(format!(
                            "Found multiple override files with supported names: {}",
                            overrides.join(", ")
                        ));
                        ctx.warn(format!("Using {o}"));
                    }
                    files.push(o.clone());
                }
                break;
            }
            let parent = dir_of(&dir);
            if parent == dir {
                break;
            }
            dir = parent;
        }
    }
    if opts.env_files.is_empty() {
        let again = default_env_files(&working_dir(&files));
        if !again.is_empty() {
            env_files = again;
        }
    }
    for (k, v) in read_env_files(&env_files, &os_env)? {
        env.entry(k).or_insert(v);
    }
    let profiles: Vec<String> = if opts.profiles.is_empty() {
        env.get("COMPOSE_PROFILES")
            .map(|p| p.split(',').map(|s| s.trim().to_string()).collect())
            .unwrap_or_else(|| vec![String::new()])
    } else {
        opts.profiles.clone()
    };
    if let Some(n) = &opts.project_name {
        if normalize_project_name(n) != *n {
            return Err(invalid_name(n));
        }
    }
    if files.is_empty() {
        return Err(ComposeError::NoConfigFile);
    }
    let wd = working_dir(&files);

    // Read every file once.
    let mut contents: Vec<(String, String)> = Vec::new();
    for f in &files {
        let text = if f == "-" {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                .map_err(|e| ComposeError::io("-", e))?;
            s
        } else {
            std::fs::read_to_string(f).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => ComposeError::NotFound {
                    message: format!("open {f}: no such file or directory"),
                },
                _ => ComposeError::io(f.clone(), e),
            })?
        };
        contents.push((f.clone(), text));
    }
    let mut parsed: Vec<(String, Vec<Document>)> = Vec::new();
    for (f, text) in &contents {
        parsed.push((f.clone(), yaml::parse_documents(text, f)?));
    }

    // The project name: -p, COMPOSE_PROJECT_NAME, `name:`, the directory.
    let named_in_yaml = parsed.iter().any(|(_, docs)| {
        docs.iter().any(|d| {
            d.value
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| !n.is_empty())
        })
    });
    let mut project_name = String::new();
    let mut imperative = false;
    if let Some(n) = &opts.project_name {
        project_name = n.clone();
        imperative = !n.is_empty();
    }
    if !imperative {
        if let Some(n) = env.get("COMPOSE_PROJECT_NAME").filter(|n| !n.is_empty()) {
            project_name = n.clone();
            imperative = true;
        } else if !named_in_yaml {
            project_name = normalize_project_name(base_name(&wd));
        }
    }
    if imperative {
        if normalize_project_name(&project_name) != project_name {
            return Err(invalid_name(&project_name));
        }
    } else {
        let mut from_yaml = String::new();
        for (_, docs) in &parsed {
            for d in docs {
                if let Some(Value::String(n)) = d.value.get("name") {
                    if !n.is_empty() {
                        from_yaml = n.clone();
                    }
                }
            }
        }
        if opts.interpolate {
            let lookup = EnvLookup {
                env: &env,
                ctx: &ctx,
            };
            from_yaml = crate::template::substitute(&from_yaml, &lookup)
                .map_err(|e| invalid(format!("error while interpolating name: {e}")))?;
        }
        if opts.normalize {
            from_yaml = normalize_project_name(&from_yaml);
        }
        if !from_yaml.is_empty() {
            project_name = from_yaml;
        }
    }
    env.insert("COMPOSE_PROJECT_NAME".into(), project_name.clone());

    let lo = LoadOpts {
        interpolate: opts.interpolate,
        extends: true,
        include: true,
        validate: true,
        resolve_paths: opts.resolve_paths,
        defaults: true,
    };
    let mut dict = load_model(&ctx, &parsed, &wd, &env, lo, &mut Vec::new())?;
    if dict.as_object().is_none_or(Map::is_empty) {
        return Err(invalid("empty compose file"));
    }
    if project_name.is_empty() {
        return Err(invalid("project name must not be empty"));
    }
    let Value::Object(map) = &mut dict else {
        return Err(invalid("top-level object must be a mapping"));
    };
    if opts.normalize {
        map.insert("name".into(), Value::String(project_name.clone()));
        normalize::normalize(map, &|k: &str| env.get(k).cloned());
    }
    let model = dict.clone();

    // The typed project.
    let mut typed = dict;
    if let Value::Object(m) = &mut typed {
        m.shift_remove("name");
    }
    move_extensions(&mut typed, 0, false);
    let mut project = decode_project(typed)?;
    project.name = project_name.clone();

    // Profiles.
    let mut disabled: IndexMap<String, Service> = IndexMap::new();
    apply_profiles(&mut project, &mut disabled, &profiles);
    if opts.consistency {
        crate::consistency::check(&project, &disabled)?;
    }
    let env_files_read = resolve_service_environment(&mut project, &env)?;

    // The services named on the command line, with what they depend on.
    if !opts.services.is_empty() {
        let mut extra_profiles = profiles.clone();
        for s in &opts.services {
            if !project.services.contains_key(s) {
                if let Some(d) = disabled.get(s) {
                    extra_profiles.extend(d.profiles.iter().cloned());
                }
            }
        }
        let mut all: Vec<(String, Service)> = project.services.clone().into_iter().collect();
        all.extend(disabled.clone());
        project.services = all.into_iter().collect();
        disabled.clear();
        apply_profiles(&mut project, &mut disabled, &extra_profiles);
        select_services(&mut project, &mut disabled, &opts.services)?;
    }
    if !opts.all_resources {
        drop_unused_resources(&mut project);
    }
    if opts.consistency {
        let mut seen: HashMap<&str, &str> = HashMap::new();
        for (name, s) in &project.services {
            if s.container_name.is_empty() {
                continue;
            }
            if let Some(other) = seen.get(s.container_name.as_str()) {
                return Err(invalid(format!(
                    "services.{name}: container name {:?} is already in use by service {other}\"",
                    s.container_name
                )));
            }
            seen.insert(&s.container_name, name);
        }
    }
    let warnings = ctx.warnings.into_inner();
    Ok(Loaded {
        project,
        disabled: disabled.into_keys().collect(),
        model,
        working_dir: wd,
        config_files: files,
        env_files,
        environment: env,
        warnings,
        env_files_read,
    })
}

fn decode_project(v: Value) -> Result<Project> {
    // Decoded service by service so an error can name the service, as
    // Compose's decoder does.
    let Value::Object(mut m) = v else {
        return Err(invalid("top-level object must be a mapping"));
    };
    let services = m.shift_remove("services");
    let mut project: Project = serde_json::from_value(Value::Object(m)).map_err(|e| {
        invalid(format!(
            "decoding failed due to the following error(s):\n\n{e}"
        ))
    })?;
    if let Some(Value::Object(services)) = services {
        for (name, s) in services {
            let s: Service = serde_json::from_value(s).map_err(|e| {
                invalid(format!(
                    "decoding failed due to the following error(s):\n\n'services[{name}]' {e}"
                ))
            })?;
            project.services.insert(name, s);
        }
    }
    Ok(project)
}

/// compose-go's `processExtensions`: `x-*` keys move under `#extensions`
/// except where keys are user names (services, networks...).
fn move_extensions(v: &mut Value, depth: usize, user_keys: bool) {
    match v {
        Value::Object(m) => {
            let mut ext = Map::new();
            if !user_keys {
                let keys: Vec<String> = m.keys().filter(|k| k.starts_with("x-")).cloned().collect();
                for k in keys {
                    if let Some(e) = m.shift_remove(&k) {
                        ext.insert(k, e);
                    }
                }
            }
            let top = depth == 0;
            for (k, e) in m.iter_mut() {
                let child_user =
                    top && matches!(
                        k.as_str(),
                        "services" | "volumes" | "networks" | "secrets" | "configs"
                    ) || (depth == 2 && k == "depends_on");
                move_extensions(e, depth + 1, child_user);
            }
            if !ext.is_empty() {
                m.insert("#extensions".into(), Value::Object(ext));
            }
        }
        Value::Array(items) => {
            for e in items {
                move_extensions(e, depth + 1, false);
            }
        }
        _ => {}
    }
}

fn apply_profiles(
    project: &mut Project,
    disabled: &mut IndexMap<String, Service>,
    profiles: &[String],
) {
    let names: Vec<String> = project.services.keys().cloned().collect();
    for n in names {
        let s = &project.services[&n];
        let enabled = s.profiles.is_empty()
            || profiles
                .iter()
                .any(|p| p == "*" || s.profiles.iter().any(|sp| sp == p));
        if !enabled {
            if let Some(s) = project.services.remove(&n) {
                disabled.insert(n, s);
            }
        }
    }
}

fn select_services(
    project: &mut Project,
    disabled: &mut IndexMap<String, Service>,
    names: &[String],
) -> Result<()> {
    let mut set: Vec<String> = Vec::new();
    let mut stack: Vec<(String, bool)> = names.iter().map(|n| (n.clone(), true)).collect();
    while let Some((n, required)) = stack.pop() {
        if set.contains(&n) {
            continue;
        }
        let Some(s) = project.services.get(&n) else {
            if required {
                return Err(invalid(format!("no such service: {n}")));
            }
            continue;
        };
        set.push(n.clone());
        for (d, dep) in &s.depends_on {
            stack.push((d.clone(), dep.required));
        }
    }
    let all: Vec<String> = project.services.keys().cloned().collect();
    for n in all {
        if !set.contains(&n) {
            if let Some(s) = project.services.remove(&n) {
                disabled.insert(n.clone(), s);
            }
            for s in project.services.values_mut() {
                s.depends_on.remove(&n);
            }
        }
    }
    Ok(())
}

fn drop_unused_resources(project: &mut Project) {
    let mut nets: Vec<&str> = Vec::new();
    let mut vols: Vec<&str> = Vec::new();
    let mut secrets: Vec<&str> = Vec::new();
    let mut configs: Vec<&str> = Vec::new();
    for s in project.services.values() {
        nets.extend(s.networks.keys().map(String::as_str));
        vols.extend(
            s.volumes
                .iter()
                .filter(|v| v.kind == "volume" && !v.source.is_empty())
                .map(|v| v.source.as_str()),
        );
        secrets.extend(s.secrets.iter().map(|x| x.source.as_str()));
        if let Some(b) = &s.build {
            secrets.extend(b.secrets.iter().map(|x| x.source.as_str()));
        }
        configs.extend(s.configs.iter().map(|x| x.source.as_str()));
    }
    let nets: Vec<String> = nets.into_iter().map(str::to_string).collect();
    let vols: Vec<String> = vols.into_iter().map(str::to_string).collect();
    let secrets: Vec<String> = secrets.into_iter().map(str::to_string).collect();
    let configs: Vec<String> = configs.into_iter().map(str::to_string).collect();
    project.networks.retain(|k, _| nets.contains(k));
    project.volumes.retain(|k, _| vols.contains(k));
    project.secrets.retain(|k, _| secrets.contains(k));
    project.configs.retain(|k, _| configs.contains(k));
}

/// `environment` values looked up in the project environment, then the
/// service's `env_file`s read underneath (the service's own values win).
fn resolve_service_environment(
    project: &mut Project,
    env: &HashMap<String, String>,
) -> Result<BTreeMap<String, Vec<EnvFileVars>>> {
    let mut keys_by_service = BTreeMap::new();
    for (name, s) in project.services.iter_mut() {
        let mut file_keys = Vec::new();
        let mut service_env = s.environment.clone();
        for (k, v) in service_env.0.iter_mut() {
            if v.is_none() {
                if let Some(found) = env.get(k) {
                    *v = Some(found.clone());
                }
            }
        }
        let mut from_files: IndexMap<String, String> = IndexMap::new();
        for f in &s.env_files {
            match std::fs::metadata(&f.path) {
                Err(_) if !f.required => continue,
                Err(_) => {
                    return Err(invalid(format!(
                        "env file {} not found: stat {}: no such file or directory",
                        f.path, f.path
                    )))
                }
                Ok(_) => {}
            }
            if !f.format.is_empty() && f.format != "raw" {
                return Err(invalid(format!(
                    "unsupported env_file format {:?}",
                    f.format
                )));
            }
            let text = std::fs::read_to_string(&f.path)
                .map_err(|e| ComposeError::io(f.path.clone(), e))?;
            if f.format == "raw" {
                let mut vars = Vec::new();
                for line in text.lines() {
                    if line.trim().is_empty() || line.starts_with('#') {
                        continue;
                    }
                    let (k, v) = line.split_once('=').unwrap_or((line, ""));
                    from_files.insert(k.to_string(), v.to_string());
                    vars.push((k.to_string(), v.to_string()));
                }
                file_keys.push(EnvFileVars {
                    path: f.path.clone(),
                    vars,
                });
                continue;
            }
            let senv = service_env.clone();
            let lookup = |k: &str| {
                env.get(k)
                    .cloned()
                    .or_else(|| senv.0.get(k).cloned().flatten())
            };
            crate::envfile::parse(&text, &mut from_files, &lookup)
                .map_err(|e| invalid(format!("failed to read {}: {e}", f.path)))?;
            // Parsed again on its own for the record of its variables
            // (the merged parse above sees earlier files' lines too).
            let mut own = IndexMap::new();
            crate::envfile::parse(&text, &mut own, &lookup)
                .map_err(|e| invalid(format!("failed to read {}: {e}", f.path)))?;
            file_keys.push(EnvFileVars {
                path: f.path.clone(),
                vars: own.into_iter().collect(),
            });
        }
        if !from_files.is_empty() || !service_env.is_empty() {
            let mut merged = EnvMap::default();
            for (k, v) in from_files {
                merged.0.insert(k, Some(v));
            }
            for (k, v) in service_env.0 {
                merged.0.insert(k, v);
            }
            s.environment = merged;
        }
        s.env_files.clear();
        if !file_keys.is_empty() {
            keys_by_service.insert(name.clone(), file_keys);
        }
    }
    Ok(keys_by_service)
}

/// `loadYamlModel`: every file merged, then defaults, checks, paths.
fn load_model(
    ctx: &Ctx,
    files: &[(String, Vec<Document>)],
    working_dir: &str,
    env: &HashMap<String, String>,
    lo: LoadOpts,
    included: &mut Vec<String>,
) -> Result<Value> {
    let mut dict = Value::Object(Map::new());
    for (file, docs) in files {
        for doc in docs {
            dict = process_document(ctx, file, doc, dict, working_dir, env, lo, included)?;
        }
    }
    if lo.defaults {
        canonical::set_defaults(&mut dict);
    }
    if lo.validate {
        canonical::validate(&dict)?;
    }
    if lo.resolve_paths {
        normalize::resolve_relative_paths(&mut dict, working_dir)?;
    }
    normalize::resolve_environment(&mut dict, &|k: &str| env.get(k).cloned());
    Ok(dict)
}

#[allow(clippy::too_many_arguments)]
fn process_document(
    ctx: &Ctx,
    file: &str,
    doc: &Document,
    dict: Value,
    working_dir: &str,
    env: &HashMap<String, String>,
    lo: LoadOpts,
    included: &mut Vec<String>,
) -> Result<Value> {
    let mut cfg = match &doc.value {
        Value::Object(_) => doc.value.clone(),
        Value::Null => Value::Object(Map::new()),
        _ => return Err(invalid("top-level object must be a mapping")),
    };
    if lo.interpolate {
        let lookup = EnvLookup { env, ctx };
        interpolate(&mut cfg, &lookup, &mut |w| ctx.warn(w))?;
    }
    if lo.extends {
        apply_extends(ctx, &mut cfg, file, working_dir, env, lo, &doc.resets, &[])?;
    }
    let mut dict = dict;
    apply_resets(&mut dict, &doc.resets);
    if lo.include {
        included.push(file.to_string());
        apply_include(ctx, &mut cfg, working_dir, env, lo, included)?;
    }
    let mut dict = merge::merge(dict, cfg)?;
    merge::enforce_unicity(&mut dict)?;
    if lo.validate {
        schema::validate(&dict).map_err(|e| invalid(format!("validating {file}: {e}")))?;
        if let Value::Object(m) = &mut dict {
            if m.shift_remove("version").is_some() {
                let w = format!(
                    "{file}: the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion"
                );
                if !ctx.warnings.borrow().contains(&w) {
                    ctx.warn(w);
                }
            }
        }
    }
    canonical::canonical(&mut dict, &mut |w| ctx.warn(w))?;
    canonical::omit_empty(&mut dict);
    merge::enforce_unicity(&mut dict)?;
    Ok(dict)
}

/// Drops what earlier files set at the paths tagged `!reset`/`!override`.
fn apply_resets(v: &mut Value, resets: &[String]) {
    for r in resets {
        let parts: Vec<&str> = r.split('.').collect();
        let mut cur = &mut *v;
        for (i, p) in parts.iter().enumerate() {
            let Value::Object(m) = cur else { break };
            if i == parts.len() - 1 {
                m.shift_remove(*p);
                break;
            }
            match m.get_mut(*p) {
                Some(next) => cur = next,
                None => break,
            }
        }
    }
}

type Tracker = [(String, String)];

#[allow(clippy::too_many_arguments)]
fn apply_extends(
    ctx: &Ctx,
    cfg: &mut Value,
    file: &str,
    working_dir: &str,
    env: &HashMap<String, String>,
    lo: LoadOpts,
    resets: &[String],
    tracker: &Tracker,
) -> Result<()> {
    let Some(services) = cfg.get_mut("services") else {
        return Ok(());
    };
    let Value::Object(services) = services else {
        return Err(invalid("services must be a mapping"));
    };
    let names: Vec<String> = services.keys().cloned().collect();
    for name in names {
        let merged = service_extends(
            ctx,
            &name,
            services,
            file,
            working_dir,
            env,
            lo,
            resets,
            tracker,
        )?;
        services.insert(name, merged);
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn service_extends(
    ctx: &Ctx,
    name: &str,
    services: &mut Map<String, Value>,
    file: &str,
    working_dir: &str,
    env: &HashMap<String, String>,
    lo: LoadOpts,
    resets: &[String],
    tracker: &Tracker,
) -> Result<Value> {
    let Some(s) = services.get(name).cloned() else {
        return Ok(Value::Null);
    };
    if s.is_null() {
        return Ok(Value::Null);
    }
    let Value::Object(service) = &s else {
        return Err(invalid(format!("services.{name} must be a mapping")));
    };
    let Some(ext) = service.get("extends") else {
        return Ok(s);
    };
    let (reference, ext_file) = match ext {
        Value::Object(m) => {
            let Some(Value::String(r)) = m.get("service") else {
                return Err(invalid(format!("extends.{name}.service is required")));
            };
            (r.clone(), m.get("file").map(crate::merge::go_sprint))
        }
        Value::String(r) => (r.clone(), None),
        _ => return Ok(s),
    };
    let mut filename = file.to_string();
    let mut base_services: Map<String, Value>;
    let mut base_resets: Vec<String> = Vec::new();
    let mut base_dir = working_dir.to_string();
    let from_other = ext_file.is_some();
    if let Some(ref_file) = ext_file {
        let local = if ref_file.starts_with('/') {
            ref_file.clone()
        } else {
            join(working_dir, &ref_file)
        };
        let text = std::fs::read_to_string(&local).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                invalid(format!("open {local}: no such file or directory"))
            }
            _ => ComposeError::io(local.clone(), e),
        })?;
        let docs = yaml::parse_documents(&text, &local)?;
        let ext_lo = LoadOpts {
            interpolate: lo.interpolate,
            extends: false,
            include: false,
            validate: false,
            resolve_paths: false,
            defaults: false,
        };
        let mut source = Value::Object(Map::new());
        for d in &docs {
            source = process_document(
                ctx,
                &local,
                d,
                source,
                &dir_of(&local),
                env,
                ext_lo,
                &mut Vec::new(),
            )?;
            base_resets.extend(d.resets.iter().cloned());
        }
        let Some(svcs) = source.get("services") else {
            return Err(invalid(format!(
                "cannot extend service {name:?} in {local}: no services section"
            )));
        };
        let Value::Object(svcs) = svcs.clone() else {
            return Err(invalid(format!(
                "cannot extend service {name:?} in {local}: services must be a mapping"
            )));
        };
        if !svcs.contains_key(&reference) {
            return Err(invalid(format!(
                "cannot extend service {name:?} in {file}: service {reference:?} not found in {ref_file}"
            )));
        }
        base_dir = dir_of(&local);
        let mut wrapped = Value::Object(Map::from_iter([(
            "services".to_string(),
            Value::Object(svcs),
        )]));
        normalize::resolve_relative_paths(&mut wrapped, &base_dir)?;
        base_services = match wrapped {
            Value::Object(mut m) => match m.shift_remove("services") {
                Some(Value::Object(s)) => s,
                _ => Map::new(),
            },
            _ => Map::new(),
        };
        filename = ref_file;
    } else {
        if !services.contains_key(&reference) {
            return Err(invalid(format!(
                "cannot extend service {name:?} in {file}: service {reference:?} not found"
            )));
        }
        base_services = services.clone();
    }
    if let Some(i) = tracker
        .iter()
        .position(|(f, s)| *f == filename && s == name)
    {
        let _ = i;
        let mut lines = vec![
            "Circular reference:".to_string(),
            format!("  {} in {}", tracker[0].1, tracker[0].0),
        ];
        for (f, s) in tracker[1..]
            .iter()
            .chain([(filename.clone(), name.to_string())].iter())
        {
            lines.push(format!("  extends {s} in {f}"));
        }
        return Err(invalid(lines.join("\n")));
    }
    let mut next: Vec<(String, String)> = tracker.to_vec();
    next.push((filename.clone(), name.to_string()));
    let base = service_extends(
        ctx,
        &reference,
        &mut base_services,
        &filename,
        &base_dir,
        env,
        lo,
        &base_resets,
        &next,
    )?;
    if !from_other {
        // Same file: what the base became is kept (compose-go writes it back).
        if let Some(b) = base_services.get(&reference) {
            services.insert(reference.clone(), b.clone());
        }
    }
    if base.is_null() {
        return Ok(s);
    }
    let mut source = base;
    // This file's `!reset`s apply to what the base brings.
    let mut wrapped = Value::Object(Map::from_iter([(
        "services".to_string(),
        Value::Object(Map::from_iter([(name.to_string(), source)])),
    )]));
    apply_resets(&mut wrapped, resets);
    source = wrapped
        .get_mut("services")
        .and_then(|s| s.get_mut(name))
        .map(std::mem::take)
        .unwrap_or(Value::Null);
    let mut merged = merge::extend_service(source, s.clone())?;
    if let Value::Object(m) = &mut merged {
        m.shift_remove("extends");
    }
    services.insert(name.to_string(), merged.clone());
    Ok(merged)
}

fn apply_include(
    ctx: &Ctx,
    model: &mut Value,
    working_dir: &str,
    env: &HashMap<String, String>,
    lo: LoadOpts,
    included: &mut Vec<String>,
) -> Result<()> {
    let Value::Object(m) = model else {
        return Ok(());
    };
    let Some(inc) = m.shift_remove("include") else {
        return Ok(());
    };
    if inc.is_null() {
        return Ok(());
    }
    let Value::Array(entries) = inc else {
        return Err(invalid(format!(
            "`include` must be a list, got {}",
            crate::merge::go_sprint(&inc)
        )));
    };
    for e in entries {
        let (paths, project_dir, env_file) = match e {
            Value::String(s) => (vec![s], None, Vec::new()),
            Value::Object(o) => {
                let list = |v: Option<&Value>| -> Vec<String> {
                    match v {
                        Some(Value::String(s)) => vec![s.clone()],
                        Some(Value::Array(a)) => a.iter().map(crate::merge::go_sprint).collect(),
                        _ => Vec::new(),
                    }
                };
                (
                    list(o.get("path")),
                    o.get("project_directory").map(crate::merge::go_sprint),
                    list(o.get("env_file")),
                )
            }
            _ => continue,
        };
        let mut abs_paths = Vec::new();
        let mut pdir = String::new();
        for (i, p) in paths.iter().enumerate() {
            let a = if p.starts_with('/') {
                p.clone()
            } else {
                join(working_dir, p)
            };
            if i == 0 {
                pdir = match &project_dir {
                    None => dir_of(&a),
                    Some(d) if d.starts_with('/') => d.clone(),
                    Some(d) => join(working_dir, d),
                };
                if included.contains(&a) {
                    included.push(a.clone());
                    return Err(invalid(format!(
                        "include cycle detected:\n{}\n include {}",
                        included[0],
                        included[1..].join("\n include ")
                    )));
                }
            }
            abs_paths.push(a);
        }
        let env_files: Vec<String> = if env_file.is_empty() {
            let f = join(&pdir, ".env");
            if is_file(&f) {
                vec![f]
            } else {
                Vec::new()
            }
        } else {
            let mut out = Vec::new();
            for f in env_file {
                let f = if f.starts_with('/') {
                    f
                } else {
                    join(working_dir, &f)
                };
                match std::fs::metadata(&f) {
                    Err(_) => return Err(invalid(format!("stat {f}: no such file or directory"))),
                    Ok(m) if m.is_dir() => return Err(invalid(format!("{f} is not a file"))),
                    Ok(_) => out.push(f),
                }
            }
            out
        };
        let mut inc_env = env.clone();
        for (k, v) in read_env_files(&env_files, env)? {
            inc_env.entry(k).or_insert(v);
        }
        let mut files = Vec::new();
        for p in &abs_paths {
            let text = std::fs::read_to_string(p).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => {
                    invalid(format!("open {p}: no such file or directory"))
                }
                _ => ComposeError::io(p.clone(), e),
            })?;
            files.push((p.clone(), yaml::parse_documents(&text, p)?));
        }
        let inc_lo = LoadOpts {
            resolve_paths: true,
            ..lo
        };
        let mut nested = included.clone();
        let imported = load_model(ctx, &files, &pdir, &inc_env, inc_lo, &mut nested)?;
        merge::import_resources(&imported, m)?;
    }
    Ok(())
}
