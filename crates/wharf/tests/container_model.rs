//! The container record side by side with docker 20.10: `inspect` has
//! docker's keys (at every level), and the status moves as docker's does
//! (paused is its own state; a start that fails leaves it `created`).

mod common;

use std::collections::BTreeSet;

use common::{
    docker, import_busybox_in_both, require_docker, unique, DockerImages, DockerObjects, Wharf,
};
use serde_json::Value;

/// Every key path of a JSON document (`HostConfig.LogConfig.Type` ...),
/// map keys that are data (labels, ports, networks by name) left out.
fn key_paths(v: &Value, at: &str, out: &mut BTreeSet<String>) {
    const DATA_MAPS: &[&str] = &[
        "Config.Labels",
        "Config.ExposedPorts",
        "Config.Volumes",
        "HostConfig.PortBindings",
        "HostConfig.LogConfig.Config",
        "NetworkSettings.Ports",
        "NetworkSettings.Networks",
        "GraphDriver.Data",
    ];
    if let Value::Object(m) = v {
        if DATA_MAPS.contains(&at) {
            return;
        }
        for (k, x) in m {
            let path = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            out.insert(path.clone());
            key_paths(x, &path, out);
        }
    }
}

fn inspect(json: &str) -> Value {
    let v: Value = serde_json::from_str(json).expect("inspect prints JSON");
    v[0].clone()
}

#[test]
fn inspect_has_dockers_keys() {
    require_docker();
    let w = Wharf::new();
    let image = format!("{}:1", unique("wharf-model/bb"));
    let _images = DockerImages(vec![image.clone()]);
    import_busybox_in_both(&w, &image, &["CMD [\"sh\"]"]);
    let name = unique("wharf-model-c");
    let _dc = DockerObjects {
        containers: vec![name.clone()],
        volumes: Vec::new(),
    };
    let flags = [
        "--name",
        &name,
        "-e",
        "A=1",
        "-p",
        "127.0.0.1::80",
        "--restart",
        "on-failure:2",
        "-m",
        "64m",
        "--cap-add",
        "NET_ADMIN",
        "-v",
        "/data",
    ];
    let mut args = vec!["create"];
    args.extend(flags);
    args.extend([image.as_str(), "sleep", "5"]);
    w.ok(&args);
    common::sh(docker().args(&args));
    let ours = inspect(&w.ok(["inspect", &name]));
    let theirs = inspect(&common::sh(docker().args(["inspect", &name])));
    let (mut a, mut b) = (BTreeSet::new(), BTreeSet::new());
    key_paths(&ours, "", &mut a);
    key_paths(&theirs, "", &mut b);
    let missing: Vec<_> = b.difference(&a).collect();
    let extra: Vec<_> = a.difference(&b).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "inspect keys differ from docker's: missing {missing:?}, extra {extra:?}"
    );
    // And the values the flags set, as docker has them.
    for path in [
        "/State/Status",
        "/HostConfig/RestartPolicy",
        "/HostConfig/Memory",
        "/HostConfig/CapAdd",
        "/HostConfig/PortBindings",
        "/HostConfig/NetworkMode",
        "/HostConfig/ShmSize",
        "/HostConfig/IpcMode",
        "/HostConfig/LogConfig",
        "/Config/Volumes",
        "/Config/ExposedPorts",
        "/Config/Cmd",
        "/Path",
        "/Args",
    ] {
        assert_eq!(ours.pointer(path), theirs.pointer(path), "{path}");
    }
    let env = |v: &Value| -> Vec<String> {
        serde_json::from_value(v["Config"]["Env"].clone()).unwrap_or_default()
    };
    assert!(env(&ours).contains(&"A=1".to_string()) && env(&theirs).contains(&"A=1".to_string()));
}

#[test]
fn status_moves_as_dockers() {
    require_docker();
    let w = Wharf::new();
    let image = format!("{}:1", unique("wharf-model/st"));
    let _images = DockerImages(vec![image.clone()]);
    import_busybox_in_both(&w, &image, &["CMD [\"sh\"]"]);
    let (wn, dn) = (unique("wharf-st-w"), unique("wharf-st-d"));
    let _dc = DockerObjects {
        containers: vec![dn.clone()],
        volumes: Vec::new(),
    };
    let status = |out: String| out.trim().to_string();
    // A command that does not exist: the container stays `created`, with
    // the exit code and the error recorded.
    let (code, _) = w.fails(["run", "--name", &wn, &image, "nope"]);
    let docker_code = docker()
        .args(["run", "--name", &dn, &image, "nope"])
        .output()
        .unwrap()
        .status
        .code();
    assert_eq!(Some(code), docker_code);
    let fmt = "{{.State.Status}} {{.State.ExitCode}} {{.State.Running}}";
    let ours = status(w.ok(["inspect", "-f", fmt, &wn]));
    let theirs = status(common::sh(docker().args(["inspect", "-f", fmt, &dn])));
    assert_eq!(ours, theirs);
    assert_eq!(ours, "created 127 false");
    let err = w.ok(["inspect", "-f", "{{.State.Error}}", &wn]);
    assert!(err.contains("executable file not found"), "{err}");
    w.ok(["rm", &wn]);
    common::sh(docker().args(["rm", &dn]));

    // Paused is its own status; ps shows it and filters on it.
    w.ok(["run", "-d", "--name", &wn, &image, "sleep", "60"]);
    common::sh(docker().args(["run", "-d", "--name", &dn, &image, "sleep", "60"]));
    w.ok(["pause", &wn]);
    common::sh(docker().args(["pause", &dn]));
    let fmt = "{{.State.Status}} {{.State.Running}} {{.State.Paused}}";
    let ours = status(w.ok(["inspect", "-f", fmt, &wn]));
    let theirs = status(common::sh(docker().args(["inspect", "-f", fmt, &dn])));
    assert_eq!(ours, theirs);
    assert_eq!(ours, "paused true true");
    let ps = w.ok([
        "ps",
        "--filter",
        "status=paused",
        "--format",
        "{{.Names}} {{.State}}",
    ]);
    assert_eq!(ps.trim(), format!("{wn} paused"));
    let ps = w.ok(["ps", "--filter", "status=running", "-q"]);
    assert!(
        ps.trim().is_empty(),
        "a paused container is not running: {ps}"
    );
    // Pausing twice is refused, as docker refuses it.
    let (code, msg) = w.fails(["pause", &wn]);
    assert_eq!(code, 1);
    assert!(msg.contains("is already paused"), "{msg}");
    w.ok(["unpause", &wn]);
    let ours = status(w.ok(["inspect", "-f", fmt, &wn]));
    assert_eq!(ours, "running true false");
    w.ok(["rm", "-f", &wn]);
}
