//! `wharf compose up/down` against Docker Compose v2.40.3 on dockerd: the
//! same project brought up by both has the same containers (names,
//! labels with their config hashes, environment, port bindings, networks
//! and aliases, mounts), its services reach each other by name, a second
//! `up -d` touches nothing, and `down` leaves the same things behind.

mod common;

use common::compose::{
    ok, progress_lines, require_docker_compose, sorted_lines, DockerProject, Project, WharfProject,
};
use common::{docker, free_port, import_busybox_in_both, unique, DockerImages, Wharf};
use serde_json::Value;

fn project_yaml(image: &str, port: u16) -> String {
    format!(
        r#"services:
  web:
    image: {image}
    command: ["httpd", "-f", "-p", "8080", "-h", "/var/www"]
    ports:
      - "127.0.0.1:{port}:8080"
    environment:
      GREETING: hello
      EMPTY: ""
    depends_on: [db]
    volumes:
      - data:/data
      - ./site:/site:ro
    networks:
      default:
      back:
        aliases: [www]
    labels:
      tier: front
    links: ["db:database"]
  db:
    image: {image}
    command: ["sleep", "300"]
    stop_signal: SIGKILL
    hostname: database
    networks: [back]
volumes:
  data:
networks:
  back:
"#
    )
}

/// Whether `database` (web's link to db) resolves in web: wget reaches
/// an address (and finds no server on port 1).
const LINKED: &str =
    "wget -qO- http://database:1/ 2>&1 | grep -q \"can't connect\" && echo resolved";

fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `inspect` of one container.
fn inspect_wharf(w: &Wharf, name: &str) -> Value {
    let v: Value = serde_json::from_str(&w.ok(["inspect", name])).unwrap();
    v[0].clone()
}

fn inspect_docker(name: &str) -> Value {
    let out = docker().args(["inspect", name]).output().unwrap();
    let v: Value = serde_json::from_str(&ok(&out, "docker inspect")).unwrap();
    v[0].clone()
}

/// What must agree between the two tools about a container.
fn essentials(c: &Value) -> Value {
    let mut labels = c["Config"]["Labels"].clone();
    // The image ID differs (each engine made its own image).
    labels
        .as_object_mut()
        .unwrap()
        .remove("com.docker.compose.image");
    // docker writes `null` for no variables, wharf `[]`.
    let mut env: Vec<String> = c["Config"]["Env"]
        .as_array()
        .map(|a| a.iter().map(|e| e.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    env.sort();
    let short = &c["Id"].as_str().unwrap()[..12];
    let networks: serde_json::Map<String, Value> = c["NetworkSettings"]["Networks"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let mut aliases: Vec<String> = v["Aliases"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|x| x.as_str().unwrap().to_string())
                        .filter(|x| x != short)
                        .collect()
                })
                .unwrap_or_default();
            aliases.sort();
            (
                k.clone(),
                serde_json::json!({"Aliases": aliases, "Links": v["Links"]}),
            )
        })
        .collect();
    let mut mounts: Vec<Value> = c["Mounts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            serde_json::json!({
                "Type": m["Type"],
                "Name": m.get("Name").cloned().unwrap_or(Value::Null),
                "Destination": m["Destination"],
                "RW": m["RW"],
            })
        })
        .collect();
    mounts.sort_by_key(|m| m["Destination"].as_str().unwrap().to_string());
    let binds = c["HostConfig"]["Binds"].as_array().map(|b| {
        let mut b: Vec<String> = b.iter().map(|x| x.as_str().unwrap().to_string()).collect();
        b.sort();
        b
    });
    serde_json::json!({
        "Name": c["Name"],
        "Labels": labels,
        "Env": env,
        "Cmd": c["Config"]["Cmd"],
        "Hostname": if c["Config"]["Hostname"].as_str().unwrap().len() == 12 { Value::Null } else { c["Config"]["Hostname"].clone() },
        "ExposedPorts": c["Config"]["ExposedPorts"],
        "PortBindings": c["HostConfig"]["PortBindings"],
        "NetworkMode": c["HostConfig"]["NetworkMode"],
        // Compose builds them from a Go map: in any order.
        "Binds": binds,
        "StopSignal": c["Config"]["StopSignal"],
        "Networks": networks,
        "Mounts": mounts,
    })
}

/// Labels of the networks or volumes whose names start with `prefix`.
fn labelled(lines: &str, inspect: impl Fn(&str) -> Value, prefix: &str) -> Value {
    let mut out = serde_json::Map::new();
    for name in lines.lines().filter(|n| n.starts_with(prefix)) {
        out.insert(name.to_string(), inspect(name)["Labels"].clone());
    }
    Value::Object(out)
}

