"""GET /metrics: Prometheus text format 0.0.4, parsed with the official Python client's parser,
with values that move as requests are made; token, off switch, side port."""
import os
import socket
import sys
import time

from lib import Server, case, check, eq, free_port, get, run

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:  # a Python other than Debian's: use the Debian package's copy
    sys.path.append("/usr/lib/python3/dist-packages")
    from prometheus_client.parser import text_string_to_metric_families


def scrape(server, path="/metrics", headers=None, port=None):
    """Returns {(sample name, frozenset(labels)): value} and the families by name."""
    c = socket.create_connection(("127.0.0.1", port or server.port), timeout=5)
    from lib import Conn
    conn = Conn(c)
    r = conn.request("GET", path, headers=headers)
    conn.close()
    eq(r.status, 200, "scrape status")
    check(r.header("Content-Type").startswith("text/plain; version=0.0.4"), "content type")
    text = r.body.decode("utf-8")
    samples, families = {}, {}
    for fam in text_string_to_metric_families(text):
        families[fam.name] = fam
        for s in fam.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples, families


def val(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0)


def reqs(samples, route, method="GET", status="2xx"):
    return val(samples, "chopin_http_requests_total", route=route, method=method, status=status)


@case
def parses_and_counts_by_route_pattern():
    with Server(workers=2) as s:
        before, fams = scrape(s)
        for name in ("chopin_http_requests", "chopin_http_request_duration_seconds",
                     "chopin_http_connections_open", "chopin_http_connections_idle",
                     "chopin_http_connections_accepted", "chopin_http_received_bytes",
                     "chopin_http_sent_bytes", "chopin_db_pool_connections", "chopin_db_pool_ready",
                     "chopin_db_pool_in_flight", "chopin_db_pool_queued", "chopin_db_reconnects",
                     "chopin_db_unavailable", "process_cpu_seconds", "process_resident_memory_bytes",
                     "process_open_fds", "process_start_time_seconds"):
            check(name in fams, "family %s missing" % name)
        eq(fams["chopin_http_request_duration_seconds"].type, "histogram", "histogram type")
        c = s.connect()
        for _ in range(7):
            eq(c.request("GET", "/json").status, 200)
        # Two different ids, one route pattern: the label is the pattern, not the path.
        r = c.request("POST", "/api/notes", headers={"Content-Type": "application/json"},
                      body='{"title":"a","body":"b"}')
        check(r.status in (200, 201), "note created: %r" % r)
        nid = r.json()["data"]["id"]
        eq(c.request("GET", "/api/notes/%d" % nid).status, 200)
        eq(c.request("GET", "/api/notes/999999").status, 404)
        eq(c.request("GET", "/no/such/path").status, 404)
        eq(c.request("DELETE", "/json").status, 405)
        deadline = time.time() + 5  # pool state is copied by each worker on its 250 ms tick
        while True:
            after, _ = scrape(s)
            if val(after, "chopin_db_pool_connections") >= 1 or time.time() > deadline:
                break
            time.sleep(0.1)
        eq(reqs(after, "/json") - reqs(before, "/json"), 7, "/json count")
        eq(reqs(after, "/api/notes/:id"), 1, "2xx on the pattern")
        eq(reqs(after, "/api/notes/:id", status="4xx"), 1, "4xx on the pattern")
        eq(reqs(after, "/api/notes", method="POST"), 1, "POST")
        eq(reqs(after, "unmatched", status="4xx"), 1, "404 is unmatched")
        eq(reqs(after, "unmatched", method="DELETE", status="4xx"), 1, "405 is unmatched")
        check(not any(k[0] == "chopin_http_requests_total" and ("route", "/api/notes/%d" % nid) in k[1]
                      for k in after), "raw paths never become labels")
        # The histogram: +Inf bucket == count, buckets cumulative, sum small but positive.
        n = val(after, "chopin_http_request_duration_seconds_count", route="/json")
        eq(n, reqs(after, "/json"), "histogram count")
        eq(val(after, "chopin_http_request_duration_seconds_bucket", route="/json", le="+Inf"), n,
           "+Inf bucket")
        check(val(after, "chopin_http_request_duration_seconds_bucket", route="/json", le="0.0005")
              <= val(after, "chopin_http_request_duration_seconds_bucket", route="/json", le="1"),
              "cumulative buckets")
        total = val(after, "chopin_http_request_duration_seconds_sum", route="/json")
        check(0 < total < 5, "duration sum %r" % total)
        # Bytes and connections move; the kept-alive connection `c` is open and idle.
        check(val(after, "chopin_http_received_bytes_total") > val(before, "chopin_http_received_bytes_total") + 7 * 20,
              "bytes in")
        check(val(after, "chopin_http_sent_bytes_total") > val(before, "chopin_http_sent_bytes_total") + 7 * 100,
              "bytes out")
        check(val(after, "chopin_http_connections_accepted_total") >= val(before, "chopin_http_connections_accepted_total") + 2,
              "accepted")
        check(val(after, "chopin_http_connections_open") >= 2, "open (c and the scrape)")
        check(val(after, "chopin_http_connections_idle") >= 1, "c is idle")
        eq(val(after, "chopin_http_requests_in_flight"), 1, "only the scrape is in flight")
        # Database pool state (SQLite: the shared pool's threads, counted once).
        check(val(after, "chopin_db_pool_connections") >= 1, "pool connections")
        eq(val(after, "chopin_db_pool_ready"), val(after, "chopin_db_pool_connections"), "ready")
        eq(val(after, "chopin_workers"), 2, "workers")
        eq(val(after, "chopin_draining"), 0, "not draining")
        # Process metrics: plausible values.
        check(val(after, "process_resident_memory_bytes") > 1 << 20, "rss")
        check(val(after, "process_open_fds") >= 4, "fds")
        check(val(after, "process_cpu_seconds_total") > 0, "cpu")
        st = val(after, "process_start_time_seconds")
        # Boot time (btime) is whole seconds and the clocks may have drifted since boot.
        check(time.time() - 120 < st <= time.time() + 5, "start time %r (now %r)" % (st, time.time()))
        c.close()


