//! The per-container monitor process (conmon's role).
//!
//! `wharf monitor <id>` runs one of these per running container, detached
//! from the CLI (its own session). It is single-threaded on purpose:
//! libcontainer forks, which is only safe without other threads. It mounts
//! the rootfs, starts the container with pipes as stdio (never /dev/null:
//! libcontainer reopens stdio), tells the CLI through a ready pipe whether
//! the start worked, copies output into the json-file log (and to its own
//! stdout/stderr when the CLI attached, and to `attach` clients on
//! `attach.sock`), reaps the exit status into the database and tears down
//! (cgroup, mount, and everything for `--rm`).

pub mod attach;
pub mod boundary;
mod cgroup_view;
mod executor;
pub mod health;
mod io;
mod layout;
pub mod lifetime;
mod process;
mod tty;

use std::fs::File;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use wharf_store::{containers, events, Ending, Store, Trashed};

pub use crate::spec::DEFAULT_CGROUP_PARENT;
pub use boundary::{HookError, MonitorArgs, Ready};
pub use cgroup_view::container_cgroup_dirs;
pub(crate) use executor::OrderedEnvExecutor;
pub use layout::ContainerDir;
pub use process::remove_leftover_cgroups as remove_cgroups;
pub(crate) use process::start_failure;
pub use process::{cgroup_dirs_at, leftover_cgroups, reap_children, remove_cgroup_dir};
pub use process::{pidfd_open, wait};
pub(crate) use tty::{console_socket, copy_size, receive_master};
pub use wharf_model::RestartPolicy;

/// What the engine does around each start of the container, in the
/// monitor: bring its network up before (and say which namespace it
/// joins), down after. Runs before libcontainer forks, single-threaded.
pub trait MonitorHooks {
    /// `Ok(Some(mode))` replaces the configured network mode for this start.
    fn before_start(
        &self,
        dir: &ContainerDir,
    ) -> Result<Option<crate::spec::NetworkMode>, HookError>;
    fn after_stop(&self, dir: &ContainerDir);
    /// `--rm`: the container's rows are about to be deleted, before
    /// `after_stop`; release what must not outlive them and keep what
    /// `after_stop` will need.
    fn before_removal(&self, _dir: &ContainerDir) {}
    /// After `before_start`: kernel work that may run in a forked process
    /// while libcontainer builds the container (no database, no threads
    /// left behind), finished before the container runs.
    fn take_wiring(&self) -> Option<Wiring> {
        None
    }
    /// After libcontainer has built the container, before it runs: wait
    /// for what `before_start` left under way (its network's rules).
    fn rules_in_force(&self) -> Result<(), HookError> {
        Ok(())
    }
    /// The restart policy now (`update --restart` changes it while the
    /// container runs); `None` keeps the one the monitor started with.
    fn restart_policy(&self, _dir: &ContainerDir) -> Option<RestartPolicy> {
        None
    }
    /// The cgroup limits now (`update` changes them while the container
    /// runs), for the next restart; `None` keeps the monitor's.
    fn resources(&self, _dir: &ContainerDir) -> Option<wharf_model::Resources> {
        None
    }
    /// The container is waiting out its restart back-off.
    fn restarting(&self, _dir: &ContainerDir, _restarts: u32) {}
    /// The container runs and whoever waited for its start was told:
    /// finish what the start left for later (helper processes to reap).
    fn started(&self, _dir: &ContainerDir) {}
    /// `--pid`/`--ipc container:<id>`: resolve `options`' other
    /// containers into the namespaces (and /dev/shm) to join at this
    /// start; `Ok(true)` when something was resolved.
    fn join_peers(&self, _options: &mut crate::spec::RunOptions) -> Result<bool, HookError> {
        Ok(false)
    }
}

/// See [`MonitorHooks::take_wiring`].
pub type Wiring = Box<dyn FnOnce() -> Result<(), String>>;

/// No hooks: the container's options alone.
pub struct NoHooks;

