using System.Globalization;
using System.Text.RegularExpressions;

namespace FlashDeal.Load;

/// <summary>One soak window: every call that ended in [<see cref="FromSecond"/>, <see cref="ToSecond"/>), and the
/// services' resident memory when it closed.</summary>
/// <param name="Complete">False for the last window when the run ended inside it (drift compares complete windows only).</param>
public sealed record SoakWindow(
    int Index,
    int FromSecond,
    int ToSecond,
    long Calls,
    long Errors,
    double RatePerSecond,
    double P50Ms,
    double P95Ms,
    double P99Ms,
    double MaxMs,
    IReadOnlyDictionary<string, long>? MemoryBytes,
    bool Complete)
{
    public double ErrorPercent => Calls == 0 ? 0 : 100.0 * Errors / Calls;
}

/// <summary>One process's resident memory at the end of the first and of the last complete window.</summary>
public sealed record MemoryDrift(string Process, long FirstBytes, long LastBytes, double GrowthPercent);

/// <summary>The last complete soak window against the first: latency and throughput as ratios (last / first), errors as
/// both windows' error percentages, memory growth per process in percent. <see cref="Problem"/> says why there is
/// nothing to compare (fewer than two complete windows).</summary>
public sealed record SoakDrift(
    int FirstWindow,
    int LastWindow,
    double P50Ratio,
    double P95Ratio,
    double P99Ratio,
    double RateRatio,
    double FirstErrorPercent,
    double LastErrorPercent,
    IReadOnlyList<MemoryDrift> Memory,
    string? Problem)
{
    /// <summary>The largest growth of any one process (a leak in one service must not hide in a sum).</summary>
    public MemoryDrift? WorstMemory => Memory.Count == 0 ? null : Memory.MaxBy(m => m.GrowthPercent);

    public static SoakDrift Compute(IReadOnlyList<SoakWindow> windows)
    {
        ArgumentNullException.ThrowIfNull(windows);
        var complete = windows.Where(w => w.Complete).ToList();
        if (complete.Count < 2)
        {
            return new SoakDrift(-1, -1, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, [],
                $"drift needs at least 2 complete windows, the run had {complete.Count}");
        }
        var first = complete[0];
        var last = complete[^1];
        var memory = new List<MemoryDrift>();
        if (first.MemoryBytes is { } before && last.MemoryBytes is { } after)
        {
            foreach (var (process, bytes) in before.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                if (after.TryGetValue(process, out var now) && bytes > 0)
                {
                    memory.Add(new MemoryDrift(process, bytes, now, Math.Round(100.0 * (now - bytes) / bytes, 2)));
                }
            }
        }
        return new SoakDrift(first.Index, last.Index, Ratio(last.P50Ms, first.P50Ms), Ratio(last.P95Ms, first.P95Ms),
            Ratio(last.P99Ms, first.P99Ms), Ratio(last.RatePerSecond, first.RatePerSecond), Math.Round(first.ErrorPercent, 3),
            Math.Round(last.ErrorPercent, 3), memory, null);
    }

    private static double Ratio(double last, double first) =>
        first > 0 ? Math.Round(last / first, 3) : last > 0 ? double.PositiveInfinity : 1;
}

/// <summary>The soak part of a report: the window length, every window, the drift.</summary>
public sealed record ReportSoak(int WindowSeconds, IReadOnlyList<SoakWindow> Windows, SoakDrift Drift);

/// <summary>
/// A threshold on the drift between the first and the last complete soak window: <c>drift:p95&lt;1.5x</c> (last p95 below
/// 1.5 times the first), <c>drift:p50</c>, <c>drift:p99</c>, <c>drift:rate&gt;0.9x</c> (throughput), <c>drift:errors&lt;1%</c>
/// (the error percentage rose by less than one point), <c>drift:memory&lt;50%</c> (no process grew by half or more).
/// Fails when the run had fewer than two complete windows.
/// </summary>
public sealed partial record DriftThreshold(string Expression, string Metric, string Comparator, double Value)
{
    public static bool IsDrift(string expression) =>
        expression?.TrimStart().StartsWith("drift:", StringComparison.OrdinalIgnoreCase) ?? false;

