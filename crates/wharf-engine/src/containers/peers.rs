//! `--pid container:<id>` and `--ipc container:<id>`: at each start, the
//! other container's namespaces to join (it must be running) and, for
//! IPC, its /dev/shm (it must have one to share), with docker's messages
//! when it cannot be joined.

use std::path::PathBuf;

use wharf_runtime::monitor::{ContainerDir, HookError};
use wharf_runtime::spec::{IpcMode, Namespace, RunOptions};

use crate::Engine;

impl Engine {
    /// Resolve `options`' `container:` PID and IPC modes; `Ok(true)` when
    /// there were any.
    pub(crate) fn join_peers(&self, options: &mut RunOptions) -> Result<bool, HookError> {
        let mut joined = false;
        if let Namespace::Container(id) = &options.pid {
            // docker names only the cause here.
            let (pid, _) = self.running_peer(id).map_err(HookError::Peer)?;
            options.pid = Namespace::Join(format!("/proc/{pid}/ns/pid").into());
            joined = true;
        }
        if let IpcMode::Container(id) = &options.ipc {
            let failed =
                |why: String| HookError::Peer(format!("can't join IPC of container {id}: {why}"));
            let (pid, ipc_mode) = self.running_peer(id).map_err(failed)?;
            let shm: PathBuf =
                match ipc_mode.as_str() {
                    "shareable" => ContainerDir::new(self.store.root(), id).shm(),
                    "host" => "/dev/shm".into(),
                    _ => return Err(failed(
                        "non-shareable IPC (hint: use IpcMode:shareable for the donor container)"
                            .into(),
                    )),
                };
            options.ipc = IpcMode::Join {
                ns: format!("/proc/{pid}/ns/ipc").into(),
                shm,
            };
            joined = true;
        }
        Ok(joined)
    }

    /// The init PID and IPC mode of running (or paused) container `id`,
    /// or why not.
    fn running_peer(&self, id: &str) -> Result<(i32, String), String> {
        let c = self
            .find_container(id)
            .and_then(|c| self.refresh(c))
            .map_err(|e| e.to_string())?;
        let pid = c
            .state
            .pid
            .filter(|_| {
                matches!(
                    c.state.status,
                    wharf_model::Status::Running | wharf_model::Status::Paused
                )
            })
            .ok_or_else(|| format!("container {} is not running", c.id))?;
        Ok((pid, c.definition.host_config.ipc_mode.clone()))
    }
}
