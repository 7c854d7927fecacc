"""The TechEmpower database endpoints over HTTP, on SQLite (the default driver) and on a real
PostgreSQL (CHOPIN_PG_URL, started by tests/run.sh): output shapes, query clamping, rows really
updated, fortunes escaping and order, queries actually executed, an outage and recovery, and
clients that reset mid-query."""
import contextlib
import html
import os
import re
import socket
import sqlite3
import struct
import subprocess
import tempfile
import threading
import time

from lib import SANITIZED, Server, case, check, eq, get, run

PG_URL = os.environ.get("CHOPIN_PG_URL")
PG_DIR = os.environ.get("CHOPIN_PG_DIR")
PG_TLS_URL = os.environ.get("CHOPIN_PG_TLS_URL")
REQUIRE_PG = os.environ.get("CHOPIN_REQUIRE_PG") == "1"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def psql(sql):
    out = subprocess.run(["psql", PG_URL, "-Atc", sql], capture_output=True, text=True, check=True)
    return out.stdout.strip()


class Backend:
    def __init__(self, name):
        self.name = name
        self.tmp = None
        if name == "sqlite":
            self.tmp = tempfile.mkdtemp(prefix="chopin-te-")
            self.url = "sqlite://%s/world.db" % self.tmp
        else:
            self.url = PG_URL

    def server(self, **kw):
        env = kw.pop("env", {})
        env["DATABASE_URL"] = self.url
        return Server(env=env, **kw)

    def world(self, ids):
        if self.name == "sqlite":
            db = sqlite3.connect(self.url[len("sqlite://"):])
            try:
                q = "SELECT id, randomnumber FROM world WHERE id IN (%s)" % ",".join("?" * len(ids))
                return dict(db.execute(q, ids).fetchall())
            finally:
                db.close()
        rows = psql("SELECT id, randomnumber FROM world WHERE id IN (%s)" % ",".join(map(str, ids)))
        return {int(a): int(b) for a, b in (l.split("|") for l in rows.splitlines())}


def backends():
    out = [Backend("sqlite")]
    if PG_URL:
        out.append(Backend("postgres"))
    elif REQUIRE_PG:
        raise AssertionError("CHOPIN_REQUIRE_PG=1 but no CHOPIN_PG_URL")
    return out


def is_world(o):
    return (isinstance(o, dict) and sorted(o) == ["id", "randomNumber"] and 1 <= o["id"] <= 10000
            and 1 <= o["randomNumber"] <= 10000)


@case
def db_single_row():
    for b in backends():
        with b.server(workers=2) as s:
            c = s.connect()
            for _ in range(20):
                r = c.request("GET", "/db")
                eq(r.status, 200, b.name)
                eq(r.header("Content-Type"), "application/json")
                check(is_world(r.json()), "%s: /db body %r" % (b.name, r.body))


@case
def queries_clamping():
    cases = {"2": 2, "0": 1, "foo": 1, "501": 500, "": 1, "-5": 1, "20": 20, "500": 500}
    for b in backends():
        with b.server() as s:
            c = s.connect(timeout=20)
            for path in ("/queries", "/cached-queries"):
                key = "count" if path == "/cached-queries" else "queries"
                for v, n in cases.items():
                    r = c.request("GET", "%s?%s=%s" % (path, key, v))
                    eq(r.status, 200, "%s %s=%r" % (b.name, path, v))
                    rows = r.json()
                    check(isinstance(rows, list) and all(map(is_world, rows)), "rows of %s=%r" % (path, v))
                    eq(len(rows), n, "%s: %s %s=%r" % (b.name, path, key, v))
                eq(len(c.request("GET", path).json()), 1, "%s: %s without parameter" % (b.name, path))


@case
def cached_queries_match_the_table():
    for b in backends():
        with b.server() as s:
            rows = get(s, "/cached-queries?count=100").json()
            truth = b.world([r["id"] for r in rows])
            for r in rows:
                eq(r["randomNumber"], truth[r["id"]], "%s: cached row %d" % (b.name, r["id"]))


