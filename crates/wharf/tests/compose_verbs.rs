//! `wharf compose` verbs against Docker Compose v2.40.3 on dockerd: exit
//! codes and output of `run` and `exec`, attached `up` (prefixed logs,
//! `--abort-on-container-exit`, `--exit-code-from`), `logs`, `ps`, and
//! bad input (one line, Compose's exit code, nothing half-created).

mod common;

use common::compose::{
    ok, require_docker_compose, sorted_lines, DockerProject, Project, WharfProject,
};
use common::{free_port, import_busybox_in_both, unique, DockerImages, Wharf};

/// One image of the same name in wharf and docker, removed from docker
/// at the end.
fn image(w: &Wharf, prefix: &str) -> (String, DockerImages) {
    let image = unique(prefix).to_lowercase();
    let guard = DockerImages(vec![image.clone()]);
    import_busybox_in_both(w, &image, &["CMD [\"sh\"]"]);
    (image, guard)
}

fn code(out: &std::process::Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn run_and_exec_exit_codes_match() {
    require_docker_compose();
    let w = Wharf::new();
    let (image, _images) = image(&w, "cmp-run-img");
    let name = unique("cmprun");
    let yaml = format!(
        "services:\n  app:\n    image: {image}\n    command: [\"sleep\", \"300\"]\n    stop_signal: SIGKILL\n    environment:\n      FROM_FILE: yes\n"
    );
    let p = Project::new(&w, &name, &yaml);
    let cases: &[&[&str]] = &[
        &["run", "--rm", "-T", "app", "sh", "-c", "echo out; exit 3"],
        &[
            "run",
            "--rm",
            "-T",
            "-e",
            "X=1",
            "app",
            "sh",
            "-c",
            "echo $X $FROM_FILE",
        ],
        &["run", "--rm", "-T", "--entrypoint", "echo", "app", "hi"],
        &[
            "run",
            "--rm",
            "-T",
            "-w",
            "/tmp",
            "-u",
            "nobody",
            "app",
            "sh",
            "-c",
            "pwd; id -u",
        ],
        &["exec", "-T", "app", "sh", "-c", "echo in; exit 5"],
        &["exec", "-T", "-e", "Y=2", "app", "sh", "-c", "echo $Y"],
    ];
    let mut docker_results = Vec::new();
    {
        let _down = DockerProject(&p);
        ok(&p.docker(["up", "-d"]), "docker compose up -d");
        for c in cases {
            let out = p.docker(*c);
            docker_results.push((code(&out), stdout(&out)));
        }
        let left = ok(&p.docker(["ps", "-a", "--format", "{{.Name}}"]), "ps");
        docker_results.push((0, left));
    }
    let _down = WharfProject(&w, &p);
    ok(&p.wharf(&w, ["up", "-d"]), "wharf compose up -d");
    let mut wharf_results = Vec::new();
    for c in cases {
        let out = p.wharf(&w, *c);
        wharf_results.push((code(&out), stdout(&out)));
    }
    let left = ok(&p.wharf(&w, ["ps", "-a", "--format", "{{.Name}}"]), "ps");
    wharf_results.push((0, left));
    assert_eq!(wharf_results, docker_results);
    assert_eq!(wharf_results[0], (3, "out\n".to_string()));
    // A detached one-off container: its ID, then it runs on.
    let detached = p.wharf(&w, ["run", "-d", "app", "sleep", "30"]);
    let id = ok(&detached, "run -d");
    assert_eq!(id.trim().len(), 64);
    let all = ok(
        &p.wharf(&w, ["ps", "-a", "--format", "{{.Name}} {{.Service}}"]),
        "ps -a",
    );
    assert!(
        all.lines()
            .any(|l| l.starts_with(&format!("{name}-app-run-")) && l.ends_with(" app")),
        "{all}"
    );
}

#[test]
fn attached_up_matches() {
    require_docker_compose();
    let w = Wharf::new();
    let (image, _images) = image(&w, "cmp-att-img");
    let name = unique("cmpatt");
    let yaml = format!(
        "services:\n  hello:\n    image: {image}\n    command: [\"sh\", \"-c\", \"echo hi from hello; echo err >&2; sleep 1; echo bye\"]\n  other:\n    image: {image}\n    command: [\"sh\", \"-c\", \"echo other; exit 3\"]\n"
    );
    let p = Project::new(&w, &name, &yaml);
    let flags: &[&[&str]] = &[
        &["up"],
        &["up", "--abort-on-container-exit"],
        &["up", "--exit-code-from", "hello"],
        &["up", "--no-log-prefix", "--abort-on-container-exit"],
    ];
    let run = |f: &dyn Fn(&[&str]) -> std::process::Output| -> Vec<(i32, Vec<String>, String)> {
        flags
            .iter()
            .map(|args| {
                let out = f(args);
                let text = stdout(&out);
                let first = text.lines().next().unwrap_or_default().to_string();
                // Lines of different containers interleave as they come.
                (code(&out), sorted_lines(&text), first)
            })
            .collect()
    };
    let docker_side = {
        let _down = DockerProject(&p);
        run(&|a| p.docker(a))
    };
    let _down = WharfProject(&w, &p);
    let wharf_side = run(&|a| p.wharf(&w, a));
    assert_eq!(wharf_side, docker_side);
    assert_eq!(
        wharf_side[1].0, 3,
        "--abort-on-container-exit exits with other's 3"
    );
    assert_eq!(wharf_side[2].0, 0, "--exit-code-from hello");
    assert!(wharf_side[0]
        .1
        .contains(&"hello-1  | hi from hello".to_string()));
}

#[test]
fn logs_and_ps_match() {
    require_docker_compose();
    let w = Wharf::new();
    let (image, _images) = image(&w, "cmp-logs-img");
    let name = unique("cmplogs");
    let yaml = format!(
        "services:\n  talk:\n    image: {image}\n    command: [\"sh\", \"-c\", \"echo one; echo two; sleep 0.5; echo three >&2; sleep 300\"]\n    stop_signal: SIGKILL\n  quiet:\n    image: {image}\n    command: [\"sh\", \"-c\", \"echo done\"]\n"
    );
    let p = Project::new(&w, &name, &yaml);
    let queries: &[&[&str]] = &[
        &["logs", "--no-color"],
        &["logs", "--no-color", "talk"],
        &["logs", "--no-color", "--tail", "1", "talk"],
        &["logs", "--no-color", "--no-log-prefix", "quiet"],
        &["ps", "--format", "{{.Name}} {{.Service}} {{.State}}"],
        &[
            "ps",
            "-a",
            "--format",
            "{{.Name}} {{.Service}} {{.State}} {{.ExitCode}}",
        ],
        &["ps", "--services"],
        &["ps", "--status", "exited", "--format", "{{.Name}}"],
    ];
    let until_done = |ps: &dyn Fn() -> String| {
        common::eventually(20, "the quiet service to exit", || {
            ps().contains(&format!("{name}-quiet-1 exited"))
                && ps().contains(&format!("{name}-talk-1 running"))
        })
    };
    // Compose pads the prefixes to the longest name it has met so far,
    // which depends on which container's lines it reads first: compare
    // them unpadded.
    // Sorted once unpadded: padded, the same lines sort differently.
    let unpadded = |text: &str| -> Vec<String> {
        let mut lines: Vec<String> = sorted_lines(text)
            .into_iter()
            .map(|l| match l.split_once(" | ") {
                Some((name, rest)) => format!("{} | {rest}", name.trim_end()),
                None => l,
            })
            .collect();
        lines.sort();
        lines
    };
    let collect = |f: &dyn Fn(&[&str]) -> std::process::Output| -> Vec<(i32, Vec<String>)> {
        queries
            .iter()
            .map(|q| {
                let out = f(q);
                (code(&out), unpadded(&stdout(&out)))
            })
            .collect()
    };
    let docker_side = {
        let _down = DockerProject(&p);
        ok(&p.docker(["up", "-d"]), "docker compose up -d");
        until_done(&|| stdout(&p.docker(["ps", "-a", "--format", "{{.Name}} {{.State}}"])));
        // Compose prints both streams of `logs` on stdout.
        common::eventually(20, "talk's output", || {
            stdout(&p.docker(["logs", "talk"])).lines().count() == 3
        });
        collect(&|a| p.docker(a))
    };
    let _down = WharfProject(&w, &p);
    ok(&p.wharf(&w, ["up", "-d"]), "wharf compose up -d");
    until_done(&|| stdout(&p.wharf(&w, ["ps", "-a", "--format", "{{.Name}} {{.State}}"])));
    common::eventually(20, "talk's output", || {
        stdout(&p.wharf(&w, ["logs", "talk"])).lines().count() == 3
    });
    let wharf_side = collect(&|a| p.wharf(&w, a));
    assert_eq!(wharf_side, docker_side);
    assert!(wharf_side[0].1.contains(&"talk-1 | one".to_string()));
    // wharf knows every name first: one width from the first line on.
    let all = stdout(&p.wharf(&w, ["logs", "--no-color"]));
    assert!(all.lines().any(|l| l == "talk-1   | one"), "{all}");
}

/// The last line a failing compose printed, with what only docker adds
/// (its endpoint IDs) taken out.
fn error_line(out: &std::process::Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr);
    let last = text
        .lines()
        .rfind(|l| !l.starts_with("time=") && !l.starts_with(' '))
        .unwrap_or_default()
        .to_string();
    match (last.find(" ("), last.find("): ")) {
        (Some(a), Some(b)) if b > a => format!("{}{}", &last[..a], &last[b + 1..]),
        _ => last,
    }
}

