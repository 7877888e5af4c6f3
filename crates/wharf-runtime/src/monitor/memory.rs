//! Keeping an idle monitor small.
//!
//! Starting a container touches most of libcontainer (and seccomp
//! compilation); once the container runs, the monitor only copies output
//! and waits. Those code pages are clean file pages, so they can be handed
//! back to the kernel: they fault in again should they be needed. Freed
//! heap goes back too. This takes a monitor from ~10 MiB resident to about
//! what its copy loop uses.

/// Return start-up memory to the kernel: free heap, and file-backed
/// mappings (the binary and its libraries) that the idle loop does not need.
pub fn shed_startup_memory() {
    // SAFETY: malloc_trim only releases free heap memory.
    unsafe { libc::malloc_trim(0) };
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return;
    };
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms), Some(_off), Some(_dev), Some(inode)) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            continue;
        };
        // Only file mappings (inode != 0) that are not writable: clean pages.
        if inode == "0" || perms.contains('w') {
            continue;
        }
        let Some((start, end)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end)) = (
            usize::from_str_radix(start, 16),
            usize::from_str_radix(end, 16),
        ) else {
            continue;
        };
        // SAFETY: advice on our own mapping; MADV_PAGEOUT never changes contents.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_PAGEOUT) };
    }
}
