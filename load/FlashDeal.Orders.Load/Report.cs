using System.Globalization;

namespace FlashDeal.Orders.Load;

/// <summary>Markdown tables for docs/benchmarks.md: medians over the runs, errors summed.</summary>
public static class Report
{
    public static void Print(Dictionary<string, List<(PhaseResult Result, string Invariant)>> results,
        IReadOnlyList<CeilingResult> ceiling, int buyers, int stock, int concurrency, int runs)
    {
        Console.WriteLine(Invariant(
            $"PlaceOrder over gRPC: {buyers} buyers, {stock} units (per_user_limit 1), {concurrency} in flight, median of {runs} runs"));
        Console.WriteLine();
        Console.WriteLine("| strategy | calls/s | sell-out ms | p50 ms | p95 ms | p99 ms | max ms | accepted | sold out | errors | server CPU µs/call | invariant |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var (strategy, list) in results)
        {
            var r = list.Select(x => x.Result).ToList();
            string[] cells =
            [
                strategy,
                Cell(Median(r, x => x.CallsPerSecond), "F0"),
                Cell(Median(r, x => x.SellOut?.TotalMilliseconds ?? double.NaN), "F0"),
                Cell(Median(r, x => Ms(x, 50)), "F2"),
                Cell(Median(r, x => Ms(x, 95)), "F2"),
                Cell(Median(r, x => Ms(x, 99)), "F2"),
                Cell(Median(r, x => x.LatencyMicros.Max / 1000.0), "F2"),
                Cell(Median(r, x => x.Accepted), "F0"),
                Cell(Median(r, x => x.SoldOut), "F0"),
                Cell(r.Sum(x => x.Errors), "F0"),
                Cell(Median(r, x => x.ServerCpuMicrosPerCall), "F1"),
                list.All(x => x.Invariant == "ok") ? "ok" : string.Join("; ", list.Select(x => x.Invariant)),
            ];
            Console.WriteLine($"| {string.Join(" | ", cells)} |");
        }
        Console.WriteLine();
        Console.WriteLine("| redis-benchmark | req/s | p50 ms | p95 ms | p99 ms | max ms |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (var c in ceiling)
        {
            Console.WriteLine(Invariant($"| {c.Case} | {c.RequestsPerSecond:F0} | {c.P50:F3} | {c.P95:F3} | {c.P99:F3} | {c.Max:F3} |"));
        }
    }

    internal static string Cell(double value, string format) =>
        double.IsNaN(value) ? "–" : value.ToString(format, CultureInfo.InvariantCulture);

    internal static double Ms(PhaseResult result, double percentile) => result.LatencyMicros.ValueAtPercentile(percentile) / 1000.0;

    internal static double Median(List<PhaseResult> results, Func<PhaseResult, double> metric) => Median(results.Select(metric));

    internal static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted[sorted.Length / 2];
    }

    /// <summary>"5,120 (4,870–5,430)": the median and the range of the runs.</summary>
    internal static string MedianAndRange(IEnumerable<double> values, string format = "N0")
    {
        var list = values.ToList();
        return list.Count == 1 ? Cell(list[0], format)
            : $"{Cell(Median(list), format)} ({Cell(list.Min(), format)}–{Cell(list.Max(), format)})";
    }

    /// <summary>Median µs of CPU per call: all processes, the load tool, orders, Redis, PostgreSQL, the rest of the machine.</summary>
    internal static string[] CpuCells(IReadOnlyList<MeasuredRun> runs) =>
    [
        Cell(Median(runs.Select(r => r.Cpu?.MicrosPerCall ?? double.NaN)), "F0"),
        Cell(Median(runs.Select(r => r.MicrosPerCall(p => p == "load tool"))), "F0"),
        Cell(Median(runs.Select(r => r.MicrosPerCall(p => p == "orders"))), "F0"),
        RedisCell(runs),
        Cell(Median(runs.Select(r => r.MicrosPerCall(p => p == "postgres"))), "F0"),
        Cell(Median(runs.Select(r => r.MicrosPerCall(p => p == "rest of the machine"))), "F0"),
    ];

    /// <summary>Every Redis server together, and the replicas' part when there are any ("108 (replica 45)").</summary>
    private static string RedisCell(IReadOnlyList<MeasuredRun> runs)
    {
        var all = Cell(Median(runs.Select(r => r.MicrosPerCall(MeasuredRun.IsRedis))), "F0");
        return runs.Any(r => r.Cpu?.Processes.Any(p => MeasuredRun.IsRedisReplica(p.Process)) == true)
            ? $"{all} (replica {Cell(Median(runs.Select(r => r.MicrosPerCall(MeasuredRun.IsRedisReplica))), "F0")})"
            : all;
    }

    internal const string CpuHeader = "CPU µs/call | load tool | orders | Redis | PostgreSQL | rest of the machine";

    /// <summary>"ok" when every run's invariants held, else each run's verdict.</summary>
    internal static string Invariants(IReadOnlyList<MeasuredRun> runs) =>
        runs.All(r => r.Invariant == "ok") ? "ok" : string.Join("; ", runs.Select(r => r.Invariant));

    /// <summary>A progress line for stderr: the run's rate, latency, outcomes and invariants.</summary>
    internal static string Progress(string label, MeasuredRun run) => Invariant(
        $"{label}: {run.Result.CallsPerSecond:N0} calls/s, p50 {Ms(run.Result, 50):F1} ms, p99 {Ms(run.Result, 99):F1} ms, accepted {run.Result.Accepted}, sold out {run.Result.SoldOut}, errors {run.Result.Errors}{(run.Result.FirstError is { } e ? $" (first: {e})" : "")}, CPU {run.Cpu?.MicrosPerCall ?? double.NaN:F0} µs/call; invariants {(run.Invariant == "ok" ? "ok: accepted = units sold, 0 left in Redis, every accepted order in PostgreSQL" : run.Invariant)}");

    internal static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