@case
def updates_really_persist():
    for b in backends():
        with b.server(workers=2) as s:
            c = s.connect(timeout=20)
            for n in (1, 5, 20, 500):
                r = c.request("GET", "/updates?queries=%d" % n)
                eq(r.status, 200, b.name)
                rows = r.json()
                eq(len(rows), n, "%s: /updates?queries=%d" % (b.name, n))
                check(all(map(is_world, rows)), "row shapes")
                eq(len(set(w["id"] for w in rows)), n, "distinct ids")
                stored = b.world([w["id"] for w in rows])
                for w in rows:
                    eq(stored[w["id"]], w["randomNumber"], "%s: row %d persisted" % (b.name, w["id"]))


@case
def updates_change_the_values():
    """The rule asks that at least 90% of the updated rows really change."""
    for b in backends():
        with b.server() as s:
            c = s.connect(timeout=20)
            before = b.world(list(range(1, 10001)))
            rows = c.request("GET", "/updates?queries=500").json()
            changed = sum(1 for w in rows if before[w["id"]] != w["randomNumber"])
            eq(changed, 500, "%s: rows whose number changed" % b.name)


FORTUNE_ROW = re.compile(r"<tr><td>(\d+)</td><td>(.*?)</td></tr>")


@case
def fortunes_escaped_and_sorted():
    for b in backends():
        with b.server() as s:
            r = get(s, "/fortunes")
            eq(r.status, 200)
            eq(r.header("Content-Type"), "text/html; charset=utf-8")
            body = r.body.decode("utf-8")
            check(body.startswith("<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"
                                  "<tr><th>id</th><th>message</th></tr>"), "template head")
            check(body.endswith("</table></body></html>"), "template tail")
            rows = [(int(i), html.unescape(m)) for i, m in FORTUNE_ROW.findall(body)]
            eq(len(rows), 13, "%s: 12 rows plus the added one" % b.name)
            msgs = [m for _, m in rows]
            eq(msgs, sorted(msgs, key=lambda m: m.encode("utf-8")), "sorted by message")
            check((0, "Additional fortune added at request time.") in rows, "added fortune")
            check('<script>alert("This should not be displayed in a browser alert box.");</script>' in msgs,
                  "script row present")
            check("<script>" not in body and "&lt;script&gt;" in body, "script escaped")
            eq(rows[-1], (12, "\u30d5\u30ec\u30fc\u30e0\u30ef\u30fc\u30af\u306e\u30d9\u30f3\u30c1\u30de\u30fc\u30af"),
               "Japanese row last")


def pg_index_scans():
    psql("SELECT pg_stat_clear_snapshot()")
    return int(psql("SELECT idx_scan FROM pg_stat_user_tables WHERE relname = 'world'") or 0)


@case
def queries_are_really_executed():
    """Each of /queries' N rows is its own query: PostgreSQL's index-scan counter for world
    moves by exactly N per request. Backends flush their statistics lazily while they live and
    surely when they exit, so the count is read after the server (and its pool) stopped."""
    if not PG_URL:
        check(not REQUIRE_PG, "no PostgreSQL")
        return
    b = Backend("postgres")
    time.sleep(1)  # earlier tests' backends finish exiting
    start = pg_index_scans()
    with b.server(workers=2, env={"DB_POOL_SIZE": "2"}) as s:
        c = s.connect(timeout=20)
        for n in (1, 7, 20, 500):
            eq(len(c.request("GET", "/queries?queries=%d" % n).json()), n)
        eq(len(c.request("GET", "/queries?queries=foo").json()), 1)
    for _ in range(20):
        done = pg_index_scans() - start
        if done >= 529:
            break
        time.sleep(0.25)
    time.sleep(0.5)
    eq(pg_index_scans() - start, 1 + 7 + 20 + 500 + 1, "index scans on world")


