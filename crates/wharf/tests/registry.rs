//! pull, push, login against real registries (Debian's docker-registry on
//! 127.0.0.1): plain HTTP, HTTPS with a private CA, htpasswd and token
//! auth; interop with docker and skopeo; and failures that must leave the
//! store as it was.

mod common;
mod registry_env;

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use common::{docker, require_docker, sh, unique, DockerImages, Wharf};
use registry_env::{
    free_port, htpasswd, http, make_certs, CuttingProxy, Registry, RegistryConfig, Silent,
    TokenServer,
};

/// A wharf store with its own docker config dir and certs.d.
struct Client {
    w: Wharf,
}

impl Client {
    fn new() -> Client {
        Client { w: Wharf::new() }
    }

    fn config_dir(&self) -> PathBuf {
        self.w.dir.path().join("docker-config")
    }

    fn certs_dir(&self) -> PathBuf {
        self.w.dir.path().join("certs.d")
    }

    fn cmd<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(&self, args: I) -> Command {
        let mut c = self.w.command(args);
        c.env("DOCKER_CONFIG", self.config_dir())
            .env("WHARF_CERTS_D", self.certs_dir())
            .env("WHARF_REGISTRY_TIMEOUT", "3")
            .env_remove("WHARF_INSECURE_REGISTRIES");
        c
    }

