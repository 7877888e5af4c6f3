//! `run`, `create`, `start`, `ps`, `stop`, `kill`, `rm`, `wait`, and the
//! hidden `monitor`.

use std::process::ExitCode;

use chrono::Utc;
use serde_json::json;
use wharf_engine::containers::{AttachIo, AttachOptions, MonitorStdio};
use wharf_engine::registry::PullPolicy;
use wharf_engine::{Engine, EngineError};
use wharf_format::{ellipsis, since};

use super::create_opts::{check_cidfile, create_request, write_cidfile};
use super::progress::{Render, Stream};
use crate::cli::{KillArgs, NamesArgs, PsArgs, RmArgs, RunArgs, StartArgs, StopArgs};
use crate::exit::{fail, fail_with};
use crate::output::print_list;

/// A process that could not start carries docker's exit code (126, 127,
/// 125); any other error (no such container) takes the command's.
fn start_error(e: EngineError) -> anyhow::Error {
    match e {
        EngineError::Start { code, .. } => fail_with(e.to_string(), code as u8),
        e => fail(e.to_string()),
    }
}

/// Pull the image first if `--pull` says so; docker's pull lines go to stderr.
fn ensure_image(engine: &Engine, a: &RunArgs) -> anyhow::Result<()> {
    let policy = PullPolicy::parse(&a.pull)?;
    let render = Render::new(Stream::Stderr, a.quiet);
    engine.ensure_image(&a.image, policy, a.platform.as_deref(), &render)?;
    Ok(())
}

/// `docker run`. The monitor starts first, even before the store is
/// opened: it loads while this process creates the container.
pub fn run(root: &std::path::Path, a: RunArgs) -> anyhow::Result<ExitCode> {
    if a.detach && !a.attach.is_empty() {
        return Err(fail_with("Conflicting options: -a and -d", 1));
    }
    if !a.detach {
        check_tty(a.interactive, a.tty)?;
    }
    let req = create_request(&a)?;
    check_cidfile(&a)?;
    // Neither stdout nor stderr attached (`-a stdin`): docker's CLI prints
    // the ID and returns at once, as if detached.
    let detach = a.detach || (!req.config.attach_stdout && !req.config.attach_stderr);
    let stdio = if detach {
        MonitorStdio::Null
    } else {
        MonitorStdio::Inherit(AttachIo {
            detach_keys: a.detach_keys.clone(),
            unattached: [!req.config.attach_stdout, !req.config.attach_stderr],
        })
    };
    // The monitor starts up while the image is found and the container
    // created (it exits untouched if either fails).
    let monitor = wharf_engine::containers::prespawn_monitor(root, stdio, &req.host_config)?;
    wharf_runtime::timeline::mark("cli: monitor forked");
    let engine = super::open_engine(root)?;
    wharf_runtime::timeline::mark("cli: store open");
    // Never dropped: this process ends with the container, and closing the
    // database (whose writes are all committed) only delayed that.
    let engine = &*std::mem::ManuallyDrop::new(engine);
    ensure_image(engine, &a)?;
    wharf_runtime::timeline::mark("cli: image found");
    let id = created(&a, engine.create_container_as(&req, monitor.id())?)?;
    wharf_runtime::timeline::mark("cli: created");
    let signals = (!detach)
        .then(|| wharf_engine::containers::watch_signals(a.sig_proxy))
        .transpose()?;
    let started = engine
        .start_prespawned(monitor, !detach)
        .map_err(start_error)?;
    wharf_runtime::timeline::mark("cli: started");
    let Some(signals) = signals else {
        println!("{id}");
        return Ok(ExitCode::SUCCESS);
    };
    // Detaching (ctrl-p ctrl-q) leaves `run` with 0, as docker's does.
    let code = engine.wait_attached(started, signals)?.unwrap_or(0);
    wharf_runtime::timeline::mark("cli: exit code");
    Ok(ExitCode::from(code as u8))
}

pub fn create(engine: &Engine, a: RunArgs) -> anyhow::Result<ExitCode> {
    let req = create_request(&a).map_err(crate::exit::as_invalid_option)?;
    check_cidfile(&a)?;
    ensure_image(engine, &a)?;
    let id = created(&a, engine.create_container(&req)?)?;
    println!("{id}");
    Ok(ExitCode::SUCCESS)
}