def hammer(port, stop, stats, path="/db"):
    """Keep-alive client: counts statuses; reconnects when the server closes."""
    sock = None
    while not stop.is_set():
        try:
            if sock is None:
                sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(4096)
                if not chunk:
                    raise ConnectionError
                data += chunk
            head, rest = data.split(b"\r\n\r\n", 1)
            status = int(head.split(b" ")[1])
            n = int(re.search(rb"Content-Length: (\d+)", head).group(1))
            while len(rest) < n:
                rest += sock.recv(4096)
            stats.append((time.time(), status))
        except socket.timeout:
            stats.append((time.time(), "hung"))
            sock = None
        except OSError:
            stats.append((time.time(), "conn"))
            sock = None
            time.sleep(0.01)


@contextlib.contextmanager
def hammering(port, paths):
    """One hammer() client per path for as long as the block runs; yields their (time, status)
    list, complete once the block has ended."""
    stop = threading.Event()
    stats = []
    threads = [threading.Thread(target=hammer, args=(port, stop, stats, path)) for path in paths]
    for t in threads:
        t.start()
    try:
        yield stats
    finally:
        stop.set()
        for t in threads:
            t.join()


def cluster(cmd):
    """tests/db/pg-test-cluster.sh CMD on the test cluster (restart, down, up)."""
    subprocess.run([os.path.join(ROOT, "tests/db/pg-test-cluster.sh"), cmd, PG_DIR],
                   check=True, capture_output=True)


@case
def postgres_restart_under_load():
    if not PG_URL:
        check(not REQUIRE_PG, "no PostgreSQL")
        return
    b = Backend("postgres")
    with b.server(workers=2) as s:
        with hammering(s.port, ["/db"] * 8) as stats:
            time.sleep(1.0)
            t_restart = time.time()
            cluster("restart")
            t_back = time.time()
            time.sleep(6.0)
        during = [st for ts, st in stats if t_restart <= ts <= t_back]
        statuses = set(st for _, st in stats)
        check("hung" not in statuses, "a request hung")
        check(statuses <= {200, 503}, "statuses seen: %r" % statuses)
        check(503 in statuses, "no 503 during the outage (%d requests during it)" % len(during))
        late = [st for ts, st in stats if ts > t_back + 5.0]
        check(late and all(st == 200 for st in late), "not fully recovered 5 s after the restart")
        first_ok = min((ts for ts, st in stats if ts > t_back and st == 200), default=None)
        check(first_ok is not None, "never recovered")
        print("    restart: %d requests, %d x 503, first 200 %.2fs after the server was back"
              % (len(stats), sum(1 for _, st in stats if st == 503), first_ok - t_back))


@case
def health_reports_the_pool():
    for b in backends():
        with b.server(workers=2, env={"DB_POOL_SIZE": "3"}) as s:
            c = s.connect()
            deadline = time.time() + 5
            while True:  # the pool's connections open in the background
                r = c.request("GET", "/health")
                eq(r.status, 200, b.name)
                d = r.json()["data"]
                if d["pool"]["ready"] == d["pool"]["connections"] or time.time() > deadline:
                    break
                time.sleep(0.05)
            eq(d["status"], "ok")
            eq(d["database"], b.name)
            check(d["worker"] in (0, 1), "worker %r" % d["worker"])
            # SQLite's pool is its thread pool; PostgreSQL's has DB_POOL_SIZE connections.
            if b.name == "postgres":
                eq(d["pool"]["connections"], 3)
            eq(d["pool"]["ready"], d["pool"]["connections"], "%s: all connections ready" % b.name)


@case
def postgres_pool_size_defaults_to_16_per_instance():
    if not PG_URL:
        check(not REQUIRE_PG, "no PostgreSQL")
        return
    for workers, per_worker in ((1, 16), (2, 8), (3, 6), (32, 1)):
        with Backend("postgres").server(workers=workers) as s:
            d = s.connect().request("GET", "/health").json()["data"]
            eq(d["pool"]["connections"], per_worker, "connections per worker with %d workers" % workers)


