//! Where a container's files live under the store root.

use std::path::{Path, PathBuf};

/// `containers/<id>/`: the OCI bundle and everything else of one container.
#[derive(Debug, Clone)]
pub struct ContainerDir {
    pub id: String,
    pub path: PathBuf,
}

impl ContainerDir {
    pub fn new(store_root: &Path, id: &str) -> ContainerDir {
        ContainerDir {
            id: id.to_string(),
            path: store_root.join("containers").join(id),
        }
    }
    /// The root of the store this container is in.
    pub fn store_root(&self) -> &Path {
        self.path
            .parent()
            .and_then(Path::parent)
            .unwrap_or(Path::new("/"))
    }
    /// The OCI bundle: `config.json` and `rootfs/`.
    pub fn bundle(&self) -> &Path {
        &self.path
    }
    pub fn spec(&self) -> PathBuf {
        self.path.join("config.json")
    }
    pub fn rootfs(&self) -> PathBuf {
        self.path.join("rootfs")
    }
    pub fn upper(&self) -> PathBuf {
        self.path.join("upper")
    }
    pub fn work(&self) -> PathBuf {
        self.path.join("work")
    }
    /// An empty lower dir for images without layers.
    pub fn empty(&self) -> PathBuf {
        self.path.join("empty")
    }
    pub fn hostname(&self) -> PathBuf {
        self.path.join("hostname")
    }
    pub fn hosts(&self) -> PathBuf {
        self.path.join("hosts")
    }
    pub fn resolv_conf(&self) -> PathBuf {
        self.path.join("resolv.conf")
    }
    pub fn log(&self) -> PathBuf {
        self.path.join(format!("{}-json.log", self.id))
    }
    /// The log in `format`: the json-file one, or `local`'s
    /// `local-logs/container.log`.
    pub fn log_file(&self, format: crate::logs::LogFormat) -> PathBuf {
        match format {
            crate::logs::LogFormat::JsonFile => self.log(),
            crate::logs::LogFormat::Local => self.path.join("local-logs").join("container.log"),
        }
    }
    /// libcontainer's state directory.
    pub fn runtime_state(&self) -> PathBuf {
        self.path.join("runtime")
    }
    /// Present while a user's `stop`/`rm` is in progress: no restart.
    pub fn stop_requested(&self) -> PathBuf {
        self.path.join("stop-requested")
    }
    /// Present while a user's stop that removes the container (`compose
    /// down`) is in progress: the monitor removes it at its exit,
    /// as it does a `--rm` one. Holds `volumes` when its anonymous volumes
    /// go too.
    pub fn remove_requested(&self) -> PathBuf {
        self.path.join("remove-requested")
    }
    /// Present while a user's `restart` of a `--rm` container is in
    /// progress: its exit does not remove it.
    pub fn restart_requested(&self) -> PathBuf {
        self.path.join("restart-requested")
    }
    /// Locked by the container's monitor for as long as it lives (see
    /// [`super::lifetime`]).
    pub fn monitor_lock(&self) -> PathBuf {
        self.path.join("monitor.lock")
    }
    /// Where the monitor serves `attach` while the container runs.
    pub fn attach_socket(&self) -> PathBuf {
        self.path.join("attach.sock")
    }
    /// The container's /sys/fs/cgroup while it starts on a v1 host.
    pub fn cgroup_view(&self) -> PathBuf {
        self.path.join("cgroup")
    }
    /// A build step's launch record (containers have theirs in the store).
    pub fn step_config(&self) -> PathBuf {
        self.path.join("step.json")
    }
    /// Where an older wharf kept what a container was made from (read once
    /// to upgrade the container's record).
    pub fn legacy_monitor_config(&self) -> PathBuf {
        self.path.join("monitor.json")
    }
    /// The container's network namespace, bind-mounted while it runs.
    pub fn netns(&self) -> PathBuf {
        self.path.join("netns")
    }
    /// `--ipc shareable`'s /dev/shm, a tmpfs mounted while it runs.
    pub fn shm(&self) -> PathBuf {
        self.path.join("shm")
    }
    /// The files the spec bind-mounts into the container.
    pub fn paths(&self) -> crate::spec::ContainerPaths {
        crate::spec::ContainerPaths {
            rootfs: self.rootfs(),
            hostname_file: self.hostname(),
            hosts_file: self.hosts(),
            resolv_conf: self.resolv_conf(),
            shm_dir: None,
            cgroup_view: None,
        }
    }
}
