"""Graceful drain (SIGTERM with DRAIN_DELAY) and zero-downtime restart on one host (REUSE_PORT):
/health turns 503 first, connections close after their response, in-flight requests finish,
idle ones get a FIN (not a reset), and a successor on the same port takes over under load with
no failed request."""
import os
import signal
import socket
import sys
import time

from lib import SANITIZED, TEST_APP, Server, case, check, eq, get, run

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "cluster"))
from loadgen import Load  # noqa: E402


def wait_exit(s, timeout):
    try:
        return s.proc.wait(timeout)
    except Exception:
        return None


@case
def sigterm_fails_health_first_and_keeps_serving_for_drain_delay():
    s = Server(workers=2, env={"DRAIN_DELAY": "1500ms"}).start()
    try:
        c = s.connect()
        eq(c.request("GET", "/health").status, 200, "healthy before")
        eq(c.request("GET", "/json").header("Connection"), None, "keep-alive before")
        t0 = time.time()
        s.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        r = get(s, "/health")
        eq(r.status, 503, "health during the delay")
        eq(r.json()["error"]["code"], "SERVICE_UNAVAILABLE")
        eq(r.header("Connection"), "close", "new connections close after one response")
        r = c.request("GET", "/json")
        eq(r.status, 200, "still serving on a kept-alive connection")
        eq(r.header("Connection"), "close", "which closes after its response")
        check(c.closed_by_peer(), "closed by the server after the response")
        m = get(s, "/metrics").body.decode()
        check("chopin_draining 1" in m, "metrics say draining")
        rc = wait_exit(s, 10)
        dt = time.time() - t0
        eq(rc, 0, "clean exit")
        check(dt >= 1.4, "stayed up for DRAIN_DELAY (%.2fs)" % dt)
    finally:
        s.stop()
    check("draining: /health answers 503" in s.stderr(), "logged")


@case
def second_signal_cuts_the_delay_short():
    s = Server(env={"DRAIN_DELAY": "30s"}).start()
    try:
        s.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        check(s.proc.poll() is None, "alive after SIGTERM (%r): %s" % (s.proc.returncode, s.stderr()[-800:]))
        eq(get(s, "/health").status, 503)
        t0 = time.time()
        s.proc.send_signal(signal.SIGTERM)
        eq(wait_exit(s, 10), 0, "exit after the second signal")
        check(time.time() - t0 < 5, "without waiting 30 s")
    finally:
        s.stop()


@case
def idle_connections_get_a_fin_and_in_flight_requests_finish():
    # The test app holds /hold until /release; REQUEST_TIMEOUT answers it after 1 s.
    s = Server(binary=TEST_APP, workers=1, env={"REQUEST_TIMEOUT": "1s",
                                                           "SHUTDOWN_TIMEOUT": "2s"}).start()
    try:
        idle = s.connect()
        eq(idle.request("GET", "/release").status, 200)
        busy = s.connect()
        busy.send("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.2)
        s.proc.send_signal(signal.SIGTERM)
        # The idle keep-alive connection is closed with a FIN: recv() returns b"", no reset.
        idle.sock.settimeout(3)
        try:
            data = idle.sock.recv(100)
            eq(data, b"", "EOF on the idle connection")
        except ConnectionResetError:
            raise AssertionError("idle connection was reset instead of closed")
        r = busy.read_response()
        eq(r.status, 503, "the in-flight request got its answer during the drain")
        eq(wait_exit(s, 10), 0, "clean exit")
    finally:
        s.stop()


@case
def a_second_server_needs_reuse_port():
    with Server() as a:
        b = Server(env={"SERVER_PORT": str(a.port)})
        b.port = a.port
        try:
            b.start()  # returns at once: the port answers (a does)
            rc = wait_exit(b, 10)
        finally:
            b.stop()
        eq(rc, 1, "the second server refuses to start")
        check("cannot listen" in b.stderr(), "says why")
        eq(get(a, "/json").status, 200, "the first one is untouched")


def takeover(mode, workers, threads=8):
    """Old and new servers on one port; SIGTERM the old one under load: no failed request."""
    env = {"REUSE_PORT": "1", "DRAIN_DELAY": "1s"}
    a = Server(mode=mode, workers=workers, env=env).start()
    b = Server(mode=mode, workers=workers, env=dict(env, SERVER_PORT=str(a.port)))
    b.port = a.port
    load = Load("127.0.0.1", a.port, "/json", threads=threads).start()
    try:
        time.sleep(1.0)
        b.proc = None
        b.args = ["--takeover"]
        b.env.pop("REUSE_PORT")  # the flag alone is enough
        b.start()  # returns at once (the port answers): wait until b itself listens
        deadline = time.time() + 20
        while "listening on" not in b.stderr() and time.time() < deadline:
            time.sleep(0.05)
        check("listening on" in b.stderr(), "the new server listens")
        time.sleep(0.3)
        a.proc.send_signal(signal.SIGTERM)
        eq(wait_exit(a, 15), 0, "old server exits cleanly")
        time.sleep(1.0)
        load.stop()
        print("  %s mode, %d worker(s): %s" % (mode, workers, load.summary()))
        eq(load.failed, 0, "failed requests (%s)" % load.errors)
        check(load.ok > 100, "load ran (%d)" % load.ok)
        eq(get(b, "/json").status, 200, "the new server serves")
        b.check_clean_exit()
    finally:
        load.stop()
        a.stop()
        b.stop()


@case
def takeover_standard_one_worker():
    takeover("standard", 1)


@case
def takeover_standard_several_workers():
    takeover("standard", 3)


@case
def takeover_performance_several_workers():
    takeover("performance", 2)


if __name__ == "__main__":
    run("integration/drain")