#[test]
fn bad_input_matches() {
    require_docker_compose();
    let w = Wharf::new();
    let (image, _images) = image(&w, "cmp-bad-img");
    let port = free_port();
    let cases: Vec<(&str, String)> = vec![
        (
            "undefined dependency",
            format!("services:\n  web:\n    image: {image}\n    depends_on: [nope]\n"),
        ),
        (
            "cycle",
            format!("services:\n  a:\n    image: {image}\n    depends_on: [b]\n  b:\n    image: {image}\n    depends_on: [a]\n"),
        ),
        (
            "missing build context",
            "services:\n  a:\n    build: ./missing\n".to_string(),
        ),
        (
            "missing external network",
            format!("services:\n  a:\n    image: {image}\n    networks: [outside]\nnetworks:\n  outside:\n    external: true\n    name: {}\n", unique("nonet")),
        ),
        (
            "missing external volume",
            format!("services:\n  a:\n    image: {image}\n    volumes: [\"v:/v\"]\nvolumes:\n  v:\n    external: true\n    name: {}\n", unique("novol")),
        ),
        (
            "port already allocated",
            format!("services:\n  a:\n    image: {image}\n    command: [\"sleep\", \"300\"]\n    stop_signal: SIGKILL\n    ports: [\"{port}:80\"]\n  b:\n    image: {image}\n    command: [\"sleep\", \"300\"]\n    stop_signal: SIGKILL\n    ports: [\"{port}:80\"]\n    depends_on: [a]\n"),
        ),
    ];
    for (what, yaml) in cases {
        let name = unique("cmpbad");
        let p = Project::new(&w, &name, &yaml);
        let (d_code, d_line, d_left) = {
            let _down = DockerProject(&p);
            let out = p.docker(["up", "-d"]);
            let left = sorted_lines(&stdout(&p.docker([
                "ps",
                "-a",
                "--format",
                "{{.Name}} {{.State}}",
            ])));
            (code(&out), error_line(&out), left)
        };
        let _down = WharfProject(&w, &p);
        let out = p.wharf(&w, ["up", "-d"]);
        let left = sorted_lines(&stdout(
            &p.wharf(&w, ["ps", "-a", "--format", "{{.Name}} {{.State}}"]),
        ));
        assert_eq!(code(&out), d_code, "{what}: exit code");
        assert_eq!(error_line(&out), d_line, "{what}: the error");
        assert_eq!(left, d_left, "{what}: what is left");
        // Whatever a failed `up` left, `down` takes away (a file that
        // does not load has nothing to take: `down` refuses it too).
        let _ = p.wharf(&w, ["down", "-t", "0"]);
        assert!(w.ok(["ps", "-aq"]).is_empty(), "{what}: containers left");
        assert!(
            !w.ok(["network", "ls", "--format", "{{.Name}}"])
                .contains(&name),
            "{what}: networks left"
        );
    }
}

