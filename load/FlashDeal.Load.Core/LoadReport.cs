using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Serialization;

namespace FlashDeal.Load;

/// <summary>The whole run as the outputs show it: report.json is this record serialised (camelCase, stable field names),
/// the console, report.md and chart.svg are renderings of it. Latencies are in milliseconds in summaries and microseconds
/// in the per-second series; every field name carries its unit.</summary>
public sealed record LoadReport(
    string Schema,
    IReadOnlyDictionary<string, string> Metadata,
    ReportRun Run,
    IReadOnlyList<ReportStage> Stages,
    ReportOperation Total,
    IReadOnlyList<ReportOperation> Operations,
    IReadOnlyList<ReportOperation> OperationsByStage,
    IReadOnlyList<InvariantResult> Invariants,
    IReadOnlyList<ThresholdResult> Thresholds,
    IReadOnlyList<SecondSample> TimeSeries,
    bool Passed)
{
    public const string SchemaName = "flashdeal-load-report/1";

    /// <summary>Where the CPU went while the stages ran (the load tool, each process of the local mesh, the rest of the
    /// machine), per call; null when it was not measured.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ReportCpu? Cpu { get; init; }

    /// <summary>Soak windows and the drift between the first and the last (runs with --window).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ReportSoak? Soak { get; init; }

    /// <summary>Stress steps judged against the break conditions, and the knee (runs with --break).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public StressReport? Stress { get; init; }

    /// <summary>Metadata the scenarios give first, in this order (then the rest by name, then what the engine adds).</summary>
    private static readonly string[] MetadataOrder = ["scenario", "transport", "target", "mode", "git_commit", "git commit"];

    /// <summary>Evaluates the thresholds (throws <see cref="ArgumentException"/> for one that does not parse) and gathers
    /// everything the outputs need. Metadata the caller does not give (git_commit, machine, cores, os, runtime, started)
    /// is filled in.</summary>
    public static LoadReport Build(RunResult result, IReadOnlyList<InvariantResult> invariants, IReadOnlyList<string> thresholds,
        IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(invariants);
        ArgumentNullException.ThrowIfNull(thresholds);
        ArgumentNullException.ThrowIfNull(metadata);
        var soak = result.WindowSeconds > 0
            ? new ReportSoak(result.WindowSeconds, result.Windows, SoakDrift.Compute(result.Windows))
            : null;
        var verdicts = thresholds.Select(t => DriftThreshold.IsDrift(t)
            ? DriftThreshold.Parse(t).Evaluate(soak?.Drift)
            : Threshold.Parse(t).Evaluate(result)).ToList();
        var meta = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in metadata.OrderBy(p => Array.IndexOf(MetadataOrder, p.Key) is var i and >= 0 ? i : int.MaxValue)
            .ThenBy(p => p.Key, StringComparer.Ordinal))
        {
            meta[key] = value;
        }
        meta.TryAdd("scenario", result.Name);
        meta.TryAdd("mode", ModeName(result.Mode));
        if (result.Executor is { } executor)
        {
            meta.TryAdd("executor", executor);
        }
        if (result.ThinkPauses > 0)
        {
            meta.TryAdd("think_time", string.Create(CultureInfo.InvariantCulture,
                $"{result.ThinkPauses} pauses, mean {result.ThinkTime.TotalMilliseconds / result.ThinkPauses:0} ms"));
        }
        meta.TryAdd("started", result.StartedAt.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
        if (!meta.ContainsKey("git commit"))
        {
            meta.TryAdd("git_commit", GitCommit()); // "git commit" is accepted from callers as the same thing
        }
        meta.TryAdd("machine", Environment.MachineName);
        meta.TryAdd("cores", Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture));
        meta.TryAdd("os", System.Runtime.InteropServices.RuntimeInformation.OSDescription);
        meta.TryAdd("runtime", System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription);

        var wall = result.Stages.ToDictionary(s => s.Name, s => s.WallTime.TotalSeconds, StringComparer.Ordinal);
        var elapsed = result.Elapsed.TotalSeconds;
        var stress = result.BreakWhen.Count > 0 ? StressAnalysis.Analyse(result, result.BreakWhen) : null;
        return new LoadReport(
            SchemaName,
            meta,
            new ReportRun(result.Name, ModeName(result.Mode), result.StartedAt, Round(elapsed), Round(result.ScheduledTime.TotalSeconds),
                result.StoppedBy, result.IterationsStarted, result.IterationsCompleted, result.Dropped, result.Abandoned,
                result.PeakInFlight, result.MaxInFlight, result.MaxIterations),
            [.. result.Stages.Select(s => new ReportStage(s.Name, s.FromTarget, s.Target, s.Ramp, Round(s.PlannedDuration.TotalSeconds),
                Round(s.Offset.TotalSeconds), Round(s.WallTime.TotalSeconds), s.IterationsStarted, s.Dropped,
                Round(s.WallTime.TotalSeconds > 0 ? s.IterationsStarted / s.WallTime.TotalSeconds : 0)))],
            ReportOperation.From(result.AllOperations, null, elapsed),
            [.. result.Operations.Select(o => ReportOperation.From(o, null, elapsed))],
            [.. result.PerStage.Select(o => ReportOperation.From(o, o.Stage, wall.GetValueOrDefault(o.Stage ?? "", 0)))],
            [.. invariants],
            verdicts,
            result.TimeSeries,
            invariants.All(i => i.Passed) && verdicts.All(v => v.Passed))
        {
            Soak = soak,
            Stress = stress,
        };
    }

    public static string ModeName(LoadMode mode) => mode == LoadMode.ArrivalRate ? "arrival" : "closed";

    /// <summary>1234 µs → "1.23ms"; below a millisecond in µs, from a second up in s.</summary>
    public static string FormatMicros(double micros) => micros switch
    {
        < 1_000 => string.Create(CultureInfo.InvariantCulture, $"{micros:0}us"),
        < 10_000 => string.Create(CultureInfo.InvariantCulture, $"{micros / 1_000:0.00}ms"),
        < 1_000_000 => string.Create(CultureInfo.InvariantCulture, $"{micros / 1_000:0.#}ms"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{micros / 1_000_000:0.##}s"),
    };

    internal static double Round(double value) => Math.Round(value, 3);

    private static string GitCommit()
    {
        try
        {
            using var git = Process.Start(new ProcessStartInfo("git", "rev-parse --short=12 HEAD")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            });
            if (git is null)
            {
                return "unknown";
            }
            var output = git.StandardOutput.ReadToEnd().Trim();
            if (!git.WaitForExit(2_000))
            {
                git.Kill();
                return "unknown";
            }
            return git.ExitCode == 0 && output.Length > 0 ? output : "unknown";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown";
        }
    }
}

