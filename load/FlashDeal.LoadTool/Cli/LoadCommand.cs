using System.Diagnostics;
using System.Globalization;
using FlashDeal.Load;
using FlashDeal.LoadTool.Api;
using FlashDeal.LoadTool.Scenarios;

namespace FlashDeal.LoadTool.Cli;

/// <summary>
/// `./flashdeal load &lt;scenario&gt; [options]`: parse, set up, hand the iterations to the engine, check the invariants,
/// report. Exit code 0 when every threshold and invariant passes, 1 when one fails (or set-up fails), 2 on a usage error.
/// </summary>
public static class LoadCommand
{
    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr,
        Func<string, string?> environment, CancellationToken cancellationToken)
    {
        if (args.Count == 0 || args.Any(a => a is "--help" or "-h") || args[0] == "help")
        {
            await (args.Count == 0 ? stderr : stdout).WriteLineAsync(ToolOptions.Usage);
            return args.Count == 0 ? 2 : 0;
        }
        ToolOptions options;
        try
        {
            options = ToolOptions.Parse(args, environment);
        }
        catch (UsageException e)
        {
            await stderr.WriteLineAsync($"flashdeal load: {e.Message}");
            await stderr.WriteLineAsync("run ./flashdeal load --help for the options");
            return 2;
        }

        using var transport = CreateTransport(options);
        var context = new ScenarioContext(options, new FlashDealClient(transport, options.CallTimeout), stdout);
        var scenario = ScenarioFactory.Create(options.Scenario, context);
        if (options.Load.Stages.Count == 0)
        {
            options.Load.Stages = [.. scenario.DefaultStages(options.Load.Mode)];
        }
        context.Log($"{scenario.Name} over {transport.Name} at {transport.Endpoints}" +
            (options.MeshEnvPath is null ? "" : $" (defaults from {options.MeshEnvPath})"));

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // Set-up is bounded too: the run's own timeout plus room for the log-ins.
        timeout.CancelAfter(options.Load.Timeout + TimeSpan.FromMinutes(5));
        try
        {
            await scenario.SetUpAsync(timeout.Token);
        }
        catch (SetupException e)
        {
            await stderr.WriteLineAsync($"flashdeal load: set-up failed: {e.Message}");
            PrintSetup(context, stderr);
            return 1;
        }
        catch (OperationCanceledException)
        {
            await stderr.WriteLineAsync("flashdeal load: set-up stopped (Ctrl-C or the time bound) before the run started");
            PrintSetup(context, stderr);
            return 1;
        }
        PrintSetup(context, stdout);

        if (options.Load.Window is not null && options.Load.MemoryProbe is null)
        {
            // Soak windows record memory: the mesh's processes (pid files beside mesh.env) and the tool itself.
            options.Load.MemoryProbe = MemoryProbe.Create(options.MeshEnvPath is null
                ? []
                : CpuBudget.FromPidFolder(Path.Combine(Path.GetDirectoryName(options.MeshEnvPath)!, "run")));
        }
        var cpu = options.CpuProcesses is { } processes ? CpuBudget.TryStart(processes) : null;
        var run = await LoadRunner.RunAsync(options.Load.ToPlan(scenario.Name), scenario.IterateAsync, options.Load, timeout.Token);
        // The budget divides by the scenario's point: PlaceOrder when there is one, otherwise every call.
        var placed = run.Operation("place_order");
        var budget = cpu?.Stop(placed is null ? "*" : "place_order", placed?.Count ?? run.AllOperations.Count);
        var result = context.Setup.WithLogInStage(run);
        IReadOnlyList<InvariantResult> invariants;
        // The checks run even after a Ctrl-C stopped the run (what was accepted must still be in the stores), on their own bound.
        using var checkBound = new CancellationTokenSource(options.CheckTimeout + TimeSpan.FromSeconds(30));
        try
        {
            invariants = await scenario.CheckAsync(checkBound.Token);
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or StackExchange.Redis.RedisException or TimeoutException)
        {
            invariants = [new InvariantResult("stores reachable", false, $"{e.GetType().Name}: {e.Message}")];
        }
        catch (OperationCanceledException)
        {
            invariants = [new InvariantResult("invariants checked", false, "stopped (Ctrl-C or the time bound) before the checks ended")];
        }
        var metadata = Metadata(options, context, transport, environment);
        return await RunReporter.FinishAsync(result, invariants, options.Load, metadata, stdout, budget);
    }

    public static IApiTransport CreateTransport(ToolOptions options) => options.Transport == "rest"
        ? new RestTransport(options.Rest)
        : new GrpcTransport(options.Grpc, options.Connections);

    private static void PrintSetup(ScenarioContext context, TextWriter writer)
    {
        var lines = context.Setup.Summary();
        if (lines.Count == 0 || context.Options.Load.Quiet)
        {
            return;
        }
        writer.WriteLine("set-up calls (not part of the measured stages):");
        foreach (var line in lines)
        {
            writer.WriteLine("  " + line);
        }
    }

    private static Dictionary<string, string> Metadata(ToolOptions options, ScenarioContext context, IApiTransport transport,
        Func<string, string?> environment)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["scenario"] = options.Scenario,
            ["transport"] = transport.Name,
            ["target"] = transport.Endpoints.ToString(),
            ["users"] = context.Users.All.Count.ToString(CultureInfo.InvariantCulture),
            ["git_commit"] = environment("FLASHDEAL_GIT_COMMIT") ?? GitCommit() ?? "unknown",
            ["run_tag"] = context.RunTag,
        };
        foreach (var (key, value) in context.Metadata)
        {
            metadata[key] = value;
        }
        return metadata;
    }

    private static string? GitCommit()
    {
        try
        {
            using var git = Process.Start(new ProcessStartInfo("git", "rev-parse --short=12 HEAD")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            });
            if (git is null || !git.WaitForExit(2000) || git.ExitCode != 0)
            {
                return null;
            }
            return git.StandardOutput.ReadToEnd().Trim();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
