#!/usr/bin/env python3
"""Where `docker ps -a` spends its time: the server's share and the CLI's.

Called by bench/api.sh once both engines hold the same N containers.
Prints three medians per engine, in ms, one `name value` per line:

  api.<engine>     GET /containers/json?all=1 alone (a fresh connection
                   per request, as the CLI makes), the server's cost
  floor.<engine>   the same docker CLI against a replay server that
                   answers that engine's recorded reply at once: what
                   `docker ps -a` costs with a server that takes no time

With a server that takes no time, docker ps can be no faster than its
floor; so docker-time / floor is the best ratio any engine could reach
through this client.

usage: api-ps-floor.py DOCKER RUNS ENGINE=SOCKET...
"""

import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def get(sock, path):
    c = UnixHTTPConnection(sock)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    headers = dict(r.getheaders())
    c.close()
    return r.status, headers, body


def api_version(sock):
    _, headers, _ = get(sock, "/_ping")
    return headers.get("Api-Version", "1.41")


def time_api(sock, runs):
    v = api_version(sock)
    path = f"/v{v}/containers/json?all=1"
    get(sock, path)
    t = []
    for _ in range(runs):
        s = time.perf_counter()
        status, _, _ = get(sock, path)
        t.append((time.perf_counter() - s) * 1000)
        assert status == 200, status
    return statistics.median(t)


class UnixHTTPServer(HTTPServer):
    address_family = socket.AF_UNIX

    def server_bind(self):
        self.socket.bind(self.server_address)

    def get_request(self):
        req, _ = self.socket.accept()
        return req, ("local", 0)


def replay_server(path, version, reply):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def answer(self, body):
            self.send_response(200)
            self.send_header("Api-Version", version)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self):
            self.answer(b"OK")

        def do_GET(self):
            if self.path.endswith("/_ping"):
                self.answer(b"OK")
            elif "/containers/json" in self.path:
                self.answer(reply)
            else:
                self.send_error(404)

    server = UnixHTTPServer(path, Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def time_cli(docker, host, runs):
    env = dict(os.environ, DOCKER_HOST=host)
    cmd = [docker, "ps", "-a"]
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    t = []
    for _ in range(runs):
        s = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
        t.append((time.perf_counter() - s) * 1000)
    return statistics.median(t)


def main():
    docker, runs = sys.argv[1], int(sys.argv[2])
    engines = [a.split("=", 1) for a in sys.argv[3:]]
    work = tempfile.mkdtemp(prefix="wharf-ps-floor.")
    try:
        for name, sock in engines:
            print(f"api.{name} {time_api(sock, runs):.2f}")
        for name, sock in engines:
            v = api_version(sock)
            _, _, reply = get(sock, f"/v{v}/containers/json?all=1")
            path = os.path.join(work, f"{name}.sock")
            server = replay_server(path, v, reply)
            try:
                print(f"floor.{name} {time_cli(docker, 'unix://' + path, runs):.2f}")
            finally:
                server.shutdown()
                server.server_close()
                os.unlink(path)
    finally:
        os.rmdir(work)


if __name__ == "__main__":
    main()
