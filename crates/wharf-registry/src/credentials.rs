//! Credentials in the docker CLI's `config.json`: `auths` (base64
//! `user:password`), `credsStore` and `credHelpers` (external
//! `docker-credential-<name>` programs speaking docker's JSON protocol).
//! Fields wharf does not know are kept as they are when it writes the file.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::{RegistryError, RegistryResult};

/// The key docker uses for Docker Hub in `auths`.
pub const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub username: String,
    /// A password, or an identity token when `username` is `<token>`.
    pub secret: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credential({}, ***)", self.username)
    }
}

/// `config.json` key for a registry host: Docker Hub has its historic URL.
pub fn server_key(host: &str) -> String {
    if host == wharf_oci::reference::DEFAULT_DOMAIN
        || host == "index.docker.io"
        || host == "registry-1.docker.io"
    {
        DOCKER_HUB_KEY.to_string()
    } else {
        host.to_string()
    }
}

/// docker's `ConvertToHostname`: `https://host:5000/v1/` → `host:5000`.
fn hostname_of(key: &str) -> &str {
    let s = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    s.split('/').next().unwrap_or(s)
}

pub struct DockerConfig {
    path: PathBuf,
    json: Map<String, Value>,
}

impl DockerConfig {
    /// Read `<dir>/config.json`; a missing file is an empty config.
    pub fn load(dir: &Path) -> RegistryResult<DockerConfig> {
        let path = dir.join("config.json");
        let json = match fs::read(&path) {
            Ok(b) if b.iter().all(u8::is_ascii_whitespace) => Map::new(),
            Ok(b) => match serde_json::from_slice::<Value>(&b) {
                Ok(Value::Object(m)) => m,
                _ => {
                    return Err(RegistryError::Invalid(format!(
                        "loading config file {}: invalid JSON",
                        path.display()
                    )))
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
            Err(e) => return Err(RegistryError::io(format!("reading {}", path.display()), e)),
        };
        Ok(DockerConfig { path, json })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The credential helper for `key`: its `credHelpers` entry, else `credsStore`.
    fn helper(&self, key: &str) -> Option<String> {
        let host = hostname_of(key);
        self.json
            .get("credHelpers")
            .and_then(Value::as_object)
            .and_then(|h| h.iter().find(|(k, _)| hostname_of(k) == host))
            .and_then(|(_, v)| v.as_str())
            .or_else(|| self.json.get("credsStore").and_then(Value::as_str))
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }

    fn auths(&mut self) -> &mut Map<String, Value> {
        let v = self
            .json
            .entry("auths")
            .or_insert_with(|| Value::Object(Map::new()));
        if !v.is_object() {
            *v = Value::Object(Map::new());
        }
        v.as_object_mut().expect("auths is an object")
    }

    /// The stored credential for registry `host`, if any.
    pub fn get(&self, host: &str) -> RegistryResult<Option<Credential>> {
        let key = server_key(host);
        if let Some(helper) = self.helper(&key) {
            return helper_get(&helper, &key);
        }
        let wanted = hostname_of(&key);
        let Some(entry) = self
            .json
            .get("auths")
            .and_then(Value::as_object)
            .and_then(|a| a.iter().find(|(k, _)| hostname_of(k) == wanted))
            .map(|(_, v)| v)
        else {
            return Ok(None);
        };
        if let Some(token) = entry.get("identitytoken").and_then(Value::as_str) {
            if !token.is_empty() {
                return Ok(Some(Credential {
                    username: "<token>".into(),
                    secret: token.into(),
                }));
            }
        }
        let Some(auth) = entry
            .get("auth")
            .and_then(Value::as_str)
            .filter(|a| !a.is_empty())
        else {
            return Ok(None);
        };
        let bad = || {
            RegistryError::Invalid(format!(
                "invalid auth configuration for {wanted} in {}",
                self.path.display()
            ))
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|_| bad())?;
        let text = String::from_utf8(decoded).map_err(|_| bad())?;
        let (user, pass) = text.split_once(':').ok_or_else(bad)?;
        Ok(Some(Credential {
            username: user.into(),
            secret: pass.trim_end_matches('\n').into(),
        }))
    }

    /// Remember `cred` for `host` (in the helper if one is configured) and
    /// write the file. Returns whether it went to `config.json` in plain
    /// text (docker then warns).
    pub fn store(&mut self, host: &str, cred: &Credential) -> RegistryResult<bool> {
        let key = server_key(host);
        let plain = match self.helper(&key) {
            Some(helper) => {
                helper_call(
                    &helper,
                    "store",
                    &json!({"ServerURL": key, "Username": cred.username, "Secret": cred.secret})
                        .to_string(),
                )?;
                self.auths().insert(key, json!({}));
                false
            }
            None => {
                let auth = base64::engine::general_purpose::STANDARD
                    .encode(format!("{}:{}", cred.username, cred.secret));
                self.auths().insert(key, json!({ "auth": auth }));
                true
            }
        };
        self.save()?;
        Ok(plain)
    }

    /// Forget the credential of `host`; false when there was none.
    pub fn erase(&mut self, host: &str) -> RegistryResult<bool> {
        let key = server_key(host);
        let wanted = hostname_of(&key).to_string();
        let keys: Vec<String> = self
            .auths()
            .keys()
            .filter(|k| hostname_of(k) == wanted)
            .cloned()
            .collect();
        let helper = self.helper(&key);
        if keys.is_empty() && helper.is_none() {
            return Ok(false);
        }
        if let Some(helper) = helper {
            // A helper without the entry answers with an error; docker ignores it.
            let _ = helper_call(&helper, "erase", &key);
        }
        for k in &keys {
            self.auths().remove(k);
        }
        self.save()?;
        Ok(true)
    }

    /// Write atomically, mode 0600 (it may hold passwords).
    fn save(&self) -> RegistryResult<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir)
            .map_err(|e| RegistryError::io(format!("creating {}", dir.display()), e))?;
        let temp = dir.join(format!(".config.json.{}", std::process::id()));
        let mut text = serde_json::to_vec_pretty(&Value::Object(self.json.clone()))
            .expect("JSON values serialize");
        text.push(b'\n');
        let written = fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)
            .and_then(|mut f| f.write_all(&text))
            .and_then(|()| fs::rename(&temp, &self.path));
        written.map_err(|e| {
            let _ = fs::remove_file(&temp);
            RegistryError::io(format!("writing {}", self.path.display()), e)
        })
    }
}

