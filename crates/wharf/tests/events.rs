//! `wharf events` side by side with docker 20.10's `docker events`: the
//! same actions give the same events (type, action, attributes; IDs and
//! times aside), in docker's line, template and JSON formats; history
//! with `--since`/`--until`, filters, and a live stream that follows
//! without polling.

mod common;

use std::time::{Duration, Instant};

use common::{
    docker, import_busybox_in_both, require_docker, unique, DockerImages, DockerObjects, Stream,
    Wharf,
};
use serde_json::Value;

/// `TYPE ACTION {attributes}` with every 64-digit ID replaced by `ID`.
const FORMAT: &str = "{{.Type}} {{.Action}} {{json .Actor.Attributes}}";

fn normalize(line: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    for c in line.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_hexdigit() && !c.is_ascii_uppercase() {
            run.push(c);
            continue;
        }
        if run.len() == 64 {
            out.push_str("ID");
        } else {
            out.push_str(&run);
        }
        run.clear();
        out.push(c);
    }
    out.pop();
    out
}

fn now_arg() -> String {
    let t = chrono::Utc::now();
    format!("{}.{:09}", t.timestamp(), t.timestamp_subsec_nanos())
}

/// Run `steps` in wharf and in docker (each step's `{}` replaced by that
/// side's name for the object), streaming `events --filter FILTER` from
/// before the first step; the normalized lines of each, up to the one
/// `last` matches.
fn both(
    w: &Wharf,
    filters: &[String],
    names: (&str, &str),
    steps: &[Vec<&str>],
    last: &str,
) -> (Vec<String>, Vec<String>) {
    let since = now_arg();
    let mut args = vec![
        "events".to_string(),
        "--since".into(),
        since,
        "--format".into(),
        FORMAT.into(),
    ];
    for f in filters {
        args.extend(["--filter".to_string(), f.clone()]);
    }
    let ours = Stream::start({
        let mut c = w.command(&args);
        c.env("TZ", "UTC");
        c
    });
    let theirs = Stream::start({
        let mut c = docker();
        c.args(&args);
        c
    });
    for step in steps {
        for (docker_side, name) in [(false, names.0), (true, names.1)] {
            let a: Vec<String> = step.iter().map(|s| s.replace("{}", name)).collect();
            if docker_side {
                common::sh(docker().args(&a));
            } else {
                w.ok(&a);
            }
        }
    }
    let done = |l: &str| normalize(l).starts_with(last);
    let norm = |lines: Vec<String>, own: &str| -> Vec<String> {
        let mut out = Vec::new();
        for l in lines {
            let n = normalize(&l).replace(own, "NAME");
            let stop = n.starts_with(last);
            out.push(n);
            if stop {
                break;
            }
        }
        out
    };
    (
        norm(ours.until(last, done), names.0),
        norm(theirs.until(last, done), names.1),
    )
}

#[test]
fn container_events_match_dockers() {
    require_docker();
    let w = Wharf::new();
    let image = format!("{}:1", unique("wharf-ev/c"));
    let _images = DockerImages(vec![image.clone()]);
    import_busybox_in_both(&w, &image, &["CMD [\"sh\"]", "LABEL team=ev"]);
    let (ours, theirs) = (unique("wharf-ev-w"), unique("wharf-ev-d"));
    let _dc = DockerObjects {
        containers: vec![theirs.clone(), format!("{theirs}-2")],
        volumes: Vec::new(),
    };
    let steps: Vec<Vec<&str>> = vec![
        vec!["run", "-d", "--name", "{}", &image, "sleep", "60"],
        vec!["pause", "{}"],
        vec!["unpause", "{}"],
        vec!["exec", "{}", "true"],
        // PID 1 ignores a signal it has no handler for: it runs on.
        vec!["kill", "-s", "USR1", "{}"],
        vec!["stop", "-t", "1", "{}"],
        vec!["start", "{}"],
        vec!["restart", "-t", "1", "{}"],
        vec!["rename", "{}", "{}-2"],
        vec!["rm", "-f", "{}-2"],
    ];
    // The image's containers: every event of theirs names it.
    let filters = [format!("image={image}"), "type=container".to_string()];
    let (a, b) = both(
        &w,
        &filters,
        (&ours, &theirs),
        &steps[..1],
        "container start",
    );
    assert_eq!(a, b);
    let (a, b) = both(
        &w,
        &filters,
        (&ours, &theirs),
        &steps[1..],
        "container destroy",
    );
    assert_eq!(a, b, "wharf:\n{a:#?}\ndocker:\n{b:#?}");
    let want = [
        r#"container pause {"image":"IMAGE","name":"NAME","team":"ev"}"#,
        r#"container exec_die {"execID":"ID","exitCode":"0","image":"IMAGE","name":"NAME","team":"ev"}"#,
        r#"container kill {"image":"IMAGE","name":"NAME","signal":"10","team":"ev"}"#,
        r#"container rename {"image":"IMAGE","name":"NAME-2","oldName":"/NAME","team":"ev"}"#,
    ];
    for line in want {
        let line = line.replace("IMAGE", &image);
        assert!(a.contains(&line), "{line} not in {a:#?}");
    }
}

