//! Health checks side by side with docker 20.10: the image's HEALTHCHECK
//! runs in the container, `ps` shows `(health: starting)`, `(healthy)`,
//! `(unhealthy)`, `inspect` has `State.Health` with docker's keys and
//! values (output kept and cut as docker does, timeouts, retries, start
//! period, `NONE`), and a monitor with a health check stays as small as
//! one without.

mod common;

use std::time::{Duration, Instant};

use common::{
    docker, import_busybox_in_both, require_docker, unique, DockerImages, DockerObjects, Stream,
    Wharf,
};
use serde_json::Value;

/// One container made the same way in wharf and in docker.
struct Pair<'w> {
    w: &'w Wharf,
    ours: String,
    theirs: String,
    /// `State.Health` and the `ps` status of each, right after its start.
    started: [(String, String); 2],
    _docker: DockerObjects,
}

impl<'w> Pair<'w> {
    /// `run -d IMAGE ARGS...` in both.
    fn run(w: &'w Wharf, image: &str, args: &[&str]) -> Pair<'w> {
        let (ours, theirs) = (unique("wharf-hc-w"), unique("wharf-hc-d"));
        let _docker = DockerObjects {
            containers: vec![theirs.clone()],
            volumes: Vec::new(),
        };
        let mut started: [(String, String); 2] = Default::default();
        for (i, name) in [&ours, &theirs].into_iter().enumerate() {
            let mut a = vec!["run", "-d", "--name", name.as_str(), image];
            a.extend(args);
            let health = ["inspect", "-f", "{{json .State.Health}}", name];
            let filter = format!("name=^{name}$");
            let ps = ["ps", "--format", "{{.Status}}", "--filter", &filter];
            started[i] = if i == 1 {
                common::sh(docker().args(&a));
                (
                    common::sh(docker().args(health)),
                    common::sh(docker().args(ps)),
                )
            } else {
                w.ok(&a);
                (w.ok(health), w.ok(ps))
            };
        }
        Pair {
            w,
            ours,
            theirs,
            started: started.map(|(h, s)| (h.trim().to_string(), s.trim().to_string())),
            _docker,
        }
    }

    fn health(&self) -> (Value, Value) {
        let f = ["inspect", "-f", "{{json .State.Health}}"];
        let ours = self.w.ok([f[0], f[1], f[2], &self.ours]);
        let theirs = common::sh(docker().args([f[0], f[1], f[2], &self.theirs]));
        (
            serde_json::from_str(&ours).unwrap(),
            serde_json::from_str(&theirs).unwrap(),
        )
    }

    fn ps_status(&self) -> (String, String) {
        let f = ["ps", "-a", "--format", "{{.Status}}", "--filter"];
        let ours = self.w.ok([
            f[0],
            f[1],
            f[2],
            f[3],
            f[4],
            &format!("name=^{}$", self.ours),
        ]);
        let theirs = common::sh(docker().args([
            f[0],
            f[1],
            f[2],
            f[3],
            f[4],
            &format!("name=^{}$", self.theirs),
        ]));
        (ours.trim().to_string(), theirs.trim().to_string())
    }

    /// Poll both until `done` holds for each one's `State.Health`.
    fn wait_health(&self, what: &str, done: impl Fn(&Value) -> bool) -> (Value, Value) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (ours, theirs) = self.health();
            if done(&ours) && done(&theirs) {
                return (ours, theirs);
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: wharf {ours}, docker {theirs}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn status(h: &Value) -> &str {
    h["Status"].as_str().unwrap_or("")
}

fn log(h: &Value) -> &Vec<Value> {
    h["Log"].as_array().expect("Log is a list")
}

/// `Up 3 seconds (healthy)` → `Up (healthy)`, `Up 1 second` → `Up`: the
/// durations differ.
fn without_duration(s: &str) -> String {
    match (s.starts_with("Up "), s.rfind(" (")) {
        (true, Some(b)) => format!("Up{}", &s[b..]),
        (true, None) => "Up".to_string(),
        _ => s.to_string(),
    }
}

/// The keys of a log entry, sorted.
fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

#[test]
fn a_passing_check_makes_it_healthy_as_docker() {
    require_docker();
    let w = Wharf::new();
    let image = format!("{}:1", unique("wharf-hc/ok"));
    let _images = DockerImages(vec![image.clone()]);
    import_busybox_in_both(
        &w,
        &image,
        &[
            "CMD [\"sh\"]",
            "HEALTHCHECK --interval=1s --timeout=5s --retries=2 CMD echo ok",
        ],
    );
    // docker's events of the check, from before the start.
    let t = chrono::Utc::now();
    let since = format!("{}.{:09}", t.timestamp(), t.timestamp_subsec_nanos());
    let args = [
        "events",
        "--since",
        &since,
        "--filter",
        &format!("image={image}"),
        "--format",
        "{{.Action}} {{json .Actor.Attributes}}",
    ]
    .map(String::from);
    let events_ours = Stream::start(w.command(&args));
    let events_theirs = Stream::start({
        let mut c = docker();
        c.args(&args);
        c
    });
    let p = Pair::run(&w, &image, &["sleep", "60"]);
    // Before the first probe (an interval after the start).
    let [(ours, ours_ps), (theirs, theirs_ps)] = &p.started;
    assert_eq!(ours, theirs, "State.Health at the start");
    assert_eq!(ours, r#"{"Status":"starting","FailingStreak":0,"Log":[]}"#);
    assert_eq!(
        without_duration(ours_ps),
        "Up (health: starting)",
        "{ours_ps}"
    );
    assert_eq!(without_duration(theirs_ps), without_duration(ours_ps));

    let (ours, theirs) = p.wait_health("healthy", |h| status(h) == "healthy");
    assert_eq!(ours["FailingStreak"], theirs["FailingStreak"]);
    let (a, b) = (&log(&ours)[0], &log(&theirs)[0]);
    assert_eq!(keys(a), keys(b));
    assert_eq!(
        (&a["ExitCode"], &a["Output"]),
        (&b["ExitCode"], &b["Output"])
    );
    assert_eq!(a["Output"], "ok\n");
    for t in ["Start", "End"] {
        let s = a[t].as_str().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(s).is_ok() && s.ends_with('Z'),
            "{t}: {s}"
        );
    }
    let (ours, theirs) = p.ps_status();
    assert_eq!(without_duration(&ours), "Up (healthy)", "{ours}");
    assert_eq!(without_duration(&theirs), without_duration(&ours));
    let healthy = w.ok(["ps", "-q", "--no-trunc", "--filter", "health=healthy"]);
    let id = w.ok(["inspect", "-f", "{{.Id}}", &p.ours]);
    assert_eq!(healthy.trim(), id.trim());

    // Each probe is an exec (`exec_create`, `exec_start`, `exec_die`); a
    // change of status is a `health_status` event.
    let events = |s: &Stream, name: &str| -> Vec<String> {
        let lines = s.until("health_status", |l| l.starts_with("health_status"));
        let mut out = Vec::new();
        for l in lines {
            let mut words: Vec<String> = Vec::new();
            for word in l.split('"') {
                // execIDs differ, so do the names.
                let w = if word.len() == 64 && word.bytes().all(|b| b.is_ascii_hexdigit()) {
                    "ID"
                } else if word == name {
                    "NAME"
                } else {
                    word
                };
                words.push(w.to_string());
            }
            let done = l.starts_with("health_status");
            out.push(words.join("\""));
            if done {
                break;
            }
        }
        out
    };
    let (a, b) = (
        events(&events_ours, &p.ours),
        events(&events_theirs, &p.theirs),
    );
    assert_eq!(a, b);
    let image_attr = format!(r#""image":"{image}""#);
    assert_eq!(
        a.last().unwrap(),
        &format!(r#"health_status: healthy {{{image_attr},"name":"NAME"}}"#)
    );
    assert!(
        a.contains(&format!(
            r#"exec_create: /bin/sh -c echo ok {{"execID":"ID",{image_attr},"name":"NAME"}}"#
        )),
        "{a:#?}"
    );

    // docker keeps five results.
    let (ours, theirs) = p.wait_health("five results", |h| log(h).len() == 5);
    assert_eq!(log(&ours).len(), log(&theirs).len());

    // A stopped container keeps its log, unhealthy with no streak.
    w.ok(["stop", "-t", "0", &p.ours]);
    common::sh(docker().args(["stop", "-t", "0", &p.theirs]));
    let (ours, theirs) = p.health();
    assert_eq!(
        (status(&ours), &ours["FailingStreak"], log(&ours).len()),
        (
            status(&theirs),
            &theirs["FailingStreak"],
            log(&theirs).len()
        )
    );
    assert_eq!(status(&ours), "unhealthy");
    let (ours, theirs) = p.ps_status();
    assert!(ours.starts_with("Exited (137)"), "{ours}");
    assert!(theirs.starts_with("Exited (137)"), "{theirs}");
    let unhealthy = w.ok(["ps", "-aq", "--filter", "health=unhealthy"]);
    assert_eq!(unhealthy.lines().count(), 1, "{unhealthy}");
}

#[test]
fn failures_timeouts_and_long_output_are_recorded_as_docker() {
    require_docker();
    let w = Wharf::new();
    let image = format!("{}:1", unique("wharf-hc/plain"));
    let _images = DockerImages(vec![image.clone()]);
    import_busybox_in_both(&w, &image, &["CMD [\"sh\"]"]);
    let with_check = |name: &str, check: &str| {
        let image = format!("{}:1", unique(&format!("wharf-hc/{name}")));
        import_busybox_in_both(&w, &image, &["CMD [\"sh\"]", check]);
        image
    };
    let failing = with_check(
        "fail",
        "HEALTHCHECK --interval=1s --retries=2 CMD echo bad; exit 3",
    );
    let slow = with_check(
        "slow",
        "HEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD sleep 5",
    );
    let long = with_check(
        "long",
        "HEALTHCHECK --interval=1s --retries=1 CMD seq 1 2000",
    );
    let _more = DockerImages(vec![failing.clone(), slow.clone(), long.clone()]);

    // Failures count up to the retries, then it is unhealthy.
    let p = Pair::run(&w, &failing, &["sleep", "60"]);
    let (ours, theirs) = p.wait_health("unhealthy", |h| status(h) == "unhealthy");
    let last = |h: &Value| log(h).last().cloned().unwrap();
    assert_eq!(
        (
            last(&ours)["ExitCode"].clone(),
            last(&ours)["Output"].clone()
        ),
        (
            last(&theirs)["ExitCode"].clone(),
            last(&theirs)["Output"].clone()
        )
    );
    assert_eq!(last(&ours)["Output"], "bad\n");
    assert!(ours["FailingStreak"].as_u64().unwrap() >= 2, "{ours}");
    let (ours_ps, theirs_ps) = p.ps_status();
    assert_eq!(without_duration(&ours_ps), "Up (unhealthy)", "{ours_ps}");
    assert_eq!(without_duration(&theirs_ps), without_duration(&ours_ps));

    // A probe past its timeout fails with docker's message.
    let p = Pair::run(&w, &slow, &["sleep", "60"]);
    let (ours, theirs) = p.wait_health("a timed-out probe", |h| !log(h).is_empty());
    assert_eq!(log(&ours)[0]["ExitCode"], -1);
    assert_eq!(log(&ours)[0]["ExitCode"], log(&theirs)[0]["ExitCode"]);
    assert_eq!(
        log(&ours)[0]["Output"],
        "Health check exceeded timeout (1s)"
    );
    assert_eq!(log(&ours)[0]["Output"], log(&theirs)[0]["Output"]);

    // Output is kept up to 4096 bytes, then "...".
    let p = Pair::run(&w, &long, &["sleep", "60"]);
    let (ours, theirs) = p.wait_health("a long output", |h| !log(h).is_empty());
    let out = log(&ours)[0]["Output"].as_str().unwrap().to_string();
    assert_eq!(out.len(), 4096 + 3);
    assert!(out.ends_with("..."));
    assert_eq!(log(&ours)[0]["Output"], log(&theirs)[0]["Output"]);
}

#[test]
fn start_period_and_none_follow_docker() {
    require_docker();
    let w = Wharf::new();
    let patient = format!("{}:1", unique("wharf-hc/start"));
    let none = format!("{}:1", unique("wharf-hc/none"));
    let _images = DockerImages(vec![patient.clone(), none.clone()]);
    import_busybox_in_both(
        &w,
        &patient,
        &[
            "CMD [\"sh\"]",
            "HEALTHCHECK --interval=1s --start-period=60s --retries=1 CMD false",
        ],
    );
    import_busybox_in_both(&w, &none, &["CMD [\"sh\"]", "HEALTHCHECK NONE"]);

    // Failures within the start period do not count.
    let p = Pair::run(&w, &patient, &["sleep", "60"]);
    let (ours, theirs) = p.wait_health("two failed probes", |h| log(h).len() >= 2);
    assert_eq!(
        (status(&ours), &ours["FailingStreak"]),
        (status(&theirs), &theirs["FailingStreak"])
    );
    assert_eq!(status(&ours), "starting");

    // `NONE`: no health at all.
    let p = Pair::run(&w, &none, &["sleep", "60"]);
    let (ours, theirs) = p.health();
    assert_eq!(ours, Value::Null);
    assert_eq!(theirs, Value::Null);
    let (ours, theirs) = p.ps_status();
    assert_eq!(without_duration(&ours), without_duration(&theirs));
    assert!(!ours.contains('('), "{ours}");
    let listed = w.ok(["ps", "--format", "{{.Names}}", "--filter", "health=none"]);
    assert_eq!(listed.trim(), p.ours);
}

/// `VmRSS` of a process, in KiB.
fn rss_kib(pid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The monitor of container `name` in `w`: the process whose command line
/// is `wharf --root ROOT monitor ID`.
fn monitor_pid(w: &Wharf, name: &str) -> String {
    let id = w.ok(["inspect", "-f", "{{.Id}}", name]);
    let want = format!("{}\0monitor\0{}\0", w.root().display(), id.trim());
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .find(|p| {
            std::fs::read(p.path().join("cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&want))
        })
        .map(|p| p.file_name().to_string_lossy().into_owned())
        .expect("the container's monitor runs")
}

#[test]
fn a_checked_monitor_stays_as_small_as_an_unchecked_one() {
    let w = Wharf::new();
    w.import_busybox("plain");
    let tar = common::busybox_rootfs_tar(&w.scratch());
    w.ok([
        "import",
        "-c",
        "CMD [\"sh\"]",
        "-c",
        "HEALTHCHECK --interval=1s CMD true",
        tar.to_str().unwrap(),
        "checked",
    ]);
    w.ok(["run", "-d", "--name", "plain", "plain", "sleep", "60"]);
    w.ok(["run", "-d", "--name", "checked", "checked", "sleep", "60"]);
    common::eventually(20, "three probes", || {
        let n = w.ok(["inspect", "-f", "{{len .State.Health.Log}}", "checked"]);
        n.trim().parse::<u32>().unwrap_or(0) >= 3
    });
    let (plain, checked) = (monitor_pid(&w, "plain"), monitor_pid(&w, "checked"));
    // Between probes (the least seen over three intervals): a probe runs
    // in a helper process, so the monitor holds nothing more than one
    // without a check.
    let (mut a, mut b) = (u64::MAX, u64::MAX);
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        a = a.min(rss_kib(&plain));
        b = b.min(rss_kib(&checked));
        std::thread::sleep(Duration::from_millis(5));
    }
    eprintln!("idle monitor VmRSS: {a} KiB without a health check, {b} KiB with one");
    assert!(b <= a + 64, "with a check {b} KiB, without {a} KiB");
    assert!(b <= 1024 + 64, "an idle monitor with a check holds {b} KiB");
}
