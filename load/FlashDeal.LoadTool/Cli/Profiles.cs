using System.Globalization;
using FlashDeal.Load;

namespace FlashDeal.LoadTool.Cli;

/// <summary>
/// Named load profiles (--profile): presets of the engine's options that any option given on the command line overrides.
/// soak and stress shape the plan (a long steady stage cut into windows; steps up to a break); extreme, sequential and
/// ramp are the coupon issue's three profiles (shared iterations, one user, ramping users with think time).
/// </summary>
public static class Profiles
{
    public static readonly string[] Names = ["soak", "stress", "extreme", "sequential", "ramp"];

    public static readonly TimeSpan MaxSoak = TimeSpan.FromHours(24);

    public const int MaxSteps = 100;

    /// <summary>The operation a preset's latency threshold is about (null: the scenario has no single point).</summary>
    public static string? PointOperation(string scenario) => scenario switch
    {
        "coupon" => "claim_coupon",
        "spike" => "place_order",
        _ => null,
    };

    private static readonly string[] StressOptions = ["--start", "--step", "--max", "--step-duration"];

    /// <summary>Applies the profile to <see cref="ToolOptions.Load"/>; throws <see cref="ArgumentException"/> naming the
    /// option that does not fit.</summary>
    public static void Apply(ToolOptions options, IReadOnlyList<string> engineArgs)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(engineArgs);
        bool Given(string option) => engineArgs.Any(a => a == option || a.StartsWith(option + "=", StringComparison.Ordinal));
        if (options.Profile != "stress" && StressOptions.FirstOrDefault(options.Given.Contains) is { } stray)
        {
            throw new ArgumentException($"{stray} sets the steps of --profile stress.", stray);
        }
        var load = options.Load;
        var point = PointOperation(options.Scenario);
        void DefaultThreshold(string expression)
        {
            if (load.Thresholds.Count == 0 && point is not null)
            {
                load.Thresholds.Add($"{point}:{expression}");
            }
        }
        switch (options.Profile)
        {
            case null:
                break;
            case "soak":
                Soak(load, Given);
                break;
            case "stress":
                Stress(options, load, Given);
                break;
            case "extreme":
                if (load.IterationsPerUser is null)
                {
                    load.SharedIterations ??= 100;
                }
                load.VirtualUsers ??= 100;
                DefaultThreshold("p99<3s");
                break;
            case "sequential":
                load.Sequential = true;
                if (load.SharedIterations is null && load.Duration is null)
                {
                    load.IterationsPerUser ??= options.Users;
                }
                break;
            case "ramp":
                if (load.Mode == LoadMode.ArrivalRate && Given("--mode"))
                {
                    throw new ArgumentException("--profile ramp ramps virtual users: drop --mode arrival.", "--mode");
                }
                load.Mode = LoadMode.ClosedLoop;
                if (!Given("--stages"))
                {
                    load.Stages = LoadOptions.ParseStages("ramp-20:10s:20,ramp-50:20s:50,ramp-down:10s:0");
                }
                load.ThinkTime ??= new ThinkTime(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(2));
                DefaultThreshold("p99<1s");
                break;
        }
        load.Validate(engineArgs);
    }

    private static void Soak(LoadOptions load, Func<string, bool> given)
    {
        if (load.Duration is not { } duration)
        {
            throw new ArgumentException("--profile soak needs --duration (e.g. 30m; at most 24h).", "--duration");
        }
        if (duration > MaxSoak)
        {
            throw new ArgumentException($"--duration {DurationText.Format(duration)} is longer than a soak may run (24h).", "--duration");
        }
        if (given("--stages"))
        {
            throw new ArgumentException("--profile soak is one steady stage of --duration: drop --stages.", "--stages");
        }
        load.Window ??= TimeSpan.FromSeconds(30);
        if (duration < 2 * load.Window.Value)
        {
            throw new ArgumentException(
                $"--window {DurationText.Format(load.Window.Value)} must fit twice into --duration {DurationText.Format(duration)} (drift compares two windows).",
                "--window");
        }
        var closed = load.VirtualUsers is not null;
        var target = load.VirtualUsers ?? load.Rate ?? 50;
        load.Mode = closed ? LoadMode.ClosedLoop : LoadMode.ArrivalRate;
        load.Stages = [new StagePlan("soak", duration, target, Ramp: false)];
        load.Duration = null;
        load.Rate = null;
        load.VirtualUsers = null;
        if (!given("--timeout"))
        {
            load.Timeout = duration + TimeSpan.FromMinutes(2);
        }
        if (load.Thresholds.Count == 0)
        {
            load.Thresholds.AddRange(["drift:p95<1.5x", "drift:memory<50%"]);
        }
    }

    private static void Stress(ToolOptions options, LoadOptions load, Func<string, bool> given)
    {
        if (given("--stages"))
        {
            throw new ArgumentException("--profile stress makes its own steps (--start, --step, --max, --step-duration): drop --stages.", "--stages");
        }
        if (options.StressStart > options.StressMax)
        {
            throw new ArgumentException($"--start {options.StressStart} is above --max {options.StressMax}.", "--start");
        }
        var count = (long)Math.Floor((options.StressMax - options.StressStart) / options.StressStep + 1e-9) + 1;
        if (count > MaxSteps)
        {
            throw new ArgumentException($"--max: {count} steps from --start by --step; at most {MaxSteps}.", "--max");
        }
        load.Stages = [.. Enumerable.Range(0, (int)count).Select(i => new StagePlan(
            string.Create(CultureInfo.InvariantCulture, $"step-{i + 1}"), options.StressStepDuration,
            options.StressStart + i * options.StressStep, Ramp: false))];
        if (load.BreakWhen.Count == 0)
        {
            load.BreakWhen.AddRange(["errors>1%", "p95>1s"]);
        }
        if (!given("--timeout"))
        {
            load.Timeout = options.StressStepDuration * count + TimeSpan.FromMinutes(1);
        }
    }
}
