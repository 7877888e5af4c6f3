//! The verbs of issue 14 side by side with docker 20.10: the `container`
//! management group (every subverb, the top-level verbs' arguments),
//! `restart`, `container prune`, `wharf --help` grouped as docker's, shell
//! completions and man pages.

mod common;

use std::collections::BTreeSet;

use common::{
    docker, eventually, import_busybox_in_both, require_docker, sh, unique, DockerImages,
    DockerObjects, Wharf,
};
use serde_json::Value;

/// The names listed under `heading` in a cobra/clap help text.
fn listed(help: &str, heading: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim_end() != heading)
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .map(|n| n.trim_end_matches('*').to_string())
        .collect()
}

#[test]
fn container_group_lists_dockers_subverbs() {
    require_docker();
    let w = Wharf::new();
    let ours = listed(&w.ok(["container", "--help"]), "Commands:");
    let theirs = listed(&sh(docker().args(["container", "--help"])), "Commands:");
    let ours: BTreeSet<_> = ours.into_iter().collect();
    let theirs: BTreeSet<_> = theirs.into_iter().collect();
    assert_eq!(
        ours, theirs,
        "wharf container's subverbs differ from docker's"
    );
    // Docker's aliases.
    for alias in [["container", "ps"], ["container", "list"]] {
        w.ok(alias);
    }
    for verb in [["image", "build"], ["builder", "build"]] {
        let help = w.ok([verb[0], verb[1], "--help"]);
        assert!(help.contains("--build-arg"), "{verb:?}: {help}");
    }
}

