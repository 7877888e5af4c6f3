//! The verbs that act on a project's existing containers: `stop`,
//! `kill`, `pause`, `unpause`, `restart`, `rm`, `start`, `wait`, each
//! with Compose's events and order (stops in reverse dependency order,
//! the containers of a service in parallel).

use super::error::invalid;
use super::order::dependency_levels;
use super::parallel::for_each;
use super::progress::{Progress, Status};
use super::state::{OneOff, ProjectContainer};
use super::{RunResult, Runtime};

impl Runtime<'_> {
    /// The containers of `services` (all when empty) that `keep` keeps, in
    /// dependency order, ungrouped.
    fn flat(
        &self,
        services: &[String],
        keep: impl Fn(&ProjectContainer) -> bool,
    ) -> RunResult<Vec<ProjectContainer>> {
        Ok(self
            .grouped(services, false)?
            .into_iter()
            .flatten()
            .flatten()
            .filter(|c| keep(c))
            .collect())
    }

    /// The running containers of `services` (all when empty), `run`'s
    /// one-off ones too.
    fn running_of(&self, services: &[String]) -> RunResult<Vec<ProjectContainer>> {
        Ok(self
            .containers(OneOff::Include)?
            .into_iter()
            .filter(|c| c.running() && c.of_any(services))
            .collect())
    }

    /// Services named on the command line must be the project's (a
    /// project known by name has no list to check them against).
    pub fn check_services(&self, services: &[String]) -> RunResult<()> {
        match services
            .iter()
            .find(|s| !self.project.services.is_empty() && !self.project.services.contains_key(*s))
        {
            Some(s) => Err(invalid(format!("no such service: {s}"))),
            None => Ok(()),
        }
    }

    /// The project's (non one-off) containers of `services` (all when
    /// empty), grouped in dependency levels of their services (known by
    /// name: those their labels record); reversed for stopping.
    fn grouped(
        &self,
        services: &[String],
        reverse: bool,
    ) -> RunResult<Vec<Vec<Vec<ProjectContainer>>>> {
        self.check_services(services)?;
        let all = self.containers(OneOff::Exclude)?;
        let mut levels = dependency_levels(&self.ordering(&all));
        if reverse {
            levels.reverse();
        }
        Ok(levels
            .into_iter()
            .map(|level| {
                level
                    .iter()
                    .map(|name| {
                        all.iter()
                            .filter(|c| c.service() == name && c.of_any(services))
                            .cloned()
                            .collect()
                    })
                    .collect()
            })
            .collect())
    }

    /// `stop`.
    pub fn stop(
        &self,
        services: &[String],
        timeout: Option<u64>,
        progress: &dyn Progress,
    ) -> RunResult<()> {
        for level in self.grouped(services, true)? {
            for_each(&level, |group| {
                for_each(group, |c| self.stop_one(c, timeout, None, progress)).map(|_| ())
            })?;
        }
        Ok(())
    }

    /// `kill [-s SIGNAL]`: the running containers, `run`'s one-off ones
    /// included (as Compose's `kill` lists them); those of services the
    /// project does not define only with `remove_orphans`.
    pub fn kill(
        &self,
        services: &[String],
        signal: &str,
        remove_orphans: bool,
        progress: &dyn Progress,
    ) -> RunResult<()> {
        self.check_services(services)?;
        let running: Vec<ProjectContainer> = self
            .running_of(services)?
            .into_iter()
            .filter(|c| {
                remove_orphans
                    || self.project.services.is_empty()
                    || self.project.services.contains_key(c.service())
            })
            .collect();
        if running.is_empty() {
            eprint!("no container to kill");
            return Ok(());
        }
        for_each(&running, |c| {
            let event = c.event_id();
            progress.event(&event, Status::Working, "Killing");
            match self.engine.kill_container(c.id(), Some(signal)) {
                Ok(_) => {
                    progress.event(&event, Status::Done, "Killed");
                    Ok(())
                }
                Err(e) => {
                    progress.event(&event, Status::Error, "Error while Killing");
                    Err(e.into())
                }
            }
        })
        .map(|_| ())
    }

    /// `pause` / `unpause`: the running containers.
    pub fn pause(
        &self,
        services: &[String],
        pause: bool,
        progress: &dyn Progress,
    ) -> RunResult<()> {
        let running: Vec<ProjectContainer> = self.flat(services, |c| c.running())?;
        for_each(&running, |c| {
            self.engine.pause_container(c.id(), pause)?;
            let text = if pause { "Paused" } else { "Unpaused" };
            progress.event(&c.event_id(), Status::Done, text);
            Ok(())
        })
        .map(|_| ())
    }

    /// `restart`: every container, in dependency order.
    pub fn restart(
        &self,
        services: &[String],
        timeout: Option<u64>,
        progress: &dyn Progress,
    ) -> RunResult<()> {
        for level in self.grouped(services, false)? {
            for_each(&level, |group| {
                for_each(group, |c| {
                    let event = c.event_id();
                    progress.event(&event, Status::Working, "Restarting");
                    self.engine.stop_container(c.id(), timeout, None)?;
                    self.engine.start_container(c.id(), None)?;
                    progress.event(&event, Status::Done, "Started");
                    Ok(())
                })
                .map(|_| ())
            })?;
        }
        Ok(())
    }

    /// The stopped containers `rm` would remove, in the engine's order
    /// (which its "Going to remove" line follows).
    pub fn stopped(&self, services: &[String]) -> RunResult<Vec<ProjectContainer>> {
        let mut stopped = self.flat(services, |c| !c.running())?;
        super::state::newest_first(&mut stopped);
        Ok(stopped)
    }

    /// `rm`: remove `containers` (already stopped).
    pub fn remove(
        &self,
        containers: &[ProjectContainer],
        volumes: bool,
        progress: &dyn Progress,
    ) -> RunResult<()> {
        for_each(containers, |c| {
            let event = c.event_id();
            progress.event(&event, Status::Working, "Removing");
            self.engine.remove_container(c.id(), true, volumes)?;
            progress.event(&event, Status::Done, "Removed");
            Ok(())
        })
        .map(|_| ())
    }

    /// `start [SERVICE...]`: the named services' containers (all when
    /// none), in dependency order.
    pub fn start_services(&self, services: &[String], progress: &dyn Progress) -> RunResult<()> {
        if services.is_empty() {
            return self.start(progress);
        }
        for s in services {
            self.service(s)?;
        }
        for level in dependency_levels(&self.project) {
            let names: Vec<&String> = level.iter().filter(|n| services.contains(n)).collect();
            for_each(&names, |n| self.start_service(n, progress, None))?;
        }
        Ok(())
    }

    /// `wait SERVICE...`: until their containers stop, each exit told to
    /// `on_exit`; the code of the last to exit.
    pub fn wait(
        &self,
        services: &[String],
        on_exit: &(dyn Fn(&ProjectContainer, i32) + Sync),
    ) -> RunResult<i32> {
        // Whatever the file says (Compose's `Wait` lists them so).
        let containers = self.running_of(services)?;
        if containers.is_empty() {
            return Err(invalid(format!(
                "no containers for project {:?}",
                self.name()
            )));
        }
        let last = std::sync::Mutex::new(0);
        for_each(&containers, |c| {
            let code = self.engine.wait_container(c.id())?;
            on_exit(c, code);
            *last.lock().unwrap_or_else(|p| p.into_inner()) = code;
            Ok(())
        })?;
        let code = *last.lock().unwrap_or_else(|p| p.into_inner());
        Ok(code)
    }
}
