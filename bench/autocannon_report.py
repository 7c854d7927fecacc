#!/usr/bin/env python3
"""Rows and report of bench/autocannon.sh.

  autocannon_report.py header
      the first line of the runs file (tab-separated)
  autocannon_report.py row JSON LAYOUT TEST SERVER RUN TICKS HZ CLIENT_CPU_S WALL_S BUSY CORES
      one run: autocannon's JSON report (-j), the server tree's CPU ticks during it,
      autocannon's own CPU seconds over the wall time of its invocation, and the machine's busy
      ticks over CORES cores -> one row on stdout; exit status 1 if the JSON is missing or
      malformed
  autocannon_report.py report META RUNS NOTES COMMANDS
      the Markdown report on stdout: medians per layout, test and server, then every run
"""
import json
import statistics
import sys

from report import read_meta, read_tsv  # http.sh's report: the same key=value and TSV files

COLUMNS = ["layout", "test", "server", "run", "req_s", "requests", "p50_ms", "p99_ms", "max_ms",
           "errors", "timeouts", "non2xx", "cpu_s", "cpu_s_per_M", "server_cpu_pct",
           "client_cpu_pct", "other_cpu_pct"]
# autocannon at or above this share of one core is taken to be the bottleneck.
SATURATED_PCT = 90


