//! Configuration hashes, computed as Docker Compose computes them: the
//! SHA-256 of Go's `json.Marshal` of the normalized service (minus what
//! may change without recreating: build, pull policy, scale, replicas,
//! dependencies, profiles), network or volume. The JSON is the one
//! `config --format json` prints, compacted, so the hashes are Compose's
//! own and a project converges the same way under either tool.

use sha2::{Digest, Sha256};

use crate::model::{Network, Service, Volume};
use crate::output::{to_json_compact, to_out};

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// `com.docker.compose.config-hash` of a service's containers.
pub fn service_hash(s: &Service) -> String {
    let mut s = s.clone();
    s.build = None;
    s.pull_policy.clear();
    s.scale = None;
    if let Some(d) = s.deploy.as_mut() {
        d.replicas = None;
    }
    s.depends_on.clear();
    s.profiles.clear();
    sha256_hex(&to_json_compact(&to_out(&s, false)))
}

/// `com.docker.compose.config-hash` of a network.
pub fn network_hash(n: &Network) -> String {
    sha256_hex(&to_json_compact(&to_out(n, false)))
}

/// `com.docker.compose.config-hash` of a volume (the driver defaults to
/// `local`, as in Compose).
pub fn volume_hash(v: &Volume) -> String {
    let mut v = v.clone();
    if v.driver.is_empty() {
        v.driver = "local".into();
    }
    sha256_hex(&to_json_compact(&to_out(&v, false)))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Hashes Docker Compose v2.40.3 put on the objects of this project.
    #[test]
    fn hashes_are_composes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("compose.yaml"),
            "services:\n  web:\n    image: crbusybox:1\n    command: [\"httpd\", \"-f\", \"-p\", \"8080\"]\n    ports:\n      - \"18080:8080\"\n    environment:\n      FOO: bar\n    depends_on:\n      - db\n    volumes:\n      - data:/data\n  db:\n    image: crbusybox:1\n    command: [\"sleep\", \"1000\"]\nvolumes:\n  data:\n",
        )
        .unwrap();
        let loaded = crate::load(&crate::Options {
            project_name: Some("p1".into()),
            cwd: Some(dir.path().to_path_buf()),
            environment: Some(Default::default()),
            ..Default::default()
        })
        .unwrap();
        let p = &loaded.project;
        assert_eq!(
            service_hash(&p.services["web"]),
            "10309c5febb6c30dc260784a3c5bf7ef2253f631175b72d6e89a5c5b88424e2b"
        );
        assert_eq!(
            service_hash(&p.services["db"]),
            "a9d17117ba5705a6477610053edb645f7f4a3c1700b8b3c311061148699c1450"
        );
        assert_eq!(
            network_hash(&p.networks["default"]),
            "a269f79b885737ba9d363e096b178f9ff899b76b38ce24bb5ba4aaf48d7a9cab"
        );
        assert_eq!(
            volume_hash(&p.volumes["data"]),
            "3bc4623c1b89b8c38ed5766bf5190ce58547bf3b97ad78014292f8b328cb786e"
        );
    }
}
