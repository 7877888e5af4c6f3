//! A tiny HTTP/1.1 file server on loopback for build tests (`ADD <url>`,
//! remote contexts): fixed files with `Last-Modified` and `ETag`, 304 for
//! a matching `If-None-Match`, 404 otherwise; it counts the full
//! downloads of each path. Stopped on drop.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

#[derive(Clone)]
pub struct File {
    pub body: Vec<u8>,
    pub etag: Option<String>,
    /// An HTTP date.
    pub last_modified: Option<String>,
}

#[derive(Default)]
struct State {
    files: HashMap<String, File>,
    /// 200 answers per path.
    downloads: HashMap<String, usize>,
    /// Requests per path (any answer).
    requests: HashMap<String, usize>,
}

pub struct HttpFiles {
    pub port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HttpFiles {
    pub fn start() -> HttpFiles {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(c) = conn {
                    let st = st.clone();
                    std::thread::spawn(move || serve(c, &st));
                }
            }
        });
        HttpFiles {
            port,
            state,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn put(&self, path: &str, file: File) {
        self.state
            .lock()
            .unwrap()
            .files
            .insert(path.to_string(), file);
    }

    pub fn downloads(&self, path: &str) -> usize {
        *self.state.lock().unwrap().downloads.get(path).unwrap_or(&0)
    }

    pub fn requests(&self, path: &str) -> usize {
        *self.state.lock().unwrap().requests.get(path).unwrap_or(&0)
    }
}

impl Drop for HttpFiles {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(conn: TcpStream, state: &Mutex<State>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut out = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let path = parts.next().unwrap_or("/").to_string();
        let mut if_none_match = None;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("if-none-match") {
                    if_none_match = Some(v.trim().to_string());
                }
            }
        }
        let (status, headers, body) = {
            let mut s = state.lock().unwrap();
            *s.requests.entry(path.clone()).or_default() += 1;
            match s.files.get(&path).cloned() {
                None => ("404 Not Found", String::new(), b"not found\n".to_vec()),
                Some(f) => {
                    let mut headers = String::new();
                    if let Some(e) = &f.etag {
                        headers.push_str(&format!("ETag: {e}\r\n"));
                    }
                    if let Some(t) = &f.last_modified {
                        headers.push_str(&format!("Last-Modified: {t}\r\n"));
                    }
                    if f.etag.is_some() && if_none_match == f.etag {
                        ("304 Not Modified", headers, Vec::new())
                    } else {
                        if method == "GET" {
                            *s.downloads.entry(path.clone()).or_default() += 1;
                        }
                        ("200 OK", headers, f.body)
                    }
                }
            }
        };
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{headers}\r\n",
            if status.starts_with("304") {
                0
            } else {
                body.len()
            }
        );
        if out.write_all(head.as_bytes()).is_err() {
            return;
        }
        if method != "HEAD" && !status.starts_with("304") && out.write_all(&body).is_err() {
            return;
        }
    }
}
