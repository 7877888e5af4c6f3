//! `wharf serve`: bind the listeners, then serve HTTP/1.1 on each
//! connection (with upgrades, for attach and exec) until SIGTERM/SIGINT.
//! The server holds no state of its own beyond in-flight sessions:
//! containers are the store's and their monitors', and keep running when
//! it stops.

use std::collections::HashMap;
use std::convert::Infallible;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use wharf_engine::containers::MonitorChild;
use wharf_engine::Engine;

use crate::body::{self, Resp, Streamer};
use crate::error::{ApiError, ApiResult, ServeError};
use crate::listen::{self, Bound, ListenSpec};

/// Headers of one request are bounded by this buffer (hyper answers 431
/// past it); bodies are bounded per route.
const MAX_HEADER_BYTES: usize = 64 * 1024;
/// How long a monitor's exit code is kept for `wait`.
const EXIT_MEMORY: Duration = Duration::from_secs(300);
/// A client must send its request headers within this.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// Quiet this long (no new request), the server hands back the memory
/// the last burst left resident (see [`shed_when_idle`]).
const IDLE_AFTER: Duration = Duration::from_secs(1);
/// Blocking-pool threads (engine calls) end after this long unused: each
/// holds a stack.
const THREAD_KEEP_ALIVE: Duration = Duration::from_secs(1);

/// TLS client verification for tcp listeners (`--tlsverify`).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    pub root: PathBuf,
    /// `-H` addresses; none: systemd's sockets if activated, else the
    /// default unix socket.
    pub hosts: Vec<String>,
    /// `--group`: the unix socket's group.
    pub group: Option<String>,
    pub tls: Option<TlsFiles>,
}

/// What every handler shares.
pub struct Ctx {
    pub engine: Engine,
    pub attaches: crate::attach::Pending,
    pub execs: crate::exec::Registry,
    reaped: Mutex<Vec<(String, MonitorChild)>>,
    /// Exit codes of monitors this server started, by container ID: the
    /// answer to a `wait` whose `--rm` container's record went first.
    exits: Mutex<HashMap<String, (i32, Instant)>>,
    /// Engine waits (`wait`) blocked on a container, by ID: the write ends
    /// of their wake-up pipes. A start or an exit seen here ends their
    /// sleep at once (see [`Ctx::wake`]).
    wakes: Mutex<HashMap<String, Vec<Weak<OwnedFd>>>>,
    /// Fires when [`Ctx::exited`] records an exit code.
    exit_seen: tokio::sync::Notify,
    /// Requests so far, and a wake-up for each: [`shed_when_idle`] sees
    /// the server go quiet and come back.
    requests: AtomicU64,
    activity: tokio::sync::Notify,
}

impl Ctx {
    /// Run engine work on the blocking pool (the engine is synchronous:
    /// SQLite, file systems, forks).
    pub async fn blocking<T, F>(self: &Arc<Self>, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Engine) -> ApiResult<T> + Send + 'static,
    {
        let ctx = self.clone();
        tokio::task::spawn_blocking(move || f(&ctx.engine))
            .await
            .map_err(|e| ApiError::Task(e.to_string()))?
    }

    /// A streamed response whose bytes a blocking task writes (tar
    /// streams); it stops when the client goes (writes fail).
    pub fn stream_bytes<F>(
        self: &Arc<Self>,
        content_type: &'static str,
        what: &'static str,
        f: F,
    ) -> Resp
    where
        F: FnOnce(&Engine, &mut dyn std::io::Write) -> ApiResult<()> + Send + 'static,
    {
        let (tx, resp) = body::streamed(http::StatusCode::OK, content_type);
        let c = self.clone();
        tokio::spawn(async move {
            let r = c
                .blocking(move |e| {
                    let mut w = std::io::BufWriter::with_capacity(
                        64 * 1024,
                        StreamWriter(tx, bytes::Bytes::copy_from_slice),
                    );
                    f(e, &mut w)?;
                    std::io::Write::flush(&mut w).map_err(|err| ApiError::io(what, err))
                })
                .await;
            if let Err(e) = r {
                tracing::debug!(error = %e, "{what} ended early");
            }
        });
        resp
    }

    /// docker's JSON message stream (pull, push, load, build), written by
    /// a blocking task; a failure is its last message, as docker sends it.
    pub fn stream_messages<F>(self: &Arc<Self>, f: F) -> Resp
    where
        F: FnOnce(&Engine, &Streamer) -> ApiResult<()> + Send + 'static,
    {
        let (out, resp) = body::streamed(http::StatusCode::OK, "application/json");
        let c = self.clone();
        tokio::spawn(async move {
            let o = out.clone();
            if let Err(err) = c.blocking(move |e| f(e, &o)).await {
                out.send(body::error_message(&err)).await;
            }
        });
        resp
    }

    /// The monitor of container `id`, which this process spawned: reaped
    /// (and its exit code, the container's, kept) when it exits.
    pub fn adopt(&self, id: &str, child: MonitorChild) {
        if let Ok(mut v) = self.reaped.lock() {
            v.push((id.to_string(), child));
        }
        self.reap();
    }

