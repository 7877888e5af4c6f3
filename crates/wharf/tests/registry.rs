//! pull and push against a real registry (Debian's docker-registry on
//! 127.0.0.1, plain HTTP): round trips, run pulling what is missing,
//! mounts, tags, indexes, resumed downloads, and interop with docker and
//! skopeo. Auth and TLS: registry_auth.rs; failures: registry_errors.rs.

mod common;
mod registry_env;

use std::process::Command;

use common::{docker, require_docker, sh, unique, DockerImages};
use registry_env::client::{import_unique, import_unique_sized, layer_blob, push_busybox, Client};
use registry_env::{http, CuttingProxy, Registry, RegistryConfig};

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
fn concurrent_pulls_of_one_image_share_the_download() {
    let reg = Registry::start(RegistryConfig::default());
    let a = Client::new();
    let name = format!("{}/me/twice:1", reg.host());
    import_unique_sized(&a, &name, 8 << 20);
    a.ok(["push", &name]);
    let b = Client::new();
    b.ok(["images"]);
    let children: Vec<_> = (0..3)
        .map(|_| {
            b.cmd(["pull", "-q", &name])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(b.w.image_id(&name), a.w.image_id(&name));
    let ingest: Vec<_> = std::fs::read_dir(b.w.root().join("ingest"))
        .unwrap()
        .collect();
    assert!(ingest.is_empty(), "{ingest:?}");
}

#[test]
fn build_pulls_a_missing_base_image() {
    let reg = Registry::start(RegistryConfig::default());
    let a = Client::new();
    let name = format!("{}/lib/base:1", reg.host());
    a.w.import_busybox(&name);
    a.ok(["push", &name]);
    // A fresh store has no base image: FROM pulls it.
    let b = Client::new();
    let ctx = b.w.scratch().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        format!("FROM {name}\nRUN echo built > /b\n"),
    )
    .unwrap();
    b.ok(["build", "-q", "-t", "on-top", ctx.to_str().unwrap()]);
    assert_eq!(b.ok(["run", "--rm", "on-top", "cat", "/b"]), "built\n");
    assert!(b.ok(["images"]).contains("lib/base"));
}
