#!/usr/bin/env python3
"""Turns bench/db.sh's runs into a Markdown table (medians) and gnuplot data.
Usage: db_report.py runs.tsv out.md out.dat "subtitle"."""
import csv
import statistics
import sys

LABELS = {
    "db": "/db",
    "queries": "/queries?queries=20",
    "fortunes": "/fortunes",
    "updates": "/updates?queries=20",
    "cached": "/cached-queries?count=100",
    "pgbench": "pgbench -M prepared (same SELECT)",
}


def main():
    tsv, md, dat, subtitle = sys.argv[1:5]
    rows = list(csv.DictReader(open(tsv), delimiter="\t"))
    order = []
    by = {}
    for r in rows:
        if r["test"] not in by:
            order.append(r["test"])
        by.setdefault(r["test"], []).append(r)

    def med(test, key):
        vals = [float(r[key]) for r in by[test] if r[key] not in ("", None)]
        return statistics.median(vals) if vals else None

    pg = med("pgbench", "req_s") if "pgbench" in by else None
    out = ["# Database benchmark", "", subtitle, "",
           "| test | req/s (median) | p99 ms | chopin CPU-s per M req | PostgreSQL CPU-s per M req"
           " | errors | runs (req/s) |",
           "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    chart = []
    for t in order:
        rps = med(t, "req_s")
        p99 = med(t, "p99_ms")
        cpu = med(t, "cpu_s_per_M")
        pgcpu = med(t, "pg_cpu_s_per_M") if "pg_cpu_s_per_M" in by[t][0] else None
        errs = sum(int(r["errors"] or 0) for r in by[t])
        runs = ", ".join("%.0f" % float(r["req_s"]) for r in by[t])
        lat = ("%.2f" % p99) if p99 is not None else "-"
        if t == "pgbench":
            lat += " (avg)"
        out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            LABELS.get(t, t), "{:,.0f}".format(rps), lat,
            "-" if cpu is None else "%.2f" % cpu, "-" if pgcpu is None else "%.2f" % pgcpu,
            errs if t != "pgbench" else "-", runs))
        chart.append((LABELS.get(t, t).split("?")[0].split(" (")[0], rps))
    if pg and "db" in by:
        pgb = {r["run"]: float(r["req_s"]) for r in by["pgbench"]}
        rounds = ["%.2f" % (float(r["req_s"]) / pgb[r["run"]]) for r in by["db"] if pgb.get(r["run"])]
        out += ["", "**/db over HTTP / pgbench: %.2fx** (medians of the same run; each round, /db then"
                " pgbench back to back: %s)" % (med("db", "req_s") / pg, ", ".join(rounds))]
    errors = sum(int(r["errors"] or 0) for t in order if t != "pgbench" for r in by[t])
    if errors:
        out += ["", "WARNING: %d socket errors or non-2xx responses; these figures are not valid." % errors]
    open(md, "w").write("\n".join(out) + "\n")
    with open(dat, "w") as f:
        for label, rps in chart:
            f.write('"%s" %.0f\n' % (label, rps))


if __name__ == "__main__":
    main()
