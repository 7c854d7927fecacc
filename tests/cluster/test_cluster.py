"""Scale-out behind HAProxy (make test-cluster): 3 chopin instances started by
scripts/cluster.sh behind Debian's HAProxy running deploy/haproxy.cfg as is, on one PostgreSQL,
all on loopback.

  - kill -9 of one instance under load: only requests in flight on it may fail, and HAProxy
    marks it down within its check interval (printed: failed requests, longest gap, time to down)
  - a rolling restart of every instance under load: 0 failed requests
  - a note (/api/notes, in the database) created, updated and deleted through one instance is
    seen so through every other, directly and through HAProxy
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, HERE)
from lib import case, check, eq, run  # noqa: E402
from loadgen import Load  # noqa: E402

SCRIPT = os.path.join(ROOT, "scripts", "cluster.sh")
DIR = tempfile.mkdtemp(prefix="chopin-cluster-")
THREADS = 16
ENV = {}


def cluster(*args, timeout=120):
    env = dict(os.environ)
    env.setdefault("CHOPIN_BIN", os.environ.get("CHOPIN_BIN", os.path.join(ROOT, "build", "chopin")))
    if os.environ.get("CHOPIN_PG_URL"):
        env["DATABASE_URL"] = os.environ["CHOPIN_PG_URL"]
    out = subprocess.run([SCRIPT] + list(args), env=env, capture_output=True, text=True,
                         timeout=timeout)
    if out.returncode != 0:
        raise AssertionError("cluster.sh %s failed:\n%s%s" % (" ".join(args), out.stdout, out.stderr))
    load_env()
    return out.stdout


def load_env():
    ENV.clear()
    out = subprocess.run(["bash", "-c", "set -a; . '%s/cluster.env' && env" % DIR], capture_output=True,
                         text=True, check=True)
    for line in out.stdout.splitlines():
        k, _, v = line.partition("=")
        ENV[k] = v


def lb_port():
    return int(ENV["BASE_PORT"])


def app_port(i):
    return int(ENV["BASE_PORT"]) + i


def http(port, method, path, body=None, headers=None, timeout=5):
    """One request on a fresh connection: (status, headers with lower-case names, body)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    data = body.encode() if body is not None else b""
    head = "%s %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" % (method, path)
    if body is not None:
        head += "Content-Type: application/json\r\nContent-Length: %d\r\n" % len(data)
    for k, v in (headers or {}).items():
        head += "%s: %s\r\n" % (k, v)
    s.sendall(head.encode() + b"\r\n" + data)
    buf = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    s.close()
    head, _, payload = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return int(lines[0].split(" ")[1]), hdrs, payload


def api(port, method, path, body=None, headers=None):
    """A JSON API call: (status, headers, the decoded envelope)."""
    st, hdrs, payload = http(port, method, path, None if body is None else json.dumps(body),
                             headers)
    try:
        doc = json.loads(payload) if payload else None
    except ValueError:
        doc = payload
    return st, hdrs, doc


