"""A small HTTP/1.1 load generator for the drain, restart and cluster tests: N threads, each
with a keep-alive connection that it reopens when the server says Connection: close (or closes
it), exactly as a browser or a balancer's connection pool does.

A request fails when the connection cannot be opened, breaks before a complete response, times
out, or the status is not the expected one. Every completed request's end time is kept so the
caller can find the longest gap without any successful answer."""
import socket
import threading
import time


class Load:
    def __init__(self, host, port, path="/json", threads=8, timeout=5.0, expect=(200,),
                 host_header="localhost"):
        self.host, self.port, self.path = host, port, path
        self.nthreads, self.timeout, self.expect = threads, timeout, expect
        self.req = ("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, host_header)).encode()
        self.ok = 0
        self.failed = 0
        self.errors = {}
        self.done_at = []  # completion times of successful requests
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.threads = []

    def _fail(self, why):
        with self.lock:
            self.failed += 1
            self.errors[why] = self.errors.get(why, 0) + 1

    def _read_response(self, sock, buf):
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                raise EOFError("closed before the response head")
            buf += chunk
        head, rest = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        length, close = 0, False
        for line in lines[1:]:
            k, v = line.split(":", 1)
            k = k.strip().lower()
            if k == "content-length":
                length = int(v)
            elif k == "connection" and v.strip().lower() == "close":
                close = True
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                raise EOFError("closed in the body")
            rest += chunk
        return status, close, rest[length:]

    def _run(self):
        sock, buf = None, b""
        while not self.stop_flag.is_set():
            try:
                if sock is None:
                    sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    buf = b""
                sock.sendall(self.req)
                status, close, buf = self._read_response(sock, buf)
                if status in self.expect:
                    with self.lock:
                        self.ok += 1
                        self.done_at.append(time.monotonic())
                else:
                    self._fail("status %d" % status)
                if close:
                    sock.close()
                    sock = None
            except (OSError, EOFError, ValueError, IndexError) as e:
                self._fail(type(e).__name__)
                if sock is not None:
                    sock.close()
                sock = None
                time.sleep(0.01)
        if sock is not None:
            sock.close()

    def start(self):
        self.t0 = time.monotonic()
        for _ in range(self.nthreads):
            t = threading.Thread(target=self._run, daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join(self.timeout + 2)
        self.t1 = time.monotonic()
        return self

    def longest_gap(self, since=None):
        """The longest time (s) between consecutive successful completions (or from `since`)."""
        times = sorted(self.done_at)
        if since is not None:
            times = [since] + [t for t in times if t >= since]
        gaps = [b - a for a, b in zip(times, times[1:])]
        return max(gaps) if gaps else float("inf")

    def summary(self):
        return "%d ok, %d failed%s, longest gap %.0f ms" % (
            self.ok, self.failed, " %s" % self.errors if self.errors else "",
            1000 * self.longest_gap())
