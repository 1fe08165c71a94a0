using System.Globalization;
using System.Text;

namespace FlashDeal.Load;

/// <summary>
/// chart.svg, written by hand (no charting package): latency p50/p95/p99 of all calls per second on top (log axis when the
/// values span more than a factor of 20, linear otherwise), throughput below (calls, errors, iterations started, dropped per
/// second), stages shaded and named across both, axes with ticks, a legend per panel. White background so it reads on
/// GitHub in light and dark themes.
/// </summary>
public static class SvgChart
{
    private const double Width = 960;
    private const double Left = 72;
    private const double Right = 24;
    private const double PlotWidth = Width - Left - Right;
    private const double LatencyTop = 78;
    private const double LatencyHeight = 270;
    private const double ThroughputTop = LatencyTop + LatencyHeight + 64;
    private const double ThroughputHeight = 170;
    private const double Height = ThroughputTop + ThroughputHeight + 48;

    private static readonly string[] BandColours = ["#eef3fb", "#fbf3e9"];

    private static readonly string[] OperationColours = ["#8c564b", "#e377c2", "#17becf", "#bcbd22", "#9467bd", "#7f7f7f"];

    public static string Render(LoadReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var series = report.TimeSeries;
        var end = Math.Max(1, Math.Max(
            report.Stages.Count == 0 ? 0 : report.Stages.Max(s => s.OffsetSeconds + s.PlannedSeconds),
            series.Count == 0 ? 0 : series.Max(s => s.Second + 1)));
        end = Math.Max(end, report.Run.ElapsedSeconds);
        double X(double second) => Left + PlotWidth * Math.Clamp(second / end, 0, 1);

        var svg = new StringBuilder();
        svg.Append(Invariant($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n"));
        svg.Append(Invariant($"<rect x=\"0\" y=\"0\" width=\"{Width}\" height=\"{Height}\" fill=\"#ffffff\"/>\n"));
        var title = report.Metadata.GetValueOrDefault("scenario", report.Run.Name);
        var subtitle = string.Join("  ·  ", new[] { "mode", "transport", "target", "git_commit", "git commit", "machine", "started" }
            .Where(report.Metadata.ContainsKey).Select(k => $"{k} {report.Metadata[k]}"));
        svg.Append(Invariant($"<text x=\"{Left}\" y=\"24\" font-size=\"16\" font-weight=\"bold\" fill=\"#111\">{Escape($"FlashDeal load: {title}")}</text>\n"));
        svg.Append(Invariant($"<text x=\"{Left}\" y=\"42\" font-size=\"11\" fill=\"#555\">{Escape(subtitle)}</text>\n"));

        // Stage bands behind both panels, names above the latency panel. A stage without planned time (a scenario's set-up
        // joined to the report) is not on the timeline.
        var timeline = report.Stages.Where(s => s.PlannedSeconds > 0).ToList();
        for (var i = 0; i < timeline.Count; i++)
        {
            var stage = timeline[i];
            var x0 = X(stage.OffsetSeconds);
            var x1 = X(stage.OffsetSeconds + stage.PlannedSeconds);
            foreach (var (top, height) in new[] { (LatencyTop, LatencyHeight), (ThroughputTop, ThroughputHeight) })
            {
                svg.Append(Invariant($"<rect class=\"stage\" x=\"{x0:0.#}\" y=\"{top}\" width=\"{Math.Max(0, x1 - x0):0.#}\" height=\"{height}\" fill=\"{BandColours[i % 2]}\"/>\n"));
            }
            svg.Append(Invariant($"<text x=\"{(x0 + x1) / 2:0.#}\" y=\"{LatencyTop - 6}\" text-anchor=\"middle\" font-size=\"11\" fill=\"#333\">{Escape(stage.Name)}</text>\n"));
        }

        // Latency panel: all calls bold; with 2–6 operations also each one's p99, dashed, to see which one is slow.
        var operations = series.SelectMany(s => s.Operations).Select(o => o.Operation)
            .Where(o => o != OperationStats.Iteration).Distinct().Order(StringComparer.Ordinal).ToList();
        if (operations.Count is < 2 or > 6)
        {
            operations = [];
        }
        var latencies = series.SelectMany(s => new[] { s.All.P50Micros, s.All.P95Micros, s.All.P99Micros }
                .Concat(s.Operations.Where(o => operations.Contains(o.Operation)).Select(o => o.P99Micros)))
            .Where(v => v > 0).ToList();
        var low = latencies.Count == 0 ? 100 : Math.Max(1, latencies.Min());
        var high = latencies.Count == 0 ? 10_000 : Math.Max(low + 1, latencies.Max());
        var logarithmic = high / (double)low > 20;
        Axis latencyAxis = logarithmic
            ? Axis.Logarithmic(low, high, LatencyTop, LatencyHeight)
            : Axis.Linear(0, high * 1.1, LatencyTop, LatencyHeight);
        Grid(svg, latencyAxis, TickLabel);
        svg.Append(Invariant($"<text x=\"16\" y=\"{LatencyTop + LatencyHeight / 2}\" transform=\"rotate(-90 16 {LatencyTop + LatencyHeight / 2})\" text-anchor=\"middle\" fill=\"#333\">latency, all calls ({(logarithmic ? "log" : "linear")})</text>\n"));
        var latencySeries = new (string Name, string Colour, Func<SecondSample, double> Value)[]
        {
            ("p50", "#1f77b4", s => s.All.P50Micros),
            ("p95", "#ff7f0e", s => s.All.P95Micros),
            ("p99", "#d62728", s => s.All.P99Micros),
        };
        foreach (var (name, colour, value) in latencySeries)
        {
            Line(svg, name, colour, series.Where(s => s.All.Count > 0).Select(s => (s.Second, value(s))), X, latencyAxis, dashed: false);
        }
        Legend(svg, LatencyTop + 14, [.. latencySeries.Select(s => (s.Name, s.Colour, false))]);
        for (var i = 0; i < operations.Count; i++)
        {
            var operation = operations[i];
            Line(svg, $"{operation} p99", OperationColours[i], series
                .Select(s => (s.Second, Stats: s.Operations.FirstOrDefault(o => o.Operation == operation)))
                .Where(p => p.Stats is { Count: > 0 })
                .Select(p => (p.Second, (double)p.Stats!.P99Micros)), X, latencyAxis, dashed: true);
        }
        if (operations.Count > 0)
        {
            Legend(svg, LatencyTop + 30, [.. operations.Select((o, i) => ($"{o} p99", OperationColours[i], true))]);
        }
        TimeAxis(svg, end, LatencyTop + LatencyHeight, X, labels: false);

        // Throughput panel.
        var throughputSeries = new List<(string Name, string Colour, Func<SecondSample, double> Value, bool Dashed)>
        {
            ("calls/s", "#2ca02c", s => s.All.Count, false),
            ("iterations started/s", "#9467bd", s => s.IterationsStarted, true),
            ("errors/s", "#d62728", s => s.All.Errors, false),
        };
        if (series.Any(s => s.Dropped > 0))
        {
            throughputSeries.Add(("dropped/s", "#7f7f7f", s => s.Dropped, true));
        }
        var peak = series.Count == 0 ? 1 : series.Max(s => throughputSeries.Max(t => t.Value(s)));
        // Arrival rate: the planned rate, piecewise linear like the stages, to compare with what started.
        var planned = report.Stages.Where(s => s.PlannedSeconds > 0).ToList();
        var arrival = report.Run.Mode == "arrival" && planned.Count > 0;
        if (arrival)
        {
            peak = Math.Max(peak, planned.Max(s => Math.Max(s.FromTarget, s.Target)));
        }
        var throughputAxis = Axis.Linear(0, Math.Max(1, peak) * 1.1, ThroughputTop, ThroughputHeight);
        Grid(svg, throughputAxis, v => v.ToString("0.##", CultureInfo.InvariantCulture));
        svg.Append(Invariant($"<text x=\"16\" y=\"{ThroughputTop + ThroughputHeight / 2}\" transform=\"rotate(-90 16 {ThroughputTop + ThroughputHeight / 2})\" text-anchor=\"middle\" fill=\"#333\">per second</text>\n"));
        List<(string Name, string Colour, bool Dashed)> legend = [.. throughputSeries.Select(s => (s.Name, s.Colour, s.Dashed))];
        if (arrival)
        {
            var points = planned.SelectMany(s => new[]
            {
                Invariant($"{X(s.OffsetSeconds):0.#},{throughputAxis.Y(s.FromTarget):0.#}"),
                Invariant($"{X(s.OffsetSeconds + s.PlannedSeconds):0.#},{throughputAxis.Y(s.Target):0.#}"),
            });
            svg.Append(Invariant($"<g class=\"series\" data-series=\"target/s\" fill=\"none\" stroke=\"#444\" stroke-width=\"1.2\" stroke-dasharray=\"2 3\">\n<polyline points=\"{string.Join(" ", points)}\"/>\n</g>\n"));
            legend.Add(("target/s", "#444", true));
        }
        foreach (var (name, colour, value, dashed) in throughputSeries)
        {
            Line(svg, name, colour, series.Select(s => (s.Second, value(s))), X, throughputAxis, dashed);
        }
        Legend(svg, ThroughputTop + 14, legend);
        TimeAxis(svg, end, ThroughputTop + ThroughputHeight, X, labels: true);
        svg.Append(Invariant($"<text x=\"{Left + PlotWidth / 2}\" y=\"{Height - 8}\" text-anchor=\"middle\" fill=\"#333\">time since start</text>\n"));
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private sealed record Axis(double Top, double Height, Func<double, double> Y, IReadOnlyList<double> Ticks)
    {
        public static Axis Linear(double min, double max, double top, double height)
        {
            var step = NiceStep((max - min) / 5);
            var ticks = new List<double>();
            for (var v = Math.Ceiling(min / step) * step; v <= max + step * 1e-9; v += step)
            {
                ticks.Add(v);
            }
            return new Axis(top, height, v => top + height - height * (v - min) / (max - min), ticks);
        }

        public static Axis Logarithmic(double min, double max, double top, double height)
        {
            var lo = Math.Floor(Math.Log10(min / 1.5)); // keep the lowest line off the frame
            var hi = Math.Ceiling(Math.Log10(max));
            if (hi <= lo)
            {
                hi = lo + 1;
            }
            var ticks = new List<double>();
            for (var decade = lo; decade <= hi; decade++)
            {
                foreach (var m in hi - lo <= 3 ? new[] { 1.0, 2, 5 } : [1.0])
                {
                    var v = m * Math.Pow(10, decade);
                    if (v >= Math.Pow(10, lo) && v <= Math.Pow(10, hi))
                    {
                        ticks.Add(v);
                    }
                }
            }
            return new Axis(top, height,
                v => top + height - height * (Math.Log10(Math.Max(v, Math.Pow(10, lo))) - lo) / (hi - lo), ticks);
        }
    }

    private static double NiceStep(double rough)
    {
        if (rough <= 0 || !double.IsFinite(rough))
        {
            return 1;
        }
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(rough)));
        var fraction = rough / magnitude;
        return magnitude * (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10);
    }

    private static void Grid(StringBuilder svg, Axis axis, Func<double, string> label)
    {
        svg.Append(Invariant($"<rect x=\"{Left}\" y=\"{axis.Top}\" width=\"{PlotWidth}\" height=\"{axis.Height}\" fill=\"none\" stroke=\"#999\"/>\n"));
        foreach (var tick in axis.Ticks)
        {
            var y = axis.Y(tick);
            svg.Append(Invariant($"<line x1=\"{Left - 5}\" y1=\"{y:0.#}\" x2=\"{Left + PlotWidth}\" y2=\"{y:0.#}\" stroke=\"#ddd\"/>\n"));
            svg.Append(Invariant($"<text x=\"{Left - 8}\" y=\"{y + 4:0.#}\" text-anchor=\"end\" font-size=\"11\" fill=\"#333\">{Escape(label(tick))}</text>\n"));
        }
    }

    private static void TimeAxis(StringBuilder svg, double end, double y, Func<double, double> x, bool labels)
    {
        var step = end switch
        {
            <= 10 => 1,
            <= 20 => 2,
            <= 60 => 5,
            <= 120 => 10,
            <= 300 => 30,
            <= 600 => 60,
            <= 1800 => 300,
            _ => NiceStep(end / 8),
        };
        for (double t = 0; t <= end + 1e-9; t += step)
        {
            svg.Append(Invariant($"<line x1=\"{x(t):0.#}\" y1=\"{y}\" x2=\"{x(t):0.#}\" y2=\"{y + 5}\" stroke=\"#333\"/>\n"));
            if (labels)
            {
                var text = t < 60 || t % 60 != 0 ? Invariant($"{t:0.#}s") : Invariant($"{t / 60:0}m");
                svg.Append(Invariant($"<text x=\"{x(t):0.#}\" y=\"{y + 18}\" text-anchor=\"middle\" font-size=\"11\" fill=\"#333\">{text}</text>\n"));
            }
        }
    }

    private static void Line(StringBuilder svg, string name, string colour, IEnumerable<(int Second, double Value)> points,
        Func<double, double> x, Axis axis, bool dashed)
    {
        // A second without calls breaks the line instead of drawing a fake zero.
        var segments = new List<List<(int Second, double Value)>>();
        foreach (var point in points.OrderBy(p => p.Second))
        {
            if (segments.Count == 0 || segments[^1][^1].Second != point.Second - 1)
            {
                segments.Add([]);
            }
            segments[^1].Add(point);
        }
        svg.Append(Invariant($"<g class=\"series\" data-series=\"{Escape(name)}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.8\"{(dashed ? " stroke-dasharray=\"5 3\"" : "")}>\n"));
        foreach (var segment in segments)
        {
            var coordinates = string.Join(" ", segment.Select(p => Invariant($"{x(p.Second + 0.5):0.#},{axis.Y(p.Value):0.#}")));
            svg.Append(segment.Count == 1
                ? Invariant($"<circle cx=\"{x(segment[0].Second + 0.5):0.#}\" cy=\"{axis.Y(segment[0].Value):0.#}\" r=\"2\" fill=\"{colour}\"/>\n")
                : $"<polyline points=\"{coordinates}\"/>\n");
        }
        svg.Append("</g>\n");
    }

    private static void Legend(StringBuilder svg, double y, IReadOnlyList<(string Name, string Colour, bool Dashed)> entries)
    {
        var x = Left + 10;
        foreach (var (name, colour, dashed) in entries)
        {
            svg.Append(Invariant($"<line x1=\"{x}\" y1=\"{y - 4}\" x2=\"{x + 22}\" y2=\"{y - 4}\" stroke=\"{colour}\" stroke-width=\"2.5\"{(dashed ? " stroke-dasharray=\"5 3\"" : "")}/>\n"));
            svg.Append(Invariant($"<text x=\"{x + 27}\" y=\"{y}\" font-size=\"11\" fill=\"#111\">{Escape(name)}</text>\n"));
            x += 40 + name.Length * 6.5;
        }
    }

    /// <summary>Axis labels: 500us, 2ms, 1.5s (no trailing zeros).</summary>
    private static string TickLabel(double micros) => micros switch
    {
        < 1_000 => Invariant($"{micros:0.##}us"),
        < 1_000_000 => Invariant($"{micros / 1_000:0.##}ms"),
        _ => Invariant($"{micros / 1_000_000:0.##}s"),
    };

    private static string Escape(string text) => text
        .Replace("&", "&amp;", StringComparison.Ordinal)
        .Replace("<", "&lt;", StringComparison.Ordinal)
        .Replace(">", "&gt;", StringComparison.Ordinal)
        .Replace("\"", "&quot;", StringComparison.Ordinal);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
