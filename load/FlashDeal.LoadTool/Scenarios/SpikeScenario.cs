using System.Collections.Concurrent;
using System.Globalization;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Load;
using FlashDeal.LoadTool.Api;
using FlashDeal.LoadTool.Stores;

namespace FlashDeal.LoadTool.Scenarios;

/// <summary>
/// The deal spike: many users log in beforehand, a deal opens at a known second, and each iteration is one user's visit —
/// PlaceOrder (resent with the same idempotency key on UNAVAILABLE / DEADLINE_EXCEEDED), for some users further orders
/// past the per-user limit — mixed with GetDeal polls. Afterwards the stores must agree with what was accepted.
/// </summary>
public sealed class SpikeScenario(ScenarioContext context) : Scenario(context)
{
    private const int MaxResends = 2;

    private readonly ConcurrentDictionary<string, AcceptedOrder> _accepted = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _orderIdByKey = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _conflicts = new(StringComparer.Ordinal);
    private int[] _acceptedPerUser = [];
    private int[] _inFlightPerUser = [];
    private int[] _uncertainPerUser = [];
    private IReadOnlyList<UserSession> _users = [];
    private long _visits = -1;
    private long _firstAcceptTicks = long.MaxValue;
    private StoreBaseline? _baseline;

    public override string Name => "spike";

    public DealUnderTest? Deal { get; private set; }

    /// <summary>Order ids the tool got OK for (replays of one key count once).</summary>
    public IReadOnlyDictionary<string, AcceptedOrder> Accepted => _accepted;

    /// <summary>How long after the opening second the first order was accepted.</summary>
    public TimeSpan? FirstAcceptAfterOpen => _firstAcceptTicks == long.MaxValue || Deal is null
        ? null
        : new DateTime(_firstAcceptTicks, DateTimeKind.Utc) - Deal.OpensAt;

    public override IReadOnlyList<StagePlan> DefaultStages(LoadMode mode) => mode == LoadMode.ClosedLoop
        ? [new StagePlan("spike", TimeSpan.FromSeconds(10), Math.Min(Options.Users, 256), Ramp: false)]
        : [new StagePlan("spike", TimeSpan.FromSeconds(10), Math.Max(50, Options.Users), Ramp: false)];

    public override async Task SetUpAsync(CancellationToken cancellationToken)
    {
        _users = await Context.Users.EnsureAsync(Options.Users, cancellationToken);
        _acceptedPerUser = new int[_users.Count];
        _inFlightPerUser = new int[_users.Count];
        _uncertainPerUser = new int[_users.Count];
        if (Options.DealId is { } existing)
        {
            Deal = await DealSetup.ExistingAsync(Context, existing, cancellationToken);
        }
        else
        {
            var admin = await DealSetup.AdminTokenAsync(Context, cancellationToken);
            Deal = await DealSetup.CreateAsync(Context, admin, "Load spike", Options.Stock, Options.PerUserLimit, Options.OpensIn,
                cancellationToken);
            Context.Log($"deal {Deal.DealId}: stock {Deal.Stock}, per-user limit {Deal.PerUserLimit}, opens {Deal.OpensAt:HH:mm:ss} UTC");
        }
        Context.Metadata["deal_id"] = Deal.DealId.ToString("D");
        Context.Metadata["stock"] = Deal.Stock.ToString(CultureInfo.InvariantCulture);
        Context.Metadata["per_user_limit"] = Deal.PerUserLimit.ToString(CultureInfo.InvariantCulture);
        Context.Metadata["deal_opens_at"] = Deal.OpensAt.ToString("O", CultureInfo.InvariantCulture);
        if (Options.Postgres is not null && Options.Redis is not null)
        {
            // Before the opening no order can exist; with --deal the counts so far are the baseline of this run.
            try
            {
                _baseline = await SpikeInvariants.BaselineAsync(Options.Postgres, Options.Redis, Deal, cancellationToken);
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or StackExchange.Redis.RedisException or TimeoutException)
            {
                throw new SetupException($"the stores for the invariant check are unreachable ({e.GetType().Name}: {e.Message}); " +
                    "check --postgres and --redis", e);
            }
        }
        var live = await DealSetup.WaitUntilLiveAsync(Context, Deal, cancellationToken);
        Context.Metadata["deal_live_after_open_ms"] = live is { } l ? Ms(l) : "never";
    }

