"""The HTTP/1.1 engine over real sockets: responses, keep-alive, pipelining, framing errors,
limits, timeouts, Date, and graceful shutdown."""
import email.utils
import os
import re
import signal
import socket
import subprocess
import time

from lib import BIN, ROOT, Server, case, check, eq, free_port, get, run

MODES = ("standard", "performance")
DATE_RE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$")


@case
def plaintext_and_json_exact():
    for mode in MODES:
        with Server(mode=mode) as s:
            r = get(s, "/plaintext")
            eq(r.status, 200, mode + " status")
            eq(r.body, b"Hello, World!", mode + " body")
            eq(r.header("Content-Type"), "text/plain", mode + " content-type")
            eq(r.header("Content-Length"), "13", mode + " content-length")
            eq(r.header("Server"), "chopin", mode + " server")
            check(DATE_RE.match(r.header("Date") or ""), "Date format: %r" % r.header("Date"))
            r = get(s, "/json")
            eq(r.status, 200)
            eq(r.body, b'{"message":"Hello, World!"}', mode + " json body")
            eq(r.header("Content-Type"), "application/json")
            eq(r.header("Content-Length"), "27")


@case
def date_is_current_and_refreshes():
    with Server() as s:
        r1 = get(s, "/plaintext")
        t = email.utils.parsedate_to_datetime(r1.header("Date")).timestamp()
        check(abs(t - time.time()) <= 1.5, "Date %s is not now" % r1.header("Date"))
        time.sleep(2.2)
        r2 = get(s, "/plaintext")
        check(r1.header("Date") != r2.header("Date"), "Date did not change in 2.2 s")


@case
def keep_alive_many_requests():
    for mode in MODES:
        with Server(mode=mode) as s:
            c = s.connect()
            for i in range(50):
                r = c.request("GET", "/plaintext" if i % 2 else "/json")
                eq(r.status, 200)
                eq(r.header("Connection"), None, "no Connection header on keep-alive 1.1")
            c.close()


