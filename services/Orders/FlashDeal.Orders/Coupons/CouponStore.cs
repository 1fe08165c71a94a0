using System.Text;
using FlashDeal.Orders.Events;
using Npgsql;
using NpgsqlTypes;

namespace FlashDeal.Orders.Coupons;

/// <summary>SQL for <c>orders.campaigns</c> and <c>orders.coupons</c> (schema in Migrations/0003_coupons.up.sql).</summary>
public sealed class CouponStore(NpgsqlDataSource dataSource)
{
    private const string CampaignColumns = """
        campaign_id, name, percent_off, amount_off_cents, currency, total_quantity, start_time, end_time, redeem_before,
        deal_id, create_time
        """;

    private const string CouponColumns = """
        coupon_id, campaign_id, user_id, status, claim_time, order_id, redeem_time, campaign_name, percent_off,
        amount_off_cents, currency, redeem_before, deal_id, idempotency_key, version
        """;

    // Each snapshot carries the coupon's version; a row is only ever replaced by a newer one, so batches applied twice,
    // out of order or by two consumers at once end in the same rows.
    private const string UpsertCouponsSql = """
        INSERT INTO orders.coupons AS t (coupon_id, campaign_id, user_id, status, claim_time, order_id, redeem_time,
            campaign_name, percent_off, amount_off_cents, currency, redeem_before, deal_id, idempotency_key, version)
        SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[], $6::uuid[],
            $7::timestamptz[], $8::text[], $9::int[], $10::bigint[], $11::text[], $12::timestamptz[], $13::uuid[],
            $14::text[], $15::bigint[])
        ON CONFLICT (coupon_id) DO UPDATE SET status = excluded.status, order_id = excluded.order_id,
            redeem_time = excluded.redeem_time, version = excluded.version
        WHERE t.version < excluded.version
        """;

