//! Keeping an idle monitor (and an idle `wharf serve`) small.
//!
//! Starting a container touches most of libcontainer (and seccomp
//! compilation); once the container runs, the monitor only copies output
//! and waits. What start-up left resident is handed back: free heap, the
//! database's page cache, the part of the stack that start-up used, and
//! every file-backed page (code, read-only data) that holds nothing of
//! its own. Those are dropped from our page tables with MADV_DONTNEED and
//! fault in again from the page cache should the loop need them (few do).
//! MADV_PAGEOUT would not do: it skips pages other processes map too,
//! which the C library's and our own code pages always are.

use wharf_store::Store;

/// Drop the resident pages we can fault in again, then block in poll(2)
/// for at most `timeout_ms` (-1: until something happens).
///
/// The kernel maps up to 64 KiB around every page that faults in
/// ("fault-around"), so every code page run after the drop comes back
/// with fifteen neighbours. Hence the drop is the last thing before the
/// wait, and the drop and the wait are raw system calls inside one small
/// function (on x86-64): nothing else runs, and nothing comes back, until
/// the container does something.
pub fn shed_and_poll(
    fds: &mut [nix::poll::PollFd],
    store: &Store,
    timeout_ms: i32,
) -> nix::Result<i32> {
    store.release_memory();
    // SAFETY: malloc_trim only releases free heap memory.
    unsafe { libc::malloc_trim(0) };
    let ranges = droppable_ranges();
    // PollFd is a transparent wrapper of struct pollfd.
    let rc = drop_then_poll(&ranges, fds.as_mut_ptr().cast(), fds.len(), timeout_ms);
    if rc < 0 {
        Err(nix::errno::Errno::from_raw(-rc as i32))
    } else {
        Ok(rc as i32)
    }
}

/// Hand back what [`shed_and_poll`] drops, without the wait: for a
/// process that goes idle between bursts (the API server), whose code
/// pages fault in again when the next request comes.
pub fn shed(store: &Store) {
    store.release_memory();
    // SAFETY: malloc_trim only releases free heap memory.
    unsafe { libc::malloc_trim(0) };
    let ranges = droppable_ranges();
    // A poll of no descriptors with no timeout: returns at once.
    drop_then_poll(&ranges, std::ptr::null_mut(), 0, 0);
}

/// What [`shed_and_poll`] drops: file pages equal to the file, shared
/// file pages, and the stack below ours.
fn droppable_ranges() -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return out;
    };
    let here = &smaps as *const _ as usize;
    let mut region: Option<(usize, usize, bool, bool)> = None;
    for line in smaps.lines() {
        if let Some(header) = parse_header(line) {
            region = Some(header);
            continue;
        }
        let Some((start, end, file, stack)) = region else {
            continue;
        };
        // "Anonymous:" comes once per mapping, after its header.
        let Some(anon) = line.strip_prefix("Anonymous:") else {
            continue;
        };
        region = None;
        if stack && here > start && here < end {
            // Below our frames, with a margin for the calls still to come.
            let low = (here - 16 * 1024) & !0xfff;
            if low > start {
                out.push((start, low - start));
            }
        } else if file && anon.trim().trim_end_matches("kB").trim() == "0" {
            out.push((start, end - start));
        } else if file {
            // Some pages are our own (relocated): only the others.
            out.extend(file_pages(start, end));
        }
    }
    out
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn syscall3(n: i64, a: usize, b: usize, c: usize) -> i64 {
    let ret: i64;
    std::arch::asm!(
        "syscall",
        inlateout("rax") n => ret,
        in("rdi") a,
        in("rsi") b,
        in("rdx") c,
        lateout("rcx") _,
        lateout("r11") _,
        options(nostack),
    );
    ret
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
unsafe fn syscall3(n: i64, a: usize, b: usize, c: usize) -> i64 {
    match libc::syscall(n as libc::c_long, a, b, c) {
        -1 => -(std::io::Error::last_os_error().raw_os_error().unwrap_or(0) as i64),
        r => r as i64,
    }
}

/// madvise(DONTNEED) each range, then poll with `timeout_ms`; poll's
/// result or -errno.
#[inline(never)]
fn drop_then_poll(
    ranges: &[(usize, usize)],
    fds: *mut libc::pollfd,
    n: usize,
    timeout_ms: i32,
) -> i64 {
    // SAFETY: the ranges hold only pages whose contents come back from
    // their file, or stack below the frames in use (see droppable_ranges);
    // `fds` points to `n` pollfds that outlive the call.
    unsafe {
        for &(start, len) in ranges {
            syscall3(libc::SYS_madvise, start, len, libc::MADV_DONTNEED as usize);
        }
        syscall3(libc::SYS_poll, fds as usize, n, timeout_ms as i64 as usize)
    }
}

/// Runs of pages in `start..end` that are present and still the file's
/// (not anonymous copies), from /proc/self/pagemap: bit 63 present, bit
/// 61 file page or shared.
fn file_pages(start: usize, end: usize) -> Vec<(usize, usize)> {
    use std::io::{Read, Seek, SeekFrom};
    const PAGE: usize = 4096;
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let Ok(mut f) = std::fs::File::open("/proc/self/pagemap") else {
        return runs;
    };
    let n = (end - start) / PAGE;
    let mut buf = vec![0u8; n * 8];
    if f.seek(SeekFrom::Start((start / PAGE * 8) as u64)).is_err()
        || f.read_exact(&mut buf).is_err()
    {
        return runs;
    }
    for (i, e) in buf.chunks_exact(8).enumerate() {
        let e = u64::from_le_bytes(e.try_into().expect("8 bytes"));
        if e >> 63 & 1 == 1 && e >> 61 & 1 == 1 {
            let at = start + i * PAGE;
            match runs.last_mut() {
                Some((s, len)) if *s + *len == at => *len += PAGE,
                _ => runs.push((at, PAGE)),
            }
        }
    }
    runs
}

/// `start-end perms offset dev inode [path]` → (start, end, file-backed, stack).
fn parse_header(line: &str) -> Option<(usize, usize, bool, bool)> {
    let mut f = line.split_whitespace();
    let (range, perms, _off, _dev, inode) = (f.next()?, f.next()?, f.next()?, f.next()?, f.next()?);
    let (start, end) = range.split_once('-')?;
    let start = usize::from_str_radix(start, 16).ok()?;
    let end = usize::from_str_radix(end, 16).ok()?;
    if perms.len() != 4 {
        return None;
    }
    let path = f.next().unwrap_or("");
    // Shared file pages live in the page cache whatever we do; private
    // ones only while they equal the file (checked by the caller).
    let file = inode != "0" && (perms.ends_with('s') || !perms.contains('w'));
    Some((start, end, file, path == "[stack]"))
}
