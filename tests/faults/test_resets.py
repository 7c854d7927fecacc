"""Abrupt resets (RST through SO_LINGER 0) at every stage of pipelined exchanges, against the
ASan+UBSan build: no crash, no sanitizer report, no leak at exit, and the server's descriptor
count back to its baseline.

With CHOPIN_TEST_TLS=1 the same exchanges run over HTTPS (the output piling up is then
encrypted records), plus resets in the middle of the handshake; TLS state and certificate
generations must not leak either. Fewer connections there: each costs a handshake under ASan."""
import random
import socket
import ssl
import struct
import threading
import time

from flib import (ASAN_BIN, TLS, LimitedServer, case, check, client_hello, eq, http_get, run,
                  wrap)

LINGER0 = struct.pack("ii", 1, 0)
THREADS = 8
PER_THREAD = 250 if TLS else 1000


def pipeline(rng):
    """A pipeline of 1-12 requests mixing GET, HEAD and POST with both body framings."""
    out = b""
    for _ in range(rng.randint(1, 12)):
        k = rng.randrange(6)
        if k == 0:
            out += http_get("/plaintext")
        elif k == 1:
            out += b"HEAD /json HTTP/1.1\r\nHost: x\r\n\r\n"
        elif k == 2:
            body = b"b" * rng.choice((0, 1, 100, 5000, 70000))
            out += b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        elif k == 3:
            body = b"".join(b"%x\r\n%s\r\n" % (n, b"c" * n) for n in rng.sample(range(1, 3000), 3))
            out += b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body
            out += b"0\r\n\r\n"
        elif k == 4:
            out += b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc"
        else:
            out += http_get("/missing")
    return out


def reset_in_handshake(raw, rng):
    """Part or all of a ClientHello, perhaps part of the server's answer, then the reset."""
    hello = client_hello()
    cut = rng.randrange(1, len(hello) + 1) if rng.random() < 0.7 else len(hello)
    raw.sendall(hello[:cut])
    if cut == len(hello) and rng.random() < 0.5:
        raw.recv(rng.randint(1, 2000))
    raw.close()


def worker(port, seed, iterations, stats, lock):
    rng = random.Random(seed)
    for _ in range(iterations):
        data = pipeline(rng)
        try:
            # A handshake under ASan on a loaded machine may take seconds.
            c = socket.create_connection(("127.0.0.1", port), timeout=20 if TLS else 5)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
            how = rng.randrange(5 if TLS else 4)
            if how == 4:
                reset_in_handshake(c, rng)
                with lock:
                    stats["resets"] += 1
                continue
            if how == 3:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            c = wrap(c)
            if how == 0:  # reset in the middle of sending the pipeline
                c.sendall(data[:rng.randrange(1, len(data) + 1)])
            elif how == 1:  # reset with all requests sent and nothing read
                c.sendall(data)
            elif how == 2:  # reset after reading part of the responses
                c.sendall(data)
                c.recv(rng.randint(1, 4096))
            else:  # reset with the server's output piling up: large echoes, never read
                big = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n" + b"e" * 200000
                c.settimeout(0.5)
                try:
                    c.sendall(big * 3)
                except (socket.timeout, ssl.SSLError):
                    pass
            if rng.random() < 0.3:
                time.sleep(rng.random() * 0.01)
            c.close()
            with lock:
                stats["resets"] += 1
        except OSError as e:
            with lock:
                stats["errors"].append(repr(e))


@case
def resets_mid_pipeline_under_asan():
    with LimitedServer(binary=ASAN_BIN, workers=2) as s:
        time.sleep(0.5)
        fds0 = s.fds()
        stats, lock = {"resets": 0, "errors": []}, threading.Lock()
        threads = [threading.Thread(target=worker, args=(s.port, i, PER_THREAD, stats, lock))
                   for i in range(THREADS)]
        t0 = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join(300 if TLS else 120)
        dt = time.time() - t0
        check(s.alive(), "server died")
        # Descriptors come back once the server has seen every reset.
        deadline = time.time() + (10 if TLS else 5)
        while s.fds() > fds0 and time.time() < deadline:
            time.sleep(0.1)
        fds1 = s.fds()
        c = s.connect()
        r = c.request("GET", "/plaintext")
        c.close()
        reports = s.sanitizer_reports()
        print("  figure %sresets: %d %sconnections reset mid-exchange in %.1f s under ASan, %d "
              "client errors; server descriptors %d before, %d after; %d sanitizer reports"
              % ("tls " if TLS else "", stats["resets"], "TLS " if TLS else "", dt,
                 len(stats["errors"]), fds0, fds1, reports), flush=True)
        eq(r.status, 200, "service after the resets")
        eq(fds1, fds0, "server descriptors after the resets")
        eq(reports, 0, "sanitizer reports")
        # A few client-side timeouts are the loaded machine's; more is the server's doing.
        want = THREADS * PER_THREAD * (0.95 if TLS else 0.9875)
        check(stats["resets"] >= want, "only %d resets done: %r" % (stats["resets"],
                                                                    stats["errors"][:3]))
    # Leaving the with block stops the server and fails on any sanitizer or leak report.


if __name__ == "__main__":
    run("faults/resets" + ("-tls" if TLS else ""))