/// Run `docker-credential-<helper> <action>` with `input` on stdin.
fn helper_call(helper: &str, action: &str, input: &str) -> RegistryResult<String> {
    let program = format!("docker-credential-{helper}");
    let mut child = Command::new(&program)
        .arg(action)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            RegistryError::Invalid(format!(
                "error getting credentials - err: exec: \"{program}\": {e}"
            ))
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| RegistryError::io(format!("running {program}"), e))?;
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() {
        let msg = if stdout.is_empty() {
            String::from_utf8_lossy(&out.stderr).trim().to_string()
        } else {
            stdout
        };
        return Err(RegistryError::Invalid(format!("{program} {action}: {msg}")));
    }
    Ok(stdout)
}

fn helper_get(helper: &str, key: &str) -> RegistryResult<Option<Credential>> {
    match helper_call(helper, "get", key) {
        Ok(out) => {
            let v: Value = serde_json::from_str(&out).map_err(|e| {
                RegistryError::Invalid(format!(
                    "docker-credential-{helper} get: invalid answer: {e}"
                ))
            })?;
            let field = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            let (username, secret) = (field("Username"), field("Secret"));
            Ok((!secret.is_empty()).then_some(Credential { username, secret }))
        }
        // docker's helpers say "credentials not found in native keychain".
        Err(RegistryError::Invalid(m)) if m.contains("not found") => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_get_erase_round_trip_keeps_other_fields() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("config.json"),
            r#"{"auths":{"https://other:443/v1/":{"auth":"eDp5"}},"psFormat":"x"}"#,
        )
        .unwrap();
        let mut c = DockerConfig::load(dir.path()).unwrap();
        let cred = Credential {
            username: "me".into(),
            secret: "p:w".into(),
        };
        assert!(c.store("127.0.0.1:5000", &cred).unwrap());
        let c = DockerConfig::load(dir.path()).unwrap();
        assert_eq!(c.get("127.0.0.1:5000").unwrap(), Some(cred));
        assert_eq!(
            c.get("other:443").unwrap(),
            Some(Credential {
                username: "x".into(),
                secret: "y".into()
            })
        );
        let text = fs::read_to_string(dir.path().join("config.json")).unwrap();
        assert!(text.contains("psFormat"));
        let mut c = DockerConfig::load(dir.path()).unwrap();
        assert!(c.erase("127.0.0.1:5000").unwrap());
        assert!(!c.erase("127.0.0.1:5000").unwrap());
        assert_eq!(c.get("127.0.0.1:5000").unwrap(), None);
    }

    #[test]
    fn docker_hub_uses_its_historic_key() {
        assert_eq!(server_key("docker.io"), DOCKER_HUB_KEY);
        assert_eq!(hostname_of(DOCKER_HUB_KEY), "index.docker.io");
    }
}
