#!/usr/bin/env python3
"""Turn the raw runs of bench/http.sh into the Markdown report and chart data.

Usage: bench/report.py --meta F --runs F [--idle F] [--notes F] [--commands F]
                       [--chart-data F] [--chart-name NAME] > report.md

Every number in the tables is the median over the recorded runs of that one
metric (so the p99 shown need not come from the median-throughput run); the
spread column, (max - min) / median of req/s, says how far to trust it.
Standard library only, like the rest of the harness.
"""
import argparse
import csv
import statistics
import sys
from collections import defaultdict

TEST_ORDER = ["plaintext-pipe", "plaintext", "json", "notes", "auth-me", "login"]
LAYOUT_ORDER = ["pinned", "all"]
TEST_TITLE = {
    "plaintext-pipe": "/plaintext, pipelined",
    "plaintext": "/plaintext",
    "json": "/json",
    "notes": "/api/notes/:id",
    "auth-me": "/api/auth/me (bearer)",
    "login": "POST /api/auth/login",
}


def read_meta(path):
    meta = {}
    with open(path) as f:
        for line in f:
            key, sep, value = line.rstrip("\n").partition("=")
            if sep:
                meta[key] = value
    return meta


def read_tsv(path):
    try:
        with open(path, newline="") as f:
            return list(csv.DictReader(f, delimiter="\t"))
    except FileNotFoundError:
        return []


def read_lines(path):
    try:
        with open(path) as f:
            return [line.rstrip("\n") for line in f if line.strip()]
    except (FileNotFoundError, TypeError):
        return []


class Cell:
    """Medians of every metric over the runs of one server in one test and layout."""

    def __init__(self, rows):
        def med(key):
            return statistics.median(float(r[key]) for r in rows)

        self.runs = len(rows)
        self.req_s = med("req_s")
        self.p99 = med("p99_ms")
        self.cpu_per_m = med("cpu_s_per_M")
        self.cpu_pct = med("cpu_pct")
        self.rss = med("rss_kib")
        self.errors = sum(int(r["errors"]) for r in rows)
        rates = [float(r["req_s"]) for r in rows]
        self.spread = (max(rates) - min(rates)) / self.req_s if self.req_s else 0.0


def group(runs):
    cells = defaultdict(list)
    for r in runs:
        cells[(r["test"], r["layout"], r["server"])].append(r)
    return {k: Cell(v) for k, v in cells.items()}


def num(x, digits=0):
    return "—" if x is None else f"{x:,.{digits}f}"


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def get(cell, attr):
    return getattr(cell, attr) if cell else None


def ordered_keys(cells, servers):
    seen = {(t, l) for (t, l, s) in cells if s in servers}
    tests = [t for t in TEST_ORDER if any(k[0] == t for k in seen)]
    layouts = [l for l in LAYOUT_ORDER if any(k[1] == l for k in seen)]
    return [(t, l) for t in tests for l in layouts if (t, l) in seen]


def errors_cell(*cells):
    total = sum(c.errors for c in cells if c)
    return "0" if total == 0 else f"**{total} ⚠**"