/// Every subverb of `container` works on a real container, with the
/// top-level verb's flags.
#[test]
fn container_subverbs_act_like_the_top_level_verbs() {
    let w = Wharf::new();
    w.import_busybox("bb");
    let c = "grp";
    let id = w
        .ok(["container", "create", "--name", c, "bb", "sleep", "100"])
        .trim()
        .to_string();
    assert_eq!(id.len(), 64);
    w.ok(["container", "start", c]);
    assert!(w.ok(["container", "ls", "-q"]).contains(&id[..12]));
    assert_eq!(w.ok(["container", "exec", c, "echo", "hi"]), "hi\n");
    w.ok(["container", "exec", c, "sh", "-c", "echo data > /tmp/f"]);
    assert_eq!(
        w.ok(["container", "inspect", "-f", "{{.State.Status}}", c]),
        "running\n"
    );
    // `container inspect` is for containers only, as docker's (an image
    // name that cannot be a container ID prefix: "bb" is one in 256 runs).
    w.ok(["tag", "bb", "image-only"]);
    let (_, err) = w.fails(["container", "inspect", "image-only"]);
    assert!(err.contains("No such container: image-only"), "{err}");
    assert!(w.ok(["container", "top", c]).contains("sleep 100"));
    assert!(w
        .ok([
            "container",
            "stats",
            "--no-stream",
            "--format",
            "{{.Name}}",
            c
        ])
        .contains(c));
    assert_eq!(w.ok(["container", "port", c]), "");
    w.ok(["container", "pause", c]);
    assert_eq!(
        w.ok(["container", "ls", "--format", "{{.State}}"]),
        "paused\n"
    );
    w.ok(["container", "unpause", c]);
    let diff = w.ok(["container", "diff", c]);
    assert!(diff.contains("A /tmp/f"), "{diff}");
    let out = w.scratch().join("f");
    w.ok([
        "container",
        "cp",
        &format!("{c}:/tmp/f"),
        out.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "data\n");
    let tar = w.scratch().join("fs.tar");
    w.ok(["container", "export", "-o", tar.to_str().unwrap(), c]);
    let names = common::tar_names(&std::fs::read(&tar).unwrap());
    assert!(names.iter().any(|n| n.trim_start_matches("./") == "tmp/f"));
    let image = w.ok(["container", "commit", c, "grp-img:1"]);
    assert!(image.starts_with("sha256:"), "{image}");
    w.ok(["container", "rename", c, "grp2"]);
    let c = "grp2";
    w.ok(["container", "kill", "-s", "TERM", c]);
    // sleep as PID 1 ignores TERM: still running; KILL ends it.
    w.ok(["container", "kill", c]);
    assert_eq!(w.ok(["container", "wait", c]), "137\n");
    assert!(w.ok(["container", "logs", c]).is_empty());
    w.ok(["container", "restart", "-t", "0", c]);
    assert_eq!(
        w.ok(["container", "inspect", "-f", "{{.State.Running}}", c]),
        "true\n"
    );
    w.ok(["container", "stop", "-t", "0", c]);
    // attach: output of a container that is running, then its exit code.
    let a = w
        .ok([
            "container",
            "run",
            "-d",
            "bb",
            "sh",
            "-c",
            "sleep 0.5; echo bye; exit 3",
        ])
        .trim()
        .to_string();
    let out = w.run(["container", "attach", &a]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "bye\n");
    assert_eq!(w.ok(["container", "logs", &a]), "bye\n");
    w.ok(["container", "rm", c]);
    let pruned = w.ok(["container", "prune", "-f"]);
    assert!(pruned.contains(&a), "{pruned}");
    assert_eq!(w.ok(["container", "ls", "-aq"]), "");
    assert_eq!(
        w.ok(["container", "run", "--rm", "bb", "echo", "ok"]),
        "ok\n"
    );
}

#[test]
fn restart_matches_docker() {
    require_docker();
    let w = Wharf::new();
    let image = format!("{}:1", unique("wharf-verbs/bb"));
    let _images = DockerImages(vec![image.clone()]);
    import_busybox_in_both(&w, &image, &[]);
    let running = unique("wharf-restart-a");
    let stopped = unique("wharf-restart-b");
    let autorm = unique("wharf-restart-c");
    let failing = unique("wharf-restart-d");
    let _dc = DockerObjects {
        containers: vec![
            running.clone(),
            stopped.clone(),
            autorm.clone(),
            failing.clone(),
        ],
        volumes: Vec::new(),
    };
    type Tool<'a> = &'a dyn Fn(&[&str]) -> String;
    let ours = |args: &[&str]| w.ok(args);
    let theirs = |args: &[&str]| sh(docker().args(args));
    let tools: [(&str, Tool); 2] = [("wharf", &ours), ("docker", &theirs)];
    for (tool, run) in tools {
        let fmt = "{{.State.Status}} {{.RestartCount}} {{.State.Pid}} {{.State.StartedAt}}";
        let state = |name: &str| -> Vec<String> {
            run(&["inspect", "-f", fmt, name])
                .split_whitespace()
                .map(str::to_string)
                .collect()
        };
        // A running container: stopped within -t, started again.
        run(&["run", "-d", "--name", &running, &image, "sleep", "100"]);
        let before = state(&running);
        let t0 = std::time::Instant::now();
        assert_eq!(
            run(&["restart", "-t", "1", &running]),
            format!("{running}\n")
        );
        // sleep as PID 1 ignores SIGTERM: the KILL after 1 s ends it.
        assert!(
            t0.elapsed() >= std::time::Duration::from_millis(900),
            "{tool}"
        );
        let after = state(&running);
        assert_eq!(after[0], "running", "{tool}");
        assert_eq!(after[1], "0", "{tool}");
        assert_ne!(after[2], before[2], "{tool}: same PID after restart");
        assert_ne!(after[3], before[3], "{tool}: same StartedAt after restart");
        // A stopped container is just started.
        run(&["create", "--name", &stopped, &image, "sleep", "100"]);
        run(&["restart", &stopped]);
        assert_eq!(state(&stopped)[0], "running", "{tool}");
        // A paused one is restarted too.
        run(&["pause", &stopped]);
        run(&["restart", "-t", "0", &stopped]);
        assert_eq!(state(&stopped)[0], "running", "{tool}");
        // `--rm` survives its restart.
        run(&[
            "run", "-d", "--rm", "--name", &autorm, &image, "sleep", "100",
        ]);
        run(&["restart", "-t", "0", &autorm]);
        assert_eq!(state(&autorm)[0], "running", "{tool}");
        // The restart count is the policy's; a user's restart resets it.
        // The command fails its first three runs (counted in its writable
        // layer), then stays up: the count is read while it runs.
        run(&[
            "run",
            "-d",
            "--restart",
            "on-failure:2",
            "--name",
            &failing,
            &image,
            "sh",
            "-c",
            "n=$(cat /n 2>/dev/null || echo 0); echo $((n+1)) > /n; [ $n -ge 3 ] && exec sleep 100; sleep 0.1; exit 3",
        ]);
        eventually(30, "the restart policy to give up", || {
            let s = state(&failing);
            s[0] == "exited" && s[1] == "2"
        });
        run(&["restart", &failing]);
        let s = state(&failing);
        assert_eq!(s[0], "running", "{tool}");
        assert_eq!(s[1], "0", "{tool}: restart count after a user's restart");
        for c in [&running, &stopped, &autorm, &failing] {
            if tool == "docker" {
                // dockerd may be removing the `--rm` one itself ("removal
                // of container … is already in progress"); `_dc` removes
                // whatever is left.
                let _ = docker().args(["rm", "-f", c]).output();
            } else {
                run(&["rm", "-f", c]);
            }
        }
    }
    // Errors: the missing container is named; docker's CLI exits 1.
    let (code, err) = w.fails(["restart", "nope-nope"]);
    assert!(err.contains("No such container: nope-nope"), "{err}");
    let docker_code = docker().args(["restart", "nope-nope"]).output().unwrap();
    assert_eq!(Some(code), docker_code.status.code());
}

/// `container prune` and its filters, with docker's output. Every prune
/// names this test's own label: docker's daemon is shared with other tests.
#[test]
fn container_prune_matches_docker() {
    require_docker();
    let w = Wharf::new();
    let run_label = format!("wharf.test.run={}", unique("prune"));
    let labelled = format!("{}:1", unique("wharf-verbs/lb"));
    let plain = format!("{}:1", unique("wharf-verbs/pl"));
    let _images = DockerImages(vec![labelled.clone(), plain.clone()]);
    let mine = format!("LABEL {run_label}");
    import_busybox_in_both(&w, &labelled, &[&mine, "LABEL wharf.test.kind=a"]);
    import_busybox_in_both(&w, &plain, &[&mine]);
    let names: Vec<String> = (0..4)
        .map(|i| unique(&format!("wharf-prune-{i}")))
        .collect();
    let _dc = DockerObjects {
        containers: names.clone(),
        volumes: Vec::new(),
    };
    let mut outputs = Vec::new();
    type Tool<'a> = &'a dyn Fn(&[&str]) -> String;
    let ours = |args: &[&str]| w.ok(args);
    let theirs = |args: &[&str]| sh(docker().args(args));
    let tools: [(&str, Tool); 2] = [("wharf", &ours), ("docker", &theirs)];
    let only_mine = format!("label={run_label}");
    for (tool, run) in tools {
        let id = |n: &str| run(&["inspect", "-f", "{{.Id}}", n]).trim().to_string();
        run(&["create", "--name", &names[0], &labelled, "true"]);
        run(&[
            "run",
            "--name",
            &names[1],
            &plain,
            "sh",
            "-c",
            "echo hello > /x",
        ]);
        run(&["run", "-d", "--name", &names[2], &labelled, "sleep", "100"]);
        run(&["create", "--name", &names[3], &plain, "true"]);
        let ids: Vec<String> = names.iter().map(|n| id(n)).collect();
        let prune = |filters: &[&str]| {
            let mut args = vec!["container", "prune", "-f", "--filter", &only_mine];
            for f in filters {
                args.extend(["--filter", f]);
            }
            run(&args)
        };
        // Nothing was made an hour ago.
        let out = prune(&["label=wharf.test.kind=a", "until=1h"]);
        assert_eq!(out, "Total reclaimed space: 0B\n", "{tool}");
        // Only the stopped labelled one: not the running one.
        let out = prune(&["label=wharf.test.kind=a"]);
        assert!(
            out.contains(&ids[0]) && !out.contains(&ids[2]),
            "{tool}: {out}"
        );
        let until = format!("until={}", unix_time_in_a_minute());
        let out = prune(&["label!=wharf.test.kind", &until]);
        assert!(
            out.contains(&ids[1]) && out.contains(&ids[3]),
            "{tool}: {out}"
        );
        outputs.push(
            out.lines()
                .filter(|l| !ids.iter().any(|i| l.contains(i.as_str())))
                .map(str::to_string)
                .collect::<Vec<_>>(),
        );
        run(&["rm", "-f", &names[2]]);
    }
    // The same report around the IDs, the written file counted (6 bytes).
    assert_eq!(outputs[0], outputs[1]);
    assert!(outputs[0].contains(&"Total reclaimed space: 6B".to_string()));
    w.ok(["create", &plain, "true"]);
    let out = w.with_stdin(["container", "prune"], b"n\n");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Total reclaimed space: 0B\n"
    );
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("WARNING! This will remove all stopped containers."));
    assert_eq!(
        w.ok(["ps", "-aq"]).lines().count(),
        1,
        "declined, nothing pruned"
    );
    // docker 20.10: "Error response from daemon: Invalid filter 'bogus'", exit 1.
    let (code, err) = w.fails(["container", "prune", "-f", "--filter", "bogus=1"]);
    assert_eq!(code, 1);
    assert!(err.contains("Invalid filter 'bogus'"), "{err}");
}