#[test]
fn up_and_down_match_docker_compose() {
    require_docker_compose();
    let w = Wharf::new();
    let image = unique("cmp-up-img").to_lowercase();
    let _images = DockerImages(vec![image.clone()]);
    import_busybox_in_both(&w, &image, &["CMD [\"sh\"]"]);
    let name = unique("cmpup");
    let port = free_port();
    let p = Project::new(&w, &name, &project_yaml(&image, port));
    p.write("site/index.html", "site\n");
    let names = [format!("{name}-db-1"), format!("{name}-web-1")];

    // Docker first, all the way down again, then wharf on the same port.
    let docker_side = {
        let _down = DockerProject(&p);
        let up = p.docker(["up", "-d"]);
        ok(&up, "docker compose up -d");
        let again = p.docker(["up", "-d"]);
        ok(&again, "docker compose up -d (again)");
        let reply = p.docker(["exec", "-T", "db", "wget", "-qO-", "http://www:8080/"]);
        let by_name = p.docker(["exec", "-T", "db", "wget", "-qO-", "http://web:8080/"]);
        let link = p.docker(["exec", "-T", "web", "sh", "-c", LINKED]);
        let ps = ok(&p.docker(["ps", "-a", "--format", "{{.Name}}"]), "ps");
        let containers: Vec<Value> = names
            .iter()
            .map(|n| essentials(&inspect_docker(n)))
            .collect();
        let nets = ok(
            &docker()
                .args(["network", "ls", "--format", "{{.Name}}"])
                .output()
                .unwrap(),
            "network ls",
        );
        let vols = ok(
            &docker()
                .args(["volume", "ls", "--format", "{{.Name}}"])
                .output()
                .unwrap(),
            "volume ls",
        );
        let inspect_net = |n: &str| -> Value {
            let o = docker().args(["network", "inspect", n]).output().unwrap();
            serde_json::from_str::<Value>(&ok(&o, "network inspect")).unwrap()[0].clone()
        };
        let inspect_vol = |n: &str| -> Value {
            let o = docker().args(["volume", "inspect", n]).output().unwrap();
            serde_json::from_str::<Value>(&ok(&o, "volume inspect")).unwrap()[0].clone()
        };
        let net_labels = labelled(&nets, inspect_net, &format!("{name}_"));
        let vol_labels = labelled(&vols, inspect_vol, &format!("{name}_"));
        let down = p.docker(["down", "-t", "0"]);
        ok(&down, "docker compose down");
        let left_nets = ok(
            &docker()
                .args(["network", "ls", "--format", "{{.Name}}"])
                .output()
                .unwrap(),
            "network ls",
        );
        let left_vols = ok(
            &docker()
                .args(["volume", "ls", "--format", "{{.Name}}"])
                .output()
                .unwrap(),
            "volume ls",
        );
        let left: Vec<String> = left_nets
            .lines()
            .chain(left_vols.lines())
            .filter(|n| n.starts_with(&format!("{name}_")))
            .map(str::to_string)
            .collect();
        (
            progress_lines(&up),
            progress_lines(&again),
            reply,
            by_name,
            link,
            ps,
            containers,
            net_labels,
            vol_labels,
            progress_lines(&down),
            left,
        )
    };

    let _down = WharfProject(&w, &p);
    let up = p.wharf(&w, ["up", "-d"]);
    ok(&up, "wharf compose up -d");
    let again = p.wharf(&w, ["up", "-d"]);
    ok(&again, "wharf compose up -d (again)");
    let reply = p.wharf(&w, ["exec", "-T", "db", "wget", "-qO-", "http://www:8080/"]);
    let by_name = p.wharf(&w, ["exec", "-T", "db", "wget", "-qO-", "http://web:8080/"]);
    let link = p.wharf(&w, ["exec", "-T", "web", "sh", "-c", LINKED]);
    let ps = ok(&p.wharf(&w, ["ps", "-a", "--format", "{{.Name}}"]), "ps");
    let containers: Vec<Value> = names
        .iter()
        .map(|n| essentials(&inspect_wharf(&w, n)))
        .collect();
    let nets = w.ok(["network", "ls", "--format", "{{.Name}}"]);
    let vols = w.ok(["volume", "ls", "--format", "{{.Name}}"]);
    let inspect_net = |n: &str| -> Value {
        serde_json::from_str::<Value>(&w.ok(["network", "inspect", n])).unwrap()[0].clone()
    };
    let inspect_vol = |n: &str| -> Value {
        serde_json::from_str::<Value>(&w.ok(["volume", "inspect", n])).unwrap()[0].clone()
    };
    let net_labels = labelled(&nets, inspect_net, &format!("{name}_"));
    let vol_labels = labelled(&vols, inspect_vol, &format!("{name}_"));
    // The published port answers on the host.
    let page = std::process::Command::new("wget")
        .args(["-qO-", &format!("http://127.0.0.1:{port}/")])
        .output();
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let down = p.wharf(&w, ["down", "-t", "0"]);
    ok(&down, "wharf compose down");
    // Removed by its monitor at its exit, with docker's events of a stop
    // and a removal, in docker's order. `--until` now: the events so far,
    // at once (a later one would stream until then).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let until = format!("{}.{:09}", now.as_secs(), now.subsec_nanos());
    let filter = format!("container={name}-web-1");
    let args = ["events", "--since", &since.to_string(), "--until", &until];
    let actions = w.ok(args
        .into_iter()
        .chain(["--filter", &filter, "--format", "{{.Action}}"]));
    let actions: Vec<&str> = actions.lines().collect();
    assert_eq!(
        actions[actions.len().saturating_sub(4)..],
        ["kill", "die", "stop", "destroy"],
        "{actions:?}"
    );
    let left: Vec<String> = w
        .ok(["network", "ls", "--format", "{{.Name}}"])
        .lines()
        .chain(w.ok(["volume", "ls", "--format", "{{.Name}}"]).lines())
        .filter(|n| n.starts_with(&format!("{name}_")))
        .map(str::to_string)
        .collect();

    let (
        d_up,
        d_again,
        d_reply,
        d_by_name,
        d_link,
        d_ps,
        d_containers,
        d_nets,
        d_vols,
        d_down,
        d_left,
    ) = docker_side;
    assert_eq!(progress_lines(&up), d_up, "up -d's progress");
    assert_eq!(progress_lines(&again), d_again, "a second up -d's progress");
    assert_eq!(
        progress_lines(&again),
        sorted_lines(&format!(
            " Container {name}-db-1  Running\n Container {name}-web-1  Running\n"
        ))
    );
    assert_eq!(ok(&reply, "wharf exec"), ok(&d_reply, "docker exec"));
    assert_eq!(ok(&reply, "wharf exec"), "hello from busybox\n");
    assert_eq!(ok(&by_name, "wharf exec"), ok(&d_by_name, "docker exec"));
    assert_eq!(stdout_of(&link), stdout_of(&d_link), "the link's name");
    assert_eq!(stdout_of(&link), "resolved\n");
    assert_eq!(sorted_lines(&ps), sorted_lines(&d_ps));
    assert_eq!(containers, d_containers, "the containers");
    assert_eq!(net_labels, d_nets, "the networks' labels");
    assert_eq!(vol_labels, d_vols, "the volumes' labels");
    assert_eq!(progress_lines(&down), d_down, "down's progress");
    assert_eq!(left, d_left, "what down leaves");
    assert_eq!(left, vec![format!("{name}_data")]);
    if let Ok(page) = page {
        assert_eq!(
            String::from_utf8_lossy(&page.stdout),
            "hello from busybox\n"
        );
    }
    // `down -v` takes the volume too.
    ok(&p.wharf(&w, ["down", "-v"]), "wharf compose down -v");
    assert!(!w
        .ok(["volume", "ls", "--format", "{{.Name}}"])
        .contains(&format!("{name}_data")));
}

