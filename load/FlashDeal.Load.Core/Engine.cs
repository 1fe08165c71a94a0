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

    /// <summary>--think-time 1s or 500ms-2s: a virtual user's pause between two iterations (uniform in the range).</summary>
    public ThinkTime? ThinkTime { get; set; }

    /// <summary>--vus N: virtual users for --iterations, --shared-iterations or --duration (closed loop).</summary>
    public int? VirtualUsers { get; set; }

    /// <summary>--iterations N: each virtual user runs exactly N iterations, then stops (k6 "per-vu-iterations").</summary>
    public long? IterationsPerUser { get; set; }

    /// <summary>--shared-iterations N: exactly N iterations in all, taken by whichever virtual user is free (k6 "shared-iterations").</summary>
    public long? SharedIterations { get; set; }

    /// <summary>--sequential: one virtual user, iterations back to back (with --iterations N: exactly N).</summary>
    public bool Sequential { get; set; }

    /// <summary>--duration D: with --vus a constant number of users, with --rate a constant arrival rate, for D.</summary>
    public TimeSpan? Duration { get; set; }

    /// <summary>--rate R: iterations per second for --duration (arrival rate).</summary>
    public double? Rate { get; set; }

    /// <summary>--window D: soak windows (see <see cref="LoadPlan.Window"/>).</summary>
    public TimeSpan? Window { get; set; }

    /// <summary>--break "errors&gt;1%,p95&gt;500ms": stop after the first stage where one holds (see <see cref="LoadPlan.BreakWhen"/>).</summary>
    public List<string> BreakWhen { get; set; } = [];

    /// <summary>Read at the end of every soak window: resident memory in bytes per process name (the services'). Null: none.</summary>
    public Func<IReadOnlyDictionary<string, long>>? MemoryProbe { get; set; }

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
        virtual users and iterations (closed loop):
          --vus N                   virtual users: with --duration D, N users back to back for D (k6 constant-vus)
          --duration D              with --vus N or --rate R: one steady stage of D instead of --stages
          --rate R                  with --duration D: R iterations/s for D (k6 constant-arrival-rate)
          --iterations N            every user runs exactly N iterations (with --vus, default 1; k6 per-vu-iterations)
          --shared-iterations N     exactly N iterations in all, spread over --vus users (k6 shared-iterations)
          --sequential              one user, back to back (with --iterations N or --duration D)
          --think-time D|D1-D2      a user's pause between iterations, e.g. 1s or 500ms-2s (uniform)
        windows and steps:
          --window D                soak windows: p50/p95/p99, throughput, errors, memory per window; thresholds
                                    "drift:p95<1.5x", "drift:memory<50%" compare the last window with the first
          --break LIST              stop after the first stage where one holds, e.g. "errors>1%,p95>500ms" (stress)
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
    public static LoadOptions Parse(IReadOnlyList<string> args) => Parse(args, validate: true);

    /// <param name="validate">False when a caller completes the options first (a profile) and calls <see cref="Validate"/> itself.</param>
    public static LoadOptions Parse(IReadOnlyList<string> args, bool validate)
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
                        if (DriftThreshold.IsDrift(threshold))
                        {
                            DriftThreshold.Parse(threshold);
                        }
                        else
                        {
                            Threshold.Parse(threshold);
                        }
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
                case "--think-time":
                    options.ThinkTime = ParseThinkTime(Value());
                    break;
                case "--vus":
                    options.VirtualUsers = (int)ParsePositive(name, Value(), 100_000);
                    break;
                case "--iterations":
                    options.IterationsPerUser = ParsePositive(name, Value(), 100_000_000);
                    break;
                case "--shared-iterations":
                    options.SharedIterations = ParsePositive(name, Value(), 100_000_000);
                    break;
                case "--duration":
                    options.Duration = ParseDuration(name, Value());
                    break;
                case "--rate":
                    var rateText = Value();
                    options.Rate = double.TryParse(rateText.TrimEnd('/', 's'), NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) &&
                        double.IsFinite(rate) && rate > 0 && rate <= 1_000_000
                        ? rate
                        : throw new ArgumentException($"--rate must be iterations per second above 0 (up to 1000000), not '{rateText}'.", "--rate");
                    break;
                case "--window":
                    var window = ParseDuration(name, Value());
                    options.Window = window >= TimeSpan.FromSeconds(1) && window.Ticks % TimeSpan.TicksPerSecond == 0
                        ? window
                        : throw new ArgumentException($"--window must be whole seconds, at least 1s, not '{DurationText.Format(window)}'.", "--window");
                    break;
                case "--break":
                    foreach (var condition in Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        options.BreakWhen.Add(ParseBreak(condition));
                    }
                    break;
                case "--sequential":
                    if (inline is not null)
                    {
                        throw new ArgumentException($"--sequential takes no value (got '{inline}').", "--sequential");
                    }
                    options.Sequential = true;
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
        if (validate)
        {
            options.Validate(args);
        }
        return options;
    }

    /// <summary>Checks the options that only make sense together; throws naming the option.</summary>
    public void Validate(IReadOnlyList<string>? args = null)
    {
        bool Given(string option) => args?.Any(a => a == option || a.StartsWith(option + "=", StringComparison.Ordinal)) ?? false;
        if (IterationsPerUser is not null && SharedIterations is not null)
        {
            throw new ArgumentException("--iterations and --shared-iterations exclude each other (per user or in all).", "--shared-iterations");
        }
        if (Sequential)
        {
            if (VirtualUsers is > 1)
            {
                throw new ArgumentException("--sequential is one virtual user; drop --vus.", "--sequential");
            }
            if (IterationsPerUser is null && SharedIterations is null && Duration is null)
            {
                throw new ArgumentException("--sequential needs --iterations N (or --duration D).", "--sequential");
            }
            VirtualUsers = 1;
        }
        var fixedIterations = IterationsPerUser is not null || SharedIterations is not null;
        if (fixedIterations && (Given("--stages") || Duration is not null || Rate is not null))
        {
            var option = IterationsPerUser is not null ? "--iterations" : "--shared-iterations";
            throw new ArgumentException($"{option} runs a fixed count: it takes --vus, not --stages, --duration or --rate.", option);
        }
        if (fixedIterations && Mode == LoadMode.ArrivalRate && Given("--mode"))
        {
            throw new ArgumentException("--mode arrival starts iterations by rate; --iterations/--shared-iterations run virtual users.", "--mode");
        }
        if (Rate is not null && VirtualUsers is not null)
        {
            throw new ArgumentException("--rate (arrival) and --vus (closed loop) exclude each other.", "--rate");
        }
        if ((Rate is not null || (VirtualUsers is not null && !fixedIterations)) && Duration is null)
        {
            throw new ArgumentException(Rate is not null ? "--rate needs --duration." : "--vus needs --duration, --iterations or --shared-iterations.",
                Rate is not null ? "--rate" : "--vus");
        }
        if (Duration is not null && (Rate is not null || VirtualUsers is not null) && Given("--stages"))
        {
            throw new ArgumentException("--duration with --vus or --rate is the plan: drop --stages.", "--duration");
        }
        if (ThinkTime is not null && (Rate is not null || (Mode == LoadMode.ArrivalRate && Given("--mode"))))
        {
            throw new ArgumentException("--think-time is a virtual user's pause: use --mode closed, --vus or --iterations, not an arrival rate.",
                "--think-time");
        }
        if (VirtualUsers is { } users && users > MaxInFlight)
        {
            throw new ArgumentException($"--vus {users} is more than --max-in-flight {MaxInFlight}.", "--vus");
        }
    }

    /// <summary>The plan: these options' stages (or <see cref="DefaultStages"/> for the mode when there are none) and bounds.</summary>
    public LoadPlan ToPlan(string name)
    {
        var extras = new LoadPlan(name, Mode, [])
        {
            Think = ThinkTime,
            BreakWhen = BreakWhen.Count == 0 ? null : [.. BreakWhen],
            Window = Window,
        };
        if (IterationsPerUser is not null || SharedIterations is not null)
        {
            var budget = new IterationBudget(IterationsPerUser ?? SharedIterations!.Value, VirtualUsers ?? 1, SharedIterations is not null);
            return extras with
            {
                Mode = LoadMode.ClosedLoop,
                Stages = [new StagePlan(Sequential ? "sequential" : budget.Executor, Timeout, budget.VirtualUsers, Ramp: false)],
                MaxInFlight = Math.Max(MaxInFlight, budget.VirtualUsers),
                MaxIterations = Math.Min(MaxIterations, budget.Total),
                Timeout = Timeout,
                Iterations = budget,
            };
        }
        if (Duration is { } duration && (Rate is not null || VirtualUsers is not null))
        {
            return extras with
            {
                Mode = Rate is null ? LoadMode.ClosedLoop : LoadMode.ArrivalRate,
                Stages = [new StagePlan(Sequential ? "sequential" : "steady", duration, Rate ?? VirtualUsers!.Value, Ramp: false)],
                MaxInFlight = MaxInFlight,
                MaxIterations = MaxIterations,
                Timeout = Timeout,
            };
        }
        return extras with
        {
            Stages = Stages.Count == 0 ? DefaultStages(Mode) : [.. Stages],
            MaxInFlight = MaxInFlight,
            MaxIterations = MaxIterations,
            Timeout = Timeout,
        };
    }

    /// <summary>"1s" (always that long) or "500ms-2s" (uniform between).</summary>
    public static ThinkTime ParseThinkTime(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split('-', StringSplitOptions.TrimEntries);
        TimeSpan Part(string part) => DurationText.TryParse(part, out var d) && d >= TimeSpan.Zero && d <= TimeSpan.FromHours(1)
            ? d
            : throw new ArgumentException($"--think-time must be a duration up to 1h or a range like 500ms-2s, not '{text}'.", "--think-time");
        if (parts.Length is < 1 or > 2)
        {
            throw new ArgumentException($"--think-time must be a duration or a range like 500ms-2s, not '{text}'.", "--think-time");
        }
        var min = Part(parts[0]);
        var max = parts.Length == 2 ? Part(parts[1]) : min;
        return max < min
            ? throw new ArgumentException($"--think-time: the range '{text}' ends before it starts.", "--think-time")
            : new ThinkTime(min, max);
    }

    /// <summary>A break condition is a threshold without a stage (the engine applies it to each stage).</summary>
    private static string ParseBreak(string condition)
    {
        Threshold threshold;
        try
        {
            threshold = Threshold.Parse(condition);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"--break: {e.Message.Split(" (Parameter")[0]}", "--break", e);
        }
        if (threshold.Stage is not null)
        {
            throw new ArgumentException($"--break: '{condition}' names a stage; a break condition applies to every stage.", "--break");
        }
        return condition;
    }

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
