//! `docker container inspect`: the container as docker's API returns it.

use serde_json::{json, Value};
use wharf_runtime::monitor::ContainerDir;

use crate::{Engine, EngineResult};

const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

impl Engine {
    pub fn inspect_container(&self, name: &str) -> EngineResult<Value> {
        let c = self.refresh(self.find_container(name)?)?;
        let dir = ContainerDir::new(self.store.root(), &c.id);
        let recorded: Value = serde_json::from_str(&c.config).unwrap_or_default();
        let monitor = self.monitor_config(&c.id).ok();
        let running = c.state == "running";
        let opts = monitor
            .as_ref()
            .map(|m| m.options.clone())
            .unwrap_or_default();
        let network_mode = recorded["HostConfig"]["NetworkMode"]
            .as_str()
            .unwrap_or("default")
            .to_string();
        let mut out = json!({
            "Id": c.id,
            "Created": c.created,
            "Path": recorded["Path"],
            "Args": recorded["Args"],
            "State": {
                "Status": c.state,
                "Running": running,
                "Paused": false,
                "Restarting": false,
                "OOMKilled": false,
                "Dead": c.state == "dead",
                "Pid": c.pid.unwrap_or(0),
                "ExitCode": c.exit_code.unwrap_or(0),
                "Error": "",
                "StartedAt": c.started_at.clone().unwrap_or_else(|| ZERO_TIME.into()),
                "FinishedAt": c.finished_at.clone().unwrap_or_else(|| ZERO_TIME.into()),
            },
            "Image": c.image_id.to_string(),
            "ResolvConfPath": dir.resolv_conf(),
            "HostnamePath": dir.hostname(),
            "HostsPath": dir.hosts(),
            "LogPath": dir.log(),
            "Name": format!("/{}", c.name),
            "RestartCount": 0,
            "Driver": "overlay2",
            "Platform": "linux",
            "MountLabel": "",
            "ProcessLabel": "",
            "AppArmorProfile": "",
            "ExecIDs": null,
            "HostConfig": {
                "NetworkMode": network_mode,
                "AutoRemove": recorded["HostConfig"]["AutoRemove"],
                "PortBindings": recorded["HostConfig"]["PortBindings"],
                "PublishAllPorts": recorded["HostConfig"]["PublishAllPorts"],
                "Dns": recorded["HostConfig"]["Dns"],
                "DnsSearch": recorded["HostConfig"]["DnsSearch"],
                "DnsOptions": recorded["HostConfig"]["DnsOptions"],
                "ExtraHosts": recorded["HostConfig"]["ExtraHosts"],
                "Privileged": opts.privileged,
                "ReadonlyRootfs": opts.read_only,
                "CapAdd": opts.cap_add,
                "CapDrop": opts.cap_drop,
                "SecurityOpt": opts.security_opts,
                "Memory": opts.memory.unwrap_or(0),
                "NanoCpus": opts.cpus.map(|c| (c * 1e9) as i64).unwrap_or(0),
                "PidsLimit": opts.pids_limit,
                "Init": opts.init,
                "Binds": recorded["HostConfig"]["Binds"],
            },
            "GraphDriver": {
                "Data": {
                    "LowerDir": monitor.as_ref().map(|m| m.lowers.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(":")).unwrap_or_default(),
                    "MergedDir": dir.rootfs(),
                    "UpperDir": dir.upper(),
                    "WorkDir": dir.work(),
                },
                "Name": "overlay2",
            },
            "Mounts": recorded.get("Mounts").cloned().unwrap_or_else(|| json!([])),
            "Config": recorded["Config"],
            "NetworkSettings": self.network_settings(&c.id, running)?,
        });
        // Docker omits these when empty.
        for key in ["Mounts", "Tmpfs"] {
            let v = &recorded["HostConfig"][key];
            if !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()) {
                out["HostConfig"][key] = v.clone();
            }
        }
        Ok(out)
    }
}
