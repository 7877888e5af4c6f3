//! `--ssh` and `RUN --mount=type=ssh`: agent sockets forwarded into RUN
//! steps. `--ssh ID[=SOCKET|KEY[,KEY...]]` (ID `default` takes
//! `$SSH_AUTH_SOCK` when no path is given) names an agent socket, bound at
//! the mount's target (`/run/buildkit/ssh_agent.N` by default) with
//! `SSH_AUTH_SOCK` pointing at the first; key files are loaded into an
//! `ssh-agent` of the build's own (BuildKit's client does the same in
//! process), stopped when the build ends.

use std::collections::BTreeMap;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{BuildError, BuildResult};

/// The agents of a build, by ID; agents it started stop on drop.
#[derive(Debug, Default)]
pub struct SshAgents {
    pub sockets: BTreeMap<String, PathBuf>,
    started: Vec<Child>,
    /// The started agents' sockets, removed after them.
    scratch: Option<tempdir::Dir>,
}

mod tempdir {
    /// A private directory for an agent's socket, removed on drop.
    #[derive(Debug)]
    pub struct Dir(pub std::path::PathBuf);

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Drop for SshAgents {
    fn drop(&mut self) {
        for child in &mut self.started {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl SshAgents {
    /// Parse the `--ssh` flags as docker's client does (its messages);
    /// `auth_sock` is `$SSH_AUTH_SOCK`, `scratch` a private directory
    /// (made when needed, removed on drop) for the sockets of agents
    /// started for key files.
    pub fn from_flags(
        specs: &[String],
        auth_sock: Option<&str>,
        scratch: &Path,
    ) -> BuildResult<SshAgents> {
        let mut agents = SshAgents::default();
        for spec in specs {
            let bad =
                |why: String| BuildError::Invalid(format!("could not parse ssh: [{spec}]: {why}"));
            let (id, paths) = match spec.split_once('=') {
                Some((id, p)) => (id, p.split(',').map(str::to_string).collect::<Vec<_>>()),
                None => (spec.as_str(), Vec::new()),
            };
            let paths = if paths.is_empty() || paths.iter().all(String::is_empty) {
                match auth_sock.filter(|s| !s.is_empty()) {
                    Some(s) => vec![s.to_string()],
                    None => {
                        return Err(bad(
                            "invalid empty ssh agent socket, make sure SSH_AUTH_SOCK is set".into(),
                        ))
                    }
                }
            } else {
                paths
            };
            let mut keys = Vec::new();
            let mut socket = None;
            for p in &paths {
                let meta = std::fs::metadata(p).map_err(|e| {
                    bad(format!(
                        "stat {p}: {}",
                        if e.kind() == std::io::ErrorKind::NotFound {
                            "no such file or directory".to_string()
                        } else {
                            e.to_string()
                        }
                    ))
                })?;
                if meta.file_type().is_socket() {
                    socket = Some(PathBuf::from(p));
                } else {
                    keys.push(PathBuf::from(p));
                }
            }
            let sock = match (socket, keys.is_empty()) {
                (Some(s), true) => s,
                (Some(_), false) => {
                    return Err(bad(
                        "an agent socket and key files cannot be mixed in one --ssh".into(),
                    ))
                }
                (None, _) => agents.start_agent(&keys, scratch).map_err(bad)?,
            };
            agents.sockets.insert(id.to_string(), sock);
        }
        Ok(agents)
    }

    /// An `ssh-agent` holding `keys`; returns its socket.
    fn start_agent(&mut self, keys: &[PathBuf], scratch: &Path) -> Result<PathBuf, String> {
        let dir = &self
            .scratch
            .get_or_insert_with(|| tempdir::Dir(scratch.to_path_buf()))
            .0;
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let sock = dir.join(format!("{}.sock", self.started.len()));
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&sock)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting ssh-agent for key files: {e}"))?;
        self.started.push(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !sock.exists() {
            if Instant::now() > deadline {
                return Err("ssh-agent did not create its socket".into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        for k in keys {
            let out = Command::new("ssh-add")
                .arg(k)
                .env("SSH_AUTH_SOCK", &sock)
                .env_remove("DISPLAY")
                .env_remove("SSH_ASKPASS")
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("running ssh-add: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "failed to read {}: {}",
                    k.display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
        }
        Ok(sock)
    }
}

/// Where an ssh mount goes by default: BuildKit numbers the step's ssh
/// mounts from 0.
pub fn default_target(n: usize) -> String {
    format!("/run/buildkit/ssh_agent.{n}")
}

/// The socket for mount ID `id` (`default` when not given), or BuildKit's
/// error when it is required and missing (`None`: optional and missing).
pub fn socket_for(
    sockets: &BTreeMap<String, PathBuf>,
    id: Option<&str>,
    required: bool,
) -> BuildResult<Option<PathBuf>> {
    let key = id.filter(|i| !i.is_empty()).unwrap_or("default");
    match sockets.get(key) {
        Some(p) => Ok(Some(p.clone())),
        None if !required => Ok(None),
        None if sockets.is_empty() => Err(BuildError::NotFound(format!(
            "no SSH key {:?} forwarded from the client",
            id.unwrap_or("")
        ))),
        None => Err(BuildError::NotFound(format!("unset ssh forward key {key}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_lookup_as_docker() {
        let dir = tempfile::tempdir().unwrap();
        let err = |specs: &[&str], sock: Option<&str>| {
            let specs: Vec<String> = specs.iter().map(|s| s.to_string()).collect();
            SshAgents::from_flags(&specs, sock, dir.path())
                .unwrap_err()
                .to_string()
        };
        assert!(err(&["default"], None).contains(
            "could not parse ssh: [default]: invalid empty ssh agent socket, make sure SSH_AUTH_SOCK is set"
        ));
        assert!(err(&["default=/nonexist"], None).contains(
            "could not parse ssh: [default=/nonexist]: stat /nonexist: no such file or directory"
        ));
        let sock = dir.path().join("s");
        let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let a = SshAgents::from_flags(&["default".into()], sock.to_str(), dir.path()).unwrap();
        assert_eq!(
            socket_for(&a.sockets, None, true).unwrap(),
            Some(sock.clone())
        );
        assert_eq!(socket_for(&a.sockets, Some("x"), false).unwrap(), None);
        assert!(socket_for(&a.sockets, Some("x"), true)
            .unwrap_err()
            .to_string()
            .contains("unset ssh forward key x"));
        assert!(socket_for(&BTreeMap::new(), None, true)
            .unwrap_err()
            .to_string()
            .contains("no SSH key \"\" forwarded from the client"));
        assert_eq!(default_target(1), "/run/buildkit/ssh_agent.1");
    }
}
