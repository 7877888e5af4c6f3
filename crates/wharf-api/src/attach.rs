//! `POST /containers/{id}/attach` (with the HTTP upgrade docker calls a
//! hijack) and `/resize`.
//!
//! A client attached to a container that is not running yet (`docker
//! run`, `start -a`: attach, then start) waits in [`Pending`]; the start
//! then gives the monitor pipes (its stdio, as an attached CLI's) and
//! hands their other ends to the waiting session, so no output is lost.
//! A client attaching to a running container talks to the monitor's
//! `attach.sock`, whose frames already have docker's stdcopy header.
//! Output reaches the client through one writer task; when the client
//! goes, the session ends and drops the monitor's lifeline, and the
//! monitor lets go of the pipes (the container runs on).

use std::collections::HashMap;
use std::fs::File;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, CONNECTION, UPGRADE};
use http::StatusCode;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use wharf_engine::containers::{MonitorChild, MonitorStdio, StartOutcome};
use wharf_runtime::monitor::attach::{self as proto, Frame, FrameReader};

use crate::body::{self, Resp, Streamer};
use crate::error::{ApiError, ApiResult};
use crate::router::Call;
use crate::server::Ctx;

/// docker's stdcopy header for `len` bytes of stream `kind`.
pub fn frame(kind: u8, data: &[u8]) -> Bytes {
    let mut v = Vec::with_capacity(8 + data.len());
    v.extend_from_slice(&proto::header(kind, data.len() as u32));
    v.extend_from_slice(data);
    v.into()
}

/// Sessions waiting for their container's start, by container ID.
#[derive(Default)]
pub struct Pending {
    waiting: Mutex<HashMap<String, Vec<Waiting>>>,
}

impl Pending {
    fn add(&self, id: &str, w: Waiting) {
        if let Ok(mut m) = self.waiting.lock() {
            let list = m.entry(id.to_string()).or_default();
            list.retain(|w| !w.tx.is_closed());
            list.push(w);
        }
    }

    /// Take back session `token`'s entry: true if it was still there (no
    /// start of ours has taken it, so none will hand it anything).
    fn withdraw(&self, id: &str, token: u64) -> bool {
        let Ok(mut m) = self.waiting.lock() else {
            return false;
        };
        let Some(list) = m.get_mut(id) else {
            return false;
        };
        let before = list.len();
        list.retain(|w| w.token != token);
        let found = list.len() < before;
        if list.is_empty() {
            m.remove(id);
        }
        found
    }

    /// The oldest session still waiting for `id`.
    pub fn take(&self, id: &str) -> Option<Waiting> {
        let mut m = self.waiting.lock().ok()?;
        let list = m.get_mut(id)?;
        list.retain(|w| !w.tx.is_closed());
        let w = (!list.is_empty()).then(|| list.remove(0));
        if list.is_empty() {
            m.remove(id);
        }
        w
    }
}

/// A session waiting for its container to start.
pub struct Waiting {
    tx: oneshot::Sender<Handover>,
    /// Which session this is.
    token: u64,
    stdin: bool,
    detach_keys: Option<String>,
}

/// The session's ends of the monitor's stdio pipes.
pub struct Ends {
    stdin: Option<OwnedFd>,
    stdout: OwnedFd,
    stderr: OwnedFd,
}

/// What a start gives the waiting session.
struct Handover {
    id: String,
    ends: Ends,
    lifeline: Option<File>,
    child: Option<MonitorChild>,
}

fn pipe() -> ApiResult<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| ApiError::io("creating a pipe", e.into()))
}

/// The monitor's stdio for a start with `w` attached, and our ends.
pub fn pipes(w: &Waiting) -> ApiResult<(MonitorStdio, Ends)> {
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    let (in_r, in_w) = if w.stdin {
        let (r, w) = pipe()?;
        (r, Some(w))
    } else {
        let null = File::open("/dev/null").map_err(|e| ApiError::io("opening /dev/null", e))?;
        (OwnedFd::from(null), None)
    };
    Ok((
        MonitorStdio::Fds {
            stdin: in_r,
            stdout: out_w,
            stderr: err_w,
            detach_keys: w.detach_keys.clone(),
        },
        Ends {
            stdin: in_w,
            stdout: out_r,
            stderr: err_r,
        },
    ))
}

