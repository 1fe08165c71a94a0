namespace FlashDeal.Load;

/// <summary>One stage as it ran: planned shape, wall time, iterations started and dropped in it.</summary>
/// <param name="FromTarget">Where the target started (the previous stage's target for a ramp).</param>
/// <param name="Offset">When the stage was planned to start, from the start of the run.</param>
public sealed record StageResult(
    string Name,
    double FromTarget,
    double Target,
    bool Ramp,
    TimeSpan PlannedDuration,
    TimeSpan Offset,
    TimeSpan WallTime,
    long IterationsStarted,
    long Dropped);

/// <summary>One operation during one second of the run (latencies in microseconds, ~3 % precision).</summary>
public sealed record SecondOperation(string Operation, long Count, long Errors, long P50Micros, long P95Micros, long P99Micros,
    long MaxMicros);

/// <summary>One second of the run: what was planned, what started, and every operation's calls (plus all of them together).</summary>
/// <param name="Second">Seconds since the start: this sample covers [Second, Second + 1).</param>
/// <param name="Stage">The stage in the middle of the second.</param>
/// <param name="Target">The target in the middle of the second, i.e. its mean over the second (iterations/s or virtual users).</param>
/// <param name="InFlight">Iterations running when the second ended.</param>
public sealed record SecondSample(
    int Second,
    string Stage,
    double Target,
    long IterationsStarted,
    long Dropped,
    int InFlight,
    SecondOperation All,
    IReadOnlyList<SecondOperation> Operations);

/// <summary>Why the scheduler stopped starting iterations.</summary>
public static class StopReason
{
    public const string Completed = "completed";
    public const string MaxIterations = "max-iterations";
    public const string Timeout = "timeout";
    public const string Cancelled = "cancelled";

    /// <summary>A stage met a break condition (--break), so no further stage started.</summary>
    public const string Break = "break";
}

public sealed partial class RunResult
{
    private IReadOnlyList<OperationStats>? _operations;
    private OperationStats? _all;

    public required string Name { get; init; }

    public LoadMode Mode { get; init; }

    public DateTimeOffset StartedAt { get; init; }

    /// <summary>From the first start to the end of the last iteration (or the end of the drain).</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>From the first start to the moment the scheduler stopped starting iterations.</summary>
    public TimeSpan ScheduledTime { get; init; }

    /// <summary>One of <see cref="StopReason"/>.</summary>
    public string StoppedBy { get; init; } = StopReason.Completed;

    public int MaxInFlight { get; init; }

    public long MaxIterations { get; init; }

    public IReadOnlyList<StageResult> Stages { get; init; } = [];

    /// <summary>Per operation × stage, in stage order then operation name.</summary>
    public IReadOnlyList<OperationStats> PerStage { get; init; } = [];

    public IReadOnlyList<SecondSample> TimeSeries { get; init; } = [];

    public long IterationsStarted { get; init; }

    public long IterationsCompleted { get; init; }

    /// <summary>Arrival rate: iterations that were due but could not start because MaxInFlight were running.</summary>
    public long Dropped { get; init; }

    /// <summary>Iterations still running when the engine gave up waiting for them.</summary>
    public long Abandoned { get; init; }

    /// <summary>The most iterations seen running at once.</summary>
    public int PeakInFlight { get; init; }

    /// <summary>k6's name for how iterations were started: ramping-arrival-rate, ramping-vus, per-vu-iterations, shared-iterations.</summary>
    public string? Executor { get; init; }

    /// <summary>Think-time pauses taken between virtual users' iterations, and their planned time in all.</summary>
    public long ThinkPauses { get; init; }

    public TimeSpan ThinkTime { get; init; }

    /// <summary>The break conditions of a stress run (empty otherwise).</summary>
    public IReadOnlyList<string> BreakWhen { get; init; } = [];

    /// <summary>How each stage was judged at its end, while the run went on (the report judges again on the final numbers).</summary>
    public IReadOnlyList<StressStep> LiveBreaks { get; init; } = [];

    /// <summary>Soak windows (empty without a window length).</summary>
    public IReadOnlyList<SoakWindow> Windows { get; init; } = [];

    public int WindowSeconds { get; init; }

    /// <summary>The same result with other stages and per-stage totals in front (the load tool's log-in stage).</summary>
    public RunResult WithStagesInFront(IEnumerable<StageResult> stages, IEnumerable<OperationStats> perStage) => new()
    {
        Name = Name,
        Mode = Mode,
        StartedAt = StartedAt,
        Elapsed = Elapsed,
        ScheduledTime = ScheduledTime,
        StoppedBy = StoppedBy,
        MaxInFlight = MaxInFlight,
        MaxIterations = MaxIterations,
        Stages = [.. stages, .. Stages],
        PerStage = [.. perStage, .. PerStage],
        TimeSeries = TimeSeries,
        IterationsStarted = IterationsStarted,
        IterationsCompleted = IterationsCompleted,
        Dropped = Dropped,
        Abandoned = Abandoned,
        PeakInFlight = PeakInFlight,
        Executor = Executor,
        ThinkPauses = ThinkPauses,
        ThinkTime = ThinkTime,
        BreakWhen = BreakWhen,
        LiveBreaks = LiveBreaks,
        Windows = Windows,
        WindowSeconds = WindowSeconds,
    };

    /// <summary>Per operation over the whole run, by name.</summary>
    public IReadOnlyList<OperationStats> Operations => _operations ??= [.. PerStage
        .GroupBy(s => s.Operation, StringComparer.Ordinal)
        .OrderBy(g => g.Key, StringComparer.Ordinal)
        .Select(g => Merge(g.Key, g))];

    /// <summary>Every call of every operation together.</summary>
    public OperationStats AllOperations => _all ??= Merge("*", PerStage);

    public OperationStats? Operation(string name) =>
        Operations.FirstOrDefault(o => string.Equals(o.Operation, name, StringComparison.Ordinal));

    public IEnumerable<OperationStats> InStage(string stage) =>
        PerStage.Where(s => string.Equals(s.Stage, stage, StringComparison.Ordinal));

    private static OperationStats Merge(string name, IEnumerable<OperationStats> parts)
    {
        var merged = new OperationStats(name, null);
        foreach (var part in parts)
        {
            merged.Merge(part);
        }
        return merged;
    }
}
