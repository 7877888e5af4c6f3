//! `--restart` policies, applied by the monitor when the container exits.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::RuntimeError;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RestartPolicy {
    #[default]
    No,
    Always,
    UnlessStopped,
    /// Restart after a non-zero exit, at most this many times (0 = no limit).
    OnFailure(u32),
}

impl RestartPolicy {
    /// Docker's `--restart` syntax.
    pub fn parse(s: &str) -> Result<RestartPolicy, RuntimeError> {
        let bad = || RuntimeError::Unsupported(format!("invalid restart policy '{s}'"));
        Ok(match s.split_once(':') {
            None if s == "no" || s.is_empty() => RestartPolicy::No,
            None if s == "always" => RestartPolicy::Always,
            None if s == "unless-stopped" => RestartPolicy::UnlessStopped,
            None if s == "on-failure" => RestartPolicy::OnFailure(0),
            Some(("on-failure", n)) => RestartPolicy::OnFailure(n.parse().map_err(|_| {
                RuntimeError::Unsupported(format!(
                    "invalid restart policy '{s}': maximum retry count must be an integer"
                ))
            })?),
            Some((p @ ("always" | "unless-stopped" | "no"), _)) => {
                return Err(RuntimeError::Unsupported(format!(
                    "maximum retry count cannot be used with restart policy '{p}'"
                )))
            }
            _ => return Err(bad()),
        })
    }

    /// Whether to start again after an exit with `code`, `restarts` restarts
    /// so far, and whether a user stopped it (`stop`, `rm -f`).
    pub fn should_restart(self, code: i32, restarts: u32, stopped_by_user: bool) -> bool {
        if stopped_by_user {
            return false;
        }
        match self {
            RestartPolicy::No => false,
            RestartPolicy::Always | RestartPolicy::UnlessStopped => true,
            RestartPolicy::OnFailure(max) => code != 0 && (max == 0 || restarts < max),
        }
    }
}

/// Docker's backoff: 100 ms doubling per restart, capped at a minute.
pub fn backoff(restarts: u32) -> Duration {
    Duration::from_millis(100u64.saturating_mul(1 << restarts.min(10))).min(Duration::from_secs(60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_and_decide_like_docker() {
        assert_eq!(
            RestartPolicy::parse("on-failure:3").unwrap(),
            RestartPolicy::OnFailure(3)
        );
        assert_eq!(
            RestartPolicy::parse("unless-stopped").unwrap(),
            RestartPolicy::UnlessStopped
        );
        assert!(RestartPolicy::parse("sometimes").is_err());
        assert!(RestartPolicy::parse("always:2").is_err());
        let p = RestartPolicy::OnFailure(3);
        assert!(
            p.should_restart(1, 2, false)
                && !p.should_restart(1, 3, false)
                && !p.should_restart(0, 0, false)
        );
        assert!(RestartPolicy::Always.should_restart(0, 99, false));
        assert!(!RestartPolicy::Always.should_restart(1, 0, true));
        assert_eq!(backoff(0), Duration::from_millis(100));
        assert_eq!(backoff(20), Duration::from_secs(60));
    }
}