def results_table(cells):
    out = [
        "| test | layout | chopin req/s | nginx req/s | chopin/nginx | p99 ms chopin | p99 ms nginx "
        "| CPU-s/M req chopin | CPU-s/M req nginx | CPU chopin/nginx | RSS KiB chopin | RSS KiB nginx "
        "| spread chopin / nginx | errors |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    chart = []
    for test, layout in ordered_keys(cells, {"chopin", "nginx"}):
        c, n = cells.get((test, layout, "chopin")), cells.get((test, layout, "nginx"))
        r = ratio(get(c, "req_s"), get(n, "req_s"))
        spread = " / ".join("—" if x is None else f"{x:.0%}" for x in (get(c, "spread"), get(n, "spread")))
        out.append(
            f"| {TEST_TITLE[test]} | {layout} | {num(get(c, 'req_s'))} | {num(get(n, 'req_s'))} "
            f"| {num(r, 2)} | {num(get(c, 'p99'), 2)} | {num(get(n, 'p99'), 2)} "
            f"| {num(get(c, 'cpu_per_m'), 2)} | {num(get(n, 'cpu_per_m'), 2)} "
            f"| {num(ratio(get(c, 'cpu_per_m'), get(n, 'cpu_per_m')), 2)} "
            f"| {num(get(c, 'rss'))} | {num(get(n, 'rss'))} | {spread} | {errors_cell(c, n)} |")
        chart.append((test, layout, get(c, "req_s"), get(n, "req_s"), r))
    return out, chart


def standard_table(cells):
    keys = ordered_keys(cells, {"chopin-std"})
    if not keys:
        return []
    out = [
        "| endpoint | layout | standard req/s | performance req/s | standard/performance "
        "| p99 ms | CPU-s/M req | RSS KiB | errors |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for test, layout in keys:
        s = cells[(test, layout, "chopin-std")]
        # Only /json has a performance-mode twin measured in the same runs; /api/auth/me is
        # compared with its unauthenticated twin, /api/notes/:id (one row of similar size).
        if test == "json":
            p = cells.get((test, layout, "chopin"))
        elif test == "auth-me":
            p = cells.get(("notes", layout, "chopin-std"))
        else:
            p = None
        out.append(
            f"| {TEST_TITLE[test]} | {layout} | {num(s.req_s)} | {num(get(p, 'req_s'))} "
            f"| {num(ratio(s.req_s, get(p, 'req_s')), 2)} | {num(s.p99, 2)} "
            f"| {num(s.cpu_per_m, 2)} | {num(s.rss)} | {errors_cell(s)} |")
    return out


def idle_table(rows):
    if not rows:
        return []
    out = [
        "| server | connections open | RSS before KiB | RSS with idle connections KiB "
        "| KiB per connection | RSS after they closed KiB | closed by the server |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        if r["timeout_s"] == "NA":
            closed = "not measured (set IDLE_CLOSE=1)"
        else:
            closed = (f"{r['closed_by_server']} of {r['open']} within the cap "
                      f"(timeout {r['timeout_s']} s); idle {r['idle_min_s']}–{r['idle_max_s']} s, "
                      f"median {r['idle_p50_s']} s")
            if r["closed_early"] not in ("0", ""):
                closed += f"; {r['closed_early']} before the RSS was read"
        open_ = r["open"] if r["failed"] == "0" else f"{r['open']} (**{r['failed']} failed ⚠**)"
        out.append(
            f"| {r['server']} | {open_} | {num(float(r['rss_before_kib']))} "
            f"| {num(float(r['rss_idle_kib']))} | {float(r['kib_per_conn']):.2f} "
            f"| {num(float(r['rss_after_kib']))} | {closed} |")
    return out


def write_chart_data(path, chart):
    with open(path, "w") as f:
        f.write("# test layout chopin_req_s nginx_req_s ratio\n")
        for test, layout, c, n, r in chart:
            fmt = lambda x: "NaN" if x is None else f"{x:.3f}"
            f.write(f'"{test}" "{layout}" {fmt(c)} {fmt(n)} {fmt(r)}\n')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--meta", required=True)
    ap.add_argument("--runs", required=True)
    ap.add_argument("--idle")
    ap.add_argument("--notes")
    ap.add_argument("--commands")
    ap.add_argument("--chart-data")
    ap.add_argument("--chart-name")
    ap.add_argument("--nginx-conf")
    a = ap.parse_args()

    meta = read_meta(a.meta)
    runs = read_tsv(a.runs)
    cells = group(runs)
    idle = read_tsv(a.idle) if a.idle else []
    notes = read_lines(a.notes)
    commands = read_lines(a.commands)
    results, chart = results_table(cells)
    if a.chart_data:
        write_chart_data(a.chart_data, chart)

    p = print
    p(f"# HTTP benchmark: chopin vs nginx, {meta.get('date', '?')}")
    p()
    if meta.get("stand_in"):
        p(f"> **Dry run:** `{meta['stand_in']}` stood in for chopin. These numbers compare "
          "that stand-in with nginx, not chopin.")
        p()
    if meta.get("quick") == "1":
        p("> **QUICK=1 smoke run:** short single runs; the numbers are too noisy to quote.")
        p()
    p(f"- Machine: {meta.get('cpu', '?')}, {meta.get('cores', '?')} cores, "
      f"{meta.get('memory', '?')}, {meta.get('kernel', '?')}; load average "
      f"{meta.get('loadavg_start', '?')} at the start, {meta.get('loadavg_end', '?')} after the load tests")
    others = [float(r["other_cpu_pct"]) for r in runs if r.get("other_cpu_pct")]
    if others:
        p(f"- Other processes on the machine used a median {statistics.median(others):.0f}% "
          f"(max {max(others):.0f}%) of its CPU time during the runs"
          + (f"; {meta['busy_before']}% just before" if meta.get("busy_before") else ""))
    p(f"- Versions: chopin {meta.get('chopin', '?')}; {meta.get('nginx', '?')}; "
      f"wrk {meta.get('wrk', '?')}")
    p(f"- Protocol: each number is the median of {meta.get('runs')} runs of {meta.get('duration')} s "
      f"after a {meta.get('warmup')} s warm-up, {meta.get('conns')} connections, pipelining "
      f"{meta.get('depth')} deep where stated. The servers run side by side and take turns "
      "within each test, the first server changing every run. Layouts: **pinned** = server "
      "with 1 worker under `taskset -c 0`, `wrk -t1` under `taskset -c 1`; **all** = server "
      f"with {meta.get('all_workers')} workers and `wrk -t{meta.get('all_workers')}`, unpinned, "
      "sharing the cores.")
    p()
    p("## Results")
    p()
    for line in results:
        p(line)
    p()
    std = standard_table(cells)
    p("## Standard mode (router + middleware)")
    p()
    if std:
        p("chopin `--mode standard` with `ENVIRONMENT=production`, measured in the same runs "
          "as the /json row above. For /api/auth/me the twin columns hold /api/notes/:id "
          "(no authentication, one row of similar size) instead of performance mode.")
        p()
        for line in std:
            p(line)
    else:
        p("Not measured (SKIP_STANDARD=1, or the server failed its check; see Warnings).")
    skipped = [n for n in notes if n.startswith("notes:")]
    if skipped:
        p()
        for n in skipped:
            p(f"- {n}")
    p()
    if idle:
        p("## Idle keep-alive connections")
        p()
        p("Each connection made one `GET /plaintext` and then sat idle; RSS is the whole "
          "process tree's (nginx: master and worker), user-space memory only.")
        p()
        for line in idle_table(idle):
            p(line)
        p()
    warnings = [n for n in notes if not n.startswith("notes:")]
    busy = [r for r in runs if float(r.get("other_cpu_pct") or 0) > 10]
    if busy:
        warnings.append(f"{len(busy)} of {len(runs)} runs shared the machine with other work "
                        "(over 10% of its CPU time); their req/s and p99 are unreliable, "
                        "CPU-s/M req less so")
    p("## Warnings")
    p()
    if warnings:
        for n in warnings:
            p(f"- ⚠ {n}")
    else:
        p("None: every run had 0 errors, every server passed its checks and exited cleanly.")
    p()
    if a.chart_name:
        p(f"![requests per second, chopin vs nginx]({a.chart_name})")
        p()
    p("## How to read it")
    p()
    p("- **req/s**: responses per second as counted by wrk (with pipelining, every response "
      "counts).")
    p("- **p99 ms**: the exact 99th percentile of the latencies wrk measured. wrk's own "
      "percentiles include synthetic samples from its coordinated-omission correction, which "
      "under pipelining are wrong by construction; `bench/wrk/latency.lua` undoes that "
      "correction exactly (method in its header). With pipelining one sample is one batch, "
      "from the write until its last response.")
    p("- **CPU-s/M req**: user + system CPU seconds of the server's whole process tree over "
      "the run, from `/proc/PID/stat`, per million responses; lower is better. Loopback "
      "TCP work done in softirq context may be charged to either side.")
    p("- **RSS KiB**: resident memory of the whole process tree (nginx: master + workers), "
      "sampled half-way through the run.")
    p("- **spread**: (max − min) / median of req/s over the runs. This is a shared VM: "
      "treat differences smaller than the spread, or under ~15% on non-pipelined tests, "
      "as noise unless they repeat in another sitting.")
    p("- **errors**: wrk's socket errors (connect, read, write, timeout) plus responses "
      "with status ≥ 400, summed over the runs. Anything but 0 makes the row invalid.")
    p("- In **pinned** runs without pipelining, one wrk thread on one core is often the "
      "bottleneck; compare CPU-s/M req there rather than req/s.")
    p()
    p("## Commands")
    p()
    p("```")
    p(f"# ports: {meta.get('ports')}; PORT below is the port of the server measured")
    for c in commands:
        p(c)
    p("```")
    conf = read_lines(a.nginx_conf)
    if conf:
        p()
        p("<details><summary>nginx.conf as generated by bench/nginx.sh (worker_processes follows the layout)</summary>")
        p()
        p("```nginx")
        with open(a.nginx_conf) as f:
            p(f.read().rstrip("\n"))
        p("```")
        p()
        p("</details>")


if __name__ == "__main__":
    sys.exit(main())
