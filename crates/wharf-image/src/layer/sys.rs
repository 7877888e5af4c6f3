//! Thin wrappers over the `*at` syscalls. Everything in this module works
//! relative to an open directory fd so that no path is ever re-resolved from
//! the filesystem root: that is what keeps a hostile tree from redirecting
//! our writes (or reads) through a symlink we did not expect.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

pub type Stat = libc::stat;

fn check(ret: libc::c_int) -> io::Result<()> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Writes `s` plus a NUL into `buf` and borrows it as a C string, so hot
/// paths need no allocation per syscall.
pub fn cstr<'a>(buf: &'a mut Vec<u8>, s: &[u8]) -> io::Result<&'a CStr> {
    buf.clear();
    buf.extend_from_slice(s);
    buf.push(0);
    CStr::from_bytes_with_nul(buf)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "name contains a NUL byte"))
}

pub fn open_at(
    dir: BorrowedFd<'_>,
    name: &CStr,
    flags: libc::c_int,
    mode: libc::mode_t,
) -> io::Result<OwnedFd> {
    let fd = unsafe {
        libc::openat(
            dir.as_raw_fd(),
            name.as_ptr(),
            flags | libc::O_CLOEXEC,
            mode as libc::c_uint,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: openat just returned this fd and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Opens a directory for use as a `*at` base and for f* metadata calls.
/// O_NOFOLLOW makes a symlink in the final position fail (ELOOP/ENOTDIR)
/// instead of being followed.
pub fn open_dir_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<OwnedFd> {
    open_at(
        dir,
        name,
        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
        0,
    )
}

pub fn mkdir_at(dir: BorrowedFd<'_>, name: &CStr, mode: libc::mode_t) -> io::Result<()> {
    check(unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), mode) })
}

pub fn mknod_at(
    dir: BorrowedFd<'_>,
    name: &CStr,
    mode: libc::mode_t,
    dev: libc::dev_t,
) -> io::Result<()> {
    check(unsafe { libc::mknodat(dir.as_raw_fd(), name.as_ptr(), mode, dev) })
}

pub fn symlink_at(target: &CStr, dir: BorrowedFd<'_>, name: &CStr) -> io::Result<()> {
    check(unsafe { libc::symlinkat(target.as_ptr(), dir.as_raw_fd(), name.as_ptr()) })
}

/// Hard link without following a symlink at `old` (flags 0), so a link to
/// a symlink links the symlink itself.
pub fn link_at(
    old_dir: BorrowedFd<'_>,
    old: &CStr,
    new_dir: BorrowedFd<'_>,
    new: &CStr,
) -> io::Result<()> {
    check(unsafe {
        libc::linkat(
            old_dir.as_raw_fd(),
            old.as_ptr(),
            new_dir.as_raw_fd(),
            new.as_ptr(),
            0,
        )
    })
}

pub fn unlink_at(dir: BorrowedFd<'_>, name: &CStr, flags: libc::c_int) -> io::Result<()> {
    check(unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), flags) })
}

