using System.Globalization;

namespace FlashDeal.Load;

// The engine's public face as the scenarios call it. Signatures agreed between the engine and the scenario work.

/// <summary>Options every load command shares, parsed from the command line by <see cref="LoadOptions.Parse"/>.</summary>
public sealed class LoadOptions
{
    /// <summary>--mode arrival|closed (default arrival).</summary>
    public LoadMode Mode { get; set; } = LoadMode.ArrivalRate;

    /// <summary>--stages "warm-up:10s:50,spike:5s:2000:hold,sustain:20s:500,cool-down:5s:0" (name:duration:target[:hold]).
    /// Empty when --stages is not given: a scenario may put its own defaults here, else <see cref="ToPlan"/> uses
    /// <see cref="DefaultStages"/>.</summary>
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

    /// <summary>--drain-timeout 5s (or --drain 5s): after Ctrl-C or the timeout, how long in-flight iterations may finish before they are cancelled.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>--quiet: no live progress lines.</summary>
    public bool Quiet { get; set; }

    /// <summary>Where the live progress goes (stderr when null).</summary>
    public TextWriter? ProgressWriter { get; set; }

    /// <summary>Arguments this parser did not recognise, in order, for the scenario's own options.</summary>
    public List<string> Remaining { get; } = [];

    /// <summary>The shared options as a usage text, for the CLI's --help.</summary>
    public const string Usage = """
          --mode arrival|closed     arrival: iterations/s whatever the latency (default); closed: virtual users back to back
          --stages LIST             name:duration:target[:hold],... e.g. "warm-up:10s:50,spike:5s:2000:hold,sustain:20s:500,cool-down:5s:0"
                                    (a stage ramps from the previous target; :hold jumps to its own)
          --threshold EXPR          [operation][@stage:]metric comparator value[unit], repeatable: "p99<10ms",
                                    "place_order@spike:p99<50ms", "errors<0.5%", "rate>1000", "dropped==0"
          --out DIR                 write report.json, report.md and chart.svg
          --max-in-flight N         iterations running at once (default 1024; arrival rate drops the rest)
          --max-iterations N        iterations started in all (default 1000000)
          --timeout D               hard bound on the run (default 10m); durations: 500ms, 10s, 2m, 1m30s
          --drain-timeout D         after Ctrl-C or the timeout, time left to in-flight iterations (default 5s)
          --quiet                   no progress lines on stderr
        """;

    /// <summary>Stages used when --stages is not given: a short warm-up ramp, a spike held at its peak, a lower plateau and
    /// a ramp down to nothing (iterations/s for arrival rate, virtual users for closed loop).</summary>
    public static List<StagePlan> DefaultStages(LoadMode mode) => mode == LoadMode.ArrivalRate
        ?
        [
            new("warm-up", TimeSpan.FromSeconds(10), 50),
            new("spike", TimeSpan.FromSeconds(5), 1000, Ramp: false),
            new("sustain", TimeSpan.FromSeconds(20), 200, Ramp: false),
            new("cool-down", TimeSpan.FromSeconds(5), 0),
        ]
        :
        [
            new("warm-up", TimeSpan.FromSeconds(10), 8),
            new("spike", TimeSpan.FromSeconds(5), 64, Ramp: false),
            new("sustain", TimeSpan.FromSeconds(20), 16, Ramp: false),
            new("cool-down", TimeSpan.FromSeconds(5), 0),
        ];

