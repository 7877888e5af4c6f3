//! A container's lifecycle: Docker's seven states, the transitions allowed
//! between them (in [`Status::can_become`], the only place that decides),
//! and the state record the store keeps, with its Docker-shaped view.
//!
//! Docker derives its status string from flags (moby's
//! `container.State.StateString`); wharf keeps the status itself and
//! derives the flags (`Running`, `Paused` ...) for `inspect`, as youki
//! keeps a `ContainerStatus` with its allowed moves.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ModelError;

/// Docker's `State.Status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Status {
    /// Made, never started (or its first start failed).
    #[default]
    Created,
    /// Its process runs (under its monitor).
    Running,
    /// Frozen by `pause`; still has its process.
    Paused,
    /// Exited and waiting out its restart policy's back-off.
    Restarting,
    /// `rm` is taking it apart.
    Removing,
    /// Ran and stopped.
    Exited,
    /// Could not be removed; only `rm` applies.
    Dead,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Created,
        Status::Running,
        Status::Paused,
        Status::Restarting,
        Status::Removing,
        Status::Exited,
        Status::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Restarting => "restarting",
            Status::Removing => "removing",
            Status::Exited => "exited",
            Status::Dead => "dead",
        }
    }

    /// Whether the container has a process (docker's `State.Running`,
    /// true for paused and restarting containers too).
    pub fn is_running(self) -> bool {
        matches!(self, Status::Running | Status::Paused | Status::Restarting)
    }

    /// Whether the container holds no process and may be started, removed
    /// without force, or committed from a quiet upper dir.
    pub fn is_stopped(self) -> bool {
        matches!(self, Status::Created | Status::Exited | Status::Dead)
    }

    /// The allowed moves. A status may always be re-recorded as itself
    /// (a monitor restarting records `running` again after `restarting`,
    /// and idempotent writes stay harmless).
    pub fn can_become(self, next: Status) -> bool {
        use Status::*;
        if self == next {
            return true;
        }
        matches!(
            (self, next),
            (Created, Running)
                | (Created, Exited)
                | (Created, Removing)
                | (Running, Paused)
                | (Running, Restarting)
                | (Running, Exited)
                | (Paused, Running)
                | (Paused, Exited)
                | (Restarting, Running)
                | (Restarting, Exited)
                | (Exited, Running)
                | (Exited, Restarting)
                | (Exited, Removing)
                | (Removing, Dead)
                | (Removing, Exited)
                | (Dead, Removing)
        )
    }

    /// `self -> next`, or the typed refusal naming both.
    pub fn transition(self, next: Status) -> Result<Status, ModelError> {
        if self.can_become(next) {
            Ok(next)
        } else {
            Err(ModelError::Transition {
                from: self,
                to: next,
            })
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Status, ModelError> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| ModelError::Invalid(format!("invalid container status: {s}")))
    }
}

impl Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Status, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Docker's `Health.Status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    /// No check has decided yet (within the start period, or none ran).
    #[default]
    Starting,
    Healthy,
    Unhealthy,
    /// The image's check was switched off (`--no-healthcheck`, `NONE`).
    None,
}

impl HealthStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Starting => "starting",
            HealthStatus::Healthy => "healthy",
            HealthStatus::Unhealthy => "unhealthy",
            HealthStatus::None => "none",
        }
    }
}

/// One probe's result (`State.Health.Log[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HealthResult {
    pub start: String,
    pub end: String,
    pub exit_code: i32,
    pub output: String,
}

/// `State.Health`: the last results (docker keeps five).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Health {
    pub status: HealthStatus,
    pub failing_streak: u32,
    pub log: Vec<HealthResult>,
}

impl Health {
    /// How many results docker keeps.
    pub const KEEP: usize = 5;

    /// Record a probe: docker's rules (moby `daemon/health.go`): success
    /// makes it healthy and resets the streak; a failure within the start
    /// period does not count while the container was never healthy;
    /// `retries` consecutive failures make it unhealthy.
    pub fn record(&mut self, result: HealthResult, retries: u32, in_start_period: bool) {
        if result.exit_code == 0 {
            self.failing_streak = 0;
            self.status = HealthStatus::Healthy;
        } else if !(in_start_period && self.status == HealthStatus::Starting) {
            self.failing_streak += 1;
            if self.failing_streak >= retries.max(1) {
                self.status = HealthStatus::Unhealthy;
            }
        }
        self.log.push(result);
        if self.log.len() > Self::KEEP {
            let extra = self.log.len() - Self::KEEP;
            self.log.drain(..extra);
        }
    }
}

