//! Advisory file locks (flock) shared between wharf processes.

use std::fs::{File, OpenOptions};
use std::path::Path;

use nix::fcntl::{Flock, FlockArg};

use crate::{StoreError, StoreResult};

/// A held flock; released on drop.
pub struct StoreLock {
    _lock: Flock<File>,
}

impl StoreLock {
    pub(crate) fn acquire(path: &Path, exclusive: bool) -> StoreResult<StoreLock> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| StoreError::io("opening lock file", path, e))?;
        let arg = if exclusive {
            FlockArg::LockExclusive
        } else {
            FlockArg::LockShared
        };
        let lock = Flock::lock(file, arg)
            .map_err(|(_, e)| StoreError::io("locking", path, std::io::Error::from(e)))?;
        Ok(StoreLock { _lock: lock })
    }
}
