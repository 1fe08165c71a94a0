using Npgsql;

namespace FlashDeal.Orders.Tests;

/// <summary>Counts what PostgreSQL holds of coupons, independently of the service.</summary>
public static class PostgresCoupons
{
    public sealed record Row(string CouponId, string UserId, string Status, Guid? OrderId, long Version);

    public static async Task<List<Row>> OfCampaignAsync(NpgsqlDataSource dataSource, string campaignId)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT coupon_id, user_id, status, order_id, version FROM orders.coupons WHERE campaign_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = Guid.Parse(campaignId) });
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<Row>();
        while (await reader.ReadAsync())
        {
            rows.Add(new Row(reader.GetString(0), reader.GetString(1), reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetGuid(3), reader.GetInt64(4)));
        }
        return rows;
    }

    /// <summary>Waits until PostgreSQL holds <paramref name="count"/> coupons of the campaign (more fails at once).</summary>
    public static async Task<List<Row>> WaitForAsync(NpgsqlDataSource dataSource, string campaignId, int count,
        TimeSpan? timeout = null)
    {
        List<Row> rows = [];
        await Eventually.HoldsAsync(async () =>
        {
            try
            {
                rows = await OfCampaignAsync(dataSource, campaignId);
            }
            catch (NpgsqlException)
            {
                return false;
            }
            Assert.True(rows.Count <= count, $"PostgreSQL holds {rows.Count} coupons of the campaign, more than {count}");
            return rows.Count == count;
        }, $"PostgreSQL holds {count} coupons of campaign {campaignId}", timeout);
        return rows;
    }
}