    public static DriftThreshold Parse(string expression)
    {
        ArgumentNullException.ThrowIfNull(expression);
        var match = Pattern().Match(expression.Trim());
        if (!match.Success)
        {
            throw new ArgumentException(
                $"Drift threshold '{expression}' is not drift:metric comparator value (metric p50|p95|p99|rate with x, " +
                "errors|memory with %), e.g. 'drift:p95<1.5x' or 'drift:memory<50%'.", nameof(expression));
        }
        var metric = match.Groups["metric"].Value.ToLowerInvariant();
        var unit = match.Groups["unit"].Value.ToLowerInvariant();
        var ratio = metric is "p50" or "p95" or "p99" or "rate";
        if (ratio ? unit is not ("" or "x") : unit is not ("" or "%"))
        {
            throw new ArgumentException(
                $"Drift threshold '{expression}': {metric} is {(ratio ? "a ratio (x)" : "a percentage (%)")}, not '{unit}'.",
                nameof(expression));
        }
        return new DriftThreshold(expression.Trim(), metric,
            match.Groups["comparator"].Value, double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture));
    }

    public ThresholdResult Evaluate(SoakDrift? drift)
    {
        if (drift is null)
        {
            return new ThresholdResult(Expression, false, "-", "not a soak run: give --window (or --profile soak)");
        }
        if (drift.Problem is not null)
        {
            return new ThresholdResult(Expression, false, "-", drift.Problem);
        }
        double actual;
        string shown;
        switch (Metric)
        {
            case "memory":
                if (drift.WorstMemory is not { } worst)
                {
                    return new ThresholdResult(Expression, false, "-", "no memory was sampled (no processes to read)");
                }
                actual = worst.GrowthPercent;
                shown = Invariant($"{actual:+0.#;-0.#;0}% ({worst.Process}: {worst.FirstBytes / 1048576.0:0.#} → {worst.LastBytes / 1048576.0:0.#} MiB)");
                break;
            case "errors":
                actual = drift.LastErrorPercent - drift.FirstErrorPercent;
                shown = Invariant($"{actual:+0.###;-0.###;0} points ({drift.FirstErrorPercent:0.###}% → {drift.LastErrorPercent:0.###}%)");
                break;
            default:
                actual = Metric switch
                {
                    "p50" => drift.P50Ratio,
                    "p95" => drift.P95Ratio,
                    "p99" => drift.P99Ratio,
                    _ => drift.RateRatio,
                };
                shown = Invariant($"{actual:0.###}x (window {drift.FirstWindow} → {drift.LastWindow})");
                break;
        }
        return new ThresholdResult(Expression, Threshold.Holds(actual, Comparator, Value), shown, null);
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^drift\s*:\s*(?<metric>p50|p95|p99|rate|errors|memory)\s*(?<comparator><=|>=|==|<|>)\s*(?<value>[0-9]+(?:\.[0-9]+)?)\s*(?<unit>x|%)?$",
        RegexOptions.IgnoreCase)]
    private static partial Regex Pattern();
}

/// <summary>Cuts the per-second cells into windows as the sampler drains them, and reads memory when one closes.</summary>
internal sealed class SoakWindows(int seconds, Func<IReadOnlyDictionary<string, long>>? memoryProbe)
{
    private readonly List<SoakWindow> _done = [];
    private LatencyHistogram _latency = new(5);
    private long _errors;
    private int _index = -1;
    private int _secondsIn;

    public int Seconds { get; } = Math.Max(1, seconds);

    public void Add(int second, IEnumerable<MetricsCollector.SecondCell> cells)
    {
        var index = second / Seconds;
        if (index != _index && _secondsIn > 0)
        {
            Close(complete: false);
        }
        _index = index;
        _secondsIn++;
        foreach (var cell in cells)
        {
            _latency.Merge(cell.Latency);
            _errors += cell.Errors;
        }
        if ((second + 1) % Seconds == 0)
        {
            Close(complete: _secondsIn == Seconds);
        }
    }

    public IReadOnlyList<SoakWindow> Finish()
    {
        if (_secondsIn > 0)
        {
            Close(complete: false);
        }
        return [.. _done];
    }

    private void Close(bool complete)
    {
        IReadOnlyDictionary<string, long>? memory = null;
        try
        {
            memory = memoryProbe?.Invoke();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            // A process gone or unreadable: the window has no memory sample.
        }
        double Ms(long micros) => Math.Round(micros / 1_000.0, 3);
        var from = _index * Seconds;
        _done.Add(new SoakWindow(_index, from, from + _secondsIn, _latency.Count, _errors,
            Math.Round(_latency.Count / (double)_secondsIn, 1), Ms(_latency.ValueAtPercentile(50)), Ms(_latency.ValueAtPercentile(95)),
            Ms(_latency.ValueAtPercentile(99)), Ms(_latency.Max), memory, complete));
        _latency = new LatencyHistogram(5);
        _errors = 0;
        _secondsIn = 0;
    }
}