impl MonitorHooks for NoHooks {
    fn before_start(
        &self,
        _: &ContainerDir,
    ) -> Result<Option<crate::spec::NetworkMode>, HookError> {
        Ok(None)
    }
    fn after_stop(&self, _: &ContainerDir) {}
}

/// What the monitor runs: derived from the container's record by the
/// engine (`Engine::launch_config`), or, for a build step, which has no
/// record, read from the step's `step.json`. The OCI spec is built from it
/// at each start, with the rootfs mounted (as docker does): users, groups
/// and HOME come from the image's own /etc/passwd.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MonitorConfig {
    /// Image layer trees, top first.
    pub lowers: Vec<PathBuf>,
    /// `--rm`: remove the container when it exits.
    pub auto_remove: bool,
    pub name: String,
    /// The container's `Config`, merged with the image's at create (Env,
    /// Cmd, Entrypoint, WorkingDir, User ...).
    pub image: wharf_oci::ContainerConfig,
    pub options: crate::spec::RunOptions,
    /// Where containers' cgroups go (`/wharf`).
    pub cgroup_parent: String,
    #[serde(default)]
    pub restart: RestartPolicy,
    /// A build step's container: no database row, no log file; output
    /// goes to the attached builder only.
    #[serde(default)]
    pub ephemeral: bool,
    /// Volumes with driver options, mounted while the container runs.
    #[serde(default)]
    pub volume_mounts: Vec<wharf_model::VolumeMount>,
    /// Where its output is logged (`--log-driver`, `--log-opt`); `None`:
    /// nowhere (`none`, build steps).
    #[serde(default)]
    pub log: Option<crate::logs::LogOptions>,
}

impl MonitorConfig {
    /// A build step's `step.json`.
    pub fn load_step(dir: &ContainerDir) -> Result<MonitorConfig, crate::RuntimeError> {
        let path = dir.step_config();
        let bytes = std::fs::read(&path)
            .map_err(|e| crate::RuntimeError::io(format!("reading {}", path.display()), e))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            crate::RuntimeError::Unsupported(format!(
                "build step {} has an invalid record: {e}",
                dir.id
            ))
        })
    }

    /// Write a build step's `step.json`.
    pub fn save_step(&self, dir: &ContainerDir) -> Result<(), crate::RuntimeError> {
        let json = serde_json::to_vec(self)
            .map_err(|e| crate::RuntimeError::Unsupported(e.to_string()))?;
        // It holds the env (`ENV`, build args): 0600.
        wharf_store::private::write_private(&dir.step_config(), &json)
            .map_err(|e| crate::RuntimeError::io("writing step.json", e))
    }
}

fn now() -> String {
    wharf_oci::config::format_time(chrono::Utc::now())
}

