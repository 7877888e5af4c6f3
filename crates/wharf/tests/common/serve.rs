//! `wharf serve` for tests: a server on a temp socket over a test's own
//! store, the real docker CLIs pointed at it, and a raw HTTP client for
//! what the CLIs never send (bad input).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use super::{eventually, Wharf};

/// The docker 20.10 client (Debian's) and the 28.x one.
pub const DOCKER_CLIENTS: &[&str] = &["/usr/bin/docker", "/usr/local/bin/docker"];

/// A running `wharf serve`, stopped (by PID) on drop.
pub struct Serve {
    pub child: Child,
    pub sock: PathBuf,
}

impl Serve {
    pub fn start(w: &Wharf) -> Serve {
        Serve::start_with(w, &[])
    }

    /// With more `serve` arguments (listeners, `--group`).
    pub fn start_with(w: &Wharf, extra: &[&str]) -> Serve {
        let sock = w.dir.path().join("api.sock");
        let log = std::fs::File::create(w.dir.path().join("serve.log")).unwrap();
        let child = w
            .command([
                "--log-level".into(),
                "debug".into(),
                "serve".into(),
                "-H".into(),
                format!("unix://{}", sock.display()),
            ])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start wharf serve");
        let s = Serve { child, sock };
        eventually(20, "wharf serve to answer /_ping", || {
            s.try_request("GET", "/_ping", b"")
                .is_some_and(|r| r.status == 200)
        });
        s
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Open descriptors of the server process.
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// The server's log so far (for assertion messages).
    pub fn log(&self) -> String {
        let dir = self.sock.parent().unwrap();
        std::fs::read_to_string(dir.join("serve.log")).unwrap_or_default()
    }

    /// A docker CLI talking to this server.
    pub fn docker(&self, bin: &str) -> Command {
        assert!(
            std::path::Path::new(bin).exists(),
            "{bin} is missing: the API tests drive the real docker CLI"
        );
        let mut c = Command::new(bin);
        c.env("DOCKER_HOST", format!("unix://{}", self.sock.display()))
            .env_remove("DOCKER_CONTEXT");
        c
    }

    pub fn run(&self, bin: &str, args: &[&str]) -> Output {
        self.docker(bin)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run docker")
    }

    /// Run and require success; returns stdout.
    pub fn ok(&self, bin: &str, args: &[&str]) -> String {
        let out = self.run(bin, args);
        assert!(
            out.status.success(),
            "{bin} {args:?} failed ({}):\n{}\nserver log:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn request(&self, method: &str, path: &str, body: &[u8]) -> Response {
        self.try_request(method, path, body)
            .unwrap_or_else(|| panic!("{method} {path}: no answer\n{}", self.log()))
    }

    pub fn try_request(&self, method: &str, path: &str, body: &[u8]) -> Option<Response> {
        self.try_request_with(method, path, &[], body)
    }

    /// A request with more headers (`name: value`).
    pub fn request_with(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        self.try_request_with(method, path, headers, body)
            .unwrap_or_else(|| panic!("{method} {path}: no answer\n{}", self.log()))
    }

    fn try_request_with(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Option<Response> {
        request_on(&self.sock, method, path, headers, body)
    }
}

/// One HTTP request on the API socket `sock` (wharf's or dockerd's, for
/// side-by-side comparisons); `None` while nothing answers.
pub fn request_on(
    sock: &std::path::Path,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<Response> {
    let mut s = UnixStream::connect(sock).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: wharf\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    let _ = s.write_all(body);
    // A server that answers before reading the whole body (a refused PUT)
    // and closes leaves unread bytes behind: the kernel then resets the
    // connection, and the read after the answer fails with ECONNRESET.
    // What arrived before the reset is still the answer.
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) if raw.windows(4).any(|w| w == b"\r\n\r\n") => break,
            Err(_) => return None,
        }
    }
    Some(Response::parse(&raw))
}

impl Drop for Serve {
    fn drop(&mut self) {
        // SAFETY: signalling the server this test started.
        unsafe { libc::kill(self.pid(), libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    fn parse(raw: &[u8]) -> Response {
        let end = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a header block");
        let head = String::from_utf8_lossy(&raw[..end]).into_owned();
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|c| c.parse().ok())
            .expect("a status line");
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let mut body = raw[end + 4..].to_vec();
        if headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v == "chunked")
        {
            body = dechunk(&body);
        }
        Response {
            status,
            headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn message(&self) -> String {
        self.json()["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(nl) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let n = usize::from_str_radix(String::from_utf8_lossy(&b[..nl]).trim(), 16).unwrap_or(0);
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[nl + 2..nl + 2 + n]);
        b = &b[nl + 2 + n + 2..];
    }
}
