//! `wharf-runc`, the OCI runtime entry of the wharf binary: its runc
//! command line on a bundle, side by side with the real runc; its bad
//! input; and the real engines driving it — a private containerd 1.6
//! through `ctr run --runc-binary`, and a private dockerd 20.10 with
//! `--add-runtime wharf=…`. Each engine runs on its own temp root, socket
//! and state, and is stopped (by pid) with everything it made.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{
    busybox_rootfs_tar, eventually, exe_attack_dir, free_port, http_get, require_root, sh, unique,
};

/// A temp dir holding the `wharf-runc` symlink to the built binary.
struct Bin {
    dir: tempfile::TempDir,
}

impl Bin {
    fn new() -> Bin {
        require_root();
        let dir = tempfile::Builder::new()
            .prefix("wharf-runc-test-")
            .tempdir()
            .unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_wharf"), dir.path().join("wharf-runc"))
            .unwrap();
        Bin { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("wharf-runc")
    }

    fn scratch(&self) -> PathBuf {
        let p = self.dir.path().join("scratch");
        fs::create_dir_all(&p).unwrap();
        p
    }

    /// A bundle (`name/`) of the busybox rootfs and runc's spec template,
    /// its process `args`, no terminal.
    fn bundle(&self, name: &str, args: &[&str]) -> PathBuf {
        let tar = busybox_rootfs_tar(&self.scratch());
        let bundle = self.dir.path().join(name);
        fs::create_dir_all(bundle.join("rootfs")).unwrap();
        sh(Command::new("tar")
            .arg("-C")
            .arg(bundle.join("rootfs"))
            .arg("-xf")
            .arg(&tar));
        sh(Command::new(self.path()).arg("spec").current_dir(&bundle));
        let path = bundle.join("config.json");
        let mut spec: serde_json::Value =
            serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        spec["process"]["terminal"] = false.into();
        spec["process"]["args"] = args.iter().map(|a| a.to_string()).collect();
        fs::write(&path, serde_json::to_vec_pretty(&spec).unwrap()).unwrap();
        bundle
    }
}

/// One OCI runtime (`wharf-runc` or runc) on its own state root; the
/// containers left are force-deleted on drop.
struct Oci {
    bin: PathBuf,
    root: PathBuf,
}

impl Oci {
    fn new(bin: PathBuf, root: PathBuf) -> Oci {
        Oci { bin, root }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--root").arg(&self.root).args(args);
        c.stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Exit code and stderr.
    fn code(&self, args: &[&str]) -> (i32, String) {
        let out = self.run(args);
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn status(&self, id: &str) -> String {
        let out = self.run(&["state", id]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        v["status"].as_str().unwrap_or("").to_string()
    }

    /// `create` in `bundle` (its stdio to /dev/null: the init keeps them).
    fn create(&self, id: &str, bundle: &Path) -> i32 {
        self.cmd(&["create", "--bundle", bundle.to_str().unwrap(), id])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .code()
            .unwrap_or(-1)
    }

    fn ids(&self) -> Vec<String> {
        fs::read_dir(&self.root)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Oci {
    fn drop(&mut self) {
        for id in self.ids() {
            let _ = self.run(&["delete", "--force", &id]);
        }
    }
}

/// The cgroup directories named after `id` (any hierarchy, one level
/// under a parent): none may outlive a deleted container.
fn cgroups_of(id: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for ctrl in fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        let mut stack = vec![(ctrl.path(), 0)];
        while let Some((dir, depth)) = stack.pop() {
            for e in fs::read_dir(&dir).into_iter().flatten().flatten() {
                if !e.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                let name = e.file_name().to_string_lossy().into_owned();
                if name.ends_with(id) {
                    found.push(e.path());
                } else if depth < 2 {
                    stack.push((e.path(), depth + 1));
                }
            }
        }
    }
    found
}

/// The same lifecycle through runc and wharf-runc: the same exit codes,
/// states and outputs at every step.
#[test]
fn lifecycle_matches_runc() {
    let bin = Bin::new();
    let bundle = bin.bundle("bundle", &["sleep", "1000"]);
    let id = unique("wr-life");
    let mut seen = Vec::new();
    for (name, path) in [
        ("runc", PathBuf::from("/usr/sbin/runc")),
        ("wharf-runc", bin.path()),
    ] {
        let rt = Oci::new(path, bin.dir.path().join(format!("state-{name}")));
        let mut steps: Vec<String> = Vec::new();
        let mut step = |what: &str, v: String| steps.push(format!("{what}: {v}"));
        step("create", rt.create(&id, &bundle).to_string());
        step("state", rt.status(&id));
        step("create again", rt.create(&id, &bundle).to_string());
        step("start", rt.code(&["start", &id]).0.to_string());
        step("start again", rt.code(&["start", &id]).0.to_string());
        step("state", rt.status(&id));
        let out = rt.run(&["exec", &id, "sh", "-c", "echo in; exit 3"]);
        step(
            "exec",
            format!(
                "{} {}",
                out.status.code().unwrap(),
                String::from_utf8_lossy(&out.stdout).trim()
            ),
        );
        step(
            "exec missing",
            rt.code(&["exec", &id, "nonexist"]).0.to_string(),
        );
        let out = rt.run(&["ps", "--format", "json", &id]);
        let pids: Vec<i32> = serde_json::from_slice(&out.stdout).unwrap();
        step("ps count", pids.len().to_string());
        step("pause", rt.code(&["pause", &id]).0.to_string());
        step("state", rt.status(&id));
        step("pause again", rt.code(&["pause", &id]).0.to_string());
        step("resume", rt.code(&["resume", &id]).0.to_string());
        step("resume again", rt.code(&["resume", &id]).0.to_string());
        step("delete running", rt.code(&["delete", &id]).0.to_string());
        step("kill", rt.code(&["kill", &id, "KILL"]).0.to_string());
        eventually(10, "the container to stop", || rt.status(&id) == "stopped");
        step(
            "kill stopped",
            rt.code(&["kill", &id, "KILL"]).0.to_string(),
        );
        step("delete", rt.code(&["delete", &id]).0.to_string());
        step("state gone", rt.code(&["state", &id]).0.to_string());
        step(
            "delete --force gone",
            rt.code(&["delete", "--force", &id]).0.to_string(),
        );
        assert!(rt.ids().is_empty(), "{name} left state: {:?}", rt.ids());
        seen.push(steps);
    }
    assert_eq!(seen[0], seen[1], "runc (left) vs wharf-runc (right)");
    assert!(seen[1].contains(&"exec: 3 in".to_string()), "{:?}", seen[1]);
    assert!(cgroups_of(&id).is_empty(), "{:?}", cgroups_of(&id));
}

/// Poststop hooks run at `delete`; a failing one is a warning and the
/// rest run and the delete completes (runtime-spec's lifecycle; runc
/// 1.1 stops at the failing hook, so this is checked on wharf-runc
/// alone): exit 0, the warning in `--log`, no state, no cgroup.
#[test]
fn failing_poststop_hook_only_warns() {
    let bin = Bin::new();
    let bundle = bin.bundle("bundle", &["true"]);
    let id = unique("wr-poststop");
    let marker = bin.dir.path().join("poststop-ran");
    let path = bundle.join("config.json");
    let mut spec: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    spec["linux"]["cgroupsPath"] = format!("/{id}").into();
    spec["hooks"] = serde_json::json!({"poststop": [
        {"path": "/bin/false", "args": ["false"]},
        {"path": "/bin/sh", "args": ["sh", "-c", format!("echo called >> {}", marker.display())]},
    ]});
    fs::write(&path, serde_json::to_vec_pretty(&spec).unwrap()).unwrap();
    let rt = Oci::new(bin.path(), bin.dir.path().join("state"));
    assert_eq!(rt.create(&id, &bundle), 0);
    assert_eq!(rt.code(&["start", &id]).0, 0);
    eventually(10, "the container to stop", || rt.status(&id) == "stopped");
    let log = bin.dir.path().join("log.json");
    let log_arg = log.to_str().unwrap();
    let (code, stderr) = rt.code(&["--log", log_arg, "--log-format", "json", "delete", &id]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(fs::read_to_string(&marker).unwrap(), "called\n");
    let logged = fs::read_to_string(&log).unwrap_or_default();
    assert!(
        logged.contains("\"level\":\"warning\"") && logged.contains("poststop hook"),
        "{logged}"
    );
    assert!(rt.ids().is_empty(), "left state: {:?}", rt.ids());
    assert!(cgroups_of(&id).is_empty(), "{:?}", cgroups_of(&id));
}

/// `run` in the foreground: the process's output and exit code, and the
/// container deleted after it; `--pid-file` and a `--process` exec.
#[test]
fn run_foreground_and_exec_process() {
    let bin = Bin::new();
    let rt = Oci::new(bin.path(), bin.dir.path().join("state"));
    let bundle = bin.bundle("b1", &["sh", "-c", "echo hello from run; exit 7"]);
    let id = unique("wr-run");
    let out = rt.run(&["run", "--bundle", bundle.to_str().unwrap(), &id]);
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from run\n");
    assert!(rt.ids().is_empty(), "run left {:?}", rt.ids());

    let bundle = bin.bundle("b2", &["sleep", "1000"]);
    let pid_file = bin.scratch().join("init.pid");
    let code = rt
        .cmd(&[
            "create",
            "--bundle",
            bundle.to_str().unwrap(),
            "--pid-file",
            pid_file.to_str().unwrap(),
            &id,
        ])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(code.success());
    let state: serde_json::Value = serde_json::from_slice(&rt.run(&["state", &id]).stdout).unwrap();
    assert_eq!(
        fs::read_to_string(&pid_file).unwrap().trim(),
        state["pid"].to_string()
    );
    assert_eq!(state["bundle"], bundle.to_str().unwrap());
    assert_eq!(state["status"], "created");
    assert_eq!(rt.code(&["start", &id]).0, 0);
    let process = bin.scratch().join("process.json");
    fs::write(
        &process,
        r#"{"terminal":false,"user":{"uid":65534,"gid":65534},"args":["sh","-c","echo $FOO; id -u; pwd"],"env":["PATH=/bin","FOO=bar"],"cwd":"/tmp"}"#,
    )
    .unwrap();
    let out = rt.run(&["exec", "--process", process.to_str().unwrap(), &id]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "bar\n65534\n/tmp\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = rt.run(&[
        "exec",
        "-e",
        "A=1",
        "--cwd",
        "/etc",
        &id,
        "sh",
        "-c",
        "echo $A; pwd",
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1\n/etc\n");
    // `exec -t` from a terminal (script(1) gives it one): a pty of its
    // own, relayed, and its exit code.
    let line = format!(
        "{} --root {} exec -t -e FOO=bar {id} sh -c 'tty; echo $FOO; exit 6'",
        bin.path().display(),
        rt.root.display()
    );
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6));
    // script(1) answers its stdin's EOF with the terminal's EOF character,
    // which our raw terminal has as NUL: the pty may echo it as "^@".
    let text = String::from_utf8_lossy(&out.stdout)
        .replace('\r', "")
        .replace("^@", "");
    assert!(
        text.contains("/dev/pts/") && text.ends_with("\nbar\n"),
        "{text:?}"
    );
    // update: the limits land in the container's cgroup.
    let out = rt
        .cmd(&["update", "--resources", "-", &id])
        .stdin(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .unwrap()
                .write_all(br#"{"pids":{"limit":42}}"#)?;
            c.wait()
        })
        .unwrap();
    assert!(out.success());
    let pids_max = cgroups_of(&id)
        .into_iter()
        .map(|d| d.join("pids.max"))
        .find(|f| f.exists())
        .expect("a pids cgroup");
    assert_eq!(fs::read_to_string(pids_max).unwrap().trim(), "42");
    let stats = rt.run(&["events", "--stats", &id]);
    let stats: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert_eq!(stats["type"], "stats");
    assert_eq!(stats["data"]["pids"]["limit"], 42);
    assert_eq!(rt.code(&["delete", "--force", &id]).0, 0);
    assert!(rt.ids().is_empty());
    assert!(cgroups_of(&id).is_empty(), "{:?}", cgroups_of(&id));
}

/// Bad input: one clear line, runc's exit code (1), nothing left behind —
/// no state directory, no cgroup.
#[test]
fn bad_input_one_line_and_nothing_left() {
    let bin = Bin::new();
    let rt = Oci::new(bin.path(), bin.dir.path().join("state"));
    let runc = Oci::new("/usr/sbin/runc".into(), bin.dir.path().join("state-runc"));
    let id = unique("wr-bad");

    let bundle = bin.bundle("invalid", &["true"]);
    fs::write(bundle.join("config.json"), "{bad").unwrap();
    let b = bundle.to_str().unwrap();
    let (code, err) = rt.code(&["create", "--bundle", b, &id]);
    assert_eq!((code, runc.code(&["create", "--bundle", b, &id]).0), (1, 1));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("level=error") && err.contains("config.json: key must be a string"),
        "{err}"
    );

    let bundle = bin.bundle("norootfs", &["true"]);
    fs::remove_dir_all(bundle.join("rootfs")).unwrap();
    let b = bundle.to_str().unwrap();
    let (code, err) = rt.code(&["create", "--bundle", b, &id]);
    assert_eq!((code, runc.code(&["create", "--bundle", b, &id]).0), (1, 1));
    assert!(
        err.contains(&format!(
            "invalid rootfs: stat {}/rootfs: no such file or directory",
            b
        )),
        "{err}"
    );

    let bundle = bin.bundle("noexec", &["nonexist"]);
    let b = bundle.to_str().unwrap();
    let (code, err) = rt.code(&["create", "--bundle", b, &id]);
    assert_eq!((code, runc.code(&["create", "--bundle", b, &id]).0), (1, 1));
    assert!(
        err.contains("exec: \\\"nonexist\\\": executable file not found in $PATH"),
        "{err}"
    );

    for verb in ["state", "start", "kill", "delete", "pause", "resume", "ps"] {
        let (code, err) = rt.code(&[verb, "nosuch"]);
        assert_eq!((code, runc.code(&[verb, "nosuch"]).0), (1, 1), "{verb}");
        assert!(err.contains("msg=\"container does not exist\""), "{err}");
    }
    let (code, _) = rt.code(&["exec", "nosuch", "true"]);
    assert_eq!((code, runc.code(&["exec", "nosuch", "true"]).0), (255, 255));

    // --log FILE --log-format json: the JSON line in the file (where
    // containerd's shim reads it), the bare message on stderr.
    let log = bin.scratch().join("log.json");
    let (code, err) = rt.code(&[
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "state",
        "nosuch",
    ]);
    assert_eq!((code, err.as_str()), (1, "container does not exist\n"));
    let line: serde_json::Value =
        serde_json::from_str(fs::read_to_string(&log).unwrap().trim()).unwrap();
    assert_eq!(line["level"], "error");
    assert_eq!(line["msg"], "container does not exist");

    let (code, err) = rt.code(&["--systemd-cgroup", "create", "--bundle", b, &id]);
    assert_eq!(code, 1);
    assert!(
        err.contains("systemd cgroup driver is not supported"),
        "{err}"
    );

    assert!(rt.ids().is_empty(), "state left: {:?}", rt.ids());
    assert!(cgroups_of(&id).is_empty(), "{:?}", cgroups_of(&id));
}

/// `spec` writes runc's template (the same document, keys aside) and
/// never over a config.json; `features` is the OCI features document.
#[test]
fn spec_and_features_as_runc() {
    let bin = Bin::new();
    let ours = bin.scratch().join("ours");
    let theirs = bin.scratch().join("theirs");
    for d in [&ours, &theirs] {
        fs::create_dir_all(d).unwrap();
    }
    sh(Command::new(bin.path())
        .args(["spec", "--bundle"])
        .arg(&ours));
    sh(Command::new("runc").args(["spec", "--bundle"]).arg(&theirs));
    let load = |d: &Path| -> serde_json::Value {
        let mut v: serde_json::Value =
            serde_json::from_slice(&fs::read(d.join("config.json")).unwrap()).unwrap();
        // Capability sets are sets: their order is not part of the spec.
        if let Some(caps) = v["process"]["capabilities"].as_object_mut() {
            for set in caps.values_mut() {
                if let Some(a) = set.as_array_mut() {
                    a.sort_by_key(|c| c.to_string());
                }
            }
        }
        v.as_object_mut().unwrap().remove("ociVersion");
        v
    };
    assert_eq!(load(&ours), load(&theirs));
    let out = Command::new(bin.path())
        .args(["spec", "--bundle"])
        .arg(&ours)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("File config.json exists"));
    let features: serde_json::Value =
        serde_json::from_slice(&sh(Command::new(bin.path()).arg("features")).into_bytes()).unwrap();
    assert_eq!(features["ociVersionMin"], "1.0.0");
    assert_eq!(features["linux"]["cgroup"]["systemd"], false);
    let version = sh(Command::new(bin.path()).arg("--version"));
    assert!(
        version.starts_with("wharf-runc version ") && version.contains("\nspec: 1."),
        "{version}"
    );
    assert!(features["hooks"]
        .as_array()
        .unwrap()
        .contains(&"poststop".into()));
}

/// A private containerd on a temp root, state and socket; stopped (by
/// pid) on drop with its tasks and containers.
struct Containerd {
    dir: tempfile::TempDir,
    child: Child,
    namespace: String,
}

impl Containerd {
    fn start() -> Containerd {
        require_root();
        let dir = tempfile::Builder::new()
            .prefix("wharf-runc-ctrd-")
            .tempdir()
            .unwrap();
        let d = dir.path().display();
        let config = dir.path().join("config.toml");
        fs::write(
            &config,
            format!(
                "version = 2\nroot = \"{d}/root\"\nstate = \"{d}/state\"\n\
                 disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
                 [grpc]\n  address = \"{d}/c.sock\"\n[ttrpc]\n  address = \"{d}/c.sock.ttrpc\"\n\
                 [debug]\n  address = \"\"\n[metrics]\n  address = \"\"\n"
            ),
        )
        .unwrap();
        let log = fs::File::create(dir.path().join("containerd.log")).unwrap();
        let child = Command::new("containerd")
            .arg("--config")
            .arg(&config)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("containerd (the Debian package containerd) is needed");
        let c = Containerd {
            dir,
            child,
            namespace: unique("wr"),
        };
        eventually(30, "containerd to serve", || {
            c.ctr(&["version"]).status.success()
        });
        c
    }

    fn ctr_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ctr");
        c.arg("--address")
            .arg(self.dir.path().join("c.sock"))
            .arg("--namespace")
            .arg(&self.namespace)
            .args(args)
            .stdin(Stdio::null());
        c
    }

    fn ctr(&self, args: &[&str]) -> Output {
        self.ctr_cmd(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.ctr(args);
        assert!(
            out.status.success(),
            "ctr {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn runc_root(&self) -> PathBuf {
        self.dir.path().join("runc")
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let tasks = String::from_utf8_lossy(&self.ctr(&["task", "ls", "-q"]).stdout).into_owned();
        for t in tasks.lines() {
            let _ = self.ctr(&["task", "kill", "-s", "SIGKILL", t]);
            let _ = self.ctr(&["task", "delete", "--force", t]);
        }
        let containers =
            String::from_utf8_lossy(&self.ctr(&["container", "ls", "-q"]).stdout).into_owned();
        for c in containers.lines() {
            let _ = self.ctr(&["container", "delete", c]);
        }
        // SAFETY: kill with our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
        let _ = Command::new("umount")
            .arg("-R")
            .arg(self.dir.path().join("state"))
            .output();
        // The namespace's parent cgroup, which runtimes leave (runc too).
        for c in controllers() {
            let _ = fs::remove_dir(c.join(&self.namespace));
        }
    }
}

/// containerd 1.6 drives wharf-runc for busybox: `ctr run` (output back
/// through containerd's FIFOs, the exit code), a detached task with its
/// log file, exec, task list, ps, pause/resume, kill, delete.
#[test]
fn containerd_runs_busybox_with_wharf_runc() {
    let bin = Bin::new();
    let ctrd = Containerd::start();
    // The busybox image, as wharf saves it, into containerd's store.
    let w = common::Wharf::new();
    w.import_busybox("busybox-wr:1");
    let image = w.save_to("busybox.tar", &["busybox-wr:1"]);
    ctrd.ok(&[
        "image",
        "import",
        "--base-name",
        "docker.io/library/busybox-wr",
        image.to_str().unwrap(),
    ]);
    let img = "docker.io/library/busybox-wr:1";
    let runc = bin.path();
    let runc_root = ctrd.runc_root();
    let fifo_dir = ctrd.dir.path().join("fifo");
    let common_flags = |args: &mut Vec<String>| {
        args.extend([
            "--runc-binary".to_string(),
            runc.display().to_string(),
            "--runc-root".to_string(),
            runc_root.display().to_string(),
            "--fifo-dir".to_string(),
            fifo_dir.display().to_string(),
        ]);
    };

    let mut args: Vec<String> = vec!["run".into(), "--rm".into()];
    common_flags(&mut args);
    args.extend([img, "t1", "sh", "-c", "echo hello from ctr; exit 3"].map(String::from));
    let out = ctrd.ctr(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from ctr\n");
    assert_eq!(out.status.code(), Some(3));

    // A command that is not there: containerd reports the runtime's line.
    let mut args: Vec<String> = vec!["run".into(), "--rm".into()];
    common_flags(&mut args);
    args.extend([img, "t3", "nonexist"].map(String::from));
    let out = ctrd.ctr(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_not_found(&out);
    let _ = ctrd.ctr(&["container", "delete", "t3"]);

    let log = ctrd.dir.path().join("t2.log");
    let mut args: Vec<String> = vec!["run".into(), "-d".into()];
    common_flags(&mut args);
    args.extend(["--log-uri".to_string(), format!("file://{}", log.display())]);
    args.extend(
        [
            img,
            "t2",
            "sh",
            "-c",
            "echo started; while true; do echo tick; sleep 0.1; done",
        ]
        .map(String::from),
    );
    ctrd.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    eventually(10, "the task's log", || {
        fs::read_to_string(&log).is_ok_and(|l| l.starts_with("started\ntick\n"))
    });
    let tasks = ctrd.ok(&["task", "ls"]);
    assert!(
        tasks
            .lines()
            .any(|l| l.starts_with("t2 ") && l.ends_with("RUNNING")),
        "{tasks}"
    );
    let out = ctrd.ctr(&[
        "task",
        "exec",
        "--exec-id",
        "e1",
        "t2",
        "sh",
        "-c",
        "echo in exec; exit 4",
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "in exec\n");
    assert_eq!(out.status.code(), Some(4));
    let out = ctrd.ctr(&["task", "exec", "--exec-id", "e2", "t2", "nonexist"]);
    assert_not_found(&out);
    assert!(ctrd.ok(&["task", "ps", "t2"]).lines().count() >= 2);
    ctrd.ok(&["task", "pause", "t2"]);
    assert!(ctrd.ok(&["task", "ls"]).contains("PAUSED"));
    ctrd.ok(&["task", "resume", "t2"]);
    ctrd.ok(&["task", "kill", "-s", "SIGKILL", "t2"]);
    eventually(10, "the task to stop", || {
        ctrd.ok(&["task", "ls"]).contains("STOPPED")
    });
    ctrd.ok(&["task", "delete", "t2"]);
    ctrd.ok(&["container", "delete", "t2"]);
    assert_eq!(ctrd.ok(&["task", "ls", "-q"]), "");
    let runtime = Oci::new(bin.path(), runc_root.join(&ctrd.namespace));
    assert!(runtime.ids().is_empty(), "left: {:?}", runtime.ids());
    // ctr puts a task's cgroup at /<namespace>/<id>: gone with the task.
    let left: Vec<PathBuf> = controllers()
        .iter()
        .flat_map(|c| ["t1", "t2", "t3"].map(|t| c.join(&ctrd.namespace).join(t)))
        .filter(|d| d.exists())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// The cgroup hierarchies' roots (one per v1 controller, or the v2 root).
fn controllers() -> Vec<PathBuf> {
    let root = Path::new("/sys/fs/cgroup");
    let mut all: Vec<PathBuf> = fs::read_dir(root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    all.push(root.to_path_buf());
    all
}

/// A private dockerd (its own data-root, exec-root, pidfile, socket and
/// bridge; no iptables, so the main dockerd's rules are untouched), with
/// wharf-runc added as the runtime `wharf`. Stopped by pid on drop.
struct Dockerd {
    dir: tempfile::TempDir,
    child: Child,
    bridge: String,
}

impl Dockerd {
    fn start(runc: &Path) -> Dockerd {
        require_root();
        let dir = tempfile::Builder::new()
            .prefix("wharf-runc-dockerd-")
            .tempdir()
            .unwrap();
        let bridge = format!("wrbr{}", std::process::id() % 100_000);
        // Off the other tests' subnets (10.213-10.219, see network.rs).
        let net = format!("10.233.{}.1/24", std::process::id() % 250);
        sh(Command::new("ip").args(["link", "add", &bridge, "type", "bridge"]));
        sh(Command::new("ip").args(["addr", "add", &net, "dev", &bridge]));
        sh(Command::new("ip").args(["link", "set", &bridge, "up"]));
        let d = dir.path();
        // Its own (empty) config: the host's daemon.json is the main dockerd's.
        fs::write(d.join("daemon.json"), "{}").unwrap();
        let log = fs::File::create(d.join("dockerd.log")).unwrap();
        let child = Command::new("dockerd")
            .arg("--config-file")
            .arg(d.join("daemon.json"))
            .arg("--data-root")
            .arg(d.join("data"))
            .arg("--exec-root")
            .arg(d.join("exec"))
            .arg("--pidfile")
            .arg(d.join("docker.pid"))
            .arg("-H")
            .arg(format!("unix://{}", d.join("d.sock").display()))
            .args(["--bridge", &bridge, "--iptables=false", "--ip6tables=false"])
            .arg("--add-runtime")
            .arg(format!("wharf={}", runc.display()))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("dockerd (docker.io) is needed");
        let dockerd = Dockerd { dir, child, bridge };
        eventually(60, "the private dockerd to serve", || {
            dockerd.docker(&["version"]).status.success()
        });
        dockerd
    }

    fn docker_cmd(&self, args: &[&str]) -> Command {
        let mut c = common::docker();
        c.arg("-H")
            .arg(format!(
                "unix://{}",
                self.dir.path().join("d.sock").display()
            ))
            .args(args)
            .stdin(Stdio::null());
        c
    }

    fn docker(&self, args: &[&str]) -> Output {
        self.docker_cmd(args).output().unwrap()
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let ids = String::from_utf8_lossy(&self.docker(&["ps", "-aq"]).stdout).into_owned();
        for id in ids.lines() {
            let _ = self.docker(&["rm", "-f", id]);
        }
        // SAFETY: kill with our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .output();
        let _ = Command::new("umount")
            .arg("-R")
            .arg(self.dir.path().join("exec"))
            .output();
    }
}

/// dockerd 20.10 runs containers with `--runtime wharf`: output and exit
/// codes as with its default runc, a published port on loopback, exec.
#[test]
fn dockerd_runs_busybox_with_runtime_wharf() {
    let bin = Bin::new();
    let dockerd = Dockerd::start(&bin.path());
    let tar = busybox_rootfs_tar(&bin.scratch());
    let out = dockerd.docker(&[
        "import",
        "--change",
        "CMD [\"sh\"]",
        tar.to_str().unwrap(),
        "busybox-import",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = dockerd.docker(&[
        "run",
        "--rm",
        "--runtime",
        "wharf",
        "busybox-import",
        "echo",
        "hi",
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n");
    assert!(out.status.success());
    for runtime in ["wharf", "runc"] {
        let out = dockerd.docker(&[
            "run",
            "--rm",
            "--runtime",
            runtime,
            "busybox-import",
            "sh",
            "-c",
            "exit 5",
        ]);
        assert_eq!(out.status.code(), Some(5), "{runtime}");
        let out = dockerd.docker(&[
            "run",
            "--rm",
            "--runtime",
            runtime,
            "busybox-import",
            "nonexist",
        ]);
        assert_eq!(out.status.code(), Some(127), "{runtime}");
        assert_not_found(&out);
    }

    // A published port, answered through docker's proxy on loopback.
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    let out = dockerd.docker(&[
        "run",
        "-d",
        "--runtime",
        "wharf",
        "-p",
        &publish,
        "busybox-import",
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/var/www",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    let body = loop {
        if let Some(b) = http_get(port).filter(|b| b.starts_with("HTTP/1.")) {
            break b;
        }
        assert!(
            Instant::now() < deadline,
            "the published port never answered"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(body.ends_with("hello from busybox\n"), "{body}");
    let out = dockerd.docker(&["exec", &id, "sh", "-c", "echo exec ok; exit 2"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "exec ok\n");
    assert_eq!(out.status.code(), Some(2));
    let out = dockerd.docker(&["rm", "-f", &id]);
    assert!(out.status.success());
    // The runtime's state under dockerd's exec-root is gone with it.
    let state = dockerd.dir.path().join("exec/runtime-wharf/moby");
    let left: Vec<_> = fs::read_dir(&state)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

/// A failed start of `nonexist`, with runc's words for it (which dockerd
/// maps to 127).
fn assert_not_found(out: &Output) {
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("exec: \"nonexist\": executable file not found in $PATH"),
        "{err}"
    );
}

/// CVE-2019-5736 tried for real through `wharf-runc exec`, as containerd
/// runs it (no wharf process stays behind to keep the binary busy): as in
/// `confinement::exec_never_exposes_the_wharf_binary`, the container must
/// never get hold of the runtime's binary.
#[test]
fn exec_never_exposes_the_runtime_binary() {
    let bin = Bin::new();
    let bundle = bin.bundle("attacked", &["/x/attack", "/x/result", "6"]);
    let x = exe_attack_dir(&bin.scratch());
    sh(Command::new("cp")
        .arg("-a")
        .arg(&x)
        .arg(bundle.join("rootfs/x")));
    let x = bundle.join("rootfs/x");
    // runc's template has a read-only root; the attacker writes its verdict.
    let config = bundle.join("config.json");
    let mut spec: serde_json::Value = serde_json::from_slice(&fs::read(&config).unwrap()).unwrap();
    spec["root"]["readonly"] = false.into();
    fs::write(&config, serde_json::to_vec(&spec).unwrap()).unwrap();
    let state = bin.dir.path().join("state");
    let runc = |args: &[&str]| {
        Command::new(bin.path())
            .arg("--root")
            .arg(&state)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
    };
    let id = unique("cve");
    let bundle_arg = bundle.to_str().unwrap();
    assert!(runc(&["create", "--bundle", bundle_arg, &id]).success());
    struct Delete<'a>(&'a dyn Fn(&[&str]) -> std::process::ExitStatus, &'a str);
    impl Drop for Delete<'_> {
        fn drop(&mut self) {
            (self.0)(&["delete", "--force", self.1]);
        }
    }
    let _delete = Delete(&runc, &id);
    assert!(runc(&["start", &id]).success());
    for _ in 0..5 {
        assert!(
            !runc(&["exec", &id, "/x/evil"]).success(),
            "the evil script ran"
        );
    }
    eventually(20, "the attacker's verdict", || x.join("result").exists());
    let verdict = fs::read_to_string(x.join("result")).unwrap();
    let caught = fs::read_to_string(x.join("result.caught")).unwrap_or_default();
    assert_eq!(
        verdict.trim(),
        "notfound",
        "the container got hold of {caught}"
    );
}