    fn run<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(&self, args: I, stdin: &[u8]) -> Output {
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

    fn ok<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(&self, args: I) -> String {
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
    fn fails<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(&self, args: I) -> (i32, String) {
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
    fn pull_fails_cleanly(&self, name: &str, expect: &[&str]) -> String {
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
fn push_busybox(c: &Client, reference: &str) -> String {
    c.w.import_busybox(reference);
    let out = c.ok(["push", reference]);
    let line = out
        .lines()
        .find(|l| l.contains(": digest: sha256:"))
        .unwrap_or_else(|| panic!("no digest line in: {out}"));
    line.split_whitespace().nth(2).unwrap().to_string()
}

#[test]
fn push_pull_and_run_over_plain_http() {
    let reg = Registry::start(RegistryConfig::default());
    let a = Client::new();
    let name = format!("{}/me/bb:1", reg.host());
    let id = a.w.import_busybox(&name);
    let out = a.ok(["push", &name]);
    assert!(
        out.starts_with(&format!(
            "The push refers to repository [{}/me/bb]\n",
            reg.host()
        )),
        "{out}"
    );
    assert!(out.contains(": Pushed\n"), "{out}");
    let digest = out
        .lines()
        .find_map(|l| l.strip_prefix("1: digest: "))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    // Pushing again uploads nothing.
    let again = a.ok(["push", &name]);
    assert!(again.contains(": Layer already exists"), "{again}");
    assert!(again.contains(&digest), "same manifest again: {again}");

    let b = Client::new();
    let out = b.ok(["pull", &name]);
    assert!(out.starts_with("1: Pulling from me/bb\n"), "{out}");
    assert!(out.contains(": Pull complete\n"), "{out}");
    assert!(out.contains(&format!("Digest: {digest}\n")), "{out}");
    assert!(
        out.contains(&format!("Status: Downloaded newer image for {name}\n")),
        "{out}"
    );
    assert!(out.ends_with(&format!("{name}\n")), "{out}");
    assert_eq!(
        b.w.image_id(&name),
        id,
        "same image ID after the round trip"
    );
    let ran = b.ok(["run", "--rm", &name, "echo", "pulled"]);
    assert_eq!(ran, "pulled\n");

    let digests = b.ok([
        "images",
        "--digests",
        "--format",
        "{{.Repository}} {{.Tag}} {{.Digest}}",
    ]);
    assert_eq!(digests, format!("{}/me/bb 1 {digest}\n", reg.host()));
    let again = b.ok(["pull", &name]);
    assert!(
        again.contains(&format!("Status: Image is up to date for {name}")),
        "{again}"
    );
    let by_digest = format!("{}/me/bb@{digest}", reg.host());
    let out = b.ok(["pull", "-q", &by_digest]);
    assert_eq!(out, format!("{by_digest}\n"));
    assert_eq!(b.w.image_id(&by_digest), id);
    // rmi takes the pulled layer, blob, config and manifest with it.
    b.ok(["rmi", &name]);
    let left: Vec<_> = std::fs::read_dir(b.w.root().join("blobs/sha256"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "blobs left after rmi: {left:?}");

    // run pulls what is missing, saying so on stderr as docker does.
    let c = Client::new();
    let out = c.run(["run", "--rm", &name, "echo", "auto"], b"");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "auto\n");
    assert!(
        err.contains(&format!("Unable to find image '{name}' locally")),
        "{err}"
    );
    assert!(
        err.contains(&format!("Status: Downloaded newer image for {name}")),
        "{err}"
    );
    let (code, err) = Client::new().fails(["run", "--pull", "never", "--rm", &name, "true"]);
    assert_eq!(code, 125, "{err}");
    assert!(err.contains("No such image"), "{err}");
}

#[test]
fn cross_repository_mount_and_all_tags() {
    let reg = Registry::start(RegistryConfig::default());
    let a = Client::new();
    let first = format!("{}/lib/base:1", reg.host());
    push_busybox(&a, &first);
    let second = format!("{}/me/copy:2", reg.host());
    a.ok(["tag", &first, &second]);
    let out = a.ok(["push", &second]);
    assert!(out.contains(": Mounted from lib/base"), "{out}");
    a.ok(["tag", &first, &format!("{}/lib/base:2", reg.host())]);
    let out = a.ok(["push", "-a", &format!("{}/lib/base", reg.host())]);
    assert!(
        out.contains("1: digest: ") && out.contains("2: digest: "),
        "{out}"
    );

    let b = Client::new();
    let out = b.ok(["pull", "-a", &format!("{}/lib/base", reg.host())]);
    assert!(
        out.contains("1: Pulling from lib/base") && out.contains("2: Pulling from lib/base"),
        "{out}"
    );
    let tags = b.ok(["images", "--format", "{{.Tag}}"]);
    let mut tags: Vec<&str> = tags.lines().collect();
    tags.sort();
    assert_eq!(tags, ["1", "2"]);
}

#[test]
fn docker_pulls_what_wharf_pushes_and_the_other_way() {
    require_docker();
    let reg = Registry::start(RegistryConfig::default());
    let c = Client::new();
    let from_wharf = format!("{}/{}:w", reg.host(), unique("interop"));
    let _cleanup = DockerImages(vec![from_wharf.clone()]);
    push_busybox(&c, &from_wharf);
    sh(docker().args(["pull", &from_wharf]));
    let ran = sh(docker().args([
        "run",
        "--rm",
        "--network",
        "none",
        &from_wharf,
        "echo",
        "docker-ran",
    ]));
    assert_eq!(ran.trim(), "docker-ran");

    // A layer over 4 MiB goes out as several gzip members: docker reads them.
    let big = format!("{}/{}:big", reg.host(), unique("interop"));
    let _cleanup_big = DockerImages(vec![big.clone()]);
    import_unique_sized(&c, &big, 20 << 20);
    let out = c.ok(["push", &big]);
    assert!(out.contains(": Pushed"), "{out}");
    sh(docker().args(["pull", &big]));
    let docker_id = sh(docker().args(["image", "inspect", "--format", "{{.Id}}", &big]));
    assert_eq!(docker_id.trim(), c.w.image_id(&big));

    // docker pushes an image of its own; wharf pulls and runs it.
    let from_docker = format!("{}/{}:d", reg.host(), unique("interop"));
    let _cleanup2 = DockerImages(vec![from_docker.clone()]);
    let tar = common::busybox_rootfs_tar(&c.w.scratch());
    sh(docker()
        .args(["import", "--change", "CMD [\"sh\"]"])
        .arg(&tar)
        .arg(&from_docker));
    sh(docker().args(["push", &from_docker]));
    let d = Client::new();
    d.ok(["pull", &from_docker]);
    let docker_id = sh(docker().args(["image", "inspect", "--format", "{{.Id}}", &from_docker]));
    assert_eq!(d.w.image_id(&from_docker), docker_id.trim());
    assert_eq!(
        d.ok(["run", "--rm", &from_docker, "echo", "wharf-ran"]),
        "wharf-ran\n"
    );
}

#[test]
fn skopeo_copies_both_ways() {
    let reg = Registry::start(RegistryConfig::default());
    let c = Client::new();
    let pushed = format!("{}/me/skopeo-src:1", reg.host());
    push_busybox(&c, &pushed);
    // skopeo reads what wharf pushed and writes it back as an OCI manifest.
    let copied = format!("{}/me/skopeo-oci:1", reg.host());
    sh(Command::new("skopeo")
        .args([
            "copy",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            "--format",
            "oci",
        ])
        .arg(format!("docker://{pushed}"))
        .arg(format!("docker://{copied}")));
    let d = Client::new();
    d.ok(["pull", &copied]);
    assert_eq!(d.ok(["run", "--rm", &copied, "echo", "oci"]), "oci\n");
    // And wharf pushes what skopeo can read into an OCI layout.
    let oci = d.w.scratch().join("oci");
    let again = format!("{}/me/skopeo-back:1", reg.host());
    d.ok(["tag", &copied, &again]);
    d.ok(["push", &again]);
    sh(Command::new("skopeo")
        .args(["copy", "--src-tls-verify=false"])
        .arg(format!("docker://{again}"))
        .arg(format!("oci:{}:x", oci.display())));
    assert!(oci.join("index.json").exists());
}

#[test]
fn pull_picks_this_platform_from_an_index() {
    let reg = Registry::start(RegistryConfig::default());
    let c = Client::new();
    let single = format!("{}/me/multi:single", reg.host());
    let digest = push_busybox(&c, &single);
    let (_, _, manifest) = http(
        reg.port,
        "GET",
        &format!("/v2/me/multi/manifests/{digest}"),
        &[(
            "Accept",
            "application/vnd.docker.distribution.manifest.v2+json",
        )],
        b"",
    );
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
        "manifests": [
            {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "digest": digest, "size": manifest.len(),
             "platform": {"architecture": "arm", "os": "linux", "variant": "v7"}},
            {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "digest": digest, "size": manifest.len(),
             "platform": {"architecture": "amd64", "os": "linux"}},
        ]
    })
    .to_string();
    let (status, head, _) = http(
        reg.port,
        "PUT",
        "/v2/me/multi/manifests/latest",
        &[(
            "Content-Type",
            "application/vnd.docker.distribution.manifest.list.v2+json",
        )],
        index.as_bytes(),
    );
    assert_eq!(status, 201, "{head}");
    let list_digest = head
        .lines()
        .find_map(|l| l.strip_prefix("Docker-Content-Digest: "))
        .unwrap()
        .trim()
        .to_string();
    let d = Client::new();
    let name = format!("{}/me/multi", reg.host());
    let out = d.ok(["pull", &name]);
    assert!(out.starts_with("Using default tag: latest\n"), "{out}");
    assert!(
        out.contains(&format!("Digest: {list_digest}")),
        "the index's digest is the repo digest: {out}"
    );
    assert_eq!(d.ok(["run", "--rm", &name, "echo", "amd64"]), "amd64\n");
    let (code, err) = d.fails(["pull", "--platform", "linux/s390x", &name]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no matching manifest for linux/s390x"),
        "{err}"
    );
    let (_, err) = d.fails(["pull", "--platform", "linux/arm/v7", &name]);
    assert!(
        err.contains("does not match the specified platform"),
        "{err}"
    );
}

#[test]
fn htpasswd_login_push_pull_logout() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::start(RegistryConfig {
        htpasswd: Some(htpasswd(dir.path(), "me", "s3cret")),
        ..Default::default()
    });
    let c = Client::new();
    let name = format!("{}/me/private:1", reg.host());
    c.w.import_busybox(&name);
    let (code, err) = c.fails(["push", &name]);
    assert_eq!(code, 1);
    assert!(
        err.contains(&reg.host()) && err.contains("unauthorized"),
        "{err}"
    );

    let out = c.run(
        ["login", "-u", "me", "--password-stdin", &reg.host()],
        b"wrong\n",
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("401 Unauthorized") && err.contains(&reg.host()),
        "{err}"
    );
    assert!(
        !c.config_dir().join("config.json").exists(),
        "nothing stored for a failed login"
    );

    let out = c.run(
        ["login", "-u", "me", "--password-stdin", &reg.host()],
        b"s3cret\n",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Login Succeeded\n");
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(c.config_dir().join("config.json")).unwrap())
            .unwrap();
    assert_eq!(
        config["auths"][reg.host()]["auth"],
        "bWU6czNjcmV0",
        "{config}"
    );

    c.ok(["push", &name]);
    let d = Client::new();
    let (code, err) = d.fails(["pull", &name]);
    assert_eq!(code, 1);
    assert!(err.contains(&name), "names the image: {err}");
    std::fs::create_dir_all(d.config_dir()).unwrap();
    std::fs::copy(
        c.config_dir().join("config.json"),
        d.config_dir().join("config.json"),
    )
    .unwrap();
    d.ok(["pull", &name]);
    assert_eq!(
        c.ok(["logout", &reg.host()]),
        format!("Removing login credentials for {}\n", reg.host())
    );
    assert_eq!(
        c.ok(["logout", &reg.host()]),
        format!("Not logged in to {}\n", reg.host())
    );
}

#[test]
fn https_with_the_registry_ca_from_certs_d() {
    let dir = tempfile::tempdir().unwrap();
    let certs = make_certs(dir.path(), "good");
    let other = make_certs(dir.path(), "other");
    let reg = Registry::start(RegistryConfig {
        tls: Some((certs.cert.clone(), certs.key.clone())),
        ..Default::default()
    });
    let c = Client::new();
    let name = format!("{}/me/tls:1", reg.host());
    c.w.import_busybox(&name);
    // A CA in certs.d is always checked, even for a loopback registry.
    let ca_dir = c.certs_dir().join(reg.host());
    std::fs::create_dir_all(&ca_dir).unwrap();
    std::fs::copy(&other.ca, ca_dir.join("ca.crt")).unwrap();
    let (code, err) = c.fails(["push", &name]);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!("https://{}/v2/", reg.host())),
        "{err}"
    );
    assert!(err.to_lowercase().contains("certificate"), "{err}");

