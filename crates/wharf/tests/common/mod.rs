//! Shared helpers for the end-to-end tests: a private store per test, the
//! built `wharf` binary, base rootfs tarballs, and the real docker CLI.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub mod binfmt;
pub mod compose;
pub mod http_files;
pub mod pty;
pub mod serve;

/// Tests drive the kernel for real; as non-root they must fail, not skip.
pub fn require_root() {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "this test needs root (overlayfs, mknod, chown): run the suite as root"
    );
}

/// One private wharf store, removed (with everything under it) on drop;
/// its containers are force-removed first, so a failing test leaves no
/// process, mount or cgroup behind.
pub struct Wharf {
    pub dir: tempfile::TempDir,
}

impl Drop for Wharf {
    fn drop(&mut self) {
        if !self.root().join("db.sqlite").exists() {
            return;
        }
        let ids = self.run(["ps", "-aq", "--no-trunc"]);
        for id in String::from_utf8_lossy(&ids.stdout).lines() {
            let _ = self.run(["rm", "-f", id]);
        }
        // Monitors finishing a `--rm` still write under the root.
        let _ = self.monitors_gone(10);
        // A root keeps its default bridge (and its rules) while it lives,
        // as docker keeps docker0, and a network its bridge: `system
        // prune` releases them.
        if self.bridges_up() {
            let _ = self.run(["system", "prune", "-f"]);
        }
        // Whatever a failed test left mounted under the root (deepest
        // first) goes too, or the temp dir's removal stops at it.
        let mut left = mounts_under(self);
        left.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in left {
            let _ = nix::mount::umount2(m.as_str(), nix::mount::MntFlags::MNT_DETACH);
        }
    }
}

/// Mount points under the store's root: none may outlive a test's containers.
pub fn mounts_under(w: &Wharf) -> Vec<String> {
    let root = w.root().display().to_string();
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
        .filter(|m| m.starts_with(&root))
        .collect()
}

