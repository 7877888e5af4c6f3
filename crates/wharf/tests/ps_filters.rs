//! `ps --filter` side by side with docker 20.10: the same containers made
//! in both, then every filter docker has (name, id, label, ancestor with
//! descendants, network, volume, publish, expose, health, status, exited,
//! before, since, is-task, isolation), alone and combined, with and
//! without `-a`, give the same containers; bad filters the same errors.

mod common;

use common::{
    docker, import_busybox_in_both, require_docker, unique, DockerImages, DockerObjects, Wharf,
};

/// What differs between the two sides' fixtures.
struct Side {
    docker: bool,
    /// Container names start with this.
    prefix: String,
    port: u16,
    volume: String,
    network: String,
}

impl Side {
    fn run(&self, w: &Wharf, args: &[String]) -> std::process::Output {
        if self.docker {
            docker().args(args).output().unwrap()
        } else {
            w.run(args)
        }
    }

    fn ok(&self, w: &Wharf, args: &[&str]) -> String {
        let args: Vec<String> = args.iter().map(|a| self.fill(a)).collect();
        let out = self.run(w, &args);
        assert!(
            out.status.success(),
            "{} {args:?}: {}",
            if self.docker { "docker" } else { "wharf" },
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn fill(&self, s: &str) -> String {
        s.replace("P-", &format!("{}-", self.prefix))
            .replace("PORT", &self.port.to_string())
            .replace("VOL", &self.volume)
            .replace("NET", &self.network)
    }

    /// `ps ARGS --format {{.Names}}`: this side's containers, as `c1 c2 ...`.
    fn ps(&self, w: &Wharf, args: &[&str]) -> Result<String, (i32, String)> {
        let mut a: Vec<String> = vec!["ps".into()];
        a.extend(args.iter().map(|x| self.fill(x)));
        a.extend(["--format".into(), "{{.Names}}".into()]);
        let out = self.run(w, &a);
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
            // The two CLIs word daemon errors their own way.
            let err = err
                .trim_start_matches("Error response from daemon: ")
                .trim_start_matches("Error: ")
                .replace("docker", "wharf")
                .to_string();
            return Err((out.status.code().unwrap_or(-1), err));
        }
        let own = format!("{}-", self.prefix);
        let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix(&own).map(str::to_string))
            .collect();
        names.sort();
        Ok(names.join(" "))
    }
}