impl Waiting {
    /// Give the started monitor's ends to the session. A session that
    /// went meanwhile drops them: the monitor sees its lifeline close.
    pub fn hand_over(self, ends: Ends, outcome: StartOutcome, ctx: &Ctx) {
        let h = Handover {
            id: outcome.id.clone(),
            ends,
            lifeline: outcome.lifeline,
            child: outcome.monitor,
        };
        if let Err(h) = self.tx.send(h) {
            if let Some(c) = h.child {
                ctx.adopt(&outcome.id, c);
            }
        }
    }
}

/// What the client asked to see and send.
#[derive(Clone)]
struct Want {
    stdin: bool,
    stdout: bool,
    stderr: bool,
    tty: bool,
    detach_keys: Vec<u8>,
}

/// Whether the request asks for docker's hijack (`Upgrade: tcp`).
pub fn wants_upgrade<B>(req: &http::Request<B>) -> bool {
    req.headers().get(UPGRADE).is_some_and(|v| !v.is_empty())
}

/// The `101 UPGRADED` answer docker gives a hijack.
pub fn upgraded_response() -> Resp {
    let mut r = body::with_status(StatusCode::SWITCHING_PROTOCOLS, body::empty());
    let h = r.headers_mut();
    h.insert(
        "Content-Type",
        HeaderValue::from_static("application/vnd.docker.raw-stream"),
    );
    h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(UPGRADE, HeaderValue::from_static("tcp"));
    r
}

/// The client's side of a session: where its output goes, what it sends.
pub struct Client {
    /// Output to the client (a writer task owns the connection).
    pub out: Streamer,
    /// What the client sends (its stdin); `None` at its EOF.
    pub input: mpsc::Receiver<Bytes>,
    /// Fires when the client is gone (a write to it failed).
    pub gone: oneshot::Receiver<()>,
    /// Keeps `gone` pending when nothing else can fire it (a plain
    /// response: there `out` closing says the client went).
    pub _keep: Option<oneshot::Sender<()>>,
}

impl Client {
    /// A client on a plain (not upgraded) response body: output only.
    pub fn plain(out: Streamer) -> Client {
        let (_no_input, input) = mpsc::channel(1);
        let (keep, gone) = oneshot::channel();
        Client {
            out,
            input,
            gone,
            _keep: Some(keep),
        }
    }
}

/// Take over the connection once hyper has sent the 101.
pub fn hijack(
    on_upgrade: hyper::upgrade::OnUpgrade,
) -> (Resp, impl std::future::Future<Output = Option<Client>>) {
    let fut = async move {
        let upgraded = on_upgrade.await.ok()?;
        let (mut rd, mut wr) = tokio::io::split(TokioIo::new(upgraded));
        let (out_tx, mut out_rx) = mpsc::channel::<Bytes>(16);
        let (gone_tx, gone) = oneshot::channel();
        let gone_tx = Arc::new(Mutex::new(Some(gone_tx)));
        let writer_gone = move || {
            if let Some(tx) = gone_tx.lock().ok().and_then(|mut g| g.take()) {
                let _ = tx.send(());
            }
        };
        tokio::spawn(async move {
            while let Some(b) = out_rx.recv().await {
                if wr.write_all(&b).await.is_err() {
                    writer_gone();
                    return;
                }
            }
            // Output ended: half-close, as docker does; the client reads EOF.
            let _ = wr.flush().await;
            let _ = wr.shutdown().await;
        });
        let (in_tx, input) = mpsc::channel::<Bytes>(8);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                match rd.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if in_tx.send(Bytes::copy_from_slice(&buf[..n])).await.is_err() {
                            // Nobody takes stdin: keep reading to see EOF.
                            continue;
                        }
                    }
                }
            }
            // docker's clients half-close when their input ends (at once
            // when they send none): not a sign that they went. A client
            // that went is seen when a write to it fails.
        });
        Some(Client {
            out: Streamer::from_sender(out_tx),
            input,
            gone,
            _keep: None,
        })
    };
    (upgraded_response(), fut)
}

