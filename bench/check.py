#!/usr/bin/env python3
"""Check a server's answers before the benchmark loads it.

Usage:
  bench/check.py PORT           /plaintext and /json, single and pipelined
  bench/check.py --json PORT    /json only (chopin's standard mode)
  bench/check.py --notes PORT   create a note, then read it back
  bench/check.py --auth PORT    sign the bench account up (or in), then GET /api/auth/me

Exit status: 0 all good, 1 a check failed, 3 (--notes only) the notes API
answers 404, i.e. it does not exist yet. With --notes, the created note's id
is printed alone on the last line of stdout, for the load test to request; with
--auth, an access token (exit status 3 when the auth routes answer 404).

The checks follow TechEmpower's rules for the two tests: status 200, the
exact body, the right Content-Type, Server and Date headers, and 16 requests
written at once answered by 16 responses on a connection that stays open.
The client is a raw socket, not http.client, so that the pipelined requests
really leave in one write and every byte of the answer is ours to inspect.
"""
import json
import socket
import sys

HOST = "127.0.0.1"
TIMEOUT_S = 5
DEPTH = 16
EXPECTED = {
    "/plaintext": ("text/plain", b"Hello, World!"),
    "/json": ("application/json", b'{"message":"Hello, World!"}'),
}


class Failure(Exception):
    pass


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name):
        return self.headers.get(name.lower())


class Reader:
    """Reads HTTP/1.1 responses one after another from one socket."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise Failure("connection closed by the server")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exactly(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def response(self):
        status_line = self._line().decode("latin-1")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise Failure(f"bad status line {status_line!r}")
        headers = {}
        while True:
            line = self._line().decode("latin-1")
            if not line:
                break
            name, sep, value = line.partition(":")
            if not sep:
                raise Failure(f"bad header line {line!r}")
            headers[name.strip().lower()] = value.strip()
        return Response(int(parts[1]), headers, self._body(headers))

    def _body(self, headers):
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = b""
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line():  # trailers, then the blank line
                        pass
                    return body
                body += self._exactly(size)
                self._exactly(2)
        if "content-length" not in headers:
            raise Failure("response has neither Content-Length nor chunked encoding")
        return self._exactly(int(headers["content-length"]))


def request(method, path, body=None, content_type=None):
    head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n"
    if body is not None:
        head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + (body or b"")


def connect(port):
    sock = socket.create_connection((HOST, port), timeout=TIMEOUT_S)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def check_response(path, resp):
    ctype, body = EXPECTED[path]
    if resp.status != 200:
        raise Failure(f"GET {path}: status {resp.status}")
    got_type = resp.header("content-type") or ""
    if got_type.split(";")[0].strip().lower() != ctype:
        raise Failure(f"GET {path}: Content-Type {got_type!r}, want {ctype}")
    if resp.body != body:
        raise Failure(f"GET {path}: body {resp.body!r}, want {body!r}")
    for name in ("date", "server"):
        if not resp.header(name):
            raise Failure(f"GET {path}: no {name.title()} header")


def check_single(port, paths):
    for path in paths:
        with connect(port) as sock:
            sock.sendall(request("GET", path))
            resp = Reader(sock).response()
        check_response(path, resp)
        print(f"ok   GET {path}: 200 {resp.header('content-type')}, "
              f"{len(resp.body)} bytes, Server: {resp.header('server')}")


def check_pipelined(port):
    # All DEPTH requests in a single sendall, then one more after the answers
    # to show the connection survived the batch.
    with connect(port) as sock:
        sock.sendall(request("GET", "/plaintext") * DEPTH)
        reader = Reader(sock)
        for i in range(DEPTH):
            try:
                check_response("/plaintext", reader.response())
            except Failure as e:
                raise Failure(f"pipelined response {i + 1} of {DEPTH}: {e}") from None
        if reader.buf:
            raise Failure(f"{len(reader.buf)} unexpected bytes after {DEPTH} pipelined responses")
        sock.sendall(request("GET", "/json"))
        check_response("/json", reader.response())
    print(f"ok   {DEPTH} pipelined GET /plaintext in one write: {DEPTH} responses, "
          "connection still open")


def check_notes(port):
    note = json.dumps({"title": "t", "body": "b"}).encode()
    with connect(port) as sock:
        sock.sendall(request("POST", "/api/notes", note, "application/json"))
        created = Reader(sock).response()
    if created.status == 404:
        print("skip POST /api/notes: 404, the notes API is not there yet")
        return 3
    if created.status != 201:
        raise Failure(f"POST /api/notes: status {created.status}: {created.body[:200]!r}")
    try:
        note_id = json.loads(created.body)["data"]["id"]
    except (ValueError, KeyError, TypeError):
        raise Failure(f"POST /api/notes: no data.id in {created.body[:200]!r}") from None
    path = f"/api/notes/{note_id}"
    with connect(port) as sock:
        sock.sendall(request("GET", path))
        got = Reader(sock).response()
    if got.status != 200:
        raise Failure(f"GET {path}: status {got.status}")
    if not (got.header("content-type") or "").startswith("application/json"):
        raise Failure(f"GET {path}: Content-Type {got.header('content-type')!r}")
    print(f"ok   POST /api/notes -> 201 id {note_id}; GET {path} -> 200, {len(got.body)} bytes")
    print(note_id)
    return 0


# The account of the auth tests; the login body in bench/http.sh must match.
BENCH_ACCOUNT = {"email": "bench@example.org", "username": "bench", "password": "bench-password-1"}


def check_auth(port):
    body = json.dumps(BENCH_ACCOUNT).encode()
    with connect(port) as sock:
        sock.sendall(request("POST", "/api/auth/signup", body, "application/json"))
        got = Reader(sock).response()
    if got.status == 404:
        print("skip POST /api/auth/signup: 404, no auth routes")
        return 3
    if got.status == 409:  # signed up by an earlier layout on the same database
        body = json.dumps({"login": "bench", "password": BENCH_ACCOUNT["password"]}).encode()
        with connect(port) as sock:
            sock.sendall(request("POST", "/api/auth/login", body, "application/json"))
            got = Reader(sock).response()
    if got.status not in (200, 201):
        raise Failure(f"signup/login: status {got.status}: {got.body[:200]!r}")
    token = json.loads(got.body)["data"]["access_token"]
    with connect(port) as sock:
        sock.sendall(request("GET", "/api/auth/me").replace(
            b"\r\n\r\n", f"\r\nAuthorization: Bearer {token}\r\n\r\n".encode(), 1))
        me = Reader(sock).response()
    if me.status != 200:
        raise Failure(f"GET /api/auth/me: status {me.status}: {me.body[:200]!r}")
    print(f"ok   signed in as bench; GET /api/auth/me -> 200, {len(me.body)} bytes")
    print(token)
    return 0


def main(argv):
    flag = argv[1] if len(argv) == 3 else None
    if len(argv) not in (2, 3) or flag not in (None, "--json", "--notes", "--auth") or not argv[-1].isdigit():
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    port = int(argv[-1])
    try:
        if flag == "--notes":
            return check_notes(port)
        if flag == "--auth":
            return check_auth(port)
        if flag == "--json":
            check_single(port, ["/json"])
            return 0
        check_single(port, list(EXPECTED))
        check_pipelined(port)
        return 0
    except (Failure, OSError) as e:
        print(f"FAIL {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
