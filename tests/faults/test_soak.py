"""Soak: SOAK_SECONDS (default 60; 600 when run by hand for the release checklist) of steady
load at 256 keep-alive connections against the ASan+UBSan build, in both modes: every
response correct, no sanitizer report, and RSS flat after warm-up.

SOAK_PATHS lists what the load requests, each answered 200: by default the two TechEmpower
basics, the notes API (list and one note, created before the load) and the database endpoints
(on the test server's SQLite database). Set SOAK_PATHS in the environment to change it.
"""
import os
import selectors
import socket
import time

from flib import ASAN_BIN, LimitedServer, check, eq, plain_case, run

SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "60"))
DEFAULT_PATHS = "/plaintext,/json,/api/notes?limit=5,/api/notes/1,/db,/queries?queries=5"
SOAK_PATHS = [p for p in os.environ.get("SOAK_PATHS", DEFAULT_PATHS).split(",") if p]
CONNECTIONS = 256
RECONNECT_EVERY = 200  # requests per connection before it is replaced: accept/close churn


class Client:
    __slots__ = ("sock", "buf", "sent_at", "count", "path")

    def __init__(self, port, sel):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.connect(("127.0.0.1", port))
        self.sock.setblocking(False)
        self.buf = b""
        self.count = 0
        self.path = None
        sel.register(self.sock, selectors.EVENT_READ, self)


def create_note(s):
    c = s.connect()
    r = c.request("POST", "/api/notes", headers={"Content-Type": "application/json"},
                  body='{"title":"soak","body":"a note read during the soak"}')
    eq(r.status, 201, "note for the soak")
    c.close()


def soak(s, seconds, label):
    if any(p.startswith("/api/notes/") for p in SOAK_PATHS):
        create_note(s)
    sel = selectors.DefaultSelector()
    clients = [Client(s.port, sel) for _ in range(CONNECTIONS)]
    reqs = {p: ("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % p).encode() for p in SOAK_PATHS}
    total, errors, samples, reconnects = 0, [], [], 0
    t0 = time.time()
    next_sample = t0

    def send(cl):
        cl.path = SOAK_PATHS[(cl.count + id(cl)) % len(SOAK_PATHS)]
        cl.sock.send(reqs[cl.path])

    for cl in clients:
        send(cl)
    while True:
        now = time.time()
        if now >= next_sample:
            samples.append((now - t0, s.rss_kib()))
            next_sample += max(1.0, seconds / 30)
        if now - t0 >= seconds:
            break
        for key, _ in sel.select(timeout=1):
            cl = key.data
            try:
                chunk = cl.sock.recv(65536)
            except OSError as e:
                chunk = b""
                errors.append("recv: %r" % e)
            if not chunk:
                errors.append("connection closed by the server")
                sel.unregister(cl.sock)
                cl.sock.close()
                clients.remove(cl)
                nc = Client(s.port, sel)
                clients.append(nc)
                send(nc)
                continue
            cl.buf += chunk
            end = cl.buf.find(b"\r\n\r\n")
            if end < 0:
                continue
            head = cl.buf[:end]
            i = head.lower().find(b"content-length:")
            n = int(head[i + 15:head.find(b"\r\n", i) if head.find(b"\r\n", i) > 0 else None]) \
                if i >= 0 else 0
            if len(cl.buf) < end + 4 + n:
                continue
            status = int(head[9:12])
            if status != 200:
                errors.append("status %d for %s" % (status, cl.path))
            cl.buf = cl.buf[end + 4 + n:]
            total += 1
            cl.count += 1
            if cl.count % RECONNECT_EVERY == 0:
                sel.unregister(cl.sock)
                cl.sock.close()
                clients.remove(cl)
                cl = Client(s.port, sel)
                clients.append(cl)
                reconnects += 1
            send(cl)
    for cl in clients:
        cl.sock.close()
    sel.close()
    dt = time.time() - t0
    # Flat after warm-up: compare the first sample after 25% of the run with the last one.
    warm = [r for t, r in samples if t >= seconds * 0.25] or [samples[-1][1]]
    growth = warm[-1] - warm[0]
    reports = s.sanitizer_reports()
    print("  figure soak %s: %.0f s, %d connections, %d requests (%.0f/s) over %s, %d "
          "reconnects, %d errors, %d sanitizer reports; RSS after warm-up %d -> %d KiB (%+d KiB), "
          "peak %d KiB" % (label, dt, CONNECTIONS, total, total / dt, ",".join(SOAK_PATHS),
                           reconnects, len(errors), reports, warm[0], warm[-1], growth,
                           max(r for _, r in samples)), flush=True)
    eq(errors[:5], [], "errors (%d in all)" % len(errors))
    eq(reports, 0, "sanitizer reports")
    check(total > seconds * 100, "only %d requests in %.0f s" % (total, dt))
    # Flat: growth within 5% of the warm RSS or 4 MiB, whichever is larger (ASan's allocator
    # and quarantine move by a few MiB on their own).
    check(growth <= max(4096, warm[0] * 0.05), "RSS grew %d KiB after warm-up" % growth)


# The soak is plain HTTP only: under CHOPIN_TEST_TLS=1 it registers no case (its clients speak
# plain HTTP; over TLS the resets, slow-client and flood suites run instead).
@plain_case
def soak_standard_mode_asan():
    with LimitedServer(binary=ASAN_BIN, mode="standard", workers=2) as s:
        soak(s, SOAK_SECONDS, "standard")


@plain_case
def soak_performance_mode_asan():
    with LimitedServer(binary=ASAN_BIN, mode="performance", workers=2) as s:
        soak(s, max(10.0, SOAK_SECONDS / 3), "performance")


if __name__ == "__main__":
    run("faults/soak")