/// A Unix time a minute from now (an `until` everything made so far passes).
fn unix_time_in_a_minute() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 60;
    secs.to_string()
}

#[test]
fn help_is_grouped_like_dockers() {
    let w = Wharf::new();
    let help = w.ok(["--help"]);
    let sections: Vec<&str> = help
        .lines()
        .filter(|l| !l.starts_with(' ') && l.ends_with(':'))
        .collect();
    assert_eq!(
        sections,
        [
            "Common Commands:",
            "Management Commands:",
            "Commands:",
            "Global Options:"
        ],
        "{help}"
    );
    assert!(
        help.starts_with("Usage:  wharf [OPTIONS] COMMAND\n"),
        "{help}"
    );
    let common = listed(&help, "Common Commands:");
    assert_eq!(common[..3], ["run", "exec", "ps"]);
    let management = listed(&help, "Management Commands:");
    for m in [
        "builder",
        "container",
        "image",
        "network",
        "system",
        "volume",
    ] {
        assert!(management.contains(&m.to_string()), "{m} in {management:?}");
    }
    let others = listed(&help, "Commands:");
    for v in ["restart", "attach", "wait"] {
        assert!(others.contains(&v.to_string()), "{v} in {others:?}");
    }
    // Each verb once, and every verb docker 20.10 has that wharf has too.
    let all: Vec<_> = common.iter().chain(&management).chain(&others).collect();
    let unique: BTreeSet<_> = all.iter().collect();
    assert_eq!(all.len(), unique.len(), "a verb listed twice: {all:?}");
    // Bare `wharf` prints the same help and succeeds, as docker.
    let bare = w.run(Vec::<&str>::new());
    assert!(bare.status.success());
    assert!(String::from_utf8_lossy(&bare.stderr).contains("Management Commands:"));
}

