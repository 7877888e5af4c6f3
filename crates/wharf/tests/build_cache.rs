//! The build cache carried between roots: `--cache-to` / `--cache-from`
//! with `type=local` (an OCI layout), `type=inline` (records in the image
//! config) and `type=registry` (against Debian's docker-registry on
//! 127.0.0.1), `mode=min|max`, in BuildKit's cache format; and docker
//! 20.10's BuildKit reading wharf's inline cache and the other way round.

mod common;
mod registry_env;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use common::{build_context, docker, require_docker, sh, unique, DockerImages, Wharf};
use registry_env::client::Client;
use registry_env::{Registry, RegistryConfig};

/// A builder stage and a final stage; every RUN writes something that
/// differs each time it runs, so a step that ran again changes the image.
const DOCKERFILE: &str = r#"FROM busybox:local AS builder
WORKDIR /src
COPY app.txt .
RUN cat /proc/sys/kernel/random/uuid > /src/built-by && cp app.txt app.out

FROM busybox:local
COPY --from=builder /src/app.out /app/
RUN cat /proc/sys/kernel/random/uuid > /ran
ENV X=1
CMD ["cat", "/app/app.out"]
"#;

/// Layer steps of the target's own chain (WORKDIR is a step too).
const FINAL_STEPS: &[&str] = &["[stage-1 2/3] COPY", "[stage-1 3/3] RUN"];
const BUILDER_STEPS: &[&str] = &[
    "[builder 2/4] WORKDIR",
    "[builder 3/4] COPY",
    "[builder 4/4] RUN",
];

fn ctx(w: &Wharf) -> std::path::PathBuf {
    build_context(
        w,
        "app",
        &[("Dockerfile", DOCKERFILE), ("app.txt", "hello\n")],
    )
}