public sealed record ReportRun(
    string Name,
    string Mode,
    DateTimeOffset StartedAt,
    double ElapsedSeconds,
    double ScheduledSeconds,
    string StoppedBy,
    long IterationsStarted,
    long IterationsCompleted,
    long Dropped,
    long Abandoned,
    int PeakInFlight,
    int MaxInFlight,
    long MaxIterations);

public sealed record ReportStage(
    string Name,
    double FromTarget,
    double Target,
    bool Ramp,
    double PlannedSeconds,
    double OffsetSeconds,
    double WallSeconds,
    long IterationsStarted,
    long Dropped,
    double IterationsPerSecond);

/// <summary>One operation over the whole run (<see cref="Stage"/> null) or in one stage; "*" is every operation together.</summary>
public sealed record ReportOperation(
    string Operation,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Stage,
    long Count,
    long Ok,
    long Errors,
    long ExpectedRefusals,
    double ErrorPercent,
    double RatePerSecond,
    double P50Ms,
    double P90Ms,
    double P95Ms,
    double P99Ms,
    double P999Ms,
    double MaxMs,
    double MinMs,
    double AvgMs,
    IReadOnlyList<OutcomeCount> Outcomes)
{
    public static ReportOperation From(OperationStats stats, string? stage, double seconds)
    {
        ArgumentNullException.ThrowIfNull(stats);
        var latency = stats.Latency;
        double Ms(double micros) => Math.Round(micros / 1_000, 3);
        return new ReportOperation(stats.Operation, stage, stats.Count, stats.Succeeded, stats.Errors, stats.ExpectedRefusals,
            stats.Count == 0 ? 0 : Math.Round(100.0 * stats.Errors / stats.Count, 3),
            seconds > 0 ? Math.Round(stats.Count / seconds, 1) : 0,
            Ms(latency.ValueAtPercentile(50)), Ms(latency.ValueAtPercentile(90)), Ms(latency.ValueAtPercentile(95)),
            Ms(latency.ValueAtPercentile(99)), Ms(latency.ValueAtPercentile(99.9)), Ms(latency.Max), Ms(latency.Min),
            Ms(latency.Mean), stats.Outcomes);
    }
}
