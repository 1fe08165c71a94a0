using System.CommandLine;
using System.Globalization;
using FlashDeal.Orders;
using FlashDeal.Orders.Load;
using FlashDeal.Security;
using FlashDeal.TestInfrastructure;
using Grpc.Net.Client;
using Npgsql;
using StackExchange.Redis;
using Role = FlashDeal.Contracts.Auth.V1.Role;

var postgresOption = new Option<string>("--postgres") { Description = "PostgreSQL connection string (Npgsql)", Required = true };
var redisOption = new Option<string>("--redis") { Description = "Redis host:port", Required = true };
var buyersOption = new Option<int>("--buyers") { Description = "distinct buyers per run, one PlaceOrder each", DefaultValueFactory = _ => 20_000 };
var stockOption = new Option<int>("--stock") { Description = "units of the deal (per_user_limit 1)", DefaultValueFactory = _ => 1_000 };
var concurrencyOption = new Option<int>("--concurrency") { Description = "calls in flight (closed loop)", DefaultValueFactory = _ => 64 };
var runsOption = new Option<int>("--runs") { Description = "measured runs per strategy", DefaultValueFactory = _ => 3 };
var ceilingOption = new Option<int>("--ceiling-requests") { Description = "redis-benchmark calls per case", DefaultValueFactory = _ => 200_000 };
var telemetryOption = new Option<bool>("--telemetry-off-too")
{
    Description = "also run the Lua path with metrics and traces off, alternating with the defaults (the instrumentation's cost)",
};

