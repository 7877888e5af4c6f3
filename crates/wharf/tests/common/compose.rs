//! Helpers for the compose tests: a project directory, `wharf compose` and
//! `docker compose` (the v2.40.3 plugin, on dockerd) run in it, and a
//! guard that brings docker's side down whatever happens.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::{docker, Wharf};

/// A compose project: a directory with its files, and its name.
pub struct Project {
    pub dir: PathBuf,
    pub name: String,
}

impl Project {
    /// A project named `name` in a new directory under `w`'s scratch.
    pub fn new(w: &Wharf, name: &str, compose_yaml: &str) -> Project {
        let dir = w.scratch().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("compose.yaml"), compose_yaml).unwrap();
        Project {
            dir,
            name: name.to_string(),
        }
    }

    pub fn write(&self, path: &str, text: &str) {
        let p = self.dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// `wharf compose -p NAME ARGS` in the project's directory.
    pub fn wharf<I, S>(&self, w: &Wharf, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        w.command(["compose", "-p", &self.name])
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .output()
            .expect("run wharf compose")
    }

    /// `docker compose -p NAME ARGS` in the project's directory.
    pub fn docker<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        compose_command(&self.dir)
            .args(["compose", "-p", &self.name])
            .args(args)
            .output()
            .expect("run docker compose")
    }
}

/// The docker CLI for `docker compose`, in `dir`, without a terminal.
pub fn compose_command(dir: &Path) -> Command {
    let mut c = docker();
    c.current_dir(dir).stdin(Stdio::null());
    c
}

/// Require `docker compose` v2 (installed by `scripts/deps.sh test`).
pub fn require_docker_compose() {
    super::require_docker();
    let out = docker().args(["compose", "version"]).output();
    match out {
        Ok(o) if o.status.success() && String::from_utf8_lossy(&o.stdout).contains("v2.") => {}
        _ => panic!("docker compose v2 is missing: run scripts/deps.sh test"),
    }
}

/// Brings docker's side of a project down (containers, networks,
/// volumes) on drop, so a failing test leaves nothing in dockerd.
pub struct DockerProject<'a>(pub &'a Project);

impl Drop for DockerProject<'_> {
    fn drop(&mut self) {
        let _ = self.0.docker(["down", "-v", "-t", "0", "--remove-orphans"]);
    }
}

/// Brings wharf's side down on drop (the store goes with the `Wharf`
/// anyway; this stops containers first so the test ends quickly).
pub struct WharfProject<'a>(pub &'a Wharf, pub &'a Project);

impl Drop for WharfProject<'_> {
    fn drop(&mut self) {
        let _ = self
            .1
            .wharf(self.0, ["down", "-v", "-t", "0", "--remove-orphans"]);
    }
}

pub fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Lines of `text` sorted (parallel work prints in any order).
pub fn sorted_lines(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text.lines().map(str::to_string).collect();
    v.sort();
    v
}

/// The progress lines of a compose run (its stderr, minus logrus
/// warnings such as Bake's, which only Docker prints).
pub fn progress_lines(out: &Output) -> Vec<String> {
    let text = String::from_utf8_lossy(&out.stderr);
    let mut v: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with("time="))
        .map(str::to_string)
        .collect();
    v.sort();
    v
}
