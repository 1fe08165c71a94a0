using System.CommandLine;
using System.Globalization;
using System.Net;
using FlashDeal.Data.Redis;
using FlashDeal.Load;
using Npgsql;
using StackExchange.Redis;

namespace FlashDeal.Orders.Load;

/// <summary>
/// <c>cluster</c>: several deals sold at once (buyers spread over them, every call accepted) through one orders process
/// on a Redis Cluster, with every deal's hash slot on one primary against one deal per primary. Same cluster, same
/// process, same client code: only where the deals live differs (their ids are drawn until their slot falls on the
/// wanted primary). Then redis-benchmark's EVALSHA on the same layouts, without the service: one deal alone (the
/// per-deal ceiling: a deal's keys share one slot, so one Redis core), all deals on one primary, one deal per primary.
/// </summary>
public static class ClusterBenchmark
{
    public static Command Create()
    {
        var postgres = new Option<string>("--postgres") { Description = "PostgreSQL connection string (Npgsql)", Required = true };
        var nodes = new Option<string>("--nodes") { Description = "the cluster's nodes, host:port,host:port,…", Required = true };
        var deals = new Option<int>("--deals") { Description = "deals sold at once", DefaultValueFactory = _ => 3 };
        var buyers = new Option<int>("--buyers") { Description = "buyers per run, spread evenly over the deals, one PlaceOrder each", DefaultValueFactory = _ => 30_000 };
        var concurrency = new Option<int>("--concurrency") { Description = "calls in flight (closed loop), over all deals", DefaultValueFactory = _ => 64 };
        var runs = new Option<int>("--runs") { Description = "measured runs per layout, the order alternating", DefaultValueFactory = _ => 3 };
        var ceiling = new Option<int>("--ceiling-requests") { Description = "redis-benchmark calls per layout, over all its deals", DefaultValueFactory = _ => 100_000 };
        var command = new Command("cluster", "Aggregate PlaceOrder over several deals: all on one cluster primary vs one per primary.")
        {
            postgres, nodes, deals, buyers, concurrency, runs, ceiling,
        };
        command.SetAction(parse => RunAsync(parse.GetValue(postgres)!, parse.GetValue(nodes)!, parse.GetValue(deals),
            parse.GetValue(buyers), parse.GetValue(concurrency), parse.GetValue(runs), parse.GetValue(ceiling)));
        return command;
    }

    private sealed record Layout(string Name, int Deals, int Primaries, Func<IReadOnlyList<(Guid Deal, IPEndPoint Primary)>> Place);

    private static async Task<int> RunAsync(string postgres, string nodes, int dealCount, int buyers, int concurrency, int runs,
        int ceilingRequests)
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync($"{nodes},allowAdmin=true");
        var cluster = redis.GetServers().Select(s => s.ClusterConfiguration).FirstOrDefault(c => c is not null)
            ?? throw new InvalidOperationException($"{nodes} is not a Redis Cluster");
        var primaries = cluster.Nodes.Where(n => !n.IsReplica && n.Slots.Count > 0)
            .OrderBy(n => ((IPEndPoint)n.EndPoint!).Port).ToList();
        if (primaries.Count < 2 || dealCount < 2)
        {
            throw new InvalidOperationException($"needs 2 or more primaries and deals (cluster: {primaries.Count} primaries; --deals {dealCount})");
        }
        var perDeal = buyers / dealCount;
        buyers = perDeal * dealCount;

