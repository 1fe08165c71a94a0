using System.CommandLine;
using System.Globalization;
using FlashDeal.Contracts.Coupons.V1;
using FlashDeal.Load;
using FlashDeal.Orders.Coupons;
using FlashDeal.ServiceDefaults;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Npgsql;
using StackExchange.Redis;

namespace FlashDeal.Orders.Load;

/// <summary>
/// <c>coupons</c>: the claim rate of a give-away through the orders service (ClaimCoupon over gRPC, every claimer a
/// different user, every claim granted: the write path) next to its ceiling, redis-benchmark calling claim_coupon.lua by
/// EVALSHA on the same Redis with random users, granted and exhausted. After each run the stores are counted: as many
/// coupons claimed as the service granted, none left, one per user, all of them in PostgreSQL.
/// </summary>
public static class CouponBenchmark
{
    public static Command Create()
    {
        var postgres = new Option<string>("--postgres") { Description = "PostgreSQL connection string (Npgsql)", Required = true };
        var redis = new Option<string>("--redis") { Description = "Redis host:port", Required = true };
        var claimers = new Option<int>("--claimers") { Description = "users per run, one ClaimCoupon each; the campaign has as many coupons", DefaultValueFactory = _ => 20_000 };
        var concurrency = new Option<int>("--concurrency") { Description = "calls in flight (closed loop)", DefaultValueFactory = _ => 64 };
        var runs = new Option<int>("--runs") { Description = "measured runs", DefaultValueFactory = _ => 3 };
        var ceiling = new Option<int>("--ceiling-requests") { Description = "redis-benchmark calls per case", DefaultValueFactory = _ => 100_000 };
        var command = new Command("coupons", "ClaimCoupon through the service vs redis-benchmark EVALSHA claim_coupon.lua.")
        {
            postgres, redis, claimers, concurrency, runs, ceiling,
        };
        command.SetAction(parse => RunAsync(parse.GetValue(postgres)!, parse.GetValue(redis)!, parse.GetValue(claimers),
            parse.GetValue(concurrency), parse.GetValue(runs), parse.GetValue(ceiling)));
        return command;
    }

    private static async Task<int> RunAsync(string postgres, string redisAddress, int claimers, int concurrency, int runs,
        int ceilingRequests)
    {
        Console.Error.WriteLine($"minting {claimers} access tokens…");
        await using var bench = await OrdersBench.StartAsync(claimers);
        await using var dataSource = NpgsqlDataSource.Create(postgres);
        await using var redis = await ConnectionMultiplexer.ConnectAsync($"{redisAddress},allowAdmin=true");
        var servers = await StoreProcesses.RedisAsync(redis);
        var orders = await bench.StartOrdersAsync("coupons", postgres, redisAddress, new Dictionary<string, string>());
        Console.Error.WriteLine($"orders service pid {orders.Process.Id} at {orders.Process.GrpcAddress}");
        var client = new CouponService.CouponServiceClient(orders.Channel);

        Console.Error.WriteLine("warming up…");
        await MeasureAsync(bench, orders, client, Math.Min(claimers, 3_000), concurrency, [], redis.GetDatabase(), dataSource);

        var measured = new List<MeasuredRun>();
        for (var run = 0; run < runs; run++)
        {
            var result = await MeasureAsync(bench, orders, client, claimers, concurrency, servers, redis.GetDatabase(), dataSource);
            measured.Add(result);
            Console.Error.WriteLine(Report.Invariant(
                $"run {run + 1}: {result.Result.CallsPerSecond:N0} claims/s, p50 {Report.Ms(result.Result, 50):F1} ms, p99 {Report.Ms(result.Result, 99):F1} ms, claimed {result.Result.Accepted}, errors {result.Result.Errors}{(result.Result.FirstError is { } e ? $" (first: {e})" : "")}; invariants {result.Invariant}"));
        }

        Console.Error.WriteLine($"ceiling: redis-benchmark EVALSHA claim_coupon.lua, {ceilingRequests} calls per case…");
        var endpoint = (System.Net.IPEndPoint)redis.GetEndPoints()[0];
        var ceiling = await CeilingAsync(redis, endpoint.Address.ToString(), endpoint.Port, ceilingRequests, concurrency);

        Print(measured, ceiling, claimers, concurrency, runs);
        return measured.All(r => r.Invariant == "ok") ? 0 : 1;
    }