    std::fs::copy(&certs.ca, ca_dir.join("ca.crt")).unwrap();
    c.ok(["push", &name]);
    let d = Client::new();
    let d_ca = d.certs_dir().join(reg.host());
    std::fs::create_dir_all(&d_ca).unwrap();
    std::fs::copy(&certs.ca, d_ca.join("ca.crt")).unwrap();
    d.ok(["pull", &name]);
    assert_eq!(d.ok(["run", "--rm", &name, "echo", "tls"]), "tls\n");
}

#[test]
fn token_auth_login_push_pull() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = TokenServer::start(dir.path(), "me", "t0ken-pass");
    let reg = Registry::start(RegistryConfig {
        token: Some((tokens.realm(), tokens.cert.clone())),
        ..Default::default()
    });
    let c = Client::new();
    let name = format!("{}/me/tok:1", reg.host());
    c.w.import_busybox(&name);
    let (code, err) = c.fails(["push", &name]);
    assert_eq!(code, 1, "{err}");
    let out = c.run(["login", "-u", "me", "-p", "nope", &reg.host()], b"");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("incorrect username or password"), "{err}");
    let out = c.run(["login", "-u", "me", "-p", "t0ken-pass", &reg.host()], b"");
    assert!(out.status.success(), "{out:?}");
    c.ok(["push", &name]);
    assert!(tokens.granted.load(std::sync::atomic::Ordering::SeqCst) > 0);
    let d = Client::new();
    let (code, err) = d.fails(["pull", &name]);
    assert_eq!(code, 1);
    assert!(err.contains("pull access denied"), "{err}");
    std::fs::create_dir_all(d.config_dir()).unwrap();
    std::fs::copy(
        c.config_dir().join("config.json"),
        d.config_dir().join("config.json"),
    )
    .unwrap();
    d.ok(["pull", &name]);
    assert_eq!(d.ok(["run", "--rm", &name, "echo", "token"]), "token\n");
}

