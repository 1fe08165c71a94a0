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

    private static string Cell(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

    private static double Ms(PhaseResult result, double percentile) => result.LatencyMicros.ValueAtPercentile(percentile) / 1000.0;

    private static double Median(List<PhaseResult> results, Func<PhaseResult, double> metric)
    {
        var values = results.Select(metric).Order().ToArray();
        return values.Length == 0 ? double.NaN : values[values.Length / 2];
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
