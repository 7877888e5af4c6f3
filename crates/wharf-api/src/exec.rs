//! `POST /containers/{id}/exec`, `/exec/{id}/start|resize|json`.
//!
//! An exec runs as `wharf exec` in a child process (the CLI's path: this
//! server never runs libcontainer itself), with pipes for its stdio, or a
//! terminal of ours when it has `Tty` (resizing ours is passed on to the
//! container's by that process, as for a user's terminal). Exec
//! instances live in this server's memory, as in docker's daemon.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::attach::{hijack, relay_output, wants_upgrade, Client};
use crate::body::{self, json as json_resp, ok_json, Resp};
use crate::error::{ApiError, ApiResult};
use crate::router::Call;
use crate::server::Ctx;

/// docker's `ExecConfig`, as the create body carries it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct ExecConfig {
    user: String,
    privileged: bool,
    tty: bool,
    attach_stdin: bool,
    attach_stdout: bool,
    attach_stderr: bool,
    detach_keys: String,
    env: Vec<String>,
    working_dir: String,
    cmd: Vec<String>,
}

struct ExecState {
    container: String,
    config: ExecConfig,
    running: bool,
    started: bool,
    exit_code: Option<i32>,
    pid: u32,
    /// The terminal's master while a `Tty` exec runs (for resize).
    master: Option<Arc<OwnedFd>>,
    /// The last size asked for (a resize can come before the terminal).
    size: Option<(u16, u16)>,
}

fn set_size(master: &OwnedFd, (rows, cols): (u16, u16)) {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ on a terminal we own, with a valid winsize.
    unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
}

/// Exec instances by ID.
#[derive(Default)]
pub struct Registry {
    execs: Mutex<HashMap<String, Arc<Mutex<ExecState>>>>,
}

impl Registry {
    fn get(&self, id: &str) -> ApiResult<Arc<Mutex<ExecState>>> {
        self.execs
            .lock()
            .ok()
            .and_then(|m| m.get(id).cloned())
            .ok_or_else(|| ApiError::NotFound(format!("No such exec instance: {id}")))
    }
}

fn lock(s: &Mutex<ExecState>) -> std::sync::MutexGuard<'_, ExecState> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

