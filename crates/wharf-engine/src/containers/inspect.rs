//! `docker container inspect`: the container as docker's API returns it,
//! derived from its record.

use std::collections::BTreeMap;

use wharf_model::{ContainerInspect, GraphDriver};
use wharf_runtime::monitor::ContainerDir;

use crate::{Engine, EngineResult};

impl Engine {
    pub fn inspect_container(&self, name: &str) -> EngineResult<ContainerInspect> {
        let c = self.refresh(self.find_container(name)?)?;
        let dir = ContainerDir::new(self.store.root(), &c.id);
        let d = &c.definition;
        let (path, args) = d.command();
        let lowers = self
            .container_lowers(&c)
            .iter()
            .map(|l| l.display().to_string())
            .collect::<Vec<_>>()
            .join(":");
        let graph = BTreeMap::from([
            ("LowerDir".to_string(), lowers),
            ("MergedDir".into(), dir.rootfs().display().to_string()),
            ("UpperDir".into(), dir.upper().display().to_string()),
            ("WorkDir".into(), dir.work().display().to_string()),
        ]);
        Ok(ContainerInspect {
            id: c.id.clone(),
            created: c.created.clone(),
            path,
            args,
            state: c.state.view(),
            image: c.image_id.to_string(),
            resolv_conf_path: dir.resolv_conf().display().to_string(),
            hostname_path: dir.hostname().display().to_string(),
            hosts_path: dir.hosts().display().to_string(),
            log_path: self.inspect_log_path(&c),
            name: format!("/{}", c.name),
            restart_count: c.state.restart_count,
            driver: "overlay2".into(),
            platform: "linux".into(),
            mount_label: String::new(),
            process_label: String::new(),
            app_armor_profile: String::new(),
            exec_ids: None,
            host_config: d.host_config.clone(),
            graph_driver: GraphDriver {
                data: graph,
                name: "overlay2".into(),
            },
            size_rw: None,
            size_root_fs: None,
            mounts: d.mounts.clone(),
            config: d.config.clone(),
            network_settings: self.network_settings(&c)?,
        })
    }
}
