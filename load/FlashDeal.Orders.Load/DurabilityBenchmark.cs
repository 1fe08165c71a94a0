using System.CommandLine;
using Npgsql;
using StackExchange.Redis;

namespace FlashDeal.Orders.Load;

/// <summary>
/// <c>durability</c>: PlaceOrder with every call accepted (the path durability slows: a sold-out call writes nothing)
/// against three Redis servers side by side, each with an orders process of its own: <c>local</c> (AOF fsynced every
/// second), <c>fsync</c> (<c>appendfsync always</c>: every write on disk before Redis answers) and <c>replica</c>
/// (<c>Orders:Durability=Replica</c>: answered once WAIT says a replica holds the order). The servers are the
/// caller's (load/redis-bench.sh starts them); the table says what each one reported about itself.
/// </summary>
public static class DurabilityBenchmark
{
    public static Command Create()
    {
        var postgres = new Option<string>("--postgres") { Description = "PostgreSQL connection string (Npgsql)", Required = true };
        var local = new Option<string>("--local") { Description = "Redis host:port with appendfsync everysec", Required = true };
        var fsync = new Option<string>("--fsync") { Description = "Redis host:port with appendfsync always", Required = true };
        var replica = new Option<string>("--replica") { Description = "Redis primary host:port with a replica connected", Required = true };
        var buyers = new Option<int>("--buyers") { Description = "buyers per run, one PlaceOrder each; the deal has as many units", DefaultValueFactory = _ => 20_000 };
        var concurrency = new Option<int>("--concurrency") { Description = "calls in flight (closed loop)", DefaultValueFactory = _ => 64 };
        var runs = new Option<int>("--runs") { Description = "measured runs per variant, the order rotated", DefaultValueFactory = _ => 3 };
        var command = new Command("durability", "PlaceOrder, every call accepted: local vs fsync vs replica durability, side by side.")
        {
            postgres, local, fsync, replica, buyers, concurrency, runs,
        };
        command.SetAction(parse => RunAsync(parse.GetValue(postgres)!,
            [("local", parse.GetValue(local)!, []),
             ("fsync", parse.GetValue(fsync)!, []),
             ("replica", parse.GetValue(replica)!, new Dictionary<string, string> { ["Orders__Durability"] = "Replica" })],
            parse.GetValue(buyers), parse.GetValue(concurrency), parse.GetValue(runs)));
        return command;
    }

    private sealed record Variant(string Name, OrdersInstance Orders, IConnectionMultiplexer Redis, string Servers,
        IReadOnlyList<(string Name, int Pid)> Processes);