/// A free TCP port on loopback.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn every_filter_matches_dockers() {
    require_docker();
    let w = Wharf::new();
    let image = format!("{}:1", unique("wharf-psf/bb"));
    let checked = format!("{}:1", unique("wharf-psf/hc"));
    let child = format!("{}:1", unique("wharf-psf/child"));
    let _images = DockerImages(vec![image.clone(), checked.clone(), child.clone()]);
    import_busybox_in_both(&w, &image, &["CMD [\"sh\"]", "LABEL team=x"]);
    import_busybox_in_both(
        &w,
        &checked,
        &["CMD [\"sh\"]", "HEALTHCHECK --interval=1s CMD true"],
    );
    let sides = [false, true].map(|docker| Side {
        docker,
        prefix: unique(if docker { "psf-d" } else { "psf-w" }),
        port: free_port(),
        volume: unique("psf-vol"),
        network: unique("psf-net"),
    });
    let d = &sides[1];
    let _dc = DockerObjects {
        containers: (1..=6).map(|i| format!("{}-c{i}", d.prefix)).collect(),
        volumes: vec![d.volume.clone()],
    };
    let _dn = NetworkGuard(d.network.clone());
    for s in &sides {
        s.ok(&w, &["network", "create", "NET"]);
        s.ok(
            &w,
            &[
                "run",
                "-d",
                "--name",
                "P-c1",
                "-p",
                "127.0.0.1:PORT:80",
                "--expose",
                "9000-9001/udp",
                "-v",
                "VOL:/data",
                &image,
                "sleep",
                "60",
            ],
        );
        s.ok(
            &w,
            &["run", "-d", "--name", "P-c2", &checked, "sleep", "60"],
        );
        let out = s.run(
            &w,
            &["run", "--name", "P-c3", &image, "sh", "-c", "exit 3"].map(|a| s.fill(a)),
        );
        assert_eq!(out.status.code(), Some(3));
        s.ok(&w, &["create", "--name", "P-c4", &image]);
        // An image made from c4: its containers descend from `image`.
        s.ok(&w, &["commit", "P-c4", &child]);
        s.ok(&w, &["create", "--name", "P-c5", &child]);
        s.ok(
            &w,
            &[
                "run",
                "-d",
                "--name",
                "P-c6",
                "--network",
                "NET",
                &image,
                "sleep",
                "60",
            ],
        );
    }
    // c2 is healthy in both before anything compares health.
    for s in &sides {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while s.ps(&w, &["--filter", "health=healthy"]).unwrap() != "c2" {
            assert!(std::time::Instant::now() < deadline, "c2 never got healthy");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    let id_prefix = |s: &Side, n: &str, range: std::ops::Range<usize>| -> String {
        let id = s.ok(&w, &["inspect", "-f", "{{.Id}}", n]);
        id.trim()[range].to_string()
    };
    let mut cases: Vec<Vec<String>> = [
        "name=P-c1",
        "name=^P-c",
        "name=^/P-c",
        "name=P-c[12]",
        "name=[",
        "label=team",
        "label=team=x",
        "label=team=y",
        "label=team=",
        "publish=PORT",
        "publish=PORT/tcp",
        "publish=80",
        "publish=PORT/udp",
        "expose=80",
        "expose=9000/udp",
        "expose=9001",
        "expose=9000-9001/udp",
        "expose=70-90",
        "volume=VOL",
        "volume=/data",
        "volume=nope",
        "network=NET",
        "network=bridge",
        "network=nope",
        "health=healthy",
        "health=none",
        "health=starting",
        "health=unhealthy",
        "status=exited",
        "status=created",
        "status=running",
        "status=paused",
        "exited=3",
        "exited=0",
        "before=P-c3",
        "since=P-c2",
        "is-task=false",
        "is-task=true",
        "isolation=default",
        "foo=bar",
        "status=up",
        "health=sick",
        "exited=x",
        "is-task=maybe",
        "before=nope",
        "publish=x",
        "expose=80:80",
    ]
    .iter()
    .map(|f| vec!["--filter".to_string(), f.to_string()])
    .collect();
    cases.push(
        ["--filter", "status=exited", "--filter", "status=created"]
            .map(String::from)
            .to_vec(),
    );
    cases.push(
        ["--filter", "label=team", "--filter", "status=running"]
            .map(String::from)
            .to_vec(),
    );
    cases.push(["--filter", "ancestor=ANCESTOR"].map(String::from).to_vec());
    cases.push(["--filter", "ancestor=CHILD"].map(String::from).to_vec());
    let mut differ = Vec::new();
    for case in &cases {
        for all in [true, false] {
            let results: Vec<_> = sides
                .iter()
                .map(|s| {
                    let mut args: Vec<String> = case
                        .iter()
                        .map(|a| a.replace("ANCESTOR", &image).replace("CHILD", &child))
                        .collect();
                    if all {
                        args.insert(0, "-a".into());
                    }
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    s.ps(&w, &args)
                })
                .collect();
            if results[0] != results[1] {
                differ.push(format!(
                    "{case:?} all={all}: wharf {:?}, docker {:?}",
                    results[0], results[1]
                ));
            }
        }
    }
    // IDs by prefix (not anywhere in the ID).
    for s in &sides {
        let prefix = id_prefix(s, &s.fill("P-c1"), 0..6);
        assert_eq!(
            s.ps(&w, &["-a", "--filter", &format!("id={prefix}")])
                .unwrap(),
            "c1"
        );
        let inner = id_prefix(s, &s.fill("P-c1"), 3..9);
        assert_eq!(
            s.ps(&w, &["-a", "--filter", &format!("id={inner}")])
                .unwrap(),
            ""
        );
    }
    assert!(
        differ.is_empty(),
        "filters differ from docker's:\n{}",
        differ.join("\n")
    );
    // The usage error for a filter without `=`.
    let (code, err) = w.fails(["ps", "--filter", "bad"]);
    assert_eq!(code, 125);
    assert!(
        err.starts_with("invalid argument \"bad\" for \"-f, --filter\" flag"),
        "{err}"
    );
    for s in &sides {
        s.ok(
            &w,
            &["rm", "-f", "P-c1", "P-c2", "P-c3", "P-c4", "P-c5", "P-c6"],
        );
        s.ok(&w, &["network", "rm", "NET"]);
    }
}

/// Removes a docker network on drop.
struct NetworkGuard(String);

impl Drop for NetworkGuard {
    fn drop(&mut self) {
        let _ = docker().args(["network", "rm", &self.0]).output();
    }
}