/// Poll `f` until it holds, failing the test after `secs` seconds.
pub fn eventually(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !f() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

impl Wharf {
    pub fn new() -> Wharf {
        require_root();
        Wharf {
            dir: tempfile::Builder::new()
                .prefix("wharf-test-")
                .tempdir()
                .expect("temp dir"),
        }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// Wait until no monitor of this root runs: after `run --rm` returns,
    /// its monitor still releases the kernel's side (mounts, cgroups,
    /// files) in the background; after `stop`, the monitor still takes
    /// the rootfs and cgroups apart; after `rm`, a helper still deletes
    /// the container's files; after `network rm`, one deletes the bridge.
    pub fn settled(&self) {
        assert!(
            self.monitors_gone(10),
            "timed out waiting for the monitors to finish"
        );
    }

    /// Whether this root's monitors (and the helpers deleting its removed
    /// networks' bridges and containers' files) are all gone within
    /// `secs` seconds.
    fn monitors_gone(&self, secs: u64) -> bool {
        let root = self.root();
        let markers = ["monitor", "network-unlink", "trash-delete"]
            .map(|verb| format!("--root\0{}\0{verb}\0", root.display()));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let running = fs::read_dir("/proc").unwrap().flatten().any(|p| {
                fs::read(p.path().join("cmdline")).is_ok_and(|c| {
                    let c = String::from_utf8_lossy(&c);
                    markers.iter().any(|m| c.contains(m.as_str()))
                })
            });
            if !running {
                return true;
            }
            if std::time::Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Whether this root's default bridge is in the kernel.
    pub fn default_bridge_up(&self) -> bool {
        let bridge = wharf_network::names::RootNames::new(&self.root()).default_bridge();
        Path::new("/sys/class/net").join(bridge).exists()
    }

    /// The tag in this root's kernel object names (`wharf-<tag>`,
    /// `wb<tag>-…`, `wv<tag>…`).
    pub fn tag(&self) -> String {
        wharf_network::names::RootNames::new(&self.root()).tag
    }

    /// Whether any bridge of this root (its default bridge, a network's
    /// `wb<tag>-…`) is in the kernel.
    pub fn bridges_up(&self) -> bool {
        let prefix = format!("wb{}-", self.tag());
        self.default_bridge_up()
            || fs::read_dir("/sys/class/net")
                .into_iter()
                .flatten()
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with(&prefix))
    }

    /// The Linux bridge of this root's network `name`.
    pub fn bridge_of(&self, name: &str) -> String {
        let f = "{{index .Options \"com.docker.network.bridge.name\"}}";
        self.ok(["network", "inspect", name, "--format", f])
            .trim()
            .to_string()
    }

    /// A scratch directory for test files, inside the test's temp dir.
    pub fn scratch(&self) -> PathBuf {
        let p = self.dir.path().join("scratch");
        fs::create_dir_all(&p).unwrap();
        p
    }

    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = Command::new(env!("CARGO_BIN_EXE_wharf"));
        c.arg("--root").arg(self.root()).args(args);
        c
    }

    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command(args)
            .stdin(Stdio::null())
            .output()
            .expect("run wharf")
    }

    /// Run and require success; returns stdout.
    pub fn ok<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let out = self.run(&args);
        assert!(
            out.status.success(),
            "wharf {:?} failed ({}):\n{}",
            args,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Run and require failure; returns (exit code, stderr).
    pub fn fails<I, S>(&self, args: I) -> (i32, String)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let out = self.run(&args);
        assert!(
            !out.status.success(),
            "wharf {:?} should have failed:\n{}",
            args,
            String::from_utf8_lossy(&out.stdout)
        );
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Run with `input` on stdin.
    pub fn with_stdin<I, S>(&self, args: I, input: &[u8]) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        output_with_stdin(self.command(args), input)
    }

    /// Import the busybox rootfs as `reference`; returns the image ID.
    pub fn import_busybox(&self, reference: &str) -> String {
        let tar = busybox_rootfs_tar(&self.scratch());
        let out = self.ok([
            OsStr::new("import"),
            OsStr::new("--change"),
            OsStr::new("CMD [\"sh\"]"),
            tar.as_os_str(),
            OsStr::new(reference),
        ]);
        out.trim().to_string()
    }

    /// Every path under the root except the database files (which SQLite
    /// may touch on reads): what a failed command must leave unchanged.
    pub fn store_listing(&self) -> Vec<String> {
        let mut out = Vec::new();
        list_tree(&self.root(), &self.root(), &mut out);
        out.retain(|p| !p.starts_with("db.sqlite") && p != "gc.lock");
        out.sort();
        out
    }

    /// `save -o <scratch>/<file> names...`; returns the archive's path.
    pub fn save_to(&self, file: &str, names: &[&str]) -> PathBuf {
        let tar = self.scratch().join(file);
        let mut args = vec![OsStr::new("save"), OsStr::new("-o"), tar.as_os_str()];
        args.extend(names.iter().map(OsStr::new));
        self.ok(args);
        tar
    }

    /// `load -i path`; returns stdout.
    pub fn load(&self, path: &Path) -> String {
        self.ok([OsStr::new("load"), OsStr::new("-i"), path.as_os_str()])
    }

    pub fn image_id(&self, name: &str) -> String {
        self.ok(["image", "inspect", "--format", "{{.Id}}", name])
            .trim()
            .to_string()
    }
}

fn list_tree(base: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        out.push(p.strip_prefix(base).unwrap().display().to_string());
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            list_tree(base, &p, out);
        }
    }
}

const APPLETS: &[&str] = &[
    "sh", "echo", "cat", "ls", "env", "sleep", "true", "false", "id", "hostname", "wget", "httpd",
    "ps", "mkdir", "rm",
];

/// A small root filesystem: the host's static busybox plus applet links,
/// tarred reproducibly. Needs the busybox-static package.
pub fn busybox_rootfs_tar(scratch: &Path) -> PathBuf {
    let tar = scratch.join("busybox-rootfs.tar");
    if tar.exists() {
        return tar;
    }
    let busybox = Path::new("/bin/busybox");
    assert!(
        busybox.exists(),
        "/bin/busybox is missing: install the busybox-static package"
    );
    let root = scratch.join("busybox-rootfs");
    for d in ["bin", "etc", "tmp", "root", "proc", "sys", "dev", "var/www"] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    fs::copy(busybox, root.join("bin/busybox")).unwrap();
    for a in APPLETS {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(a)).unwrap();
    }
    fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )
    .unwrap();
    fs::write(root.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n").unwrap();
    fs::write(root.join("var/www/index.html"), "hello from busybox\n").unwrap();
    sh(Command::new("tar")
        .args([
            "--sort=name",
            "--mtime=@0",
            "--owner=0",
            "--group=0",
            "--numeric-owner",
            "-C",
        ])
        .arg(&root)
        .arg("-cf")
        .arg(&tar)
        .arg("."));
    tar
}