    fn reap(&self) {
        let mut done = Vec::new();
        if let Ok(mut v) = self.reaped.lock() {
            v.retain_mut(|(id, c)| match c.try_wait() {
                Ok(None) => true,
                Ok(Some(code)) => {
                    done.push((id.clone(), code));
                    false
                }
                Err(_) => false,
            });
        }
        for (id, code) in done {
            self.exited(&id, code);
        }
    }

    /// Container `id`'s monitor reported (or ended with) `code`.
    pub fn exited(&self, id: &str, code: i32) {
        if let Ok(mut m) = self.exits.lock() {
            let now = Instant::now();
            m.retain(|_, (_, at)| now.duration_since(*at) < EXIT_MEMORY);
            m.insert(id.to_string(), (code, now));
        }
        self.exit_seen.notify_waiters();
        self.wake(id);
    }

    /// The exit code of container `id` once its monitor has told, waiting
    /// up to `patience` for it.
    pub async fn exit_code(&self, id: &str, patience: Duration) -> Option<i32> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            // Armed before the look: an exit recorded after it still wakes us.
            let seen = self.exit_seen.notified();
            tokio::pin!(seen);
            seen.as_mut().enable();
            self.reap();
            if let Some((code, _)) = self.exits.lock().ok().and_then(|m| m.get(id).copied()) {
                return Some(code);
            }
            tokio::select! {
                _ = seen => {}
                _ = tokio::time::sleep_until(deadline) => return None,
            }
        }
    }

    /// A wake-up pipe for an engine wait on container `id`: its read end
    /// (for [`wharf_engine::Engine::wait_condition`]) and the write end,
    /// which the wait keeps (its registration lasts as long).
    pub fn wake_pipe(&self, id: &str) -> ApiResult<(OwnedFd, Arc<OwnedFd>)> {
        use nix::fcntl::OFlag;
        let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)
            .map_err(|e| ApiError::io("creating a pipe", e.into()))?;
        let w = Arc::new(w);
        if let Ok(mut m) = self.wakes.lock() {
            let list = m.entry(id.to_string()).or_default();
            list.retain(|w| w.strong_count() > 0);
            list.push(Arc::downgrade(&w));
        }
        Ok((r, w))
    }

    /// News of container `id` (started, exited): its engine waits look
    /// again now.
    pub fn wake(&self, id: &str) {
        let Ok(mut m) = self.wakes.lock() else {
            return;
        };
        let Some(list) = m.get_mut(id) else {
            return;
        };
        list.retain(|w| match w.upgrade() {
            Some(fd) => {
                // A full pipe is already a wake-up.
                let _ = nix::unistd::write(&*fd, &[1]);
                true
            }
            None => false,
        });
        if list.is_empty() {
            m.remove(id);
        }
    }
}

/// A blocking writer into a streamed response body; each write goes out
/// as its second field makes it (the bytes as they are, or a message).
pub struct StreamWriter(pub Streamer, pub fn(&[u8]) -> bytes::Bytes);

impl std::io::Write for StreamWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.blocking_send((self.1)(buf)) {
            Ok(buf.len())
        } else {
            Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the client went away",
            ))
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Bind every listener, open the store, and serve until SIGTERM/SIGINT.
pub fn serve(opts: ServeOptions) -> Result<(), ServeError> {
    let gid = opts.group.as_deref().map(listen::group_id).transpose()?;
    let tls_verify = opts.tls.is_some();
    let mut specs = opts
        .hosts
        .iter()
        .map(|h| ListenSpec::parse(h))
        .collect::<Result<Vec<_>, _>>()?;
    let activated = listen::systemd_sockets()?;
    if specs.is_empty() && activated.is_empty() {
        specs.push(ListenSpec::Unix(listen::DEFAULT_SOCKET.into()));
    }
    let mut bound = Vec::new();
    let mut activated = Some(activated);
    for spec in &specs {
        match spec {
            ListenSpec::Unix(p) => bound.push(listen::bind_unix(p, gid)?),
            ListenSpec::Tcp(addr) => {
                let addrs = listen::check_tcp(addr, tls_verify)?;
                bound.push(listen::bind_tcp(&addrs)?);
            }
            ListenSpec::Systemd => bound.extend(activated.take().unwrap_or_default()),
        }
    }
    if specs.is_empty() {
        bound.extend(activated.take().unwrap_or_default());
    }
    let tls = opts.tls.as_ref().map(crate::tls::acceptor).transpose()?;
    let engine = Engine::open(&opts.root)?;
    let ctx = Arc::new(Ctx {
        engine,
        attaches: Default::default(),
        execs: Default::default(),
        reaped: Mutex::new(Vec::new()),
        exits: Mutex::new(HashMap::new()),
        wakes: Mutex::new(HashMap::new()),
        exit_seen: tokio::sync::Notify::new(),
        requests: AtomicU64::new(0),
        activity: tokio::sync::Notify::new(),
    });
    // One thread does the HTTP side (parsing, JSON, relaying streams);
    // engine calls (SQLite, forks, file systems) run on the blocking pool,
    // so a slow one holds up no other request.
    let rt = tokio::runtime::Builder::new_current_thread()
        .max_blocking_threads(256)
        .thread_keep_alive(THREAD_KEEP_ALIVE)
        .enable_all()
        .build()
        .map_err(|e| ServeError::io("starting the runtime", e))?;
    let result = rt.block_on(run(ctx, bound, tls));
    // In-flight sessions end with the process; containers do not.
    rt.shutdown_timeout(Duration::from_millis(200));
    result
}

