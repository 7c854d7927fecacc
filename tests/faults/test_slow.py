"""Slow clients: slowloris (slow heads), slow bodies and slow readers, each against normal
clients whose latency must not suffer.

With CHOPIN_TEST_TLS=1 every client speaks HTTPS: a slow client completes its handshake at
full speed and then drips its head or body in TLS records (a stalled handshake is
tests/integration/test_tls.py's case), and slow readers leave encrypted records unread."""
import selectors
import socket
import time

from flib import (BIN, TLS, WOULD_BLOCK, LimitedServer, Probe, case, check, eq,
                  raise_own_nofile, report_latency, run, tcp_state, wrap)

HEAD_TIMEOUT = 3.0
# Slowloris clients at once. Over TLS fewer: this one Python loop also runs every client's
# handshake, and with 1,000 of them cut and replaced at once it fell seconds behind, which
# then showed up as connections living too long (a measurement error, not the server's).
SLOWLORIS = 400 if TLS else 1000
BODY_TIMEOUT = 3.0
SEND_TIMEOUT = 3.0


class Slow:
    """One slow connection: a first write, then one byte every `interval` seconds."""

    def __init__(self, port, first, drip, interval, offset):
        self.sock = socket.socket()
        self.handshaking = TLS
        if TLS:
            # Loopback connects at once; the handshake then advances in slow_crowd's loop.
            self.sock.settimeout(5)
            self.sock.connect(("127.0.0.1", port))
            self.sock.setblocking(False)
            self.sock = wrap(self.sock, handshake=False)
        else:
            self.sock.setblocking(False)
            self.sock.connect_ex(("127.0.0.1", port))
        self.pending = first
        self.drip = drip
        self.interval = interval
        self.next_at = time.time() + offset
        self.started = None  # when the first byte left
        self.closed_at = None
        self.failed = False  # its TLS handshake failed: not a slow client at all
        self.got = b""


def slow_crowd(port, n, first, drip, interval, duration, timeout):
    """Keeps `n` slow connections open for `duration` seconds, replacing each one the server
    closes. Returns (lifetimes in seconds from first byte to close, connections never closed
    by the server within `timeout`, 408 responses received, TLS handshakes that failed)."""
    sel = selectors.DefaultSelector()
    lifetimes, stuck, answers, hs_failed = [], 0, 0, 0
    end = time.time() + duration

    def spawn(offset):
        s = Slow(port, first, drip, interval, offset)
        sel.register(s.sock, selectors.EVENT_READ, s)
        return s

    live = [spawn(i * 0.5 / n) for i in range(n)]
    while live:
        now = time.time()
        for s in live:
            if s.handshaking and s.closed_at is None:
                try:
                    s.sock.do_handshake()
                    s.handshaking = False
                    s.next_at = max(s.next_at, time.time())
                except WOULD_BLOCK:
                    continue
                except OSError:
                    hs_failed += 1
                    s.failed = True
                    s.closed_at = time.time()
                    continue
            if s.closed_at is None and not s.handshaking and now >= s.next_at:
                data = s.pending if s.started is None else s.drip[:1]
                try:
                    s.sock.send(data)
                except WOULD_BLOCK:
                    pass
                except OSError:
                    pass  # the server is gone for this one: the read side records it
                if s.started is None:
                    s.started = now
                s.next_at = now + s.interval
        for key, _ in sel.select(timeout=0.05):
            s = key.data
            if s.handshaking or s.closed_at is not None:
                continue  # the handshake step above reads its records
            try:
                chunk = s.sock.recv(4096)
                # A TLS record may hold more than was asked for.
                while chunk and TLS and s.sock.pending():
                    chunk += s.sock.recv(4096)
            except WOULD_BLOCK:
                continue
            except OSError:
                chunk = b""
            if chunk:
                s.got += chunk
                continue
            s.closed_at = time.time()
        still = []
        now = time.time()
        for s in live:
            if s.closed_at is not None:
                sel.unregister(s.sock)
                s.sock.close()
                if not s.failed:
                    lifetimes.append(s.closed_at - (s.started or s.closed_at))
                    answers += s.got.startswith(b"HTTP/1.1 408")
                if now < end:
                    still.append(spawn(0))
            elif (s.started or s.handshaking) and now - (s.started or s.next_at) > timeout:
                stuck += 1
                sel.unregister(s.sock)
                s.sock.close()
            else:
                still.append(s)
        live = still
        if now > end + timeout + 2:
            break
    for s in live:
        stuck += 1
        s.sock.close()
    sel.close()
    return lifetimes, stuck, answers, hs_failed


@case
def slowloris_1000_clients():
    raise_own_nofile()
    env = {"HEAD_TIMEOUT": "%ds" % HEAD_TIMEOUT}
    with LimitedServer(binary=BIN, env=env, workers=2) as s:
        duration = 10
        probe = Probe(s.port, duration + 2)
        lifetimes, stuck, answers, hs_failed = slow_crowd(
            s.port, SLOWLORIS, b"GET /plaintext HTTP/1.1\r\nHost: x\r\n", b"X", 1.0, duration,
            HEAD_TIMEOUT + 3)
        lat, errors, nerr = probe.result()
        p99 = report_latency("slowloris normal clients", lat, nerr)
        longest = max(lifetimes) if lifetimes else 0
        print("  figure %sslowloris: %d slow connections cut, longest lived %.2f s (HEAD_TIMEOUT "
              "%.0f s), %d answered 408, %d never cut, %d failed handshakes"
              % ("tls " if TLS else "", len(lifetimes), longest, HEAD_TIMEOUT, answers, stuck,
                 hs_failed), flush=True)
        eq(nerr, 0, "normal client errors %r" % errors)
        eq(hs_failed, 0, "failed handshakes")
        check(p99 < 100, "p99 %.1f ms under slowloris" % p99)
        eq(stuck, 0, "slow connections never cut")
        check(len(lifetimes) >= SLOWLORIS,
              "only %d slow connections completed" % len(lifetimes))
        check(longest <= HEAD_TIMEOUT + 1, "a slow client lived %.2f s" % longest)
        check(min(lifetimes) >= HEAD_TIMEOUT - 0.3, "a slow client was cut early: %.2f s"
              % min(lifetimes))