    private static async Task<int> RunAsync(string postgres, (string Name, string Redis, Dictionary<string, string> Settings)[] wanted,
        int buyers, int concurrency, int runs)
    {
        Console.Error.WriteLine($"minting {buyers} access tokens…");
        await using var bench = await OrdersBench.StartAsync(buyers);
        await using var dataSource = NpgsqlDataSource.Create(postgres);
        var postgresProcess = await StoreProcesses.PostgresAsync(dataSource);
        var variants = new List<Variant>();
        try
        {
            foreach (var (name, address, settings) in wanted)
            {
                var redis = await ConnectionMultiplexer.ConnectAsync($"{address},allowAdmin=true");
                var servers = await StoreProcesses.DescribeRedisAsync(redis);
                List<(string, int)> processes = [.. await StoreProcesses.RedisAsync(redis)];
                if (postgresProcess is { } pg)
                {
                    processes.Add(pg);
                }
                var orders = await bench.StartOrdersAsync(name, postgres, address, settings);
                variants.Add(new Variant(name, orders, redis, servers, processes));
                Console.Error.WriteLine($"{name}: Redis {address} ({servers}), orders service pid {orders.Process.Id} at {orders.Process.GrpcAddress}");
            }
            foreach (var variant in variants)
            {
                Console.Error.WriteLine($"{variant.Name}: warming up…");
                await bench.WarmUpAsync(variant.Orders, variant.Redis.GetDatabase(), [Guid.NewGuid()], concurrency);
            }

            var measured = variants.ToDictionary(v => v.Name, _ => new List<MeasuredRun>());
            for (var run = 0; run < runs; run++)
            {
                // Rotated (A B C, B C A, C A B, …): every variant runs first, second and last as often as the others.
                foreach (var variant in variants.Skip(run % variants.Count).Concat(variants.Take(run % variants.Count)))
                {
                    var deal = Guid.NewGuid();
                    var database = variant.Redis.GetDatabase();
                    await DealWriter.WriteAsync(database, deal, buyers, perUserLimit: 1);
                    var result = await bench.MeasureAsync(variant.Orders, [deal], buyers, concurrency, variant.Processes, database, dataSource);
                    measured[variant.Name].Add(result);
                    Console.Error.WriteLine(Report.Progress($"run {run + 1} {variant.Name}", result));
                }
            }

            Print(variants, measured, buyers, concurrency, runs);
            return measured.Values.SelectMany(r => r).All(r => r.Invariant == "ok") ? 0 : 1;
        }
        finally
        {
            foreach (var variant in variants)
            {
                await variant.Redis.DisposeAsync();
            }
        }
    }

    private static void Print(List<Variant> variants, Dictionary<string, List<MeasuredRun>> measured, int buyers, int concurrency, int runs)
    {
        Console.WriteLine(Report.Invariant(
            $"PlaceOrder over gRPC with every call accepted: {buyers:N0} buyers, one deal of {buyers:N0} units (per_user_limit 1) per run, {concurrency} in flight, one orders process per Redis, the order of the variants rotated between runs; median (min–max) of {runs} runs, errors summed. Machine: its busy cores while the run lasted (2.0 = both cores busy: the run is CPU-bound). CPU: µs per call in each process meanwhile (/proc); Redis is every server of the variant, the replica's part in brackets (in production the replica runs on other cores)."));
        Console.WriteLine();
        Console.WriteLine($"| durability | Redis | calls/s | p50 ms | p99 ms | errors | calls/s vs local | machine, cores | {Report.CpuHeader} | invariants |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|");
        var local = measured["local"];
        foreach (var variant in variants)
        {
            var list = measured[variant.Name];
            var results = list.Select(r => r.Result).ToList();
            var ratios = list.Zip(local, (v, l) => v.Result.CallsPerSecond / l.Result.CallsPerSecond).ToList();
            var ratio = Report.Median(results, r => r.CallsPerSecond) / Report.Median(local.Select(r => r.Result).ToList(), r => r.CallsPerSecond);
            string[] cells =
            [
                Label(variant.Name),
                variant.Servers,
                Report.MedianAndRange(results.Select(r => r.CallsPerSecond)),
                Report.Cell(Report.Median(results, r => Report.Ms(r, 50)), "F1"),
                Report.Cell(Report.Median(results, r => Report.Ms(r, 99)), "F1"),
                Report.Cell(results.Sum(r => r.Errors), "F0"),
                variant.Name == "local" ? "1" : $"{Report.Cell(ratio, "F2")} (runs {Report.Cell(ratios.Min(), "F2")}–{Report.Cell(ratios.Max(), "F2")})",
                Report.Cell(Report.Median(list.Select(r => r.Cpu?.BusyCores ?? double.NaN)), "F2"),
                .. Report.CpuCells(list),
                Report.Invariants(list),
            ];
            Console.WriteLine($"| {string.Join(" | ", cells)} |");
        }
    }

    private static string Label(string name) => name switch
    {
        "local" => "`local` (answered after the script)",
        "fsync" => "`fsync` (the server fsyncs every write)",
        "replica" => "`replica` (`Orders:Durability=Replica`: after WAIT 1)",
        _ => name,
    };
}
