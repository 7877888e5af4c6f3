//! `run`: a one-off container of a service (`PROJECT-SERVICE-run-ID`,
//! labelled `oneoff=True` with a slug), after the service's dependencies
//! are up; the caller starts it attached or not (`RunOneOffContainer`).

use std::collections::BTreeMap;

use super::build::{BuildOptions, BuildPolicy};
use super::convert::{image_name, Instance};
use super::error::invalid;
use super::hash::service_hash;
use super::labels;
use super::progress::Progress;
use super::state::{OneOff, ProjectContainer};
use super::up::UpOptions;
use super::{RunResult, Runtime};
use crate::model::{EnvMap, Port};

/// `run`'s flags that change the service's container.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub service: String,
    /// `[COMMAND] [ARGS...]`.
    pub command: Vec<String>,
    /// `--entrypoint`, split as a shell would.
    pub entrypoint: Option<Vec<String>>,
    pub name: Option<String>,
    pub tty: bool,
    pub interactive: bool,
    pub auto_remove: bool,
    pub user: Option<String>,
    pub workdir: Option<String>,
    /// `-e`: `K=V` (a bare `K` from the project's environment).
    pub env: Vec<String>,
    pub labels: Vec<String>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// `-v`, already parsed by the loader's volume syntax.
    pub volumes: Vec<crate::model::ServiceVolume>,
    /// `-p`, already parsed.
    pub publish: Vec<Port>,
    /// `--service-ports`: the service's own `ports`.
    pub service_ports: bool,
    pub use_aliases: bool,
    pub no_deps: bool,
    pub build: BuildPolicy,
    pub build_options: BuildOptions,
    pub remove_orphans: bool,
}

/// 64 random hex digits (Docker's `GenerateRandomID`), for the slug.
fn random_id() -> String {
    let mut bytes = [0u8; 32];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = std::io::Read::read_exact(&mut f, &mut bytes);
    }
    hex::encode(bytes)
}