    /// <summary>Parses the shared options; throws <see cref="ArgumentException"/> naming the bad option and value. Accepts
    /// "--option value" and "--option=value"; everything else is kept in <see cref="Remaining"/>.</summary>
    public static LoadOptions Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = new LoadOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string name = arg;
            string? inline = null;
            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && equals > 2)
            {
                name = arg[..equals];
                inline = arg[(equals + 1)..];
            }
            string Value()
            {
                if (inline is not null)
                {
                    return inline;
                }
                if (i + 1 >= args.Count)
                {
                    throw new ArgumentException($"{name} needs a value.", name);
                }
                return args[++i];
            }
            switch (name)
            {
                case "--mode":
                    options.Mode = ParseMode(Value());
                    break;
                case "--stages":
                    options.Stages = ParseStages(Value());
                    break;
                case "--threshold":
                    var threshold = Value();
                    try
                    {
                        Threshold.Parse(threshold);
                    }
                    catch (ArgumentException e)
                    {
                        throw new ArgumentException($"--threshold: {e.Message.Split(" (Parameter")[0]}", "--threshold", e);
                    }
                    options.Thresholds.Add(threshold);
                    break;
                case "--out":
                    var directory = Value();
                    if (string.IsNullOrWhiteSpace(directory))
                    {
                        throw new ArgumentException("--out needs a directory.", "--out");
                    }
                    options.OutputDirectory = directory;
                    break;
                case "--max-in-flight":
                    options.MaxInFlight = (int)ParsePositive(name, Value(), int.MaxValue);
                    break;
                case "--max-iterations":
                    options.MaxIterations = ParsePositive(name, Value(), long.MaxValue);
                    break;
                case "--timeout":
                    options.Timeout = ParseDuration(name, Value());
                    break;
                case "--drain-timeout" or "--drain":
                    options.DrainTimeout = ParseDuration(name, Value());
                    break;
                case "--quiet":
                    if (inline is not null)
                    {
                        throw new ArgumentException($"--quiet takes no value (got '{inline}').", "--quiet");
                    }
                    options.Quiet = true;
                    break;
                default:
                    options.Remaining.Add(arg);
                    break;
            }
        }
        return options;
    }

    /// <summary>The plan: these options' stages (or <see cref="DefaultStages"/> for the mode when there are none) and bounds.</summary>
    public LoadPlan ToPlan(string name) =>
        new(name, Mode, Stages.Count == 0 ? DefaultStages(Mode) : [.. Stages], MaxInFlight, MaxIterations, Timeout);

    /// <summary>Longest timeout, drain or stage: a week (timers take at most ~49 days).</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromDays(7);

    /// <summary>Parses "name:duration:target[:hold]" stages separated by commas.</summary>
    public static List<StagePlan> ParseStages(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var stages = new List<StagePlan>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            var fields = part.Split(':', StringSplitOptions.TrimEntries);
            if (fields.Length is < 3 or > 4 || fields[0].Length == 0)
            {
                throw new ArgumentException(
                    $"--stages: '{part}' is not name:duration:target[:hold] (e.g. spike:5s:2000:hold).", "--stages");
            }
            if (!DurationText.TryParse(fields[1], out var duration) || duration <= TimeSpan.Zero || duration > MaxDuration)
            {
                throw new ArgumentException(
                    $"--stages: stage '{fields[0]}' has a bad duration '{fields[1]}' (use e.g. 500ms, 10s, 2m).", "--stages");
            }
            if (!double.TryParse(fields[2], NumberStyles.Float, CultureInfo.InvariantCulture, out var target) ||
                !double.IsFinite(target) || target < 0)
            {
                throw new ArgumentException(
                    $"--stages: stage '{fields[0]}' has a bad target '{fields[2]}' (a number >= 0).", "--stages");
            }
            var ramp = true;
            if (fields.Length == 4)
            {
                ramp = fields[3] switch
                {
                    "hold" => false,
                    "ramp" => true,
                    _ => throw new ArgumentException(
                        $"--stages: stage '{fields[0]}' ends in '{fields[3]}'; only 'hold' or 'ramp' may follow the target.",
                        "--stages"),
                };
            }
            if (stages.Any(s => s.Name == fields[0]))
            {
                throw new ArgumentException($"--stages: stage name '{fields[0]}' is used twice.", "--stages");
            }
            stages.Add(new StagePlan(fields[0], duration, target, ramp));
        }
        return stages;
    }

    private static LoadMode ParseMode(string value) => value.ToLowerInvariant() switch
    {
        "arrival" or "arrival-rate" => LoadMode.ArrivalRate,
        "closed" or "closed-loop" => LoadMode.ClosedLoop,
        _ => throw new ArgumentException($"--mode must be arrival or closed, not '{value}'.", "--mode"),
    };

    private static long ParsePositive(string option, string value, long max)
    {
        if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number < 1 || number > max)
        {
            throw new ArgumentException($"{option} must be a whole number from 1 to {max}, not '{value}'.", option);
        }
        return number;
    }

    private static TimeSpan ParseDuration(string option, string value)
    {
        if (!DurationText.TryParse(value, out var duration) || duration <= TimeSpan.Zero || duration > MaxDuration)
        {
            throw new ArgumentException(
                $"{option} must be a positive duration up to 7 days such as 500ms, 10s or 2m, not '{value}'.", option);
        }
        return duration;
    }
}

/// <summary>Runs a plan: schedules iterations per stage, prints live progress once a second (unless quiet), collects metrics.</summary>
public static class LoadRunner
{
    /// <summary>Runs until the stages end, <see cref="LoadPlan.MaxIterations"/> have started, the timeout passes or
    /// <paramref name="cancellationToken"/> fires (then no new iteration starts and in-flight ones get
    /// <see cref="LoadOptions.DrainTimeout"/> to finish). Never throws for a failing iteration.</summary>
    public static Task<RunResult> RunAsync(LoadPlan plan, IterationAsync iteration, LoadOptions options,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(iteration);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(plan.MaxInFlight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(plan.MaxIterations, 1);
        return new LoadRun(plan, iteration, options).RunAsync(cancellationToken);
    }

    /// <summary>A cancellation source for <see cref="RunAsync"/> that the first Ctrl-C cancels (no new iterations, the
    /// in-flight ones drain, the report is still written); a second Ctrl-C ends the process as usual.</summary>
    public static CancellationTokenSource CancelOnCtrlC(TextWriter? log = null)
    {
        var cancellation = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            try
            {
                if (cancellation.IsCancellationRequested)
                {
                    return;
                }
                e.Cancel = true;
                log?.WriteLine("Stopping: no new iterations, waiting for those in flight (Ctrl-C again to abort).");
                cancellation.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The run is over; let Ctrl-C end the process.
            }
        };
        return cancellation;
    }
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
    public static async Task<int> FinishAsync(RunResult result, IReadOnlyList<InvariantResult> invariants, LoadOptions options,
        IReadOnlyDictionary<string, string> metadata, TextWriter console, ReportCpu? cpu = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(invariants);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(console);
        var report = LoadReport.Build(result, invariants, options.Thresholds, metadata) with { Cpu = cpu };
        await console.WriteAsync(ConsoleReport.Render(report)).ConfigureAwait(false);
        if (options.OutputDirectory is { } directory)
        {
            await ReportFiles.WriteAsync(report, directory).ConfigureAwait(false);
            await console.WriteLineAsync($"Wrote {Path.Combine(directory, "report.json")}, report.md and chart.svg.")
                .ConfigureAwait(false);
        }
        await console.FlushAsync().ConfigureAwait(false);
        return report.Passed ? 0 : 1;
    }
}
