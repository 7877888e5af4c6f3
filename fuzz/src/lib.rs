//! Helpers shared by wharf's fuzz targets: a sandbox for the targets that
//! write files (layer apply, archive load, compose), tar checksum repair so
//! libFuzzer's byte mutations reach the code behind the tar reader, and input
//! splitting for targets that take several inputs.

use std::ffi::CString;
use std::path::Path;
use std::sync::Once;

/// Confine this process before it writes anything a fuzz input describes.
///
/// The layer applier runs as root and follows names, links and whiteouts
/// from the input: a bug there must not reach the host. In a private mount
/// namespace every mount becomes read-only except this fuzz directory
/// (corpus and artifacts are written there), and `/tmp` becomes a small
/// `nodev,nosuid` tmpfs, so a device node made by an input cannot be opened
/// and an escape out of the temp dir fails with EROFS or EXDEV.
pub fn sandbox() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if let Err(e) = try_sandbox() {
            eprintln!("wharf-fuzz: cannot confine the target ({e}); refusing to run it");
            std::process::abort();
        }
    });
}

fn mount(
    src: Option<&str>,
    target: &str,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> Result<(), String> {
    let c = |s: &str| CString::new(s).map_err(|e| e.to_string());
    let (src, target, fstype, data) = (
        src.map(c).transpose()?,
        c(target)?,
        fstype.map(c).transpose()?,
        data.map(c).transpose()?,
    );
    let ptr = |o: &Option<CString>| o.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
    // SAFETY: every pointer is null or a live NUL-terminated string.
    let rc = unsafe {
        libc::mount(
            ptr(&src),
            target.as_ptr(),
            ptr(&fstype),
            flags,
            ptr(&data).cast(),
        )
    };
    if rc != 0 {
        return Err(format!(
            "mount {target:?}: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

fn try_sandbox() -> Result<(), String> {
    // SAFETY: plain syscall; the process is single-threaded at this point
    // (libFuzzer's first input runs before any target thread exists).
    if unsafe { libc::unshare(libc::CLONE_NEWNS) } != 0 {
        return Err(format!("unshare: {}", std::io::Error::last_os_error()));
    }
    mount(None, "/", None, libc::MS_REC | libc::MS_PRIVATE, None)?;
    let keep = env!("CARGO_MANIFEST_DIR");
    mount(Some(keep), keep, None, libc::MS_BIND | libc::MS_REC, None)?;
    let info = std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| e.to_string())?;
    for line in info.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let (Some(point), Some(opts)) = (f.get(4), f.get(5)) else {
            continue;
        };
        let point = point.replace("\\040", " ");
        if Path::new(&point).starts_with(keep) {
            continue;
        }
        // A bind remount must repeat the per-mount flags it keeps.
        let mut flags = libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY;
        for (name, bit) in [
            ("nosuid", libc::MS_NOSUID),
            ("nodev", libc::MS_NODEV),
            ("noexec", libc::MS_NOEXEC),
            ("noatime", libc::MS_NOATIME),
            ("nodiratime", libc::MS_NODIRATIME),
            ("relatime", libc::MS_RELATIME),
        ] {
            if opts.split(',').any(|o| o == name) {
                flags |= bit;
            }
        }
        if let Err(e) = mount(None, &point, None, flags, None) {
            // Mounts hidden under another mount cannot be reached; every
            // mount that can be written through must become read-only.
            if Path::new(&point).exists() {
                return Err(e);
            }
        }
    }
    mount(
        Some("tmpfs"),
        "/tmp",
        Some("tmpfs"),
        libc::MS_NODEV | libc::MS_NOSUID,
        Some("size=512m,mode=1777"),
    )?;
    Ok(())
}

/// A fresh directory under the sandbox's `/tmp`, removed on drop.
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::path::PathBuf::from(format!("/tmp/wharf-fuzz-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&p).expect("creating a temp dir in the sandbox");
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Default for TempDir {
    fn default() -> Self {
        TempDir::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Inputs can leave directories without write or search permission:
        // open them up so one input's leftovers never reach the next.
        make_removable(&self.0);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn make_removable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            make_removable(&e.path());
        }
    }
}

/// Split `data` at each `sep`, into at most `n` parts.
pub fn split<'a>(data: &'a [u8], sep: &[u8], n: usize) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while out.len() + 1 < n {
        match rest.windows(sep.len()).position(|w| w == sep) {
            Some(i) => {
                out.push(&rest[..i]);
                rest = &rest[i + sep.len()..];
            }
            None => break,
        }
    }
    out.push(rest);
    out
}

/// A tar header's size field: octal text or GNU base-256.
fn tar_size(field: &[u8]) -> Option<u64> {
    if field[0] & 0x80 != 0 {
        let mut v: u64 = u64::from(field[0] & 0x7f);
        for b in &field[1..] {
            v = v.checked_mul(256)?.checked_add(u64::from(*b))?;
        }
        return Some(v);
    }
    let s = std::str::from_utf8(field).ok()?;
    let s = s.trim_matches(|c| c == ' ' || c == '\0');
    if s.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(s, 8).ok()
}

/// Rewrite every header checksum of the tar in `buf` (and of tars stored in
/// it, as image archives hold layer tars), so a mutated name, mode or type
/// still reaches the code under test instead of failing the checksum.
pub fn fix_tar_checksums(buf: &mut [u8]) {
    fix_tar(buf, 0);
}

fn fix_tar(buf: &mut [u8], depth: u32) {
    let mut off = 0usize;
    while off + 512 <= buf.len() {
        let h = &mut buf[off..off + 512];
        if h.iter().all(|b| *b == 0) {
            off += 512;
            continue;
        }
        let sum: u32 = h
            .iter()
            .enumerate()
            .map(|(i, b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u32::from(*b)
                }
            })
            .sum();
        let text = format!("{sum:06o}\0 ");
        if text.len() == 8 {
            h[148..156].copy_from_slice(text.as_bytes());
        }
        let Some(size) = tar_size(&h[124..136]) else {
            return;
        };
        let start = off + 512;
        let Ok(size) = usize::try_from(size) else {
            return;
        };
        let end = start.saturating_add(size).min(buf.len());
        if depth < 2 && end - start >= 512 && &buf[start + 257..start + 262] == b"ustar" {
            fix_tar(&mut buf[start..end], depth + 1);
        }
        off = match start.checked_add(size.div_ceil(512) * 512) {
            Some(o) => o,
            None => return,
        };
    }
}
