//! `docker create`: the container's record and files, before it first
//! starts. The caller fills Docker's `Config`, `HostConfig` and
//! `NetworkingConfig` (the CLI from flags, Compose from a service, the API
//! from a request body); create merges the image's config in, applies the
//! daemon's defaults, checks everything before anything exists, and
//! stores one record.

use std::fs;

use wharf_model::{
    merge_with_image, Config, ContainerRecord, ContainerState, Definition, HostConfig,
    NetworkingConfig, Resolved, Status,
};
use wharf_runtime::monitor::ContainerDir;
use wharf_runtime::spec::{
    build_spec, default_hostname, CgroupLayout, HostInfo, NetworkMode, RunOptions, SpecInput,
    DEFAULT_SHM_SIZE, MASKED_PATHS, READONLY_PATHS,
};
use wharf_store::containers;

use super::names::{new_id, random_name, valid_name};
use crate::volumes::mounts::{self, ImageRoot, MadeMounts, MountPlan};
use crate::volumes::MountRequest;
use crate::{Engine, EngineError, EngineResult, FullDisk};

pub(crate) use wharf_runtime::spec::DEFAULT_CGROUP_PARENT as CGROUP_PARENT;

/// The cgroup parent of a container: `--cgroup-parent`, else wharf's.
pub fn cgroup_parent(h: &HostConfig) -> &str {
    cgroup_parent_of(&h.resources)
}

/// [`cgroup_parent`] of a container's (or a build step's) limits.
pub(crate) fn cgroup_parent_of(r: &wharf_model::Resources) -> &str {
    match r.cgroup_parent.as_str() {
        "" => CGROUP_PARENT,
        p => p,
    }
}

/// A container to create, as docker's API carries it.
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    pub name: Option<String>,
    /// `Config.Image` names the image.
    pub config: Config,
    pub host_config: HostConfig,
    pub networking_config: NetworkingConfig,
}

/// A created container and docker's warnings about it (limits this host
/// cannot apply, deprecated options), for the CLI to print.
#[derive(Debug, Clone, Default)]
pub struct Created {
    pub id: String,
    pub warnings: Vec<String>,
}

impl CreateRequest {
    /// The image it is made from.
    pub fn image(&self) -> &str {
        &self.config.image
    }
}

/// What docker's daemon fills into a new container's `HostConfig`.
fn daemon_defaults(h: &mut HostConfig, host: &HostInfo) {
    if h.shm_size == 0 {
        h.shm_size = DEFAULT_SHM_SIZE;
    }
    if h.runtime.is_empty() {
        h.runtime = "runc".into();
    }
    if h.cgroupns_mode.is_empty() {
        h.cgroupns_mode = if host.cgroup == CgroupLayout::V2 {
            "private".into()
        } else {
            "host".into()
        };
    }
    if h.ipc_mode.is_empty() {
        h.ipc_mode = "private".into();
    }
    if h.log_config.kind.is_empty() {
        h.log_config.kind = "json-file".into();
    }
    if !h.privileged {
        if h.masked_paths.is_none() {
            h.masked_paths = Some(MASKED_PATHS.iter().map(|p| p.to_string()).collect());
        }
        if h.readonly_paths.is_none() {
            h.readonly_paths = Some(READONLY_PATHS.iter().map(|p| p.to_string()).collect());
        }
    }
}

/// `HostConfig.Tmpfs` as `--tmpfs destination[:options]` entries.
fn tmpfs_entries(h: &HostConfig) -> Vec<String> {
    h.tmpfs
        .iter()
        .flatten()
        .map(|(d, o)| {
            if o.is_empty() {
                d.clone()
            } else {
                format!("{d}:{o}")
            }
        })
        .collect()
}

impl Engine {
    /// Create a container. On failure nothing is left behind.
    pub fn create_container(&self, req: &CreateRequest) -> EngineResult<Created> {
        self.create_container_as(req, &new_id())
    }

    /// [`Engine::create_container`] with the ID chosen beforehand (`run`,
    /// whose monitor is started ahead with it).
    pub fn create_container_as(&self, req: &CreateRequest, id: &str) -> EngineResult<Created> {
        let image_id = self.resolve_image(req.image())?;
        let image = self.image_config(&image_id)?;
        if let Some(n) = &req.name {
            if !valid_name(n) {
                return Err(EngineError::Invalid(format!(
                    "Invalid container name ({n}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
                )));
            }
        }
        let mut definition = Definition {
            config: req.config.clone(),
            host_config: req.host_config.clone(),
            networking_config: req.networking_config.clone(),
            ..Default::default()
        };
        merge_with_image(
            &mut definition.config,
            &image.config.clone().unwrap_or_default(),
        );
        let mount_request = MountRequest {
            binds: wharf_model::list(&definition.host_config.binds).to_vec(),
            mounts: wharf_model::list(&definition.host_config.mounts).to_vec(),
            tmpfs: tmpfs_entries(&definition.host_config),
            volume_driver: definition.host_config.volume_driver.clone(),
            inherited: self
                .volumes_from(wharf_model::list(&definition.host_config.volumes_from))?,
        };
        let volumes: Vec<String> = definition
            .config
            .volumes
            .iter()
            .flat_map(|v| v.keys().cloned())
            .collect();
        let plan = mounts::plan(&mount_request, &volumes)?;
        definition.host_config.binds = plan.host_binds();
        definition.config.volumes = plan.config_volumes();
        let dir = ContainerDir::new(self.store.root(), id);
        let mut made = MadeMounts::default();
        let result = self
            .prepare(&dir, req, definition, &image_id, &plan, &mut made)
            .naming(|| match &req.name {
                Some(n) => format!("creating container {n}"),
                None => "creating a container".into(),
            });
        match result {
            Ok(warnings) => Ok(Created {
                id: id.to_string(),
                warnings,
            }),
            Err(e) => {
                self.forget_new_volumes(&made);
                self.store.discard_tree(&dir.path);
                Err(e)
            }
        }
    }

