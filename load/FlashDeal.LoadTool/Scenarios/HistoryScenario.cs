using System.Globalization;
using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Load;
using FlashDeal.LoadTool.Api;

namespace FlashDeal.LoadTool.Scenarios;

/// <summary>
/// Logged-in users looking at their orders: ListMyOrders page by page (up to three pages of five), then GetOrder of one
/// of them. When the users have no orders yet, set-up seeds --seed-orders per user on a deal of its own (stage "seed").
/// </summary>
public sealed class HistoryScenario(ScenarioContext context) : Scenario(context)
{
    private const int PageSize = 5;
    private const int MaxPages = 3;

    private IReadOnlyList<UserSession> _users = [];
    private long _next = -1;

    public override string Name => "history";

    public override IReadOnlyList<StagePlan> DefaultStages(LoadMode mode) => mode == LoadMode.ClosedLoop
        ? [new StagePlan("warm-up", TimeSpan.FromSeconds(5), 16), new StagePlan("sustain", TimeSpan.FromSeconds(20), 64)]
        : [new StagePlan("warm-up", TimeSpan.FromSeconds(5), 50), new StagePlan("sustain", TimeSpan.FromSeconds(20), 200)];

    public override async Task SetUpAsync(CancellationToken cancellationToken)
    {
        _users = await Context.Users.EnsureAsync(Options.Users, cancellationToken);
        var recorder = Context.Setup.Stage("seed");
        var probe = await Client.CallAsync(Operations.ListMyOrders, new ListMyOrdersRequest { PageSize = 1 }, recorder,
            _users[^1].AccessToken, cancellationToken: cancellationToken);
        if (Options.SeedOrders == 0 || probe.Response is { Orders.Count: > 0 })
        {
            return;
        }
        var admin = await DealSetup.AdminTokenAsync(Context, cancellationToken);
        var deal = await DealSetup.CreateAsync(Context, admin, "Load history", _users.Count * Options.SeedOrders,
            Options.SeedOrders, TimeSpan.FromSeconds(2), cancellationToken);
        Context.Metadata["history_deal_id"] = deal.DealId.ToString("D");
        await DealSetup.WaitUntilLiveAsync(Context, deal, cancellationToken);
        Context.Log($"history: seeding {Options.SeedOrders} orders for each of {_users.Count} users…");
        await Parallel.ForEachAsync(_users,
            new ParallelOptions { MaxDegreeOfParallelism = Options.LoginConcurrency, CancellationToken = cancellationToken },
            async (user, ct) =>
            {
                for (var i = 0; i < Options.SeedOrders; i++)
                {
                    await Client.CallAsync(Operations.PlaceOrder, new PlaceOrderRequest
                    {
                        DealId = deal.DealId.ToString("D"),
                        Quantity = 1,
                        IdempotencyKey = string.Create(CultureInfo.InvariantCulture, $"{Context.RunTag}-seed-{user.Index}-{i}"),
                    }, recorder, user.AccessToken, cancellationToken: ct);
                }
            });
        // Order history is read from PostgreSQL, which the orders' stream consumer fills a moment later.
        var drain = System.Diagnostics.Stopwatch.StartNew();
        while (drain.Elapsed < Options.CheckTimeout)
        {
            var seeded = await Client.CallAsync(Operations.ListMyOrders, new ListMyOrdersRequest { PageSize = Options.SeedOrders },
                recorder, _users[^1].AccessToken, cancellationToken: cancellationToken);
            if (seeded.Response?.Orders.Count >= Options.SeedOrders)
            {
                return;
            }
            await Task.Delay(100, cancellationToken);
        }
        Context.Log($"history: the seeded orders did not all show up within {Options.CheckTimeout.TotalSeconds:0} s");
    }

    public override async ValueTask IterateAsync(IIterationContext iteration, CancellationToken cancellationToken)
    {
        var user = _users[(int)((ulong)Interlocked.Increment(ref _next) % (ulong)_users.Count)];
        var recorder = iteration.Recorder;
        var pages = 1 + (int)(Fraction(iteration.Iteration, 6) * MaxPages);
        var token = "";
        string? orderId = null;
        for (var page = 0; page < pages; page++)
        {
            var request = new ListMyOrdersRequest { PageSize = PageSize, PageToken = token };
            var accessToken = user.AccessToken;
            var list = await Client.CallAsync(Operations.ListMyOrders, request, recorder, accessToken, cancellationToken: cancellationToken);
            if (list.Outcome == Outcomes.AccessTokenExpired
                && await Context.Users.RenewAsync(user, accessToken, recorder, cancellationToken))
            {
                list = await Client.CallAsync(Operations.ListMyOrders, request, recorder, user.AccessToken,
                    cancellationToken: cancellationToken);
            }
            if (list.Response is not { } orders)
            {
                break;
            }
            if (orders.Orders.Count > 0)
            {
                orderId ??= orders.Orders[(int)(Fraction(iteration.Iteration, 7) * orders.Orders.Count)].OrderId;
            }
            token = orders.NextPageToken;
            if (token.Length == 0)
            {
                break;
            }
        }
        if (orderId is not null)
        {
            await Client.CallAsync(Operations.GetOrder, new GetOrderRequest { OrderId = orderId }, recorder, user.AccessToken,
                cancellationToken: cancellationToken);
        }
    }
}