@case
def counts_are_summed_over_workers():
    with Server(workers=3) as s:
        before, _ = scrape(s)
        # Fresh connections spread over the workers (EXCLUSIVE wake-ups on the shared socket).
        for _ in range(60):
            eq(get(s, "/plaintext").status, 200)
        after, _ = scrape(s)
        eq(reqs(after, "/plaintext") - reqs(before, "/plaintext"), 60, "sum over workers")


@case
def bearer_token_required_when_set():
    with Server(env={"METRICS_TOKEN": "s3cret-token"}) as s:
        r = get(s, "/metrics")
        eq(r.status, 401, "no token")
        check("Bearer" in (r.header("WWW-Authenticate") or ""), "challenge")
        eq(get(s, "/metrics", headers={"Authorization": "Bearer wrong"}).status, 401, "wrong")
        eq(get(s, "/metrics", headers={"Authorization": "Bearer s3cret-toke"}).status, 401, "prefix")
        eq(get(s, "/metrics", headers={"Authorization": "Bearer s3cret-tokenX"}).status, 401, "longer")
        eq(get(s, "/metrics", headers={"Authorization": "Basic s3cret-token"}).status, 401, "scheme")
        samples, _ = scrape(s, headers={"Authorization": "Bearer s3cret-token"})
        eq(reqs(samples, "/metrics", status="4xx"), 5, "refusals are counted")


@case
def off_and_custom_path():
    with Server(env={"METRICS": "off"}) as s:
        eq(get(s, "/metrics").status, 404, "METRICS=off")
    with Server(env={"METRICS_PATH": "/internal/prom"}) as s:
        eq(get(s, "/metrics").status, 404, "moved")
        samples, _ = scrape(s, path="/internal/prom")
        check(("chopin_workers", frozenset()) in samples, "served on the custom path")


@case
def separate_port():
    mport = free_port()
    with Server(env={"METRICS_PORT": str(mport), "METRICS_TOKEN": "t0k"}, workers=2) as s:
        eq(get(s, "/metrics").status, 404, "not on the application's port")
        for _ in range(3):
            eq(get(s, "/json").status, 200)
        samples, _ = scrape(s, port=mport, headers={"Authorization": "Bearer t0k"})
        eq(reqs(samples, "/json"), 3, "counts of the application's port")
        c = socket.create_connection(("127.0.0.1", mport), timeout=5)
        c.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        check(c.recv(100).startswith(b"HTTP/1.1 401"), "token on the side port too")
        c.close()
        c = socket.create_connection(("127.0.0.1", mport), timeout=5)
        c.sendall(b"GET /other HTTP/1.1\r\nAuthorization: Bearer t0k\r\n\r\n")
        check(c.recv(100).startswith(b"HTTP/1.1 404"), "other paths 404")
        c.close()


@case
def postgres_pools_are_summed_over_workers():
    url = os.environ.get("CHOPIN_PG_URL")
    if not url:
        check(os.environ.get("CHOPIN_REQUIRE_PG") != "1", "CHOPIN_REQUIRE_PG=1 but no CHOPIN_PG_URL")
        print("  (no CHOPIN_PG_URL: PostgreSQL case skipped)")
        return
    with Server(workers=2, env={"DATABASE_URL": url, "DB_POOL_SIZE": "2"}) as s:
        for _ in range(5):
            eq(get(s, "/db").status, 200)
        deadline = time.time() + 5
        while True:
            samples, _ = scrape(s)
            # Pool state is copied on each worker's 250 ms tick: poll until it shows.
            if (val(samples, "chopin_db_pool_ready") == 4 and
                    val(samples, "chopin_db_queries_total") >= 5) or time.time() > deadline:
                break
            time.sleep(0.2)
        eq(val(samples, "chopin_db_pool_connections"), 4, "2 workers x DB_POOL_SIZE=2")
        eq(val(samples, "chopin_db_pool_ready"), 4, "all ready")
        check(val(samples, "chopin_db_queries_total") >= 5, "queries counted")
        eq(val(samples, "chopin_db_unavailable_total"), 0, "none unavailable")


@case
def bad_metrics_port_stops_start():
    s = Server(env={"METRICS_PORT": "70000"})
    try:
        s.start()
        raise AssertionError("started with METRICS_PORT=70000")
    except Exception as e:  # lib.Failure: exited at start
        check("exited at start" in str(e), str(e))
        check("METRICS_PORT" in s.stderr(), "names the setting")


if __name__ == "__main__":
    run("integration/metrics")
