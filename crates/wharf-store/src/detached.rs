//! Work that nobody waits for, in a process of its own: the kernel-side
//! cleanup of objects that are already gone from every record and from
//! every user's view (a removed network's bridge, a removed container's
//! files).

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Run `exe ARGS...` as a grandchild that is orphaned at once (nobody has
/// to reap it: the caller may be the API server, which lives on), in a
/// session of its own (a Ctrl-C to the caller does not reach it), with
/// /dev/null for its standard streams and none of the caller's other
/// descriptors (a pipe the caller writes to closes when the caller
/// exits). Whether it was started.
pub fn spawn(exe: &Path, args: &[&str]) -> bool {
    // Everything the children use is made before the fork: after it, a
    // child of a threaded process may only make async-signal-safe calls.
    let Ok(path) = CString::new(exe.as_os_str().as_bytes()) else {
        return false;
    };
    let mut argv: Vec<CString> = vec![path.clone()];
    for a in args {
        match CString::new(*a) {
            Ok(c) => argv.push(c),
            Err(_) => return false,
        }
    }
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let null = c"/dev/null";
    // Readable (at EOF) once the grandchild has exec'd: its end closes on
    // exec. The caller returns only then, so whoever looks for the helper
    // among the processes right after finds it by its command line.
    let mut pipe = [0; 2];
    // SAFETY: pipe2 fills the two-int array we pass.
    if unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return false;
    }
    let [exec_r, exec_w] = pipe;
    // SAFETY: between fork and exec (or _exit) the children make only
    // raw system calls (async-signal-safe) on memory prepared above.
    unsafe {
        let child = libc::fork();
        if child == 0 {
            let grandchild = libc::fork();
            if grandchild != 0 {
                libc::close(exec_w);
                let mut byte = 0u8;
                while libc::read(exec_r, (&mut byte as *mut u8).cast(), 1) < 0
                    && *libc::__errno_location() == libc::EINTR
                {}
                libc::_exit(i32::from(grandchild < 0));
            }
            libc::setsid();
            // Every descriptor closes at the exec, the pipe's end too.
            libc::syscall(
                libc::SYS_close_range,
                0u32,
                u32::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            );
            let fd = libc::open(null.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC);
            if fd >= 0 {
                for std_fd in 0..3 {
                    libc::dup2(fd, std_fd);
                }
            }
            libc::execv(path.as_ptr(), argv_ptrs.as_ptr());
            libc::_exit(127);
        }
        libc::close(exec_w);
        libc::close(exec_r);
        if child < 0 {
            return false;
        }
        let mut status = 0;
        while libc::waitpid(child, &mut status, 0) < 0
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
        {}
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
    }
}