pub fn lchown_at(dir: BorrowedFd<'_>, name: &CStr, uid: u32, gid: u32) -> io::Result<()> {
    check(unsafe {
        libc::fchownat(
            dir.as_raw_fd(),
            name.as_ptr(),
            uid,
            gid,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })
}

pub fn fchown(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> io::Result<()> {
    check(unsafe { libc::fchown(fd.as_raw_fd(), uid, gid) })
}

/// chmod of a name we just created as a non-symlink (fchmodat cannot refuse
/// to follow a symlink on older kernels, so callers only use it on nodes they
/// made themselves).
pub fn chmod_at(dir: BorrowedFd<'_>, name: &CStr, mode: libc::mode_t) -> io::Result<()> {
    check(unsafe { libc::fchmodat(dir.as_raw_fd(), name.as_ptr(), mode, 0) })
}

pub fn fchmod(fd: BorrowedFd<'_>, mode: libc::mode_t) -> io::Result<()> {
    check(unsafe { libc::fchmod(fd.as_raw_fd(), mode) })
}

fn times(sec: i64, nsec: u32) -> [libc::timespec; 2] {
    let ts = libc::timespec {
        tv_sec: sec as libc::time_t,
        tv_nsec: nsec as _,
    };
    [ts, ts]
}

pub fn lutimes_at(dir: BorrowedFd<'_>, name: &CStr, sec: i64, nsec: u32) -> io::Result<()> {
    let ts = times(sec, nsec);
    check(unsafe {
        libc::utimensat(
            dir.as_raw_fd(),
            name.as_ptr(),
            ts.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })
}

pub fn futimes(fd: BorrowedFd<'_>, sec: i64, nsec: u32) -> io::Result<()> {
    let ts = times(sec, nsec);
    check(unsafe { libc::futimens(fd.as_raw_fd(), ts.as_ptr()) })
}

pub fn lstat_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<Stat> {
    let mut st = std::mem::MaybeUninit::<Stat>::uninit();
    check(unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            st.as_mut_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })?;
    // SAFETY: fstatat succeeded, so it filled the struct.
    Ok(unsafe { st.assume_init() })
}

/// Where an xattr call that has no fd variant can reach `name` in `dir`
/// without re-walking a path: the /proc magic link pins the directory.
pub fn proc_path(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<std::ffi::CString> {
    let mut p = format!("/proc/self/fd/{}/", dir.as_raw_fd()).into_bytes();
    p.extend_from_slice(name);
    std::ffi::CString::new(p)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "name contains a NUL byte"))
}

/// The target of an xattr call: an open fd, or a path (never followed at its
/// final component).
#[derive(Clone, Copy)]
pub enum XattrTarget<'a> {
    Fd(BorrowedFd<'a>),
    Path(&'a CStr),
}

pub fn set_xattr(t: XattrTarget<'_>, name: &CStr, value: &[u8]) -> io::Result<()> {
    let v = value.as_ptr() as *const libc::c_void;
    check(unsafe {
        match t {
            XattrTarget::Fd(fd) => {
                libc::fsetxattr(fd.as_raw_fd(), name.as_ptr(), v, value.len(), 0)
            }
            XattrTarget::Path(p) => libc::lsetxattr(p.as_ptr(), name.as_ptr(), v, value.len(), 0),
        }
    })
}

/// Reads a size-then-fill xattr call into `buf`, retrying if the value grew
/// between the two calls.
fn read_sized(
    buf: &mut Vec<u8>,
    mut call: impl FnMut(*mut libc::c_void, usize) -> isize,
) -> io::Result<()> {
    loop {
        let n = call(std::ptr::null_mut(), 0);
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        buf.clear();
        if n == 0 {
            return Ok(());
        }
        buf.resize(n as usize, 0);
        let m = call(buf.as_mut_ptr() as *mut libc::c_void, buf.len());
        if m >= 0 {
            buf.truncate(m as usize);
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::ERANGE) {
            return Err(err);
        }
    }
}

/// Lists xattr names (NUL-separated) into `buf`. Unsupported → empty.
pub fn list_xattrs(t: XattrTarget<'_>, buf: &mut Vec<u8>) -> io::Result<()> {
    let r = read_sized(buf, |p, n| unsafe {
        match t {
            XattrTarget::Fd(fd) => libc::flistxattr(fd.as_raw_fd(), p as *mut libc::c_char, n),
            XattrTarget::Path(path) => libc::llistxattr(path.as_ptr(), p as *mut libc::c_char, n),
        }
    });
    match r {
        Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => {
            buf.clear();
            Ok(())
        }
        r => r,
    }
}

pub fn get_xattr(t: XattrTarget<'_>, name: &CStr, buf: &mut Vec<u8>) -> io::Result<()> {
    read_sized(buf, |p, n| unsafe {
        match t {
            XattrTarget::Fd(fd) => libc::fgetxattr(fd.as_raw_fd(), name.as_ptr(), p, n),
            XattrTarget::Path(path) => libc::lgetxattr(path.as_ptr(), name.as_ptr(), p, n),
        }
    })
}

/// Reads a symlink's target without following anything.
pub fn readlink_at(dir: BorrowedFd<'_>, name: &CStr, buf: &mut Vec<u8>) -> io::Result<()> {
    buf.resize(libc::PATH_MAX as usize + 1, 0);
    let n = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            name.as_ptr(),
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    Ok(())
}
