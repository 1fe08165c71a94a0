#!/usr/bin/env python3
"""The list-cache bench's table from the load tool's report.json files (load/lists-bench.sh): per operation the median
over the runs of p50, p95 and calls/s with the catalog's cache and without, the per-run p95s, and the ratios.

    load/lists_bench_summary.py RESULTS_DIR RUNS VUS DURATION PAGE_SIZE
"""
import json
import os
import statistics
import sys

results, runs, vus, duration, page_size = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
names = {"list_deals": "ListDeals (live + upcoming, 10)", "list_products": f"ListProducts, first page of {page_size}"}


def load(variant, run):
    with open(os.path.join(results, f"{variant}-{run}", "report.json"), encoding="utf-8") as f:
        report = json.load(f)
    return {o["operation"]: o for o in report["operations"]}


data = {v: [load(v, r) for r in range(1, runs + 1)] for v in ("cached", "uncached")}


def ms(value):
    return f"{value:.1f} ms" if value >= 10 else f"{value:.2f} ms"


lines = [
    f"{vus} virtual users back to back over gRPC for {duration} per run, {runs} run(s) per variant rotated; medians over the runs "
    "(the last column: each run's p95). Errors in all runs: "
    + ", ".join(f"{v} {sum(o['errors'] for r in data[v] for o in r.values())}" for v in data) + ".",
    "",
    "| operation | cache | p50 | p95 | calls/s | p95 per run |",
    "|---|---|---:|---:|---:|---|",
]
ratios = []
for op, title in names.items():
    medians = {}
    for variant in ("cached", "uncached"):
        rows = [r[op] for r in data[variant] if op in r]
        if not rows:
            continue
        p50 = statistics.median(o["p50Ms"] for o in rows)
        p95 = statistics.median(o["p95Ms"] for o in rows)
        rate = statistics.median(o["ratePerSecond"] for o in rows)
        medians[variant] = (p50, p95, rate)
        lines.append(f"| {title} | {'on' if variant == 'cached' else 'off'} | {ms(p50)} | {ms(p95)} | {rate:.0f} | "
                     + " / ".join(ms(o["p95Ms"]) for o in rows) + " |")
    if len(medians) == 2 and medians["cached"][0] > 0 and medians["cached"][1] > 0:
        c, u = medians["cached"], medians["uncached"]
        ratios.append(f"{title}: without the cache p50 ×{u[0] / c[0]:.1f}, p95 ×{u[1] / c[1]:.1f}, "
                      f"throughput ×{c[2] / u[2]:.1f} with it" if u[2] > 0 else f"{title}: no uncached calls")
lines.append("")
lines.append("Ratios (medians): " + "; ".join(ratios) + ".")
print("\n".join(lines))
