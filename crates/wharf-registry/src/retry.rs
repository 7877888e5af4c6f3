//! Docker's retry policy for layer transfers: a few attempts with a
//! growing pause, only for failures that may go away (network, 5xx).

use std::time::Duration;

pub(crate) const ATTEMPTS: u32 = 5;

/// The pause before attempt `n` (1-based retries): 0.5 s, 1 s, 2 s, 4 s.
/// Docker waits 5 s, 10 s ...; on the networks wharf talks to a dropped
/// connection is usually back at once.
pub(crate) fn backoff(n: u32) -> Duration {
    Duration::from_millis(500 << n.saturating_sub(1).min(4))
}
