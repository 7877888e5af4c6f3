//! Independent work of one step (the containers of a service) done in
//! parallel, as Compose's errgroups do: each item on its own thread, the
//! results in the items' order, the first error (in that order) returned
//! once all are done.

use super::RunResult;

pub(crate) fn for_each<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&T) -> RunResult<R> + Sync,
) -> RunResult<Vec<R>> {
    if items.len() <= 1 {
        return items.iter().map(&f).collect();
    }
    let results: Vec<RunResult<R>> = std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .iter()
            .map(|item| {
                let f = &f;
                scope.spawn(move || f(item))
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
