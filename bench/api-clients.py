#!/usr/bin/env python3
"""Concurrent Engine API clients for bench/api-concurrency.sh.

CLIENTS threads each loop create -> start -> wait -> delete of a
`true` container over the unix socket for SECONDS, counting loops,
errors (any unexpected status, or a wait whose exit code is not 0) and
lost containers (one the server said it created that a later call did
not find). Prints one JSON line: loops, loops/s, errors, lost, latency
percentiles (ms) of a whole loop, and the first few error messages.

    api-clients.py SOCKET IMAGE LABEL CLIENTS SECONDS
Only the standard library: the bench runs where docker-py is not.
"""
import json
import socket
import sys
import threading
import time

SOCK, IMAGE, LABEL = sys.argv[1], sys.argv[2], sys.argv[3]
CLIENTS, SECONDS = int(sys.argv[4]), float(sys.argv[5])
API = "/v1.41"


class Conn:
    """One keep-alive HTTP/1.1 connection, as the docker CLI keeps one."""

    def __init__(self):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(60)
        self.s.connect(SOCK)
        self.buf = b""

    def _fill(self):
        d = self.s.recv(65536)
        if not d:
            raise ConnectionError("server closed the connection")
        self.buf += d

    def _until(self, sep):
        while sep not in self.buf:
            self._fill()
        i = self.buf.index(sep)
        out, self.buf = self.buf[:i], self.buf[i + len(sep):]
        return out

    def _exactly(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        head = f"{method} {API}{path} HTTP/1.1\r\nHost: docker\r\nContent-Length: {len(data)}\r\n"
        if body is not None:
            head += "Content-Type: application/json\r\n"
        self.s.sendall(head.encode() + b"\r\n" + data)
        lines = self._until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:] if ":" in l)}
        if "content-length" in headers:
            payload = self._exactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            payload = b""
            while True:
                n = int(self._until(b"\r\n").split(b";")[0], 16)
                if n == 0:
                    self._until(b"\r\n")
                    break
                payload += self._exactly(n)
                self._exactly(2)
        else:
            payload = b""
        return status, payload


lock = threading.Lock()
stats = {"loops": 0, "errors": 0, "lost": 0, "messages": []}
latencies = []


def failed(what, status, payload, lost=False):
    with lock:
        stats["errors"] += 1
        if lost:
            stats["lost"] += 1
        if len(stats["messages"]) < 5:
            stats["messages"].append(f"{what}: {status} {payload[:200].decode(errors='replace')}")


def client(deadline):
    conn = Conn()
    while time.monotonic() < deadline:
        t0 = time.monotonic()
        try:
            st, p = conn.call("POST", "/containers/create",
                              {"Image": IMAGE, "Cmd": ["true"], "Labels": {LABEL.split("=")[0]: LABEL.split("=")[1]}})
            if st != 201:
                failed("create", st, p)
                continue
            cid = json.loads(p)["Id"]
            st, p = conn.call("POST", f"/containers/{cid}/start")
            if st != 204:
                failed("start", st, p, lost=st == 404)
            st, p = conn.call("POST", f"/containers/{cid}/wait")
            if st != 200 or json.loads(p).get("StatusCode") != 0:
                failed("wait", st, p, lost=st == 404)
            st, p = conn.call("DELETE", f"/containers/{cid}?force=1")
            if st != 204:
                failed("delete", st, p, lost=st == 404)
                continue
        except (OSError, ValueError, KeyError) as e:
            failed("connection", 0, str(e).encode())
            conn = Conn()
            continue
        with lock:
            stats["loops"] += 1
            latencies.append(time.monotonic() - t0)


start = time.monotonic()
deadline = start + SECONDS
threads = [threading.Thread(target=client, args=(deadline,)) for _ in range(CLIENTS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
elapsed = time.monotonic() - start
latencies.sort()
pct = lambda q: round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 1) if latencies else 0
print(json.dumps({
    "loops": stats["loops"],
    "per_second": round(stats["loops"] / elapsed, 1),
    "errors": stats["errors"],
    "lost": stats["lost"],
    "p50_ms": pct(0.5),
    "p99_ms": pct(0.99),
    "messages": stats["messages"],
}))