        // Deal ids drawn until their slot is on the wanted primary: the hash tag {deal:<id>} decides the slot.
        (Guid, IPEndPoint) DealOn(ClusterNode primary)
        {
            while (true)
            {
                var deal = Guid.NewGuid();
                if (cluster.GetBySlot(redis.HashSlot(DealKeys.Config(deal)))?.NodeId == primary.NodeId)
                {
                    return (deal, (IPEndPoint)primary.EndPoint!);
                }
            }
        }
        var onePrimary = new Layout($"{dealCount} deals, 1 primary", dealCount, 1,
            () => [.. Enumerable.Range(0, dealCount).Select(_ => DealOn(primaries[0]))]);
        var spread = new Layout($"{dealCount} deals, {Math.Min(dealCount, primaries.Count)} primaries", dealCount,
            Math.Min(dealCount, primaries.Count), () => [.. Enumerable.Range(0, dealCount).Select(i => DealOn(primaries[i % primaries.Count]))]);
        var single = new Layout("1 deal, 1 primary", 1, 1, () => [DealOn(primaries[0])]);
        Console.Error.WriteLine($"cluster: {primaries.Count} primaries ({string.Join(", ", primaries.Select(p => p.EndPoint))}); " +
            $"{dealCount} deals of {perDeal} units, {buyers} buyers per run");

        Console.Error.WriteLine($"minting {buyers} access tokens…");
        await using var bench = await OrdersBench.StartAsync(buyers);
        await using var dataSource = NpgsqlDataSource.Create(postgres);
        List<(string Name, int Pid)> processes = [.. await StoreProcesses.RedisAsync(redis)];
        if (await StoreProcesses.PostgresAsync(dataSource) is { } pg)
        {
            processes.Add(pg);
        }
        var orders = await bench.StartOrdersAsync("orders", postgres, nodes, new Dictionary<string, string>());
        Console.Error.WriteLine($"orders service pid {orders.Process.Id} at {orders.Process.GrpcAddress}, Redis {nodes}; warming up…");
        await bench.WarmUpAsync(orders, redis.GetDatabase(), [.. primaries.Select(p => DealOn(p).Item1)], concurrency);

        var measured = new[] { onePrimary, spread }.ToDictionary(l => l.Name, _ => new List<MeasuredRun>());
        var ceilings = new[] { single, onePrimary, spread }.ToDictionary(l => l.Name, _ => new List<(double Rps, ReportCpu? Cpu)>());
        for (var run = 0; run < runs; run++)
        {
            foreach (var layout in run % 2 == 0 ? [onePrimary, spread] : new[] { spread, onePrimary })
            {
                var placed = layout.Place();
                var deals = placed.Select(p => p.Deal).ToList();
                foreach (var deal in deals)
                {
                    await DealWriter.WriteAsync(redis.GetDatabase(), deal, perDeal, perUserLimit: 1);
                }
                var result = await bench.MeasureAsync(orders, deals, perDeal, concurrency, processes, redis.GetDatabase(), dataSource);
                measured[layout.Name].Add(result);
                Console.Error.WriteLine(Report.Progress($"run {run + 1} {layout.Name} ({Placement(placed)})", result));
            }
            foreach (var layout in run % 2 == 0 ? [single, onePrimary, spread] : new[] { spread, onePrimary, single })
            {
                var budget = CpuBudget.TryStart(processes);
                var rate = await RedisCeiling.RunAcceptedAsync(redis, layout.Place(), ceilingRequests, concurrency);
                ceilings[layout.Name].Add((rate, budget?.Stop("evalsha", ceilingRequests)));
                Console.Error.WriteLine(Report.Invariant($"run {run + 1} redis-benchmark {layout.Name}: {rate:N0} EVALSHA/s"));
            }
        }

