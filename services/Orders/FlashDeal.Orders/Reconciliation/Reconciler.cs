using System.Globalization;
using FlashDeal.Data.Redis;
using FlashDeal.Orders.Persistence;
using FlashDeal.Orders.Redis;
using Npgsql;
using StackExchange.Redis;

namespace FlashDeal.Orders.Reconciliation;

/// <summary>One deal's counters as Redis and PostgreSQL see them.</summary>
/// <param name="Source">"redis" (the Lua path's counters) or "postgres" (the row-lock baseline's inventory row).</param>
/// <param name="Held">Initial stock minus remaining: the units the stock counter says are held.</param>
/// <param name="BuyerUnits">Sum of the buyers hash (Redis only): the units per-user counters say are held.</param>
/// <param name="StoredUnits">Units of PENDING_PAYMENT and PAID orders in PostgreSQL.</param>
/// <param name="Unpersisted">Stream entries not yet in PostgreSQL; StoredUnits is only final when this is 0.</param>
public sealed record DealReconciliation(Guid DealId, string Source, long InitialStock, long Remaining, long Held,
    long? BuyerUnits, long StoredUnits, long StoredOrders, long Unpersisted)
{
    /// <summary>Held minus what PostgreSQL holds; meaningful once nothing is unpersisted.</summary>
    public long StoreDrift => Held - StoredUnits;

    public long BuyerDrift => BuyerUnits is { } units ? Held - units : 0;

    public bool HasDrift => BuyerDrift != 0 || (Unpersisted == 0 && StoreDrift != 0);
}

/// <summary>
/// Compares the stock counters with the orders that hold units: for every deal, initial stock − remaining must equal
/// the quantities of its pending and paid orders, in the buyers hash and in PostgreSQL. Cancelled and expired orders
/// hold nothing. A deal whose stream still has entries is reported with its backlog rather than as drift.
/// </summary>
public sealed class Reconciler(IConnectionMultiplexer redis, NpgsqlDataSource dataSource, StreamRegistry registry)
{
    public async Task<IReadOnlyList<DealReconciliation>> RunAsync(IReadOnlyCollection<Guid>? deals, CancellationToken cancellationToken)
    {
        var store = new OrderStore(dataSource);
        var results = new List<DealReconciliation>();
        foreach (var dealId in deals ?? await registry.ListAsync().ConfigureAwait(false))
        {
            if (await FromRedisAsync(dealId, store, cancellationToken).ConfigureAwait(false) is { } result)
            {
                results.Add(result);
            }
        }
        await using var command = dataSource.CreateCommand(
            "SELECT deal_id, initial_stock, remaining FROM orders.deal_inventory ORDER BY deal_id");
        var inventories = new List<(Guid DealId, long Initial, long Remaining)>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                inventories.Add((reader.GetGuid(0), reader.GetInt32(1), reader.GetInt32(2)));
            }
        }
        foreach (var (dealId, initial, remaining) in inventories.Where(i => deals is null || deals.Contains(i.DealId)))
        {
            var (units, orders) = await store.HeldByDealAsync(dealId, cancellationToken).ConfigureAwait(false);
            results.Add(new DealReconciliation(dealId, "postgres", initial, remaining, initial - remaining, null, units, orders, 0));
        }
        return results;
    }

    private async Task<DealReconciliation?> FromRedisAsync(Guid dealId, OrderStore store, CancellationToken cancellationToken)
    {
        var database = redis.GetDatabase();
        var initial = await database.HashGetAsync(DealKeys.Config(dealId), DealConfigFields.Stock).ConfigureAwait(false);
        var remaining = await database.StringGetAsync(DealKeys.Stock(dealId)).ConfigureAwait(false);
        if (initial.IsNull || remaining.IsNull)
        {
            return null;
        }
        var buyers = await database.HashValuesAsync(OrderKeys.Buyers(dealId)).ConfigureAwait(false);
        var unpersisted = await database.StreamLengthAsync(OrderKeys.Stream(dealId)).ConfigureAwait(false);
        var (units, orders) = await store.HeldByDealAsync(dealId, cancellationToken).ConfigureAwait(false);
        var initialStock = Number(initial);
        var remainingStock = Number(remaining);
        return new DealReconciliation(dealId, "redis", initialStock, remainingStock, initialStock - remainingStock,
            buyers.Sum(Number), units, orders, unpersisted);
    }

    private static long Number(RedisValue value) => long.Parse((string)value!, CultureInfo.InvariantCulture);
}
