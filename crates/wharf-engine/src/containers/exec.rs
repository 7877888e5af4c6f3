//! `docker exec`.

use wharf_runtime::monitor::ContainerDir;

use crate::{Engine, EngineError, EngineResult};

impl Engine {
    /// `docker exec`: the process's exit code. A stopped container is
    /// docker's exit code 1, a command that cannot run 126. `warm`: a
    /// cgroup warm-up the caller started, let go once the process runs.
    pub fn exec_container(
        &self,
        name: &str,
        req: &wharf_runtime::exec::ExecRequest,
        warm: Option<wharf_runtime::cgroup_warmup::Held>,
    ) -> EngineResult<i32> {
        let c = self.refresh(self.find_container(name)?)?;
        wharf_runtime::timeline::mark("exec: found");
        if !c.state.status.is_running() {
            return Err(EngineError::Start {
                message: format!("Container {} is not running", c.id),
                code: 1,
            });
        }
        let dir = ContainerDir::new(self.store.root(), &c.id);
        // docker's exec events: `exec_create: CMD ARGS`, `exec_start: ...`,
        // then `exec_die` with the exit code, all naming the exec.
        let exec_id = super::names::new_id();
        let (first, rest) = req
            .args
            .split_first()
            .map_or(("", &[][..]), |(f, r)| (f.as_str(), r));
        let command = format!("{first} {}", rest.join(" "));
        // One transaction for both (a commit each cost ~0.2 ms).
        let exec_attr = [("execID", exec_id.clone())];
        self.store.write(|tx| {
            for what in ["exec_create", "exec_start"] {
                wharf_store::events::container(
                    tx,
                    &c.id,
                    &format!("{what}: {command}"),
                    &exec_attr,
                )?;
            }
            Ok(())
        })?;
        wharf_runtime::timeline::mark("exec: events");
        let code = wharf_runtime::exec::exec(&dir, req, warm).map_err(|e| match e {
            wharf_runtime::RuntimeError::Start { message, code } => {
                EngineError::Start { message, code }
            }
            other => EngineError::Invalid(other.to_string()),
        });
        wharf_runtime::timeline::mark("exec: process done");
        if !req.detach {
            let exit = match &code {
                Ok(c) => *c,
                Err(e) => e.exit_code(),
            };
            self.container_event(
                &c.id,
                "exec_die",
                &[("execID", exec_id), ("exitCode", exit.to_string())],
            )?;
        }
        code
    }
}