pub async fn attach(ctx: Arc<Ctx>, call: Call, id: &str) -> ApiResult<Resp> {
    let q = &call.query;
    let name = id.to_string();
    let (id, tty, interactive, running) = ctx
        .blocking(move |e| {
            let c = e.find_container(&name)?;
            let running = e.container_running(&c.id);
            Ok((c.id.clone(), c.config().tty, c.config().open_stdin, running))
        })
        .await?;
    let keys = q.get("detachKeys").filter(|k| !k.is_empty());
    let detach_keys = match keys {
        Some(k) => wharf_runtime::term::parse_detach_keys(k).map_err(|e| {
            ApiError::BadRequest(format!("Invalid detach keys ({k}) provided: {e}"))
        })?,
        None => wharf_runtime::term::DEFAULT_DETACH_KEYS.to_vec(),
    };
    let want = Want {
        stdin: q.bool("stdin") && interactive,
        stdout: q.bool("stdout"),
        stderr: q.bool("stderr"),
        tty,
        detach_keys,
    };
    let logs = q.bool("logs");
    let stream = q.bool("stream");
    // Registered before the answer: the client starts the container as
    // soon as it has it.
    let handed = (stream && !running).then(|| {
        static TOKENS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let token = TOKENS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        ctx.attaches.add(
            &id,
            Waiting {
                tx,
                token,
                stdin: want.stdin,
                detach_keys: keys.map(str::to_string),
            },
        );
        (rx, token)
    });
    let mut req = call.req;
    let upgrade = wants_upgrade(&req).then(|| hyper::upgrade::on(&mut req));
    let session = {
        let ctx = ctx.clone();
        let id = id.clone();
        let want = want.clone();
        move |client: Client| async move {
            session(ctx, id, want, logs, stream, handed, client).await;
        }
    };
    if let Some(on_upgrade) = upgrade {
        let (resp, client) = hijack(on_upgrade);
        tokio::spawn(async move {
            if let Some(c) = client.await {
                session(c).await
            }
        });
        Ok(resp)
    } else {
        let (out, resp) = body::streamed(StatusCode::OK, "application/vnd.docker.raw-stream");
        tokio::spawn(session(Client::plain(out)));
        Ok(resp)
    }
}

/// Where the container's streams come from.
enum Source {
    Pipes(Handover),
    Socket(tokio::net::UnixStream),
}

async fn session(
    ctx: Arc<Ctx>,
    id: String,
    want: Want,
    logs: bool,
    stream: bool,
    handed: Option<(oneshot::Receiver<Handover>, u64)>,
    mut client: Client,
) {
    if logs {
        let opts = wharf_runtime::logs::ReadOptions {
            stdout: want.stdout,
            stderr: want.stderr,
            ..Default::default()
        };
        let out = client.out.clone();
        let id = id.clone();
        let tty = want.tty;
        let _ = ctx
            .blocking(move |e| crate::logs::send_logs(e, &id, &opts, tty, &out, &|| false))
            .await;
    }
    if !stream {
        return;
    }
    let source = match handed {
        Some((mut rx, token)) => loop {
            // Started through us, or by someone else (then the socket).
            tokio::select! {
                h = &mut rx => match h {
                    Ok(h) => break Source::Pipes(h),
                    Err(_) => return,
                },
                _ = &mut client.gone => return,
                _ = client.out.closed() => return,
                _ = tokio::time::sleep(Duration::from_millis(100)) => {
                    let c = ctx.clone();
                    let cid = id.clone();
                    let running = c.blocking(move |e| Ok(e.container_running(&cid))).await;
                    // Running, and no start of ours took this session
                    // (one that did hands it the pipes in a moment).
                    if running.unwrap_or(false) && ctx.attaches.withdraw(&id, token) {
                        match connect(&ctx, &id).await {
                            Some(s) => break Source::Socket(s),
                            None => return,
                        }
                    }
                }
            }
        },
        None => match connect(&ctx, &id).await {
            Some(s) => Source::Socket(s),
            None => return,
        },
    };
    match source {
        Source::Pipes(h) => relay_pipes(&ctx, h, &want, client).await,
        Source::Socket(s) => relay_socket(s, &want, client).await,
    }
}