/// Build with `--progress plain`; (image ID, progress text).
fn build(w: &Wharf, extra: &[&str], tag: &str) -> (String, String) {
    let dir = ctx(w);
    let iid = w.scratch().join("iid");
    let mut args = vec![
        "build".to_string(),
        "--progress".into(),
        "plain".into(),
        "--iidfile".into(),
        iid.display().to_string(),
        "-t".into(),
        tag.into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(dir.display().to_string());
    let out = w.command(&args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "build {extra:?} failed:\n{err}");
    (fs::read_to_string(iid).unwrap(), err)
}

/// Whether the step named by `prefix` was CACHED in plain progress.
fn cached(progress: &str, prefix: &str) -> bool {
    let id = progress
        .lines()
        .find_map(|l| {
            let (num, rest) = l.split_once(' ')?;
            rest.starts_with(prefix).then(|| num.to_string())
        })
        .unwrap_or_else(|| panic!("no step {prefix:?} in:\n{progress}"));
    progress.lines().any(|l| l == format!("{id} CACHED"))
}

fn assert_all_cached(progress: &str, steps: &[&str]) {
    for s in steps {
        assert!(cached(progress, s), "{s} not CACHED:\n{progress}");
    }
}

/// No step of the builder stage ran or showed (no cache held them, and
/// the result needed none).
fn assert_builder_not_built(progress: &str) {
    assert!(!progress.contains("[builder "), "{progress}");
}

/// A fresh root with busybox as `from` has it (the same image ID, which
/// the cache keys start from: an import's time is part of the image).
fn same_busybox(from: &Wharf, to: &Wharf) {
    let tar = from.save_to("busybox.tar", &["busybox:local"]);
    to.load(&tar);
}

fn root_with_busybox(from: &Wharf) -> Wharf {
    let w = Wharf::new();
    same_busybox(from, &w);
    w
}

#[test]
fn local_cache_rebuilds_on_an_empty_root_with_every_step_cached() {
    let a = Wharf::new();
    a.import_busybox("busybox:local");
    let max = a.scratch().join("cache-max");
    let min = a.scratch().join("cache-min");
    let (id_a, first) = build(
        &a,
        &[
            "--cache-to",
            &format!("type=local,dest={},mode=max", max.display()),
            "--cache-to",
            &format!("type=local,dest={}", min.display()),
        ],
        "app",
    );
    assert!(first.contains(" exporting cache\n"), "{first}");

    // BuildKit's layout: index.json -> cache index -> layers + config.
    let top: serde_json::Value =
        serde_json::from_slice(&fs::read(max.join("index.json")).unwrap()).unwrap();
    let desc = &top["manifests"][0];
    assert_eq!(desc["mediaType"], "application/vnd.oci.image.index.v1+json");
    assert_eq!(
        desc["annotations"]["org.opencontainers.image.ref.name"],
        "latest"
    );
    let blob = |dir: &Path, d: &serde_json::Value| {
        let d = d
            .as_str()
            .unwrap()
            .strip_prefix("sha256:")
            .unwrap()
            .to_string();
        serde_json::from_slice::<serde_json::Value>(
            &fs::read(dir.join("blobs/sha256").join(d)).unwrap(),
        )
        .unwrap()
    };
    let index = blob(&max, &desc["digest"]);
    let manifests = index["manifests"].as_array().unwrap();
    let config_desc = manifests
        .iter()
        .find(|m| m["mediaType"] == "application/vnd.buildkit.cacheconfig.v0")
        .expect("a cache config in the index");
    let config = blob(&max, &config_desc["digest"]);
    assert!(config["layers"].as_array().unwrap().len() >= 2, "{config}");
    assert!(config["records"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["layers"][0]["createdAt"].is_string()));
    for m in manifests.iter().filter(|m| m != &config_desc) {
        let hex = m["digest"]
            .as_str()
            .unwrap()
            .strip_prefix("sha256:")
            .unwrap();
        assert!(max.join("blobs/sha256").join(hex).exists(), "blob {m}");
        assert!(
            m["annotations"]["containerd.io/uncompressed"].is_string(),
            "{m}"
        );
    }

    // mode=max: an empty root gets every step of every stage, and the
    // same image.
    let b = root_with_busybox(&a);
    let (id_b, progress) = build(
        &b,
        &["--cache-from", &format!("type=local,src={}", max.display())],
        "app",
    );
    assert_all_cached(&progress, BUILDER_STEPS);
    assert_all_cached(&progress, FINAL_STEPS);
    assert_eq!(id_a, id_b, "the imported cache gives the same image");
    assert_eq!(b.ok(["run", "--rm", "app"]), "hello\n");

    // mode=min: only the result's steps; the final stage's COPY --from
    // is cached by its key, so the builder stage is not built at all (as
    // BuildKit does not: nothing needs it).
    let c = root_with_busybox(&a);
    let (id_c, progress) = build(
        &c,
        &["--cache-from", &format!("type=local,src={}", min.display())],
        "app",
    );
    assert_builder_not_built(&progress);
    assert_all_cached(&progress, FINAL_STEPS);
    assert_eq!(id_a, id_c);
}

#[test]
fn cache_flags_refuse_bad_specs_and_warn_on_missing_sources() {
    let w = Wharf::new();
    w.import_busybox("busybox:local");
    let dir = ctx(&w);
    let d = dir.to_str().unwrap();
    for (flag, spec, msg) in [
        (
            "--cache-to",
            "type=s4,dest=x",
            "unknown cache exporter: \"s4\"",
        ),
        (
            "--cache-to",
            "type=local",
            "dest is required for local cache",
        ),
        (
            "--cache-to",
            "type=local,dest=x,mode=all",
            "invalid cache mode \"all\"",
        ),
        (
            "--cache-from",
            "type=local",
            "src is required for local cache",
        ),
    ] {
        let (code, err) = w.fails(["build", flag, spec, d]);
        assert_eq!(code, 1, "{spec}: {err}");
        assert!(err.contains(msg), "{spec}: {err}");
    }
    // A cache that is not there: a warning, and the build goes on.
    let missing = w.scratch().join("no-cache");
    let (_, progress) = build(
        &w,
        &[
            "--cache-from",
            &format!("type=local,src={}", missing.display()),
        ],
        "app",
    );
    assert!(
        progress.contains(&format!(
            "WARNING: failed to import cache from {}",
            missing.display()
        )),
        "{progress}"
    );
}

#[test]
fn inline_and_registry_caches_through_a_local_registry() {
    let reg = Registry::start(RegistryConfig::default());
    let a = Client::new();
    a.w.import_busybox("busybox:local");
    let image = format!("{}/me/app:1", reg.host());
    let cache = format!("{}/me/app-cache:1", reg.host());
    let dir = ctx(&a.w);
    let d = dir.to_str().unwrap();
    a.ok([
        "build",
        "-q",
        "--cache-to",
        "type=inline",
        "--cache-to",
        &format!("type=registry,ref={cache},mode=max"),
        "-t",
        &image,
        d,
    ]);
    let id_a = a.w.image_id(&image);
    let config = a.ok(["image", "inspect", "--format", "{{json .}}", &image]);
    assert!(!config.is_empty());
    a.ok(["push", &image]);

    // Inline: an empty root names the pushed image; the final stage's
    // steps come from it (inline caches carry the result's steps only),
    // and the builder stage, which it copies from, is not built.
    let (b, progress) = rebuild_on_an_empty_root(&a, &image);
    assert!(!progress.contains("WARNING"), "{progress}");
    assert_all_cached(&progress, FINAL_STEPS);
    assert_builder_not_built(&progress);
    assert_eq!(
        b.w.image_id("again"),
        id_a,
        "same image (its inline cache too)"
    );

    // Registry, mode=max: everything, the builder's steps shown CACHED;
    // only the image's layers are fetched, not the builder stage's (root
    // A has those too), which nothing needs.
    let (c, progress) = rebuild_on_an_empty_root(&a, &format!("type=registry,ref={cache}"));
    assert_all_cached(&progress, BUILDER_STEPS);
    assert_all_cached(&progress, FINAL_STEPS);
    assert_eq!(c.w.image_id("again"), id_a);
    let image_layers = layers_of_image(&c.w, "again");
    assert_eq!(layer_dirs(&c.w), image_layers);
    assert!(layer_dirs(&a.w).is_superset(&image_layers));
    assert!(layer_dirs(&a.w).len() > image_layers.len());
}

/// The layers (diff ID hex) a root holds.
fn layer_dirs(w: &Wharf) -> BTreeSet<String> {
    fs::read_dir(w.root().join("layers"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// The layers (diff ID hex) of image `name`.
fn layers_of_image(w: &Wharf, name: &str) -> BTreeSet<String> {
    let out = w.ok([
        "image",
        "inspect",
        "--format",
        "{{json .RootFS.Layers}}",
        name,
    ]);
    serde_json::from_str::<Vec<String>>(out.trim())
        .unwrap()
        .iter()
        .map(|d| d.strip_prefix("sha256:").unwrap().to_string())
        .collect()
}

/// A new, empty root (with `a`'s busybox) builds the context as `again`
/// from `cache_from`: the client and the build's plain progress.
fn rebuild_on_an_empty_root(a: &Client, cache_from: &str) -> (Client, String) {
    let b = Client::new();
    same_busybox(&a.w, &b.w);
    let dir = ctx(&b.w);
    let out = b
        .cmd([
            "build",
            "--progress",
            "plain",
            "--cache-from",
            cache_from,
            "--cache-to",
            "type=inline",
            "-t",
            "again",
            dir.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let progress = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{progress}");
    (b, progress)
}

/// docker 20.10's BuildKit and wharf read each other's inline cache from
/// the registry: the manifests and configs parse and the builds go on
/// (the records' keys are each builder's own, so neither reuses the
/// other's steps).
#[test]
fn docker_buildkit_and_wharf_read_each_others_inline_cache() {
    require_docker();
    let reg = Registry::start(RegistryConfig::default());
    let a = Client::new();
    let base = unique("wharf-cache-base");
    common::import_busybox_in_both(&a.w, &base, &["CMD [\"sh\"]"]);
    let _images = DockerImages(vec![base.clone()]);
    let df = DOCKERFILE.replace("busybox:local", &base);
    let dir = build_context(&a.w, "d", &[("Dockerfile", &df), ("app.txt", "hello\n")]);
    let d = dir.to_str().unwrap();

    // wharf's inline cache, read by docker's BuildKit.
    let ours = format!("{}/me/ours:1", reg.host());
    let _ours = DockerImages(vec![ours.clone(), format!("{ours}-docker")]);
    a.ok(["build", "-q", "--cache-to", "type=inline", "-t", &ours, d]);
    a.ok(["push", &ours]);
    let out = docker()
        .env("DOCKER_BUILDKIT", "1")
        .args(["build", "--progress", "plain", "--cache-from", &ours, "-t"])
        .arg(format!("{ours}-docker"))
        .arg(d)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!("importing cache manifest from {ours}")),
        "{err}"
    );
    assert!(!err.contains("failed to import"), "{err}");

    // docker's inline cache (BUILDKIT_INLINE_CACHE=1), read by wharf.
    let theirs = format!("{}/me/theirs:1", reg.host());
    let _theirs = DockerImages(vec![theirs.clone()]);
    sh(docker().env("DOCKER_BUILDKIT", "1").args([
        "build",
        "-q",
        "--build-arg",
        "BUILDKIT_INLINE_CACHE=1",
        "-t",
        &theirs,
        d,
    ]));
    sh(docker().args(["push", &theirs]));
    let b = Client::new();
    b.w.import_busybox(&base);
    let dir_b = build_context(&b.w, "d", &[("Dockerfile", &df), ("app.txt", "hello\n")]);
    let out = b
        .cmd([
            "build",
            "--progress",
            "plain",
            "--cache-from",
            &theirs,
            "-t",
            "x",
        ])
        .arg(&dir_b)
        .output()
        .unwrap();
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{progress}");
    assert!(
        progress.contains(&format!("importing cache manifest from {theirs}")),
        "{progress}"
    );
    assert!(
        !progress.contains("WARNING"),
        "docker's inline cache reads: {progress}"
    );
    assert_eq!(b.ok(["run", "--rm", "x"]), "hello\n");
}