impl Runtime<'_> {
    /// Create the one-off container of `opts.service` (its dependencies
    /// created and started first, unless `no_deps`); returns its ID.
    pub fn create_oneoff(&self, opts: &RunOptions, progress: &dyn Progress) -> RunResult<String> {
        if opts.service_ports && !opts.publish.is_empty() {
            return Err(invalid("--service-ports and --publish are incompatible"));
        }
        let mut service = self.service(&opts.service)?.clone();
        // The dependencies: created and started like `up -d` would.
        if !opts.no_deps {
            let mut deps = self.clone();
            deps.project.services.remove(&opts.service);
            deps.disabled.push(opts.service.clone());
            if !deps.project.services.is_empty() {
                let up = UpOptions {
                    build: opts.build,
                    build_options: opts.build_options.clone(),
                    remove_orphans: opts.remove_orphans,
                    ignore_orphans: self.ignore_orphans(),
                    inherit: true,
                    ..Default::default()
                };
                deps.create(&up, progress)?;
                deps.start(progress)?;
            } else {
                self.check_external()?;
                self.ensure_networks(progress)?;
                self.ensure_volumes(progress)?;
            }
        } else {
            self.check_external()?;
            self.ensure_networks(progress)?;
            self.ensure_volumes(progress)?;
        }
        // The service as `run` changes it (`applyRunOptions`).
        service.tty = opts.tty;
        service.stdin_open = opts.interactive;
        if !opts.service_ports {
            service.ports = opts.publish.clone();
        }
        if !opts.command.is_empty() {
            service.command = Some(opts.command.clone());
        }
        if let Some(u) = &opts.user {
            service.user = u.clone();
        }
        for c in &opts.cap_add {
            service.cap_add.push(c.clone());
            service.cap_drop.retain(|d| d != c);
        }
        for c in &opts.cap_drop {
            service.cap_drop.push(c.clone());
            service.cap_add.retain(|d| d != c);
        }
        if let Some(w) = &opts.workdir {
            service.working_dir = w.clone();
        }
        if let Some(e) = &opts.entrypoint {
            service.entrypoint = Some(e.clone());
            if opts.command.is_empty() {
                service.command = Some(Vec::new());
            }
        }
        let mut env: EnvMap = service.environment.clone();
        for e in &opts.env {
            match e.split_once('=') {
                Some((k, v)) => {
                    env.0.insert(k.to_string(), Some(v.to_string()));
                }
                None => {
                    if let Some(v) = self.environment.get(e) {
                        env.0.insert(e.clone(), Some(v.clone()));
                    }
                }
            }
        }
        service.environment = env;
        for l in &opts.labels {
            let (k, v) = l
                .split_once('=')
                .ok_or_else(|| invalid("label must be set as KEY=VALUE"))?;
            service.labels.0.insert(k.to_string(), v.to_string());
        }
        service.volumes.extend(opts.volumes.iter().cloned());
        service.restart.clear();
        service.scale = Some(1);
        if let Some(d) = service.deploy.as_mut() {
            d.restart_policy = None;
        }
        let slug = random_id();
        let name = opts.name.clone().unwrap_or_else(|| {
            if service.container_name.is_empty() {
                format!("{}-{}-run-{}", self.name(), opts.service, &slug[..12])
            } else {
                service.container_name.clone()
            }
        });
        // The service's own image (built or pulled if missing).
        let images = self.ensure_images(
            std::slice::from_ref(&opts.service),
            opts.build,
            &opts.build_options,
            progress,
        )?;
        let image_id = images
            .get(&image_name(self.name(), &opts.service, &service))
            .cloned()
            .unwrap_or_default();
        if !opts.no_deps {
            self.wait_dependencies(&opts.service, &service, progress)?;
        }
        let observed = self.containers(OneOff::Exclude)?;
        let resolve = |svc: &str| -> RunResult<String> {
            observed
                .iter()
                .filter(|c| c.service() == svc)
                .min_by_key(|c| c.number())
                .map(|c| c.id().to_string())
                .ok_or_else(|| {
                    invalid(format!(
                        "cannot share namespace or volumes with service {svc}: container missing"
                    ))
                })
        };
        let mut l = self.service_container_labels(
            &opts.service,
            &service,
            &service_hash(&service),
            &image_id,
        );
        l.insert(labels::ONEOFF.into(), "True".into());
        l.insert(labels::SLUG.into(), slug);
        // `run`'s links: the services it links to, and the service's own
        // containers by service name, short and full name (`getLinks`).
        let mut by_service: BTreeMap<String, Vec<ProjectContainer>> = BTreeMap::new();
        for c in &observed {
            by_service
                .entry(c.service().to_string())
                .or_default()
                .push(c.clone());
        }
        let mut links = self.links(&service, 1, &by_service);
        let prefix = format!("{}-", self.name());
        for c in by_service.get(&opts.service).into_iter().flatten() {
            let n = c.name();
            links.push(format!("{n}:{}", opts.service));
            links.push(format!("{n}:{}", n.strip_prefix(&prefix).unwrap_or(n)));
            links.push(format!("{n}:{n}"));
        }
        let inst = Instance {
            name: &name,
            labels: l,
            use_aliases: opts.use_aliases,
            links,
            resolve: &resolve,
        };
        let mut req =
            super::convert::create_request(&self.project, &opts.service, &service, &inst)?;
        req.host_config.auto_remove = opts.auto_remove;
        req.config.attach_stdin = opts.interactive;
        req.config.open_stdin = opts.interactive;
        req.config.stdin_once = opts.interactive;
        let created = self.engine.create_container(&req)?;
        for w in &created.warnings {
            super::resources::warn(w);
        }
        Ok(created.id)
    }
}

/// `run -p SPEC`: Compose's long port entries.
pub fn parse_publish(spec: &str) -> RunResult<Vec<Port>> {
    crate::ports::parse_port_config(spec)?
        .into_iter()
        .map(|v| serde_json::from_value(v).map_err(|e| invalid(e.to_string())))
        .collect()
}

/// `run -v SPEC`: a service volume in the long syntax; a relative bind
/// source is taken from the current directory.
pub fn parse_volume(spec: &str) -> RunResult<crate::model::ServiceVolume> {
    let mut v: crate::model::ServiceVolume =
        serde_json::from_value(crate::volume_spec::parse_volume(spec)?.to_long())
            .map_err(|e| invalid(e.to_string()))?;
    if v.kind == "bind" && !v.source.starts_with('/') {
        if let Ok(abs) = std::path::absolute(&v.source) {
            v.source = abs.display().to_string();
        }
    }
    Ok(v)
}

/// `run --entrypoint "sh -c"`: split as a shell would.
pub fn split_command(line: &str) -> RunResult<Vec<String>> {
    crate::shellwords::split(line).map_err(invalid)
}
