//! `docker create`: everything a container needs, before it first starts.

use std::fs;

use serde_json::json;
use wharf_runtime::monitor::{ContainerDir, MonitorConfig};
use wharf_runtime::spec::{build_spec, default_hostname, HostInfo, RunOptions, SpecInput};
use wharf_store::containers::{self, ContainerRecord};

use super::names::{new_id, random_name, valid_name};
use crate::volumes::mounts::{self, ImageRoot, MadeMounts, MountPlan};
use crate::volumes::MountRequest;
use crate::{Engine, EngineError, EngineResult};

/// Where containers' cgroups go, under each controller (cgroupfs layout).
pub(crate) const CGROUP_PARENT: &str = "/wharf";

#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    pub image: String,
    pub name: Option<String>,
    pub options: RunOptions,
    /// `--rm`.
    pub auto_remove: bool,
    pub restart: wharf_runtime::monitor::RestartPolicy,
    /// `-v`, `--mount`, `--tmpfs`; made into `options.mounts` at create.
    pub mounts: MountRequest,
    /// `--network`, `-p`, `--dns` ...
    pub network: super::network::NetworkRequest,
}

/// docker's `HostConfig.PortBindings`: `{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}`.
fn port_bindings(publish: &[wharf_network::ports::PortBinding]) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for b in publish {
        let key = format!("{}/{}", b.container_port, b.proto);
        let port = match b.host_ports {
            (0, 0) => String::new(),
            (lo, hi) if lo == hi => lo.to_string(),
            (lo, hi) => format!("{lo}-{hi}"),
        };
        let entry = json!({
            "HostIp": b.host_ip.map(|i| i.to_string()).unwrap_or_default(),
            "HostPort": port,
        });
        match out.get_mut(&key).and_then(|v| v.as_array_mut()) {
            Some(list) => list.push(entry),
            None => {
                out.insert(key, json!([entry]));
            }
        }
    }
    out.into()
}

impl Engine {
    /// Create a container; returns its ID. On failure nothing is left behind.
    pub fn create_container(&self, req: &CreateRequest) -> EngineResult<String> {
        self.create_container_as(req, &new_id())
    }