/// The script of a container whose loop swaps `/w` between a directory
/// (holding `secret`, "container") and a symlink to `canary` on the host,
/// writing `/looping` each round once it runs: what the `cp` and archive
/// race tests copy against. The link is made twice a round: what the race
/// needs is the moment it appears. `hold_us`: how long the directory
/// stays each round (a request that looks the path up twice needs it
/// there both times to succeed at all).
pub fn swap_script(canary: &Path, hold_us: u32) -> String {
    let link = format!("busybox ln -s {} /w", canary.display());
    let hold = if hold_us > 0 {
        format!("busybox usleep {hold_us}; ")
    } else {
        String::new()
    };
    format!(
        "while :; do rm -rf /w; mkdir /w; echo container > /w/secret; {hold}\
         rm -rf /w; {link}; rm /w; {link}; echo > /looping; done"
    )
}

/// A CLI under test, for tests that run the same steps with both engines:
/// wharf (with its own root) or docker.
pub type Cli<'a> = &'a dyn Fn(&[&str]) -> Output;

/// Run `args` with `cli` and require success; returns stdout.
pub fn cli_ok(cli: Cli, args: &[&str]) -> String {
    let out = cli(args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Run a helper command and require success; returns stdout.
/// A static build (`gcc -static`) of the C program `tests/SRC`, as
/// `scratch/NAME`: probes and attacks that run inside containers.
pub fn static_c_program(src: &str, scratch: &Path, name: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(src);
    let out = scratch.join(name);
    sh(Command::new("gcc")
        .args(["-static", "-O1", "-Wall", "-Werror", "-o"])
        .arg(&out)
        .arg(&src));
    out
}

/// The attack of CVE-2019-5736 (`confinement/exe_attack.c`) laid out in
/// `scratch/x`, to be mounted or copied at `/x`: the attacker, and
/// `/x/evil`, a script whose interpreter is `/proc/self/exe` — run by an
/// exec, it makes the runtime's own binary run inside the container.
pub fn exe_attack_dir(scratch: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch.join("x");
    std::fs::create_dir_all(&dir).unwrap();
    static_c_program("confinement/exe_attack.c", &dir, "attack");
    let evil = dir.join("evil");
    std::fs::write(&evil, "#!/proc/self/exe\n").unwrap();
    std::fs::set_permissions(&evil, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

pub fn sh(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The docker CLI matching the local 20.10 daemon. Interop tests need it
/// and fail (not skip) when it is missing: `.ci/run` starts dockerd.
pub fn docker() -> Command {
    let bin = std::env::var("DOCKER_BIN").unwrap_or_else(|_| "/usr/bin/docker".into());
    Command::new(bin)
}

/// Tests that read a container's cgroup files find them in cgroup v1
/// hierarchies (v1 or hybrid hosts); elsewhere they fail, saying why.
pub fn require_cgroup_v1() {
    assert!(
        Path::new("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists(),
        "this test reads cgroup v1 files: it needs a v1 or hybrid cgroup host"
    );
}

pub fn require_docker() {
    let out = docker()
        .args(["version", "--format", "{{.Server.Version}}"])
        .output();
    match out {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "docker daemon not reachable (start dockerd; .ci/run does): {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!("docker CLI missing (install docker.io): {e}"),
    }
}

/// Removes docker images on drop, so interop tests clean up on failure too.
pub struct DockerImages(pub Vec<String>);

impl Drop for DockerImages {
    fn drop(&mut self) {
        for img in &self.0 {
            let _ = docker().args(["rmi", "-f", img]).output();
        }
    }
}

/// Removes docker containers (with their anonymous volumes) and volumes
/// on drop, so interop tests clean up on failure too.
pub struct DockerObjects {
    pub containers: Vec<String>,
    pub volumes: Vec<String>,
}

impl Drop for DockerObjects {
    fn drop(&mut self) {
        for c in &self.containers {
            let _ = docker().args(["rm", "-f", "-v", c]).output();
        }
        for v in &self.volumes {
            let _ = docker().args(["volume", "rm", "-f", v]).output();
        }
    }
}

/// Import the busybox rootfs as `image` into `w` and into docker, with
/// `changes` (`--change` lines); the caller removes docker's copy
/// ([`DockerImages`]).
pub fn import_busybox_in_both(w: &Wharf, image: &str, changes: &[&str]) {
    let tar = busybox_rootfs_tar(&w.scratch());
    let mut args: Vec<&OsStr> = vec!["import".as_ref()];
    for c in changes {
        args.extend([OsStr::new("-c"), OsStr::new(c)]);
    }
    args.extend([tar.as_os_str(), image.as_ref()]);
    w.ok(&args);
    sh(docker().args(&args));
}

/// A build context under the test's scratch: `name` holding `files`
/// (path, content).
pub fn build_context(w: &Wharf, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = w.scratch().join(name);
    for (f, content) in files {
        let p = dir.join(f);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, content).unwrap();
    }
    dir
}

/// A name unique to this test process, for objects in shared places (docker).
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The repository's top directory (scripts/, examples/).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Import a `scripts/node-images.sh` tarball as `name`, with the official
/// node image's `PATH` and `CMD`.
pub fn import_node_image(w: &Wharf, tar: &str, name: &str) {
    w.ok([
        "import",
        "--change",
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "--change",
        "CMD [\"node\"]",
        tar,
        name,
    ]);
}

/// `redis:7` (scripts/debian-image.sh's redis-7, cached) with the
/// official image's `EXPOSE` and a `CMD` keeping its data in `/data`.
pub fn import_redis_image(w: &Wharf) {
    let redis = sh(Command::new(repo().join("scripts/debian-image.sh")).args([
        "redis-7",
        "--no-install-recommends",
        "redis-server",
    ]));
    w.ok([
        "import",
        "--change",
        "EXPOSE 6379",
        "--change",
        "CMD [\"redis-server\", \"--protected-mode\", \"no\", \"--dir\", \"/data\", \"--appendonly\", \"yes\"]",
        redis.trim(),
        "redis:7",
    ]);
}

/// `GET /` on 127.0.0.1:`port`: the whole response, or `None` while
/// nothing answers.
pub fn http_get(port: u16) -> Option<String> {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .ok()?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// A TCP port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Entry names of a tar stream, in order.
pub fn tar_names(tar: &[u8]) -> Vec<String> {
    let mut a = tar::Archive::new(tar);
    a.entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect()
}

/// A running command (an `events` stream, `logs -f`) whose output lines
/// are collected as they come; killed on drop.
pub struct Stream {
    pub child: Child,
    pub lines: Arc<Mutex<Vec<String>>>,
}

impl Stream {
    pub fn start(mut cmd: Command) -> Stream {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the command");
        let out = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(l);
            }
        });
        Stream { child, lines }
    }

    /// Wait until a line satisfies `done`; all lines so far.
    pub fn until(&self, what: &str, done: impl Fn(&str) -> bool) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let lines = self.lines.lock().unwrap().clone();
            if lines.iter().any(|l| done(l)) {
                return lines;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; got {lines:#?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run `cmd` with `input` on stdin; its output.
pub fn output_with_stdin(mut cmd: Command, input: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// A tar's entries, one line each ("type mode uid:gid size name -> link"),
/// sorted: how the build parity tests compare layers and exports.
pub fn tar_listing(data: &[u8]) -> Vec<String> {
    let mut a = tar::Archive::new(data);
    let mut out: Vec<String> = a
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let h = e.header();
            let name = e.path().unwrap().display().to_string();
            let link = e
                .link_name()
                .unwrap()
                .map(|l| format!(" -> {}", l.display()))
                .unwrap_or_default();
            format!(
                "{:?} {:o} {}:{} {} {}{link}",
                h.entry_type(),
                h.mode().unwrap() & 0o7777,
                h.uid().unwrap(),
                h.gid().unwrap(),
                h.size().unwrap(),
                name.trim_start_matches("./").trim_end_matches('/')
            )
        })
        .collect();
    out.sort();
    out
}

/// Docker's DOCKER-USER chain has no rule for `bridge`, and no marker
/// says it has.
#[track_caller]
pub fn assert_no_docker_user_rules(bridge: &str) {
    assert_eq!(docker_user_rules(bridge), (vec![], false), "{bridge}");
}

/// docker's DOCKER-USER rules for `bridge` (`iptables -S` lines), and
/// whether wharf's marker says it has them: what a removed bridge must
/// not leave behind. Needs docker's chain (dockerd running).
pub fn docker_user_rules(bridge: &str) -> (Vec<String>, bool) {
    let rules = sh(Command::new("iptables").args(["-w", "-S", "DOCKER-USER"]));
    let rules = rules
        .lines()
        .filter(|r| r.split_whitespace().any(|w| w == bridge))
        .map(str::to_string)
        .collect();
    let marker = Path::new("/run/wharf/docker-user").join(bridge).exists();
    (rules, marker)
}
