//! A wharf client with its own store, docker config dir and certs.d, and
//! helpers that make and push test images.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use crate::common::{sh, unique, Wharf};
use crate::registry_env::Registry;

/// A wharf store with its own docker config dir and certs.d.
pub struct Client {
    pub w: Wharf,
}

impl Client {
    pub fn new() -> Client {
        Client { w: Wharf::new() }
    }

    pub fn config_dir(&self) -> PathBuf {
        self.w.dir.path().join("docker-config")
    }

    pub fn certs_dir(&self) -> PathBuf {
        self.w.dir.path().join("certs.d")
    }

    pub fn cmd<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(&self, args: I) -> Command {
        let mut c = self.w.command(args);
        c.env("DOCKER_CONFIG", self.config_dir())
            .env("WHARF_CERTS_D", self.certs_dir())
            .env("WHARF_REGISTRY_TIMEOUT", "3")
            .env_remove("WHARF_INSECURE_REGISTRIES");
        c
    }

    pub fn run<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(&self, args: I, stdin: &[u8]) -> Output {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        {
            use std::io::Write;
            let mut i = child.stdin.take().unwrap();
            let _ = i.write_all(stdin);
        }
        child.wait_with_output().unwrap()
    }

    pub fn ok<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(&self, args: I) -> String {
        let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let out = self.run(&args, b"");
        assert!(
            out.status.success(),
            "wharf {args:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Run, require failure; returns (exit code, stderr).
    pub fn fails<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(&self, args: I) -> (i32, String) {
        let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let out = self.run(&args, b"");
        assert!(
            !out.status.success(),
            "wharf {args:?} should have failed:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// A failing pull leaves the store exactly as it was, and no partial files.
    pub fn pull_fails_cleanly(&self, name: &str, expect: &[&str]) -> String {
        let images = self.ok(["images", "-q"]);
        let before = self.w.store_listing();
        let (code, err) = self.fails(["pull", name]);
        assert_eq!(code, 1, "pull failures exit 1: {err}");
        for e in expect {
            assert!(err.contains(e), "expected {e:?} in: {err}");
        }
        assert_eq!(err.trim().lines().count(), 1, "one clear line: {err}");
        assert_eq!(self.w.store_listing(), before, "the store changed: {err}");
        assert_eq!(self.ok(["images", "-q"]), images);
        err
    }
}

/// Import busybox as `reference` and push it; returns the pushed digest.
pub fn push_busybox(c: &Client, reference: &str) -> String {
    c.w.import_busybox(reference);
    let out = c.ok(["push", reference]);
    let line = out
        .lines()
        .find(|l| l.contains(": digest: sha256:"))
        .unwrap_or_else(|| panic!("no digest line in: {out}"));
    line.split_whitespace().nth(2).unwrap().to_string()
}

/// Import a one-file image unlike any other as `reference`.
pub fn import_unique(c: &Client, reference: &str) {
    import_unique_sized(c, reference, 300_000);
}

pub fn import_unique_sized(c: &Client, reference: &str, size: u32) {
    let dir = c.w.scratch().join(unique("unique"));
    std::fs::create_dir_all(&dir).unwrap();
    let data: Vec<u8> = (0..size)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(dir.join("data"), data).unwrap();
    std::fs::write(dir.join("marker"), unique("marker")).unwrap();
    let tar = dir.with_extension("tar");
    sh(Command::new("tar")
        .arg("-C")
        .arg(&dir)
        .arg("-cf")
        .arg(&tar)
        .arg("."));
    c.ok([OsStr::new("import"), tar.as_os_str(), OsStr::new(reference)]);
}

/// The registry's layer blob file (the biggest) and its digest.
pub fn layer_blob(reg: &Registry) -> (PathBuf, String) {
    let path = reg
        .blob_files()
        .into_iter()
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    let hex = path
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    (path, hex)
}