    private static async Task<MeasuredRun> MeasureAsync(OrdersBench bench, OrdersInstance orders,
        CouponService.CouponServiceClient client, int claimers, int concurrency, IReadOnlyList<(string Name, int Pid)> servers,
        IDatabase redis, NpgsqlDataSource dataSource)
    {
        var campaign = (await client.CreateCampaignAsync(new CreateCampaignRequest
        {
            Campaign = new Campaign
            {
                Name = "Benchmark give-away",
                PercentOff = 10,
                TotalQuantity = claimers,
                StartTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-1)),
                EndTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(1)),
            },
        }, new Metadata { { "authorization", bench.AdminBearer } })).Campaign;

        var budget = CpuBudget.TryStart([("orders", orders.Process.Id), .. servers]);
        var result = await ClaimAsync(client, bench.Bearers, campaign.CampaignId, claimers, concurrency,
            () => orders.Process.CpuTime);
        var cpu = budget?.Stop("claim_coupon", result.Accepted + result.SoldOut + result.Errors);
        var invariant = await CheckAsync(Guid.Parse(campaign.CampaignId), claimers, result, redis, dataSource);
        return new MeasuredRun(result, cpu, invariant);
    }

    /// <summary>A <see cref="ClosedLoop"/> of claimers, each claiming once.</summary>
    private static async Task<PhaseResult> ClaimAsync(CouponService.CouponServiceClient client, IReadOnlyList<string> bearers,
        string campaignId, int claimers, int concurrency, Func<TimeSpan> serverCpu)
    {
        var cpuBefore = serverCpu();
        var loop = await ClosedLoop.RunAsync(claimers, concurrency, async user =>
        {
            try
            {
                await client.ClaimCouponAsync(new ClaimCouponRequest { CampaignId = campaignId, IdempotencyKey = "k" },
                    new Metadata { { "authorization", bearers[user] } }, DateTime.UtcNow.AddSeconds(30));
                return CallOutcome.Taken;
            }
            catch (RpcException e) when (e.GetDetail<ErrorInfo>()?.Reason == "COUPONS_EXHAUSTED")
            {
                return CallOutcome.Refused;
            }
        });
        var cpu = serverCpu() - cpuBefore;
        return new PhaseResult("coupons", loop.Elapsed, null, loop.Taken, loop.Refused, loop.Errors, loop.FirstError,
            loop.LatencyMicros, cpu.TotalMicroseconds / Math.Max(1, claimers), []);
    }

    /// <summary>"ok", or what failed: every coupon granted once to a different user, none left, all in PostgreSQL.</summary>
    private static async Task<string> CheckAsync(Guid campaignId, int total, PhaseResult result, IDatabase redis,
        NpgsqlDataSource dataSource)
    {
        if (result.Accepted != total)
        {
            return $"FAIL claimed {result.Accepted} of {total}";
        }
        var remaining = (long)await redis.StringGetAsync(CouponKeys.Remaining(campaignId));
        var holders = await redis.HashLengthAsync(CouponKeys.Claims(campaignId));
        if (remaining != 0 || holders != total)
        {
            return $"FAIL Redis: {remaining} left, {holders} users hold coupons (expected 0 and {total})";
        }
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            await using var command = dataSource.CreateCommand(
                "SELECT count(*), count(DISTINCT user_id) FROM orders.coupons WHERE campaign_id = $1");
            command.Parameters.Add(new NpgsqlParameter { Value = campaignId });
            await using var reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            var (rows, users) = (reader.GetInt64(0), reader.GetInt64(1));
            if (rows == total && users == total)
            {
                return "ok";
            }
            if (rows > total || DateTime.UtcNow > deadline)
            {
                return $"FAIL PostgreSQL holds {rows} coupons of {users} users, expected {total}";
            }
            await Task.Delay(200);
        }
    }

    /// <summary>claim_coupon.lua by EVALSHA, random users and keys per call (-r, __rand_int__): granted, then exhausted.</summary>
    private static async Task<IReadOnlyList<CeilingResult>> CeilingAsync(IConnectionMultiplexer redis, string host, int port,
        int requests, int clients)
    {
        var database = redis.GetDatabase();
        var script = ClaimCouponScript.Script;
        await script.LoadAsync(redis);
        var results = new List<CeilingResult>();
        foreach (var (name, coupons) in new[] { ("EVALSHA granted", 1_000_000_000L), ("EVALSHA exhausted", 0L) })
        {
            var campaignId = Guid.NewGuid();
            var now = DateTimeOffset.UtcNow;
            await database.HashSetAsync(CouponKeys.Config(campaignId),
            [
                new(CampaignConfigFields.Name, "Benchmark give-away"),
                new(CampaignConfigFields.PercentOff, 10),
                new(CampaignConfigFields.Total, 1_000_000_000L),
                new(CampaignConfigFields.StartMs, now.AddMinutes(-1).ToUnixTimeMilliseconds()),
                new(CampaignConfigFields.EndMs, now.AddHours(1).ToUnixTimeMilliseconds()),
                // The coupons this run claims expire a second after this: nothing is left behind.
                new(CampaignConfigFields.RedeemBeforeMs, now.AddMinutes(2).ToUnixTimeMilliseconds()),
            ]);
            await database.StringSetAsync(CouponKeys.Remaining(campaignId), coupons);
            string[] command =
            [
                "EVALSHA", script.Sha1, "4", (string)CouponKeys.Config(campaignId)!, (string)CouponKeys.Remaining(campaignId)!,
                (string)CouponKeys.Claims(campaignId)!, (string)CouponKeys.Events(campaignId)!,
                "u__rand_int__", "k__rand_int__", CouponKeys.HashTag(campaignId), campaignId.ToString("D"), "1000",
            ];
            results.Add(await RedisCeiling.RunCommandAsync(name, host, port, requests, clients, command));
            await database.KeyDeleteAsync([CouponKeys.Config(campaignId), CouponKeys.Remaining(campaignId),
                CouponKeys.Claims(campaignId), CouponKeys.Events(campaignId)]);
        }
        return results;
    }

    private static void Print(List<MeasuredRun> runs, IReadOnlyList<CeilingResult> ceiling, int claimers, int concurrency,
        int count)
    {
        var results = runs.Select(r => r.Result).ToList();
        var rate = Report.Median(results, r => r.CallsPerSecond);
        var granted = ceiling[0].RequestsPerSecond;
        Console.WriteLine(Report.Invariant(
            $"ClaimCoupon over gRPC with every claim granted: {claimers:N0} users, a campaign of {claimers:N0} coupons per run, {concurrency} in flight, one orders process, one Redis; median (min–max) of {count} runs, errors summed. The ceiling: redis-benchmark calling claim_coupon.lua by EVALSHA on the same Redis ({concurrency} connections, random users), no service and no gRPC. CPU: µs per claim in each process meanwhile (/proc)."));
        Console.WriteLine();
        Console.WriteLine($"| path | claims/s | p50 ms | p95 ms | p99 ms | errors | of the EVALSHA ceiling | {Report.CpuHeader} | invariants |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        string[] cells =
        [
            "ClaimCoupon through the orders service",
            Report.MedianAndRange(results.Select(r => r.CallsPerSecond)),
            Report.Cell(Report.Median(results, r => Report.Ms(r, 50)), "F2"),
            Report.Cell(Report.Median(results, r => Report.Ms(r, 95)), "F2"),
            Report.Cell(Report.Median(results, r => Report.Ms(r, 99)), "F2"),
            Report.Cell(results.Sum(r => r.Errors), "F0"),
            Report.Cell(rate / granted, "F2"),
            .. Report.CpuCells(runs),
            Report.Invariants(runs),
        ];
        Console.WriteLine($"| {string.Join(" | ", cells)} |");
        foreach (var c in ceiling)
        {
            Console.WriteLine(Report.Invariant(
                $"| redis-benchmark {c.Case} | {c.RequestsPerSecond:N0} | {c.P50:F3} | {c.P95:F3} | {c.P99:F3} | 0 | {c.RequestsPerSecond / granted:F2} | | | | | | | |"));
        }
    }
}
