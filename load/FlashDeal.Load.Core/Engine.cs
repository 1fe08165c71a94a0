namespace FlashDeal.Load;

// The engine's public face as the scenarios call it. Signatures agreed between the engine and the scenario work; the
// bodies are filled in by the engine work (stubs until then).

/// <summary>Options every load command shares, parsed from the command line by <see cref="LoadOptions.Parse"/>.</summary>
public sealed class LoadOptions
{
    /// <summary>--mode arrival|closed (default arrival).</summary>
    public LoadMode Mode { get; set; } = LoadMode.ArrivalRate;

    /// <summary>--stages "warm-up:10s:50,spike:5s:2000:hold,sustain:20s:500,cool-down:5s:0" (name:duration:target[:hold]).</summary>
    public List<StagePlan> Stages { get; set; } = [];

    /// <summary>--threshold "p99&lt;10ms" (repeatable; "place_order:p99&lt;10ms", "errors&lt;0.5%", "rate&gt;1000", "dropped==0").</summary>
    public List<string> Thresholds { get; set; } = [];

    /// <summary>--out DIR: writes report.json, report.md and chart.svg there.</summary>
    public string? OutputDirectory { get; set; }

    /// <summary>--max-in-flight N.</summary>
    public int MaxInFlight { get; set; } = 1024;

    /// <summary>--max-iterations N.</summary>
    public long MaxIterations { get; set; } = 1_000_000;

    /// <summary>--timeout 120s: hard bound on the whole run.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>--quiet: no live progress lines.</summary>
    public bool Quiet { get; set; }

    /// <summary>Arguments this parser did not recognise, in order, for the scenario's own options.</summary>
    public List<string> Remaining { get; } = [];

    /// <summary>Parses the shared options; throws <see cref="ArgumentException"/> naming the bad option.</summary>
    public static LoadOptions Parse(IReadOnlyList<string> args) => throw new NotImplementedException();

    public LoadPlan ToPlan(string name) => throw new NotImplementedException();
}

/// <summary>Runs a plan: schedules iterations per stage, prints live progress once a second (unless quiet), collects metrics.</summary>
public static class LoadRunner
{
    public static Task<RunResult> RunAsync(LoadPlan plan, IterationAsync iteration, LoadOptions options,
        CancellationToken cancellationToken) => throw new NotImplementedException();
}

/// <summary>The measured run (engine-defined contents: per operation and per stage histograms, outcomes by reason, a
/// per-second time series, dropped iterations, wall time).</summary>
public sealed partial class RunResult
{
}

/// <summary>Turns a result plus the scenario's invariants into the report, evaluates thresholds, writes every output and
/// returns the process exit code: 0 when all invariants and thresholds pass, 1 when any fails.</summary>
public static class RunReporter
{
    public static Task<int> FinishAsync(RunResult result, IReadOnlyList<InvariantResult> invariants, LoadOptions options,
        IReadOnlyDictionary<string, string> metadata, TextWriter console) => throw new NotImplementedException();
}
