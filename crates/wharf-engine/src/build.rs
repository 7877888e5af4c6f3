//! `docker build` and `docker builder prune`: the builder (wharf-build)
//! with the engine as its host — base images from the store, RUN steps in
//! containers run by a monitor like any other (but with no database row
//! and no log: `ephemeral`), their files removed when the step is done;
//! a step on the default bridge has an endpoint of its own (see
//! `wharf_network`'s `step`).

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use wharf_build::{
    BuildError, BuildHost, BuildOutcome, BuildRequest, Progress, RunOutput, RunStep, StepNetwork,
};
use wharf_oci::{Digest, ErrorKind};
use wharf_runtime::monitor::{ContainerDir, MonitorConfig};
use wharf_runtime::spec::{NetworkMode, RunOptions};

use crate::containers::start::MonitorStdio;
use crate::containers::{cgroup_parent_of, new_id};
use crate::{Engine, EngineError, EngineResult};

/// BuildKit's hostname for RUN steps.
const BUILD_HOSTNAME: &str = "buildkitsandbox";

impl Engine {
    pub fn build(
        &self,
        req: &BuildRequest,
        progress: &Progress,
    ) -> Result<BuildOutcome, BuildError> {
        self.sweep_orphan_steps();
        let host = Host {
            engine: self,
            cache_dir: self.root.join("cache").join("mounts"),
            options: &req.step_options,
        };
        let outcome = wharf_build::build(&self.store, &host, req, progress)?;
        // docker's builder reports a build as the tags it set.
        if !outcome.loaded {
            return Ok(outcome);
        }
        if let Err(e) = self.record_tags(&outcome.image_id, &req.tags) {
            tracing::warn!(error = %e, "recording the build's events");
        }
        Ok(outcome)
    }

    /// `builder prune`: returns how many cache entries went and the bytes
    /// freed.
    pub fn prune_build_cache(&self) -> EngineResult<(usize, u64)> {
        let n = wharf_build::prune_cache(&self.store)
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        let _ = fs::remove_dir_all(self.root.join("cache").join("mounts"));
        Ok(n)
    }
}

struct Host<'e> {
    engine: &'e Engine,
    cache_dir: PathBuf,
    /// `build`'s flags for every RUN step.
    options: &'e wharf_build::StepOptions,
}

fn host_error(e: EngineError) -> BuildError {
    BuildError::Host {
        message: e.to_string(),
        kind: e.kind(),
    }
}

/// Takes a build step off the default bridge (before its directory,
/// which holds the namespace, goes).
struct StepEndpoint<'e> {
    net: wharf_network::Networking<'e>,
    id: String,
    netns: PathBuf,
}

impl Drop for StepEndpoint<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.net.detach_step(&self.id, &self.netns) {
            tracing::warn!(error = %e, step = %self.id, "taking a build step off the network");
        }
    }
}

/// Removes a build step's container directory.
struct StepDir(PathBuf);

impl Drop for StepDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

