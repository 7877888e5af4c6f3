//! Mount flags side by side with the real docker (20.10): the same bad
//! input gets the same message and exit code, and the same good input
//! shows the same `Mounts` / `HostConfig` in `inspect`.

mod common;

use std::process::Output;

use common::{
    docker, import_busybox_in_both, mounts_under, require_docker, sh, unique, DockerImages,
    DockerObjects, Wharf,
};
use serde_json::Value;

/// The one line that says what went wrong, without the CLIs' dressing
/// (docker 20.10 prints daemon errors as `docker: Error response from
/// daemon: <message>.`; wharf as `Error: <message>`).
fn message(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err.lines().find(|l| !l.is_empty()).unwrap_or_default();
    match line.strip_prefix("docker: ") {
        Some(rest) => rest
            .trim_start_matches("Error response from daemon: ")
            .strip_suffix('.')
            .unwrap_or(rest)
            .to_string(),
        None => line.trim_start_matches("Error: ").to_string(),
    }
}

#[test]
fn bad_mount_flags_fail_like_docker() {
    require_docker();
    let w = Wharf::new();
    let image = format!("{}:1", unique("wharf-interop/vols"));
    let _images = DockerImages(vec![image.clone()]);
    import_busybox_in_both(&w, &image, &["CMD [\"sh\"]"]);
    let missing = w.scratch().join("missing");
    let missing = missing.display().to_string();
    let cases: Vec<Vec<String>> = [
        vec!["--mount", &format!("type=bind,source={missing},target=/x")],
        vec!["--mount", "type=bind,source=rel,target=/x"],
        vec!["--mount", "type=bind,target=/x"],
        vec!["--mount", "type=volume"],
        vec!["--mount", "type=foo,target=/x"],
        vec!["--mount", "target=/x,bogus=1"],
        vec!["--mount", "target=x"],
        vec!["--mount", "type=tmpfs,source=a,target=/x"],
        vec!["--mount", "type=tmpfs,target=/x,tmpfs-size=abc"],
        vec!["--mount", "type=tmpfs,target=/x,tmpfs-mode=999"],
        vec!["--mount", "type=bind,src=/tmp,target=/x,volume-nocopy"],
        vec!["--mount", "type=volume,target=/x,bind-propagation=shared"],
        vec!["--mount", "type=volume,target=/x,readonly=maybe"],
        vec!["--mount", "type=volume,target=/x,ro=1"],
        vec!["--mount", "type=volume,target"],
        vec!["-v", "/tmp:rel"],
        vec!["-v", "./rel:/x"],
        vec!["--mount", "type=bind,src=./rel,dst=/x"],
        vec!["-v", "/tmp:/x:bogus"],
        vec!["-v", "/tmp:/x:ro,rw"],
        vec!["-v", "/x:ro"],
        vec!["-v", "/tmp:/"],
        vec!["-v", "a/b:/x"],
        vec!["-v", "x:/x:rshared"],
        vec!["-v", "/x:/y:nocopy"],
        vec!["-v", "/tmp:/x", "-v", "/etc:/x"],
        vec!["-v", "/tmp:/x", "--tmpfs", "/x"],
        vec!["--tmpfs", "/x:bogus"],
        vec!["--tmpfs", "x"],
    ]
    .iter()
    .map(|c| c.iter().map(|s| s.to_string()).collect())
    .collect();
    for flags in cases {
        let mut args = vec!["run".to_string(), "--rm".into()];
        args.extend(flags.iter().cloned());
        args.extend([image.clone(), "true".into()]);
        let theirs = docker().args(&args).output().unwrap();
        let ours = w.run(&args);
        assert_eq!(
            ours.status.code(),
            theirs.status.code(),
            "{flags:?}: exit codes differ"
        );
        assert_eq!(message(&ours), message(&theirs), "{flags:?}");
    }
    assert_eq!(w.ok(["volume", "ls", "-q"]), "");
    assert!(!std::path::Path::new(&missing).exists());
    w.settled();
    assert!(mounts_under(&w).is_empty());
}

/// `Mounts` sorted by destination, volume names and sources (which differ
/// between the two stores) replaced by what they are.
fn mounts(inspect: &Value) -> Vec<Value> {
    let mut ms = inspect["Mounts"].as_array().cloned().unwrap_or_default();
    ms.sort_by_key(|m| m["Destination"].as_str().unwrap_or_default().to_string());
    for m in &mut ms {
        if m["Type"] == "volume" {
            let name = m["Name"].as_str().unwrap_or_default();
            let anonymous = name.len() == 64;
            m["Name"] = Value::from(if anonymous { "<anonymous>" } else { name });
            m["Source"] = Value::from("<volume>");
        }
    }
    ms
}

#[test]
fn inspect_shows_mounts_like_docker() {
    require_docker();
    let w = Wharf::new();
    let image = format!("{}:1", unique("wharf-interop/volsinspect"));
    let _images = DockerImages(vec![image.clone()]);
    import_busybox_in_both(&w, &image, &["CMD [\"sh\"]", "VOLUME /data"]);
    let host = w.scratch().display().to_string();
    let volume = unique("wharf-interop-vol");
    let name = unique("wharf-interop-c");
    let mut objects = DockerObjects {
        containers: vec![],
        volumes: vec![volume.clone()],
    };
    let flags = [
        "-v".to_string(),
        format!("{host}:/b:ro"),
        "-v".into(),
        format!("{volume}:/n"),
        "-v".into(),
        "/anon".into(),
        "--mount".into(),
        format!("type=bind,src={host},dst=/b2,readonly"),
        "--mount".into(),
        format!("type=volume,src={volume},dst=/m,volume-nocopy"),
        "--mount".into(),
        "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=0700".into(),
        "--tmpfs".into(),
        "/t2:size=2m".into(),
    ];
    let mut args = vec!["create".to_string(), "--name".into(), name.clone()];
    args.extend(flags.iter().cloned());
    args.push(image.clone());
    objects.containers.push(name.clone());
    sh(docker().args(&args));
    w.ok(&args);
    let parse = |out: String| -> Value { serde_json::from_str::<Value>(&out).unwrap()[0].clone() };
    let theirs = parse(sh(docker().args(["inspect", &name])));
    let ours = parse(w.ok(["inspect", &name]));
    assert_eq!(mounts(&ours), mounts(&theirs));
    // The docker CLI sends binds in map order.
    let sorted = |v: &Value| {
        let mut a: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        a.sort();
        a
    };
    assert_eq!(
        sorted(&ours["HostConfig"]["Binds"]),
        sorted(&theirs["HostConfig"]["Binds"])
    );
    for key in ["Mounts", "Tmpfs"] {
        assert_eq!(ours["HostConfig"][key], theirs["HostConfig"][key], "{key}");
    }
    assert_eq!(ours["Config"]["Volumes"], theirs["Config"]["Volumes"]);
    let v_ours = parse(w.ok(["volume", "inspect", &volume]));
    let v_theirs = parse(sh(docker().args(["volume", "inspect", &volume])));
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&v_ours), keys(&v_theirs));
    for key in ["Driver", "Labels", "Name", "Options", "Scope"] {
        assert_eq!(v_ours[key], v_theirs[key], "{key}");
    }
    drop(objects);
    w.ok(["rm", "-v", &name]);
    assert!(mounts_under(&w).is_empty());
}
