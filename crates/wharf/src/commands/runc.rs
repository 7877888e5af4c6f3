//! `wharf-runc` (the binary invoked by that name): runc's verbs over
//! [`wharf_runtime::runc`], with runc's output, error lines and exit
//! codes. An error is one logrus-style line (`time=… level=error msg=…`,
//! or JSON with `--log-format json`) on stderr; with `--log FILE` that
//! line goes to the file, where containerd's shim reads it, and the bare
//! message to stderr, as runc does. Exit codes: 1 for every failure, 255
//! for an `exec` that cannot start, the process's own code for `run` and
//! `exec`.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use wharf_runtime::runc::{CreateOptions, ExecOptions, RuncError, Runtime};

use crate::cli_runc::*;

/// A failed verb: its message (runc's words) and exit code.
struct Failed {
    message: String,
    code: u8,
}

impl Failed {
    fn new(message: impl Into<String>) -> Failed {
        Failed {
            message: message.into(),
            code: 1,
        }
    }
}

impl From<RuncError> for Failed {
    fn from(e: RuncError) -> Failed {
        Failed::new(e.to_string())
    }
}

/// Whether argv[0] names this entry (`wharf-runc`, a symlink to wharf).
pub fn invoked_as_runc(args: &[OsString]) -> bool {
    args.first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .is_some_and(|n| n == "wharf-runc")
}

pub fn main(args: Vec<OsString>) -> ExitCode {
    let cli = match RuncCli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            // runc: its help (also for no arguments) exits 0, usage errors 1.
            use clap::error::ErrorKind::*;
            let code = match e.kind() {
                DisplayHelp | DisplayHelpOnMissingArgumentOrSubcommand => 0,
                _ => 1,
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    if cli.debug {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
            .with_target(false)
            .with_writer(std::io::stderr)
            .try_init();
    }
    match run(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            log_error(&cli, &f.message);
            ExitCode::from(f.code)
        }
    }
}

/// runc's error line: logrus's text or JSON format; to `--log` (and the
/// bare message to stderr) or to stderr.
fn log_error(cli: &RuncCli, message: &str) {
    log_line(cli, "error", message);
}

/// One logrus line at `level` (see [`log_error`]).
fn log_line(cli: &RuncCli, level: &str, message: &str) {
    let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let quoted = serde_json::to_string(message).unwrap_or_default();
    let line = if cli.log_format == "json" {
        format!("{{\"level\":\"{level}\",\"msg\":{quoted},\"time\":\"{time}\"}}\n")
    } else {
        format!("time=\"{time}\" level={level} msg={quoted}\n")
    };
    let to_file = cli.log.as_ref().filter(|p| p.as_os_str() != "/dev/stderr");
    match to_file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path);
            if let Ok(mut f) = file {
                let _ = f.write_all(line.as_bytes());
            }
            // runc's fatal error, not its warnings, goes to stderr too.
            if level == "error" {
                eprintln!("{message}");
            }
        }
        None => {
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }
}

fn run(cli: &RuncCli) -> Result<u8, Failed> {
    let rt = Runtime::new(cli.root.clone());
    let Some(command) = &cli.command else {
        // `--version` (clap answered a bare `wharf-runc` with its help).
        println!(
            "wharf-runc version {}\nspec: {}",
            env!("CARGO_PKG_VERSION"),
            wharf_runtime::runc::SPEC_VERSION
        );
        return Ok(0);
    };
    match command {
        RuncCommand::Create(a) => {
            refuse_unsupported(cli).map_err(|e| prefixed("create", e))?;
            rt.create(&a.container_id, &create_options(a))
                .map_err(|e| prefixed("create", e.into()))?;
        }
        RuncCommand::Run(a) => return run_container(cli, &rt, a),
        RuncCommand::Start(a) => rt.start(&a.container_id)?,
        RuncCommand::State(a) => {
            let state = rt.state(&a.container_id)?;
            print_json(&state, true)?;
        }
        RuncCommand::Kill(a) => rt.kill(&a.container_id, &a.signal, a.all)?,
        RuncCommand::Delete(a) => {
            for w in rt.delete(&a.container_id, a.force)? {
                log_line(cli, "warning", &w);
            }
        }
        RuncCommand::Exec(a) => return exec(&rt, a),
        RuncCommand::Ps(a) => ps(&rt, a)?,
        RuncCommand::List(a) => list(&rt, a)?,
        RuncCommand::Pause(a) => rt.pause(&a.container_id)?,
        RuncCommand::Resume(a) => rt.resume(&a.container_id)?,
        RuncCommand::Update(a) => update(&rt, a)?,
        RuncCommand::Events(a) => events(&rt, a)?,
        RuncCommand::Features => print_json(&wharf_runtime::runc::features()?, true)?,
        RuncCommand::Spec(a) => spec(a)?,
    }
    Ok(0)
}