var root = new RootCommand("PlaceOrder: Lua hot path vs row-lock baseline, plus the redis-benchmark EVALSHA ceiling.")
{
    postgresOption, redisOption, buyersOption, stockOption, concurrencyOption, runsOption, ceilingOption, telemetryOption,
};
root.SetAction(async parse =>
{
    var postgres = parse.GetValue(postgresOption)!;
    var redisAddress = parse.GetValue(redisOption)!;
    var buyers = parse.GetValue(buyersOption);
    var stock = parse.GetValue(stockOption);
    var concurrency = parse.GetValue(concurrencyOption);
    var runs = parse.GetValue(runsOption);

    Console.WriteLine($"minting {buyers} access tokens…");
    var keys = new SigningKeySet([SigningKey.Generate("bench")], "bench");
    var auth = new AuthOptions { Issuer = "https://auth.bench", Audience = "flashdeal-bench", AccessTokenLifetime = TimeSpan.FromHours(1) };
    var issuer = new AccessTokenIssuer(keys, auth);
    var bearers = Enumerable.Range(0, buyers).Select(i => "Bearer " + issuer.Issue($"bench-{i}", "", Role.Customer).Token).ToArray();
    await using var jwks = await JwksEndpoint.StartAsync(keys);
    using var redis = ConnectionMultiplexer.Connect(redisAddress);
    await using var dataSource = NpgsqlDataSource.Create(postgres);

    // One orders process per variant: the strategies with the services' defaults (metrics on; traces on only with an
    // exporter, and none is set here); with --telemetry-off-too the Lua path also with metrics and traces both on (as
    // with an OTLP collector: spans sampled at the default ratio, minus the export) and both off.
    var variants = new List<Variant> { new("RedisLua", PlacementStrategy.RedisLua, []) };
    if (parse.GetValue(telemetryOption))
    {
        variants.Add(new("RedisLua, metrics and traces", PlacementStrategy.RedisLua, new Dictionary<string, string>
        {
            ["Telemetry__Tracing__Enabled"] = "true",
        }));
        variants.Add(new("RedisLua, metrics and traces off", PlacementStrategy.RedisLua, new Dictionary<string, string>
        {
            ["Telemetry__Metrics__Enabled"] = "false",
            ["Telemetry__Tracing__Enabled"] = "false",
        }));
    }
    variants.Add(new("PostgresRowLock", PlacementStrategy.PostgresRowLock, []));
    var services = new Dictionary<string, (ServiceProcess Process, GrpcChannel Channel)>();
    try
    {
        foreach (var variant in variants)
        {
            var strategy = variant.Strategy;
            var process = await ServiceProcess.StartAsync(new Dictionary<string, string>(variant.Settings)
            {
                ["ConnectionStrings__Postgres"] = postgres,
                ["ConnectionStrings__Redis"] = redisAddress,
                ["Database__MigrateOnStart"] = "true",
                ["Auth__Issuer"] = auth.Issuer,
                ["Auth__Audience"] = auth.Audience,
                ["Auth__JwksUrl"] = jwks.Url.ToString(),
                ["Auth__ValidatedTokenCacheSize"] = (2 * buyers).ToString(CultureInfo.InvariantCulture),
                ["Orders__Strategy"] = strategy.ToString(),
            });
            services[variant.Name] = (process, ServiceTestHost.Channel(process.GrpcAddress));
            Console.WriteLine($"{variant.Name}: orders service pid {process.Id} at {process.GrpcAddress}");
        }

        foreach (var variant in variants)
        {
            // Every token verified once (a deal that does not exist touches neither store), then the code paths warmed.
            var (process, channel) = services[variant.Name];
            var phase = new PlaceOrderPhase(channel, bearers);
            await phase.RunAsync("warm-up", Guid.NewGuid(), buyers, stock, concurrency, () => process.CpuTime);
            var warmDeal = Guid.NewGuid();
            await DealWriter.WriteAsync(redis.GetDatabase(), warmDeal, stock: 200, perUserLimit: 1);
            await phase.RunAsync("warm-up", warmDeal, Math.Min(buyers, 3000), 200, concurrency, () => process.CpuTime);
        }

        var results = variants.ToDictionary(v => v.Name, _ => new List<(PhaseResult Result, string Invariant)>());
        for (var run = 0; run < runs; run++)
        {
            foreach (var variant in run % 2 == 0 ? variants : Enumerable.Reverse(variants))
            {
                var (strategy, name) = (variant.Strategy, variant.Name);
                var (process, channel) = services[name];
                var dealId = Guid.NewGuid();
                await DealWriter.WriteAsync(redis.GetDatabase(), dealId, stock, perUserLimit: 1);
                var result = await new PlaceOrderPhase(channel, bearers)
                    .RunAsync(name, dealId, buyers, stock, concurrency, () => process.CpuTime);
                var invariant = await Invariants.CheckAsync(strategy, dealId, stock, result, redis.GetDatabase(), dataSource);
                results[name].Add((result, invariant));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"run {run + 1} {name}: {result.CallsPerSecond:F0} calls/s, accepted {result.Accepted}, sold out {result.SoldOut}, errors {result.Errors}, p99 {result.LatencyMicros.ValueAtPercentile(99) / 1000.0:F2} ms, invariant {invariant}"));
                if (result.FirstError is { } error)
                {
                    Console.WriteLine($"  first error: {error}");
                }
            }
        }

        Console.WriteLine($"ceiling: redis-benchmark EVALSHA place_order.lua, {parse.GetValue(ceilingOption)} calls per case…");
        var endpoint = redis.GetEndPoints()[0];
        var (host, port) = endpoint is System.Net.IPEndPoint ip ? (ip.Address.ToString(), ip.Port)
            : ((System.Net.DnsEndPoint)endpoint) is var dns ? (dns.Host, dns.Port) : ("127.0.0.1", 6379);
        var ceiling = await RedisCeiling.RunAsync(redis, host, port, parse.GetValue(ceilingOption), concurrency);

        Console.WriteLine();
        Report.Print(results, ceiling, buyers, stock, concurrency, runs);
        return results.Values.SelectMany(r => r).All(r => r.Invariant == "ok") ? 0 : 1;
    }
    finally
    {
        foreach (var (process, channel) in services.Values)
        {
            channel.Dispose();
            await process.DisposeAsync();
        }
    }
});
return await root.Parse(args).InvokeAsync();

/// <summary>One orders process of the benchmark: a strategy and the settings it runs with.</summary>
internal sealed record Variant(string Name, PlacementStrategy Strategy, Dictionary<string, string> Settings);
