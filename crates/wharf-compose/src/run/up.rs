//! `up` / `create` / `start`: converging the project's containers to the
//! file (Compose's `convergence`), then starting them in dependency
//! order, each service after its dependencies' conditions hold.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use wharf_engine::containers::{prespawn_monitor, MonitorStdio, PreSpawned};
use wharf_model::{HealthStatus, Mount, Status as CStatus};

use super::build::{BuildOptions, BuildPolicy};
use super::convert::{create_request, image_name, Instance};
use super::error::invalid;
use super::hash::service_hash;
use super::labels;
use super::order::dependency_levels;
use super::parallel::for_each;
use super::progress::{container_id, Progress, Status};
use super::resources::warn;
use super::state::{OneOff, ProjectContainer};
use super::{RunError, RunResult, Runtime};
use crate::model::Service;

/// When an existing container is replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Recreate {
    /// When its configuration or image changed.
    #[default]
    Diverged,
    /// Always (`--force-recreate`).
    Force,
    /// Never (`--no-recreate`).
    Never,
}

/// `up`'s and `create`'s options.
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// The services named on the command line (their dependencies follow
    /// `recreate_deps`).
    pub services: Vec<String>,
    pub build: BuildPolicy,
    pub build_options: BuildOptions,
    pub recreate: Recreate,
    pub recreate_deps: Recreate,
    pub remove_orphans: bool,
    /// COMPOSE_IGNORE_ORPHANS (`up` and `run`): orphans are neither
    /// removed nor warned of.
    pub ignore_orphans: bool,
    /// `-t`: the stop timeout for containers replaced or removed.
    pub timeout: Option<u64>,
    /// Keep the anonymous volumes of replaced containers (not `-V`).
    pub inherit: bool,
    /// `--wait`: until every container runs (and is healthy).
    pub wait: bool,
    pub wait_timeout: Option<Duration>,
}

/// What converging does to one container of a service.
enum Action {
    Keep(ProjectContainer),
    Remove(ProjectContainer),
    Restart(ProjectContainer),
    Recreate(ProjectContainer),
    Create(u32),
}

/// Monitors `up` started ahead of the containers it creates, by container
/// ID, as `run` does: each loads (store, network namespace, cgroup
/// warm-up) while the rest of the project is created and the services
/// before it start, and runs its container at the go. One never used is
/// dropped and exits without touching anything (the container stays
/// created, as after a failed `up` in Compose).
#[derive(Default)]
pub(crate) struct Early(Mutex<HashMap<String, PreSpawned>>);

impl Early {
    fn take(&self, id: &str) -> Option<PreSpawned> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(id)
    }

    fn keep(&self, pre: PreSpawned) {
        let id = pre.id().to_string();
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, pre);
    }
}

/// `--wait`'s condition: healthy, or running without a check.
const RUNNING_OR_HEALTHY: &str = "running_or_healthy";

/// How often conditions are looked at.
const POLL: Duration = Duration::from_millis(50);

