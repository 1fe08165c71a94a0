#!/usr/bin/env python3
"""After a spike through the local mesh: what the local Prometheus scraped must back every dashboard panel and alert.

  observability.py PROMETHEUS_URL PSQL_DSN REPORT_JSON [REPORT_JSON ...]

Checks (one line each, "ok" or "FAIL"; exit 1 if any failed):
  - every target of every panel of charts/flashdeal/files/dashboards/*.json returns data over the run
    ($__rate_interval -> 1m, $deal_id -> .+): a panel that can never show anything fails;
  - every recording rule of charts/flashdeal/files/prometheus/flashdeal-rules.yaml has produced samples, and every
    series an alert reads exists (its metric selectors, each checked on its own);
  - per spike report: Prometheus's accepted-orders counter for the deal equals the orders the load tool saw accepted;
  - cardinality: no label value of any series is a user id of the run (auth.users), and FlashDeal's own series stay few.
Only loopback: the Prometheus of ./flashdeal up and the mesh's PostgreSQL.
"""
import glob
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
prom, dsn, reports = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3:]
failed = 0


def result(ok, what):
    global failed
    print(("  ok    " if ok else "  FAIL  ") + what)
    failed += 0 if ok else 1


def api(path, **params):
    url = f"{prom}/api/v1/{path}?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=30) as response:
        body = json.load(response)
    if body.get("status") != "success":
        raise RuntimeError(f"{path}: {body}")
    return body["data"]


def has_data(expr, start, end):
    data = api("query_range", query=expr, start=start, end=end, step="5")
    return any(series["values"] for series in data["result"])


# The run's window: from the first report's start (a minute of margin) to now.
start = time.time() - 900
for path in reports:
    started = json.load(open(path))["metadata"].get("started")
    if started:
        start = min(start, time.mktime(time.strptime(started, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone - 60)
end = time.time()

# Recording rules run every 15 s: wait (bounded) for one evaluation after the run.
deadline = time.time() + 60
while time.time() < deadline:
    groups = api("rules")["groups"]
    if all(g.get("lastEvaluation", "").startswith("2") and not g["lastEvaluation"].startswith("0001") for g in groups):
        break
    time.sleep(2)
end = time.time() + 20
time.sleep(20)  # one more recording interval and a scrape after the last calls

# --- dashboards ---------------------------------------------------------------------------------------------------
panels = 0
for path in sorted(glob.glob(os.path.join(ROOT, "charts/flashdeal/files/dashboards/*.json"))):
    dashboard = json.load(open(path))
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"].replace("$__rate_interval", "1m").replace("$deal_id", ".+")
            panels += 1
            try:
                ok = has_data(expr, start, end)
            except Exception as e:  # a query Prometheus rejects is a broken panel
                ok, expr = False, f"{expr} ({e})"
            result(ok, f"{os.path.basename(path)} / {panel['title']} / {target['refId']}: {expr if not ok else 'has data'}")

# --- rules --------------------------------------------------------------------------------------------------------
SELECTOR = re.compile(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?")
NOT_METRICS = {"sum", "by", "rate", "increase", "max", "min", "avg", "count", "on", "group_left", "and", "or", "unless",
               "histogram_quantile", "clamp_min", "deriv", "without", "le", "bool", "ignoring", "group_right", "vector"}
rules_text = open(os.path.join(ROOT, "charts/flashdeal/files/prometheus/flashdeal-rules.yaml")).read()
live = {g["name"]: g for g in api("rules")["groups"]}
for group in live.values():
    for rule in group["rules"]:
        if rule["type"] == "recording":
            result(has_data(rule["name"], start, end), f"recording rule {rule['name']} has samples")
        else:
            query = re.sub(r"\[[0-9a-z]+\]", "", rule["query"])
            # Grouping clauses name labels, not series.
            query = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", query)
            seen = set()
            for name, labels in SELECTOR.findall(query):
                if name in NOT_METRICS or name in seen or re.fullmatch(r"[0-9.e]+", name) or name.startswith("_"):
                    continue
                seen.add(name)
                selector = name + (labels or "")
                result(has_data(f"count({selector})", start, end),
                       f"alert {rule['name']}: its series {selector} exist")
result(all(g in live for g in ("flashdeal.recording", "flashdeal.alerts")) and "flashdeal.recording" in rules_text,
       "Prometheus loaded both rule groups of flashdeal-rules.yaml")

# --- accepted orders: Prometheus counts what the load tool counted --------------------------------------------------
for path in reports:
    meta = json.load(open(path))["metadata"]
    deal, accepted = meta["deal_id"], int(meta["accepted"])
    data = api("query", query=f'sum(flashdeal_orders_placements_total{{deal_id="{deal}",outcome="ACCEPTED"}})')
    counted = int(float(data["result"][0]["value"][1])) if data["result"] else 0
    result(counted == accepted, f"{os.path.basename(os.path.dirname(path))}: accepted-orders counter {counted} = load tool's {accepted}")

# --- cardinality ----------------------------------------------------------------------------------------------------
users = set(subprocess.run(["psql", dsn, "-Atc", "select user_id from auth.users"], check=True, capture_output=True,
                           text=True).stdout.split())
values = set()
for label in api("labels"):
    if label != "__name__":
        values.update(api(f"label/{urllib.parse.quote(label)}/values"))
leaked = users & values
result(len(users) >= 100 and not leaked,
       f"no label value is one of the run's {len(users)} user ids" + (f" (leaked: {sorted(leaked)[:3]})" if leaked else ""))
own = int(float(api("query", query='count({__name__=~"flashdeal_.*"})')["result"][0]["value"][1]))
result(own < 3000, f"FlashDeal's own series stay few: {own}")

print(f"observability: {panels} panel queries checked, {failed} failed")
sys.exit(1 if failed else 0)