    fn prepare(
        &self,
        dir: &ContainerDir,
        req: &CreateRequest,
        mut d: Definition,
        image_id: &wharf_oci::Digest,
        mount_plan: &MountPlan,
        made: &mut MadeMounts,
    ) -> EngineResult<Vec<String>> {
        let id = dir.id.as_str();
        let io = |what: &str, e| EngineError::io(format!("{what} for container {id}"), e);
        for p in [dir.upper(), dir.work(), dir.rootfs(), dir.empty()] {
            fs::create_dir_all(&p).map_err(|e| io("creating directories", e))?;
        }
        let host = HostInfo::detect_for(d.host_config.init.unwrap_or(false));
        let warnings = super::verify::verify(&mut d, &host)?;
        self.verify_namespaces(&mut d)?;
        self.check_links(wharf_model::list(&d.host_config.links))?;
        daemon_defaults(&mut d.host_config, &host);
        let plan = self.plan_network(&d)?;
        d.resolved.net_mode = plan.mode.clone();
        let spec_mode = match plan.mode {
            wharf_model::NetMode::Host => NetworkMode::Host,
            wharf_model::NetMode::Bridge => NetworkMode::Namespace(dir.netns()),
            _ => NetworkMode::None,
        };
        if d.config.hostname.is_empty() {
            d.config.hostname = default_hostname(id, &spec_mode, &host.hostname);
        }
        let net = super::network::net_config(&d)?;
        fs::write(dir.hostname(), format!("{}\n", d.config.hostname))
            .map_err(|e| io("writing hostname", e))?;
        let host_resolv = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        fs::write(
            dir.hosts(),
            wharf_network::files::hosts(&net.extra_hosts, &[], &net.hostname, &net.domainname),
        )
        .map_err(|e| io("writing hosts", e))?;
        fs::write(
            dir.resolv_conf(),
            wharf_network::files::resolv_conf(&host_resolv, &net.dns, None),
        )
        .map_err(|e| io("writing resolv.conf", e))?;

        let record = self
            .store
            .read(|tx| wharf_store::images::get(tx, image_id))?;
        d.resolved.layers = record
            .map(|r| r.layers)
            .unwrap_or_default()
            .into_iter()
            .rev()
            .collect();
        let layers: Vec<_> = d
            .resolved
            .layers
            .iter()
            .map(|l| self.store.layer_dir(l))
            .collect();

        // The monitor builds the real spec at start, with the rootfs mounted
        // (users come from the image's /etc/passwd). Building one now, minus
        // the user lookup, rejects bad options before anything exists.
        let name = req.name.clone().unwrap_or_default();
        let mut check = RunOptions::from_definition(&d, spec_mode);
        check.mounts.extend(mount_plan.check_mounts());
        // Group names are the image's: looked up at start, as users are.
        check.group_add.clear();
        build_spec(&SpecInput {
            id,
            name: &name,
            image: &wharf_oci::ContainerConfig {
                user: String::new(),
                ..d.config.clone()
            },
            opts: &check,
            paths: &dir.paths(),
            cgroup_parent: cgroup_parent(&d.host_config),
            host: &host,
        })
        .map_err(|e| EngineError::Invalid(e.to_string()))?;
        *made = self.make_mounts(
            mount_plan,
            &ImageRoot {
                lowers: &layers,
                upper: dir.upper(),
                work: dir.work(),
                rootfs: dir.rootfs(),
                empty: dir.empty(),
            },
        )?;
        d.mounts = made.points.clone();
        d.resolved = Resolved {
            mounts: made.spec.clone(),
            volume_mounts: made.volume_mounts.clone(),
            ..d.resolved
        };

        let created = wharf_oci::config::format_time(chrono::Utc::now());
        let mut attempt = 0;
        loop {
            let name = match &req.name {
                Some(n) => n.clone(),
                None => random_name(attempt),
            };
            let mut definition = d.clone();
            if let Some(links) = &d.host_config.links {
                definition.host_config.links = Some(super::links::record_links(links, &name));
            }
            let rec = ContainerRecord {
                id: id.to_string(),
                name,
                image_id: image_id.clone(),
                created: created.clone(),
                state: ContainerState {
                    status: Status::Created,
                    ..Default::default()
                },
                definition,
            };
            let inserted = self.store.write(|tx| {
                for v in &made.new_volumes {
                    wharf_store::volumes::insert(tx, v)?;
                }
                containers::insert(tx, &rec)?;
                for (destination, volume, anonymous) in &made.links {
                    wharf_store::volumes::attach(tx, id, destination, volume, *anonymous)?;
                }
                for ep in &plan.endpoints {
                    let ep = wharf_store::networks::EndpointRecord {
                        container_id: id.to_string(),
                        ..ep.clone()
                    };
                    wharf_store::networks::add_endpoint(tx, &ep)?;
                }
                wharf_store::events::container(tx, id, "create", &[])
            });
            match inserted {
                Err(wharf_store::StoreError::Conflict(_)) if req.name.is_none() && attempt < 10 => {
                    attempt += 1
                }
                Err(e) => return Err(e.into()),
                Ok(()) => return Ok(warnings),
            }
        }
    }
}