/// A new container: the daemon's warnings printed as docker's CLI prints
/// them, its ID written to `--cidfile`.
fn created(a: &RunArgs, c: wharf_engine::containers::Created) -> anyhow::Result<String> {
    for w in &c.warnings {
        eprintln!("WARNING: {w}");
    }
    write_cidfile(a, &c.id)?;
    Ok(c.id)
}

pub fn start(engine: &Engine, a: StartArgs) -> anyhow::Result<ExitCode> {
    if a.attach && a.containers.len() > 1 {
        return Err(fail(
            "you cannot start and attach multiple containers at once",
        ));
    }
    let mut last = 0;
    let attach = AttachIo {
        detach_keys: a.detach_keys.clone(),
        ..Default::default()
    };
    for name in &a.containers {
        // docker's `start -a` proxies signals to containers without a terminal.
        let signals = if a.attach {
            let tty = engine.find_container(name)?.config().tty;
            Some(wharf_engine::containers::watch_signals(!tty)?)
        } else {
            None
        };
        let started = engine
            .start_container(name, a.attach.then_some(&attach))
            .map_err(start_error)?;
        match signals {
            Some(signals) if started.monitor.is_some() => {
                last = engine.wait_attached(started, signals)?.unwrap_or(0)
            }
            _ => println!("{name}"),
        }
    }
    Ok(ExitCode::from(last as u8))
}

/// Apply `f` to each name; like docker, report each failure and fail at the end.
pub(crate) fn each(
    names: &[String],
    mut f: impl FnMut(&str) -> Result<Option<String>, EngineError>,
) -> anyhow::Result<ExitCode> {
    let mut errors = Vec::new();
    for n in names {
        match f(n) {
            Ok(Some(line)) => println!("{line}"),
            Ok(None) => {}
            Err(e) => errors.push(e.to_string()),
        }
    }
    if errors.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(fail(errors.join("\n")))
    }
}

pub fn stop(engine: &Engine, a: StopArgs) -> anyhow::Result<ExitCode> {
    each(&a.containers, |n| {
        engine
            .stop_container(n, a.time, a.signal.as_deref())
            .map(|_| Some(n.to_string()))
    })
}

pub fn kill(engine: &Engine, a: KillArgs) -> anyhow::Result<ExitCode> {
    each(&a.containers, |n| {
        engine
            .kill_container(n, a.signal.as_deref())
            .map(|_| Some(n.to_string()))
    })
}

pub fn rm(engine: &Engine, a: RmArgs) -> anyhow::Result<ExitCode> {
    each(&a.containers, |n| {
        match engine.remove_container(n, a.force, a.volumes) {
            Ok(_) => Ok(Some(n.to_string())),
            Err(e) if a.force && e.kind() == wharf_engine::ErrorKind::NotFound => {
                forced_missing(&e);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    })
}

/// `rm -f`/`rmi -f` of an object that is not there: docker's CLI still
/// prints the daemon's error but does not fail the command.
pub(crate) fn forced_missing(e: &EngineError) {
    eprintln!("Error: {e}");
}

pub fn wait(engine: &Engine, a: NamesArgs) -> anyhow::Result<ExitCode> {
    each(&a.containers, |n| {
        engine.wait_container(n).map(|c| Some(c.to_string()))
    })
}

const PS_TABLE: &str =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.CreatedAt}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
const PS_HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("CreatedAt", "CREATED"),
    ("RunningFor", "CREATED"),
    ("Status", "STATUS"),
    ("Ports", "PORTS"),
    ("Names", "NAMES"),
    ("State", "STATE"),
    ("Size", "SIZE"),
];

/// docker's STATUS column (the daemon's text: the engine's).
pub(crate) fn ps_status(
    c: &wharf_engine::containers::ContainerSummary,
    now: chrono::DateTime<Utc>,
) -> String {
    c.status_text(now)
}

