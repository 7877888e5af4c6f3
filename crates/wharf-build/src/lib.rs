//! wharf-build: `docker build` with BuildKit's semantics.
//!
//! A build reads the context in place (no tarball upload) and runs:
//!
//! 1. [`plan`]: parse the Dockerfile (wharf-dockerfile), resolve meta ARGs
//!    and `--target`, and keep only the stages the target needs;
//! 2. [`stage`]: every needed stage runs in its own thread, waiting for the
//!    stages it copies from; each instruction either changes the config
//!    ([`meta`]) or makes a layer ([`copy`] for COPY/ADD, [`run`] for RUN,
//!    WORKDIR's mkdir), layer steps going through the [`cache`] first;
//! 3. [`export`]: the target's config and history (BuildKit's shape and
//!    timestamps) become an image, tagged in one transaction.
//!
//! Cache keys chain from the base image ID through every instruction, the
//! build args in scope and the content (not mtime) of copied files; file
//! hashes of the context are cached by (inode, size, mtime, ctime) in the
//! store ([`context`]). A hit does no work: the layer is reused and its
//! history time kept, so a fully cached rebuild yields the same image ID.
//! Layers are made by mounting the stage's overlay with a fresh upper dir,
//! changing it (copying files, or a RUN container from the engine via
//! [`BuildHost`]) and turning the upper dir into a layer tar.

mod cache;
mod cache_io;
mod context;
mod copy;
mod error;
mod export;
mod git;
mod history;
mod host;
mod meta;
mod mounted;
mod outputs;
mod plan;
mod progress;
mod remote;
mod request;
mod run;
mod ssh;
mod stage;
mod tty;

pub use cache_io::{CacheFrom, CacheMode, CacheTo};
pub use error::{BuildError, BuildResult};
pub use export::{build, BuildOutcome};
pub use git::{is_git_url, Checkout, GitUrl};
pub use host::{BuildHost, RunOutput, RunStep, StepNetwork};
pub use progress::{Progress, ProgressMode};
pub use remote::{download_context, unpack_context};
pub use wharf_dockerfile::Ignore;
pub use wharf_registry::Platform;

/// `build <git URL>`: the context's files, checked out in the store's git
/// cache (kept for the next build, removed by `builder prune`);
/// `keep_git_dir` is BuildKit's `BUILDKIT_CONTEXT_KEEP_GIT_DIR`.
pub fn git_context(
    store: &wharf_store::Store,
    url: &str,
    keep_git_dir: bool,
    progress: &Progress,
) -> BuildResult<Checkout> {
    git::fetch(store, url, keep_git_dir, progress)
}
pub use request::{
    context_name, source_date_epoch, BuildRequest, Dest, NamedContext, Output, StepOptions,
    SOURCE_DATE_EPOCH,
};
pub use ssh::SshAgents;

/// Remove every build cache entry (and the downloads of `ADD <url>`, the
/// git mirrors and checkouts);
/// returns how many there were and the bytes of layer content that went
/// with them.
pub fn prune_cache(store: &wharf_store::Store) -> BuildResult<(usize, u64)> {
    let pruned = cache::prune(store)?;
    for dir in [remote::cache_dir(store), git::cache_dir(store)] {
        match std::fs::remove_dir_all(dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(BuildError::io("removing downloaded sources", e))
            }
            _ => {}
        }
    }
    Ok(pruned)
}
