use std::fs;
use std::path::Path;

use nix::unistd::Pid;

use crate::common::{self, CGROUP_PROCS, ControllerOpt, WrapIoResult, WrappedIoError};

pub(super) trait Controller {
    type Error: From<WrappedIoError>;
    type Resource;

    /// Adds a new task specified by its pid to the cgroup
    fn add_task(pid: Pid, cgroup_path: &Path) -> Result<(), Self::Error> {
        fs::create_dir_all(cgroup_path).wrap_create_dir(cgroup_path)?;
        write_task(pid, cgroup_path)?;
        Ok(())
    }

    /// Applies resource restrictions to the cgroup
    fn apply(controller_opt: &ControllerOpt, cgroup_root: &Path) -> Result<(), Self::Error>;

    /// Checks if the controller needs to handle this request
    fn needs_to_handle<'a>(controller_opt: &'a ControllerOpt) -> Option<&'a Self::Resource>;
}

// wharf: a process that moves itself, single-threaded (libcontainer's
// intermediate process, which joins the container's cgroups for itself and
// the init or exec'd process it forks), writes "0" to each hierarchy's
// `tasks` file instead of its pid to `cgroup.procs`. The kernel then moves
// the one thread without taking cgroup_threadgroup_rwsem for writing
// (`cgroup_procs_write_start`: only a pid or a whole threadgroup needs it),
// and that lock's first writer after a quiet moment waits out an RCU grace
// period: 6-10 ms measured on this host (Linux 6.18, cgroup v1), up to
// 20 ms under load, on the critical path of every start and `exec`. The
// move is the same: the thread is the whole process.
//
// `Manager::add_task` decides once for all hierarchies (`own_thread`); pid
// 0 then stands for "this thread" down here.

/// wharf: pid 0 (this thread) when `pid` is this process and it has one
/// thread (`Threads:` in its status), else `pid`.
pub(super) fn own_thread(pid: Pid) -> Pid {
    let single = || {
        fs::read_to_string("/proc/self/status").is_ok_and(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .is_some_and(|n| n.trim() == "1")
        })
    };
    if pid == nix::unistd::getpid() && single() {
        Pid::from_raw(0)
    } else {
        pid
    }
}

/// wharf: add `pid` to the cgroup; pid 0 (see [`own_thread`]) through
/// `tasks`.
pub(super) fn write_task(pid: Pid, cgroup_path: &Path) -> Result<(), WrappedIoError> {
    if pid.as_raw() == 0 {
        return common::write_cgroup_file(cgroup_path.join("tasks"), 0);
    }
    common::write_cgroup_file(cgroup_path.join(CGROUP_PROCS), pid)
}