pub fn ps(engine: &Engine, a: PsArgs) -> anyhow::Result<ExitCode> {
    let filters = super::parse_filters(&a.filter, "ps")?;
    let last = if a.latest { Some(1) } else { a.last };
    let now = Utc::now();
    // docker's daemon errors of `ps` exit 1.
    let mut rows = engine
        .ps(a.all || last.is_some(), &filters)
        .map_err(|e| fail_with(e.to_string(), 1))?;
    if let Some(n) = last {
        rows.truncate(n);
    }
    let id = |id: &str| {
        if a.no_trunc {
            id.to_string()
        } else {
            id[..12].to_string()
        }
    };
    if a.quiet {
        for c in &rows {
            println!("{}", id(&c.id));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut items: Vec<_> = rows
        .iter()
        .map(|c| {
            let status = c.status_text(now);
            let command = if a.no_trunc {
                c.command.clone()
            } else {
                ellipsis(&c.command, 20)
            };
            json!({
                "Command": format!("\"{command}\""),
                "CreatedAt": c.created.map(|t| since(t, now)).unwrap_or_default(),
                "ID": id(&c.id),
                "Image": c.image,
                "Names": c.name,
                "Ports": super::ports::displayable(&c.ports),
                "RunningFor": c.created.map(|t| since(t, now)).unwrap_or_default(),
                "State": c.status.as_str(),
                "Status": status,
            })
        })
        .collect();
    let table = ps_sizes(engine, &a, &rows, &mut items)?;
    print_list(a.format.as_deref(), &table, PS_HEADERS, &items)?;
    Ok(ExitCode::SUCCESS)
}

/// `ps --size` (or a format naming `.Size`, as docker's CLI then asks
/// for sizes too): each row's `Size`, docker's `6B (virtual 1.98MB)`;
/// the table format to print (the SIZE column last with `--size`).
fn ps_sizes(
    engine: &Engine,
    a: &PsArgs,
    rows: &[wharf_engine::containers::ContainerSummary],
    items: &mut [serde_json::Value],
) -> anyhow::Result<String> {
    let wanted = a.size || a.format.as_deref().is_some_and(|f| f.contains(".Size"));
    if wanted {
        for (c, item) in rows.iter().zip(items.iter_mut()) {
            let size = engine.container_size(&c.id)?;
            let human = |b: u64| wharf_format::human_size_with_precision(b as f64, 3);
            item["Size"] = json!(format!(
                "{} (virtual {})",
                human(size.rw),
                human(size.root_fs)
            ));
        }
    }
    Ok(if a.size {
        format!("{PS_TABLE}\t{{{{.Size}}}}")
    } else {
        PS_TABLE.to_string()
    })
}

/// The per-container monitor (started by the engine, not by users):
/// runs until the container exits.
pub fn monitor(a: wharf_runtime::monitor::MonitorArgs) -> anyhow::Result<ExitCode> {
    let root = a.root.as_path();
    wharf_runtime::timeline::mark("mon: exec'd");
    // Ahead of everything: the kernel takes a millisecond to make one.
    let netns = a.netns.then(wharf_engine::containers::PendingNetns::start);
    // While `run` creates the container: but a run that fails must find
    // nothing made in the store, not even the store (it may be gone).
    let early = if a.wait {
        Engine::open_existing(root).ok().flatten()
    } else {
        None
    };
    // A monitor that leaves before the start reaps the cgroup warm-up
    // helper its spawner forked (cgroup v2 only; it makes nothing).
    let unwarm = || {
        if a.warmed {
            wharf_runtime::monitor::reap_children();
        }
    };
    if a.wait && !wharf_runtime::monitor::boundary::wait_for_go() {
        // The container was never created.
        unwarm();
        return Ok(ExitCode::SUCCESS);
    }
    wharf_runtime::timeline::mark("mon: go");
    let engine = &match early {
        Some(e) => e,
        None => Engine::open(root)?,
    };
    let ready = wharf_runtime::monitor::boundary::ready_pipe();
    let keys = a.detach_keys.as_deref().unwrap_or("ctrl-p,ctrl-q");
    let attach = a.attach.then_some(keys);
    // A build step has no record: its step.json says what to run, and it
    // keeps its own hosts and resolv.conf (no network hooks).
    let dir = wharf_runtime::monitor::ContainerDir::new(root, &a.id);
    let code = match wharf_runtime::monitor::MonitorConfig::load_step(&dir) {
        Ok(step) => wharf_runtime::monitor::run(
            engine.store(),
            &a.id,
            step,
            attach,
            ready,
            &wharf_runtime::monitor::NoHooks,
            a.warmed,
        ),
        Err(_) => {
            // Held to the end of this process (see `lifetime`): a start
            // right after a stop waits here for the last run's teardown.
            let lifetime = wharf_runtime::monitor::lifetime::begin(&dir);
            let config = match engine.monitor_config(&a.id) {
                Ok(c) => c,
                Err(e) => {
                    unwarm();
                    if let Some(mut r) = ready {
                        wharf_runtime::monitor::Ready::Failed {
                            code: 125,
                            message: e.to_string(),
                        }
                        .send(&mut r);
                    }
                    return Ok(ExitCode::from(125));
                }
            };
            wharf_runtime::timeline::mark("mon: config loaded");
            let hooks = engine.monitor_hooks(netns);
            let code = wharf_runtime::monitor::run(
                engine.store(),
                &a.id,
                config,
                attach,
                ready,
                &hooks,
                // The spawner's child started the cgroup warm-up.
                a.warmed,
            );
            drop(hooks);
            drop(lifetime);
            wharf_runtime::timeline::mark("mon: lifetime over");
            code
        }
    };
    Ok(ExitCode::from(code as u8))
}

/// `docker attach`: exits with the container's code once it stops.
pub fn attach(engine: &Engine, a: crate::cli::AttachArgs) -> anyhow::Result<ExitCode> {
    let opts = AttachOptions {
        stdin: !a.no_stdin,
        sig_proxy: a.sig_proxy,
        detach_keys: detach_keys(a.detach_keys.as_deref()),
    };
    let code = engine
        .attach_container(&a.container, &opts)
        .map_err(start_error)?;
    Ok(ExitCode::from(code as u8))
}

/// `docker logs`: the json-file log, optionally followed while the container runs.
pub fn logs(engine: &Engine, a: crate::cli::LogsArgs) -> anyhow::Result<ExitCode> {
    use std::io::Write;
    use wharf_runtime::logs::{
        format_record, format_record_details, parse_time_arg, read_logs_as, ReadOptions, Stream,
    };
    let c = engine.find_container(&a.container)?;
    let log = engine
        .container_log(&c)
        .map_err(|e| fail_with(e.to_string(), 1))?;
    let now = Utc::now();
    let tail = match a.tail.as_deref() {
        None | Some("all") => None,
        Some(n) => Some(
            n.parse::<usize>()
                .map_err(|_| fail(format!("invalid value for \"tail\": {n}")))?,
        ),
    };
    let time = |s: &Option<String>| s.as_deref().map(|s| parse_time_arg(s, now)).transpose();
    let opts = ReadOptions {
        tail,
        since: time(&a.since)?,
        until: time(&a.until)?,
        timestamps: a.timestamps,
        follow: a.follow,
        stdout: true,
        stderr: true,
    };
    if !log.path.exists() {
        return Ok(ExitCode::SUCCESS);
    }
    let mut sink = |rec: &wharf_runtime::logs::LogRecord| -> std::io::Result<()> {
        let bytes = if a.details {
            format_record_details(rec, a.timestamps)
        } else {
            format_record(rec, a.timestamps)
        };
        match rec.stream {
            Stream::Stdout => std::io::stdout().lock().write_all(&bytes),
            Stream::Stderr => std::io::stderr().lock().write_all(&bytes),
        }
    };
    let stop = || !engine.container_running(&c.id);
    read_logs_as(log.format, &log.path, &opts, &mut sink, &stop)?;
    Ok(ExitCode::SUCCESS)
}

/// Docker's check before attaching a terminal: typing into a container's
/// terminal needs one of ours.
fn check_tty(interactive: bool, tty: bool) -> anyhow::Result<()> {
    if interactive && tty && !wharf_runtime::term::is_terminal(0) {
        return Err(fail_with("the input device is not a TTY", 1));
    }
    Ok(())
}

/// `--detach-keys`, docker's default when missing or invalid (with a warning).
fn detach_keys(flag: Option<&str>) -> Vec<u8> {
    match flag.map(wharf_runtime::term::parse_detach_keys) {
        Some(Ok(keys)) => keys,
        Some(Err(e)) => {
            eprintln!("WARNING: invalid detach escape keys, using default: {e}");
            wharf_runtime::term::DEFAULT_DETACH_KEYS.to_vec()
        }
        None => wharf_runtime::term::DEFAULT_DETACH_KEYS.to_vec(),
    }
}

/// `docker exec`: exits with the process's code.
/// `warm`: the cgroup warm-up started before the store was opened (see
/// `wharf_runtime::cgroup_warmup::hold`).
pub fn exec(
    engine: &Engine,
    a: crate::cli::ExecArgs,
    warm: Option<wharf_runtime::cgroup_warmup::Held>,
) -> anyhow::Result<ExitCode> {
    if !a.detach {
        check_tty(a.interactive, a.tty)?;
    }
    // docker's CLI: the files' lines, then -e; bare names from our env.
    // A bad file is the CLI's error: exit 1, as docker's exec.
    let env = super::create_opts::merged_env(&a.env_file, &a.env)
        .map_err(|e| fail_with(e.to_string(), 1))?;
    let req = wharf_runtime::exec::ExecRequest {
        args: a.command.clone(),
        env,
        workdir: a.workdir.clone(),
        user: a.user.clone(),
        detach: a.detach,
        interactive: a.interactive,
        tty: a.tty,
        detach_keys: detach_keys(a.detach_keys.as_deref()),
        privileged: a.privileged,
    };
    let code = engine
        .exec_container(&a.container, &req, warm)
        .map_err(start_error)?;
    Ok(ExitCode::from(code as u8))
}

pub fn rename(engine: &Engine, a: crate::cli::RenameArgs) -> anyhow::Result<ExitCode> {
    engine.rename_container(&a.container, &a.new_name)?;
    Ok(ExitCode::SUCCESS)
}

pub fn pause(engine: &Engine, a: NamesArgs, pause: bool) -> anyhow::Result<ExitCode> {
    each(&a.containers, |n| {
        engine
            .pause_container(n, pause)
            .map(|_| Some(n.to_string()))
    })
}

pub fn diff(engine: &Engine, a: crate::cli::DiffArgs) -> anyhow::Result<ExitCode> {
    for c in engine.container_changes(&a.container)? {
        println!("{} {}", c.kind, c.path);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn export(engine: &Engine, a: crate::cli::ExportArgs) -> anyhow::Result<ExitCode> {
    use std::io::Write;
    match &a.output {
        Some(path) => {
            let f = std::fs::File::create(path)
                .map_err(|e| fail(format!("open {}: {e}", path.display())))?;
            engine
                .export_container(&a.container, std::io::BufWriter::new(f))?
                .flush()?;
        }
        None => {
            if crate::output::stdout_is_terminal() {
                return Err(fail(
                    "cowardly refusing to save to a terminal. Use the -o flag or redirect",
                ));
            }
            engine
                .export_container(
                    &a.container,
                    std::io::BufWriter::new(std::io::stdout().lock()),
                )?
                .flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn commit(engine: &Engine, a: crate::cli::CommitArgs) -> anyhow::Result<ExitCode> {
    let req = wharf_engine::containers::CommitRequest {
        reference: a.reference,
        changes: a.change,
        message: a.message,
        author: a.author,
    };
    // docker's CLI exits 1 on every daemon error of commit.
    let id = engine
        .commit_container(&a.container, &req)
        .map_err(|e| fail_with(e.to_string(), 1))?;
    println!("{id}");
    Ok(ExitCode::SUCCESS)
}

/// `CONTAINER:PATH` → (container, path); local paths (even with a colon)
/// start with `/` or `.`, as docker decides.
pub(crate) fn split_container_path(arg: &str) -> Option<(&str, &str)> {
    if arg.starts_with('/') || arg.starts_with('.') {
        return None;
    }
    arg.split_once(':')
        .filter(|(c, _)| !c.is_empty() && !c.contains('/'))
}

/// Why `cp` refuses `-` (a tar stream on stdin or stdout), rather than
/// taking it for a file named `-`.
pub(crate) const TAR_STREAMS_UNSUPPORTED: &str =
    "copying tar streams through stdin/stdout is not supported yet";

pub fn cp(engine: &Engine, a: crate::cli::CpArgs) -> anyhow::Result<ExitCode> {
    if a.src == "-" || a.dest == "-" {
        return Err(fail(TAR_STREAMS_UNSUPPORTED));
    }
    match (split_container_path(&a.src), split_container_path(&a.dest)) {
        (Some((c, p)), None) => engine.copy_from_container(
            c,
            p,
            std::path::Path::new(&a.dest),
            a.dest.ends_with('/'),
            a.follow_link,
        )?,
        (None, Some((c, p))) => engine.copy_to_container(c, std::path::Path::new(&a.src), p)?,
        (Some(_), Some(_)) => return Err(fail("copying between containers is not supported")),
        (None, None) => return Err(fail("must specify at least one container source")),
    }
    Ok(ExitCode::SUCCESS)
}
