"""Abrupt resets (RST through SO_LINGER 0) over HTTPS, against the ASan+UBSan build: in the
middle of the handshake, in the middle of a pipeline, after part of the responses, and with
the server's encrypted output piling up. No crash, no sanitizer report, no leak at exit (TLS
state, certificate generations), and the server's descriptor count back to its baseline."""
import os
import random
import socket
import ssl
import struct
import sys
import threading
import time

from flib import ASAN_BIN, LimitedServer, case, check, eq, http_get, run

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "integration"))
import lib  # noqa: E402

LINGER0 = struct.pack("ii", 1, 0)


def pipeline(rng):
    """1-8 requests mixing GET, HEAD and POST (test_resets.py's mix, smaller bodies)."""
    out = b""
    for _ in range(rng.randint(1, 8)):
        k = rng.randrange(4)
        if k == 0:
            out += http_get("/plaintext")
        elif k == 1:
            out += b"HEAD /json HTTP/1.1\r\nHost: x\r\n\r\n"
        elif k == 2:
            body = b"b" * rng.choice((0, 1, 100, 5000, 70000))
            out += b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body)
            out += body
        else:
            body = b"".join(b"%x\r\n%s\r\n" % (n, b"c" * n) for n in rng.sample(range(1, 3000), 3))
            out += b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            out += body + b"0\r\n\r\n"
    return out


def client_ctx():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def worker(port, seed, iterations, stats, lock):
    rng = random.Random(seed)
    ctx = client_ctx()
    for _ in range(iterations):
        data = pipeline(rng)
        try:
            raw = socket.create_connection(("127.0.0.1", port), timeout=20)
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
            how = rng.randrange(5)
            if how == 0:  # reset in the middle of the handshake
                bio_in, bio_out = ssl.MemoryBIO(), ssl.MemoryBIO()
                obj = ctx.wrap_bio(bio_in, bio_out, server_hostname="localhost")
                try:
                    obj.do_handshake()
                except ssl.SSLWantReadError:
                    pass
                hello = bio_out.read()
                cut = rng.randrange(1, len(hello) + 1) if rng.random() < 0.7 else len(hello)
                raw.sendall(hello[:cut])
                if cut == len(hello) and rng.random() < 0.5:
                    raw.recv(rng.randint(1, 2000))  # part of the server's flight, then RST
                raw.close()
            else:
                if how == 4:
                    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                c = ctx.wrap_socket(raw, server_hostname="localhost")
                if how == 1:  # reset in the middle of sending the pipeline
                    c.sendall(data[:rng.randrange(1, len(data) + 1)])
                elif how == 2:  # reset with all requests sent and nothing read
                    c.sendall(data)
                elif how == 3:  # reset after reading part of the responses
                    c.sendall(data)
                    c.recv(rng.randint(1, 4096))
                else:  # reset with the server's encrypted output piling up, never read
                    big = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n"
                    big += b"e" * 200000
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
def tls_resets_under_asan():
    cert, key = lib.dev_cert()
    port = lib.free_port()
    env = {"TLS_CERT": cert, "TLS_KEY": key, "TLS_PORT": str(port)}
    with LimitedServer(binary=ASAN_BIN, workers=2, env=env) as s:
        time.sleep(0.5)
        fds0 = s.fds()
        stats, lock = {"resets": 0, "errors": []}, threading.Lock()
        per_thread = 100
        threads = [threading.Thread(target=worker, args=(port, i, per_thread, stats, lock))
                   for i in range(8)]
        t0 = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        dt = time.time() - t0
        check(s.alive(), "server died")
        deadline = time.time() + 10
        while s.fds() > fds0 and time.time() < deadline:
            time.sleep(0.1)
        fds1 = s.fds()
        sock = client_ctx().wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5),
                                        server_hostname="localhost")
        r = lib.Conn(sock).request("GET", "/plaintext")
        sock.close()
        reports = s.sanitizer_reports()
        print("  figure tls resets: %d TLS connections reset mid-exchange in %.1f s under ASan, "
              "%d client errors; server descriptors %d before, %d after; %d sanitizer reports"
              % (stats["resets"], dt, len(stats["errors"]), fds0, fds1, reports), flush=True)
        eq(r.status, 200, "service after the resets")
        eq(fds1, fds0, "server descriptors after the resets")
        eq(reports, 0, "sanitizer reports")
        check(stats["resets"] >= 8 * per_thread * 0.95,
              "only %d resets done: %r" % (stats["resets"], stats["errors"][:3]))


if __name__ == "__main__":
    run("faults/tls_resets")