#[test]
fn depends_on_conditions_match() {
    require_docker_compose();
    let w = Wharf::new();
    let (image, _images) = image(&w, "cmp-dep-img");
    let project = |init_exit: u8, ready: &str| {
        format!(
            r#"services:
  init:
    image: {image}
    command: ["sh", "-c", "sleep 1; exit {init_exit}"]
  db:
    image: {image}
    command: ["sh", "-c", "sleep 1; touch /tmp/ready; sleep 300"]
    stop_signal: SIGKILL
    healthcheck:
      test: ["CMD-SHELL", "[ -f {ready} ]"]
      interval: 500ms
      retries: 3
  app:
    image: {image}
    command: ["sleep", "300"]
    stop_signal: SIGKILL
    depends_on:
      init:
        condition: service_completed_successfully
      db:
        condition: service_healthy
"#
        )
    };
    let cases: Vec<(&str, String, &[&str])> = vec![
        ("conditions hold", project(0, "/tmp/ready"), &["up", "-d"]),
        ("init fails", project(1, "/tmp/ready"), &["up", "-d"]),
        ("db unhealthy", project(0, "/tmp/never"), &["up", "-d"]),
        (
            "up --wait",
            project(0, "/tmp/ready"),
            &["up", "-d", "--wait"],
        ),
    ];
    for (what, yaml, args) in cases {
        let name = unique("cmpdep");
        let p = Project::new(&w, &name, &yaml);
        let states = |out: &std::process::Output| sorted_lines(&stdout(out));
        let docker_side = {
            let _down = DockerProject(&p);
            let out = p.docker(args);
            let ps = p.docker(["ps", "-a", "--format", "{{.Service}} {{.State}}"]);
            (code(&out), error_line(&out), progress_of(&out), states(&ps))
        };
        let _down = WharfProject(&w, &p);
        let out = p.wharf(&w, args);
        let ps = p.wharf(&w, ["ps", "-a", "--format", "{{.Service}} {{.State}}"]);
        let wharf_side = (code(&out), error_line(&out), progress_of(&out), states(&ps));
        assert_eq!(wharf_side, docker_side, "{what}");
    }
}

