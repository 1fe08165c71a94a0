using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using FlashDeal.Load;

namespace FlashDeal.LoadTool.Scenarios;

/// <summary>
/// Records the calls a scenario makes outside the engine's plan — the many log-ins beforehand (stage "log-in"), creating
/// the deal ("setup"), waiting for the opening ("opening"), seeding orders ("seed") — as the engine's
/// <see cref="OperationStats"/> per stage, so they can be summarised and the log-in stage joined to the report
/// (<see cref="WithLogInStage"/>).
/// </summary>
public sealed class SetupRecorder
{
    public const string LogInStage = "log-in";

    private readonly ConcurrentDictionary<(string Stage, string Operation), OperationStats> _stats = new();
    private readonly ConcurrentDictionary<string, Stopwatch> _wall = new(StringComparer.Ordinal);

    public IOperationRecorder Stage(string stage)
    {
        _wall.TryAdd(stage, Stopwatch.StartNew());
        return new StageRecorder(this, stage);
    }

    /// <summary>Marks the end of a stage's wall time (its first call to now).</summary>
    public void EndStage(string stage)
    {
        if (_wall.TryGetValue(stage, out var clock))
        {
            clock.Stop();
        }
    }

    public long Count(string stage, string operation, string? outcome = null)
    {
        if (!_stats.TryGetValue((stage, operation), out var stats))
        {
            return 0;
        }
        lock (stats)
        {
            return outcome is null ? stats.Count : stats.Outcomes.Where(o => o.Outcome == outcome).Sum(o => o.Count);
        }
    }

    /// <summary>One line per (stage, operation): calls, p50/p99/max latency, outcomes.</summary>
    public IReadOnlyList<string> Summary()
    {
        var lines = new List<string>();
        foreach (var stats in Ordered())
        {
            lock (stats)
            {
                var outcomes = string.Join(" ", stats.Outcomes.Select(o => $"{o.Outcome}={o.Count}"));
                lines.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{stats.Stage,-8} {stats.Operation,-15} {stats.Count,7} calls  p50 {Ms(stats.Latency.ValueAtPercentile(50)),9}  " +
                    $"p99 {Ms(stats.Latency.ValueAtPercentile(99)),9}  max {Ms(stats.Latency.Max),9}  {outcomes}"));
            }
        }
        return lines;
    }

    /// <summary>
    /// The engine's result with the log-in stage in front of the measured stages, so reports and stage-scoped thresholds
    /// ("log-in:p99&lt;200ms") see the log-ins beforehand. An adapter on our side: RunResult's members are init-only.
    /// </summary>
    public RunResult WithLogInStage(RunResult run)
    {
        var logIn = Ordered().Where(s => s.Stage == LogInStage).ToList();
        if (logIn.Count == 0)
        {
            return run;
        }
        var wall = _wall.TryGetValue(LogInStage, out var clock) ? clock.Elapsed : TimeSpan.Zero;
        var calls = logIn.Sum(s => s.Count);
        // Not part of the plan (no planned time, no offset on the chart); its wall time is how long the log-ins took.
        var stage = new StageResult(LogInStage, 0, 0, false, TimeSpan.Zero, TimeSpan.Zero, wall, calls, 0);
        return run.WithStagesInFront([stage], logIn);
    }

    private IEnumerable<OperationStats> Ordered() => _stats.Values
        .OrderBy(s => s.Stage, StringComparer.Ordinal).ThenBy(s => s.Operation, StringComparer.Ordinal);

    private static string Ms(long micros) => (micros / 1000.0).ToString("0.0", CultureInfo.InvariantCulture) + " ms";

    private void Record(string stage, string operation, TimeSpan latency, string outcome, bool expected)
    {
        var stats = _stats.GetOrAdd((stage, operation), key => new OperationStats(key.Operation, key.Stage));
        lock (stats)
        {
            stats.Add(latency, outcome, expected);
        }
    }

    private sealed class StageRecorder(SetupRecorder owner, string stage) : IOperationRecorder
    {
        public void Record(string operation, TimeSpan latency, string outcome, bool expected = false) =>
            owner.Record(stage, operation, latency, outcome, expected);
    }
}
