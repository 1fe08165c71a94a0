using System.CommandLine;
using System.Globalization;
using FlashDeal.Orders;
using FlashDeal.Orders.Load;
using Npgsql;
using StackExchange.Redis;

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

// The root command compares the placement strategies (load/orders-place-bench.sh); the subcommands compare Redis set-ups
// for the Lua path (load/redis-bench.sh).
var root = new RootCommand("PlaceOrder: Lua hot path vs row-lock baseline, plus the redis-benchmark EVALSHA ceiling.")
{
    postgresOption, redisOption, buyersOption, stockOption, concurrencyOption, runsOption, ceilingOption, telemetryOption,
    DurabilityBenchmark.Create(), ClusterBenchmark.Create(), CouponBenchmark.Create(),
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
    await using var bench = await OrdersBench.StartAsync(buyers);
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
    var services = new Dictionary<string, OrdersInstance>();
    foreach (var variant in variants)
    {
        var instance = await bench.StartOrdersAsync(variant.Name, postgres, redisAddress,
            new Dictionary<string, string>(variant.Settings) { ["Orders__Strategy"] = variant.Strategy.ToString() });
        services[variant.Name] = instance;
        Console.WriteLine($"{variant.Name}: orders service pid {instance.Process.Id} at {instance.Process.GrpcAddress}");
    }
    foreach (var instance in services.Values)
    {
        await bench.WarmUpAsync(instance, redis.GetDatabase(), [Guid.NewGuid()], concurrency);
    }

    var results = variants.ToDictionary(v => v.Name, _ => new List<(PhaseResult Result, string Invariant)>());
    for (var run = 0; run < runs; run++)
    {
        foreach (var variant in run % 2 == 0 ? variants : Enumerable.Reverse(variants))
        {
            var (strategy, name) = (variant.Strategy, variant.Name);
            var instance = services[name];
            var dealId = Guid.NewGuid();
            await DealWriter.WriteAsync(redis.GetDatabase(), dealId, stock, perUserLimit: 1);
            var result = await new PlaceOrderPhase(instance.Channel, bench.Bearers)
                .RunAsync(name, dealId, buyers, stock, concurrency, () => instance.Process.CpuTime);
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
});
return await root.Parse(args).InvokeAsync();

/// <summary>One orders process of the benchmark: a strategy and the settings it runs with.</summary>
internal sealed record Variant(string Name, PlacementStrategy Strategy, Dictionary<string, string> Settings);