    public override async ValueTask IterateAsync(IIterationContext iteration, CancellationToken cancellationToken)
    {
        var deal = Deal ?? throw new InvalidOperationException("SetUpAsync first.");
        if (Fraction(iteration.Iteration, 1) < Options.PollFraction)
        {
            await Client.CallAsync(Operations.GetDeal, new GetDealRequest { DealId = deal.DealId.ToString("D") }, iteration.Recorder,
                cancellationToken: cancellationToken);
            return;
        }
        // Visits walk the users with a stride coprime to their count: consecutive visits hit different users, and a user
        // comes back only after every other user had a turn.
        var visit = Interlocked.Increment(ref _visits);
        var n = _users.Count;
        var user = _users[(int)((visit % n) * Stride(n) % n)];
        var round = visit / n;
        var greedy = Fraction(user.Index, 2) < Options.RepeatFraction;
        var orders = greedy ? deal.PerUserLimit + 1 : 1;
        for (var slot = 0; slot < orders; slot++)
        {
            var key = string.Create(CultureInfo.InvariantCulture, $"{Context.RunTag}-u{user.Index}-r{round}-o{slot}");
            if (!await PlaceAsync(iteration, deal, user, key, cancellationToken))
            {
                break;
            }
        }
    }

    /// <summary>One order with its resends; true when accepted.</summary>
    private async Task<bool> PlaceAsync(IIterationContext iteration, DealUnderTest deal, UserSession user, string key,
        CancellationToken cancellationToken)
    {
        var request = new PlaceOrderRequest { DealId = deal.DealId.ToString("D"), IdempotencyKey = key, Quantity = 1 };
        for (var attempt = 0; ; attempt++)
        {
            Interlocked.Increment(ref _inFlightPerUser[user.Index]);
            ApiResult<PlaceOrderResponse> result;
            try
            {
                var token = user.AccessToken;
                result = await Client.CallAsync(Operations.PlaceOrder, request, iteration.Recorder, token,
                    outcome => IsExpectedRefusal(outcome, user), cancellationToken);
                if (result.Outcome == Outcomes.AccessTokenExpired
                    && await Context.Users.RenewAsync(user, token, iteration.Recorder, cancellationToken))
                {
                    result = await Client.CallAsync(Operations.PlaceOrder, request, iteration.Recorder, user.AccessToken,
                        outcome => IsExpectedRefusal(outcome, user), cancellationToken);
                }
                if (result.Response is { } placed)
                {
                    // Counted before the call leaves the in-flight count, so the user's total is never under-read.
                    Accept(user, key, placed.Order);
                    return true;
                }
            }
            finally
            {
                Interlocked.Decrement(ref _inFlightPerUser[user.Index]);
            }
            if (!Outcomes.IsTransient(result.Outcome))
            {
                return false;
            }
            if (attempt >= MaxResends)
            {
                // Given up without an answer: the server may still have taken the order.
                Interlocked.Increment(ref _uncertainPerUser[user.Index]);
                return false;
            }
        }
    }

    private void Accept(UserSession user, string key, Order order)
    {
        var now = DateTime.UtcNow.Ticks;
        long first;
        while (now < (first = Interlocked.Read(ref _firstAcceptTicks))
               && Interlocked.CompareExchange(ref _firstAcceptTicks, now, first) != first)
        {
        }
        if (_orderIdByKey.GetOrAdd(key, order.OrderId) != order.OrderId)
        {
            _conflicts.TryAdd(key, 0);
        }
        if (_accepted.TryAdd(order.OrderId, new AcceptedOrder(order.OrderId, user.UserId, key, order.Quantity)))
        {
            Interlocked.Increment(ref _acceptedPerUser[user.Index]);
        }
    }