/// A compose run's progress lines, sorted (parallel steps print in any
/// order), without warnings only Docker prints.
fn progress_of(out: &std::process::Output) -> Vec<String> {
    common::compose::progress_lines(out)
        .into_iter()
        .filter(|l| l.starts_with(' '))
        .collect()
}

#[test]
fn usage_errors_match() {
    require_docker_compose();
    let w = Wharf::new();
    let p = Project::new(&w, &unique("cmpusage"), "services:\n  a:\n    image: x\n");
    for args in [
        &["up", "--foo"][..],
        &["up", "-Z"],
        &["frob"],
        &["up", "--build", "--no-build"],
        &["up", "-d", "--abort-on-container-exit"],
        &["down", "--rmi", "some"],
        // pflag: a string flag takes the next word, the last one wins.
        &["-p", "x", "-p", "-bad", "ps", "-q"],
    ] {
        let d = p.docker(args);
        let wh = p.wharf(&w, args);
        let first = |o: &std::process::Output| {
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .next()
                .unwrap_or_default()
                .to_string()
        };
        assert_eq!((code(&wh), first(&wh)), (code(&d), first(&d)), "{args:?}");
    }
}

/// Ctrl-C in an attached `up` stops the project gracefully and exits 130,
/// as Compose does (a second one would kill).
#[test]
fn attached_up_stops_on_interrupt() {
    use std::io::{BufRead, BufReader};
    let w = Wharf::new();
    let image = unique("cmp-int-img").to_lowercase();
    w.import_busybox(&image);
    let name = unique("cmpint");
    let yaml = format!(
        "services:\n  loop:\n    image: {image}\n    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; while true; do echo tick; sleep 0.2; done\"]\n"
    );
    let p = Project::new(&w, &name, &yaml);
    let _down = WharfProject(&w, &p);
    let mut child = w
        .command(["compose", "-p", &name, "up"])
        .current_dir(&p.dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "Attaching to loop-1");
    assert_eq!(lines.next().unwrap().unwrap(), "loop-1  | tick");
    // SAFETY: kill(2) on our own child's PID.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(
        rest.contains(&"Gracefully Stopping... press Ctrl+C again to force".to_string()),
        "{rest:?}"
    );
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(
        err.contains(&format!(" Container {name}-loop-1  Stopped")),
        "{err}"
    );
    let state = ok(&p.wharf(&w, ["ps", "-a", "--format", "{{.State}}"]), "ps");
    assert_eq!(state, "exited\n");
}