#[test]
fn converges_by_config_hash() {
    require_docker_compose();
    let w = Wharf::new();
    let image = unique("cmp-conv-img").to_lowercase();
    w.import_busybox(&image);
    let name = unique("cmpconv");
    let yaml = |greeting: &str| {
        format!(
            "services:\n  app:\n    image: {image}\n    command: [\"sleep\", \"300\"]\n    stop_signal: SIGKILL\n    environment:\n      GREETING: {greeting}\n    ports: [\"8080\"]\n"
        )
    };
    let p = Project::new(&w, &name, &yaml("hi"));
    let _down = WharfProject(&w, &p);
    let first = ok(
        &p.wharf(&w, ["up", "-d", "--scale", "app=3"]),
        "up --scale 3",
    );
    let _ = first;
    let ids = |w: &Wharf| -> Vec<String> { sorted_lines(&ok(&p.wharf(w, ["ps", "-q"]), "ps -q")) };
    let before = ids(&w);
    assert_eq!(before.len(), 3);
    // Nothing changed: nothing is touched.
    let again = p.wharf(&w, ["up", "-d", "--scale", "app=3"]);
    ok(&again, "up again");
    assert_eq!(ids(&w), before);
    assert!(progress_lines(&again)
        .iter()
        .all(|l| l.ends_with("  Running")));
    // Scaled down: the highest numbers go.
    let down = p.wharf(&w, ["up", "-d", "--scale", "app=1"]);
    ok(&down, "up --scale 1");
    assert_eq!(
        sorted_lines(&ok(&p.wharf(&w, ["ps", "--format", "{{.Name}}"]), "ps")),
        vec![format!("{name}-app-1")]
    );
    // A changed environment recreates, keeping the name.
    p.write("compose.yaml", &yaml("bye"));
    let changed = p.wharf(&w, ["up", "-d"]);
    ok(&changed, "up after an edit");
    let lines = progress_lines(&changed);
    assert!(
        lines.contains(&format!(" Container {name}-app-1  Recreated")),
        "{lines:?}"
    );
    let env = ok(
        &p.wharf(&w, ["exec", "-T", "app", "sh", "-c", "echo $GREETING"]),
        "exec",
    );
    assert_eq!(env, "bye\n");
}
