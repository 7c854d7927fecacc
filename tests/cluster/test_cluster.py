"""Scale-out behind HAProxy (make test-cluster): 3 chopin instances started by
scripts/cluster.sh behind Debian's HAProxy running deploy/haproxy.cfg as is, on one PostgreSQL,
all on loopback.

  - kill -9 of one instance under load: only requests in flight on it may fail, and HAProxy
    marks it down within its check interval (printed: failed requests, longest gap, time to down)
  - a rolling restart of every instance under load: 0 failed requests
  - a note (/api/notes, in the database) created, updated and deleted through one instance is
    seen so through every other, directly and through HAProxy
  - auth: a token issued by one instance verifies on the others (one JWT_SECRET); failed
    logins through one lock the name on all; the per-address rate limit counts across
    instances; a rotated refresh token replayed through another instance is refused
"""
import json
import os
import random
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


def http(port, method, path, body=None, headers=None, timeout=5, source="127.0.0.1"):
    """One request on a fresh connection from address `source` (any of 127.0.0.0/8 works on
    Linux's loopback, so tests can be several clients): (status, headers with lower-case names,
    body)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0))
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


def api(port, method, path, body=None, headers=None, source="127.0.0.1"):
    """A JSON API call: (status, headers, the decoded envelope). Generous timeout: logins and
    signups hash with Argon2id, slow on a loaded machine."""
    st, hdrs, payload = http(port, method, path, None if body is None else json.dumps(body),
                             headers, timeout=30, source=source)
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


# ---- auth state in the database (the chopin binary mounts the auth routes at /api/auth) ----
# The defaults of include/chopin/auth.h, which cluster.sh leaves alone: these are the limits an
# operator gets.
LOCKOUT_ATTEMPTS = 5  # AUTH_LOCKOUT_ATTEMPTS
LOCKOUT_SECONDS = 15 * 60  # AUTH_LOCKOUT_SECONDS
RATE_LIMIT = 30  # AUTH_RATE_LIMIT, POST requests per address and window
RATE_WINDOW = 60  # AUTH_RATE_WINDOW, a fixed window
PASSWORD = "correct horse battery"
# Names and addresses unique to this run: the suite may share a PostgreSQL with earlier runs.
RUN = "%06x" % random.randrange(1 << 24)
_NET = random.randrange(1, 250)


def addr(n):
    """Client address n of this run (TEST-NET-2), as HAProxy would forward it."""
    return "198.51.%d.%d" % (_NET, n)


def via(ip):
    """Headers for a request sent straight to an instance as if HAProxy forwarded it for client
    `ip`: the instances trust one proxy (AUTH_TRUST_PROXY=1 in cluster.sh)."""
    return {"X-Forwarded-For": ip}


def loopback_client():
    """A loopback address other than 127.0.0.1 for a real client of HAProxy."""
    return "127.%d.%d.%d" % (random.randrange(1, 255), random.randrange(256),
                             random.randrange(1, 255))


def signup(port, name, ip):
    st, _, doc = api(port, "POST", "/api/auth/signup",
                     {"email": "%s-%s@example.org" % (name, RUN), "username": "%s-%s" % (name, RUN),
                      "password": PASSWORD}, via(ip))
    eq(st, 201, "signup of %s (%r)" % (name, doc))
    return doc["data"]


def login(port, username, password, ip=None, source="127.0.0.1"):
    return api(port, "POST", "/api/auth/login", {"username": username, "password": password},
               via(ip) if ip else None, source=source)


def retry_after(hdrs, most, what):
    ra = hdrs.get("retry-after", "")
    check(ra.isdigit() and 1 <= int(ra) <= most,
          "%s: Retry-After %r, want 1..%d" % (what, ra, most))


def me(port, token):
    return api(port, "GET", "/api/auth/me", headers={"Authorization": "Bearer " + token})


@case
def token_issued_by_one_instance_verifies_on_every_other():
    """Every instance signs with the same JWT_SECRET (cluster.sh): a client's next request
    may land anywhere."""
    data = signup(app_port(1), "token", addr(1))
    token, uid = data["access_token"], data["user"]["id"]
    for i in (1, 2, 3):
        st, _, doc = me(app_port(i), token)
        eq(st, 200, "GET /api/auth/me through instance %d (%r)" % (i, doc))
        eq((doc["data"]["id"], doc["data"]["username"]), (uid, "token-" + RUN),
           "the account on instance %d" % i)
    for n in range(3):
        eq(me(lb_port(), token)[0], 200, "GET /api/auth/me %d through HAProxy" % n)
    # Shared secret, not no check: a forged signature fails on the others as well.
    forged = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    for i in (2, 3):
        st, hdrs, _ = me(app_port(i), forged)
        eq(st, 401, "a forged token through instance %d" % i)
        check("invalid_token" in hdrs.get("www-authenticate", ""), "says invalid_token")


@case
def login_lockout_set_through_one_instance_holds_on_every_other():
    ip = addr(2)
    name = signup(app_port(1), "locked", ip)["user"]["username"]
    for n in range(LOCKOUT_ATTEMPTS):
        st, _, doc = login(app_port(1), name, "wrong password", ip)
        eq(st, 401, "failed login %d through instance 1 (%r)" % (n + 1, doc))
    for i in (2, 3):
        st, hdrs, doc = login(app_port(i), name, PASSWORD, ip)
        eq(st, 429, "the right password through instance %d while locked (%r)" % (i, doc))
        retry_after(hdrs, LOCKOUT_SECONDS, "locked login on instance %d" % i)
    st, hdrs, _ = login(lb_port(), name, PASSWORD, source=loopback_client())
    eq(st, 429, "the right password through HAProxy while locked")

    # The failures are counted in the database too, not only the lock: spread over all three
    # instances, they lock the name as surely.
    name = signup(app_port(2), "spread", ip)["user"]["username"]
    for n in range(LOCKOUT_ATTEMPTS):
        i = n % 3 + 1
        eq(login(app_port(i), name, "wrong password", ip)[0], 401,
           "failed login %d through instance %d" % (n + 1, i))
    st, hdrs, _ = login(app_port(1), name, PASSWORD, ip)
    eq(st, 429, "locked after failures through every instance")
    retry_after(hdrs, LOCKOUT_SECONDS, "spread lockout")

    # A lock is one login name's: another account signs in through every instance.
    name = signup(app_port(3), "free", ip)["user"]["username"]
    for i in (1, 2, 3):
        eq(login(app_port(i), name, PASSWORD, ip)[0], 200, "another account on instance %d" % i)


@case
def refresh_token_rotated_through_one_instance_is_refused_through_another():
    ip = addr(3)
    t0 = signup(app_port(1), "refresh", ip)["refresh_token"]

    def refresh(port, token):
        return api(port, "POST", "/api/auth/refresh", {"refresh_token": token}, via(ip))

    st, _, doc = refresh(app_port(2), t0)
    eq(st, 200, "rotated through instance 2 (%r)" % (doc,))
    t1 = doc["data"]["refresh_token"]
    check(t1 != t0, "a new refresh token")
    eq(me(app_port(3), doc["data"]["access_token"])[0], 200, "its access token on instance 3")
    st, _, doc = refresh(app_port(3), t1)
    eq(st, 200, "rotated again through instance 3 (%r)" % (doc,))
    t2 = doc["data"]["refresh_token"]
    eq(refresh(app_port(1), t1)[0], 401, "t1, already rotated on 3, replayed through 1")
    eq(refresh(app_port(2), t0)[0], 401, "t0, rotated on 2, replayed through 2")
    # The replay revoked the whole family, everywhere: the newest token is dead too.
    eq(refresh(app_port(3), t2)[0], 401, "t2 after the family was revoked (on 3)")
    eq(refresh(app_port(1), t2)[0], 401, "t2 after the family was revoked (on 1)")

    # The same through HAProxy: round robin puts each call on another instance. (A client
    # address of its own: 127.0.0.1's rate-limit budget may be shared with other suites.)
    client = loopback_client()
    st, _, doc = login(lb_port(), "refresh-" + RUN, PASSWORD, source=client)
    eq(st, 200, "login through HAProxy (%r)" % (doc,))
    t0 = doc["data"]["refresh_token"]
    st, _, doc = api(lb_port(), "POST", "/api/auth/refresh", {"refresh_token": t0}, source=client)
    eq(st, 200, "rotated through HAProxy")
    t1 = doc["data"]["refresh_token"]
    for token, what in ((t0, "replayed t0"), (t1, "t1 of the revoked family")):
        eq(api(lb_port(), "POST", "/api/auth/refresh", {"refresh_token": token},
               source=client)[0], 401, what + " through HAProxy")


def fresh_window(need):
    """Waits, when fewer than `need` seconds of the current rate window are left, for the next
    one: the counts below must fall in one window (the server's clock is this host's)."""
    left = RATE_WINDOW - time.time() % RATE_WINDOW
    if left < need:
        time.sleep(left + 0.2)


@case
def rate_limit_counted_through_several_instances_holds_on_another():
    # POST /api/auth/logout with a token that cannot exist is counted by the limit and then
    # answered 204 without any other work: a cheap probe.
    probe = {"refresh_token": "not-a-token"}
    ip = addr(4)
    fresh_window(10)
    for n in range(RATE_LIMIT):
        i = n % 2 + 1
        st = api(app_port(i), "POST", "/api/auth/logout", probe, via(ip))[0]
        eq(st, 204, "request %d of the window, through instance %d" % (n + 1, i))
    for i in (3, 1, 2):
        st, hdrs, _ = api(app_port(i), "POST", "/api/auth/logout", probe, via(ip))
        eq(st, 429, "over the limit counted through 1 and 2, on instance %d" % i)
        retry_after(hdrs, RATE_WINDOW, "rate limit on instance %d" % i)
    eq(api(app_port(3), "POST", "/api/auth/logout", probe, via(addr(5)))[0], 204,
       "another address is not limited")

    # Real clients of HAProxy (two loopback addresses): it appends each one's address to
    # X-Forwarded-For, and round robin spreads one client's requests over every instance.
    client, other = loopback_client(), loopback_client()
    fresh_window(10)
    sent = served_by_haproxy()
    for n in range(RATE_LIMIT):
        st = api(lb_port(), "POST", "/api/auth/logout", probe, source=client)[0]
        eq(st, 204, "request %d of the window through HAProxy" % (n + 1))
    now = served_by_haproxy()
    check(all(b - a >= RATE_LIMIT // 3 - 1 for a, b in zip(sent, now)),
          "the client's requests went to every instance (%s -> %s)" % (sent, now))
    st, hdrs, _ = api(lb_port(), "POST", "/api/auth/logout", probe, source=client)
    eq(st, 429, "over the limit through HAProxy")
    retry_after(hdrs, RATE_WINDOW, "rate limit through HAProxy")
    st = api(lb_port(), "POST", "/api/auth/logout", probe, {"X-Forwarded-For": addr(6)},
             source=client)[0]
    eq(st, 429, "a client's own X-Forwarded-For does not get it out (HAProxy appends the real one)")
    eq(api(lb_port(), "POST", "/api/auth/logout", probe, source=other)[0], 204,
       "another client through HAProxy is not limited")


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