#[test]
fn unknown_host_fails_cleanly() {
    let c = Client::new();
    c.w.import_busybox("keep:1");
    c.pull_fails_cleanly("nonexistent.invalid/me/x:1", &["nonexistent.invalid"]);
}

#[test]
fn refused_connection_fails_cleanly() {
    let c = Client::new();
    let host = format!("127.0.0.1:{}", free_port());
    c.pull_fails_cleanly(&format!("{host}/me/x:1"), &[&host, "refused"]);
    let name = format!("{host}/me/push:1");
    c.w.import_busybox(&name);
    let (code, err) = c.fails(["push", &name]);
    assert_eq!(code, 1);
    assert!(err.contains(&host), "{err}");
}

#[test]
fn missing_manifest_fails_cleanly() {
    let reg = Registry::start(RegistryConfig::default());
    let c = Client::new();
    push_busybox(&c, &format!("{}/me/there:1", reg.host()));
    let name = format!("{}/me/there:nope", reg.host());
    c.pull_fails_cleanly(
        &name,
        &[
            &format!("manifest for {name} not found"),
            "manifest unknown",
        ],
    );
}

/// Import a one-file image unlike any other as `reference`.
fn import_unique(c: &Client, reference: &str) {
    import_unique_sized(c, reference, 300_000);
}