def pipeline(s, n):
    paths = ["/plaintext", "/json", "/nope"]
    c = s.connect()
    req = "".join("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % paths[i % 3] for i in range(n))
    c.send(req)
    for i in range(n):
        r = c.read_response()
        want = {0: (200, b"Hello, World!"), 1: (200, b'{"message":"Hello, World!"}'), 2: (404, None)}[i % 3]
        eq(r.status, want[0], "response %d status" % i)
        if want[1] is not None:
            eq(r.body, want[1], "response %d body" % i)
    c.close()


@case
def pipelines_16_and_100_in_order():
    for mode in MODES:
        with Server(mode=mode) as s:
            pipeline(s, 16)
            pipeline(s, 100)
            pipeline(s, 1000)


@case
def pipeline_mixing_get_head_post():
    with Server() as s:
        c = s.connect()
        c.send("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"
               "HEAD /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"
               "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
               "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
               "GET /json HTTP/1.1\r\nHost: x\r\n\r\n")
        eq(c.read_response().body, b"Hello, World!")
        r = c.read_response(head=True)
        eq(r.header("Content-Length"), "13", "HEAD content-length")
        eq(c.read_response().body, b"hello")
        eq(c.read_response().body, b"abcde")
        eq(c.read_response().body, b'{"message":"Hello, World!"}')
        c.close()


@case
def head_sends_headers_only():
    for mode in MODES:
        with Server(mode=mode) as s:
            c = s.connect()
            r = c.request("HEAD", "/json")
            eq(r.status, 200)
            eq(r.header("Content-Length"), "27")
            r = c.request("GET", "/plaintext")  # the next response starts right after
            eq(r.body, b"Hello, World!")
            c.close()


@case
def connection_close_honoured():
    for mode in MODES:
        with Server(mode=mode) as s:
            c = s.connect()
            r = c.request("GET", "/plaintext", headers={"Connection": "close"})
            eq(r.header("Connection"), "close")
            check(c.closed_by_peer(), "server kept the connection open")


@case
def close_in_middle_of_pipeline():
    with Server() as s:
        c = s.connect()
        c.send("GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"
               "GET /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
               "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
        eq(c.read_response().status, 200)
        r = c.read_response()
        eq(r.body, b'{"message":"Hello, World!"}')
        check(c.closed_by_peer(), "connection stayed open")
        eq(c.buf, b"", "nothing after the Connection: close response")


@case
def http10_with_and_without_keep_alive():
    for mode in MODES:
        with Server(mode=mode) as s:
            c = s.connect()
            c.send("GET /plaintext HTTP/1.0\r\n\r\n")
            r = c.read_response()
            eq(r.status, 200)
            eq(r.body, b"Hello, World!")
            check(c.closed_by_peer(), "1.0 without keep-alive must close")
            c = s.connect()
            c.send("GET /plaintext HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            r = c.read_response()
            eq(r.header("Connection"), "keep-alive")
            c.send("GET /json HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            eq(c.read_response().status, 200)
            check(not c.closed_by_peer(0.3), "1.0 keep-alive connection was closed")
            c.close()


ERRORS = [
    # (request bytes, status)
    (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400),
    (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
    (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400),
    (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello", 400),
    (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
    (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0x5\r\n\r\nhello", 400),
    (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\nhello", 400),
    (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400),
    (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 184467440737095516160\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX: a\x1bb\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n11111111111111111\r\n", 400),
    (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n", 413),
    (b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n", 501),
    (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
    (b"GET /\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(120)) + b"\r\n", 431),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 9000 + b"\r\n\r\n", 431),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
]


@case
def framing_errors_answer_then_close():
    for mode in MODES:
        with Server(mode=mode) as s:
            for raw, status in ERRORS:
                c = s.connect()
                # A valid request pipelined after the bad one must not be answered.
                c.send(raw + b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
                r = c.read_response()
                eq(r.status, status, "status for %r" % raw[:60])
                eq(r.header("Connection"), "close", "Connection header for %r" % raw[:60])
                check(c.closed_by_peer(), "not closed after %r" % raw[:60])
                check(b"HTTP/1.1" not in c.buf, "answered a request after an error: %r" % raw[:60])
                c.close()
            # Other connections are not disturbed.
            eq(get(s, "/plaintext").status, 200)


@case
def request_split_at_every_byte():
    req = (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nT: v\r\n\r\n")
    with Server() as s:
        c = s.connect()
        for i in range(len(req)):
            c.send(req[i:i + 1])
            time.sleep(0.002)
        r = c.read_response()
        eq(r.status, 200)
        eq(r.body, b"Wikipedia")
        c.close()


@case
def expect_100_continue():
    with Server() as s:
        c = s.connect()
        c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        r = c.read_response()
        eq(r.status, 100, "interim response")
        c.send("hello")
        r = c.read_response()
        eq(r.status, 200)
        eq(r.body, b"hello")
        # Over the limit: 413 at once, no 100.
        c = s.connect()
        c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\nExpect: 100-continue\r\n\r\n")
        eq(c.read_response().status, 413)


@case
def large_body_up_to_limit():
    body = bytes(range(256)) * 4096  # exactly 1 MiB
    with Server() as s:
        c = s.connect(timeout=20)
        r = c.request("POST", "/echo", body=body)
        eq(r.status, 200)
        check(r.body == body, "1 MiB body echoed intact")
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 70000]), body[i:i + 70000])
                          for i in range(0, len(body), 70000))
        c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n")
        r = c.read_response()
        check(r.body == body, "1 MiB chunked body echoed intact")
        c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks +
               b"1\r\nx\r\n0\r\n\r\n")
        eq(c.read_response().status, 413, "chunked body over 1 MiB")


@case
def configured_limits():
    env = {"MAX_HEAD_SIZE": "1k", "MAX_HEADERS": "5", "MAX_BODY_SIZE": "10"}
    with Server(env=env) as s:
        eq(get(s, "/plaintext", headers={"A": "1", "B": "2"}).status, 200)
        eq(get(s, "/plaintext", headers={"A": "1", "B": "2", "C": "3", "D": "4", "E": "5"}).status, 431)
        eq(get(s, "/plaintext", headers={"A": "x" * 1100}).status, 431)
        eq(get(s, "/" + "a" * 1100).status, 414)
        c = s.connect()
        eq(c.request("POST", "/echo", body="0123456789").status, 200)
        eq(c.request("POST", "/echo", body="0123456789X").status, 413)


@case
def head_timeout_cuts_slow_clients():
    with Server(env={"HEAD_TIMEOUT": "1s"}) as s:
        c = s.connect()
        t0 = time.time()
        c.send("GET /plaintext HTTP/1.1\r\nHo")
        r = c.read_response()
        eq(r.status, 408)
        check(c.closed_by_peer(), "closed after 408")
        dt = time.time() - t0
        check(0.9 <= dt <= 2.5, "closed after %.2fs, want about 1s" % dt)
        # A slowloris that keeps sending bytes is cut at the same deadline.
        c = s.connect()
        t0 = time.time()
        c.send("GET /plaintext HTTP/1.1\r\n")
        closed = False
        for i in range(40):
            try:
                c.send("X-%d: y\r\n" % i)
            except OSError:
                closed = True
                break
            time.sleep(0.1)
            if c.closed_by_peer(0.01):
                closed = True
                break
        dt = time.time() - t0
        check(closed and dt <= 2.5, "slowloris survived %.2fs" % dt)


@case
def idle_keep_alive_timeout():
    with Server(env={"IDLE_TIMEOUT": "1s"}) as s:
        c = s.connect()
        eq(c.request("GET", "/plaintext").status, 200)
        t0 = time.time()
        check(c.closed_by_peer(4), "idle connection not closed")
        dt = time.time() - t0
        check(0.8 <= dt <= 2.5, "idle close after %.2fs, want about 1s" % dt)
        eq(c.buf, b"", "no bytes on idle close")


@case
def body_timeout():
    with Server(env={"BODY_TIMEOUT": "1s"}) as s:
        c = s.connect()
        t0 = time.time()
        c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        eq(c.read_response().status, 408)
        check(c.closed_by_peer(), "closed after body timeout")
        check(time.time() - t0 <= 2.5, "body timeout too slow")


@case
def send_timeout_cuts_non_readers():
    env = {"SEND_TIMEOUT": "1s", "MAX_OUTPUT_BUFFER": "64k"}
    with Server(env=env) as s:
        c = s.connect()
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        req = b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n" * 2000
        t0 = time.time()
        sent = 0
        c.sock.settimeout(0.2)
        # Keep pipelining without ever reading: the server must stop reading from us and, after
        # the send timeout, close the connection.
        while time.time() - t0 < 8:
            try:
                sent += c.sock.send(req)
            except socket.timeout:
                pass
            except OSError:
                break
        dt = time.time() - t0
        check(dt < 7, "non-reading client was not cut off (%.1fs, %d bytes sent)" % (dt, sent))
        eq(get(s, "/plaintext").status, 200)


@case
def graceful_shutdown_drains():
    s = Server(env={"SHUTDOWN_TIMEOUT": "5s"}).start()
    idle = s.connect()
    eq(idle.request("GET", "/plaintext").status, 200)
    busy = s.connect()
    busy.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhe")
    time.sleep(0.2)
    s.proc.send_signal(signal.SIGTERM)
    check(idle.closed_by_peer(2), "idle connection not closed at shutdown")
    time.sleep(0.3)
    check(s.proc.poll() is None, "server exited with a request in flight")
    busy.send("llo")
    r = busy.read_response()
    eq(r.body, b"hello")
    eq(r.header("Connection"), "close")
    rc = s.proc.wait(5)
    eq(rc, 0, "exit status after drain")
    try:
        socket.create_connection(("127.0.0.1", s.port), timeout=0.5).close()
        check(False, "still accepting after shutdown")
    except OSError:
        pass


@case
def shutdown_drain_is_bounded():
    s = Server(env={"SHUTDOWN_TIMEOUT": "1s"}).start()
    c = s.connect()
    c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhe")
    time.sleep(0.2)
    t0 = time.time()
    s.proc.send_signal(signal.SIGTERM)
    rc = s.proc.wait(5)
    eq(rc, 0)
    check(time.time() - t0 < 2.5, "drain took %.1fs" % (time.time() - t0))


def run_cli(args, env=None, timeout=10):
    e = dict(os.environ)
    e["DATABASE_URL"] = "sqlite::memory:"
    e.update(env or {})
    p = subprocess.run([BIN] + args, env=e, capture_output=True, timeout=timeout, cwd="/tmp")
    return p.returncode, p.stdout.decode(), p.stderr.decode()


@case
def cli_help_version_and_bad_values():
    rc, out, _ = run_cli(["--help"])
    eq(rc, 0)
    check("--port" in out and "SERVER_MODE" in out, "usage text")
    rc, out, _ = run_cli(["--version"])
    eq(rc, 0)
    check(out.startswith("chopin "), "version text")
    for args, env in ((["--port", "70000"], None), (["--mode", "turbo"], None), ([], {"WORKERS": "0"}),
                      ([], {"SERVER_PORT": "abc"}), ([], {"ENVIRONMENT": "staging"}),
                      (["--bogus"], None), ([], {"IDLE_TIMEOUT": "soon"})):
        rc, out, err = run_cli(args, env)
        eq(rc, 2, "exit status for %r %r" % (args, env))
        eq(len(err.strip().splitlines()), 1, "one-line error for %r %r: %r" % (args, env, err))


@case
def port_in_use_is_loud():
    with Server() as s:
        rc, _, err = run_cli(["--port", str(s.port)])
        check(rc != 0, "second server on the same port exited %d" % rc)
        check("cannot listen" in err, "error message: %r" % err)
        eq(get(s, "/plaintext").status, 200)


@case
def dotenv_file_read_environment_wins():
    d = "/tmp/chopin-dotenv-%d" % os.getpid()
    os.makedirs(d, exist_ok=True)
    port = free_port()
    with open(os.path.join(d, ".env"), "w") as f:
        f.write("# comment\nSERVER_PORT=%d\nexport SERVER_MODE='performance'\nWORKERS=1\n" % port)
    e = {k: v for k, v in os.environ.items() if not k.startswith("SERVER_")}
    e["DATABASE_URL"] = "sqlite::memory:"
    p = subprocess.Popen([BIN], cwd=d, env=e, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=10)
        check(b"performance mode" in err, "mode from .env: %r" % err)
        eq(p.returncode, 0)
        # The environment wins over .env.
        e["SERVER_MODE"] = "turbo"
        rc = subprocess.run([BIN], cwd=d, env=e, capture_output=True, timeout=10).returncode
        eq(rc, 2)
    finally:
        p.kill()


@case
def other_connections_unaffected_by_bad_one():
    with Server() as s:
        good = s.connect()
        eq(good.request("GET", "/plaintext").status, 200)
        bad = s.connect()
        bad.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(200))
        check(bad.closed_by_peer(), "garbage connection not closed")
        eq(good.request("GET", "/json").status, 200)


if __name__ == "__main__":
    run("integration/engine")