#[test]
fn completion_scripts_complete_verbs() {
    let w = Wharf::new();
    let script = w.scratch().join("wharf.bash");
    std::fs::write(&script, w.ok(["completion", "bash"])).unwrap();
    let got = sh(std::process::Command::new("bash").arg("-c").arg(format!(
        "source {}; COMP_WORDS=(wharf container re); COMP_CWORD=2; _wharf wharf re container; echo ${{COMPREPLY[@]}}",
        script.display()
    )));
    let got: BTreeSet<&str> = got.split_whitespace().collect();
    assert_eq!(got, BTreeSet::from(["remove", "rename", "restart"]));
    for shell in ["zsh", "fish"] {
        let s = w.ok(["completion", shell]);
        assert!(s.contains("container") && s.contains("restart"), "{shell}");
    }
    let (code, _) = w.fails(["completion", "tcsh"]);
    assert_eq!(code, 125);
}

#[test]
fn man_pages_cover_every_verb() {
    let w = Wharf::new();
    let dir = w.scratch().join("man");
    w.ok(["man-pages", dir.to_str().unwrap()]);
    for page in [
        "wharf.1",
        "wharf-run.1",
        "wharf-container.1",
        "wharf-container-ls.1",
        "wharf-image-build.1",
        "wharf-restart.1",
    ] {
        let text =
            std::fs::read_to_string(dir.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.starts_with(".ie") || text.contains(".TH"), "{page}");
    }
    // Hidden verbs have no page.
    assert!(!dir.join("wharf-man-pages.1").exists());
    assert!(!dir.join("wharf-network-dns.1").exists());
}

/// `ls -l` lines without the date and time columns.
fn without_dates(ls: &str) -> Vec<String> {
    ls.lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f[..5]
                .iter()
                .chain(&f[8..])
                .copied()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// A tar's entries as (path, kind, mode, link target), `bin/` left out.
fn tar_entries(tar: &[u8]) -> BTreeSet<(String, String, u32, String)> {
    let mut a = tar::Archive::new(tar);
    a.entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let h = e.header();
            let path = e.path().unwrap().display().to_string();
            let path = path
                .trim_start_matches("./")
                .trim_end_matches('/')
                .to_string();
            let link = e
                .link_name()
                .unwrap()
                .map(|l| l.display().to_string())
                .unwrap_or_default();
            // Permission bits: docker's tar writer adds the file type bits too.
            let mode = h.mode().unwrap() & 0o7777;
            (path, format!("{:?}", h.entry_type()), mode, link)
        })
        .filter(|(p, ..)| !p.starts_with("bin") && !p.is_empty())
        .collect()
}

/// Docker's init layer: `/.dockerenv` and `/etc/mtab` in every container,
/// in `export` but not in `diff` or a commit's layer.
#[test]
fn init_layer_files_match_docker() {
    require_docker();
    let w = Wharf::new();
    let image = format!("{}:1", unique("wharf-verbs/init"));
    let committed = format!("{}:1", unique("wharf-verbs/commit"));
    let _images = DockerImages(vec![image.clone(), committed.clone()]);
    import_busybox_in_both(&w, &image, &[]);
    let name = unique("wharf-init");
    let _dc = DockerObjects {
        containers: vec![name.clone()],
        volumes: Vec::new(),
    };
    let ls = [
        "run",
        "--rm",
        &image,
        "ls",
        "-la",
        "/.dockerenv",
        "/etc/mtab",
    ];
    let ours = w.ok(ls);
    let theirs = sh(docker().args(ls));
    assert_eq!(without_dates(&ours), without_dates(&theirs));
    assert!(ours.contains("/etc/mtab -> /proc/mounts"), "{ours}");
    let create = [
        "create",
        "--name",
        &name,
        &image,
        "sh",
        "-c",
        "echo hi > /tmp/x",
    ];
    w.ok(create);
    sh(docker().args(create));
    w.ok(["start", "-a", &name]);
    sh(docker().args(["start", "-a", &name]));
    let diff = w.ok(["diff", &name]);
    assert_eq!(diff, sh(docker().args(["diff", &name])));
    assert_eq!(diff, "C /tmp\nA /tmp/x\n");
    let export = |tool: &mut std::process::Command| {
        let out = tool.args(["export", &name]).output().unwrap();
        assert!(out.status.success());
        tar_entries(&out.stdout)
    };
    let ours = export(&mut w.command(Vec::<&str>::new()));
    let theirs = export(&mut docker());
    assert_eq!(ours, theirs);
    assert!(ours.iter().any(|(p, ..)| p == ".dockerenv"));
    // A commit's layer is the container's own changes: 3 bytes.
    w.ok(["commit", &name, &committed]);
    sh(docker().args(["commit", &name, &committed]));
    let size = "{{.Size}}";
    let top = |out: String| out.lines().next().unwrap_or_default().to_string();
    assert_eq!(
        top(w.ok(["history", "--format", size, &committed])),
        top(sh(docker().args(["history", "--format", size, &committed])))
    );
    w.ok(["rm", &name]);
}

/// `Key: value` lines of `docker info`'s text, indentation kept.
fn info_lines(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((k.to_string(), v.trim().to_string()))
        })
        .collect()
}