fn import_unique_sized(c: &Client, reference: &str, size: u32) {
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

#[test]
fn tampered_blob_fails_cleanly() {
    let reg = Registry::start(RegistryConfig::default());
    let a = Client::new();
    let name = format!("{}/me/tampered:1", reg.host());
    import_unique(&a, &name);
    a.ok(["push", &name]);
    // Flip bytes in the middle of the layer (the one big blob).
    let layer = reg
        .blob_files()
        .into_iter()
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    let mut data = std::fs::read(&layer).unwrap();
    let mid = data.len() / 2;
    for b in &mut data[mid..mid + 64] {
        *b ^= 0x5a;
    }
    std::fs::write(&layer, data).unwrap();
    let b = Client::new();
    b.w.import_busybox("keep:1");
    let err = b.pull_fails_cleanly(&name, &["verification failed"]);
    assert!(err.contains(&name), "{err}");
    let ingest: Vec<_> = std::fs::read_dir(b.w.root().join("ingest"))
        .unwrap()
        .collect();
    assert!(ingest.is_empty(), "a bad download is not kept for resuming");
}

#[test]
fn hanging_registry_times_out() {
    let silent = Silent::start();
    let c = Client::new();
    let host = format!("127.0.0.1:{}", silent.port);
    let t = std::time::Instant::now();
    let err = c.pull_fails_cleanly(&format!("{host}/me/x:1"), &[&host, "timeout"]);
    assert!(t.elapsed().as_secs() < 20, "took {:?}: {err}", t.elapsed());
}

/// The registry's layer blob file (the biggest) and its digest.
fn layer_blob(reg: &Registry) -> (PathBuf, String) {
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

#[test]
fn dropped_connections_are_resumed_where_they_broke() {
    let reg = Registry::start(RegistryConfig::default());
    let a = Client::new();
    let name = format!("{}/me/flaky:1", reg.host());
    import_unique(&a, &name);
    a.ok(["push", &name]);
    let (blob, _) = layer_blob(&reg);
    let size = std::fs::metadata(&blob).unwrap().len() as usize;
    // Every connection dies after a third of the layer: only a pull that
    // resumes with Range requests gets through (a restart never would).
    let proxy = CuttingProxy::start(reg.port, size / 3);
    let via = format!("127.0.0.1:{}/me/flaky:1", proxy.port);
    let b = Client::new();
    let out = b.ok(["pull", &via]);
    assert!(out.contains("Retrying in"), "{out}");
    assert!(proxy.connections.load(std::sync::atomic::Ordering::SeqCst) >= 3);
    assert_eq!(b.w.image_id(&via), a.w.image_id(&name));
}

#[test]
fn an_interrupted_download_is_resumed_by_the_next_pull() {
    let reg = Registry::start(RegistryConfig::default());
    let a = Client::new();
    let name = format!("{}/me/resume:1", reg.host());
    import_unique(&a, &name);
    a.ok(["push", &name]);
    let (blob, hex) = layer_blob(&reg);
    let data = std::fs::read(&blob).unwrap();
    let half = data.len() / 2;
    // What an earlier, killed pull left: the first half, in ingest/.
    let b = Client::new();
    b.ok(["images"]);
    let partial = b.w.root().join("ingest").join(&hex);
    // Prune drops partial downloads nobody is writing.
    std::fs::write(&partial, &data[..half]).unwrap();
    b.ok(["image", "prune", "-f"]);
    assert!(!partial.exists(), "prune leaves partial downloads");
    std::fs::write(&partial, &data[..half]).unwrap();
    // Spoil the registry's first half: only a pull that asks for the
    // second half alone still verifies.
    let mut spoiled = data.clone();
    for x in &mut spoiled[..half] {
        *x ^= 0xff;
    }
    std::fs::write(&blob, spoiled).unwrap();
    b.ok(["pull", &name]);
    assert_eq!(b.w.image_id(&name), a.w.image_id(&name));
    assert!(
        !b.w.root().join("ingest").join(&hex).exists(),
        "moved into blobs/"
    );
    assert!(b.w.root().join("blobs/sha256").join(&hex).exists());
}

#[test]
fn credentials_go_through_the_configured_helper() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::start(RegistryConfig {
        htpasswd: Some(htpasswd(dir.path(), "me", "helped")),
        ..Default::default()
    });
    // A docker-credential-* helper keeping one entry in a file.
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let store = dir.path().join("helper-store.json");
    let helper = bin.join("docker-credential-wharftest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\ncase \"$1\" in\n store) cat > {s} ;;\n get) read url; [ -f {s} ] && cat {s} || {{ echo 'credentials not found in native keychain'; exit 1; }} ;;\n erase) rm -f {s} ;;\nesac\n",
            s = store.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let c = Client::new();
    std::fs::create_dir_all(c.config_dir()).unwrap();
    std::fs::write(
        c.config_dir().join("config.json"),
        r#"{"credsStore":"wharftest"}"#,
    )
    .unwrap();
    let run = |args: &[&str], stdin: &[u8]| {
        let mut cmd = c.cmd(args);
        cmd.env("PATH", &path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(stdin).unwrap();
        }
        child.wait_with_output().unwrap()
    };
    let out = run(
        &["login", "-u", "me", "--password-stdin", &reg.host()],
        b"helped\n",
    );
    assert!(out.status.success(), "{out:?}");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("unencrypted"),
        "{out:?}"
    );
    let kept = std::fs::read_to_string(&store).unwrap();
    assert!(kept.contains("\"Secret\":\"helped\""), "{kept}");
    let config = std::fs::read_to_string(c.config_dir().join("config.json")).unwrap();
    assert!(
        !config.contains("helped") && config.contains(&reg.host()),
        "{config}"
    );

    let name = format!("{}/me/helped:1", reg.host());
    c.w.import_busybox(&name);
    let out = run(&["push", &name], b"");
    assert!(out.status.success(), "{out:?}");
    let out = run(&["logout", &reg.host()], b"");
    assert!(out.status.success(), "{out:?}");
    assert!(!store.exists(), "erased from the helper");
}
