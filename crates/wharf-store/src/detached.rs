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
/// exits). Returns once the grandchild has exec'd (whoever looks for the
/// helper among the processes right after finds it by its command line);
/// whether it was started.
///
/// Both children share the caller's memory and the caller waits while
/// they run (`CLONE_VM | CLONE_VFORK`, as `posix_spawn` does): two
/// `fork`s copied the caller's page tables twice and tore them down
/// again, 1.1-1.6 ms of `rm`'s ~3 ms here; see [`Plan`] for what that
/// sharing asks of the children.
pub fn spawn(exe: &Path, args: &[&str]) -> bool {
    // Everything the children use is made before the clone: they share
    // the caller's memory and may only make raw system calls on it.
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
    let mut child_stack = vec![0u8; STACK];
    let mut grandchild_stack = vec![0u8; STACK];
    // SAFETY: sigset_t is plain data; sigfillset/pthread_sigmask fill it.
    let (all, caller_mask) = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        (all, std::mem::zeroed::<libc::sigset_t>())
    };
    let mut plan = Plan {
        path: path.as_ptr(),
        argv: argv_ptrs.as_ptr(),
        null: c"/dev/null".as_ptr(),
        grandchild_stack: stack_top(&mut grandchild_stack),
        caller_mask,
    };
    let flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD;
    // SAFETY: the children run on stacks of their own, read only `plan`
    // and the buffers above (alive until they are done: the caller is
    // suspended meanwhile) and make only raw system calls; no signal
    // handler runs in them (all blocked until the grandchild reset them).
    let child = unsafe {
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut plan.caller_mask);
        let child = libc::clone(
            child_main,
            stack_top(&mut child_stack),
            flags,
            (&mut plan as *mut Plan).cast(),
        );
        libc::pthread_sigmask(libc::SIG_SETMASK, &plan.caller_mask, std::ptr::null_mut());
        child
    };
    if child < 0 {
        return false;
    }
    let mut status = 0;
    // SAFETY: waitpid writes the status int we pass.
    while unsafe { libc::waitpid(child, &mut status, 0) } < 0
        && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
    {}
    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
}

/// Each child's stack: `clone` with `CLONE_VM` needs one apart from the
/// caller's (which it shares memory with). The children make a handful
/// of system calls through libc.
const STACK: usize = 64 * 1024;

/// The top of `stack` (stacks grow down), 16-byte aligned as the ABI
/// asks of a call.
fn stack_top(stack: &mut [u8]) -> *mut libc::c_void {
    let end = stack.as_mut_ptr_range().end as usize;
    (end & !15) as *mut libc::c_void
}

/// What the children of [`spawn`] read, made by the caller. They share
/// its memory (`CLONE_VM`): they must not allocate, unwind or touch
/// anything the caller's other threads may be changing, and the
/// caller's signal handlers must not run in them (they would run on the
/// caller's memory from another process). Signals stay blocked until the
/// grandchild has set every caught one back to its default.
struct Plan {
    path: *const libc::c_char,
    argv: *const *const libc::c_char,
    null: *const libc::c_char,
    grandchild_stack: *mut libc::c_void,
    /// The caller's mask, the grandchild's once its handlers are reset.
    caller_mask: libc::sigset_t,
}

/// The child: starts the grandchild and exits once it has exec'd, which
/// orphans it.
extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the caller's `Plan`, alive while the caller waits.
    unsafe {
        let plan = &*(arg as *const Plan);
        let flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD;
        let grandchild = libc::clone(grandchild_main, plan.grandchild_stack, flags, arg);
        libc::_exit(i32::from(grandchild < 0))
    }
}

