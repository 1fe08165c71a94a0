using System.Collections.Concurrent;
using System.Globalization;
using FlashDeal.Load;

namespace FlashDeal.LoadTool.Scenarios;

/// <summary>
/// Records the calls a scenario makes before and after the measured run (the many log-ins of stage "log-in", creating
/// the deal, seeding orders, waiting for the opening) with the same (operation, latency, outcome) shape as the engine,
/// per stage. The engine's RunResult covers only the measured stages, so these are summarised separately.
/// </summary>
public sealed class SetupRecorder
{
    private readonly ConcurrentDictionary<(string Stage, string Operation), Entry> _entries = new();

    public IOperationRecorder Stage(string stage) => new StageRecorder(this, stage);

    public long Count(string stage, string operation, string? outcome = null) =>
        _entries.TryGetValue((stage, operation), out var entry)
            ? outcome is null ? entry.Total : entry.Outcomes.GetValueOrDefault(outcome)
            : 0;

    /// <summary>One line per (stage, operation): calls, outcomes, p50/p99/max latency.</summary>
    public IReadOnlyList<string> Summary()
    {
        var lines = new List<string>();
        foreach (var ((stage, operation), entry) in _entries.OrderBy(e => e.Key.Stage, StringComparer.Ordinal)
                     .ThenBy(e => e.Key.Operation, StringComparer.Ordinal))
        {
            lock (entry)
            {
                var outcomes = string.Join(" ", entry.Outcomes.OrderByDescending(o => o.Value).Select(o => $"{o.Key}={o.Value}"));
                lines.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{stage,-8} {operation,-15} {entry.Total,7} calls  p50 {Ms(entry.Latency.ValueAtPercentile(50)),9}  " +
                    $"p99 {Ms(entry.Latency.ValueAtPercentile(99)),9}  max {Ms(entry.Latency.Max),9}  {outcomes}"));
            }
        }
        return lines;
    }

    private static string Ms(long micros) => (micros / 1000.0).ToString("0.0", CultureInfo.InvariantCulture) + " ms";

    private void Record(string stage, string operation, TimeSpan latency, string outcome)
    {
        var entry = _entries.GetOrAdd((stage, operation), _ => new Entry());
        lock (entry)
        {
            entry.Total++;
            entry.Outcomes[outcome] = entry.Outcomes.GetValueOrDefault(outcome) + 1;
            entry.Latency.Record(Math.Max(1, (long)latency.TotalMicroseconds));
        }
    }

    private sealed class Entry
    {
        public long Total;
        public readonly Dictionary<string, long> Outcomes = new(StringComparer.Ordinal);
        public readonly LatencyHistogram Latency = new();
    }

    private sealed class StageRecorder(SetupRecorder owner, string stage) : IOperationRecorder
    {
        public void Record(string operation, TimeSpan latency, string outcome, bool expected = false) =>
            owner.Record(stage, operation, latency, outcome);
    }
}
