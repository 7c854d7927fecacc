"""Integration test helpers: start the real binary on a free port, talk raw HTTP/1.1 to it.

Each suite registers cases with @case; run() executes them and prints
"<suite>: N passed, N failed". CHOPIN_BIN selects the binary (default build/chopin).
"""
import os
import signal
import socket
import subprocess
import sys
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("CHOPIN_BIN", os.path.join(ROOT, "build", "chopin"))
SANITIZED = "debug" in BIN
# The test application (tests/apps/test_app.c) built next to the binary under test.
TEST_APP = os.environ.get("CHOPIN_TEST_APP", os.path.join(os.path.dirname(BIN), "test-app"))

# CHOPIN_TEST_TLS=1 runs a suite over HTTPS: every Server gets a development certificate and
# listens with TLS only (TLS_HTTP=off), and Server.connect() hands back a TLS connection.
TLS = os.environ.get("CHOPIN_TEST_TLS") == "1"

_cases = []


def case(fn):
    _cases.append(fn)
    return fn


class Failure(Exception):
    pass


def check(cond, msg="check failed"):
    if not cond:
        raise Failure(msg)


def eq(got, want, what="value"):
    if got != want:
        raise Failure("%s: got %r, want %r" % (what, got, want))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """Runs build/chopin in the foreground; stop() sends SIGTERM and checks a clean exit."""

    def __init__(self, mode="standard", workers=1, env=None, args=None, cwd=None, binary=None):
        self.binary = binary or BIN
        self.port = free_port()
        e = {k: v for k, v in os.environ.items() if not k.startswith(("SERVER_", "DATABASE"))}
        e.update({"SERVER_MODE": mode, "SERVER_PORT": str(self.port), "WORKERS": str(workers),
                  "ENVIRONMENT": "production",
                  # Production requires a signing key for the auth routes the binary mounts.
                  "JWT_SECRET": "integration-tests-secret-0123456789abcdef",
                  # A private database per server, so tests never touch ./chopin.db.
                  "DATABASE_URL": "sqlite::memory:"})
        self.tls = TLS
        if self.tls:
            cert, key = dev_cert()
            e.update({"TLS_CERT": cert, "TLS_KEY": key, "TLS_PORT": str(self.port),
                      "TLS_HTTP": "off", "SERVER_PORT": str(free_port())})
        if env:
            e.update(env)
        e.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        e.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        self.env = e
        self.args = args or []
        self.cwd = cwd or ROOT
        self.proc = None
        self.stderr_path = "/tmp/chopin-test-%d.err" % self.port
        self.preexec = None  # run in the child before exec, e.g. to set resource limits

    def start(self):
        self.err = open(self.stderr_path, "w+b")
        self.proc = subprocess.Popen([self.binary] + self.args, env=self.env, cwd=self.cwd,
                                     stdout=subprocess.DEVNULL, stderr=self.err,
                                     preexec_fn=self.preexec)
        deadline = time.time() + (20 if SANITIZED or "debug" in self.binary else 10)
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise Failure("server exited at start (%d): %s" % (self.proc.returncode, self.stderr()))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise Failure("server did not start listening")

    def stderr(self):
        self.err.flush()
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, timeout=15):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Failure("server did not exit within %ss of SIGTERM" % timeout)
        return rc

    def check_clean_exit(self):
        rc = self.stop()
        err = self.stderr()
        for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:", "ThreadSanitizer"):
            if marker in err:
                raise Failure("sanitizer report:\n" + err[-4000:])
        eq(rc, 0, "exit status")

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.check_clean_exit()
        else:
            try:
                self.stop()
            except Failure:
                pass
        try:
            os.unlink(self.stderr_path)
        except OSError:
            pass
        return False

    def connect(self, timeout=5):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls:
            s = tls_client_context().wrap_socket(s, server_hostname="localhost")
        return Conn(s)


_dev_cert = None


def dev_cert(names=("localhost",), directory=None):
    """A self-signed ECDSA P-256 certificate from scripts/dev-cert.sh: (cert path, key path).
    Without arguments, one shared certificate for the whole run."""
    global _dev_cert
    if directory is None and names == ("localhost",) and _dev_cert:
        return _dev_cert
    import tempfile
    d = directory or tempfile.mkdtemp(prefix="chopin-cert-")
    subprocess.run([os.path.join(ROOT, "scripts", "dev-cert.sh"), d] + list(names), check=True,
                   stdout=subprocess.DEVNULL)
    paths = (os.path.join(d, "cert.pem"), os.path.join(d, "key.pem"))
    if directory is None and names == ("localhost",):
        _dev_cert = paths
    return paths


def tls_client_context():
    """A client context for the development certificate: no verification, HTTP/1.1 by ALPN."""
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


class Response:
    def __init__(self, status, reason, headers, body, version):
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value)
        self.body = body
        self.version = version

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        import json
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<%d %r>" % (self.status, self.body[:80])


class Conn:
    """A client connection with its own read buffer, so pipelined responses can be read one
    by one."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_response(self, head=False):
        line = self._line()
        parts = line.decode("latin-1").split(" ", 2)
        version, status = parts[0], int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        headers = []
        while True:
            line = self._line()
            if not line:
                break
            k, v = line.decode("latin-1").split(":", 1)
            headers.append((k, v.strip()))
        resp = Response(status, reason, headers, b"", version)
        if status == 100:
            return resp
        if head or status in (204, 304):
            return resp
        cl = resp.header("Content-Length")
        if cl is not None:
            resp.body = self._take(int(cl))
        elif (resp.header("Transfer-Encoding") or "").lower() == "chunked":
            body = b""
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line():
                        pass
                    break
                body += self._take(size)
                self._take(2)
            resp.body = body
        return resp

    def request(self, method, path, headers=None, body=None, head=None):
        h = {"Host": "localhost"}
        if headers:
            h.update(headers)
        if body is not None:
            if isinstance(body, str):
                body = body.encode("utf-8")
            h.setdefault("Content-Length", str(len(body)))
        req = "%s %s HTTP/1.1\r\n" % (method, path)
        req += "".join("%s: %s\r\n" % (k, v) for k, v in h.items()) + "\r\n"
        self.send(req.encode("latin-1") + (body or b""))
        return self.read_response(head=(method == "HEAD") if head is None else head)

    def closed_by_peer(self, timeout=3):
        """True if the server closes the connection (EOF or reset) within `timeout`, once any
        bytes still buffered are consumed."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False
        except OSError:  # over TLS: an alert or EOF without close_notify
            return True

    def close(self):
        self.sock.close()


def get(server, path, **kw):
    c = server.connect()
    try:
        return c.request("GET", path, **kw)
    finally:
        c.close()


def run(name):
    only = sys.argv[1:]
    passed = failed = 0
    for fn in _cases:
        if only and not any(o in fn.__name__ for o in only):
            continue
        t0 = time.time()
        try:
            fn()
            passed += 1
            print("  ok   %s (%.1fs)" % (fn.__name__, time.time() - t0), flush=True)
        except Exception as e:  # noqa: BLE001 - every failure is reported, none hidden
            failed += 1
            print("  FAIL %s: %s" % (fn.__name__, e), flush=True)
            if not isinstance(e, Failure):
                traceback.print_exc()
    print("%s: %d passed, %d failed" % (name, passed, failed), flush=True)
    sys.exit(1 if failed else 0)