    /// [`Engine::create_container`] with the ID chosen beforehand (`run`,
    /// whose monitor is started ahead with it).
    pub fn create_container_as(&self, req: &CreateRequest, id: &str) -> EngineResult<String> {
        let image_id = self.resolve_image(&req.image)?;
        let image = self.image_config(&image_id)?;
        let image_config = image.config.clone().unwrap_or_default();
        if let Some(n) = &req.name {
            if !valid_name(n) {
                return Err(EngineError::Invalid(format!(
                    "Invalid container name ({n}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
                )));
            }
        }
        let image_volumes: Vec<String> = image_config
            .volumes
            .iter()
            .flat_map(|v| v.keys().cloned())
            .collect();
        let plan = mounts::plan(&req.mounts, &image_volumes)?;
        let id = id.to_string();
        let dir = ContainerDir::new(self.store.root(), &id);
        let mut made = MadeMounts::default();
        let result = self.prepare(&dir, req, &image_id, &image_config, &plan, &mut made);
        match result {
            Ok(()) => Ok(id),
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
        image_id: &wharf_oci::Digest,
        image_config: &wharf_oci::ContainerConfig,
        mount_plan: &MountPlan,
        made: &mut MadeMounts,
    ) -> EngineResult<()> {
        let id = dir.id.as_str();
        let io = |what: &str, e| EngineError::io(format!("{what} for container {id}"), e);
        for d in [dir.upper(), dir.work(), dir.rootfs(), dir.empty()] {
            fs::create_dir_all(&d).map_err(|e| io("creating directories", e))?;
        }
        let host = HostInfo::detect_for(req.options.init);
        let mut opts = req.options.clone();
        let plan_hostname = |mode: &wharf_runtime::spec::NetworkMode| {
            opts.hostname
                .clone()
                .unwrap_or_else(|| default_hostname(id, mode, &host.hostname))
        };
        // The namespace mode decides the default hostname (the host's with
        // --network host), so ask for the plan with a provisional one.
        let provisional = plan_hostname(&wharf_runtime::spec::NetworkMode::None);
        let domainname = opts.domainname.clone().unwrap_or_default();
        let mut plan =
            self.plan_network(&req.network, dir, image_config, &provisional, &domainname)?;
        let hostname = plan_hostname(&plan.mode);
        plan.config.hostname = hostname.clone();
        opts.network_mode = plan.mode.clone();
        let opts = &opts;
        fs::write(dir.hostname(), format!("{hostname}\n"))
            .map_err(|e| io("writing hostname", e))?;
        let host_resolv = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        fs::write(
            dir.hosts(),
            wharf_network::files::hosts(&plan.config.extra_hosts, None, &hostname, &domainname),
        )
        .map_err(|e| io("writing hosts", e))?;
        fs::write(
            dir.resolv_conf(),
            wharf_network::files::resolv_conf(&host_resolv, &plan.config.dns, None),
        )
        .map_err(|e| io("writing resolv.conf", e))?;
        fs::write(
            super::network::network_json(dir),
            serde_json::to_vec(&plan.config).expect("serializes"),
        )
        .map_err(|e| io("writing network.json", e))?;

        let record = self
            .store
            .read(|tx| wharf_store::images::get(tx, image_id))?;
        let layers: Vec<_> = record
            .map(|r| r.layers)
            .unwrap_or_default()
            .iter()
            .rev()
            .map(|d| self.store.layer_dir(d))
            .collect();

        // The monitor builds the real spec at start, with the rootfs mounted
        // (users come from the image's /etc/passwd). Building one now, minus
        // the user lookup, rejects bad options before anything exists.
        let name = req.name.clone().unwrap_or_default();
        let mut check = opts.clone();
        check.user = None;
        check.mounts.extend(mount_plan.check_mounts());
        let spec = build_spec(&SpecInput {
            id,
            name: &name,
            image: &wharf_oci::ContainerConfig {
                user: String::new(),
                ..image_config.clone()
            },
            opts: &check,
            paths: &dir.paths(),
            cgroup_parent: CGROUP_PARENT,
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
        let mut options = opts.clone();
        options.mounts.extend(made.spec.iter().cloned());
        let monitor = MonitorConfig {
            lowers: layers,
            auto_remove: req.auto_remove,
            name,
            image: image_config.clone(),
            options,
            cgroup_parent: CGROUP_PARENT.to_string(),
            restart: req.restart,
            ephemeral: false,
            volume_mounts: made.volume_mounts.clone(),
        };
        // It holds the env (`-e` secrets): 0600.
        wharf_store::private::write_private(
            &dir.monitor_config(),
            &serde_json::to_vec(&monitor).expect("serializes"),
        )
        .map_err(|e| io("writing monitor.json", e))?;

        let process = spec.process().clone().unwrap_or_default();
        let args = process.args().clone().unwrap_or_default();
        let config = json!({
            "Path": args.first().cloned().unwrap_or_default(),
            "Args": args.iter().skip(1).collect::<Vec<_>>(),
            "Config": {
                "Hostname": spec.hostname().clone().unwrap_or_default(),
                "User": opts.user.clone().unwrap_or_else(|| image_config.user.clone()),
                "Tty": opts.tty,
                "OpenStdin": opts.interactive,
                "Env": process.env().clone().unwrap_or_default(),
                "Cmd": opts.cmd.clone().or_else(|| image_config.cmd.clone()),
                "Image": req.image,
                "WorkingDir": process.cwd().display().to_string(),
                "Entrypoint": opts.entrypoint.clone().or_else(|| image_config.entrypoint.clone()),
                "Labels": image_config.labels.clone().unwrap_or_default(),
                "StopSignal": opts.stop_signal.clone().unwrap_or_else(|| image_config.stop_signal.clone()),
                "Volumes": mount_plan.config_volumes_json(),
            },
            "HostConfig": {
                "AutoRemove": req.auto_remove,
                "NetworkMode": req.network.network.clone().unwrap_or_else(|| "default".into()),
                "PortBindings": port_bindings(&plan.config.publish),
                "PublishAllPorts": req.network.publish_all,
                "Dns": plan.config.dns.servers,
                "DnsSearch": plan.config.dns.search,
                "DnsOptions": plan.config.dns.options,
                "ExtraHosts": req.network.add_hosts,
                "Binds": mount_plan.binds_json(),
                "Mounts": req.mounts.mounts,
                "Tmpfs": mount_plan.tmpfs_json(&req.mounts.tmpfs),
            },
            "Mounts": made.points,
        });
        let mut config = config;
        config["Config"]["ExposedPorts"] = plan
            .config
            .exposed
            .iter()
            .map(|(p, proto)| (format!("{p}/{proto}"), json!({})))
            .collect::<serde_json::Map<_, _>>()
            .into();

        let mut attempt = 0;
        loop {
            let name = match &req.name {
                Some(n) => n.clone(),
                None => random_name(attempt),
            };
            let rec = ContainerRecord {
                id: id.to_string(),
                name,
                image_id: image_id.clone(),
                image_ref: req.image.clone(),
                created: wharf_oci::config::format_time(chrono::Utc::now()),
                state: "created".into(),
                pid: None,
                monitor_pid: None,
                exit_code: None,
                started_at: None,
                finished_at: None,
                config: config.to_string(),
                paused: false,
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
                Ok(())
            });
            match inserted {
                Err(wharf_store::StoreError::Conflict(_)) if req.name.is_none() && attempt < 10 => {
                    attempt += 1
                }
                Err(e) => return Err(e.into()),
                Ok(()) => return Ok(()),
            }
        }
    }
}
