using System.Globalization;
using FlashDeal.Data.Redis;
using FlashDeal.Orders.Redis;
using Npgsql;
using StackExchange.Redis;

namespace FlashDeal.Orders.Load;

/// <summary>After a run, counts in the stores (never the service's counters): exactly the stock accepted, all of it stored.</summary>
public static class Invariants
{
    public static Task<string> CheckAsync(PlacementStrategy strategy, Guid dealId, int stock, PhaseResult result,
        IDatabase redis, NpgsqlDataSource dataSource) => CheckAsync(strategy, [dealId], stock, result, redis, dataSource);

    /// <summary>"ok", or what failed: every deal sold out exactly (none oversold), and PostgreSQL holds the accepted orders.</summary>
    /// <param name="stock">Units of each deal.</param>
    public static async Task<string> CheckAsync(PlacementStrategy strategy, IReadOnlyList<Guid> deals, int stock,
        PhaseResult result, IDatabase redis, NpgsqlDataSource dataSource)
    {
        var units = (long)stock * deals.Count;
        if (result.Accepted != units)
        {
            return $"FAIL accepted {result.Accepted} of {units}";
        }
        foreach (var dealId in deals)
        {
            var remaining = strategy == PlacementStrategy.RedisLua
                ? (long)await redis.StringGetAsync(DealKeys.Stock(dealId))
                : Convert.ToInt64(await ScalarAsync(dataSource, "SELECT remaining FROM orders.deal_inventory WHERE deal_id = $1", dealId),
                    CultureInfo.InvariantCulture);
            if (remaining != 0)
            {
                return deals.Count == 1 ? $"FAIL remaining {remaining}" : $"FAIL remaining {remaining} of deal {dealId}";
            }
        }
        var deadline = DateTime.UtcNow.AddSeconds(60);
        HashSet<string> stored;
        while (true)
        {
            stored = await StoredIdsAsync(dataSource, deals);
            if (stored.Count >= units || DateTime.UtcNow > deadline)
            {
                break;
            }
            await Task.Delay(100);
        }
        return stored.SetEquals(result.AcceptedOrderIds) ? "ok" : $"FAIL PostgreSQL holds {stored.Count} orders";
    }

    private static async Task<HashSet<string>> StoredIdsAsync(NpgsqlDataSource dataSource, IReadOnlyList<Guid> deals)
    {
        await using var command = dataSource.CreateCommand("SELECT order_id FROM orders.orders WHERE deal_id = ANY($1)");
        command.Parameters.Add(new NpgsqlParameter { Value = deals.ToArray() });
        await using var reader = await command.ExecuteReaderAsync();
        var ids = new HashSet<string>();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetGuid(0).ToString("D"));
        }
        return ids;
    }

    private static async Task<object?> ScalarAsync(NpgsqlDataSource dataSource, string sql, Guid dealId)
    {
        await using var command = dataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter { Value = dealId });
        return await command.ExecuteScalarAsync();
    }
}