#[test]
fn image_network_and_volume_events_match_dockers() {
    require_docker();
    let w = Wharf::new();
    let base = unique("wharf-ev/i");
    let (ours, theirs) = (format!("{base}-w"), format!("{base}-d"));
    let _images = DockerImages(vec![
        format!("{theirs}:1"),
        format!("{theirs}:2"),
        format!("{theirs}-imp:1"),
    ]);
    let tar = common::busybox_rootfs_tar(&w.scratch());
    let tar = tar.to_str().unwrap();
    let (nw, nd) = (unique("wharf-evn-w"), unique("wharf-evn-d"));
    let _dv = DockerObjects {
        containers: Vec::new(),
        volumes: vec![nd.clone()],
    };
    let _dn = NetworkGuard(nd.clone());
    let steps: Vec<Vec<&str>> = vec![
        vec!["import", "-c", "LABEL team=ev", tar, "{}:1"],
        vec!["tag", "{}:1", "{}:2"],
        vec!["rmi", "{}:2"],
        vec!["save", "-o", "ARCHIVE", "{}:1"],
        vec!["load", "-i", "ARCHIVE"],
        vec!["import", tar, "{}-imp:1"],
        vec!["rmi", "{}-imp:1"],
        vec!["network", "create", "NET"],
        vec!["network", "rm", "NET"],
        vec!["volume", "create", "NET"],
        vec!["volume", "rm", "NET"],
    ];
    let format = "{{.Type}} {{.Action}} {{.Actor.ID}} {{json .Actor.Attributes}}";
    let args = ["events", "--since", &now_arg(), "--format", format].map(String::from);
    let stream_ours = Stream::start(w.command(&args));
    let stream_theirs = Stream::start({
        let mut c = docker();
        c.args(&args);
        c
    });
    for (docker_side, name, net) in [(false, &ours, &nw), (true, &theirs, &nd)] {
        let archive = w.scratch().join(format!("{docker_side}.tar"));
        for step in &steps {
            let a: Vec<String> = step
                .iter()
                .map(|x| {
                    x.replace("{}", name)
                        .replace("ARCHIVE", archive.to_str().unwrap())
                        .replace("NET", net)
                })
                .collect();
            if docker_side {
                common::sh(docker().args(&a));
            } else {
                w.ok(&a);
            }
        }
    }
    // Only this test's objects (docker's daemon is shared): lines naming
    // them, and image events of the images they tagged.
    let ours_only = |lines: Vec<String>, name: &str, net: &str| -> Vec<String> {
        let mut images: Vec<String> = Vec::new();
        let mut out = Vec::new();
        for l in lines {
            let f: Vec<&str> = l.splitn(4, ' ').collect();
            if f[0] == "image" && l.contains(name) && !images.iter().any(|i| i == f[2]) {
                images.push(f[2].to_string());
            }
            if l.contains(name) || l.contains(net) || images.iter().any(|i| l.contains(i.as_str()))
            {
                let mut n = l.replace(name, "NAME").replace(net, "NET");
                for (i, id) in images.iter().enumerate() {
                    n = n.replace(id.as_str(), &format!("IMAGE{i}"));
                }
                out.push(normalize(&n));
            }
            if l.starts_with("volume destroy ") && l.contains(net) {
                break;
            }
        }
        out
    };
    let done = |net: &str| {
        let net = net.to_string();
        move |l: &str| l.starts_with("volume destroy ") && l.contains(&net)
    };
    let a = ours_only(
        stream_ours.until("wharf's last event", done(&nw)),
        &ours,
        &nw,
    );
    let b = ours_only(
        stream_theirs.until("docker's last event", done(&nd)),
        &theirs,
        &nd,
    );
    assert_eq!(a, b, "wharf:\n{a:#?}\ndocker:\n{b:#?}");
    assert!(
        a.contains(&r#"image tag IMAGE0 {"name":"NAME:2","team":"ev"}"#.to_string()),
        "{a:#?}"
    );
    assert!(
        a.contains(&r#"image untag IMAGE0 {"name":"IMAGE0","team":"ev"}"#.to_string()),
        "{a:#?}"
    );
    assert!(
        a.iter()
            .any(|l| l.starts_with("network create ID") && l.contains(r#""type":"bridge""#)),
        "{a:#?}"
    );
    assert!(
        a.contains(&r#"volume destroy NET {"driver":"local"}"#.to_string()),
        "{a:#?}"
    );
}

/// Removes a docker network on drop.
struct NetworkGuard(String);

impl Drop for NetworkGuard {
    fn drop(&mut self) {
        let _ = docker().args(["network", "rm", &self.0]).output();
    }
}

#[test]
fn formats_history_and_filters() {
    require_docker();
    let w = Wharf::new();
    let image = format!("{}:1", unique("wharf-ev/f"));
    let _images = DockerImages(vec![image.clone()]);
    import_busybox_in_both(&w, &image, &["CMD [\"sh\"]"]);
    let (ours, theirs) = (unique("wharf-evf-w"), unique("wharf-evf-d"));
    let _dc = DockerObjects {
        containers: vec![theirs.clone()],
        volumes: Vec::new(),
    };
    let since = now_arg();
    w.ok(["create", "--name", &ours, &image]);
    common::sh(docker().args(["create", "--name", &theirs, &image]));
    let until = now_arg();
    let history = |docker_side: bool, extra: &[&str]| -> String {
        let name = if docker_side { &theirs } else { &ours };
        let filter = format!("container={name}");
        let mut a = vec![
            "events", "--since", &since, "--until", &until, "--filter", &filter,
        ];
        a.extend(extra);
        if docker_side {
            common::sh(docker().args(&a))
        } else {
            w.ok(&a)
        }
    };
    // docker's line: the time with nine digits, then type, action, ID, attributes.
    let (a, b) = (history(false, &[]), history(true, &[]));
    let shape = |l: &str, name: &str| {
        let (time, rest) = l.split_once(' ').unwrap();
        // `2026-12-06T07:18:59.113733830Z`: nine digits always.
        let (secs, frac) = time.split_once('.').unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok(), "{time}");
        assert_eq!(secs.len(), 19, "{time}");
        assert_eq!(frac.len(), 10, "{time}");
        normalize(rest)
            .replace(name, "NAME")
            .replace(&image, "IMAGE")
    };
    assert_eq!(a.lines().count(), 1, "{a}");
    assert_eq!(shape(a.trim(), &ours), shape(b.trim(), &theirs));
    assert_eq!(
        shape(a.trim(), &ours),
        "container create ID (image=IMAGE, name=NAME)"
    );
    // `{{json .}}`: docker's message, field for field and in order.
    let (a, b) = (
        history(false, &["--format", "{{json .}}"]),
        history(true, &["--format", "{{json .}}"]),
    );
    let fields = |s: &str| -> Vec<String> {
        let v: Value = serde_json::from_str(s.trim()).unwrap();
        v.as_object().unwrap().keys().cloned().collect()
    };
    assert_eq!(fields(&a), fields(&b));
    let (a, b): (Value, Value) = (
        serde_json::from_str(a.trim()).unwrap(),
        serde_json::from_str(b.trim()).unwrap(),
    );
    assert_eq!((&a["status"], &a["scope"]), (&b["status"], &b["scope"]));
    assert_eq!(a["from"], image.as_str());
    // Go templates over docker's field names.
    let t = "{{.Status}}|{{.Type}}|{{.Scope}}|{{.Actor.Attributes.image}}";
    assert_eq!(
        history(false, &["--format", t]),
        history(true, &["--format", t])
    );
    // Filters that exclude it.
    for f in ["event=start", "type=network", "image=other", "label=nope"] {
        assert_eq!(history(false, &["--filter", f]), "", "{f}");
    }
    for f in ["event=create", "type=container", &format!("image={image}")] {
        assert_eq!(history(false, &["--filter", f]).lines().count(), 1, "{f}");
    }
    // Errors as docker's CLI words them.
    let (code, err) = w.fails(["events", "--since", "xyz", "--until", "0s"]);
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        "failed to parse value as time or duration: \"xyz\""
    );
    let (code, err) = w.fails(["events", "--filter", "bad", "--until", "0s"]);
    assert_eq!(code, 125);
    assert!(err.starts_with("invalid argument \"bad\" for \"-f, --filter\" flag: bad format of filter (expected name=value)"), "{err}");
}

/// CPU time (user + system, in clock ticks) of process `pid`.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = stat.rsplit_once(')').unwrap().1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

#[test]
fn live_events_arrive_at_once_and_an_idle_stream_sleeps() {
    let w = Wharf::new();
    w.import_busybox("bb");
    let stream = Stream::start(w.command(["events", "--filter", "type=volume"]));
    // Started: its first read of the journal is done once a new event shows.
    let mut n = 0;
    loop {
        n += 1;
        w.ok(["volume", "create", &format!("v{n}")]);
        if !stream.lines.lock().unwrap().is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        assert!(n < 100, "no event streamed");
    }
    // Idle: no CPU spent while nothing happens.
    let pid = stream.child.id();
    let before = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(2));
    let idle = cpu_ticks(pid) - before;
    assert!(idle <= 1, "an idle `events` used {idle} ticks in 2 s");
    // And a new event is there promptly.
    let t = Instant::now();
    w.ok(["volume", "create", "late"]);
    stream.until("the late volume", |l| l.contains("volume create late"));
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    // `--until` in the future ends the stream then.
    let until = chrono::Utc::now() + chrono::Duration::milliseconds(800);
    let t = Instant::now();
    let out = w
        .command(["events", "--until", &until.to_rfc3339()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_secs(5),
        "{took:?}"
    );
}

#[test]
fn an_attached_run_killed_for_memory_reports_attach_and_oom_as_docker() {
    require_docker();
    let w = Wharf::new();
    let image = format!("{}:1", unique("wharf-ev/oom"));
    let _images = DockerImages(vec![image.clone()]);
    import_busybox_in_both(&w, &image, &["CMD [\"sh\"]"]);
    let (ours, theirs) = (unique("wharf-evo-w"), unique("wharf-evo-d"));
    let _dc = DockerObjects {
        containers: vec![theirs.clone()],
        volumes: Vec::new(),
    };
    let args = [
        "events",
        "--since",
        &now_arg(),
        "--filter",
        &format!("image={image}"),
        "--format",
        FORMAT,
    ]
    .map(String::from);
    let stream_ours = Stream::start(w.command(&args));
    let stream_theirs = Stream::start({
        let mut c = docker();
        c.args(&args);
        c
    });
    // The shell doubles a string until the kernel kills it.
    let grow = "x=a; while true; do x=$x$x; done";
    let run = |name: &str| {
        ["run", "--name", name, "-m", "16m", &image, "sh", "-c", grow].map(String::from)
    };
    let a = w.run(run(&ours));
    let b = docker().args(run(&theirs)).output().unwrap();
    assert_eq!(a.status.code(), Some(137));
    assert_eq!(a.status.code(), b.status.code());
    let f = "{{.State.OOMKilled}} {{.State.ExitCode}}";
    assert_eq!(w.ok(["inspect", "-f", f, &ours]).trim(), "true 137");
    assert_eq!(
        common::sh(docker().args(["inspect", "-f", f, &theirs])).trim(),
        "true 137"
    );
    w.ok(["rm", &ours]);
    common::sh(docker().args(["rm", &theirs]));
    let lines = |s: &Stream, name: &str| -> Vec<String> {
        s.until("destroy", |l| l.starts_with("container destroy"))
            .iter()
            .map(|l| normalize(l).replace(name, "NAME").replace(&image, "IMAGE"))
            .collect()
    };
    let (a, b) = (lines(&stream_ours, &ours), lines(&stream_theirs, &theirs));
    assert_eq!(a, b);
    let actions: Vec<&str> = a.iter().map(|l| l.split(' ').nth(1).unwrap()).collect();
    assert_eq!(
        actions,
        ["create", "attach", "start", "oom", "die", "destroy"]
    );
}