async fn run(
    ctx: Arc<Ctx>,
    bound: Vec<Bound>,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> Result<(), ServeError> {
    let mut paths = Vec::new();
    for b in bound {
        match b {
            Bound::Unix(l, path) => {
                l.set_nonblocking(true)
                    .map_err(|e| ServeError::io("listener", e))?;
                let l = tokio::net::UnixListener::from_std(l)
                    .map_err(|e| ServeError::io("listener", e))?;
                tracing::info!(path = %path.display(), "listening");
                if !path.as_os_str().is_empty() {
                    paths.push(path);
                }
                let ctx = ctx.clone();
                tokio::spawn(async move {
                    loop {
                        match l.accept().await {
                            Ok((s, _)) => spawn_conn(ctx.clone(), s),
                            Err(e) => accept_failed(e).await,
                        }
                    }
                });
            }
            Bound::Tcp(l) => {
                l.set_nonblocking(true)
                    .map_err(|e| ServeError::io("listener", e))?;
                let l = tokio::net::TcpListener::from_std(l)
                    .map_err(|e| ServeError::io("listener", e))?;
                tracing::info!(addr = ?l.local_addr().ok(), "listening");
                let ctx = ctx.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    loop {
                        match l.accept().await {
                            Ok((s, _)) => {
                                let _ = s.set_nodelay(true);
                                match &tls {
                                    None => spawn_conn(ctx.clone(), s),
                                    Some(acceptor) => {
                                        let (acceptor, ctx) = (acceptor.clone(), ctx.clone());
                                        tokio::spawn(async move {
                                            match acceptor.accept(s).await {
                                                Ok(s) => spawn_conn(ctx, s),
                                                Err(e) => {
                                                    tracing::debug!(error = %e, "TLS handshake")
                                                }
                                            }
                                        });
                                    }
                                }
                            }
                            Err(e) => accept_failed(e).await,
                        }
                    }
                });
            }
        }
    }
    let reaper = ctx.clone();
    let mut sigchld = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::child())
        .map_err(|e| ServeError::io("watching SIGCHLD", e))?;
    tokio::spawn(async move {
        loop {
            // SIGCHLDs coalesce; a slow sweep catches any missed.
            let _ = tokio::time::timeout(Duration::from_secs(30), sigchld.recv()).await;
            reaper.reap();
            // Finished `nft` runs of networks made or removed here.
            wharf_network::nft::reap_stragglers(false);
        }
    });
    tokio::spawn(shed_when_idle(ctx.clone()));
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| ServeError::io("watching SIGTERM", e))?;
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(|e| ServeError::io("watching SIGINT", e))?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    tracing::info!("stopping; containers keep running");
    for p in paths {
        let _ = std::fs::remove_file(p);
    }
    Ok(())
}

/// Once the server has been quiet for [`IDLE_AFTER`] after some requests,
/// hand back what they left resident: free heap, SQLite's page cache and
/// the code pages they ran (shared with every wharf process; they fault in
/// again from the page cache). An idle server then holds little more than
/// its listeners. Streams in progress (attach, logs -f, events) go on
/// untouched: their pages come back as they run.
async fn shed_when_idle(ctx: Arc<Ctx>) {
    loop {
        // Quiet for IDLE_AFTER since the last request (or start-up).
        loop {
            let seen = ctx.requests.load(Ordering::Relaxed);
            tokio::time::sleep(IDLE_AFTER).await;
            if ctx.requests.load(Ordering::Relaxed) == seen {
                break;
            }
        }
        wharf_runtime::memory::shed(ctx.engine.store());
        // No timer while idle: the next request wakes this.
        ctx.activity.notified().await;
    }
}

/// Out of descriptors (or similar): back off instead of spinning.
async fn accept_failed(e: std::io::Error) {
    tracing::warn!(error = %e, "accept");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

fn spawn_conn<S>(ctx: Arc<Ctx>, stream: S)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let svc = service_fn(move |req| {
            let ctx = ctx.clone();
            ctx.requests.fetch_add(1, Ordering::Relaxed);
            ctx.activity.notify_one();
            async move { Ok::<_, Infallible>(crate::router::handle(ctx, req).await) }
        });
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .max_buf_size(MAX_HEADER_BYTES)
            .serve_connection(TokioIo::new(stream), svc)
            .with_upgrades();
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "connection");
        }
    });
}
