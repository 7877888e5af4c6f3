//! `docker attach`: the monitor serves its container's streams on a unix
//! socket, `containers/<id>/attach.sock`, to any number of clients.
//!
//! Both directions carry frames with docker's 8-byte stream header
//! (`[kind, 0, 0, 0, len: u32 big-endian]` then `len` bytes). The monitor
//! sends kind 1 (stdout) and 2 (stderr; a terminal's output is all
//! stdout); a client sends kind 0 (its stdin) and kind 3, a window size
//! with no payload: `len` holds `rows << 16 | cols`.

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::Duration;

use crate::RuntimeError;

pub const STDIN: u8 = 0;
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;
pub const RESIZE: u8 = 3;

/// A frame header.
pub fn header(kind: u8, len: u32) -> [u8; 8] {
    let l = len.to_be_bytes();
    [kind, 0, 0, 0, l[0], l[1], l[2], l[3]]
}

/// A window size as a header-only resize frame.
pub fn resize_frame(ws: &libc::winsize) -> [u8; 8] {
    header(RESIZE, (ws.ws_row as u32) << 16 | ws.ws_col as u32)
}

/// Splits a byte stream into frames, however the reads cut it.
#[derive(Default)]
pub struct FrameReader {
    hdr: [u8; 8],
    have: usize,
    kind: u8,
    left: usize,
}

/// What a frame carries.
pub enum Frame<'a> {
    /// (a piece of) a stream's data.
    Data(u8, &'a [u8]),
    Resize(libc::winsize),
}

impl FrameReader {
    pub fn feed(&mut self, mut data: &[u8], on: &mut dyn FnMut(Frame)) {
        while !data.is_empty() {
            if self.left > 0 {
                let n = self.left.min(data.len());
                on(Frame::Data(self.kind, &data[..n]));
                self.left -= n;
                data = &data[n..];
                continue;
            }
            let n = (8 - self.have).min(data.len());
            self.hdr[self.have..self.have + n].copy_from_slice(&data[..n]);
            self.have += n;
            data = &data[n..];
            if self.have < 8 {
                return;
            }
            self.have = 0;
            let len = u32::from_be_bytes([self.hdr[4], self.hdr[5], self.hdr[6], self.hdr[7]]);
            if self.hdr[0] == RESIZE {
                on(Frame::Resize(libc::winsize {
                    ws_row: (len >> 16) as u16,
                    ws_col: len as u16,
                    ws_xpixel: 0,
                    ws_ypixel: 0,
                }));
            } else {
                self.kind = self.hdr[0];
                self.left = len as usize;
            }
        }
    }
}

/// Bind or connect a unix socket by a path that may be longer than a
/// socket address holds: through `/proc/self/fd/<dir>/<name>`.
fn short_path<T>(path: &Path, f: impl FnOnce(&Path) -> std::io::Result<T>) -> std::io::Result<T> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(std::io::Error::other("bad socket path"));
    };
    let dir = std::fs::File::open(dir)?;
    f(&Path::new(&format!("/proc/self/fd/{}", dir.as_raw_fd())).join(name))
}

pub fn connect(path: &Path) -> std::io::Result<UnixStream> {
    short_path(path, |p| UnixStream::connect(p))
}

/// Listen on `path` (replacing a stale socket).
pub fn listen(path: &Path) -> Result<UnixListener, RuntimeError> {
    let _ = std::fs::remove_file(path);
    let l = short_path(path, |p| UnixListener::bind(p))
        .map_err(|e| RuntimeError::io(format!("binding {}", path.display()), e))?;
    l.set_nonblocking(true)
        .map_err(|e| RuntimeError::io("attach socket", e))?;
    Ok(l)
}

struct Client {
    stream: UnixStream,
    frames: FrameReader,
    /// Output still goes to it: false once a write failed.
    writable: bool,
}

/// The attach socket and its clients.
pub struct Server {
    listener: UnixListener,
    clients: Vec<Client>,
}

