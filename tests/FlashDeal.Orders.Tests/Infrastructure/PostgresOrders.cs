using Npgsql;

namespace FlashDeal.Orders.Tests;

/// <summary>Counts what PostgreSQL holds, independently of the service.</summary>
public static class PostgresOrders
{
    public sealed record Row(Guid OrderId, string UserId, int Quantity, string Status, string IdempotencyKey);

    public static async Task<List<Row>> OfDealAsync(NpgsqlDataSource dataSource, Guid dealId)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT order_id, user_id, quantity, status, idempotency_key FROM orders.orders WHERE deal_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = dealId });
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<Row>();
        while (await reader.ReadAsync())
        {
            rows.Add(new Row(reader.GetGuid(0), reader.GetString(1), reader.GetInt32(2), reader.GetString(3), reader.GetString(4)));
        }
        return rows;
    }

    /// <summary>Waits until PostgreSQL holds <paramref name="count"/> orders of the deal (never more: that fails at once).</summary>
    public static async Task<List<Row>> WaitForAsync(NpgsqlDataSource dataSource, Guid dealId, int count,
        TimeSpan? timeout = null)
    {
        List<Row> rows = [];
        await Eventually.HoldsAsync(async () =>
        {
            try
            {
                rows = await OfDealAsync(dataSource, dealId);
            }
            catch (NpgsqlException)
            {
                return false;
            }
            Assert.True(rows.Count <= count, $"PostgreSQL holds {rows.Count} orders of the deal, more than {count}");
            return rows.Count == count;
        }, $"PostgreSQL holds {count} orders of deal {dealId}", timeout);
        return rows;
    }

    public static async Task<List<Row>> WaitForStatusAsync(NpgsqlDataSource dataSource, Guid dealId,
        Func<List<Row>, bool> condition, string what, TimeSpan? timeout = null)
    {
        List<Row> rows = [];
        await Eventually.HoldsAsync(async () =>
        {
            rows = await OfDealAsync(dataSource, dealId);
            return condition(rows);
        }, what, timeout);
        return rows;
    }
}
