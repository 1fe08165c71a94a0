namespace FlashDeal.Load;

// The seam between the load engine (plans, runner, metrics, reports, thresholds) and the scenarios (what one iteration
// does against FlashDeal). Scenarios only see the types in this file; the engine owns everything behind them.

/// <summary>How iterations are started.</summary>
public enum LoadMode
{
    /// <summary>Open model: iterations start at a target rate per second whatever the latency (k6 "ramping-arrival-rate").
    /// Iterations that cannot start because <see cref="LoadPlan.MaxInFlight"/> are busy are counted as dropped.</summary>
    ArrivalRate,

    /// <summary>Closed model: a number of virtual users each run iterations back to back (k6 "ramping-vus").</summary>
    ClosedLoop,
}

/// <summary>One stage of a run, e.g. warm-up, spike, sustain, cool-down. The target ramps linearly from the previous stage's
/// target (0 for the first) to <see cref="Target"/> over <see cref="Duration"/>; a stage with <see cref="Ramp"/> false holds
/// <see cref="Target"/> from its first instant (a spike).</summary>
/// <param name="Target">Iterations per second (arrival rate) or virtual users (closed loop).</param>
public sealed record StagePlan(string Name, TimeSpan Duration, double Target, bool Ramp = true);

/// <summary>A whole run: bounded in time and in count.</summary>
public sealed record LoadPlan(
    string Name,
    LoadMode Mode,
    IReadOnlyList<StagePlan> Stages,
    int MaxInFlight = 1024,
    long MaxIterations = 1_000_000,
    TimeSpan? Timeout = null)
{
    /// <summary>A fixed number of iterations instead of a timed plan (closed loop; the stages are ignored but for the first
    /// one's name): k6's "per-vu-iterations" and "shared-iterations". Null: the stages decide.</summary>
    public IterationBudget? Iterations { get; init; }

    /// <summary>Virtual users pause this long between two of their iterations (closed loop and fixed iterations).</summary>
    public ThinkTime? Think { get; init; }

    /// <summary>Break conditions (threshold expressions such as "errors&gt;1%", "p95&gt;500ms"): when one holds for a stage that
    /// just ended, no further stage starts (stopped by "break"). What a stress run steps up against.</summary>
    public IReadOnlyList<string>? BreakWhen { get; init; }

    /// <summary>Cut the run into windows this long (soak): p50/p95/p99, throughput, errors and memory per window, and the
    /// drift between the first and the last.</summary>
    public TimeSpan? Window { get; init; }
}

/// <summary>Exactly <see cref="Count"/> iterations: per virtual user (<see cref="Shared"/> false: each of
/// <see cref="VirtualUsers"/> runs <see cref="Count"/>) or in all, taken by whichever user is free (shared).</summary>
public sealed record IterationBudget(long Count, int VirtualUsers, bool Shared)
{
    /// <summary>The iterations the budget allows in all.</summary>
    public long Total => Shared ? Count : Count * VirtualUsers;

    public string Executor => Shared ? "shared-iterations" : "per-vu-iterations";
}

/// <summary>A pause between a virtual user's iterations, uniform in [<see cref="Min"/>, <see cref="Max"/>].</summary>
public sealed record ThinkTime(TimeSpan Min, TimeSpan Max)
{
    public TimeSpan Next(Random random) =>
        Max <= Min ? Min : Min + TimeSpan.FromTicks((long)((Max - Min).Ticks * random.NextDouble()));

    public override string ToString() => Max <= Min ? DurationText.Format(Min) : $"{DurationText.Format(Min)}-{DurationText.Format(Max)}";
}

/// <summary>What one iteration gets: its number, a virtual user index, the stage it started in, and the recorder.</summary>
public interface IIterationContext
{
    /// <summary>0-based, unique per run.</summary>
    long Iteration { get; }

    /// <summary>Closed loop: the virtual user (0..users-1). Arrival rate: Iteration modulo the pool size.</summary>
    int VirtualUser { get; }

    string Stage { get; }

    IOperationRecorder Recorder { get; }
}

/// <summary>Records one call. Outcome is <c>"OK"</c> or a reason: the google.rpc.ErrorInfo reason when the server sent one
/// (SOLD_OUT, PER_USER_LIMIT_REACHED, RATE_LIMITED, ...), else the gRPC status name (UNAVAILABLE, DEADLINE_EXCEEDED,
/// RESOURCE_EXHAUSTED) or for REST without an ErrorInfo <c>HTTP_&lt;code&gt;</c>. <paramref name="expected"/> marks a refusal
/// the scenario expects (SOLD_OUT after the stock is gone): counted by reason but not as an error in the error rate.</summary>
public interface IOperationRecorder
{
    void Record(string operation, TimeSpan latency, string outcome, bool expected = false);
}

/// <summary>One iteration of a scenario. Exceptions that escape are recorded by the engine as operation "iteration" with
/// outcome "EXCEPTION:&lt;type&gt;" and count as errors; they never stop the run.</summary>
public delegate ValueTask IterationAsync(IIterationContext context, CancellationToken cancellationToken);

/// <summary>A named check the scenario evaluates after the run (counted in the stores, not from the tool's counters).</summary>
public sealed record InvariantResult(string Name, bool Passed, string Detail);