/// What clients sent.
pub enum ClientInput<'a> {
    Stdin(&'a [u8]),
    Resize(libc::winsize),
}

impl Server {
    pub fn new(listener: UnixListener) -> Server {
        Server {
            listener,
            clients: Vec::new(),
        }
    }

    /// The descriptors to poll: the listener, then each client.
    pub fn fds(&self) -> Vec<BorrowedFd<'_>> {
        std::iter::once(self.listener.as_fd())
            .chain(self.clients.iter().map(|c| c.stream.as_fd()))
            .collect()
    }

    pub fn accept(&mut self) {
        while let Ok((stream, _)) = self.listener.accept() {
            // A client that stops reading holds output back for a while,
            // then is dropped; the container is never blocked for long.
            let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
            self.clients.push(Client {
                stream,
                frames: FrameReader::default(),
                writable: true,
            });
        }
    }

    /// Send output to every client.
    pub fn broadcast(&mut self, kind: u8, data: &[u8]) {
        if self.clients.is_empty() {
            return;
        }
        let hdr = header(kind, data.len() as u32);
        // A client that cannot take output stops getting it (its side is
        // shut for writing, so it sees the end), but stays until what it
        // sent is read: a resize is a connection that writes one frame and
        // closes, and output broadcast before its frame was read used to
        // drop it with the frame unread (a lost resize, seen under load).
        for c in self.clients.iter_mut().filter(|c| c.writable) {
            if c.stream.write_all(&hdr).is_err() || c.stream.write_all(data).is_err() {
                c.writable = false;
                let _ = c.stream.shutdown(std::net::Shutdown::Write);
            }
        }
    }

    /// Read from client `i` (as [`Server::fds`] numbers them, minus one).
    pub fn read_client(&mut self, i: usize, buf: &mut [u8], on: &mut dyn FnMut(ClientInput)) {
        let Some(c) = self.clients.get_mut(i) else {
            return;
        };
        let fd = c.stream.as_raw_fd();
        match nix::unistd::read(fd, buf) {
            Ok(0) | Err(nix::errno::Errno::ECONNRESET) => {
                self.clients.remove(i);
            }
            Ok(n) => c.frames.feed(&buf[..n], &mut |f| match f {
                Frame::Data(STDIN, d) => on(ClientInput::Stdin(d)),
                Frame::Resize(ws) => on(ClientInput::Resize(ws)),
                Frame::Data(..) => {}
            }),
            Err(_) => {}
        }
    }

    /// Close every client: the container's output ended.
    pub fn close_all(&mut self) {
        self.clients.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_survive_any_split() {
        let mut stream = Vec::new();
        stream.extend_from_slice(&header(STDOUT, 5));
        stream.extend_from_slice(b"hello");
        stream.extend_from_slice(&resize_frame(&libc::winsize {
            ws_row: 40,
            ws_col: 100,
            ws_xpixel: 0,
            ws_ypixel: 0,
        }));
        stream.extend_from_slice(&header(STDERR, 2));
        stream.extend_from_slice(b"e!");
        for cut in 0..stream.len() {
            let mut r = FrameReader::default();
            let mut out = Vec::new();
            let mut sizes = Vec::new();
            for part in [&stream[..cut], &stream[cut..]] {
                r.feed(part, &mut |f| match f {
                    Frame::Data(k, d) => out.push((k, d.to_vec())),
                    Frame::Resize(ws) => sizes.push((ws.ws_row, ws.ws_col)),
                });
            }
            let joined: Vec<u8> = out
                .iter()
                .filter(|(k, _)| *k == STDOUT)
                .flat_map(|(_, d)| d.clone())
                .collect();
            assert_eq!(joined, b"hello");
            assert_eq!(sizes, [(40, 100)]);
            assert!(out.iter().any(|(k, d)| *k == STDERR && d.ends_with(b"!")));
        }
    }
}