/// runc's prefix for a failed create or run.
fn prefixed(verb: &str, f: Failed) -> Failed {
    Failed {
        message: format!("wharf-runc {verb} failed: {}", f.message),
        code: f.code,
    }
}

/// libcontainer is built without systemd's cgroup driver, and rootless
/// containers are not wharf's: both refused before anything is made.
fn refuse_unsupported(cli: &RuncCli) -> Result<(), Failed> {
    if cli.systemd_cgroup {
        return Err(RuncError::Systemd.into());
    }
    if cli.rootless == "true" {
        return Err(Failed::new(
            "rootless containers are not supported by wharf-runc",
        ));
    }
    Ok(())
}

fn create_options(a: &RuncCreateArgs) -> CreateOptions {
    CreateOptions {
        bundle: a.bundle.clone(),
        pid_file: a.pid_file.clone(),
        console_socket: a.console_socket.clone(),
        no_pivot: a.no_pivot,
        preserve_fds: a.preserve_fds,
    }
}

fn print_json<T: serde::Serialize>(value: &T, pretty: bool) -> Result<(), Failed> {
    let text = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    }
    .map_err(|e| Failed::new(e.to_string()))?;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        // The reader went away (`| head`): it had what it wanted.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(|e| Failed::new(format!("writing to stdout: {e}"))),
    }
}

/// `run`: create and start; in the foreground, wait for the container
/// (signals we get go to its init) and delete it, exiting with its code.
fn run_container(cli: &RuncCli, rt: &Runtime, a: &RuncRunArgs) -> Result<u8, Failed> {
    refuse_unsupported(cli).map_err(|e| prefixed("run", e))?;
    let id = &a.create.container_id;
    if !a.detach && !a.no_subreaper {
        // The init is handed to us when libcontainer's intermediate exits.
        // SAFETY: prctl with these arguments has no memory effects.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    }
    let mut container = rt
        .build(id, &create_options(&a.create), a.detach)
        .map_err(|e| prefixed("run", e.into()))?;
    if let Err(e) = container.start() {
        let _ = rt.delete(id, true);
        return Err(prefixed("run", Failed::new(e.to_string())));
    }
    if a.detach {
        return Ok(0);
    }
    let Some(pid) = container.pid() else {
        return Err(prefixed(
            "run",
            Failed::new("the container has no init pid"),
        ));
    };
    let code = forward_signals_until_exit(pid);
    if !a.keep {
        for w in rt.delete(id, true)? {
            log_line(cli, "warning", &w);
        }
    }
    Ok(u8::try_from(code).unwrap_or(255))
}

/// Relay the signals we receive to the container's `init` until it exits;
/// its exit code (128+n for signal n).
fn forward_signals_until_exit(init: nix::unistd::Pid) -> i32 {
    use nix::sys::signal::{SigSet, Signal};
    use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
    let all = SigSet::all();
    if all.thread_block().is_err() {
        return wharf_runtime::monitor::wait(init.as_raw());
    }
    // A SIGCHLD before the block was discarded: look once before waiting.
    let reap = || loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(p, code)) if p == init => return Some(code),
            Ok(WaitStatus::Signaled(p, sig, _)) if p == init => return Some(128 + sig as i32),
            Ok(WaitStatus::StillAlive) | Err(_) => return None,
            Ok(_) => continue,
        }
    };
    loop {
        if let Some(code) = reap() {
            return code;
        }
        match all.wait() {
            Ok(Signal::SIGCHLD) | Ok(Signal::SIGWINCH) | Ok(Signal::SIGURG) | Err(_) => {}
            Ok(sig) => {
                let _ = nix::sys::signal::kill(init, sig);
            }
        }
    }
}

/// `exec`: its process's exit code; 255 when it cannot start (runc's).
fn exec(rt: &Runtime, a: &RuncExecArgs) -> Result<u8, Failed> {
    let (user, group) = match &a.user {
        None => (None, None),
        Some(u) => parse_user(u).map_err(|m| Failed {
            message: format!("exec failed: {m}"),
            code: 255,
        })?,
    };
    let env = a
        .env
        .iter()
        .map(|e| match e.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (e.clone(), String::new()),
        })
        .collect();
    let opts = ExecOptions {
        process: a.process.clone(),
        args: a.command.clone(),
        detach: a.detach,
        pid_file: a.pid_file.clone(),
        console_socket: a.console_socket.clone(),
        tty: a.tty,
        cwd: a.cwd.clone(),
        env,
        user,
        group,
        additional_gids: a.additional_gids.clone(),
        caps: a.cap.clone(),
        no_new_privs: a.no_new_privs,
        preserve_fds: a.preserve_fds,
        ignore_paused: a.ignore_paused,
        apparmor: a.apparmor.clone(),
    };
    match rt.exec(&a.container_id, &opts) {
        Ok(code) => Ok(u8::try_from(code).unwrap_or(255)),
        Err(e) => Err(Failed {
            message: format!("exec failed: {e}"),
            code: 255,
        }),
    }
}