/// `down` stops in reverse dependency order in both tools: the `kill` of
/// a service comes after the `die` of every container that depends on it
/// (each of which takes a moment to leave after its SIGTERM), then the
/// containers and the network are gone.
#[test]
fn down_stops_dependents_before_their_dependencies() {
    require_docker_compose();
    let w = Wharf::new();
    let (image, _images) = image(&w, "cmp-order-img");
    // PID 1 acts on SIGTERM only through a handler; the app's takes 300 ms.
    let yaml = format!(
        r#"services:
  db:
    image: {image}
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"]
  app:
    image: {image}
    command: ["sh", "-c", "trap 'sleep 0.3; exit 0' TERM; sleep 300 & wait"]
    depends_on: [db]
    scale: 2
"#
    );
    let name = unique("cmporder");
    let p = Project::new(&w, &name, &yaml);
    let now = || {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        format!("{}.{:09}", t.as_secs(), t.subsec_nanos())
    };
    // The kill and die events of `down`, as `ACTION SERVICE` in order.
    let order = |events: String| -> Vec<String> {
        events
            .lines()
            .filter_map(|l| {
                let (action, service) = l.split_once(' ')?;
                ["kill", "die"]
                    .contains(&action)
                    .then(|| format!("{action} {service}"))
            })
            .collect()
    };
    let filter = format!("label=com.docker.compose.project={name}");
    let format = "{{.Action}} {{index .Actor.Attributes \"com.docker.compose.service\"}}";
    let docker_side = {
        let _down = DockerProject(&p);
        ok(&p.docker(["up", "-d"]), "docker compose up");
        let since = now();
        ok(&p.docker(["down"]), "docker compose down");
        let until = now();
        let events = common::sh(common::docker().args([
            "events", "--since", &since, "--until", &until, "--filter", &filter, "--format", format,
        ]));
        order(events)
    };
    let _down = WharfProject(&w, &p);
    ok(&p.wharf(&w, ["up", "-d"]), "wharf compose up");
    let since = now();
    ok(&p.wharf(&w, ["down"]), "wharf compose down");
    let until = now();
    let events = w.ok([
        "events", "--since", &since, "--until", &until, "--filter", &filter, "--format", format,
    ]);
    let wharf_side = order(events);
    for (tool, events) in [("docker", &docker_side), ("wharf", &wharf_side)] {
        let at = |e: &str| events.iter().position(|x| x == e);
        let db_kill = at("kill db").unwrap_or_else(|| panic!("{tool}: no kill of db: {events:?}"));
        let app_dies: Vec<usize> = events
            .iter()
            .enumerate()
            .filter(|(_, e)| *e == "die app")
            .map(|(i, _)| i)
            .collect();
        assert_eq!(app_dies.len(), 2, "{tool}: {events:?}");
        assert!(
            app_dies.iter().all(|&d| d < db_kill),
            "{tool}: db signalled before its dependents died: {events:?}"
        );
    }
    let sorted = |v: &Vec<String>| {
        let mut v = v.clone();
        v.sort();
        v
    };
    assert_eq!(sorted(&wharf_side), sorted(&docker_side));
    assert_eq!(
        p.wharf(&w, ["ps", "-a", "-q"]).stdout,
        Vec::<u8>::new(),
        "containers left"
    );
    assert!(!w.ok(["network", "ls"]).contains(&format!("{name}_default")));
}