        Print(onePrimary, spread, single, measured, ceilings, perDeal, concurrency, runs);
        return measured.Values.SelectMany(r => r).All(r => r.Invariant == "ok") ? 0 : 1;
    }

    private static string Placement(IReadOnlyList<(Guid Deal, IPEndPoint Primary)> placed) =>
        string.Join(", ", placed.Select(p => $"{p.Deal.ToString("D")[..8]}… on :{p.Primary.Port}"));

    private static void Print(Layout onePrimary, Layout spread, Layout single, Dictionary<string, List<MeasuredRun>> measured,
        Dictionary<string, List<(double Rps, ReportCpu? Cpu)>> ceilings, int perDeal, int concurrency, int runs)
    {
        Console.WriteLine(Report.Invariant(
            $"PlaceOrder over gRPC with every call accepted: {onePrimary.Deals} deals of {perDeal:N0} units (per_user_limit 1) sold at once by one orders process, buyers taking the deals in turn, {concurrency} calls in flight over all deals; the same Redis Cluster ({spread.Primaries} primaries, no replicas, AOF everysec) either way, deal ids drawn so their slots fall on one primary or on one each. Median (min–max) of {runs} runs, the two layouts alternating; busiest Redis and machine in cores (1.0 = one core busy all the run)."));
        Console.WriteLine();
        Console.WriteLine($"| deals | primaries | PlaceOrder calls/s, all deals | per deal | p50 ms | p99 ms | errors | vs 1 primary | busiest Redis, cores | machine, cores | {Report.CpuHeader} | invariants |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var layout in new[] { onePrimary, spread })
        {
            var list = measured[layout.Name];
            var rates = list.Select(r => r.Result.CallsPerSecond).ToList();
            var baseline = measured[onePrimary.Name].Select(r => r.Result.CallsPerSecond).ToList();
            var ratios = rates.Zip(baseline, (a, b) => a / b).ToList();
            string[] cells =
            [
                layout.Deals.ToString(CultureInfo.InvariantCulture),
                layout.Primaries.ToString(CultureInfo.InvariantCulture),
                Report.MedianAndRange(rates),
                Report.Cell(Report.Median(rates) / layout.Deals, "N0"),
                Report.Cell(Report.Median(list.Select(r => Report.Ms(r.Result, 50))), "F1"),
                Report.Cell(Report.Median(list.Select(r => Report.Ms(r.Result, 99))), "F1"),
                Report.Cell(list.Sum(r => r.Result.Errors), "F0"),
                layout == onePrimary ? "1" : $"{Report.Cell(Report.Median(rates) / Report.Median(baseline), "F2")} (runs {Report.Cell(ratios.Min(), "F2")}–{Report.Cell(ratios.Max(), "F2")})",
                Report.Cell(Report.Median(list.Select(r => r.BusiestCores(MeasuredRun.IsRedis))), "F2"),
                Report.Cell(Report.Median(list.Select(r => r.Cpu?.BusyCores ?? double.NaN)), "F2"),
                .. Report.CpuCells(list),
                Report.Invariants(list),
            ];
            Console.WriteLine($"| {string.Join(" | ", cells)} |");
        }
        Console.WriteLine();
        Console.WriteLine(Report.Invariant(
            $"Redis alone on the same cluster: redis-benchmark EVALSHA of place_order.lua, every call accepted, one redis-benchmark per deal against the primary holding it, {concurrency} connections over all deals; median (min–max) of {runs} runs."));
        Console.WriteLine();
        Console.WriteLine("| deals | primaries | EVALSHA/s, all deals | per deal | vs 1 primary | busiest Redis, cores | machine, cores |");
        Console.WriteLine("|---:|---:|---:|---:|---|---:|---:|");
        foreach (var layout in new[] { single, onePrimary, spread })
        {
            var rates = ceilings[layout.Name].Select(c => c.Rps).ToList();
            var ratio = layout == single ? "the per-deal ceiling (one Redis core)"
                : layout == onePrimary ? "1"
                : Report.Cell(Report.Median(rates) / Report.Median(ceilings[onePrimary.Name].Select(c => c.Rps)), "F2");
            string[] cells =
            [
                layout.Deals.ToString(CultureInfo.InvariantCulture),
                layout.Primaries.ToString(CultureInfo.InvariantCulture),
                Report.MedianAndRange(rates),
                Report.Cell(Report.Median(rates) / layout.Deals, "N0"),
                ratio,
                Report.Cell(Report.Median(ceilings[layout.Name].Select(c =>
                    c.Cpu?.Processes.Where(p => MeasuredRun.IsRedis(p.Process)).Max(p => p.Cores) ?? double.NaN)), "F2"),
                Report.Cell(Report.Median(ceilings[layout.Name].Select(c => c.Cpu?.BusyCores ?? double.NaN)), "F2"),
            ];
            Console.WriteLine($"| {string.Join(" | ", cells)} |");
        }
    }
}
