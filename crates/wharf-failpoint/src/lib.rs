//! Named crash points ("failpoints") for the crash-safety tests, and the
//! [`timeline`] of stages that measurements read: the two ways a run is
//! observed from inside, both switched on by the environment.
//!
//! A point is a call `wharf_failpoint::hit("pull-mid-blob")` at a place
//! where a crash must leave the store consistent. A process whose
//! environment says `WHARF_FAILPOINTS=pull-mid-blob=abort` kills itself
//! with SIGKILL there (what `kill -9` or a power cut does: no destructor,
//! no unwinding, no flush), so a test crashes exactly at the point instead
//! of after a guessed sleep. Several points: `a=abort;b=abort`.
//!
//! Points are armed only in debug builds (the test build) or with the
//! `failpoints` feature; otherwise `hit` is an empty inline function and
//! the optimizer removes every call. Where armed, an unset variable costs
//! one atomic load per hit after the first.

#[cfg(any(debug_assertions, feature = "failpoints"))]
mod armed {
    use std::sync::OnceLock;

    /// What a hit point does.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Action {
        /// SIGKILL this process.
        Abort,
    }

    fn table() -> &'static [(String, Action)] {
        static TABLE: OnceLock<Vec<(String, Action)>> = OnceLock::new();
        TABLE.get_or_init(|| {
            std::env::var(super::ENV)
                .map(|v| parse(&v))
                .unwrap_or_default()
        })
    }

    fn parse(spec: &str) -> Vec<(String, Action)> {
        spec.split(';')
            .filter_map(|item| {
                let (name, action) = item.trim().split_once('=')?;
                match action.trim() {
                    "abort" => Some((name.trim().to_string(), Action::Abort)),
                    _ => None,
                }
            })
            .collect()
    }

    pub fn hit(name: &str) {
        let table = table();
        if table.is_empty() {
            return;
        }
        if let Some((_, Action::Abort)) = table.iter().find(|(n, _)| n == name) {
            // SAFETY: kill and getpid have no preconditions. SIGKILL cannot
            // be caught, so nothing of this process runs after it.
            unsafe {
                libc::kill(libc::getpid(), libc::SIGKILL);
            }
            // Unreachable unless the kernel refused: abort is the next best crash.
            std::process::abort();
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn specs_parse() {
            assert_eq!(
                parse("a=abort; b = abort;c=nonsense;junk"),
                vec![("a".into(), Action::Abort), ("b".into(), Action::Abort)]
            );
            assert!(parse("").is_empty());
        }
    }
}

/// Crash here if the point `name` is armed (see the crate's docs).
#[cfg(any(debug_assertions, feature = "failpoints"))]
#[inline]
pub fn hit(name: &str) {
    armed::hit(name)
}

/// Crash here if the point `name` is armed: never, in this build.
#[cfg(not(any(debug_assertions, feature = "failpoints")))]
#[inline(always)]
pub fn hit(_name: &str) {}

pub mod timeline;

/// The environment variable naming the armed points.
pub const ENV: &str = "WHARF_FAILPOINTS";
