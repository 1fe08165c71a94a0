#!/usr/bin/env python3
"""Writes the chart's Grafana dashboards (charts/flashdeal/files/dashboards/*.json) from the panel lists below.

  python3 scripts/dashboards.py [OUT_DIR]      (default: charts/flashdeal/files/dashboards)

Edit the panels here and regenerate; charts/validate.sh checks that the committed JSON is what this script writes.
Every expression is backed by a real series (no `or vector(0)`): tests/e2e/observability.py evaluates each one against
the Prometheus of a real local spike and fails a panel that shows nothing. Metric names: docs/observability.md.
"""
import json, os, sys
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "charts/flashdeal/files/dashboards")
PLACE = 'rpc_method="flashdeal.orders.v1.OrderService/PlaceOrder"'
RI = '$__rate_interval'

def ds():
    return {"type": "prometheus", "uid": "${datasource}"}

def panel(pid, title, desc, exprs, x, y, w=12, h=8, kind="timeseries", unit=None, legend=None, stack=False):
    targets = []
    for i, e in enumerate(exprs):
        expr, fmt = (e if isinstance(e, tuple) else (e, None))
        t = {"refId": chr(65 + i), "datasource": ds(), "expr": expr, "range": True}
        if fmt: t["legendFormat"] = fmt
        targets.append(t)
    p = {"id": pid, "type": kind, "title": title, "description": desc, "datasource": ds(),
         "gridPos": {"x": x, "y": y, "w": w, "h": h}, "targets": targets,
         "fieldConfig": {"defaults": {}, "overrides": []}, "options": {}}
    if unit: p["fieldConfig"]["defaults"]["unit"] = unit
    if kind == "timeseries":
        p["fieldConfig"]["defaults"]["custom"] = {"lineWidth": 1, "fillOpacity": 10 if not stack else 40,
                                                  "stacking": {"mode": "normal" if stack else "none", "group": "A"}}
        p["options"] = {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull", "max"]},
                        "tooltip": {"mode": "multi", "sort": "desc"}}
    if kind == "stat":
        p["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                        "colorMode": "value", "graphMode": "area", "textMode": "auto"}
    return p

def quantiles(bucket, selector="", qs=(0.50, 0.95, 0.99), by="le"):
    """One (expr, legend) per quantile of a histogram, summed over replicas: the p50/p95/p99 lines of a latency panel."""
    return [(f'histogram_quantile({q:.2f}, sum by ({by}) (rate({bucket}{{{selector}}}[{RI}])))'.replace("{}", ""),
             f"p{round(q * 100)}") for q in qs]


def dashboard(uid, title, desc, panels, variables=()):
    tmpl = [{"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus",
             "current": {}, "hide": 0}]
    for v in variables:
        tmpl.append(v)
    return {"uid": uid, "title": title, "description": desc, "tags": ["flashdeal"], "timezone": "browser",
            "schemaVersion": 39, "version": 1, "editable": True, "refresh": "5s",
            "time": {"from": "now-30m", "to": "now"}, "templating": {"list": tmpl}, "panels": panels,
            "annotations": {"list": []}, "links": []}

deal_var = {"name": "deal_id", "label": "Deal", "type": "query", "datasource": ds(),
            "query": {"query": "label_values(flashdeal_deal_stock_remaining, deal_id)", "refId": "deal"},
            "definition": "label_values(flashdeal_deal_stock_remaining, deal_id)", "refresh": 2,
            "includeAll": True, "multi": True, "allValue": ".+", "current": {"text": "All", "value": "$__all"}}
D = 'deal_id=~"$deal_id"'

flash = [
    panel(1, "Stock remaining", "Units left per live deal: Redis's counter, read every second by the catalog.",
          [(f'max by (deal_id) (flashdeal_deal_stock_remaining{{{D}}})', "{{deal_id}}")], 0, 0, 12, 8),
    panel(2, "Sold", "Share of each live deal's stock sold.",
          [(f'1 - max by (deal_id) (flashdeal_deal_stock_remaining{{{D}}}) / max by (deal_id) (flashdeal_deal_stock_initial{{{D}}})', "{{deal_id}}")],
          12, 0, 6, 8, kind="stat", unit="percentunit"),
    panel(3, "Sell-out time", "Seconds from the deal's start until it was first seen sold out.",
          [(f'max by (deal_id) (flashdeal_deal_sell_out_time_seconds{{{D}}})', "{{deal_id}}")], 18, 0, 6, 8, kind="stat", unit="s"),
    panel(4, "Orders accepted per second", "PlaceOrder calls that reserved stock, per deal (all replicas).",
          [(f'sum by (deal_id) (rate(flashdeal_orders_placements_total{{outcome="ACCEPTED",{D}}}[{RI}]))', "{{deal_id}}")], 0, 8, 12, 8, unit="reqps"),
    panel(5, "Refusals by reason", "PlaceOrder answers that were not a new order: SOLD_OUT, PER_USER_LIMIT_REACHED, REPLAYED, DEAL_NOT_STARTED …",
          [(f'sum by (outcome) (rate(flashdeal_orders_placements_total{{outcome!="ACCEPTED"}}[{RI}]))', "{{outcome}}")], 12, 8, 12, 8, unit="reqps", stack=True),
    panel(6, "PlaceOrder latency", "Server-side duration of PlaceOrder over both transports, all replicas.",
          quantiles("flashdeal_rpc_server_duration_seconds_bucket", PLACE),
          0, 16, 12, 8, unit="s"),
    panel(7, "PlaceOrder calls by outcome", "ok = an order (new or replayed); refused = a business or caller refusal; fault = the server's failure (the error budget).",
          [(f'sum by (outcome) (rate(flashdeal_rpc_server_duration_seconds_count{{{PLACE}}}[{RI}]))', "{{outcome}}")], 12, 16, 12, 8, unit="reqps", stack=True),
    panel(8, "Order stream lag to PostgreSQL", "Accepted orders not yet written to PostgreSQL (unread plus pending), the largest any replica reports; and those delivered but not yet acknowledged.",
          [("max(flashdeal_orders_stream_lag)", "lag"), ("max(flashdeal_orders_stream_pending)", "pending")], 0, 24, 12, 8),
    panel(9, "PlaceOrder error budget (1 h)", "Share of PlaceOrder calls in the last hour that did not end in a server fault (SLO 99.9 %).",
          [(f'1 - (sum(increase(flashdeal_rpc_server_duration_seconds_count{{{PLACE},outcome="fault"}}[1h])) or 0 * sum(increase(flashdeal_rpc_server_duration_seconds_count{{{PLACE}}}[1h]))) / sum(increase(flashdeal_rpc_server_duration_seconds_count{{{PLACE}}}[1h]))', "availability")],
          12, 24, 6, 8, kind="stat", unit="percentunit"),
    panel(10, "Replicas ready", "Replicas whose every ready check passes, per job.",
          [('count by (job) (min by (job, instance) (flashdeal_health_check_status) == 1)', "{{job}}")], 18, 24, 6, 8, kind="stat"),
]
svc = [
    panel(1, "Calls per second by RPC", "Every API call, gRPC and REST, by method.",
          [(f'sum by (rpc_method) (rate(flashdeal_rpc_server_duration_seconds_count[{RI}]))', "{{rpc_method}}")], 0, 0, 12, 8, unit="reqps"),
    panel(2, "Server faults by RPC", "Share of calls ending UNAVAILABLE, INTERNAL, UNKNOWN, DEADLINE_EXCEEDED … per method.",
          [(f'(sum by (rpc_method) (rate(flashdeal_rpc_server_duration_seconds_count{{outcome="fault"}}[{RI}])) or 0 * sum by (rpc_method) (rate(flashdeal_rpc_server_duration_seconds_count[{RI}]))) / sum by (rpc_method) (rate(flashdeal_rpc_server_duration_seconds_count[{RI}]))', "{{rpc_method}}")],
          12, 0, 12, 8, unit="percentunit"),
    panel(3, "p99 latency by RPC", "Server-side p99 per method, both transports.",
          [(f'histogram_quantile(0.99, sum by (rpc_method, le) (rate(flashdeal_rpc_server_duration_seconds_bucket[{RI}])))', "{{rpc_method}}")], 0, 8, 12, 8, unit="s"),
    panel(4, "Calls by status code", "Status codes per method (REST statuses mapped back to their gRPC code).",
          [(f'sum by (rpc_method, code) (rate(flashdeal_rpc_server_duration_seconds_count[{RI}]))', "{{rpc_method}} {{code}}")], 12, 8, 12, 8, unit="reqps"),
    panel(5, "Calls by transport", "gRPC (h2c) and REST (JSON transcoding).",
          [(f'sum by (transport) (rate(flashdeal_rpc_server_duration_seconds_count[{RI}]))', "{{transport}}")], 0, 16, 8, 8, unit="reqps", stack=True),
    panel(6, "Rate-limit refusals", "Calls refused by a replica's own per-user or per-address limit, by policy.",
          [(f'sum by (flashdeal_rate_limit_policy) (rate(flashdeal_rate_limit_refused_total[{RI}]))', "{{flashdeal_rate_limit_policy}}")], 8, 16, 8, 8, unit="reqps"),
    panel(7, "Token rejections by reason", "Calls refused for their bearer token: ACCESS_TOKEN_MISSING, ACCESS_TOKEN_EXPIRED, ACCESS_TOKEN_INVALID, KEYS_UNAVAILABLE.",
          [(f'sum by (reason) (rate(flashdeal_auth_tokens_rejected_total[{RI}]))', "{{reason}}")], 16, 16, 8, 8, unit="reqps"),
    panel(8, "Cache hit ratio", "Catalog read cache (deal, product) and the validated-token cache.",
          [(f'sum by (cache) (rate(flashdeal_catalog_cache_lookups_total{{result="hit"}}[{RI}])) / sum by (cache) (rate(flashdeal_catalog_cache_lookups_total[{RI}]))', "{{cache}}"),
           (f'sum(rate(flashdeal_auth_token_cache_lookups_total{{result="hit"}}[{RI}])) / sum(rate(flashdeal_auth_token_cache_lookups_total[{RI}]))', "tokens")],
          0, 24, 12, 8, unit="percentunit"),
    panel(9, "HTTP requests by route and status", "ASP.NET Core's own request metric: every route, health and /metrics included.",
          [(f'sum by (http_route, http_response_status_code) (rate(http_server_request_duration_seconds_count[{RI}]))', "{{http_route}} {{http_response_status_code}}")], 12, 24, 12, 8, unit="reqps"),
    panel(10, "Orders paid, cancelled, expired", "Order transitions after placement.",
          [(f'sum by (transition) (rate(flashdeal_orders_transitions_total[{RI}]))', "{{transition}}")], 0, 32, 12, 8, unit="ops"),
]
dep = [
    panel(1, "Health checks", "1 = passing, 0 = failing, per check, the worst replica.",
          [('min by (check) (flashdeal_health_check_status)', "{{check}}")], 0, 0, 12, 8),
    panel(2, "PostgreSQL pool", "Npgsql connections in use and idle against the pool's maximum, per replica.",
          [('sum by (instance, db_client_connection_state) (db_client_connection_count)', "{{instance}} {{db_client_connection_state}}"),
           ('max by (instance) (db_client_connection_max)', "{{instance}} max")], 12, 0, 12, 8),
    panel(3, "PostgreSQL command duration p99", "Npgsql's command duration per replica.",
          [(f'histogram_quantile(0.99, sum by (instance, le) (rate(db_client_operation_duration_seconds_bucket[{RI}])))', "{{instance}}")], 0, 8, 12, 8, unit="s"),
    panel(11, "Redis script latency p99", "EVALSHA calls as the replicas see them, by script (place_order is the hot path).",
          [(f'histogram_quantile(0.99, sum by (script, le) (rate(flashdeal_redis_script_duration_seconds_bucket[{RI}])))', "{{script}}")],
          0, 40, 12, 8, unit="s"),
    panel(4, "Persistence batch latency", "Time to write one batch of order stream entries to PostgreSQL (p50, p99).",
          quantiles("flashdeal_orders_stream_batch_duration_seconds_bucket", qs=(0.50, 0.99)),
          12, 8, 12, 8, unit="s"),
    panel(5, "Orders persisted per second", "Stream entries written to PostgreSQL and acknowledged.",
          [(f'sum(rate(flashdeal_orders_stream_persisted_total[{RI}]))', "persisted")], 0, 16, 12, 8, unit="ops"),
    panel(6, "CPU per replica", "Process CPU time per second (1 = one core).",
          [(f'sum by (job, instance) (rate(dotnet_process_cpu_time_seconds_total[{RI}]))', "{{instance}}")], 12, 16, 12, 8),
    panel(7, "Thread pool", "Work items queued and threads, per replica: a growing queue means the replica is saturated.",
          [('max by (instance) (dotnet_thread_pool_queue_length)', "{{instance}} queue"),
           ('max by (instance) (dotnet_thread_pool_thread_count)', "{{instance}} threads")], 0, 24, 12, 8),
    panel(8, "GC", "Collections per second by generation, per replica.",
          [(f'sum by (instance, dotnet_gc_heap_generation) (rate(dotnet_gc_collections_total[{RI}]))', "{{instance}} {{dotnet_gc_heap_generation}}")],
          12, 24, 12, 8, unit="ops"),
    panel(9, "Memory", "Working set per replica.",
          [('max by (instance) (dotnet_process_memory_working_set_bytes)', "{{instance}}")], 0, 32, 12, 8, unit="bytes"),
    panel(10, "Outgoing HTTP (JWKS, payments)", "HttpClient request rate by host.",
          [(f'sum by (server_address) (rate(http_client_request_duration_seconds_count[{RI}]))', "{{server_address}}")], 12, 32, 12, 8, unit="reqps"),
]
for name, d in [("flashdeal-flash-sale.json", dashboard("flashdeal-flash-sale", "FlashDeal / Flash sale", "Per live deal: stock, orders accepted per second, refusals, PlaceOrder latency and errors, the order stream's lag to PostgreSQL.", flash, [deal_var])),
                ("flashdeal-services.json", dashboard("flashdeal-services", "FlashDeal / Services (RED per RPC)", "Rate, errors and duration of every RPC over gRPC and REST; rate limits, token rejections, caches.", svc)),
                ("flashdeal-dependencies.json", dashboard("flashdeal-dependencies", "FlashDeal / Dependencies and runtime", "Redis and PostgreSQL as the replicas see them (health, pool, command latency, persistence) and the .NET runtime (CPU, thread pool, GC, memory).", dep))]:
    open(f"{OUT}/{name}", "w").write(json.dumps(d, indent=2) + "\n")
