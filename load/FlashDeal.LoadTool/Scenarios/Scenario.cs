using FlashDeal.Load;
using FlashDeal.LoadTool.Api;
using FlashDeal.LoadTool.Cli;

namespace FlashDeal.LoadTool.Scenarios;

/// <summary>What every scenario shares: the options, the client, the set-up recorder, the users, the console.</summary>
public sealed class ScenarioContext(ToolOptions options, FlashDealClient client, TextWriter console)
{
    public ToolOptions Options { get; } = options;

    public FlashDealClient Client { get; } = client;

    public TextWriter Console { get; } = console;

    public SetupRecorder Setup { get; } = new();

    /// <summary>Tags this run's idempotency keys and names, so reruns against the same mesh never collide.</summary>
    public string RunTag { get; } = DateTime.UtcNow.ToString("MMddHHmmss", System.Globalization.CultureInfo.InvariantCulture)
        + "-" + Random.Shared.Next(0x1000, 0xFFFF).ToString("x4", System.Globalization.CultureInfo.InvariantCulture);

    public UserPool Users => field ??= new UserPool(this);

    public Dictionary<string, string> Metadata { get; } = new(StringComparer.Ordinal);

    public void Log(string line)
    {
        if (!Options.Load.Quiet)
        {
            Console.WriteLine(line);
        }
    }
}

/// <summary>
/// One scenario: prepares what its iterations need (accounts, a deal), then the engine runs <see cref="IterateAsync"/>
/// under the plan, then <see cref="CheckAsync"/> counts in the stores.
/// </summary>
public abstract class Scenario(ScenarioContext context)
{
    protected ScenarioContext Context { get; } = context;

    protected FlashDealClient Client => Context.Client;

    protected ToolOptions Options => Context.Options;

    public abstract string Name { get; }

    /// <summary>The plan when no --stages is given.</summary>
    public abstract IReadOnlyList<StagePlan> DefaultStages(LoadMode mode);

    public abstract Task SetUpAsync(CancellationToken cancellationToken);

    public abstract ValueTask IterateAsync(IIterationContext context, CancellationToken cancellationToken);

    public virtual Task<IReadOnlyList<InvariantResult>> CheckAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<InvariantResult>>([]);

    /// <summary>A stable pseudo-random number in [0, 1) per iteration (and salt): the same run makes the same choices.</summary>
    protected static double Fraction(long iteration, int salt = 0)
    {
        var x = (ulong)iteration * 0x9E3779B97F4A7C15UL + (ulong)salt * 0xBF58476D1CE4E5B9UL;
        x ^= x >> 31;
        x *= 0x94D049BB133111EBUL;
        x ^= x >> 29;
        return (x >> 11) * (1.0 / (1UL << 53));
    }
}
