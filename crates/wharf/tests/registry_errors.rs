//! Registry failures: one clear line naming the registry and the image,
//! exit code 1, and the store exactly as it was.

mod common;
mod registry_env;

use registry_env::client::{import_unique, push_busybox, Client};
use registry_env::{free_port, Registry, RegistryConfig, Silent};

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