#[test]
fn info_matches_docker() {
    require_docker();
    let w = Wharf::new();
    w.import_busybox("bb");
    w.ok(["run", "-d", "--name", "up", "bb", "sleep", "100"]);
    w.ok(["run", "-d", "--name", "frozen", "bb", "sleep", "100"]);
    w.ok(["pause", "frozen"]);
    w.ok(["create", "--name", "down", "bb", "true"]);
    let ours = w.ok(["info"]);
    let theirs = sh(docker().args(["info"]));
    let (a, b) = (info_lines(&ours), info_lines(&theirs));
    let value = |lines: &[(String, String)], key: &str| {
        lines
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {key:?} in info"))
    };
    // The host as docker's daemon describes it.
    for key in [
        " Storage Driver",
        "  Backing Filesystem",
        "  Supports d_type",
        "  Native Overlay Diff",
        " Logging Driver",
        " Cgroup Driver",
        " Cgroup Version",
        " Swarm",
        " Default Runtime",
        "   Profile",
        " Kernel Version",
        " Operating System",
        " OSType",
        " Architecture",
        " CPUs",
        " Total Memory",
        " Name",
        " Registry",
        " Experimental",
        " Live Restore Enabled",
    ] {
        assert_eq!(value(&a, key), value(&b, key), "{key}");
    }
    // Our objects.
    assert_eq!(value(&a, " Containers"), "3");
    assert_eq!(value(&a, "  Running"), "1");
    assert_eq!(value(&a, "  Paused"), "1");
    assert_eq!(value(&a, "  Stopped"), "1");
    assert_eq!(value(&a, " Images"), "1");
    assert_eq!(
        value(&a, " Docker Root Dir"),
        w.root().display().to_string()
    );
    assert_eq!(value(&a, " Server Version"), env!("CARGO_PKG_VERSION"));
    // docker's top-level keys in docker's order, less containerd's and
    // runc's (and the client's plugins: wharf's compose is built in).
    let docker_only = [
        " containerd version",
        " runc version",
        " init version",
        " Plugins",
    ];
    let keys = |lines: &[(String, String)]| -> Vec<String> {
        lines
            .iter()
            .map(|(k, _)| k.clone())
            .filter(|k| !k.starts_with("  ") && !docker_only.contains(&k.as_str()))
            .collect()
    };
    assert_eq!(keys(&a), keys(&b));
    assert!(ours.starts_with("Client:\n Context:    default\n Debug Mode: false\n\nServer:\n"));
    // `system info` is `info`; --format sees docker's JSON keys.
    assert_eq!(
        w.ok([
            "system",
            "info",
            "--format",
            "{{.Containers}} {{.ContainersPaused}} {{.Driver}}"
        ]),
        "3 1 overlay2\n"
    );
    let json = |out: String| -> Value { serde_json::from_str(&out).unwrap() };
    let ours = json(w.ok(["info", "--format", "{{json .}}"]));
    let theirs = json(sh(docker().args(["info", "--format", "{{json .}}"])));
    let names = |v: &Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    let mut expected = names(&theirs);
    expected.retain(|k| !["ContainerdCommit", "RuncCommit", "InitCommit"].contains(&k.as_str()));
    assert_eq!(names(&ours), expected);
    for key in [
        "Driver",
        "MemoryLimit",
        "SwapLimit",
        "CpuCfsPeriod",
        "CpuCfsQuota",
        "CPUShares",
        "CPUSet",
        "PidsLimit",
        "OomKillDisable",
        "IPv4Forwarding",
        "LoggingDriver",
        "CgroupDriver",
        "CgroupVersion",
        "KernelVersion",
        "OperatingSystem",
        "OSVersion",
        "OSType",
        "Architecture",
        "IndexServerAddress",
        "NCPU",
        "MemTotal",
        "Name",
        "DefaultRuntime",
        "SecurityOptions",
        "Swarm",
    ] {
        assert_eq!(ours[key], theirs[key], "{key}");
    }
    assert_eq!(ours["ID"].as_str().unwrap().split(':').count(), 12);
    assert_eq!(ours["ClientInfo"]["Context"], "default");
}

/// The repository's scripts, from this crate's directory.
fn script(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts")
        .join(name)
}