/// What a compose run shows, comparable across both tools: its exit code,
/// its stdout, and its stderr without logrus' timestamps, lines sorted
/// (parallel steps print in any order).
fn seen(out: &std::process::Output) -> (i32, String, Vec<String>) {
    let err = String::from_utf8_lossy(&out.stderr);
    let mut lines: Vec<String> = err
        .lines()
        .map(|l| match l.split_once("\" level=") {
            Some((time, rest)) if time.starts_with("time=\"") => format!("level={rest}"),
            _ => l.to_string(),
        })
        .collect();
    lines.sort();
    (code(out), stdout(out), lines)
}

/// Services named on the command line, as Compose takes them: with `-p`
/// and no `-f` the file is not read (the project is what its labels say,
/// nothing is refused); with `-f`, unknown names are refused and names
/// of services profiles leave out enable them; `exec`, `cp`, `port`,
/// `top` and `images` never check. Both with dependency order by name.
#[test]
fn service_names_match() {
    require_docker_compose();
    let w = Wharf::new();
    let (image, _images) = image(&w, "cmp-svc-img");
    let name = unique("cmpsvc");
    let yaml = format!(
        "services:\n  web:\n    image: {image}\n    command: [\"sleep\", \"300\"]\n    stop_signal: SIGKILL\n    expose: [\"5000\"]\n  worker:\n    image: {image}\n    command: [\"sleep\", \"300\"]\n    stop_signal: SIGKILL\n    depends_on: [web]\n  dbg:\n    image: {image}\n    command: [\"sleep\", \"300\"]\n    stop_signal: SIGKILL\n    profiles: [debug]\n"
    );
    let p = Project::new(&w, &name, &yaml);
    let by_name: &[&[&str]] = &[
        &["ps", "nope"],
        &["top", "nope"],
        &["images", "nope"],
        &["port", "nope", "80"],
        &["port", "web", "5001"],
        &["port", "web", "5000"],
        &["exec", "-T", "nope", "true"],
        &["exec", "-T", "--index", "0", "web", "true"],
        &["logs", "nope"],
        &["stop", "nope"],
        &["start", "nope"],
        &["restart", "nope"],
        &["kill", "nope"],
        &["pause", "nope"],
        &["rm", "-f", "nope"],
        &["wait", "nope"],
        &["cp", "nope:/etc/passwd", "x"],
        &["down", "nope"],
        &["stop"],
        &["rm", "-f"],
    ];
    let with_file: &[&[&str]] = &[
        &["ps", "nope"],
        &["top", "nope"],
        &["logs", "nope"],
        &["stop", "nope"],
        &["restart", "nope"],
        &["kill", "nope"],
        &["down", "nope"],
        &["ps", "dbg"],
        &["stop", "dbg"],
    ];
    // Every case's arguments: those with the file first.
    let cases: Vec<Vec<&str>> = with_file
        .iter()
        .map(|a| [&["-f", "compose.yaml"][..], a].concat())
        .chain(by_name.iter().map(|a| a.to_vec()))
        .collect();
    let collect = |f: &dyn Fn(&[&str]) -> std::process::Output| -> Vec<_> {
        cases.iter().map(|a| seen(&f(a))).collect()
    };
    let docker_side = {
        let _down = DockerProject(&p);
        ok(&p.docker(["up", "-d"]), "docker compose up -d");
        collect(&|a| p.docker(a))
    };
    let _down = WharfProject(&w, &p);
    ok(&p.wharf(&w, ["up", "-d"]), "wharf compose up -d");
    let wharf_side = collect(&|a| p.wharf(&w, a));
    for ((d, wh), args) in docker_side.iter().zip(&wharf_side).zip(&cases) {
        assert_eq!(wh, d, "{args:?}");
    }
}