def row(args):
    path, layout, test, server, run, ticks, hz, client_s, wall, busy, cores = args
    try:
        with open(path) as f:
            r = json.load(f)
        requests = r["requests"]["total"]
        secs = r["duration"]
        lat = r["latency"]
        # Connection errors and timeouts are in `errors`; a body that differs from an expected
        # one (not used here) would be a mismatch.
        errors = r["errors"] + r["mismatches"]
        timeouts, non2xx = r["timeouts"], r["non2xx"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        print("autocannon_report.py: %s: %s" % (path, e), file=sys.stderr)
        return 1
    cpu = int(ticks) / float(hz)
    wall, client_s = float(wall), float(client_s)
    others = 100 * (int(busy) / float(hz) - cpu - client_s) / (wall * int(cores))
    values = [layout, test, server, run, "%.0f" % (requests / secs), requests,
              "%g" % lat["p50"], "%g" % lat["p99"], "%g" % lat["max"], errors, timeouts, non2xx,
              "%.2f" % cpu, "%.3f" % (cpu / requests * 1e6 if requests else 0),
              "%.0f" % (100 * cpu / secs), "%.0f" % (100 * client_s / wall), "%.0f" % others]
    print("\t".join(str(v) for v in values))
    return 0


def limit(r, worker_cores):
    """What held a run back: "client" (autocannon's core full), "server" (its worker cores full)
    or "neither" (autocannon short of CPU with both below the mark: other processes)."""
    if float(r["client_cpu_pct"]) >= SATURATED_PCT:
        return "client"
    if float(r["server_cpu_pct"]) / worker_cores >= SATURATED_PCT:
        return "server"
    return "neither"


def med(runs, key):
    return statistics.median(float(r[key]) for r in runs)


def fmt_int(v):
    return "{:,.0f}".format(v)


def report(args):
    meta_path, runs_path, notes_path, commands_path = args
    meta = read_meta(meta_path)
    runs = read_tsv(runs_path)
    with open(notes_path) as f:
        notes = [line.rstrip("\n") for line in f if line.strip()]
    with open(commands_path) as f:
        commands = [line.rstrip("\n") for line in f if line.strip()]
    workers = {"pinned": 1, "all": int(meta.get("all_workers", 0))}
    p = print

    p("# autocannon: chopin vs nginx")
    p()
    p("The `bombardier -c 256 -d 10s` rows of issue 12, with autocannon standing in: bombardier "
      "cannot be installed on this machine "
      "([bench/README.md](../README.md#bombardier-not-run-here)).")
    p()
    p("**%s, %s, %s cores, %s, %s RAM; %s; %s; %s.**" % (
        meta.get("date"), meta.get("cpu"), meta.get("cores"), meta.get("kernel"),
        meta.get("memory"), meta.get("nginx"), meta.get("autocannon"), meta.get("chopin")))
    p()
    p("`autocannon -c %s -d %s`, no pipelining, on `/json` and `/plaintext`; chopin in "
      "performance mode and nginx started and checked as `bench/http.sh` does (same worker "
      "count); medians of %s runs of %s s, servers interleaved, after a %s s warm-up each. "
      "Layouts: **pinned** = server with 1 worker under `taskset -c %s`, autocannon under "
      "`taskset -c %s`; **all** = server with %s workers, autocannon unpinned." % (
          meta.get("conns"), meta.get("duration"), meta.get("runs"), meta.get("duration"),
          meta.get("warmup"), meta.get("server_cpu"), meta.get("client_cpu"),
          meta.get("all_workers")))
    if meta.get("quick") == "1":
        p()
        p("**QUICK=1 smoke run: too short to compare servers.**")
    if notes:
        p()
        p("## Warnings")
        p()
        for n in notes:
            p("- " + n)

    groups = {}
    for r in runs:
        groups.setdefault((r["layout"], r["test"]), {}).setdefault(r["server"], []).append(r)
    order = [(layout, test) for test in ("json", "plaintext") for layout in ("pinned", "all")
             if (layout, test) in groups]

    p()
    p("## Results")
    p()
    p("| test | layout | chopin req/s | nginx req/s | chopin/nginx | p99 ms chopin / nginx | "
      "errors + non-2xx chopin / nginx | server CPU-s per M req chopin / nginx | "
      "autocannon % of a core, chopin / nginx runs |")
    p("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    bound = []
    for layout, test in order:
        g = groups[(layout, test)]
        c, n = g.get("chopin"), g.get("nginx")

        def both(fn, fmt):
            return " / ".join(fmt(fn(x)) if x else "-" for x in (c, n))

        rate_c = med(c, "req_s") if c else 0
        rate_n = med(n, "req_s") if n else 0
        ratio = "**%.2f**" % (rate_c / rate_n) if rate_c and rate_n else "-"
        p("| /%s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            test, layout, fmt_int(rate_c) if c else "-", fmt_int(rate_n) if n else "-", ratio,
            both(lambda x: med(x, "p99_ms"), lambda v: "%g" % v),
            both(lambda x: sum(int(r["errors"]) + int(r["non2xx"]) for r in x), str),
            both(lambda x: med(x, "cpu_s_per_M"), lambda v: "%.2f" % v),
            both(lambda x: med(x, "client_cpu_pct"), lambda v: "%.0f" % v)))
        for name, rs in (("chopin", c), ("nginx", n)):
            if rs:
                bound.append((layout, test, name, rs))

    p()
    p("## What limits the rate?")
    p()
    p("autocannon runs in one Node.js thread. A run where it used %d%% of one core or more is "
      "**client**-bound; one where the server used %d%% of its worker cores or more is "
      "**server**-bound; in a run that is **neither**, autocannon was short of CPU because other "
      "processes shared its core (see *others*). Only server-bound runs compare the servers' "
      "req/s; the others compare them by CPU per request. Percentages are medians of the runs."
      % (SATURATED_PCT, SATURATED_PCT))
    p()
    p("| test | layout | server | runs: client / server / neither | autocannon % of a core | "
      "server % of its worker cores | others % of the machine |")
    p("| --- | --- | --- | ---: | ---: | ---: | ---: |")
    count = {"client": 0, "server": 0, "neither": 0}
    others = []
    for layout, test, name, rs in bound:
        share = max(workers.get(layout, 1), 1)
        kinds = [limit(r, share) for r in rs]
        for k in kinds:
            count[k] += 1
        others += [float(r["other_cpu_pct"]) for r in rs]
        p("| /%s | %s | %s | %d / %d / %d | %.0f | %.0f | %.0f |" % (
            test, layout, name, kinds.count("client"), kinds.count("server"),
            kinds.count("neither"), med(rs, "client_cpu_pct"),
            med(rs, "server_cpu_pct") / share, med(rs, "other_cpu_pct")))
    total = sum(count.values())
    p()
    if total:
        if count["server"] == 0:
            verdict = ("No server reached %d%% of its worker cores in any run, so the req/s "
                       "columns measure the client side, not the servers: autocannon used %d%% of "
                       "a core or more in %d of %d runs" % (SATURATED_PCT, SATURATED_PCT,
                                                           count["client"], total))
        else:
            verdict = ("The server was saturated in %d of %d runs (only there do req/s compare "
                       "the servers); autocannon in %d" % (count["server"], total,
                                                          count["client"]))
        if count["neither"]:
            lo, hi = "%.0f" % min(others), "%.0f" % max(others)
            verdict += (", and in the other %d it was short of CPU, other processes taking "
                        "%s%% of the machine" % (count["neither"],
                                                 lo if lo == hi else lo + "-" + hi))
        p("**%s. Compare the servers by CPU-s per million requests.**" % verdict)
    p()
    p("## Every run")
    p()
    p("| layout | test | server | run | req/s | requests | p50 ms | p99 ms | max ms | errors | "
      "timeouts | non-2xx | server CPU-s | CPU-s per M req | server % of a core | "
      "autocannon % of a core | others % of the machine |")
    p("|" + " --- |" * 3 + " ---: |" * 14)
    for r in runs:
        p("| " + " | ".join(r[k] for k in COLUMNS) + " |")

    p()
    p("## How to read it")
    p()
    p("- **req/s**: requests autocannon completed, divided by the duration it reports.")
    p("- **p99 ms**: autocannon's own 99th percentile: its histogram counts whole milliseconds, "
      "records only 2xx answers, and is not corrected for coordinated omission (no `-R`).")
    p("- **errors**: autocannon's `errors` (connection errors and timeouts, 10 s) plus "
      "`mismatches`; **non-2xx**: answers with any other status. Any of either fails the run.")
    p("- **server CPU-s per M req**: user+system CPU of the server's process tree (nginx: "
      "master and workers) from `/proc/PID/stat` over the run, per million requests.")
    p("- **autocannon % of a core**: its user+system CPU over the wall time of its invocation "
      "(Node.js's start, about 0.4 CPU-s, included).")
    p("- **others % of the machine**: the machine's busy time (`/proc/stat`) less the server's "
      "and autocannon's, over all cores: other processes on a shared host, per run. Where it is "
      "high, neither the req/s nor the client-bound verdict can be trusted.")
    p()
    p("## Commands")
    p()
    p("From the repository root; PORT is each server's port.")
    p()
    p("```")
    for c in commands:
        p(c)
    p("```")
    return 0


def main(argv):
    if len(argv) >= 2 and argv[1] == "header":
        print("\t".join(COLUMNS))
        return 0
    if len(argv) == 13 and argv[1] == "row":
        return row(argv[2:])
    if len(argv) == 6 and argv[1] == "report":
        return report(argv[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
