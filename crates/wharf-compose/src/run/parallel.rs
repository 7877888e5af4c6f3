//! Independent work of one step (the containers of a service) done in
//! parallel, as Compose's errgroups do: each item on its own thread, the
//! results in the items' order, the first error (in that order) returned
//! once all are done. `--parallel N` (or `COMPOSE_PARALLEL_LIMIT`) lets at
//! most N items of a step run at once, as Compose's `SetLimit` does.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use super::RunResult;

/// The process' limit; 0: none (Compose's -1).
static LIMIT: AtomicUsize = AtomicUsize::new(0);

/// Set the limit of items of one step at once; 0 or less: unlimited.
pub fn set_limit(n: i64) {
    LIMIT.store(usize::try_from(n).unwrap_or(0), Ordering::Relaxed);
}

/// Places for the items of one step that may run at once.
pub(crate) struct Permits {
    free: Mutex<usize>,
    freed: Condvar,
}

/// A place taken; given back when dropped.
pub(crate) struct Permit<'a>(Option<&'a Permits>);

impl Permits {
    /// As many places as the limit allows (`usize::MAX`: no limit).
    pub(crate) fn new() -> Permits {
        let n = match LIMIT.load(Ordering::Relaxed) {
            0 => usize::MAX,
            n => n,
        };
        Permits {
            free: Mutex::new(n),
            freed: Condvar::new(),
        }
    }

    /// Whether every item may run at once (no `--parallel` limit).
    pub(crate) fn unlimited(&self) -> bool {
        *self.free.lock().unwrap_or_else(|p| p.into_inner()) == usize::MAX
    }

    /// Wait for a place.
    pub(crate) fn take(&self) -> Permit<'_> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        if *free == usize::MAX {
            return Permit(None);
        }
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
        Permit(Some(self))
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if let Some(p) = self.0 {
            *p.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
            p.freed.notify_one();
        }
    }
}

pub(crate) fn for_each<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&T) -> RunResult<R> + Sync,
) -> RunResult<Vec<R>> {
    if items.len() <= 1 {
        return items.iter().map(&f).collect();
    }
    let permits = Permits::new();
    let results: Vec<RunResult<R>> = std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .iter()
            .map(|item| {
                let f = &f;
                let permits = &permits;
                scope.spawn(move || {
                    let _place = permits.take();
                    f(item)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    results.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_bounds_the_items_at_once() {
        set_limit(2);
        let now = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let out = for_each(&[1, 2, 3, 4, 5], |i| {
            let n = now.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(n, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(20));
            now.fetch_sub(1, Ordering::SeqCst);
            Ok(i * 10)
        });
        set_limit(-1);
        assert_eq!(out.ok(), Some(vec![10, 20, 30, 40, 50]));
        assert!(most.load(Ordering::SeqCst) <= 2);
    }
}
