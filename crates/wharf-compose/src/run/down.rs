//! `down`: the project's containers stopped and removed in reverse
//! dependency order, then its networks, and with `-v` its volumes, with
//! `--rmi` its images (Compose's `down`).

use std::collections::BTreeSet;

use super::convert::image_name;
use super::order::dependency_levels;
use super::progress::{Progress, Status};
use super::resources::warn;
use super::state::{OneOff, ProjectContainer};
use super::{RunError, RunResult, Runtime};
use wharf_engine::containers::Stopping;

/// A stop prepared (`None`: nothing to stop) and whether its signal was
/// delivered.
type Begun = (RunResult<Option<Stopping>>, RunResult<()>);

/// `down`'s flags.
#[derive(Debug, Clone, Default)]
pub struct DownOptions {
    pub volumes: bool,
    /// `--rmi local|all`.
    pub images: Option<String>,
    pub remove_orphans: bool,
    pub timeout: Option<u64>,
    /// Services named on the command line (empty: all).
    pub services: Vec<String>,
}

impl Runtime<'_> {
    /// Stop a container, reporting it (`stopContainer`); `removal`: its
    /// monitor removes it as it exits, with its anonymous volumes if
    /// `Some(true)` (see `Engine::prepare_stop`).
    pub(crate) fn stop_one(
        &self,
        c: &ProjectContainer,
        timeout: Option<u64>,
        removal: Option<bool>,
        progress: &dyn Progress,
    ) -> RunResult<()> {
        let (stopping, signalled) = self.begin_stop(c, timeout, removal, progress);
        self.finish_stop(c, stopping?, signalled, progress)
    }

    /// A stop prepared and signalled, as [`Runtime::stop_one`] begins it.
    fn begin_stop(
        &self,
        c: &ProjectContainer,
        timeout: Option<u64>,
        removal: Option<bool>,
        progress: &dyn Progress,
    ) -> Begun {
        let stopping = self.prepare_stop(c, timeout, removal, progress);
        let signalled = match &stopping {
            Ok(s) => self.signal(c, s.as_ref(), progress),
            Err(_) => Ok(()),
        };
        (stopping, signalled)
    }

    /// The first part of [`Runtime::stop_one`], reported: `None` when
    /// there is nothing to stop (not running, or already removed at an
    /// exit of its own).
    fn prepare_stop(
        &self,
        c: &ProjectContainer,
        timeout: Option<u64>,
        removal: Option<bool>,
        progress: &dyn Progress,
    ) -> RunResult<Option<Stopping>> {
        progress.event(&c.event_id(), Status::Working, "Stopping");
        match self.engine.prepare_stop(c.id(), timeout, None, removal) {
            Ok(s) => Ok(s),
            // Removed at its exit (a stop for removal) before the stop
            // found it: it exited on its own meanwhile.
            Err(e) if e.kind() == wharf_oci::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(stop_failed(c, e.into(), progress)),
        }
    }

    /// Signal one prepared stop (see [`Runtime::signal_wave`] for several).
    fn signal(
        &self,
        c: &ProjectContainer,
        stopping: Option<&Stopping>,
        progress: &dyn Progress,
    ) -> RunResult<()> {
        let Some(s) = stopping else { return Ok(()) };
        let delivered = self
            .engine
            .signal_stops(&[s])
            .map_err(|e| stop_failed(c, e.into(), progress))?;
        for d in delivered {
            d.map_err(|e| stop_failed(c, e.into(), progress))?;
        }
        Ok(())
    }

    /// Signal the prepared stops of a wave together (one write for their
    /// events, see `Engine::prepare_stop`): each one's outcome, in order.
    /// Err: that write failed, nothing was signalled.
    fn signal_wave(
        &self,
        wave: &[(&ProjectContainer, RunResult<Option<Stopping>>)],
        progress: &dyn Progress,
    ) -> RunResult<Vec<RunResult<()>>> {
        let ready: Vec<&Stopping> = wave
            .iter()
            .filter_map(|(_, s)| s.as_ref().ok().and_then(Option::as_ref))
            .collect();
        let mut delivered = match self.engine.signal_stops(&ready) {
            Ok(d) => d.into_iter(),
            Err(e) => {
                for (c, _) in wave {
                    progress.event(&c.event_id(), Status::Error, "Error while Stopping");
                }
                return Err(e.into());
            }
        };
        Ok(wave
            .iter()
            .map(|(c, s)| match s {
                Ok(Some(_)) => match delivered.next() {
                    Some(Err(e)) => Err(stop_failed(c, e.into(), progress)),
                    _ => Ok(()),
                },
                _ => Ok(()),
            })
            .collect())
    }

    /// The last part of [`Runtime::stop_one`]: wait for the stop, reported.
    fn finish_stop(
        &self,
        c: &ProjectContainer,
        stopping: Option<Stopping>,
        signalled: RunResult<()>,
        progress: &dyn Progress,
    ) -> RunResult<()> {
        signalled?;
        if let Some(s) = stopping {
            match self.engine.finish_stop(s) {
                Err(e) if e.kind() == wharf_oci::ErrorKind::NotFound => {}
                Err(e) => return Err(stop_failed(c, e.into(), progress)),
                Ok(()) => {}
            }
        }
        progress.event(&c.event_id(), Status::Done, "Stopped");
        Ok(())
    }

    /// Stop and remove a container (`stopAndRemoveContainer`).
    pub(crate) fn stop_and_remove(
        &self,
        c: &ProjectContainer,
        timeout: Option<u64>,
        volumes: bool,
        progress: &dyn Progress,
    ) -> RunResult<()> {
        self.stop_one(c, timeout, None, progress)?;
        self.remove_one(c, volumes, progress)
    }

    /// Remove a stopped container, reporting it.
    fn remove_one(
        &self,
        c: &ProjectContainer,
        volumes: bool,
        progress: &dyn Progress,
    ) -> RunResult<()> {
        let event = c.event_id();
        progress.event(&event, Status::Working, "Removing");
        match self.engine.remove_container(c.id(), true, volumes) {
            Ok(_) => {}
            Err(e) if e.kind() == wharf_oci::ErrorKind::NotFound => {}
            Err(e) => {
                progress.event(&event, Status::Error, "Error while Removing");
                return Err(e.into());
            }
        }
        progress.event(&event, Status::Done, "Removed");
        Ok(())
    }

    /// Stop and remove `waves` of containers (`volumes`: with their
    /// anonymous volumes), in order: a wave is stopped once the one before
    /// has stopped (its exits recorded, so `docker events` shows each
    /// `die` before the next wave's `kill`), as Compose's reverse
    /// dependency order asks, but its removal does not wait (Compose
    /// removes a service's containers before it stops those of the next).
    /// Its monitor removes each as it exits: the next wave waits for the
    /// exits, not for the teardowns. Every container of
    /// a wave at once: prepared one after the other, then signalled
    /// together (under `--parallel N`, each once it has a place), each
    /// removed as soon as it has stopped. A stop that fails ends it after
    /// that wave (once all begun are done), as in Compose.
    fn stop_and_remove_waves(
        &self,
        waves: Vec<Vec<(&ProjectContainer, bool)>>,
        timeout: Option<u64>,
        progress: &dyn Progress,
    ) -> RunResult<()> {
        let permits = super::parallel::Permits::new();
        let permits = &permits;
        let together = permits.unlimited();
        std::thread::scope(|scope| {
            let mut handles = Vec::new();
            for wave in waves {
                let (stopped_tx, stopped) = std::sync::mpsc::channel();
                let items: Vec<(&ProjectContainer, bool, Option<Begun>)> = if together {
                    let prepared: Vec<_> = wave
                        .iter()
                        .map(|&(c, v)| (c, self.prepare_stop(c, timeout, Some(v), progress)))
                        .collect();
                    let signalled = self.signal_wave(&prepared, progress)?;
                    prepared
                        .into_iter()
                        .zip(signalled)
                        .zip(&wave)
                        .map(|(((c, s), sig), &(_, v))| (c, v, Some((s, sig))))
                        .collect()
                } else {
                    wave.iter().map(|&(c, v)| (c, v, None)).collect()
                };
                for (c, volumes, begun) in items {
                    let stopped_tx = stopped_tx.clone();
                    handles.push(scope.spawn(move || {
                        let _place = permits.take();
                        let (stopping, signalled) = match begun {
                            Some(b) => b,
                            None => self.begin_stop(c, timeout, Some(volumes), progress),
                        };
                        let result =
                            stopping.and_then(|s| self.finish_stop(c, s, signalled, progress));
                        let _ = stopped_tx.send(result.is_ok());
                        drop(stopped_tx);
                        result?;
                        self.remove_one(c, volumes, progress)
                    }));
                }
                drop(stopped_tx);
                wharf_runtime::timeline::mark("down: wave signalled");
                // Until every container of this wave has stopped (the
                // channel closes when the last one has said).
                if !stopped.iter().fold(true, |all, ok| all & ok) {
                    break;
                }
                wharf_runtime::timeline::mark("down: wave stopped");
            }
            let mut result = Ok(());
            for h in handles {
                let r = h
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                if result.is_ok() {
                    result = r;
                }
            }
            result
        })
    }

    /// `down`.
    pub fn down(&mut self, opts: &DownOptions, progress: &dyn Progress) -> RunResult<()> {
        let include = if opts.remove_orphans {
            OneOff::Include
        } else {
            OneOff::Exclude
        };
        let containers = self.containers(include)?;
        // Without a file: what the labels say the project is.
        if self.project.services.is_empty() {
            self.adopt_resources()?;
        }
        let order = self.ordering(&containers);
        // Compose's `checkSelectedServices`: known by name, a service
        // without containers may be gone already rather than misspelt.
        let mut selected: BTreeSet<&str> = BTreeSet::new();
        for s in &opts.services {
            if order.services.contains_key(s) {
                selected.insert(s);
            } else if !self.config_files.is_empty() {
                return Err(super::error::invalid(format!("no such service: {s}")));
            }
        }
        if !opts.services.is_empty() && selected.is_empty() {
            super::resources::info(&format!(
                "Any of the services [{}] not running in project {:?}",
                opts.services.join(" "),
                self.name()
            ));
            return Ok(());
        }
        let mut levels = dependency_levels(&order);
        levels.reverse();
        let mut waves: Vec<Vec<(&ProjectContainer, bool)>> = levels
            .iter()
            .map(|level| {
                containers
                    .iter()
                    .filter(|c| level.iter().any(|n| n == c.service()))
                    .filter(|c| selected.is_empty() || selected.contains(c.service()))
                    .map(|c| (c, opts.volumes))
                    .collect()
            })
            .collect();
        // Containers of services the file does not name (or all of them
        // when there is no file), last.
        let known = |c: &&ProjectContainer| order.services.contains_key(c.service());
        waves.push(
            containers
                .iter()
                .filter(|c| !known(c))
                .filter(|_| self.project.services.is_empty() || opts.remove_orphans)
                .map(|c| (c, false))
                .collect(),
        );
        waves.retain(|w| !w.is_empty());
        wharf_runtime::timeline::mark("down: start");
        self.stop_and_remove_waves(waves, opts.timeout, progress)?;
        wharf_runtime::timeline::mark("down: containers removed");
        if !opts.services.is_empty() {
            return Ok(());
        }
        let nothing = containers.is_empty()
            && self.project.networks.values().all(|n| n.external)
            && (opts.images.is_none())
            && (!opts.volumes || self.project.volumes.values().all(|v| v.external));
        self.remove_networks(progress)?;
        wharf_runtime::timeline::mark("down: networks removed");
        if let Some(mode) = &opts.images {
            self.remove_images(mode, progress)?;
        }
        if opts.volumes {
            self.remove_volumes(progress)?;
        }
        if nothing {
            warn(&format!(
                "Warning: No resource found to remove for project {:?}.",
                self.name()
            ));
        }
        Ok(())
    }

    /// `down --rmi local|all`: the images the project's services use;
    /// `local` only those without a custom tag (built as `PROJECT-SERVICE`).
    fn remove_images(&self, mode: &str, progress: &dyn Progress) -> RunResult<()> {
        let mut names = BTreeSet::new();
        for (name, s) in &self.project.services {
            if mode == "local" && !s.image.is_empty() {
                continue;
            }
            names.insert(image_name(self.name(), name, s));
        }
        for image in names {
            let id = format!("Image {image}");
            if self.engine.resolve_image(&image).is_err() {
                continue;
            }
            progress.event(&id, Status::Working, "Removing");
            match self.engine.remove_image(&image, false) {
                Ok(_) => progress.event(&id, Status::Done, "Removed"),
                Err(e) if e.kind() == wharf_oci::ErrorKind::Conflict => {
                    progress.event(&id, Status::Warning, "Resource is still in use")
                }
                Err(e) if e.kind() == wharf_oci::ErrorKind::NotFound => {
                    progress.event(&id, Status::Done, "Warning: No resource found to remove")
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

/// Report a container's stop as failed; the error.
fn stop_failed(c: &ProjectContainer, e: RunError, progress: &dyn Progress) -> RunError {
    progress.event(&c.event_id(), Status::Error, "Error while Stopping");
    e
}