@case
def health_follows_the_database():
    if not PG_URL:
        check(not REQUIRE_PG, "no PostgreSQL")
        return
    with Backend("postgres").server(workers=1) as s:
        c = s.connect()
        eq(c.request("GET", "/health").status, 200)
        cluster("down")
        try:
            t0 = time.time()
            r = c.request("GET", "/health")
            took = time.time() - t0
            eq(r.status, 503, "health with the database down")
            eq(r.json()["error"]["code"], "SERVICE_UNAVAILABLE")
            check(took < 1.0, "the 503 took %.2fs" % took)
        finally:
            cluster("up")
        deadline = time.time() + 5
        while c.request("GET", "/health").status != 200:
            check(time.time() < deadline, "/health not back to 200 within 5 s of the database")
            time.sleep(0.05)


@case
def tls_to_postgres():
    """sslmode=require: every endpoint answers, under concurrent load, over TLS only."""
    if not PG_TLS_URL:
        check(not REQUIRE_PG, "no TLS URL for the PostgreSQL test cluster (is openssl installed?)")
        return
    with Server(workers=2, env={"DATABASE_URL": PG_TLS_URL, "DB_POOL_SIZE": "2"}) as s:
        c = s.connect()
        eq(c.request("GET", "/health").status, 200)
        check(is_world(c.request("GET", "/db").json()), "/db over TLS")
        # 500 rows come back as several TLS records.
        rows = c.request("GET", "/queries?queries=500").json()
        check(len(rows) == 500 and all(is_world(o) for o in rows), "/queries?queries=500 over TLS")
        eq(c.request("GET", "/fortunes").status, 200)
        eq(len(c.request("GET", "/updates?queries=20").json()), 20)
        paths = ["/db", "/queries?queries=20", "/fortunes", "/updates?queries=5"] * 2
        with hammering(s.port, paths) as stats:
            time.sleep(1.5)
        check(len(stats) > 100, "only %d requests under load" % len(stats))
        eq(set(st for _, st in stats), {200}, "statuses under load over TLS")
        # Every connection chopin holds is encrypted: 2 workers x 2.
        ssl = psql("SELECT count(*), bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a"
                   " USING (pid) WHERE a.usename = 'chopin' AND a.pid <> pg_backend_pid()")
        eq(ssl, "4|t", "chopin's connections (count|all TLS)")


@case
def client_resets_mid_query():
    for b in backends():
        with b.server(workers=2) as s:
            for i in range(200):
                sock = socket.create_connection(("127.0.0.1", s.port))
                path = ("/queries?queries=500", "/updates?queries=50", "/fortunes", "/db")[i % 4]
                sock.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode() * 3)
                # RST instead of FIN: SO_LINGER with a zero timeout.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()
            time.sleep(0.5)
            # The server still answers, and the sanitizer build exits clean (no leak).
            eq(get(s, "/db").status, 200, b.name)
            fds = len(os.listdir("/proc/%d/fd" % s.proc.pid))
            check(fds < 100, "%s: %d descriptors open after the resets" % (b.name, fds))


@case
def bad_database_url_is_a_clear_startup_error():
    for url in ("mysql://x", "sqlite:///nonexistent-dir/x/y.db", "postgres://nobody@127.0.0.1:1/none"):
        s = Server(env={"DATABASE_URL": url})
        try:
            s.start()
            check(False, "started with DATABASE_URL=%s" % url)
        except Exception as e:  # noqa: BLE001
            check("exited at start" in str(e), "for %s: %s" % (url, e))
            err = s.stderr()
            check("chopin: database:" in err and len(err.strip().splitlines()) <= 3,
                  "message for %s: %r" % (url, err))
            check(s.proc.returncode != 0, "exit status")


if __name__ == "__main__":
    run("integration/techempower")