/// Run the monitor for container `id` with `config`; returns the exit code
/// the monitor process should exit with (the container's, or docker's
/// 125/126/127 when it could not start). `ready` gets one [`Ready`]
/// message: started, or failed. `warmed`: the cgroup warm-up for the
/// first start is under way (`run`'s spawn of this monitor started it).
pub fn run(
    store: &Store,
    id: &str,
    mut config: MonitorConfig,
    attach: Option<&str>,
    mut ready: Option<File>,
    hooks: &dyn MonitorHooks,
    warmed: bool,
) -> i32 {
    // Orphaned container processes are reparented to us, so we can reap them.
    // SAFETY: prctl with these arguments has no memory effects.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let dir = ContainerDir::new(store.root(), id);
    let mut restarts = 0;
    // The attached CLI's end of the ready pipe, while it waits.
    let mut lifeline = None;
    let cgroups = crate::spec::cgroups_path(&config.cgroup_parent, id);
    // `--rm`, unless a user's `restart` keeps the container (docker 20.10).
    let mut auto_remove = config.auto_remove;
    let code = loop {
        // A second warm-up right after the spawn's only costs (measured).
        if restarts > 0 || !warmed {
            crate::cgroup_warmup::start(Some(&cgroups));
        }
        // The rootfs and spec are made beside the network setup.
        let (mode, prepared) = std::thread::scope(|s| {
            let fs = s.spawn(|| process::prepare(&dir, &config));
            let mode = hooks.before_start(&dir);
            let prepared = fs.join().unwrap_or_else(|_| {
                Err(crate::RuntimeError::Unsupported(
                    "preparing the rootfs failed".into(),
                ))
            });
            (mode, prepared)
        });
        crate::timeline::mark("mon: network and rootfs ready");
        let started = mode
            .map_err(|e| crate::RuntimeError::Start {
                message: e.to_string(),
                code: 125,
            })
            .and_then(|mode| {
                let prepared = prepared?;
                let mut config = config.clone();
                let mut respec = mode.is_some();
                if let Some(mode) = mode {
                    config.options.network_mode = mode;
                }
                respec |= hooks.join_peers(&mut config.options).map_err(|e| {
                    crate::RuntimeError::Start {
                        message: e.to_string(),
                        code: 125,
                    }
                })?;
                process::start(&dir, &config, prepared, respec, attach.is_some(), hooks)
            });
        let code = match started {
            Err(e) => {
                let code = match &e {
                    crate::RuntimeError::Start { code, .. } => *code,
                    _ => 125,
                };
                let message = e.to_string();
                report(
                    &mut ready,
                    Ready::Failed {
                        code,
                        message: message.clone(),
                    },
                );
                process::teardown(&dir, false, &config.volume_mounts, &config.cgroup_parent);
                hooks.after_stop(&dir);
                if ready.is_some() || restarts == 0 {
                    // A first start that fails is the user's error, not a crash to retry.
                    drop(ready.take());
                    if !config.ephemeral {
                        record_exit(store, id, code, &message);
                    }
                    break code;
                }
                code
            }
            Ok(mut started) => {
                if !config.ephemeral {
                    let recorded = store.write(|tx| {
                        containers::set_running(
                            tx,
                            id,
                            started.pid,
                            std::process::id() as i32,
                            &now(),
                            wharf_model::Probe::from_config(&config.image).is_some(),
                            restarts,
                        )?;
                        // The attached CLI's `attach` comes before the start.
                        if attach.is_some() && restarts == 0 {
                            events::container(tx, id, "attach", &[])?;
                        }
                        events::container_started(tx, id)
                    });
                    if let Err(e) = recorded {
                        tracing::error!(error = %e, "recording the container as running");
                        // Being removed while it started (`container prune`
                        // beside `run`): it must not run on without a row.
                        let _ = nix::sys::signal::kill(
                            nix::unistd::Pid::from_raw(started.pid),
                            nix::sys::signal::Signal::SIGKILL,
                        );
                    }
                }
                crate::timeline::mark("mon: running recorded");
                report(&mut ready, Ready::Started);
                hooks.started(&dir);
                let attached = attach.map(|keys| io::Attached {
                    lifeline: ready.take(),
                    tty_input: config.options.interactive,
                    detach_keys: crate::term::parse_detach_keys(keys)
                        .unwrap_or_else(|_| crate::term::DEFAULT_DETACH_KEYS.to_vec()),
                });
                drop(ready.take());
                let log = config
                    .log
                    .as_ref()
                    .filter(|_| !config.ephemeral)
                    .map(|o| (dir.log_file(o.format), o));
                let checker = if config.ephemeral {
                    None
                } else {
                    health::Checker::new(store.root(), id, &config.image)
                };
                let kept = io::copy_output(
                    &mut started,
                    log.as_ref().map(|(p, o)| (p.as_path(), *o)),
                    attached,
                    store,
                    checker,
                );
                // Only the first start has the CLI's pipe.
                lifeline = lifeline.or(kept);
                crate::timeline::mark("mon: output ended");
                let code = process::wait_reaping(started.pid);
                crate::timeline::mark("mon: reaped");
                // Killed by the kernel's OOM killer: docker's `oom` event
                // before the `die` (only a SIGKILL can be one).
                if code == 137 && !config.ephemeral && process::oom_killed(&cgroups) {
                    let recorded = store.write(|tx| {
                        containers::set_oom_killed(tx, id)?;
                        events::container(tx, id, "oom", &[])
                    });
                    if let Err(e) = recorded {
                        tracing::error!(error = %e, "recording the OOM kill");
                    }
                }
                auto_remove = config.auto_remove && !dir.restart_requested().exists();
                if auto_remove {
                    // `--rm` never restarts (the CLI refuses the pair).
                    let gone = Removal {
                        ending: Ending::Died(code),
                        volumes: true,
                    };
                    remove_exited(store, &dir, hooks, lifeline, code, gone, &config);
                    return code;
                }
                // A stop for a removal (`compose down`): the
                // rows go now and the teardown follows them, as for
                // `--rm`, so the stopping command need not wait for it.
                if let Some(volumes) = removal_requested(&dir).filter(|_| !config.ephemeral) {
                    let gone = Removal {
                        ending: Ending::Stopped(code),
                        volumes,
                    };
                    remove_exited(store, &dir, hooks, lifeline, code, gone, &config);
                    return code;
                }
                if !config.ephemeral && !will_restart(hooks, &dir, &config, code, restarts) {
                    // The network now: its ports and addresses are free
                    // when the stop returns, as docker's are. The rootfs
                    // and cgroups once the exit is recorded: whoever
                    // needs them whole again waits for this process
                    // (see `lifetime`).
                    hooks.after_stop(&dir);
                    crate::timeline::mark("mon: network down");
                    record_exit(store, id, code, "");
                    process::teardown(&dir, true, &config.volume_mounts, &config.cgroup_parent);
                    crate::timeline::mark("mon: torn down");
                    break code;
                }
                // The rootfs and cgroups beside the network (whose nft
                // run is the longest part): the next run needs both. The
                // thread is gone before anything forks again.
                std::thread::scope(|s| {
                    s.spawn(|| {
                        process::teardown(&dir, true, &config.volume_mounts, &config.cgroup_parent)
                    });
                    hooks.after_stop(&dir);
                });
                crate::timeline::mark("mon: torn down");
                code
            }
        };
        if config.ephemeral {
            break code;
        }
        // Asked again: a stop that came during the teardown ends it here.
        if !will_restart(hooks, &dir, &config, code, restarts) {
            record_exit(store, id, code, "");
            break code;
        }
        // docker shows the container `restarting` through the back-off.
        restarts += 1;
        if let Err(e) = store.write(|tx| {
            containers::set_restarting(tx, id, code, &now(), restarts)?;
            events::container_died(tx, id, code)
        }) {
            tracing::error!(error = %e, "recording the restart");
        }
        hooks.restarting(&dir, restarts);
        std::thread::sleep(RestartPolicy::backoff(restarts - 1));
        if let Some(r) = hooks.resources(&dir) {
            config.options.resources = r;
        }
        if dir.stop_requested().exists() {
            let _ = store.write(|tx| containers::set_exited(tx, id, code, "", &now()));
            break code;
        }
    };
    // `run --rm` takes the anonymous volumes along, as docker does.
    let trashed = auto_remove.then(|| {
        remove(
            store,
            &dir,
            true,
            &config.volume_mounts,
            &config.cgroup_parent,
        )
    });
    // The container is gone as far as anyone can see: the attached CLI
    // may exit with its code now, rather than when this process has freed
    // all it holds.
    tell_exit(lifeline, code);
    if let Some(t) = trashed {
        t.delete();
    }
    code
}

