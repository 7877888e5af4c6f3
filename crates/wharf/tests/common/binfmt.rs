//! binfmt_misc for the cross-platform build tests: qemu-user emulators
//! registered (or an emulator taken away) for one test's duration, under a
//! lock every such test takes, and the host's binfmt state put back as it
//! was found when the guard drops (entries the test added unregistered,
//! entries it disabled enabled again, binfmt_misc unmounted if the test
//! mounted it). wharf itself registers nothing: like docker, it expects
//! the host to provide the emulators (`tonistiigi/binfmt`, binfmt-support,
//! systemd-binfmt).

use std::fs::{self, File};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;

const DIR: &str = "/proc/sys/fs/binfmt_misc";
/// Where Debian's qemu-user-static puts its entries (systemd-binfmt's
/// format: `:name:type:offset:magic:mask:interpreter:flags`, with `F`).
const CONFS: &str = "/usr/lib/binfmt.d";

pub struct Binfmt {
    _lock: File,
    mounted: bool,
    /// Entries this guard registered.
    registered: Vec<PathBuf>,
    /// Entries this guard disabled.
    disabled: Vec<PathBuf>,
}

impl Binfmt {
    fn locked() -> Binfmt {
        let lock = File::create("/run/wharf-tests-binfmt.lock").unwrap();
        // SAFETY: flock on a descriptor we own.
        let rc = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
        assert_eq!(rc, 0, "flock: {}", std::io::Error::last_os_error());
        Binfmt {
            _lock: lock,
            mounted: false,
            registered: Vec::new(),
            disabled: Vec::new(),
        }
    }

    /// qemu-user emulators for the kernel architectures `arches`
    /// (`aarch64`, `arm`) registered with the `F` flag, so they run
    /// inside a container's root. Fails loudly when qemu-user-static is
    /// missing or binfmt_misc cannot be mounted.
    pub fn emulate(arches: &[&str]) -> Binfmt {
        let mut g = Binfmt::locked();
        g.mount();
        for arch in arches {
            let entry = Path::new(DIR).join(format!("qemu-{arch}"));
            match fs::read_to_string(&entry) {
                Ok(e) if usable(&e) => continue,
                Ok(e) => panic!(
                    "{} is registered but not usable for builds (disabled or without the F flag); fix the host's binfmt setup:\n{e}",
                    entry.display()
                ),
                Err(_) => {}
            }
            let conf = Path::new(CONFS).join(format!("qemu-{arch}.conf"));
            let line = fs::read_to_string(&conf).unwrap_or_else(|e| {
                panic!(
                    "{}: {e}: install qemu-user-static (scripts/deps.sh test)",
                    conf.display()
                )
            });
            let line = line
                .lines()
                .find(|l| l.starts_with(':'))
                .unwrap_or_else(|| panic!("{} has no binfmt entry", conf.display()));
            assert!(
                line.rsplit(':').next().unwrap().contains('F'),
                "{} lacks the F flag: {line}",
                conf.display()
            );
            fs::write(Path::new(DIR).join("register"), line).unwrap_or_else(|e| {
                panic!("registering {} in {DIR}/register: {e}", conf.display())
            });
            g.registered.push(entry);
        }
        g
    }

    /// No usable emulator for `arch` while the guard lives (one that is
    /// registered is disabled, then enabled again).
    pub fn without(arch: &str) -> Binfmt {
        let mut g = Binfmt::locked();
        let entry = Path::new(DIR).join(format!("qemu-{arch}"));
        if fs::read_to_string(&entry).is_ok_and(|e| e.starts_with("enabled")) {
            fs::write(&entry, "0").unwrap();
            g.disabled.push(entry);
        }
        g
    }

    fn mount(&mut self) {
        if Path::new(DIR).join("register").exists() {
            return;
        }
        // Cross-platform RUN needs it.
        super::sh(Command::new("mount").args(["-t", "binfmt_misc", "binfmt_misc", DIR]));
        self.mounted = true;
    }
}

/// Enabled, and with the `F` flag (the interpreter opened at registration,
/// so it works in a container whose root lacks it).
fn usable(entry: &str) -> bool {
    entry.starts_with("enabled")
        && entry
            .lines()
            .any(|l| l.starts_with("flags:") && l.contains('F'))
}

impl Drop for Binfmt {
    fn drop(&mut self) {
        for e in &self.disabled {
            let _ = fs::write(e, "1");
        }
        for e in &self.registered {
            let _ = fs::write(e, "-1");
        }
        if self.mounted {
            let _ = Command::new("umount").arg(DIR).status();
        }
    }
}

/// A rootfs tar of Debian's busybox-static for the dpkg architecture
/// `deb_arch` (`arm64`, `armhf`), as scripts/deps.sh test caches it, with
/// the applets the tests use linked; in `scratch`.
pub fn foreign_busybox_tar(scratch: &Path, deb_arch: &str) -> PathBuf {
    let root = foreign_busybox_root(scratch, deb_arch);
    let tar = scratch.join(format!("busybox-{deb_arch}.tar"));
    super::sh(
        Command::new("tar")
            .args(["--owner=0", "--group=0", "--numeric-owner", "-C"])
            .arg(&root)
            .arg("-cf")
            .arg(&tar)
            .arg("."),
    );
    tar
}

/// The same rootfs as a directory (`scratch/busybox-ARCH`).
pub fn foreign_busybox_root(scratch: &Path, deb_arch: &str) -> PathBuf {
    let deb = PathBuf::from(format!(
        "/var/cache/wharf/foreign/busybox-static_{deb_arch}.deb"
    ));
    assert!(
        deb.exists(),
        "{} is missing: run scripts/deps.sh test (it downloads busybox-static:{deb_arch})",
        deb.display()
    );
    let root = scratch.join(format!("busybox-{deb_arch}"));
    if root.exists() {
        return root;
    }
    super::sh(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root));
    // Only the binary: the package's docs and links are not needed.
    let _ = fs::remove_dir_all(root.join("usr"));
    for d in ["etc", "tmp"] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    for a in ["sh", "cat", "echo", "uname", "ls"] {
        let link = root.join("bin").join(a);
        if !link.exists() {
            std::os::unix::fs::symlink("busybox", link).unwrap();
        }
    }
    root
}
