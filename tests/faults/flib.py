"""Helpers for the load and fault tests: servers under resource limits, process figures read
from /proc, a latency probe in its own process, and percentiles.

Everything talks to 127.0.0.1 only, and every loop is bounded in time.
CHOPIN_BIN is the release binary (default build/chopin), CHOPIN_ASAN_BIN the ASan+UBSan one
(default build/debug/chopin).

CHOPIN_TEST_TLS=1 runs the suites over HTTPS, as it does for the integration suites (lib.py):
every server listens with TLS only on its `port`, and the clients here (connect(), wrap(), the
probe) speak TLS. Cases that mean nothing over TLS are registered with @plain_case and left out.
"""
import multiprocessing
import os
import resource
import socket
import ssl
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

import lib  # noqa: E402
from lib import Failure, Server, case, check, eq, run  # noqa: E402,F401

ROOT = lib.ROOT
BIN = os.environ.get("CHOPIN_BIN", os.path.join(ROOT, "build", "chopin"))
ASAN_BIN = os.environ.get("CHOPIN_ASAN_BIN", os.path.join(ROOT, "build", "debug", "chopin"))
CLK_TCK = os.sysconf("SC_CLK_TCK")
TLS = lib.TLS
# What a non-blocking socket raises when it cannot move data now, plain or TLS.
WOULD_BLOCK = (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError)

_tls_ctx = None


def plain_case(fn):
    """A case registered only without CHOPIN_TEST_TLS: the reason is beside each use."""
    return fn if TLS else case(fn)


def wrap(sock, handshake=True):
    """Over TLS, sock (connected) in a client TLS session for the development certificate;
    handshake=False leaves the handshake to the first read, write or do_handshake(). Plain:
    sock itself."""
    global _tls_ctx
    if not TLS:
        return sock
    if _tls_ctx is None:
        _tls_ctx = lib.tls_client_context()
    return _tls_ctx.wrap_socket(sock, server_hostname="localhost",
                                do_handshake_on_connect=handshake)


def connect(port, timeout=5):
    """A blocking client connection to the server under test (TLS in TLS mode)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return wrap(sock)


def client_hello():
    """The bytes a TLS client sends first (its ClientHello), made without a socket."""
    ctx = lib.tls_client_context()
    bio_in, bio_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(bio_in, bio_out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return bio_out.read()


def raise_own_nofile():
    """The client side needs as many descriptors as the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class LimitedServer(Server):
    """lib.Server running a chosen binary, optionally under an RLIMIT_NOFILE (soft, hard)."""

    def __init__(self, binary=BIN, nofile=None, **kw):
        super().__init__(**kw)
        self.binary = binary
        self.nofile = nofile
        if "debug" in binary:
            # A small quarantine keeps ASan's own memory from hiding the server's in RSS.
            self.env.setdefault("ASAN_OPTIONS", "")
            self.env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:quarantine_size_mb=16"
        if nofile:
            self.preexec = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, nofile)

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def rss_kib(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def cpu_seconds(self):
        with open("/proc/%d/stat" % self.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime

    def fds(self):
        return len(os.listdir("/proc/%d/fd" % self.pid))

    def sanitizer_reports(self):
        err = self.stderr()
        return sum(err.count(m) for m in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                                            "runtime error:", "WARNING: ThreadSanitizer"))


def percentile(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    k = min(len(v) - 1, max(0, int(round(p / 100.0 * (len(v) - 1)))))
    return v[k]


def http_get(path, host="x"):
    return ("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, host)).encode()


def read_one(sock, buf):
    """Reads one response with a Content-Length body; returns (status, body, rest)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("closed")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    status = int(head[9:12])
    n = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            n = int(line[15:])
    while len(rest) < n:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("closed in body")
        rest += chunk
    return status, rest[:n], rest[n:]


def _probe(port, duration, paths, fresh_every, out):
    """Sequential requests on a keep-alive connection, a fresh connection every
    `fresh_every` requests; reports latencies (seconds) and error strings."""
    lat, errors = [], []
    end = time.time() + duration
    sock, buf, i = None, b"", 0
    while time.time() < end:
        path = paths[i % len(paths)]
        t0 = time.perf_counter()
        try:
            if sock is None or (fresh_every and i % fresh_every == 0):
                if sock:
                    sock.close()
                sock = connect(port)
                buf = b""
            sock.sendall(http_get(path))
            status, _, buf = read_one(sock, buf)
            lat.append(time.perf_counter() - t0)
            if status != 200:
                errors.append("status %d for %s" % (status, path))
        except (OSError, EOFError, ValueError) as e:
            errors.append("%s: %r" % (path, e))
            sock = None
            time.sleep(0.01)
        i += 1
        time.sleep(0.002)
    if sock:
        sock.close()
    out.put((lat, errors[:20], len(errors)))


class Probe:
    """A latency probe in a separate process, so the test's own loops (and the GIL) do not
    inflate what it measures."""

    def __init__(self, port, duration, paths=("/plaintext", "/json"), fresh_every=10):
        self.q = multiprocessing.Queue()
        self.p = multiprocessing.Process(target=_probe,
                                         args=(port, duration, list(paths), fresh_every, self.q))
        self.p.start()

    def result(self, timeout=60):
        lat, errors, nerr = self.q.get(timeout=timeout)
        self.p.join(5)
        return lat, errors, nerr


def report_latency(name, lat, nerr):
    p50, p99 = percentile(lat, 50) * 1000, percentile(lat, 99) * 1000
    print("  figure %s: %d requests, p50 %.2f ms, p99 %.2f ms, max %.2f ms, %d errors"
          % (name, len(lat), p50, p99, max(lat) * 1000 if lat else 0, nerr), flush=True)
    return p99


def tcp_state(sock):
    """The kernel's TCP state of a socket (1 ESTABLISHED, 7 CLOSE, 8 CLOSE_WAIT...)."""
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
