using System.Globalization;
using FlashDeal.Load;
using FlashDeal.Security;
using FlashDeal.TestInfrastructure;
using Grpc.Net.Client;
using Npgsql;
using StackExchange.Redis;
using Role = FlashDeal.Contracts.Auth.V1.Role;

namespace FlashDeal.Orders.Load;

/// <summary>An orders service process of a benchmark and the channel the buyers call it on.</summary>
public sealed record OrdersInstance(string Name, ServiceProcess Process, GrpcChannel Channel);

/// <summary>One measured run: what the buyers saw, where the CPU went meanwhile (null off Linux), the invariants after.</summary>
public sealed record MeasuredRun(PhaseResult Result, ReportCpu? Cpu, string Invariant)
{
    /// <summary>Processes of the CPU budget named "redis:PORT" or "redis:replica:PORT" (<see cref="StoreProcesses.RedisAsync"/>).</summary>
    public static bool IsRedis(string process) => process.StartsWith("redis:", StringComparison.Ordinal);

    public static bool IsRedisReplica(string process) => process.StartsWith("redis:replica:", StringComparison.Ordinal);

    /// <summary>µs of CPU per call in the processes <paramref name="which"/> picks, together; NaN without a budget.</summary>
    public double MicrosPerCall(Func<string, bool> which) =>
        Cpu is null ? double.NaN : Cpu.Processes.Where(p => which(p.Process)).Sum(p => p.MicrosPerCall);

    /// <summary>The busiest of the processes <paramref name="which"/> picks, in cores (1.0: one core busy all the run).</summary>
    public double BusiestCores(Func<string, bool> which) =>
        Cpu?.Processes.Where(p => which(p.Process)).Select(p => p.Cores).DefaultIfEmpty(double.NaN).Max() ?? double.NaN;
}

/// <summary>
/// What every benchmark here starts from: buyers with access tokens (one signing key, minted here), the JWKS endpoint
/// the orders processes check those tokens against, and the processes themselves, stopped on dispose.
/// </summary>
public sealed class OrdersBench : IAsyncDisposable
{
    private static readonly AuthOptions Auth = new()
    {
        Issuer = "https://auth.bench",
        Audience = "flashdeal-bench",
        AccessTokenLifetime = TimeSpan.FromHours(1),
    };

    private readonly JwksEndpoint _jwks;
    private readonly List<OrdersInstance> _instances = [];

    private OrdersBench(JwksEndpoint jwks, string[] bearers, string adminBearer)
    {
        _jwks = jwks;
        Bearers = bearers;
        AdminBearer = adminBearer;
    }

    /// <summary>"Bearer …" headers, one per buyer (user bench-0, bench-1, …).</summary>
    public IReadOnlyList<string> Bearers { get; }

    /// <summary>"Bearer …" of an admin (user bench-admin), for set-up calls such as CreateCampaign.</summary>
    public string AdminBearer { get; }

    public static async Task<OrdersBench> StartAsync(int buyers)
    {
        var keys = new SigningKeySet([SigningKey.Generate("bench")], "bench");
        var issuer = new AccessTokenIssuer(keys, Auth);
        var bearers = Enumerable.Range(0, buyers).Select(i => "Bearer " + issuer.Issue($"bench-{i}", "", Role.Customer).Token).ToArray();
        var admin = "Bearer " + issuer.Issue("bench-admin", "", Role.Admin).Token;
        return new OrdersBench(await JwksEndpoint.StartAsync(keys), bearers, admin);
    }

    /// <summary>A Release orders process on these stores; <paramref name="settings"/> (environment variables) come last.</summary>
    public async Task<OrdersInstance> StartOrdersAsync(string name, string postgres, string redis,
        IReadOnlyDictionary<string, string> settings)
    {
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__Postgres"] = postgres,
            ["ConnectionStrings__Redis"] = redis,
            ["Database__MigrateOnStart"] = "true",
            ["Auth__Issuer"] = Auth.Issuer,
            ["Auth__Audience"] = Auth.Audience,
            ["Auth__JwksUrl"] = _jwks.Url.ToString(),
            ["Auth__ValidatedTokenCacheSize"] = (2 * Bearers.Count).ToString(CultureInfo.InvariantCulture),
            // Orders of earlier runs must not expire unpaid during later ones: the expiry sweep would be measured too.
            ["Orders__PayWindow"] = "02:00:00",
        };
        foreach (var (key, value) in settings)
        {
            environment[key] = value;
        }
        var process = await ServiceProcess.StartAsync(environment);
        var instance = new OrdersInstance(name, process, ServiceTestHost.Channel(process.GrpcAddress));
        _instances.Add(instance);
        return instance;
    }

    /// <summary>
    /// Every token verified once (a deal that does not exist touches neither store), then the code paths warmed on
    /// small deals (200 units each) written here: pass one per Redis primary the measured runs will use.
    /// </summary>
    public async Task WarmUpAsync(OrdersInstance instance, IDatabase redis, IReadOnlyList<Guid> warmDeals, int concurrency)
    {
        var phase = new PlaceOrderPhase(instance.Channel, Bearers);
        await phase.RunAsync("warm-up", Guid.NewGuid(), Bearers.Count, 1, concurrency, () => instance.Process.CpuTime);
        foreach (var deal in warmDeals)
        {
            await DealWriter.WriteAsync(redis, deal, stock: 200, perUserLimit: 1);
        }
        await phase.RunAsync("warm-up", warmDeals, Math.Min(Bearers.Count, 3000), 200 * warmDeals.Count, concurrency,
            () => instance.Process.CpuTime);
    }

    /// <summary>
    /// One measured run on deals already written (<paramref name="stock"/> units each), every buyer once: the phase, the
    /// CPU budget meanwhile (this tool, the orders process and <paramref name="servers"/>), then the invariants.
    /// </summary>
    public async Task<MeasuredRun> MeasureAsync(OrdersInstance instance, IReadOnlyList<Guid> deals, int stock, int concurrency,
        IReadOnlyList<(string Name, int Pid)> servers, IDatabase redis, NpgsqlDataSource dataSource)
    {
        var budget = CpuBudget.TryStart([("orders", instance.Process.Id), .. servers]);
        var result = await new PlaceOrderPhase(instance.Channel, Bearers)
            .RunAsync(instance.Name, deals, Bearers.Count, stock * deals.Count, concurrency, () => instance.Process.CpuTime);
        var cpu = budget?.Stop("place_order", result.Accepted + result.SoldOut + result.Errors);
        var invariant = await Invariants.CheckAsync(PlacementStrategy.RedisLua, deals, stock, result, redis, dataSource);
        return new MeasuredRun(result, cpu, invariant);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var instance in _instances)
        {
            instance.Channel.Dispose();
            await instance.Process.DisposeAsync();
        }
        await _jwks.DisposeAsync();
    }
}