impl BuildHost for Host<'_> {
    fn base_image(&self, name: &str, out: &mut dyn Write) -> Result<Digest, BuildError> {
        let found = match self.engine.resolve_image_reference(name) {
            // Not in the store: pull it, as BuildKit resolves FROM.
            Err(e) if e.kind() == ErrorKind::NotFound => {
                let _ = writeln!(out, "pulling {name}");
                self.engine.ensure_image(
                    name,
                    crate::registry::PullPolicy::Missing,
                    None,
                    &wharf_registry::progress::Silent,
                )
            }
            other => other,
        };
        found.map_err(|e| {
            let message = format!("failed to resolve source metadata for {name}: {e}");
            match e.kind() {
                ErrorKind::NotFound => BuildError::NotFound(message),
                kind => BuildError::Host { message, kind },
            }
        })
    }

    fn image_in_store(&self, name: &str) -> Option<Digest> {
        self.engine.resolve_image_reference(name).ok()
    }

    fn cache_mounts_dir(&self) -> &Path {
        &self.cache_dir
    }

    fn run(&self, step: &RunStep, out: &mut dyn Write) -> Result<RunOutput, BuildError> {
        let id = new_id();
        let dir = ContainerDir::new(self.engine.store.root(), &id);
        let guard = StepDir(dir.path.clone());
        let io = |what: &str, e| BuildError::io(format!("{what} for a build step"), e);
        for d in [dir.upper(), dir.work(), dir.rootfs(), dir.empty()] {
            fs::create_dir_all(&d).map_err(|e| io("creating directories", e))?;
        }
        let mut hosts = format!(
            "127.0.0.1\tlocalhost {BUILD_HOSTNAME}\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        );
        for (name, ip) in &self.options.extra_hosts {
            hosts.push_str(&format!("{ip}\t{name}\n"));
        }
        fs::write(dir.hosts(), hosts).map_err(|e| io("writing hosts", e))?;
        let host_resolv = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        // BuildKit's: the host's, but off the host's namespace without its
        // loopback servers (Google's if none is left).
        let resolv = match step.network {
            StepNetwork::Host => host_resolv,
            _ => wharf_network::files::resolv_conf(&host_resolv, &Default::default(), None),
        };
        fs::write(dir.resolv_conf(), resolv).map_err(|e| io("writing resolv.conf", e))?;
        // On the default bridge: the step's own namespace, veth and
        // address, made here (the step has no row for the monitor's hooks
        // to read) and released once it has exited.
        let (network_mode, endpoint) = match step.network {
            StepNetwork::Host => (NetworkMode::Host, None),
            StepNetwork::None => (NetworkMode::None, None),
            StepNetwork::Default => {
                let net = self.engine.networking().map_err(host_error)?;
                let netns = dir.netns();
                wharf_runtime::timeline::mark("build: step network");
                net.attach_step(&id, &netns)
                    .map_err(|e| host_error(e.into()))?;
                wharf_runtime::timeline::mark("build: step network up");
                let endpoint = StepEndpoint {
                    net,
                    id: id.clone(),
                    netns: netns.clone(),
                };
                (NetworkMode::Namespace(netns), Some(endpoint))
            }
        };
        let monitor = MonitorConfig {
            lowers: step.lowers.clone(),
            auto_remove: false,
            name: format!("build-{}", &id[..12]),
            image: step.config.clone(),
            options: RunOptions {
                cmd: Some(step.args.clone()),
                entrypoint: Some(Vec::new()),
                hostname: Some(BUILD_HOSTNAME.into()),
                network_mode,
                mounts: step.mounts.clone(),
                privileged: step.privileged,
                resources: self.options.resources.clone(),
                shm_size: (self.options.shm_size > 0).then_some(self.options.shm_size),
                ulimits: self.options.ulimits.clone(),
                supplementary_groups_only: true,
                no_hostname_file: true,
                ..Default::default()
            },
            cgroup_parent: cgroup_parent_of(&self.options.resources).to_string(),
            restart: Default::default(),
            ephemeral: true,
            volume_mounts: Vec::new(),
            log: None,
        };
        monitor
            .save_step(&dir)
            .map_err(|e| BuildError::StepFailed(e.to_string()))?;
        let mut spawned = self
            .engine
            .spawn_monitor(&id, MonitorStdio::Piped)
            .map_err(host_error)?;
        if let Err(said) = &spawned.ready {
            let _ = spawned.child.wait();
            let msg = match said {
                Some(wharf_runtime::monitor::Ready::Failed { message, .. }) => message.clone(),
                _ => "the build step's container did not start".into(),
            };
            return Err(BuildError::StepFailed(msg));
        }
        // The build killed while a RUN step's container runs.
        wharf_failpoint::hit("build-run-step");
        if let Some(mut pipe) = spawned.output.take() {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        let _ = out.write_all(&buf[..n]);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(io("reading step output", e)),
                }
            }
        }
        let exit_code = spawned
            .child
            .wait()
            .map_err(|e| io("waiting for the step", e))?;
        wharf_runtime::timeline::mark("build: step exited");
        drop(endpoint);
        wharf_runtime::timeline::mark("build: step network down");
        Ok(RunOutput {
            exit_code,
            upper: dir.upper(),
            cleanup: Box::new(guard),
        })
    }
}