/// `--user UID[:GID]`, numeric as runc takes it.
fn parse_user(u: &str) -> Result<(Option<u32>, Option<u32>), String> {
    let bad = || format!("invalid user {u:?}: expected <uid>[:<gid>]");
    let (uid, gid) = match u.split_once(':') {
        Some((a, b)) => (a, Some(b)),
        None => (u, None),
    };
    let uid = uid.parse::<u32>().map_err(|_| bad())?;
    let gid = gid
        .map(|g| g.parse::<u32>().map_err(|_| bad()))
        .transpose()?;
    Ok((Some(uid), gid))
}

/// `ps`: the container's pids as JSON, or `ps -ef`'s lines for them.
fn ps(rt: &Runtime, a: &RuncPsArgs) -> Result<(), Failed> {
    let pids = rt.pids(&a.container_id)?;
    if a.format == "json" {
        return print_json(&pids, false);
    }
    let options = if a.ps_options.is_empty() {
        vec!["-ef".to_string()]
    } else {
        a.ps_options.clone()
    };
    let out = std::process::Command::new("ps")
        .args(&options)
        .output()
        .map_err(|e| Failed::new(format!("exec: \"ps\": {e}")))?;
    if !out.status.success() {
        return Err(Failed::new(format!(
            "ps: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let column = header
        .split_whitespace()
        .position(|c| c == "PID")
        .ok_or_else(|| Failed::new("couldn't find PID field in ps output"))?;
    let mut shown = format!("{header}\n");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(column)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            shown.push_str(line);
            shown.push('\n');
        }
    }
    print!("{shown}");
    Ok(())
}

fn list(rt: &Runtime, a: &RuncListArgs) -> Result<(), Failed> {
    let states = rt.list()?;
    if a.quiet {
        for s in &states {
            println!("{}", s.id);
        }
        return Ok(());
    }
    if a.format == "json" {
        return print_json(&states, false);
    }
    let mut text = String::from("ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n");
    for s in &states {
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\n",
            s.id,
            s.pid,
            s.status,
            s.bundle.display(),
            s.created,
            "root"
        ));
    }
    // runc's tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0).
    let tw = wharf_format::TabWriter {
        minwidth: 12,
        ..wharf_format::TabWriter::docker()
    };
    print!("{}", tw.format(&text));
    Ok(())
}

/// `update`: `--resources FILE|-` (the OCI LinuxResources docker sends),
/// or `--pids-limit`.
fn update(rt: &Runtime, a: &RuncUpdateArgs) -> Result<(), Failed> {
    use wharf_runtime::runc::LinuxResources;
    let resources: LinuxResources = match &a.resources {
        Some(p) if p.as_os_str() == "-" => serde_json::from_reader(std::io::stdin())
            .map_err(|e| Failed::new(format!("decoding resources from stdin: {e}")))?,
        Some(p) => {
            let text =
                std::fs::read(p).map_err(|e| Failed::new(format!("open {}: {e}", p.display())))?;
            serde_json::from_slice(&text)
                .map_err(|e| Failed::new(format!("decoding {}: {e}", p.display())))?
        }
        None => wharf_runtime::runc::pids_limit(a.pids_limit)?,
    };
    rt.update(&a.container_id, &resources)?;
    Ok(())
}

/// `events`: with `--stats` one stats record; otherwise one every
/// `--interval` while the container runs.
fn events(rt: &Runtime, a: &RuncEventsArgs) -> Result<(), Failed> {
    if a.stats {
        return print_json(&rt.stats(&a.container_id)?, false);
    }
    let nanos = wharf_dockerfile::parse_go_duration(&a.interval)
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| Failed::new("duration interval must be greater than 0"))?;
    let every = std::time::Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
    loop {
        match rt.stats(&a.container_id) {
            Ok(record) => print_json(&record, false)?,
            // The container ended: so does the stream.
            Err(RuncError::NotRunning) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        std::thread::sleep(every);
    }
}

/// `spec`: a starting config.json in the bundle, never over one.
fn spec(a: &RuncSpecArgs) -> Result<(), Failed> {
    if a.rootless {
        return Err(Failed::new(
            "rootless containers are not supported by wharf-runc",
        ));
    }
    let path = a.bundle.join("config.json");
    if path.exists() {
        return Err(Failed::new("File config.json exists. Remove it first"));
    }
    let spec = wharf_runtime::runc::default_spec()?;
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    serde::Serialize::serialize(&spec, &mut ser).map_err(|e| Failed::new(e.to_string()))?;
    std::fs::write(&path, out).map_err(|e| Failed::new(format!("{}: {e}", path.display())))
}
