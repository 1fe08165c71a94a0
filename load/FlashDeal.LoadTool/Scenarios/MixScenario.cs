using System.Globalization;
using FlashDeal.Load;

namespace FlashDeal.LoadTool.Scenarios;

/// <summary>
/// A day on the site: each iteration is one of the other scenarios' iterations, chosen by weight (--mix
/// "browse=70,history=10,login=10,spike=10"). They share one user pool; the spike part places orders on its own live
/// deal, whose invariants are checked afterwards.
/// </summary>
public sealed class MixScenario : Scenario
{
    private readonly (Scenario Scenario, int Upto)[] _wheel;
    private readonly int _total;
    private readonly SpikeScenario? _spike;

    public MixScenario(ScenarioContext context) : base(context)
    {
        var parts = new List<(Scenario, int)>();
        var upto = 0;
        // Set-up runs in this order: the spike's deal is created last so its opening is not spent waiting on the others.
        foreach (var name in new[] { "browse", "login", "history", "spike" })
        {
            if (context.Options.Mix.GetValueOrDefault(name) is var weight and > 0)
            {
                var scenario = ScenarioFactory.Create(name, context);
                _spike ??= scenario as SpikeScenario;
                upto += weight;
                parts.Add((scenario, upto));
            }
        }
        _wheel = [.. parts];
        _total = upto;
    }

    public override string Name => "mix";

    public override IReadOnlyList<StagePlan> DefaultStages(LoadMode mode) => mode == LoadMode.ClosedLoop
        ? [new StagePlan("warm-up", TimeSpan.FromSeconds(5), 16), new StagePlan("sustain", TimeSpan.FromSeconds(20), 64)]
        : [new StagePlan("warm-up", TimeSpan.FromSeconds(5), 50), new StagePlan("sustain", TimeSpan.FromSeconds(20), 200)];

    public override async Task SetUpAsync(CancellationToken cancellationToken)
    {
        Context.Metadata["mix"] = string.Join(",", Options.Mix.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key}={p.Value}")));
        foreach (var (scenario, _) in _wheel)
        {
            await scenario.SetUpAsync(cancellationToken);
        }
    }

    public override ValueTask IterateAsync(IIterationContext iteration, CancellationToken cancellationToken)
    {
        var ticket = (int)(Fraction(iteration.Iteration, 8) * _total);
        foreach (var (scenario, upto) in _wheel)
        {
            if (ticket < upto)
            {
                return scenario.IterateAsync(iteration, cancellationToken);
            }
        }
        return _wheel[^1].Scenario.IterateAsync(iteration, cancellationToken);
    }

    public override Task<IReadOnlyList<InvariantResult>> CheckAsync(CancellationToken cancellationToken) =>
        _spike?.CheckAsync(cancellationToken) ?? base.CheckAsync(cancellationToken);
}

/// <summary>Scenario by CLI name.</summary>
public static class ScenarioFactory
{
    public static Scenario Create(string name, ScenarioContext context) => name switch
    {
        "spike" => new SpikeScenario(context),
        "browse" => new BrowseScenario(context),
        "history" => new HistoryScenario(context),
        "login" => new LoginScenario(context),
        "mix" => new MixScenario(context),
        "coupon" => new CouponScenario(context),
        "lists" => new ListsScenario(context),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown scenario"),
    };
}
