//! `docker exec`.

use wharf_runtime::monitor::ContainerDir;

use crate::{Engine, EngineError, EngineResult};

impl Engine {
    /// `docker exec`: the process's exit code. A stopped container is
    /// docker's exit code 1, a command that cannot run 126.
    pub fn exec_container(
        &self,
        name: &str,
        req: &wharf_runtime::exec::ExecRequest,
    ) -> EngineResult<i32> {
        let c = self.refresh(self.find_container(name)?)?;
        if !c.state.status.is_running() {
            return Err(EngineError::Start {
                message: format!("Container {} is not running", c.id),
                code: 1,
            });
        }
        let dir = ContainerDir::new(self.store.root(), &c.id);
        wharf_runtime::exec::exec(&dir, req).map_err(|e| match e {
            wharf_runtime::RuntimeError::Start { message, code } => {
                EngineError::Start { message, code }
            }
            other => EngineError::Invalid(other.to_string()),
        })
    }
}
