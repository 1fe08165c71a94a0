using System.Diagnostics;
using System.Globalization;
using FlashDeal.Data.Redis;
using FlashDeal.Load;
using FlashDeal.LoadTool.Scenarios;
using Npgsql;
using StackExchange.Redis;

namespace FlashDeal.LoadTool.Stores;

/// <summary>The stores just before the opening: Redis units left and PostgreSQL rows of the deal (non-zero with --deal).</summary>
public sealed record StoreBaseline(long Remaining, long Rows, long HeldUnits);

/// <summary>
/// After a spike, counts in the stores — never the tool's or the services' counters — and compares with the orders the
/// tool was told were accepted: Redis <c>{deal:&lt;id&gt;}:stock</c> for the units taken, orders.orders in PostgreSQL once
/// the stream consumer has drained (polled with a bound) for the rows, the per-user limit and the idempotency keys.
/// </summary>
public static class SpikeInvariants
{
    public static async Task<StoreBaseline> BaselineAsync(string postgres, string redis, DealUnderTest deal,
        CancellationToken cancellationToken)
    {
        await using var database = NpgsqlDataSource.Create(postgres);
        using var connection = await ConnectionMultiplexer.ConnectAsync(redis);
        var remaining = await connection.GetDatabase().StringGetAsync(DealKeys.Stock(deal.DealId));
        return new StoreBaseline(
            remaining.IsNull ? deal.Stock : (long)remaining,
            await ScalarAsync(database, OrderQueries.Count, deal.DealId, cancellationToken: cancellationToken),
            await ScalarAsync(database, OrderQueries.HeldUnits, deal.DealId, cancellationToken: cancellationToken));
    }

    public static async Task<IReadOnlyList<InvariantResult>> CheckAsync(string postgres, string redis, DealUnderTest deal,
        StoreBaseline baseline, IReadOnlyCollection<AcceptedOrder> accepted, IReadOnlyCollection<string> duplicateOrderIds,
        IReadOnlyCollection<string> conflictingKeys, TimeSpan drainTimeout, CancellationToken cancellationToken)
    {
        var results = new List<InvariantResult>();
        var acceptedUnits = accepted.Sum(o => (long)o.Quantity);
        await using var database = NpgsqlDataSource.Create(postgres);
        using var connection = await ConnectionMultiplexer.ConnectAsync(redis);

        results.Add(new InvariantResult("accepted <= stock", acceptedUnits <= baseline.Remaining,
            $"accepted {acceptedUnits} units, {baseline.Remaining} were available at the opening"));

        var remainingValue = await connection.GetDatabase().StringGetAsync(DealKeys.Stock(deal.DealId));
        long? taken = remainingValue.IsNull ? null : baseline.Remaining - (long)remainingValue;
        results.Add(new InvariantResult("redis stock taken = accepted", taken == acceptedUnits, taken is null
            ? $"{DealKeys.Stock(deal.DealId)} is missing in Redis"
            : $"stock {baseline.Remaining} -> {(long)remainingValue} in {DealKeys.Stock(deal.DealId)}: {taken} taken, {acceptedUnits} accepted"));

        // The stream consumer writes accepted orders to PostgreSQL asynchronously: wait (bounded) until they are all there.
        var drain = Stopwatch.StartNew();
        Dictionary<string, StoredOrder> stored;
        while (true)
        {
            stored = await OrdersAsync(database, deal.DealId, cancellationToken);
            if (accepted.All(o => stored.ContainsKey(o.OrderId)) || drain.Elapsed >= drainTimeout)
            {
                break;
            }
            await Task.Delay(100, cancellationToken);
        }
        var rows = stored.Count - baseline.Rows;
        results.Add(new InvariantResult("postgres orders = accepted", rows == accepted.Count,
            $"{rows} orders of the deal in orders.orders after {drain.Elapsed.TotalSeconds:0.0} s of draining, {accepted.Count} accepted"));

        var missing = accepted.Where(o => !stored.ContainsKey(o.OrderId)).Select(o => o.OrderId).ToList();
        results.Add(new InvariantResult("every accepted order is in postgres", missing.Count == 0, missing.Count == 0
            ? $"all {accepted.Count} accepted order ids found"
            : $"{missing.Count} accepted ids missing, e.g. {string.Join(", ", missing.Take(3))}"));

        var held = await ScalarAsync(database, OrderQueries.HeldUnits, deal.DealId, cancellationToken: cancellationToken)
            - baseline.HeldUnits;
        results.Add(new InvariantResult("postgres units = redis stock taken", taken == held,
            $"{held} units held by orders in PostgreSQL, {taken?.ToString(CultureInfo.InvariantCulture) ?? "?"} taken in Redis"));

        var overLimit = await RowsAsync(database, OrderQueries.UsersOverLimit, deal.DealId, deal.PerUserLimit, cancellationToken);
        results.Add(new InvariantResult("no user over the per-user limit", overLimit.Count == 0, overLimit.Count == 0
            ? $"every user holds at most {deal.PerUserLimit}"
            : $"over {deal.PerUserLimit}: {string.Join(", ", overLimit)}"));

        var duplicateKeys = await RowsAsync(database, OrderQueries.DuplicateKeys, deal.DealId, null, cancellationToken);
        var mismatched = accepted
            .Where(o => stored.TryGetValue(o.OrderId, out var row) && (row.UserId != o.UserId || row.IdempotencyKey != o.IdempotencyKey))
            .Select(o => o.OrderId).ToList();
        var keysOk = duplicateKeys.Count == 0 && conflictingKeys.Count == 0 && mismatched.Count == 0;
        results.Add(new InvariantResult("one order per idempotency key", keysOk, keysOk
            ? $"{accepted.Count} keys, one order each, stored under the user and key that placed it"
            : $"duplicate keys in PostgreSQL: [{string.Join(", ", duplicateKeys)}]; keys answered with two order ids: " +
              $"[{string.Join(", ", conflictingKeys.Take(3))}]; stored under another user/key: [{string.Join(", ", mismatched.Take(3))}]"));

        results.Add(new InvariantResult("distinct order ids", duplicateOrderIds.Count == 0, duplicateOrderIds.Count == 0
            ? "no order id was returned for two different idempotency keys"
            : $"returned for several keys: {string.Join(", ", duplicateOrderIds.Take(3))}"));
        return results;
    }

    private sealed record StoredOrder(string UserId, string IdempotencyKey, int Quantity);

    private static async Task<Dictionary<string, StoredOrder>> OrdersAsync(NpgsqlDataSource database, Guid dealId,
        CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(OrderQueries.Orders);
        command.Parameters.Add(new NpgsqlParameter { Value = dealId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var orders = new Dictionary<string, StoredOrder>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            orders[reader.GetGuid(0).ToString("D")] = new StoredOrder(reader.GetString(1), reader.GetString(2), reader.GetInt32(3));
        }
        return orders;
    }

    private static async Task<long> ScalarAsync(NpgsqlDataSource database, string sql, Guid dealId, object? second = null,
        CancellationToken cancellationToken = default)
    {
        await using var command = database.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter { Value = dealId });
        if (second is not null)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = second });
        }
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    /// <summary>Each row as "a/b/c" (for the detail of a failed check).</summary>
    private static async Task<List<string>> RowsAsync(NpgsqlDataSource database, string sql, Guid dealId, object? second,
        CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter { Value = dealId });
        if (second is not null)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = second });
        }
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<string>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(string.Join("/", Enumerable.Range(0, reader.FieldCount)
                .Select(i => Convert.ToString(reader.GetValue(i), CultureInfo.InvariantCulture))));
        }
        return rows;
    }
}