impl Runtime<'_> {
    /// `create`: images, networks, volumes and containers, none started.
    pub fn create(&self, opts: &UpOptions, progress: &dyn Progress) -> RunResult<()> {
        self.create_with(opts, progress, None)
    }

    /// [`Runtime::create`]; with `early`, each new container's monitor
    /// is started ahead and kept there for [`Runtime::start_with`].
    fn create_with(
        &self,
        opts: &UpOptions,
        progress: &dyn Progress,
        early: Option<&Early>,
    ) -> RunResult<()> {
        let names: Vec<String> = self.project.services.keys().cloned().collect();
        for name in &names {
            let s = self.service(name)?;
            if s.replicas() > 1 && !s.container_name.is_empty() {
                return Err(invalid(format!(
                    "WARNING: The {name:?} service is using the custom container name {:?}. Docker requires each container to have a unique name. Remove the custom name to scale the service",
                    s.container_name
                )));
            }
        }
        wharf_runtime::timeline::mark("up: start");
        self.check_external()?;
        let images = self.ensure_images(&names, opts.build, &opts.build_options, progress)?;
        wharf_runtime::timeline::mark("up: images");
        self.ensure_networks(progress)?;
        wharf_runtime::timeline::mark("up: networks");
        self.ensure_volumes(progress)?;
        wharf_runtime::timeline::mark("up: volumes");
        let all = self.containers(OneOff::Include)?;
        wharf_runtime::timeline::mark("up: containers listed");
        let orphans = self.orphans(&all);
        if !orphans.is_empty() && !opts.ignore_orphans {
            if opts.remove_orphans {
                for c in orphans {
                    self.stop_and_remove(c, opts.timeout, false, progress)?;
                }
            } else {
                let list: Vec<&str> = orphans.iter().map(|c| c.name()).collect();
                warn(&format!(
                    "Found orphan containers ([{}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.",
                    list.join(" ")
                ));
            }
        }
        let mut observed: BTreeMap<String, Vec<ProjectContainer>> = BTreeMap::new();
        for c in all.into_iter().filter(|c| !c.oneoff()) {
            observed.entry(c.service().to_string()).or_default().push(c);
        }
        for level in dependency_levels(&self.project) {
            let done = for_each(&level, |name| {
                let strategy = if opts.services.is_empty() || opts.services.contains(name) {
                    opts.recreate
                } else {
                    opts.recreate_deps
                };
                let image = image_name(self.name(), name, self.service(name)?);
                let image_id = images.get(&image).cloned().unwrap_or_default();
                let current: Vec<ProjectContainer> =
                    observed.get(name).cloned().unwrap_or_default();
                self.converge(
                    name,
                    current,
                    (&image_id, strategy),
                    opts,
                    &observed,
                    progress,
                    early,
                )
            })?;
            for (name, converged) in level.into_iter().zip(done) {
                observed.insert(name, converged);
            }
        }
        Ok(())
    }

    /// `up`: create, then start (attached or not, the caller decides what
    /// follows).
    pub fn up(&self, opts: &UpOptions, progress: &dyn Progress) -> RunResult<()> {
        let early = Early::default();
        self.create_with(opts, progress, Some(&early))?;
        // The project's networks, volumes and containers made, none started.
        wharf_failpoint::hit("compose-up-before-start");
        self.start_with(progress, Some(&early))?;
        if opts.wait {
            self.wait_running(opts.wait_timeout, progress)?;
        }
        Ok(())
    }

    /// Whether container `c` no longer matches service `s`.
    fn must_recreate(
        &self,
        s: &Service,
        c: &ProjectContainer,
        image_id: &str,
        strategy: Recreate,
        hash: &str,
    ) -> bool {
        match strategy {
            Recreate::Never => false,
            Recreate::Force => true,
            Recreate::Diverged => {
                let _ = s;
                c.label(labels::CONFIG_HASH) != Some(hash)
                    || (!image_id.is_empty() && c.label(labels::IMAGE) != Some(image_id))
            }
        }
    }

    /// The labels of container `number` of service `name`.
    fn container_labels(
        &self,
        name: &str,
        s: &Service,
        number: u32,
        hash: &str,
        image_id: &str,
    ) -> BTreeMap<String, String> {
        let mut l = self.service_container_labels(name, s, hash, image_id);
        l.insert(labels::CONTAINER_NUMBER.into(), number.to_string());
        l
    }

    /// What every container of service `name` carries, `up`'s and `run`'s
    /// alike: the service's own labels, the project's, the config hash,
    /// `depends_on` and the image.
    pub(super) fn service_container_labels(
        &self,
        name: &str,
        s: &Service,
        hash: &str,
        image_id: &str,
    ) -> BTreeMap<String, String> {
        let mut l = s.labels.0.clone();
        l.extend(self.custom_labels(name));
        l.insert(labels::CONFIG_HASH.into(), hash.to_string());
        let deps: Vec<String> = s
            .depends_on
            .iter()
            .map(|(d, c)| format!("{d}:{}:{}", c.condition, c.restart))
            .collect();
        l.insert(labels::DEPENDS_ON.into(), deps.join(","));
        if !image_id.is_empty() {
            l.insert(labels::IMAGE.into(), image_id.to_string());
        }
        l
    }

    /// `links` and `external_links` of container `number` as Compose
    /// writes them (`getLinks`): each container of a linked service under
    /// the link's alias, `SERVICE-N` and `PROJECT-SERVICE-N`.
    pub(crate) fn links(
        &self,
        s: &Service,
        number: u32,
        others: &BTreeMap<String, Vec<ProjectContainer>>,
    ) -> Vec<String> {
        let mut out = Vec::new();
        for raw in &s.links {
            let (svc, alias) = raw.split_once(':').unwrap_or((raw, raw));
            for c in others.get(svc).into_iter().flatten() {
                out.push(format!("{}:{alias}", c.name()));
                out.push(format!("{}:{svc}-{number}", c.name()));
                out.push(format!("{}:{}-{svc}-{number}", c.name(), self.name()));
            }
        }
        for raw in &s.external_links {
            let (ext, alias) = raw.split_once(':').unwrap_or((raw, raw));
            out.push(format!("{ext}:{alias}"));
        }
        out
    }

    /// The name of container `number` of service `name`.
    pub(crate) fn container_name(&self, name: &str, s: &Service, number: u32) -> String {
        if s.container_name.is_empty() {
            format!("{}-{name}-{number}", self.name())
        } else {
            s.container_name.clone()
        }
    }

    /// Converge one service: scale down, recreate what diverged, create
    /// what is missing. Returns its containers.
    #[allow(clippy::too_many_arguments)]
    fn converge(
        &self,
        name: &str,
        mut containers: Vec<ProjectContainer>,
        (image_id, strategy): (&str, Recreate),
        opts: &UpOptions,
        others: &BTreeMap<String, Vec<ProjectContainer>>,
        progress: &dyn Progress,
        early: Option<&Early>,
    ) -> RunResult<Vec<ProjectContainer>> {
        let s = self.service(name)?;
        let expected = s.replicas().max(0) as usize;
        let hash = service_hash(s);
        // Up-to-date containers by number, then the obsolete ones: scaling
        // down removes the obsolete and the highest first.
        containers.sort_by_key(|c| {
            (
                self.must_recreate(s, c, image_id, strategy, &hash),
                c.number().unwrap_or(u32::MAX),
            )
        });
        let resolve = |svc: &str| -> RunResult<String> {
            let found = others.get(svc).and_then(|cs| cs.first());
            found.map(|c| c.id().to_string()).ok_or_else(|| {
                invalid(format!(
                    "cannot share namespace or volumes with service {svc}: container missing"
                ))
            })
        };
        let next = containers
            .iter()
            .filter_map(|c| c.number())
            .max()
            .unwrap_or(0)
            + 1;
        let mut actions = Vec::new();
        let mut count = 0;
        for (i, c) in containers.into_iter().enumerate() {
            if i >= expected {
                actions.push(Action::Remove(c));
                continue;
            }
            count += 1;
            if self.must_recreate(s, &c, image_id, strategy, &hash) {
                actions.push(Action::Recreate(c));
                continue;
            }
            match c.status() {
                CStatus::Running => progress.event(&c.event_id(), Status::Done, "Running"),
                CStatus::Created | CStatus::Restarting | CStatus::Exited => {}
                _ => {
                    actions.push(Action::Restart(c));
                    continue;
                }
            }
            actions.push(Action::Keep(c));
        }
        for i in 0..expected.saturating_sub(count) as u32 {
            actions.push(Action::Create(next + i));
        }
        // Independent of each other: in parallel, as Compose does.
        let done = for_each(&actions, |a| -> RunResult<Option<ProjectContainer>> {
            match a {
                Action::Keep(c) => Ok(Some(c.clone())),
                Action::Remove(c) => {
                    self.stop_and_remove(c, opts.timeout, false, progress)?;
                    Ok(None)
                }
                Action::Restart(c) => {
                    progress.event(&c.event_id(), Status::Working, "Restart");
                    self.engine.start_container(c.id(), None)?;
                    progress.event(&c.event_id(), Status::Done, "Restarted");
                    Ok(Some(c.clone()))
                }
                Action::Recreate(c) => {
                    let number = c.number().unwrap_or(1);
                    let labels = self.container_labels(name, s, number, &hash, image_id);
                    let links = self.links(s, number, others);
                    self.recreate(
                        name,
                        s,
                        c,
                        number,
                        (labels, links),
                        opts,
                        &resolve,
                        progress,
                        early,
                    )
                    .map(Some)
                }
                Action::Create(number) => {
                    let cname = self.container_name(name, s, *number);
                    let labels = self.container_labels(name, s, *number, &hash, image_id);
                    let inst = Instance {
                        name: &cname,
                        labels,
                        use_aliases: true,
                        links: self.links(s, *number, others),
                        resolve: &resolve,
                    };
                    self.create_one(name, s, &inst, progress, early).map(Some)
                }
            }
        })?;
        Ok(done.into_iter().flatten().collect())
    }

    /// Create one container, reporting it.
    fn create_one(
        &self,
        name: &str,
        s: &Service,
        inst: &Instance,
        progress: &dyn Progress,
        early: Option<&Early>,
    ) -> RunResult<ProjectContainer> {
        let id = container_id(inst.name);
        progress.event(&id, Status::Working, "Creating");
        match self.create_container(name, s, inst, Vec::new(), early) {
            Ok(c) => {
                progress.event(&id, Status::Done, "Created");
                Ok(c)
            }
            Err(e) => {
                let text = match &e {
                    RunError::Engine(inner) => inner.to_string(),
                    other => other.to_string(),
                };
                progress.event(&id, Status::Error, &text);
                Err(e)
            }
        }
    }

    /// The engine's create, for container `inst` of service `name`; with
    /// `early`, its monitor is started first and kept there.
    pub(crate) fn create_container(
        &self,
        name: &str,
        s: &Service,
        inst: &Instance,
        inherited: Vec<Mount>,
        early: Option<&Early>,
    ) -> RunResult<ProjectContainer> {
        let mut req = create_request(&self.project, name, s, inst)?;
        wharf_runtime::timeline::mark("up: request made");
        if !inherited.is_empty() {
            let mut mounts = req.host_config.mounts.take().unwrap_or_default();
            mounts.extend(inherited);
            req.host_config.mounts = Some(mounts);
        }
        let created = match early {
            Some(early) => {
                let pre =
                    prespawn_monitor(self.engine.root(), MonitorStdio::Null, &req.host_config)?;
                wharf_runtime::timeline::mark("up: monitor spawned");
                let created = self.engine.create_container_as(&req, pre.id())?;
                wharf_runtime::timeline::mark("up: created");
                early.keep(pre);
                created
            }
            None => self.engine.create_container(&req)?,
        };
        for w in &created.warnings {
            warn(w);
        }
        self.project_container(&created.id)
    }

    /// The summary of container `id` (just made or changed).
    pub(crate) fn project_container(&self, id: &str) -> RunResult<ProjectContainer> {
        match self.engine.container_summary(id) {
            Ok(c) => Ok(ProjectContainer(c)),
            Err(e) if e.kind() == wharf_oci::ErrorKind::NotFound => {
                Err(invalid(format!("No such container: {id}")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Replace `old` with a container made from the current service:
    /// created under a temporary name, the old one stopped and removed,
    /// then renamed (`recreateContainer`).
    #[allow(clippy::too_many_arguments)]
    fn recreate(
        &self,
        name: &str,
        s: &Service,
        old: &ProjectContainer,
        number: u32,
        (mut labels, links): (BTreeMap<String, String>, Vec<String>),
        opts: &UpOptions,
        resolve: &dyn Fn(&str) -> RunResult<String>,
        progress: &dyn Progress,
        early: Option<&Early>,
    ) -> RunResult<ProjectContainer> {
        let event = old.event_id();
        progress.event(&event, Status::Working, "Recreate");
        let result = (|| {
            let final_name = self.container_name(name, s, number);
            let replaced = if s.container_name.is_empty() {
                format!("{name}-{number}")
            } else {
                s.container_name.clone()
            };
            labels.insert(labels::REPLACE.into(), replaced);
            let tmp = format!("{}_{final_name}", &old.id()[..12.min(old.id().len())]);
            let inherited = if opts.inherit {
                self.inherited_volumes(s, old)?
            } else {
                Vec::new()
            };
            let inst = Instance {
                name: &tmp,
                labels,
                use_aliases: true,
                links,
                resolve,
            };
            let made = self.create_container(name, s, &inst, inherited, early)?;
            self.engine.stop_container(old.id(), opts.timeout, None)?;
            self.engine.remove_container(old.id(), false, false)?;
            self.engine.rename_container(made.id(), &final_name)?;
            self.project_container(made.id())
        })();
        match &result {
            Ok(_) => progress.event(&event, Status::Done, "Recreated"),
            Err(e) => progress.event(&event, Status::Error, &e.to_string()),
        }
        result
    }

    /// The anonymous volumes of `old` that the new container keeps: those
    /// at a target the service mounts without a source, or where the
    /// image declares a `VOLUME`.
    fn inherited_volumes(&self, s: &Service, old: &ProjectContainer) -> RunResult<Vec<Mount>> {
        let inspect = self.engine.inspect_container(old.id())?;
        let image_volumes = inspect.config.volumes.clone().unwrap_or_default();
        Ok(inspect
            .mounts
            .iter()
            .filter(|m| m.kind == "volume")
            .filter(|m| {
                image_volumes.contains_key(&m.destination)
                    || s.volumes
                        .iter()
                        .any(|v| v.target == m.destination && v.source.is_empty())
            })
            .map(|m| Mount {
                kind: "volume".into(),
                source: m.name.clone(),
                target: m.destination.clone(),
                read_only: !m.rw,
                ..Default::default()
            })
            .collect())
    }

    /// `start`: every service's stopped containers, in dependency order,
    /// each service once its dependencies' conditions hold.
    pub fn start(&self, progress: &dyn Progress) -> RunResult<()> {
        self.start_with(progress, None)
    }

    /// [`Runtime::start`], with the monitors `up` started ahead.
    fn start_with(&self, progress: &dyn Progress, early: Option<&Early>) -> RunResult<()> {
        for level in dependency_levels(&self.project) {
            for_each(&level, |name| self.start_service(name, progress, early))?;
        }
        Ok(())
    }

    /// Start the stopped containers of service `name` once its
    /// dependencies' conditions hold; its replicas at once (independent
    /// of each other: Compose starts them one by one, for no order anyone
    /// can see).
    pub(crate) fn start_service(
        &self,
        name: &str,
        progress: &dyn Progress,
        early: Option<&Early>,
    ) -> RunResult<()> {
        let s = self.service(name)?;
        if s.deploy.as_ref().and_then(|d| d.replicas) == Some(0) {
            return Ok(());
        }
        self.wait_dependencies(name, s, progress)?;
        let containers: Vec<ProjectContainer> = self
            .containers(OneOff::Exclude)?
            .into_iter()
            .filter(|c| c.service() == name)
            .collect();
        if containers.is_empty() {
            if s.replicas() == 0 {
                return Ok(());
            }
            return Err(invalid(format!(
                "service {name:?} has no container to start"
            )));
        }
        let stopped: Vec<&ProjectContainer> = containers.iter().filter(|c| !c.running()).collect();
        for_each(&stopped, |c| {
            let event = c.event_id();
            progress.event(&event, Status::Working, "Starting");
            // Compose reports a failed start by its error alone.
            match early.and_then(|e| e.take(c.id())) {
                Some(pre) => self.engine.start_prespawned(pre, false)?,
                None => self.engine.start_container(c.id(), None)?,
            };
            progress.event(&event, Status::Done, "Started");
            Ok(())
        })?;
        Ok(())
    }

    /// Wait until the conditions of `s`'s dependencies hold
    /// (`waitDependencies`): healthy, or exited 0.
    pub(crate) fn wait_dependencies(
        &self,
        name: &str,
        s: &Service,
        progress: &dyn Progress,
    ) -> RunResult<()> {
        let deps: Vec<(String, String, bool)> = s
            .depends_on
            .iter()
            .map(|(d, c)| (d.clone(), c.condition.clone(), c.required))
            .collect();
        self.wait_conditions(name, &deps, None, progress)
    }

    /// Wait for each `(service, condition, required)` of `deps`, all at
    /// once as Compose's errgroup does: `service_healthy`,
    /// `service_completed_successfully`, or `running_or_healthy` (what
    /// `--wait` asks), until `deadline`.
    fn wait_conditions(
        &self,
        owner: &str,
        deps: &[(String, String, bool)],
        deadline: Option<Instant>,
        progress: &dyn Progress,
    ) -> RunResult<()> {
        let mut waits = Vec::new();
        for (dep, condition, required) in deps {
            if condition.is_empty() || condition == "service_started" {
                continue;
            }
            let Some(ds) = self.project.services.get(dep) else {
                continue;
            };
            if ds.replicas() == 0 {
                continue;
            }
            let waiting: Vec<ProjectContainer> = self
                .containers(OneOff::Exclude)?
                .into_iter()
                .filter(|c| c.service() == dep)
                .collect();
            for c in &waiting {
                progress.event(&c.event_id(), Status::Working, "Waiting");
            }
            if waiting.is_empty() {
                if *required {
                    return Err(invalid(format!("{owner} is missing dependency {dep}")));
                }
                warn(&format!("{owner} is missing dependency {dep}"));
                continue;
            }
            waits.push((dep, condition, *required, waiting));
        }
        for_each(&waits, |(dep, condition, required, waiting)| {
            let outcome = match condition.as_str() {
                "service_healthy" => self.wait_healthy(waiting, false, deadline),
                RUNNING_OR_HEALTHY => self.wait_healthy(waiting, true, deadline),
                "service_completed_successfully" => self.wait_completed(dep, waiting, deadline),
                other => {
                    warn(&format!("unsupported depends_on condition: {other}"));
                    return Ok(());
                }
            };
            let each = |status: Status, text: &str| {
                for c in waiting {
                    progress.event(&c.event_id(), status, text);
                }
            };
            let completed = condition.as_str() == "service_completed_successfully";
            match outcome {
                Ok(()) => {
                    each(Status::Done, if completed { "Exited" } else { "Healthy" });
                    Ok(())
                }
                Err(e) if !required => {
                    let why = if completed {
                        format!("optional dependency {e}")
                    } else {
                        format!("optional dependency {dep:?} failed to start")
                    };
                    each(Status::Warning, &format!("Skipped: {why}"));
                    warn(&format!("{why}: {e}"));
                    Ok(())
                }
                Err(e) if condition.as_str() == "service_healthy" => {
                    each(Status::Error, "Error");
                    Err(invalid(format!("dependency failed to start: {e}")))
                }
                Err(e) if completed => {
                    each(Status::Error, &e.to_string());
                    Err(e)
                }
                Err(e) => Err(e),
            }
        })?;
        Ok(())
    }

    /// Until every container is healthy (`service_healthy`); with
    /// `fallback_running`, one without a health check only has to run
    /// (`--wait`).
    fn wait_healthy(
        &self,
        containers: &[ProjectContainer],
        fallback_running: bool,
        deadline: Option<Instant>,
    ) -> RunResult<()> {
        let has_check: BTreeMap<String, bool> = containers
            .iter()
            .map(|c| {
                let check = self
                    .engine
                    .find_container(c.id())
                    .ok()
                    .and_then(|r| r.definition.config.healthcheck)
                    .and_then(|h| h.test)
                    .is_some_and(|t| t.first().map(String::as_str) != Some("NONE"));
                (c.id().to_string(), check)
            })
            .collect();
        loop {
            let now = self.engine.list_containers(true)?;
            let mut all = true;
            for c in containers {
                let Some(cur) = now.iter().find(|x| x.id == c.id()) else {
                    return Err(invalid(format!("container {} is gone", c.name())));
                };
                if cur.status == CStatus::Exited {
                    return Err(invalid(format!(
                        "container {} exited ({})",
                        c.name(),
                        cur.exit_code.unwrap_or(0)
                    )));
                }
                if !has_check[c.id()] {
                    if fallback_running {
                        all &= cur.status.is_running();
                        continue;
                    }
                    return Err(invalid(format!(
                        "container {} has no healthcheck configured",
                        c.name()
                    )));
                }
                match cur.health {
                    Some(HealthStatus::Healthy) => {}
                    Some(HealthStatus::Unhealthy) => {
                        return Err(invalid(format!("container {} is unhealthy", c.name())))
                    }
                    _ => all = false,
                }
            }
            if all {
                return Ok(());
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(RunError::Timeout);
            }
            std::thread::sleep(POLL);
        }
    }

    /// Until a container of `dep` has exited; 0 is success
    /// (`service_completed_successfully`).
    fn wait_completed(
        &self,
        dep: &str,
        containers: &[ProjectContainer],
        deadline: Option<Instant>,
    ) -> RunResult<()> {
        loop {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(RunError::Timeout);
            }
            for c in self.engine.list_containers(true)? {
                if !containers.iter().any(|w| w.id() == c.id) || c.status != CStatus::Exited {
                    continue;
                }
                let code = c.exit_code.unwrap_or(0);
                if code == 0 {
                    return Ok(());
                }
                return Err(invalid(format!(
                    "service {dep:?} didn't complete successfully: exit {code}"
                )));
            }
            std::thread::sleep(POLL);
        }
    }

    /// `up --wait`: every service running (and healthy when it has a
    /// check), or exited 0 when another waits for it to complete
    /// (`getDependencyCondition`).
    fn wait_running(&self, timeout: Option<Duration>, progress: &dyn Progress) -> RunResult<()> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let deps: Vec<(String, String, bool)> = self
            .project
            .services
            .keys()
            .map(|name| {
                let completes = self.project.services.values().any(|s| {
                    s.depends_on
                        .get(name)
                        .is_some_and(|d| d.condition == "service_completed_successfully")
                });
                let condition = if completes {
                    "service_completed_successfully"
                } else {
                    RUNNING_OR_HEALTHY
                };
                (name.clone(), condition.to_string(), true)
            })
            .collect();
        match self.wait_conditions(self.name(), &deps, deadline, progress) {
            Err(RunError::Timeout) => Err(invalid(format!(
                "application not healthy after {}",
                crate::units::format_duration(timeout.map(|t| t.as_nanos() as i64).unwrap_or(0))
            ))),
            other => other,
        }
    }
}

impl Runtime<'_> {
    /// `--scale SERVICE=N` (Compose's `applyScaleOpts`).
    pub fn apply_scale(&mut self, specs: &[String]) -> RunResult<()> {
        for spec in specs {
            let (name, n) = spec
                .split_once('=')
                .filter(|(_, n)| !n.contains('='))
                .ok_or_else(|| {
                    invalid(format!(
                        "invalid --scale option {spec:?}. Should be SERVICE=NUM"
                    ))
                })?;
            let n: i64 = n
                .parse()
                .map_err(|_| invalid(format!("strconv.Atoi: parsing {n:?}: invalid syntax")))?;
            let s = self
                .project
                .services
                .get_mut(name)
                .ok_or_else(|| invalid(format!("no such service: {name}")))?;
            s.scale = Some(n);
            if let Some(d) = s.deploy.as_mut() {
                d.replicas = Some(n);
            }
        }
        Ok(())
    }

    /// `--pull POLICY`: every service's `pull_policy`.
    pub fn apply_pull(&mut self, policy: &str) -> RunResult<()> {
        if !matches!(
            policy,
            "always" | "never" | "build" | "missing" | "if_not_present"
        ) {
            return Err(invalid(format!("invalid --pull option {policy:?}")));
        }
        for s in self.project.services.values_mut() {
            s.pull_policy = policy.to_string();
        }
        Ok(())
    }

    /// `--no-deps`: the named services only (their dependencies are
    /// neither created nor started).
    pub fn only(&mut self, services: &[String]) {
        if services.is_empty() {
            return;
        }
        let dropped: Vec<String> = self
            .project
            .services
            .keys()
            .filter(|n| !services.contains(n))
            .cloned()
            .collect();
        for n in dropped {
            self.project.services.remove(&n);
            self.disabled.push(n);
        }
    }
}