def haproxy_stats(i):
    """HAProxy's `show stat` row for instance i, by field name (status, stot...)."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(ENV["CHOPIN_HAPROXY_SOCK"])
    s.sendall(b"show stat\n")
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    lines = out.decode().splitlines()
    names = lines[0].lstrip("# ").split(",")
    for line in lines[1:]:
        f = line.split(",")
        if len(f) > 17 and f[0] == "chopin" and f[1] == "app%d" % i:
            return dict(zip(names, f))
    return {}


def haproxy_state(i):
    return haproxy_stats(i).get("status")


def served_by_haproxy():
    """Requests HAProxy has sent to each instance so far (its `stot` counters)."""
    return [int(haproxy_stats(i).get("stot") or 0) for i in (1, 2, 3)]


@case
def cluster_comes_up_behind_haproxy():
    cluster("up", DIR)
    for i in (1, 2, 3):
        eq(http(app_port(i), "GET", "/health")[0], 200, "instance %d healthy" % i)
        eq(haproxy_state(i), "UP", "HAProxy sees instance %d" % i)
    eq(http(lb_port(), "GET", "/db")[0], 200, "through HAProxy, from the database")


@case
def written_through_one_instance_read_through_every_other():
    """/api/notes lives in the shared PostgreSQL: every change made through one instance is
    seen through every other at once (no cache, no sticky sessions)."""
    p1, p2, p3 = app_port(1), app_port(2), app_port(3)
    st, _, doc = api(p1, "POST", "/api/notes", {"title": "cluster", "body": "shared"})
    eq(st, 201, "created through instance 1 (%r)" % (doc,))
    nid = doc["data"]["id"]
    path = "/api/notes/%d" % nid
    for port, i in ((p2, 2), (p3, 3)):
        st, _, doc = api(port, "GET", path)
        eq(st, 200, "read through instance %d" % i)
        eq((doc["data"]["title"], doc["data"]["body"]), ("cluster", "shared"),
           "the note on instance %d" % i)
    st, _, doc = api(p2, "PUT", path, {"title": "changed", "body": "through 2"})
    eq(st, 200, "updated through instance 2 (%r)" % (doc,))
    for port, i in ((p1, 1), (p3, 3)):
        st, _, doc = api(port, "GET", path)
        eq(st, 200, "read the update through instance %d" % i)
        eq((doc["data"]["title"], doc["data"]["body"]), ("changed", "through 2"),
           "the update on instance %d" % i)
    st, _, doc = api(p3, "DELETE", path)
    eq(st, 200, "deleted through instance 3 (%r)" % (doc,))
    eq(doc["data"], {"id": nid, "deleted": True}, "the deletion")
    for port, i in ((p1, 1), (p2, 2)):
        eq(api(port, "GET", path)[0], 404, "gone through instance %d" % i)
        eq(api(port, "DELETE", path)[0], 404, "nothing left to delete through instance %d" % i)

    # Through HAProxy's port: round robin sends consecutive requests to different instances,
    # so a few reads in a row visit all three (checked on HAProxy's counters).
    lb = lb_port()
    sent = served_by_haproxy()
    st, _, doc = api(lb, "POST", "/api/notes", {"title": "balanced"})
    eq(st, 201, "created through HAProxy (%r)" % (doc,))
    path = "/api/notes/%d" % doc["data"]["id"]
    for n in range(6):
        st, _, doc = api(lb, "GET", path)
        eq((st, doc["data"]["title"]), (200, "balanced"), "read %d through HAProxy" % n)
    eq(api(lb, "PATCH", path, {"body": "patched"})[0], 200, "patched through HAProxy")
    for n in range(6):
        st, _, doc = api(lb, "GET", path)
        eq((st, doc["data"]["title"], doc["data"]["body"]), (200, "balanced", "patched"),
           "read %d of the patch through HAProxy" % n)
    eq(api(lb, "DELETE", path)[0], 200, "deleted through HAProxy")
    for n in range(6):
        eq(api(lb, "GET", path)[0], 404, "read %d of the deletion through HAProxy" % n)
    for i in (1, 2, 3):
        eq(api(app_port(i), "GET", path)[0], 404, "deleted on instance %d" % i)
    now = served_by_haproxy()
    check(all(b - a >= 3 for a, b in zip(sent, now)),
          "HAProxy spread the requests over every instance (%s -> %s)" % (sent, now))


@case
def kill_9_under_load_fails_only_in_flight_requests():
    inter = 0.5  # CHOPIN_CHECK_INTER of cluster.sh
    load = Load("127.0.0.1", lb_port(), "/db", threads=THREADS).start()
    try:
        time.sleep(2)
        before = load.ok
        t_kill = time.monotonic()
        os.kill(int(ENV["APP1_PID"]), signal.SIGKILL)
        down_after = None
        while time.monotonic() - t_kill < 10:
            if haproxy_state(1) not in ("UP", None) and haproxy_state(1).startswith("DOWN"):
                down_after = time.monotonic() - t_kill
                break
            time.sleep(0.02)
        time.sleep(2)
    finally:
        load.stop()
    gap = load.longest_gap(since=t_kill)
    print("  kill -9 of 1 of 3 instances under load (%d threads): %d requests ok (%d after the "
          "kill), %d failed%s; longest gap without an answer %.0f ms; HAProxy marked it down "
          "after %s ms" % (THREADS, load.ok, load.ok - before, load.failed,
                          " %s" % load.errors if load.errors else "",
                          1000 * gap, "%.0f" % (1000 * down_after) if down_after else "never"))
    check(down_after is not None, "HAProxy marked the killed instance down")
    # fall 2 at fastinter (observe layer4) or inter: well within 2 intervals + scheduling slack.
    check(down_after <= 2 * inter + 1.5, "down within the check interval (%.2fs)" % down_after)
    check(load.failed <= THREADS, "at most the requests in flight on it fail (%d)" % load.failed)
    check(load.ok - before > 100, "the others kept serving")
    check(gap < 2.0, "no long outage (%.2fs)" % gap)
    cluster("start", "1", DIR)
    eq(haproxy_state(1), "UP", "back after a start")


@case
def rolling_restart_under_load_fails_nothing():
    load = Load("127.0.0.1", lb_port(), "/db", threads=THREADS).start()
    try:
        time.sleep(1)
        t0 = time.monotonic()
        out = cluster("rolling", DIR, timeout=180)
        took = time.monotonic() - t0
        time.sleep(1)
    finally:
        load.stop()
    print("  rolling restart of 3 instances under load (%d threads) in %.1f s: %s" % (
        THREADS, took, load.summary()))
    for line in out.strip().splitlines():
        print("    " + line)
    eq(load.failed, 0, "failed requests (%s)" % load.errors)
    check(load.ok > 200, "load ran (%d)" % load.ok)
    for i in (1, 2, 3):
        eq(haproxy_state(i), "UP", "instance %d back" % i)


def teardown(keep):
    try:
        cluster("down", DIR, timeout=60)
    except Exception as e:  # noqa: BLE001
        print("  teardown: %s" % e)
    if keep:
        print("  logs of the instances and HAProxy: %s" % DIR)
    else:
        shutil.rmtree(DIR, ignore_errors=True)


if __name__ == "__main__":
    passed = False
    try:
        run("cluster")
    except SystemExit as e:
        passed = e.code == 0
        raise
    finally:
        teardown(keep=not passed)