async fn connect(ctx: &Arc<Ctx>, id: &str) -> Option<tokio::net::UnixStream> {
    let path = wharf_runtime::monitor::ContainerDir::new(ctx.engine.root(), id).attach_socket();
    let s = tokio::task::spawn_blocking(move || proto::connect(&path))
        .await
        .ok()?
        .ok()?;
    s.set_nonblocking(true).ok()?;
    tokio::net::UnixStream::from_std(s).ok()
}

/// Copy the client's input to `sink` until its EOF (then the sink closes:
/// the container's stdin ends).
fn forward_stdin<W: tokio::io::AsyncWrite + Unpin + Send + 'static>(
    mut input: mpsc::Receiver<Bytes>,
    mut sink: W,
    framed: bool,
) {
    tokio::spawn(async move {
        while let Some(b) = input.recv().await {
            let r = if framed {
                sink.write_all(&frame(proto::STDIN, &b)).await
            } else {
                sink.write_all(&b).await
            };
            if r.is_err() {
                break;
            }
        }
        let _ = sink.shutdown().await;
    });
}

/// The monitor's stdout/stderr pipes to the client, framed unless a tty.
pub async fn relay_output(
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
    want_out: bool,
    want_err: bool,
    tty: bool,
    out: &Streamer,
    gone: &mut oneshot::Receiver<()>,
) {
    let open = |fd: Option<OwnedFd>| {
        fd.and_then(|f| tokio::net::unix::pipe::Receiver::from_owned_fd(f).ok())
    };
    let mut o = open(stdout);
    let mut e = open(stderr);
    let mut b1 = vec![0u8; 32 * 1024];
    let mut b2 = vec![0u8; 32 * 1024];
    while o.is_some() || e.is_some() {
        let (kind, n) = tokio::select! {
            r = async { o.as_mut().expect("open").read(&mut b1).await }, if o.is_some() => (proto::STDOUT, r.unwrap_or(0)),
            r = async { e.as_mut().expect("open").read(&mut b2).await }, if e.is_some() => (proto::STDERR, r.unwrap_or(0)),
            _ = &mut *gone => return,
            _ = out.closed() => return,
        };
        if n == 0 {
            if kind == proto::STDOUT {
                o = None
            } else {
                e = None
            }
            continue;
        }
        let data = if kind == proto::STDOUT {
            &b1[..n]
        } else {
            &b2[..n]
        };
        let wanted = if kind == proto::STDOUT {
            want_out
        } else {
            want_err
        };
        if !wanted {
            continue;
        }
        let chunk = if tty {
            Bytes::copy_from_slice(data)
        } else {
            frame(kind, data)
        };
        if !out.send(chunk).await {
            return;
        }
    }
}

async fn relay_pipes(ctx: &Arc<Ctx>, h: Handover, want: &Want, mut client: Client) {
    let Handover {
        id,
        ends,
        lifeline,
        child,
    } = h;
    if let Some(w) = ends
        .stdin
        .and_then(|w| tokio::net::unix::pipe::Sender::from_owned_fd(w).ok())
    {
        forward_stdin(client.input, w, false);
    }
    relay_output(
        Some(ends.stdout),
        Some(ends.stderr),
        want.stdout,
        want.stderr,
        want.tty,
        &client.out,
        &mut client.gone,
    )
    .await;
    // The container exited (the monitor says so on the lifeline once
    // its record is settled), or the client went or detached: then the
    // monitor lets go of the pipes when the lifeline closes.
    if let Some(l) = lifeline {
        if let Some(code) = exit_message(l).await {
            ctx.exited(&id, code);
        }
    }
    if let Some(c) = child {
        ctx.adopt(&id, c);
    }
}