/// The grandchild: a session of its own, /dev/null for its standard
/// streams, no other descriptor, the caller's signal mask, then `exe`.
extern "C" fn grandchild_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: as `child_main`; sigaction and the fd calls are raw
    // system calls on this process's own tables (not shared: no
    // CLONE_SIGHAND, no CLONE_FILES).
    unsafe {
        let plan = &*(arg as *const Plan);
        libc::setsid();
        // Every descriptor closes at the exec.
        libc::syscall(
            libc::SYS_close_range,
            0u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        );
        let fd = libc::open(plan.null, libc::O_RDWR | libc::O_CLOEXEC);
        if fd >= 0 {
            for std_fd in 0..3 {
                libc::dup2(fd, std_fd);
            }
        }
        // A caught signal goes back to its default (the exec would do
        // it) before the mask is lifted; an ignored one stays ignored.
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        for sig in 1..=libc::SIGRTMAX() {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut old) == 0
                && old.sa_sigaction != libc::SIG_DFL
                && old.sa_sigaction != libc::SIG_IGN
            {
                libc::sigaction(sig, &dfl, std::ptr::null_mut());
            }
        }
        libc::pthread_sigmask(libc::SIG_SETMASK, &plan.caller_mask, std::ptr::null_mut());
        libc::execv(plan.path, plan.argv);
        libc::_exit(127)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;
    use std::time::{Duration, Instant};

    /// The helper runs orphaned, in its own session, with /dev/null for
    /// its streams, none of the caller's other descriptors (one without
    /// close-on-exec included), the caller's signal mask and default
    /// signal handling.
    #[test]
    fn a_helper_runs_alone_with_nothing_of_the_caller() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        // A descriptor the exec would not close by itself.
        let (r, w) = nix::unistd::pipe().unwrap();
        for fd in [r.as_raw_fd(), w.as_raw_fd()] {
            nix::fcntl::fcntl(fd, nix::fcntl::F_SETFD(nix::fcntl::FdFlag::empty())).unwrap();
        }
        let fds = dir.path().join("fds");
        let mask = dir.path().join("mask");
        // Its signal mask first, read by the shell's builtins: a child
        // reading it could see the one dash sets around its forks. Then
        // `ls` alone, its output redirected: a pipeline would have the
        // shell hold the pipe's ends while `ls` looks.
        let script = format!(
            "while read -r k v; do [ \"$k\" = SigBlk: ] && echo \"$v\" > {mask}; done < /proc/$$/status; \
             ls /proc/$$/fd > {fds}; s=/proc/$$/stat; {{ readlink /proc/$$/fd/0 /proc/$$/fd/1 /proc/$$/fd/2; \
             grep -E '^PPid:' /proc/$$/status; cut -d' ' -f6 $s; echo $$; }} > {out}.tmp && mv {out}.tmp {out}",
            mask = mask.display(),
            fds = fds.display(),
            out = out.display()
        );
        assert!(spawn(Path::new("/bin/sh"), &["-c", &script]));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !out.exists() {
            assert!(Instant::now() < deadline, "the helper did not run");
            std::thread::sleep(Duration::from_millis(5));
        }
        let text = std::fs::read_to_string(&out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        // Its standard streams only: not the pipe (nor anything else but
        // the copy of stdout dash keeps on 10 while it redirects it).
        let fds = std::fs::read_to_string(&fds).unwrap();
        let fds: Vec<&str> = fds.lines().filter(|fd| *fd != "10").collect();
        assert_eq!(fds, ["0", "1", "2"], "the caller's pipe is {r:?}, {w:?}");
        // (Its 1 is the shell's redirection here; the three are one dup2 loop.)
        assert_eq!([lines[0], lines[2]], ["/dev/null"; 2], "{text}");
        let field = |l: &str| l.split_whitespace().nth(1).unwrap_or_default().to_string();
        assert_ne!(field(lines[3]), std::process::id().to_string(), "{text}");
        let mask = std::fs::read_to_string(&mask).unwrap();
        assert_eq!(
            mask.trim(),
            "0000000000000000",
            "the caller's mask, none blocked"
        );
        let session = lines[4];
        let pid = lines[5];
        assert_eq!(session, pid, "a session of its own: {text}");
    }
}