/// Whether the container restarts after a run that ended with `code`:
/// its restart policy now (`update --restart` changes it while it runs),
/// unless a user stopped it.
fn will_restart(
    hooks: &dyn MonitorHooks,
    dir: &ContainerDir,
    config: &MonitorConfig,
    code: i32,
    restarts: u32,
) -> bool {
    let policy = hooks.restart_policy(dir).unwrap_or(config.restart);
    policy.should_restart(code, restarts, dir.stop_requested().exists())
}

/// Run only when the CPU would otherwise idle (SCHED_IDLE).
fn background() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: sched_setscheduler on ourselves with a valid parameter.
    unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
}

/// Give the attached CLI the container's exit code (it exits with it).
fn tell_exit(lifeline: Option<File>, code: i32) {
    if let Some(mut l) = lifeline {
        io::release_stdio();
        Ready::Exited(code).send(&mut l);
    }
}

/// Whether a user's stop asked for the container's removal at its exit
/// (see [`ContainerDir::remove_requested`]); with its anonymous volumes?
fn removal_requested(dir: &ContainerDir) -> Option<bool> {
    let said = std::fs::read(dir.remove_requested()).ok()?;
    Some(said == b"volumes")
}

/// How [`remove_exited`] removes: the events before the `destroy`, and
/// whether the anonymous volumes go.
struct Removal {
    ending: Ending,
    volumes: bool,
}