pub async fn create(ctx: Arc<Ctx>, call: Call, id: &str) -> ApiResult<Resp> {
    let config: ExecConfig = body::json_body(call.req.into_body()).await?;
    if config.cmd.is_empty() {
        return Err(ApiError::BadRequest("No exec command specified".into()));
    }
    let name = id.to_string();
    let container = ctx
        .blocking(move |e| {
            let c = e.find_container(&name)?;
            if !e.container_running(&c.id) {
                return Err(ApiError::Conflict(format!(
                    "Container {} is not running",
                    c.id
                )));
            }
            if c.state.status == wharf_model::Status::Paused {
                return Err(ApiError::Conflict(format!(
                    "Container {} is paused, unpause the container before exec",
                    c.id
                )));
            }
            Ok(c.id)
        })
        .await?;
    let exec_id = wharf_engine::containers::new_id();
    let state = ExecState {
        container,
        config,
        running: false,
        started: false,
        exit_code: None,
        pid: 0,
        master: None,
        size: None,
    };
    if let Ok(mut m) = ctx.execs.execs.lock() {
        m.insert(exec_id.clone(), Arc::new(Mutex::new(state)));
    }
    Ok(json_resp(StatusCode::CREATED, &json!({"Id": exec_id})))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct StartBody {
    detach: bool,
    tty: bool,
    console_size: Option<[u16; 2]>,
}

/// `wharf --root ROOT exec ...` for this exec.
fn command(ctx: &Ctx, st: &ExecState, detach: bool, tty: bool) -> tokio::process::Command {
    let exe = std::env::current_exe().unwrap_or_else(|_| "wharf".into());
    let mut c = tokio::process::Command::new(exe);
    c.arg("--root").arg(ctx.engine.root()).arg("exec");
    let cfg = &st.config;
    if detach {
        c.arg("-d");
    }
    if cfg.attach_stdin {
        c.arg("-i");
    }
    if tty {
        c.arg("-t");
    }
    if !cfg.user.is_empty() {
        c.arg("-u").arg(&cfg.user);
    }
    if !cfg.working_dir.is_empty() {
        c.arg("-w").arg(&cfg.working_dir);
    }
    // A variable without `=` would be looked up in this server's
    // environment by the CLI: not the client's intent.
    for e in cfg.env.iter().filter(|e| e.contains('=')) {
        c.arg("-e").arg(e);
    }
    if !cfg.detach_keys.is_empty() {
        c.arg("--detach-keys").arg(&cfg.detach_keys);
    }
    c.arg(&st.container).args(&cfg.cmd);
    c.env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .kill_on_drop(false);
    c
}

pub async fn start(ctx: Arc<Ctx>, call: Call, id: &str) -> ApiResult<Resp> {
    let exec = ctx.execs.get(id)?;
    let mut req = call.req;
    let on_upgrade = wants_upgrade(&req).then(|| hyper::upgrade::on(&mut req));
    let b: StartBody = body::json_body(req.into_body()).await?;
    // The exec has a terminal if it was created with one; its output is
    // framed unless the start asks for a terminal's raw stream (docker's
    // rule: docker-py starts `Tty` execs with `Tty: false` and reads frames).
    let raw = b.tty;
    let tty = {
        let mut st = lock(&exec);
        if st.started {
            return Err(ApiError::Conflict(format!(
                "Exec command {id} has already run"
            )));
        }
        let running = ctx.engine.container_running(&st.container);
        if !running {
            return Err(ApiError::Conflict(format!(
                "Container {} is not running",
                st.container
            )));
        }
        st.started = true;
        st.config.tty
    };
    if b.detach {
        let mut cmd = {
            let st = lock(&exec);
            command(&ctx, &st, true, tty)
        };
        let out = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .await
            .map_err(|e| ApiError::io("starting exec", e))?;
        let mut st = lock(&exec);
        if !out.status.success() {
            st.exit_code = Some(out.status.code().unwrap_or(126));
            let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
            return Err(ApiError::Conflict(msg));
        }
        return Ok(body::with_status(StatusCode::OK, body::empty()));
    }
    let size = b.console_size;
    if let Some(on_upgrade) = on_upgrade {
        let (resp, client) = hijack(on_upgrade);
        tokio::spawn(async move {
            if let Some(c) = client.await {
                run_attached(ctx, exec, tty, raw, size, c).await;
            }
        });
        Ok(resp)
    } else {
        let (out, resp) = body::streamed(StatusCode::OK, "application/vnd.docker.raw-stream");
        tokio::spawn(run_attached(ctx, exec, tty, raw, size, Client::plain(out)));
        Ok(resp)
    }
}

fn finish(exec: &Mutex<ExecState>, status: std::io::Result<std::process::ExitStatus>) {
    let mut st = lock(exec);
    st.running = false;
    st.master = None;
    st.exit_code = Some(match status {
        Ok(s) => s.code().unwrap_or(137),
        Err(_) => 126,
    });
}

async fn run_attached(
    ctx: Arc<Ctx>,
    exec: Arc<Mutex<ExecState>>,
    tty: bool,
    raw: bool,
    size: Option<[u16; 2]>,
    mut client: Client,
) {
    let (want_out, want_err, mut cmd) = {
        let st = lock(&exec);
        (
            st.config.attach_stdout,
            st.config.attach_stderr,
            command(&ctx, &st, false, tty),
        )
    };
    if tty {
        let size = size.or_else(|| lock(&exec).size.map(|(h, w)| [h, w]));
        let ws = size.map(|[h, w]| nix::pty::Winsize {
            ws_row: h,
            ws_col: w,
            ws_xpixel: 0,
            ws_ypixel: 0,
        });
        let pty = match nix::pty::openpty(ws.as_ref(), None) {
            Ok(p) => p,
            Err(e) => {
                client
                    .out
                    .send(format!("opening a terminal: {e}\r\n"))
                    .await;
                finish(&exec, Err(std::io::Error::other(e)));
                return;
            }
        };
        let slave = pty.slave;
        // Raw, as docker's exec terminal: the container's own terminal
        // does the line discipline (ours would add a second `\r`).
        if let Ok(mut t) = nix::sys::termios::tcgetattr(&slave) {
            nix::sys::termios::cfmakeraw(&mut t);
            let _ = nix::sys::termios::tcsetattr(&slave, nix::sys::termios::SetArg::TCSANOW, &t);
        }
        let spawn = (|| -> std::io::Result<tokio::process::Child> {
            cmd.stdin(slave.try_clone()?)
                .stdout(slave.try_clone()?)
                .stderr(slave.try_clone()?);
            // SAFETY: setsid and ioctl are async-signal-safe; the child
            // makes the terminal (its stdin) its controlling one, so that
            // resizing ours reaches it as SIGWINCH.
            unsafe {
                cmd.pre_exec(|| {
                    if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
            cmd.spawn()
        })();
        // The slave must stay open only in the child (and `cmd` holds
        // copies): our master reads EIO once the exec's side is gone.
        drop(cmd);
        drop(slave);
        let mut child = match spawn {
            Ok(c) => c,
            Err(e) => {
                finish(&exec, Err(e));
                return;
            }
        };
        let master = Arc::new(pty.master);
        {
            let mut st = lock(&exec);
            st.running = true;
            st.pid = child.id().unwrap_or(0);
            st.master = Some(master.clone());
            // A resize that came while the terminal was being made.
            if let Some(size) = st.size {
                set_size(&master, size);
            }
        }
        relay_terminal(&master, &mut client, raw).await;
        let status = child.wait().await;
        finish(&exec, status);
        return;
    }
    let pipe = || -> std::io::Result<(OwnedFd, OwnedFd)> {
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(Into::into)
    };
    let spawned = (|| -> std::io::Result<_> {
        let (out_r, out_w) = pipe()?;
        let (err_r, err_w) = pipe()?;
        let stdin_w = if lock(&exec).config.attach_stdin {
            let (r, w) = pipe()?;
            cmd.stdin(r);
            Some(w)
        } else {
            cmd.stdin(Stdio::null());
            None
        };
        cmd.stdout(out_w).stderr(err_w);
        let child = cmd.spawn()?;
        // Our copies of the child's ends close with `cmd`.
        Ok((child, out_r, err_r, stdin_w))
    })();
    drop(cmd);
    let (mut child, out_r, err_r, stdin_w) = match spawned {
        Ok(x) => x,
        Err(e) => {
            finish(&exec, Err(e));
            return;
        }
    };
    {
        let mut st = lock(&exec);
        st.running = true;
        st.pid = child.id().unwrap_or(0);
    }
    if let Some(w) = stdin_w.and_then(|w| tokio::net::unix::pipe::Sender::from_owned_fd(w).ok()) {
        let mut input = std::mem::replace(&mut client.input, tokio::sync::mpsc::channel(1).1);
        tokio::spawn(async move {
            let mut w = w;
            while let Some(b) = input.recv().await {
                if w.write_all(&b).await.is_err() {
                    break;
                }
            }
        });
    }
    relay_output(
        Some(out_r),
        Some(err_r),
        want_out,
        want_err,
        false,
        &client.out,
        &mut client.gone,
    )
    .await;
    let status = child.wait().await;
    finish(&exec, status);
}

/// Relay between our terminal's master and the client until the exec's
/// side closes (EIO once the process and its children are gone).
async fn relay_terminal(master: &Arc<OwnedFd>, client: &mut Client, raw: bool) {
    let fd = match master.try_clone() {
        Ok(fd) => fd,
        Err(_) => return,
    };
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
    // SAFETY: `fd` is an OwnedFd moved into the AsyncFd: it stays open,
    // the same descriptor, for the AsyncFd's whole life.
    let Ok(afd) = (unsafe { tokio::io::unix::AsyncFd::register(fd) }) else {
        return;
    };
    let afd = Arc::new(afd);
    let writer = afd.clone();
    let mut input = std::mem::replace(&mut client.input, tokio::sync::mpsc::channel(1).1);
    tokio::spawn(async move {
        while let Some(b) = input.recv().await {
            let mut data: &[u8] = &b;
            while !data.is_empty() {
                let Ok(mut guard) = writer.writable().await else {
                    return;
                };
                match guard
                    .try_io(|f| nix::unistd::write(f.get_ref(), data).map_err(std::io::Error::from))
                {
                    Ok(Ok(n)) => data = &data[n..],
                    Ok(Err(_)) => return,
                    Err(_would_block) => continue,
                }
            }
        }
    });
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let readable = tokio::select! {
            r = afd.readable() => r,
            _ = &mut client.gone => return,
            _ = client.out.closed() => return,
        };
        let Ok(mut guard) = readable else { return };
        match guard.try_io(|f| {
            nix::unistd::read(f.get_ref().as_raw_fd(), &mut buf).map_err(std::io::Error::from)
        }) {
            Ok(Ok(0)) | Ok(Err(_)) => return,
            Ok(Ok(n)) => {
                let chunk = if raw {
                    Bytes::copy_from_slice(&buf[..n])
                } else {
                    crate::attach::frame(1, &buf[..n])
                };
                if !client.out.send(chunk).await {
                    return;
                }
            }
            Err(_would_block) => continue,
        }
    }
}

pub async fn resize(ctx: Arc<Ctx>, call: Call, id: &str) -> ApiResult<Resp> {
    let exec = ctx.execs.get(id)?;
    let (h, w) = crate::attach::size_params(&call)?;
    let mut st = lock(&exec);
    st.size = Some((h, w));
    if let Some(m) = &st.master {
        set_size(m, (h, w));
    }
    Ok(body::with_status(StatusCode::OK, body::empty()))
}

pub async fn inspect(ctx: Arc<Ctx>, id: &str) -> ApiResult<Resp> {
    let exec = ctx.execs.get(id)?;
    let st = lock(&exec);
    let c = &st.config;
    let (entry, args) = c
        .cmd
        .split_first()
        .map(|(a, b)| (a.clone(), b.to_vec()))
        .unwrap_or_default();
    Ok(ok_json(&json!({
        "ID": id,
        "Running": st.running,
        "ExitCode": st.exit_code,
        "ProcessConfig": {
            "tty": c.tty,
            "entrypoint": entry,
            "arguments": args,
            "privileged": c.privileged,
            "user": c.user,
        },
        "OpenStdin": c.attach_stdin,
        "OpenStderr": c.attach_stderr,
        "OpenStdout": c.attach_stdout,
        "CanRemove": false,
        "ContainerID": st.container,
        "DetachKeys": c.detach_keys,
        "Pid": st.pid,
    })))
}
