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
        self.begin_stops(&[(c, removal)], timeout, progress)?
            .into_iter()
            .try_for_each(|begun| self.finish_stop(c, begun, progress))
    }

    /// Prepare the stops of `items` (each with its `removal`), reported,
    /// then signal those there are together: one write for their `kill`
    /// events (see `Engine::prepare_stop`). Each one's stop (`None`:
    /// nothing to stop, not running or already removed at an exit of its
    /// own) and delivery, in order. Err: that write failed, nothing was
    /// signalled.
    fn begin_stops(
        &self,
        items: &[(&ProjectContainer, Option<bool>)],
        timeout: Option<u64>,
        progress: &dyn Progress,
    ) -> RunResult<Vec<Begun>> {
        let prepared: Vec<RunResult<Option<Stopping>>> = items
            .iter()
            .map(|&(c, removal)| {
                progress.event(&c.event_id(), Status::Working, "Stopping");
                match self.engine.prepare_stop(c.id(), timeout, None, removal) {
                    Ok(s) => Ok(s),
                    // Removed at its exit (a stop for removal) before the
                    // stop found it: it exited on its own meanwhile.
                    Err(e) if e.kind() == wharf_oci::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(stop_failed(c, e.into(), progress)),
                }
            })
            .collect();
        let ready: Vec<&Stopping> = prepared
            .iter()
            .filter_map(|s| s.as_ref().ok().and_then(Option::as_ref))
            .collect();
        let mut delivered = match self.engine.signal_stops(&ready) {
            Ok(d) => d.into_iter(),
            Err(e) => {
                for (c, _) in items {
                    progress.event(&c.event_id(), Status::Error, "Error while Stopping");
                }
                return Err(e.into());
            }
        };
        Ok(prepared
            .into_iter()
            .zip(items)
            .map(|(stopping, &(c, _))| {
                // Deliveries come in the order of the stops there were.
                let delivery = match stopping {
                    Ok(Some(_)) => delivered.next(),
                    _ => None,
                };
                let signalled = match delivery {
                    Some(Err(e)) => Err(stop_failed(c, e.into(), progress)),
                    _ => Ok(()),
                };
                (stopping, signalled)
            })
            .collect())
    }

    /// The last part of [`Runtime::stop_one`]: wait for a begun stop,
    /// reported.
    fn finish_stop(
        &self,
        c: &ProjectContainer,
        (stopping, signalled): Begun,
        progress: &dyn Progress,
    ) -> RunResult<()> {
        let stopping = stopping?;
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
                // Signalled together here, or each by its own thread once
                // it has a place.
                let begun: Vec<Option<Begun>> = if together {
                    let items: Vec<_> = wave.iter().map(|&(c, v)| (c, Some(v))).collect();
                    self.begin_stops(&items, timeout, progress)?
                        .into_iter()
                        .map(Some)
                        .collect()
                } else {
                    wave.iter().map(|_| None).collect()
                };
                for (&(c, volumes), begun) in wave.iter().zip(begun) {
                    let stopped_tx = stopped_tx.clone();
                    handles.push(scope.spawn(move || {
                        let _place = permits.take();
                        let result = match begun {
                            Some(b) => self.finish_stop(c, b, progress),
                            None => self.stop_one(c, timeout, Some(volumes), progress),
                        };
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