/// What the store keeps of a container's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerState {
    pub status: Status,
    /// The container's init, on the host, while it runs.
    pub pid: Option<i32>,
    /// Its monitor, while it runs.
    pub monitor_pid: Option<i32>,
    pub exit_code: Option<i32>,
    /// Why the last start failed (docker's `State.Error`).
    pub error: String,
    pub oom_killed: bool,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub restart_count: u32,
    pub health: Option<Health>,
}

/// The zero time docker prints for a time that never happened.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// `State` as docker's inspect shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StateView {
    pub status: Status,
    pub running: bool,
    pub paused: bool,
    pub restarting: bool,
    #[serde(rename = "OOMKilled")]
    pub oom_killed: bool,
    pub dead: bool,
    pub pid: i32,
    pub exit_code: i32,
    pub error: String,
    pub started_at: String,
    pub finished_at: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub health: Option<Health>,
}

impl ContainerState {
    pub fn view(&self) -> StateView {
        let s = self.status;
        StateView {
            status: s,
            running: s.is_running(),
            paused: s == Status::Paused,
            restarting: s == Status::Restarting,
            oom_killed: self.oom_killed,
            dead: s == Status::Dead,
            pid: if s.is_running() {
                self.pid.unwrap_or(0)
            } else {
                0
            },
            exit_code: self.exit_code.unwrap_or(0),
            error: self.error.clone(),
            started_at: self.started_at.clone().unwrap_or_else(|| ZERO_TIME.into()),
            finished_at: self.finished_at.clone().unwrap_or_else(|| ZERO_TIME.into()),
            health: self.health.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_follow_docker_lifecycle() {
        use Status::*;
        assert!(Created.can_become(Running));
        assert!(Running.can_become(Paused) && Paused.can_become(Running));
        assert!(Running.can_become(Restarting) && Restarting.can_become(Running));
        assert!(Exited.can_become(Removing) && Removing.can_become(Dead));
        assert!(!Running.can_become(Removing), "rm -f stops first");
        assert!(!Paused.can_become(Restarting));
        assert!(!Dead.can_become(Running));
        assert!(!Removing.can_become(Running));
        let e = Created.transition(Paused).unwrap_err();
        assert_eq!(e.to_string(), "a created container cannot become paused");
    }

    #[test]
    fn statuses_round_trip_as_docker_strings() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>().unwrap(), s);
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert!("up".parse::<Status>().is_err());
    }

    #[test]
    fn view_derives_docker_flags() {
        let st = ContainerState {
            status: Status::Paused,
            pid: Some(42),
            ..Default::default()
        };
        let v = st.view();
        assert!(v.running && v.paused && !v.restarting && v.pid == 42);
        assert_eq!(v.started_at, ZERO_TIME);
        let exited = ContainerState {
            status: Status::Exited,
            pid: Some(42),
            exit_code: Some(3),
            ..Default::default()
        };
        assert_eq!(exited.view().pid, 0);
        assert_eq!(exited.view().exit_code, 3);
    }

    #[test]
    fn health_follows_retries_and_start_period() {
        let mut h = Health::default();
        let fail = |n| HealthResult {
            exit_code: 1,
            output: format!("f{n}"),
            ..Default::default()
        };
        h.record(fail(0), 2, true);
        assert_eq!((h.status, h.failing_streak), (HealthStatus::Starting, 0));
        h.record(fail(1), 2, false);
        assert_eq!(h.status, HealthStatus::Starting);
        h.record(fail(2), 2, false);
        assert_eq!(h.status, HealthStatus::Unhealthy);
        h.record(HealthResult::default(), 2, false);
        assert_eq!((h.status, h.failing_streak), (HealthStatus::Healthy, 0));
        for n in 0..10 {
            h.record(fail(n), 2, false);
        }
        assert_eq!(h.log.len(), Health::KEEP);
        assert_eq!(h.log[4].output, "f9");
        // Once healthy, the start period no longer excuses a failure.
        let mut h = Health::default();
        h.record(HealthResult::default(), 1, true);
        h.record(fail(0), 1, true);
        assert_eq!(h.status, HealthStatus::Unhealthy);
    }
}