/// Every file (and link) under `dir`, relative.
fn files_under(dir: &std::path::Path) -> BTreeSet<String> {
    fn walk(base: &std::path::Path, d: &std::path::Path, out: &mut BTreeSet<String>) {
        for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
            let t = e.file_type().unwrap();
            if t.is_dir() {
                walk(base, &e.path(), out);
            } else {
                out.insert(e.path().strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

/// `scripts/install.sh` lays wharf out as a packaged tool, uninstall.sh
/// takes all of it away, and deb.sh packages the same layout.
#[test]
fn install_scripts_lay_out_a_tool() {
    let w = Wharf::new();
    let dest = w.scratch().join("dest");
    let bin = env!("CARGO_BIN_EXE_wharf");
    let listed = sh(std::process::Command::new(script("install.sh"))
        .arg(bin)
        .env("DESTDIR", &dest)
        .env("PREFIX", "/usr/local"));
    let listed: BTreeSet<String> = listed
        .lines()
        .map(|l| l.trim_start_matches('/').to_string())
        .collect();
    assert_eq!(
        listed,
        files_under(&dest),
        "install.sh lists what it installs"
    );
    for f in [
        "usr/local/bin/wharf",
        "usr/local/bin/wharf-compose",
        "usr/local/bin/wharf-runc",
        "usr/lib/debug/usr/local/bin/wharf.debug",
        "usr/local/share/bash-completion/completions/wharf",
        "usr/local/share/zsh/site-functions/_wharf",
        "usr/local/share/fish/vendor_completions.d/wharf.fish",
        "usr/local/share/man/man1/wharf.1.gz",
        "usr/local/share/man/man1/wharf-container-update.1.gz",
    ] {
        assert!(listed.contains(f), "{f} not installed: {listed:?}");
    }
    // Stripped, pointing at its debug info; still the same program.
    let installed = dest.join("usr/local/bin/wharf");
    let sections = sh(std::process::Command::new("objdump")
        .arg("-h")
        .arg(&installed));
    assert!(sections.contains(".gnu_debuglink"), "{sections}");
    assert!(!sections.contains(".debug_line"), "not stripped");
    let compose = dest.join("usr/local/bin/wharf-compose");
    let out = std::process::Command::new(&compose)
        .arg("--help")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: wharf compose"));
    let runc = dest.join("usr/local/bin/wharf-runc");
    let out = std::process::Command::new(&runc)
        .arg("--help")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: wharf-runc"));
    assert_eq!(
        sh(std::process::Command::new(&installed).arg("--version")),
        sh(std::process::Command::new(bin).arg("--version"))
    );
    sh(std::process::Command::new(script("uninstall.sh"))
        .env("DESTDIR", &dest)
        .env("PREFIX", "/usr/local"));
    assert_eq!(
        files_under(&dest),
        BTreeSet::new(),
        "uninstall.sh leaves files"
    );
    // The package holds the layout under /usr.
    let out = w.scratch().join("deb");
    let deb = sh(std::process::Command::new(script("deb.sh"))
        .arg(&out)
        .env("WHARF_BIN", bin)
        .env("DEB_COMPRESS", "none"));
    let contents = sh(std::process::Command::new("dpkg-deb")
        .arg("--contents")
        .arg(deb.trim()));
    for f in [
        "./usr/bin/wharf",
        "./usr/bin/wharf-compose -> wharf",
        "./usr/bin/wharf-runc -> wharf",
        "./usr/share/man/man1/wharf-run.1.gz",
        "./usr/share/bash-completion/completions/wharf",
    ] {
        assert!(contents.contains(f), "{f} not in the package:\n{contents}");
    }
    let control = sh(std::process::Command::new("dpkg-deb").args([
        "--field",
        deb.trim(),
        "Package",
        "Version",
    ]));
    assert_eq!(
        control,
        format!("Package: wharf\nVersion: {}\n", env!("CARGO_PKG_VERSION"))
    );
}

/// A cgroup v1 file of a container (`parent` is docker's `docker` or
/// wharf's `wharf`), trimmed.
fn cgroup_file(parent: &str, id: &str, controller: &str, file: &str) -> String {
    let p = format!("/sys/fs/cgroup/{controller}/{parent}/{id}/{file}");
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{p}: {e}"))
        .trim()
        .to_string()
}

/// `docker update` side by side: the same refusals (docker's messages),
/// the same record, and the same values in the container's cgroup files,
/// live, paused or at the next start.
#[test]
fn update_matches_docker() {
    require_docker();
    common::require_cgroup_v1();
    let w = Wharf::new();
    let image = format!("{}:1", unique("wharf-verbs/upd"));
    let _images = DockerImages(vec![image.clone()]);
    import_busybox_in_both(&w, &image, &[]);
    let name = unique("wharf-update");
    let autorm = unique("wharf-update-rm");
    let _dc = DockerObjects {
        containers: vec![name.clone(), autorm.clone()],
        volumes: Vec::new(),
    };
    type Runner<'a> = Box<dyn Fn(&[&str]) -> std::process::Output + 'a>;
    struct Tool<'a> {
        name: &'static str,
        parent: &'static str,
        run: Runner<'a>,
    }
    let tools = [
        Tool {
            name: "wharf",
            parent: "wharf",
            run: Box::new(|args: &[&str]| w.run(args)),
        },
        Tool {
            name: "docker",
            parent: "docker",
            run: Box::new(|args: &[&str]| docker().args(args).output().unwrap()),
        },
    ];
    let mut records = Vec::new();
    let mut messages = Vec::new();
    for t in &tools {
        let ok = |args: &[&str]| {
            let out = (t.run)(args);
            assert!(
                out.status.success(),
                "{} {args:?}: {}",
                t.name,
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        // The error's text after the tool's prefix, the ID made neutral.
        let refused = |args: &[&str], id: &str| {
            let out = (t.run)(args);
            assert!(!out.status.success(), "{} {args:?} should fail", t.name);
            let err = String::from_utf8_lossy(&out.stderr).replace(id, "ID");
            let err = err.lines().next().unwrap_or_default();
            let err = err
                .trim_start_matches("Error response from daemon: ")
                .trim_start_matches("Error: ");
            (out.status.code(), err.to_string())
        };
        let id = ok(&["run", "-d", "--name", &name, &image, "sleep", "1000"])
            .trim()
            .to_string();
        let cg = |controller: &str, file: &str| cgroup_file(t.parent, &id, controller, file);
        let mut said = Vec::new();
        // No swap recorded: docker refuses a bare memory limit.
        said.push(refused(&["update", "--memory", "64m", &name], &id));
        ok(&["update", "--memory", "64m", "--memory-swap", "128m", &name]);
        assert_eq!(
            cg("memory", "memory.limit_in_bytes"),
            "67108864",
            "{}",
            t.name
        );
        assert_eq!(
            cg("memory", "memory.memsw.limit_in_bytes"),
            "134217728",
            "{}",
            t.name
        );
        ok(&["update", "--memory-reservation", "32m", &name]);
        assert_eq!(
            cg("memory", "memory.soft_limit_in_bytes"),
            "33554432",
            "{}",
            t.name
        );
        said.push(refused(
            &[
                "update",
                "--memory",
                "32m",
                "--memory-reservation",
                "64m",
                &name,
            ],
            &id,
        ));
        said.push(refused(&["update", "--memory", "3m", &name], &id));
        ok(&["update", "--cpus", "0.5", &name]);
        assert_eq!(cg("cpu", "cpu.cfs_period_us"), "100000", "{}", t.name);
        assert_eq!(cg("cpu", "cpu.cfs_quota_us"), "50000", "{}", t.name);
        said.push(refused(&["update", "--cpu-period", "50000", &name], &id));
        ok(&[
            "container",
            "update",
            "--cpu-shares",
            "512",
            "--pids-limit",
            "50",
            "--cpuset-cpus",
            "0",
            "--cpuset-mems",
            "0",
            "--restart",
            "on-failure:3",
            &name,
        ]);
        assert_eq!(cg("cpu", "cpu.shares"), "512", "{}", t.name);
        assert_eq!(cg("pids", "pids.max"), "50", "{}", t.name);
        assert_eq!(cg("cpuset", "cpuset.cpus"), "0", "{}", t.name);
        ok(&["update", "--pids-limit", "-1", &name]);
        assert_eq!(cg("pids", "pids.max"), "max", "{}", t.name);
        // Paused: applied all the same.
        ok(&["pause", &name]);
        ok(&["update", "--memory", "48m", "--memory-swap", "96m", &name]);
        assert_eq!(
            cg("memory", "memory.limit_in_bytes"),
            "50331648",
            "{}",
            t.name
        );
        ok(&["unpause", &name]);
        // Stopped: recorded, applied at the next start.
        ok(&["stop", "-t", "0", &name]);
        ok(&["update", "--memory", "40m", "--memory-swap", "80m", &name]);
        ok(&["start", &name]);
        assert_eq!(
            cg("memory", "memory.limit_in_bytes"),
            "41943040",
            "{}",
            t.name
        );
        said.push(refused(&["update", &name], &id));
        said.push(refused(&["update", "--cpus", "5", &name], &id));
        said.push(refused(&["update", "--cpuset-cpus", "7", &name], &id));
        said.push(refused(&["update", "--memory", "64m", "no-such-ctr"], &id));
        let rm_id = ok(&[
            "run", "-d", "--rm", "--name", &autorm, &image, "sleep", "100",
        ])
        .trim()
        .to_string();
        said.push(refused(&["update", "--restart", "always", &autorm], &rm_id));
        messages.push(said);
        let hc = ok(&["inspect", "-f", "{{json .HostConfig}}", &name]);
        let hc: Value = serde_json::from_str(&hc).unwrap();
        let keys = [
            "Memory",
            "MemorySwap",
            "MemoryReservation",
            "NanoCpus",
            "CpuShares",
            "CpuPeriod",
            "CpuQuota",
            "CpusetCpus",
            "CpusetMems",
            "PidsLimit",
            "BlkioWeight",
            "RestartPolicy",
        ];
        records.push(keys.map(|k| (k, hc[k].clone())));
        ok(&["rm", "-f", &name, &autorm]);
    }
    assert_eq!(messages[0], messages[1]);
    assert_eq!(records[0], records[1]);
}

/// The monitor applies the record's limits at a policy restart: an update
/// made while the container ran survives its crash.
#[test]
fn update_survives_a_policy_restart() {
    common::require_cgroup_v1();
    let w = Wharf::new();
    w.import_busybox("bb");
    let id = w
        .ok(["run", "-d", "--restart", "always", "bb", "sleep", "1000"])
        .trim()
        .to_string();
    w.ok(["update", "--memory", "64m", "--memory-swap", "128m", &id]);
    assert_eq!(
        cgroup_file("wharf", &id, "memory", "memory.limit_in_bytes"),
        "67108864"
    );
    let pid = w.ok(["inspect", "-f", "{{.State.Pid}}", &id]);
    sh(std::process::Command::new("kill").args(["-9", pid.trim()]));
    eventually(30, "the policy restart", || {
        let now = w.ok(["inspect", "-f", "{{.RestartCount}} {{.State.Status}}", &id]);
        now.trim() == "1 running"
    });
    assert_eq!(
        cgroup_file("wharf", &id, "memory", "memory.limit_in_bytes"),
        "67108864"
    );
}

/// `rm -f` and `stop` of a container its policy keeps restarting end it,
/// whether it is up or waiting out its back-off when they come.
#[test]
fn forced_removal_ends_a_restarting_container() {
    let w = Wharf::new();
    w.import_busybox("bb");
    for verb in ["stop", "rm"] {
        for _ in 0..5 {
            let id = w
                .ok([
                    "run",
                    "-d",
                    "--restart",
                    "always",
                    "bb",
                    "sh",
                    "-c",
                    "sleep 0.05; exit 1",
                ])
                .trim()
                .to_string();
            eventually(30, "a policy restart", || {
                w.ok(["inspect", "-f", "{{.RestartCount}}", &id]).trim() != "0"
            });
            let args: Vec<&str> = match verb {
                "stop" => vec!["stop", "-t", "0", &id],
                _ => vec!["rm", "-f", &id],
            };
            let out = std::process::Command::new("timeout")
                .arg("20")
                .arg(env!("CARGO_BIN_EXE_wharf"))
                .arg("--root")
                .arg(w.root())
                .args(&args)
                .output()
                .unwrap();
            assert!(out.status.success(), "{args:?}: {out:?}");
            if verb == "stop" {
                assert_eq!(
                    w.ok(["inspect", "-f", "{{.State.Status}}", &id]).trim(),
                    "exited"
                );
                w.ok(["rm", &id]);
            }
        }
    }
    assert_eq!(w.ok(["ps", "-aq"]), "");
}

/// `restart` and `update` record docker's events, in docker's order.
#[test]
fn restart_and_update_events_match_docker() {
    require_docker();
    let w = Wharf::new();
    let image = format!("{}:1", unique("wharf-verbs/ev"));
    let _images = DockerImages(vec![image.clone()]);
    import_busybox_in_both(&w, &image, &[]);
    let name = unique("wharf-events");
    let _dc = DockerObjects {
        containers: vec![name.clone()],
        volumes: Vec::new(),
    };
    let secs = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    type Tool<'a> = &'a dyn Fn(&[&str]) -> String;
    let ours = |args: &[&str]| w.ok(args);
    let theirs = |args: &[&str]| sh(docker().args(args));
    let tools: [Tool; 2] = [&ours, &theirs];
    let mut seen = Vec::new();
    for run in tools {
        let since = secs().to_string();
        run(&["run", "-d", "--name", &name, &image, "sleep", "100"]);
        run(&["restart", "-t", "0", &name]);
        run(&["update", "--cpu-shares", "512", &name]);
        run(&["rm", "-f", &name]);
        let until = (secs() + 1).to_string();
        let filter = format!("container={name}");
        seen.push(run(&[
            "events",
            "--since",
            &since,
            "--until",
            &until,
            "--filter",
            &filter,
            "--format",
            "{{.Action}} {{.Actor.Attributes.signal}}",
        ]));
    }
    assert_eq!(seen[0], seen[1]);
    assert!(
        seen[0].contains("restart") && seen[0].contains("update"),
        "{}",
        seen[0]
    );
}

/// Exit codes and first lines of failed commands, side by side with
/// docker 20.10's CLI: 1 for a failed command, 125 for `run` and for flags
/// that do not parse, 0 for `rm -f` of nothing, docker's "requires at
/// least 1 argument" for too few arguments.
#[test]
fn failed_commands_exit_as_dockers() {
    require_docker();
    let w = Wharf::new();
    let missing = unique("wharf-missing");
    let cases: Vec<Vec<String>> = [
        "rm M",
        "rm -f M",
        "stop M",
        "start M",
        "kill M",
        "restart M",
        "pause M",
        "unpause M",
        "inspect M",
        "container inspect M",
        "logs M",
        "exec M true",
        "rmi M",
        "rmi -f M",
        "image inspect M",
        "network rm M",
        "network inspect M",
        "volume rm M",
        "volume inspect M",
        "port M",
        "top M",
        "wait M",
        "rename M x",
        "update --cpus 1 M",
        "commit M",
        "export M",
        "diff M",
        "tag M x",
        "history M",
        "save M",
        "stats --no-stream M",
        "rm",
        "tag x",
        "cp x",
        "network connect x",
        "ps --filter bogus",
        "ps --no-such-flag",
        "run --rm --restart always M",
        "create --rm --restart always M",
        "run --memory abc M",
    ]
    .iter()
    .map(|c| c.split(' ').map(|a| a.replace('M', &missing)).collect())
    .collect();
    let mut differ = Vec::new();
    for args in &cases {
        let theirs = docker().args(args).output().unwrap();
        let ours = w.run(args);
        if ours.status.code() != theirs.status.code() {
            let first = |o: &std::process::Output| {
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string()
            };
            differ.push(format!(
                "{args:?}: docker {:?} ({}), wharf {:?} ({})",
                theirs.status.code(),
                first(&theirs),
                ours.status.code(),
                first(&ours)
            ));
        }
    }
    assert!(
        differ.is_empty(),
        "exit codes differ:\n{}",
        differ.join("\n")
    );
    let (_, err) = w.fails(["rm"]);
    assert!(
        err.starts_with("\"wharf rm\" requires at least 1 argument.\nSee 'wharf rm --help'."),
        "{err}"
    );
    let (_, err) = w.fails(["tag", "x"]);
    assert!(
        err.starts_with("\"wharf tag\" requires exactly 2 arguments."),
        "{err}"
    );
}
