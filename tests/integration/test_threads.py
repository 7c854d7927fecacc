"""Multi-worker load: two workers in each mode, hundreds of concurrent connections with
pipelines and bodies, connection churn, and a graceful shutdown with requests in flight.

Written for the ThreadSanitizer build (tests/run.sh runs it against build/tsan/chopin and
fails on any "ThreadSanitizer" line in the server's stderr, as lib.Server does at exit), and
run against the release and ASan builds like every integration suite."""
import selectors
import signal
import socket
import threading
import time

from lib import Server, case, check, eq, run

MODES = ("standard", "performance")
GET = b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"
JSON = b"GET /json HTTP/1.1\r\nHost: x\r\n\r\n"
POST = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
CHUNKED = (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
PIPELINE = [GET, JSON, POST, CHUNKED, GET, b"GET /missing HTTP/1.1\r\nHost: x\r\n\r\n"]
EXPECT = [(200, b"Hello, World!"), (200, b'{"message":"Hello, World!"}'), (200, b"hello"),
          (200, b"abcde"), (200, b"Hello, World!"), (404, None)]


def burst(port, nconn, rounds, deadline):
    """nconn connections at once, each sending the whole pipeline `rounds` times and
    checking every response. Returns (responses checked, errors)."""
    sel = selectors.DefaultSelector()
    state = {}
    for _ in range(nconn):
        c = socket.create_connection(("127.0.0.1", port), timeout=10)
        c.setblocking(False)
        state[c] = {"buf": b"", "n": 0, "round": 0}
        sel.register(c, selectors.EVENT_READ)
        c.sendall(b"".join(PIPELINE))
    done, errors = 0, []
    while state and time.time() < deadline:
        for key, _ in sel.select(timeout=0.5):
            c, st = key.fileobj, state[key.fileobj]
            chunk = c.recv(65536)
            if not chunk:
                errors.append("closed after %d responses" % st["n"])
                sel.unregister(c)
                c.close()
                del state[c]
                continue
            st["buf"] += chunk
            while True:
                end = st["buf"].find(b"\r\n\r\n")
                if end < 0:
                    break
                head = st["buf"][:end].decode("latin-1")
                length = 0
                for line in head.split("\r\n")[1:]:
                    k, v = line.split(":", 1)
                    if k.lower() == "content-length":
                        length = int(v)
                if len(st["buf"]) < end + 4 + length:
                    break
                status, body = int(head[9:12]), st["buf"][end + 4:end + 4 + length]
                st["buf"] = st["buf"][end + 4 + length:]
                want = EXPECT[st["n"] % len(EXPECT)]
                if status != want[0] or (want[1] is not None and body != want[1]):
                    errors.append("response %d: %d %r" % (st["n"], status, body[:30]))
                st["n"] += 1
                done += 1
                if st["n"] % len(EXPECT) == 0:
                    st["round"] += 1
                    if st["round"] < rounds:
                        c.sendall(b"".join(PIPELINE))
                    else:
                        sel.unregister(c)
                        c.close()
                        del state[c]
                        break
    for c in state:
        errors.append("unfinished connection")
        c.close()
    sel.close()
    return done, errors


@case
def two_workers_many_connections_pipelined():
    for mode in MODES:
        with Server(mode=mode, workers=2) as s:
            results = []

            def go(i):
                results.append(burst(s.port, 50, 8, time.time() + 60))

            threads = [threading.Thread(target=go, args=(i,)) for i in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(90)
            done = sum(r[0] for r in results)
            errors = [e for r in results for e in r[1]]
            eq(errors[:5], [], mode + " errors")
            eq(done, 4 * 50 * 8 * len(PIPELINE), mode + " responses")


@case
def two_workers_connection_churn():
    for mode in MODES:
        with Server(mode=mode, workers=2) as s:
            errors = []

            def go():
                for _ in range(150):
                    try:
                        c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
                        c.sendall(GET + b"GET /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                        data = b""
                        while True:
                            chunk = c.recv(65536)
                            if not chunk:
                                break
                            data += chunk
                        c.close()
                        if data.count(b"HTTP/1.1 200") != 2:
                            errors.append(data[:60])
                    except OSError as e:
                        errors.append(repr(e))

            threads = [threading.Thread(target=go) for _ in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(90)
            eq(errors[:5], [], mode + " errors")


@case
def two_workers_graceful_shutdown_under_load():
    for mode in MODES:
        s = Server(mode=mode, workers=2, env={"SHUTDOWN_TIMEOUT": "5s"}).start()
        try:
            # Idle keep-alive connections on both workers, and requests half sent.
            idle = [s.connect() for _ in range(20)]
            for c in idle:
                eq(c.request("GET", "/plaintext").status, 200)
            busy = [s.connect() for _ in range(10)]
            for c in busy:
                c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhe")
            stop = threading.Event()
            load_errors = []

            def load():
                while not stop.is_set():
                    try:
                        c = socket.create_connection(("127.0.0.1", s.port), timeout=2)
                        c.sendall(GET)
                        c.recv(4096)
                        c.close()
                    except OSError:
                        pass  # refused once the listener closes: expected
                    except Exception as e:  # noqa: BLE001
                        load_errors.append(repr(e))

            loaders = [threading.Thread(target=load) for _ in range(3)]
            for t in loaders:
                t.start()
            time.sleep(0.5)
            s.proc.send_signal(signal.SIGTERM)
            for c in idle:
                check(c.closed_by_peer(3), mode + ": idle connection not closed at shutdown")
            time.sleep(0.2)
            for c in busy:
                c.send(b"llo")
                r = c.read_response()
                eq((r.status, r.body), (200, b"hello"), mode + " in-flight request")
                eq(r.header("Connection"), "close", mode + " Connection header while draining")
            stop.set()
            for t in loaders:
                t.join(10)
            eq(load_errors, [], mode + " load errors")
            rc = s.proc.wait(10)
            err = s.stderr()
            for marker in ("ThreadSanitizer", "AddressSanitizer", "LeakSanitizer",
                           "runtime error:"):
                check(marker not in err, mode + " sanitizer report:\n" + err[-6000:])
            # A clean drain logs nothing at error level (it once logged "accept: Bad file
            # descriptor" for a listener event left in the batch that closed the socket).
            errors = [line for line in err.splitlines() if "Z error " in line]
            eq(errors, [], mode + " error lines in the log")
            eq(rc, 0, mode + " exit status")
        finally:
            s.stop()


if __name__ == "__main__":
    run("integration/threads")
