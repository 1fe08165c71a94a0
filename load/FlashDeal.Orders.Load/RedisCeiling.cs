using System.Diagnostics;
using System.Globalization;
using System.Net;
using FlashDeal.Data.Redis;
using FlashDeal.Orders.Placement;
using FlashDeal.Orders.Redis;
using StackExchange.Redis;

namespace FlashDeal.Orders.Load;

/// <summary>One redis-benchmark run: requests per second and latency percentiles (ms) from its CSV line.</summary>
public sealed record CeilingResult(string Case, double RequestsPerSecond, double P50, double P95, double P99, double Max);

/// <summary>
/// The ceiling for the hot path: redis-benchmark calling place_order.lua by EVALSHA on the same Redis, no gRPC, no
/// service. Two cases: every call accepted (a deal with unlimited stock; the full write path) and every call sold out
/// (the flood after sell-out, had it reached Redis). Random users, keys and order ids per call (-r, __rand_int__).
/// </summary>
public static class RedisCeiling
{
    public static async Task<IReadOnlyList<CeilingResult>> RunAsync(IConnectionMultiplexer redis, string host, int port,
        int requests, int clients)
    {
        var database = redis.GetDatabase();
        var script = DealReservationScript.Script;
        await script.LoadAsync(redis);
        var results = new List<CeilingResult>();
        foreach (var (name, stock) in new[] { ("EVALSHA accepted", 1_000_000_000L), ("EVALSHA sold out", 0L) })
        {
            var dealId = Guid.NewGuid();
            await DealWriter.WriteAsync(database, dealId, stock, perUserLimit: 0);
            var output = await RunBenchmarkAsync(host, port, requests, clients, Evalsha(script.Sha1, dealId));
            results.Add(Parse(name, output));
            await database.KeyDeleteAsync(DealKeysOf(dealId));
        }
        return results;
    }

    /// <summary>
    /// EVALSHA accepted on several deals at once: one redis-benchmark per deal, sent to the primary that holds the
    /// deal's slot, <paramref name="requests"/> and <paramref name="clients"/> split evenly between them. Requests per
    /// second of all together, over the wall time from the first start to the last exit.
    /// </summary>
    public static async Task<double> RunAcceptedAsync(IConnectionMultiplexer redis, IReadOnlyList<(Guid Deal, IPEndPoint Primary)> deals,
        int requests, int clients)
    {
        var database = redis.GetDatabase();
        var script = DealReservationScript.Script;
        await script.LoadAsync(redis);
        foreach (var (deal, _) in deals)
        {
            await DealWriter.WriteAsync(database, deal, 1_000_000_000L, perUserLimit: 0);
        }
        var perDeal = requests / deals.Count;
        var clientsPerDeal = Math.Max(1, clients / deals.Count);
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(deals.Select(d =>
            RunBenchmarkAsync(d.Primary.Address.ToString(), d.Primary.Port, perDeal, clientsPerDeal, Evalsha(script.Sha1, d.Deal))));
        var elapsed = clock.Elapsed;
        foreach (var (deal, _) in deals)
        {
            await database.KeyDeleteAsync(DealKeysOf(deal));
        }
        return perDeal * deals.Count / elapsed.TotalSeconds;
    }

    /// <summary>place_order.lua by EVALSHA with random users, keys and order ids per call (-r, __rand_int__).</summary>
    private static string[] Evalsha(string sha1, Guid dealId)
    {
        var tag = DealKeys.HashTag(dealId);
        string[] keys =
        [
            $"{tag}:config", $"{tag}:stock", $"{tag}:buyers", $"{tag}:idem", $"{tag}:orders",
            $"{tag}:order:__rand_int__", $"{tag}:deadlines",
        ];
        // Pay window and hash retention of 1 s: the order hashes expire right after the run.
        string[] values = [dealId.ToString("D"), "u__rand_int__", "k__rand_int__", "1", "o__rand_int__", "1000", "1000", "1000", "1"];
        return ["EVALSHA", sha1, keys.Length.ToString(CultureInfo.InvariantCulture), .. keys, .. values];
    }

    private static RedisKey[] DealKeysOf(Guid dealId)
    {
        var tag = DealKeys.HashTag(dealId);
        return [$"{tag}:config", $"{tag}:stock", $"{tag}:buyers", $"{tag}:idem", $"{tag}:orders", $"{tag}:deadlines"];
    }

    /// <summary>One redis-benchmark run of <paramref name="command"/> (random values per call: __rand_int__).</summary>
    public static async Task<CeilingResult> RunCommandAsync(string name, string host, int port, int requests, int clients,
        string[] command) => Parse(name, await RunBenchmarkAsync(host, port, requests, clients, command));

    private static async Task<string> RunBenchmarkAsync(string host, int port, int requests, int clients, string[] command)
    {
        var start = new ProcessStartInfo("redis-benchmark",
        [
            "-h", host, "-p", port.ToString(CultureInfo.InvariantCulture), "-n", requests.ToString(CultureInfo.InvariantCulture),
            "-c", clients.ToString(CultureInfo.InvariantCulture), "-r", "100000000", "--csv", .. command,
        ])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start)
            ?? throw new InvalidOperationException("redis-benchmark not found: apt-get install -y redis-tools");
        var output = await process.StandardOutput.ReadToEndAsync();
        var errors = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? output : throw new InvalidOperationException($"redis-benchmark failed: {errors}{output}");
    }

    private static CeilingResult Parse(string name, string csv)
    {
        // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
        var line = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last(l => !l.StartsWith("\"test\"", StringComparison.Ordinal));
        var fields = line.Split("\",\"").Select(f => f.Trim('"', '\r')).ToArray();
        double F(int i) => double.Parse(fields[i], CultureInfo.InvariantCulture);
        return new CeilingResult(name, F(1), F(4), F(5), F(6), F(7));
    }
}

/// <summary>Writes a deal the way catalog does (config hash + stock), for the benchmark's own deals.</summary>
public static class DealWriter
{
    public static async Task WriteAsync(IDatabase database, Guid dealId, long stock, int perUserLimit)
    {
        var now = DateTimeOffset.UtcNow;
        await database.HashSetAsync(DealKeys.Config(dealId),
        [
            new(DealConfigFields.DealId, dealId.ToString("D")),
            new(DealConfigFields.ProductId, Guid.NewGuid().ToString("D")),
            new(DealConfigFields.ProductName, "Benchmark headphones"),
            new(DealConfigFields.Title, "Benchmark deal"),
            new(DealConfigFields.PriceCents, 1999),
            new(DealConfigFields.Currency, "USD"),
            new(DealConfigFields.Stock, stock),
            new(DealConfigFields.PerUserLimit, perUserLimit),
            new(DealConfigFields.StartMs, now.AddMinutes(-1).ToUnixTimeMilliseconds()),
            new(DealConfigFields.EndMs, now.AddHours(1).ToUnixTimeMilliseconds()),
            new(DealConfigFields.Cancelled, "0"),
            new(DealConfigFields.Version, 1),
        ]);
        await database.StringSetAsync(DealKeys.Stock(dealId), stock, when: When.NotExists);
    }
}