/// The monitor's next message on the lifeline, if it is `exit <code>`
/// and comes soon (it follows the end of the output at once).
async fn exit_message(lifeline: File) -> Option<i32> {
    let mut rx = tokio::net::unix::pipe::Receiver::from_file(lifeline).ok()?;
    let mut line = Vec::new();
    let read = async {
        let mut b = [0u8; 1];
        while rx.read_exact(&mut b).await.is_ok() && b[0] != b'\n' {
            line.push(b[0]);
        }
    };
    tokio::time::timeout(Duration::from_secs(2), read)
        .await
        .ok()?;
    let line = String::from_utf8_lossy(&line);
    line.strip_prefix("exit ")?.trim().parse().ok()
}

async fn relay_socket(s: tokio::net::UnixStream, want: &Want, mut client: Client) {
    let (mut rd, wr) = s.into_split();
    let (detach_tx, mut detached) = oneshot::channel::<()>();
    let mut detach_watched = want.stdin && want.tty;
    // Without stdin the write half stays open (closing it reads as EOF
    // to the monitor) until the session ends.
    let mut _keep = None;
    if want.stdin {
        let mut watch = wharf_runtime::term::DetachWatch::new(want.detach_keys.clone());
        let (tx, rx) = mpsc::channel::<Bytes>(8);
        let mut input = client.input;
        let tty = want.tty;
        tokio::spawn(async move {
            while let Some(b) = input.recv().await {
                let mut fwd = Vec::new();
                let detached = if tty {
                    watch.feed(&b, &mut fwd)
                } else {
                    fwd.extend_from_slice(&b);
                    false
                };
                if !fwd.is_empty() && tx.send(fwd.into()).await.is_err() {
                    break;
                }
                if detached {
                    // Ends the session: output stops, the client sees EOF.
                    let _ = detach_tx.send(());
                    break;
                }
            }
        });
        forward_stdin(rx, wr, true);
    } else {
        drop(client.input);
        _keep = Some(wr);
    }
    let mut frames = FrameReader::default();
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let n = tokio::select! {
            r = rd.read(&mut buf) => r.unwrap_or(0),
            _ = &mut client.gone => return,
            _ = client.out.closed() => return,
            r = &mut detached, if detach_watched => {
                if r.is_ok() {
                    return;
                }
                detach_watched = false;
                continue;
            }
        };
        if n == 0 {
            return;
        }
        let mut chunks = Vec::new();
        frames.feed(&buf[..n], &mut |f| {
            if let Frame::Data(kind, d) = f {
                let wanted = match kind {
                    proto::STDOUT => want.stdout,
                    proto::STDERR => want.stderr,
                    _ => false,
                };
                if wanted {
                    chunks.push(if want.tty {
                        Bytes::copy_from_slice(d)
                    } else {
                        frame(kind, d)
                    });
                }
            }
        });
        for c in chunks {
            if !client.out.send(c).await {
                return;
            }
        }
    }
}

/// `POST /containers/{id}/resize?h=&w=`: a window size for its terminal,
/// through the monitor's attach socket.
pub async fn resize(ctx: Arc<Ctx>, call: Call, id: &str) -> ApiResult<Resp> {
    let (h, w) = size_params(&call)?;
    let name = id.to_string();
    let root = ctx.engine.root().to_path_buf();
    ctx.blocking(move |e| {
        let c = e.find_container(&name)?;
        if !e.container_running(&c.id) {
            return Err(ApiError::Conflict(format!(
                "Container {} is not running",
                c.id
            )));
        }
        let path = wharf_runtime::monitor::ContainerDir::new(&root, &c.id).attach_socket();
        let mut s = proto::connect(&path).map_err(|e| ApiError::io("resizing", e))?;
        let ws = libc::winsize {
            ws_row: h,
            ws_col: w,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        std::io::Write::write_all(&mut s, &proto::resize_frame(&ws))
            .map_err(|e| ApiError::io("resizing", e))?;
        Ok(())
    })
    .await?;
    Ok(body::with_status(StatusCode::OK, body::empty()))
}

/// `h` and `w` of a resize.
pub fn size_params(call: &Call) -> ApiResult<(u16, u16)> {
    let h: Option<u16> = call.query.int("h")?;
    let w: Option<u16> = call.query.int("w")?;
    Ok((h.unwrap_or(0), w.unwrap_or(0)))
}