    /// <summary>Sold out is the point of a spike. The per-user limit is expected once the user's other orders — accepted,
    /// still in flight in another iteration, or sent without an answer — could fill it; a refusal before that is a bug.</summary>
    private bool IsExpectedRefusal(string outcome, UserSession user) => outcome switch
    {
        Outcomes.SoldOut or Outcomes.InsufficientStock => true,
        Outcomes.PerUserLimitReached => Volatile.Read(ref _acceptedPerUser[user.Index])
            + Volatile.Read(ref _inFlightPerUser[user.Index]) - 1
            + Volatile.Read(ref _uncertainPerUser[user.Index]) >= (Deal?.PerUserLimit ?? 0),
        _ => false,
    };

    /// <summary>A Prometheus graph link for <paramref name="expr"/> over the last 5 minutes (the run just ended).</summary>
    internal static string PrometheusGraph(string prometheus, string expr) =>
        prometheus.TrimEnd('/') + "/graph?g0.expr=" + Uri.EscapeDataString(expr) + "&g0.tab=0&g0.range_input=5m";

    public override async Task<IReadOnlyList<InvariantResult>> CheckAsync(CancellationToken cancellationToken)
    {
        var deal = Deal ?? throw new InvalidOperationException("SetUpAsync first.");
        Context.Metadata["accepted"] = _accepted.Count.ToString(CultureInfo.InvariantCulture);
        Context.Metadata["first_accept_after_open_ms"] = FirstAcceptAfterOpen is { } first ? Ms(first) : "none";
        if (Options.Prometheus is { Length: > 0 } prometheus)
        {
            // The same series the flash-sale dashboard and ./flashdeal top show, over this run (docs/observability.md).
            var id = deal.DealId.ToString("D");
            Context.Metadata["prometheus_accepted"] = PrometheusGraph(prometheus,
                $"sum by (deal_id) (rate(flashdeal_orders_placements_total{{outcome=\"ACCEPTED\",deal_id=\"{id}\"}}[10s]))");
            Context.Metadata["prometheus_refusals"] = PrometheusGraph(prometheus,
                "sum by (outcome) (rate(flashdeal_orders_placements_total{outcome!=\"ACCEPTED\"}[10s]))");
            Context.Metadata["prometheus_stock"] = PrometheusGraph(prometheus,
                $"max by (deal_id) (flashdeal_deal_stock_remaining{{deal_id=\"{id}\"}})");
        }
        if (Options.Postgres is null || Options.Redis is null || _baseline is null)
        {
            return [new InvariantResult("stores reachable", false,
                "no --postgres/--redis (mesh.env has them after ./flashdeal up): the spike cannot be checked in the stores")];
        }
        Context.Log($"checking invariants in PostgreSQL and Redis (drain bound {Options.CheckTimeout.TotalSeconds:0} s)…");
        return await SpikeInvariants.CheckAsync(Options.Postgres, Options.Redis, deal, _baseline,
            [.. _accepted.Values], DuplicateOrderIds(), [.. _conflicts.Keys], Options.CheckTimeout, cancellationToken);
    }

    /// <summary>Order ids the services returned for more than one idempotency key.</summary>
    private List<string> DuplicateOrderIds() =>
        [.. _orderIdByKey.GroupBy(p => p.Value, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key)];

    internal static int Stride(int n)
    {
        // A prime near n * 0.618 that does not divide n: visits spread over the whole user list.
        for (var candidate = Math.Max(1, (int)(n * 0.618)); candidate < n + 100; candidate++)
        {
            if (IsPrime(candidate) && n % candidate != 0)
            {
                return candidate;
            }
        }
        return 1;
    }

    private static bool IsPrime(int value)
    {
        if (value < 2)
        {
            return false;
        }
        for (var d = 2; d * d <= value; d++)
        {
            if (value % d == 0)
            {
                return false;
            }
        }
        return true;
    }

    private static string Ms(TimeSpan value) => value.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture);
}

/// <summary>An order the tool was told was accepted.</summary>
public sealed record AcceptedOrder(string OrderId, string UserId, string IdempotencyKey, int Quantity);
