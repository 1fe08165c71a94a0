#!/usr/bin/env python3
"""Renders panels of the chart's Grafana dashboards as SVG line charts from a real Prometheus (no Grafana needed):
the images in docs/observability.md come from a local spike this way.

  python3 scripts/render-panels.py PROMETHEUS_URL OUT_DIR [--minutes N] [--dashboard flashdeal-flash-sale.json]
                                   [--panel TITLE ...]

Each panel's queries run as the dashboard has them ($__rate_interval -> 10s for a short spike, $deal_id -> every
deal) over the last N minutes (default 3), one SVG per panel named after its title.
"""
import argparse
import html
import json
import os
import re
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
W, H, LEFT, RIGHT, TOP, BOTTOM = 720, 260, 70, 220, 30, 30


def query_range(prometheus, expr, start, end, step):
    url = f"{prometheus}/api/v1/query_range?" + urllib.parse.urlencode(
        {"query": expr, "start": start, "end": end, "step": step})
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)["data"]["result"]


def legend(template, labels):
    text = re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template or "") or \
        ",".join(f"{k}={v}" for k, v in labels.items() if k != "__name__") or "value"
    return text if len(text) <= 28 else text[:12] + "…" + text[-12:]


def number(value, unit):
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.1f} s"
    if unit == "percentunit":
        return f"{value * 100:.0f}%"
    return f"{value:.0f}" if abs(value) >= 10 or value == 0 else f"{value:.2g}"


def render(panel, series, start, end, out):
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "")
    values = [v for _, points in series for _, v in points]
    top = max(values) if values else 1
    top = top * 1.1 if top > 0 else 1
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    x = lambda t: LEFT + (t - start) / (end - start) * plot_w
    y = lambda v: TOP + plot_h - v / top * plot_h
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
           f'<rect width="{W}" height="{H}" fill="#fff"/>',
           f'<text x="{LEFT}" y="18" font-size="13" font-weight="bold">{html.escape(panel["title"])}</text>',
           f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="#999"/>',
           f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#999"/>']
    for fraction in (0, 0.5, 1):
        value = top / 1.1 * fraction if values else 0
        svg.append(f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end" fill="#555">{number(value, unit)}</text>')
        svg.append(f'<line x1="{LEFT}" y1="{y(value):.1f}" x2="{LEFT + plot_w}" y2="{y(value):.1f}" stroke="#eee"/>')
    for t, anchor in ((start, "start"), (end, "end")):
        svg.append(f'<text x="{x(t):.1f}" y="{H - 10}" text-anchor="{anchor}" fill="#555">'
                   f'{time.strftime("%H:%M:%S", time.gmtime(t))} UTC</text>')
    for i, (name, points) in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in points)
        svg.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.6" points="{path}"/>')
        svg.append(f'<rect x="{LEFT + plot_w + 12}" y="{TOP + i * 16}" width="10" height="10" fill="{colour}"/>')
        svg.append(f'<text x="{LEFT + plot_w + 26}" y="{TOP + i * 16 + 9}">{html.escape(name)}</text>')
    if not series:
        svg.append(f'<text x="{LEFT + plot_w / 2}" y="{TOP + plot_h / 2}" text-anchor="middle" fill="#999">no data</text>')
    svg.append("</svg>")
    with open(out, "w") as f:
        f.write("\n".join(svg) + "\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("prometheus")
    parser.add_argument("out")
    parser.add_argument("--minutes", type=float, default=3)
    parser.add_argument("--dashboard", default="flashdeal-flash-sale.json")
    parser.add_argument("--panel", action="append")
    args = parser.parse_args()
    dashboard = json.load(open(os.path.join(ROOT, "charts/flashdeal/files/dashboards", args.dashboard)))
    end = time.time()
    start = end - args.minutes * 60
    step = max(1, int(args.minutes * 60 / 180))
    os.makedirs(args.out, exist_ok=True)
    for panel in dashboard["panels"]:
        if panel["type"] != "timeseries" or (args.panel and panel["title"] not in args.panel):
            continue
        series = []
        for target in panel["targets"]:
            expr = target["expr"].replace("$__rate_interval", "10s").replace("$deal_id", ".+")
            for item in query_range(args.prometheus.rstrip("/"), expr, start, end, step):
                points = [(float(t), float(v)) for t, v in item["values"] if v not in ("NaN", "+Inf", "-Inf")]
                if points:
                    series.append((legend(target.get("legendFormat"), item["metric"]), points))
        name = re.sub(r"[^a-z0-9]+", "-", panel["title"].lower()).strip("-")
        render(panel, series, start, end, os.path.join(args.out, f"{name}.svg"))
        print(f"{name}.svg: {len(series)} series")


if __name__ == "__main__":
    main()