/// `run`'s one-off containers once ended are orphans to `up` (warned of,
/// removed by `--remove-orphans`); a container's exit code is `run`'s,
/// with the blank line Compose prints; one that cannot start is exit 1;
/// `rm` names what it removes newest first.
#[test]
fn oneoff_orphans_and_run_exits_match() {
    require_docker_compose();
    let w = Wharf::new();
    let (image, _images) = image(&w, "cmp-orph-img");
    let name = unique("cmporph");
    let yaml = format!(
        "services:\n  web:\n    image: {image}\n    command: [\"sleep\", \"300\"]\n    stop_signal: SIGKILL\n  worker:\n    image: {image}\n    command: [\"sleep\", \"300\"]\n    stop_signal: SIGKILL\n    depends_on: [web]\n"
    );
    let p = Project::new(&w, &name, &yaml);
    // The one-off container's name ends in a random suffix.
    let unrandom = |s: (i32, String, Vec<String>)| {
        let strip = |t: &str| match t.find("-worker-run-") {
            Some(i) => format!("{}-worker-run-X{}", &t[..i], &t[i + 24..]),
            None => t.to_string(),
        };
        (
            s.0,
            s.1.lines().map(|l| strip(l) + "\n").collect::<String>(),
            s.2.iter().map(|l| strip(l)).collect::<Vec<_>>(),
        )
    };
    let steps: &[&[&str]] = &[
        &["run", "-T", "worker", "sh", "-c", "exit 4"],
        &["run", "--rm", "-T", "worker", "nosuchcmd"],
        &["up", "-d"],
        &["up", "-d", "--remove-orphans"],
        &["ps", "-a", "--format", "{{.Name}}"],
        &["stop"],
        &["rm", "-f"],
    ];
    let collect = |f: &dyn Fn(&[&str]) -> std::process::Output| {
        steps
            .iter()
            .map(|a| {
                let (c, out, err) = unrandom(seen(&f(a)));
                // Why a container cannot start is the engine's wording.
                let err = if a.contains(&"nosuchcmd") {
                    Vec::new()
                } else {
                    err
                };
                (c, out, err)
            })
            .collect::<Vec<_>>()
    };
    let docker_side = {
        let _down = DockerProject(&p);
        collect(&|a| p.docker(a))
    };
    let _down = WharfProject(&w, &p);
    let wharf_side = collect(&|a| p.wharf(&w, a));
    assert_eq!(wharf_side, docker_side);
    assert_eq!(wharf_side[0].0, 4);
    assert_eq!(wharf_side[1].0, 1);
    assert!(
        wharf_side[2]
            .2
            .iter()
            .any(|l| l.contains("Found orphan containers")),
        "{:?}",
        wharf_side[2]
    );
}