@case
def slow_body_cut_at_body_timeout():
    raise_own_nofile()
    env = {"BODY_TIMEOUT": "%ds" % BODY_TIMEOUT, "HEAD_TIMEOUT": "20s"}
    with LimitedServer(binary=BIN, env=env, workers=2) as s:
        probe = Probe(s.port, 8)
        head = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
        lifetimes, stuck, answers, hs_failed = slow_crowd(s.port, 300, head, b"b", 1.0, 4,
                                                          BODY_TIMEOUT + 3)
        lat, errors, nerr = probe.result()
        p99 = report_latency("slow-body normal clients", lat, nerr)
        longest = max(lifetimes) if lifetimes else 0
        print("  figure %sslow body: %d cut, longest lived %.2f s (BODY_TIMEOUT %.0f s), %d "
              "answered 408, %d never cut, %d failed handshakes"
              % ("tls " if TLS else "", len(lifetimes), longest, BODY_TIMEOUT, answers, stuck,
                 hs_failed), flush=True)
        eq(nerr, 0, "normal client errors %r" % errors)
        eq(hs_failed, 0, "failed handshakes")
        check(p99 < 100, "p99 %.1f ms" % p99)
        eq(stuck, 0, "slow bodies never cut")
        check(longest <= BODY_TIMEOUT + 1, "a slow body lived %.2f s" % longest)
        eq(answers, len(lifetimes), "every slow body answered 408")


@case
def slow_readers_capped_and_cut():
    """Clients that pipeline requests and never read: the server stops reading from them at
    MAX_OUTPUT_BUFFER, its RSS stays bounded, and each is cut SEND_TIMEOUT after the last
    byte moved."""
    cap_kib = 256
    n = 20
    env = {"SEND_TIMEOUT": "%ds" % SEND_TIMEOUT, "MAX_OUTPUT_BUFFER": "%dk" % cap_kib}
    with LimitedServer(binary=BIN, env=env, workers=2) as s:
        time.sleep(0.3)
        rss0 = s.rss_kib()
        probe = Probe(s.port, 10)
        req = b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n" * 2000
        socks = []
        for _ in range(n):
            c = socket.socket()
            c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            c.connect(("127.0.0.1", s.port))
            c = wrap(c)  # over TLS, a full handshake before the flood of requests
            c.setblocking(False)
            socks.append({"s": c, "sent": 0, "last": time.time(), "cut": None})
        t0 = time.time()
        peak = rss0
        # Push as fast as the sockets take it: the server's output fills within milliseconds,
        # it stops reading, the kernel buffers fill, and from then on nothing moves until the
        # server cuts the connection. "last" is when this client's data last moved.
        while time.time() - t0 < SEND_TIMEOUT + 8 and any(x["cut"] is None for x in socks):
            for x in socks:
                if x["cut"] is not None:
                    continue
                try:
                    # Over TLS a send that would block is retried with the same bytes, as
                    # OpenSSL requires: req is always the same buffer.
                    while True:
                        x["sent"] += x["s"].send(req)
                        x["last"] = time.time()
                except WOULD_BLOCK:
                    pass
                except OSError:
                    x["cut"] = time.time()
                    continue
                if tcp_state(x["s"]) != 1:  # no longer ESTABLISHED: reset by the server
                    x["cut"] = time.time()
            peak = max(peak, s.rss_kib())
            time.sleep(0.02)
        lat, errors, nerr = probe.result()
        p99 = report_latency("slow-reader normal clients", lat, nerr)
        sent = [x["sent"] for x in socks]
        stalls = [x["cut"] - x["last"] for x in socks if x["cut"] is not None]
        uncut = sum(1 for x in socks if x["cut"] is None)
        growth = peak - rss0
        print("  figure %sslow readers: %d clients pushed %d-%d KiB each before the server "
              "stopped reading; server RSS %d -> peak %d KiB (+%d KiB, %.0f KiB per reader, "
              "output cap %d KiB); cut %.2f-%.2f s after their data last moved (SEND_TIMEOUT "
              "%.0f s), %d never cut" % ("tls " if TLS else "", n, min(sent) // 1024,
                                        max(sent) // 1024, rss0, peak, growth, growth / n,
                                        cap_kib, min(stalls) if stalls else -1,
                                        max(stalls) if stalls else -1, SEND_TIMEOUT, uncut),
              flush=True)
        for x in socks:
            x["s"].close()
        eq(nerr, 0, "normal client errors %r" % errors)
        check(p99 < 100, "p99 %.1f ms" % p99)
        eq(uncut, 0, "slow readers never cut")
        # Nothing moved for about SEND_TIMEOUT before each cut: the server had stopped
        # reading, and cut the connection on time.
        check(min(stalls) >= SEND_TIMEOUT - 0.5, "cut %.2f s after the last progress"
              % min(stalls))
        check(max(stalls) <= SEND_TIMEOUT + 1.5, "cut %.2f s after the last progress"
              % max(stalls))
        # Output cap plus one read and one response batch per reader, and some slack.
        check(growth < n * (cap_kib + 128) + 8192, "RSS grew by %d KiB" % growth)


if __name__ == "__main__":
    run("faults/slow" + ("-tls" if TLS else ""))