/// `--rm` (or a stop for a removal) after the container exited: its rows
/// go (its port reservations first), and with them everything `wharf`
/// shows of it (name, `ps -a`, `inspect`, its address); the attached CLI
/// (or the stopping command) returns then. Its network namespace, rootfs
/// mount, cgroups and files, which no wharf command sees, are released
/// after that, by this process alone: nobody waits for the kernel to tear
/// them down.
fn remove_exited(
    store: &Store,
    dir: &ContainerDir,
    hooks: &dyn MonitorHooks,
    lifeline: Option<File>,
    code: i32,
    how: Removal,
    config: &MonitorConfig,
) {
    hooks.before_removal(dir);
    if let Err(e) = store.remove_container_rows(&dir.id, how.volumes, how.ending) {
        tracing::error!(error = %e, "removing the container's row");
    }
    crate::timeline::mark("mon: rows removed");
    tell_exit(lifeline, code);
    crate::timeline::mark("mon: exit told");
    hooks.after_stop(dir);
    crate::timeline::mark("mon: network down");
    // What is left is nobody's wait: it yields the CPU to anything else
    // (the user's next command).
    background();
    process::teardown(dir, true, &config.volume_mounts, &config.cgroup_parent);
    crate::timeline::mark("mon: torn down");
    store.trash_tree(&dir.path).delete();
    crate::timeline::mark("mon: files deleted");
}

/// The container's exit (or failed start, with `error`: no `die`, as
/// docker) into its record.
fn record_exit(store: &Store, id: &str, code: i32, error: &str) {
    let recorded = store.write(|tx| {
        containers::set_exited(tx, id, code, error, &now())?;
        if error.is_empty() {
            events::container_died(tx, id, code)?;
        }
        Ok(())
    });
    if let Err(e) = recorded {
        tracing::error!(error = %e, "recording the container's exit");
    }
    crate::timeline::mark("mon: exit recorded");
}

fn report(ready: &mut Option<File>, message: Ready) {
    if let Some(f) = ready.as_mut() {
        message.send(f);
    }
}

/// Remove a stopped container's files and row (tearing down what a killed
/// monitor could not: libcontainer state, cgroup, rootfs mount); with
/// `volumes`, also the volumes it mounted anonymously and nobody else uses.
/// `cgroup_parent`: where its cgroups are. The files are moved out of
/// sight; the caller deletes them.
pub fn remove(
    store: &Store,
    dir: &ContainerDir,
    volumes: bool,
    volume_mounts: &[wharf_model::VolumeMount],
    cgroup_parent: &str,
) -> Trashed {
    process::teardown(dir, false, volume_mounts, cgroup_parent);
    let trashed = store.trash_tree(&dir.path);
    // `rm` killed with the files gone and the row still there.
    wharf_failpoint::hit("container-rm-mid");
    if let Err(e) = store.remove_container_rows(&dir.id, volumes, Ending::Removed) {
        tracing::error!(error = %e, "removing the container's row");
    }
    trashed
}