    public async Task InsertCampaignAsync(CampaignRecord campaign, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            INSERT INTO orders.campaigns ({CampaignColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            """);
        command.Parameters.AddRange(new NpgsqlParameter[]
        {
            new() { Value = campaign.CampaignId }, new() { Value = campaign.Name },
            new() { Value = (object?)campaign.PercentOff ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer },
            new() { Value = (object?)campaign.AmountOffCents ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint },
            new() { Value = campaign.Currency }, new() { Value = campaign.TotalQuantity },
            Time(campaign.StartTime), Time(campaign.EndTime), Time(campaign.RedeemBefore),
            new() { Value = (object?)campaign.DealId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid },
            Time(campaign.CreateTime),
        });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<CampaignRecord?> GetCampaignAsync(Guid campaignId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT {CampaignColumns} FROM orders.campaigns WHERE campaign_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = campaignId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadCampaign(reader) : null;
    }

    /// <summary>Campaigns whose end_time is after <paramref name="now"/>, soonest start first (keyset pagination).</summary>
    public async Task<List<CampaignRecord>> ListCampaignsAsync(DateTimeOffset now, (DateTimeOffset Start, Guid Id)? after,
        int limit, CancellationToken cancellationToken)
    {
        var sql = new StringBuilder($"SELECT {CampaignColumns} FROM orders.campaigns WHERE end_time > $1");
        var parameters = new List<NpgsqlParameter> { Time(now) };
        if (after is { } cursor)
        {
            parameters.Add(Time(cursor.Start));
            parameters.Add(new NpgsqlParameter { Value = cursor.Id });
            sql.Append($" AND (start_time, campaign_id) > (${parameters.Count - 1}, ${parameters.Count})");
        }
        parameters.Add(new NpgsqlParameter { Value = limit });
        sql.Append($" ORDER BY start_time, campaign_id LIMIT ${parameters.Count}");
        await using var command = dataSource.CreateCommand(sql.ToString());
        command.Parameters.AddRange(parameters.ToArray());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var campaigns = new List<CampaignRecord>(limit);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            campaigns.Add(ReadCampaign(reader));
        }
        return campaigns;
    }

    /// <summary>Coupons of the campaign PostgreSQL holds (claims still in the stream are not counted).</summary>
    public async Task<long> CountCouponsAsync(Guid campaignId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT count(*) FROM orders.coupons WHERE campaign_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = campaignId });
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>
    /// Writes a batch of coupon snapshots and the events they imply (<see cref="CouponEvents"/>) in one transaction and
    /// one round trip.
    /// </summary>
    public async Task UpsertCouponsAsync(IReadOnlyCollection<CouponRecord> snapshots, CancellationToken cancellationToken)
    {
        // One row per coupon and statement (ON CONFLICT cannot touch a row twice): the newest version of each.
        var coupons = snapshots.GroupBy(c => c.CouponId).Select(g => g.MaxBy(c => c.Version)!).ToList();
        var command = new NpgsqlBatchCommand(UpsertCouponsSql);
        command.Parameters.AddRange(new NpgsqlParameter[]
        {
            Value(coupons.Select(c => c.CouponId).ToArray()), Value(coupons.Select(c => c.CampaignId).ToArray()),
            Value(coupons.Select(c => c.UserId).ToArray()),
            Value(coupons.Select(c => c.Status == CouponStatuses.Redeemed ? CouponStatuses.Redeemed : CouponStatuses.Claimed)
                .ToArray()),
            Times(coupons.Select(c => (DateTimeOffset?)c.ClaimTime)),
            new() { Value = coupons.Select(c => c.OrderId).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Uuid },
            Times(coupons.Select(c => c.RedeemTime)), Value(coupons.Select(c => c.CampaignName).ToArray()),
            new() { Value = coupons.Select(c => c.PercentOff).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer },
            new() { Value = coupons.Select(c => c.AmountOffCents).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint },
            Value(coupons.Select(c => c.Currency).ToArray()), Times(coupons.Select(c => (DateTimeOffset?)c.RedeemBefore)),
            new() { Value = coupons.Select(c => c.DealId).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Uuid },
            Value(coupons.Select(c => c.IdempotencyKey).ToArray()), Value(coupons.Select(c => c.Version).ToArray()),
        });
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var batch = new NpgsqlBatch(connection, transaction) { BatchCommands = { command } })
        {
            // The outbox last: its lock then covers only the event insert and the commit (EventOutbox).
            foreach (var append in EventOutbox.Commands(CouponEvents.Implied(snapshots)))
            {
                batch.BatchCommands.Add(append);
            }
            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<CouponRecord?> GetCouponAsync(string couponId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {CouponColumns} FROM orders.coupons WHERE coupon_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = couponId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadCoupon(reader) : null;
    }

    /// <summary>One page of a user's coupons, newest claim first: keyset on (claim_time, campaign_id).</summary>
    public async Task<List<CouponRecord>> ListByUserAsync(string userId, string? status,
        (DateTimeOffset ClaimTime, Guid CampaignId)? after, int limit, CancellationToken cancellationToken)
    {
        var sql = new StringBuilder($"SELECT {CouponColumns} FROM orders.coupons WHERE user_id = $1");
        var parameters = new List<NpgsqlParameter> { new() { Value = userId } };
        if (status is not null)
        {
            parameters.Add(new NpgsqlParameter { Value = status });
            sql.Append($" AND status = ${parameters.Count}");
        }
        if (after is { } cursor)
        {
            parameters.Add(Time(cursor.ClaimTime));
            parameters.Add(new NpgsqlParameter { Value = cursor.CampaignId });
            sql.Append($" AND (claim_time, campaign_id) < (${parameters.Count - 1}, ${parameters.Count})");
        }
        parameters.Add(new NpgsqlParameter { Value = limit });
        sql.Append($" ORDER BY claim_time DESC, campaign_id DESC LIMIT ${parameters.Count}");
        await using var command = dataSource.CreateCommand(sql.ToString());
        command.Parameters.AddRange(parameters.ToArray());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var coupons = new List<CouponRecord>(limit);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            coupons.Add(ReadCoupon(reader));
        }
        return coupons;
    }

    private static CampaignRecord ReadCampaign(NpgsqlDataReader reader) => new()
    {
        CampaignId = reader.GetGuid(0),
        Name = reader.GetString(1),
        PercentOff = reader.IsDBNull(2) ? null : reader.GetInt32(2),
        AmountOffCents = reader.IsDBNull(3) ? null : reader.GetInt64(3),
        Currency = reader.GetString(4),
        TotalQuantity = reader.GetInt32(5),
        StartTime = reader.GetFieldValue<DateTimeOffset>(6),
        EndTime = reader.GetFieldValue<DateTimeOffset>(7),
        RedeemBefore = reader.GetFieldValue<DateTimeOffset>(8),
        DealId = reader.IsDBNull(9) ? null : reader.GetGuid(9),
        CreateTime = reader.GetFieldValue<DateTimeOffset>(10),
    };

    private static CouponRecord ReadCoupon(NpgsqlDataReader reader) => new()
    {
        CouponId = reader.GetString(0),
        CampaignId = reader.GetGuid(1),
        UserId = reader.GetString(2),
        Status = reader.GetString(3),
        ClaimTime = reader.GetFieldValue<DateTimeOffset>(4),
        OrderId = reader.IsDBNull(5) ? null : reader.GetGuid(5),
        RedeemTime = reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6),
        CampaignName = reader.GetString(7),
        PercentOff = reader.IsDBNull(8) ? null : reader.GetInt32(8),
        AmountOffCents = reader.IsDBNull(9) ? null : reader.GetInt64(9),
        Currency = reader.GetString(10),
        RedeemBefore = reader.GetFieldValue<DateTimeOffset>(11),
        DealId = reader.IsDBNull(12) ? null : reader.GetGuid(12),
        IdempotencyKey = reader.GetString(13),
        Version = reader.GetInt64(14),
    };

    private static NpgsqlParameter Value(object value) => new() { Value = value };

    private static NpgsqlParameter Time(DateTimeOffset value) =>
        new() { Value = value.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz };

    private static NpgsqlParameter Times(IEnumerable<DateTimeOffset?> values) => new()
    {
        Value = values.Select(v => v?.UtcDateTime).ToArray(),
        NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz,
    };
}
