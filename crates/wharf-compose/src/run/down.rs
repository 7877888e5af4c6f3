//! `down`: the project's containers stopped and removed in reverse
//! dependency order, then its networks, and with `-v` its volumes, with
//! `--rmi` its images (Compose's `down`).

use std::collections::BTreeSet;

use super::convert::image_name;
use super::order::dependency_levels;
use super::progress::{Progress, Status};
use super::resources::warn;
use super::state::{OneOff, ProjectContainer};
use super::{RunResult, Runtime};

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
    /// `Some(true)` (see `Engine::stop_for_removal`).
    pub(crate) fn stop_one(
        &self,
        c: &ProjectContainer,
        timeout: Option<u64>,
        removal: Option<bool>,
        progress: &dyn Progress,
    ) -> RunResult<()> {
        let event = c.event_id();
        progress.event(&event, Status::Working, "Stopping");
        let stopped = match removal {
            Some(volumes) => self.engine.stop_for_removal(c.id(), timeout, volumes),
            None => self.engine.stop_container(c.id(), timeout, None),
        };
        match stopped {
            // Removed at its exit (a stop for removal) before the stop
            // found it: it exited on its own meanwhile.
            Err(e) if e.kind() == wharf_oci::ErrorKind::NotFound => {}
            Err(e) => {
                progress.event(&event, Status::Error, "Error while Stopping");
                return Err(e.into());
            }
            Ok(()) => {}
        }
        progress.event(&event, Status::Done, "Stopped");
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
    /// anonymous volumes), in order: a wave is stopped once the one
    /// before has stopped, as Compose's reverse dependency order asks, but
    /// its removal does not wait (Compose removes a service's containers
    /// before it stops those of the next). Every container of a wave at
    /// once, each removed as soon as it has stopped. A stop that fails
    /// ends it after that wave (once all begun are done), as in Compose.
    fn stop_and_remove_waves(
        &self,
        waves: Vec<Vec<(&ProjectContainer, bool)>>,
        timeout: Option<u64>,
        progress: &dyn Progress,
    ) -> RunResult<()> {
        let permits = super::parallel::Permits::new();
        let permits = &permits;
        std::thread::scope(|scope| {
            let mut handles = Vec::new();
            for wave in waves {
                let (stopped_tx, stopped) = std::sync::mpsc::channel();
                for (c, volumes) in wave {
                    let stopped_tx = stopped_tx.clone();
                    handles.push(scope.spawn(move || {
                        let _place = permits.take();
                        // Its monitor removes it as it exits: the next wave
                        // waits for the exit, not for the teardown.
                        let result = self.stop_one(c, timeout, Some(volumes), progress);
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
