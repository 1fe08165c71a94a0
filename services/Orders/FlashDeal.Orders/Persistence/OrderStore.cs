using System.Text;
using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Orders.Events;
using FlashDeal.Orders.Model;
using Npgsql;
using NpgsqlTypes;

namespace FlashDeal.Orders.Persistence;

/// <summary>SQL for <c>orders.orders</c> (schema in Migrations/0001_create_orders.up.sql).</summary>
public sealed class OrderStore(NpgsqlDataSource dataSource)
{
    public const string Columns = """
        order_id, user_id, deal_id, product_id, product_name, deal_title, quantity, unit_price_cents, currency, status,
        idempotency_key, create_time, pay_deadline, paid_time, cancel_time, payment_reference, payment_token_hash,
        refund_time, refund_reference, stock_returned, coupon_id, discount_cents
        """;

    // Insert what is missing, then move PENDING_PAYMENT rows forward to a final status. Both steps are monotone, so
    // batches applied in any order, twice, or by two consumers at once end in the same rows.
    private const string InsertSql = """
        INSERT INTO orders.orders (order_id, user_id, deal_id, product_id, product_name, deal_title, quantity,
            unit_price_cents, total_cents, currency, status, idempotency_key, create_time, pay_deadline, paid_time,
            cancel_time, payment_reference, payment_token_hash, coupon_id, discount_cents)
        SELECT o.order_id, o.user_id, o.deal_id, o.product_id, o.product_name, o.deal_title, o.quantity,
            o.unit_price_cents, o.quantity * o.unit_price_cents - o.discount_cents, o.currency, o.status, o.idempotency_key,
            o.create_time, o.pay_deadline, o.paid_time, o.cancel_time, o.payment_reference, o.payment_token_hash,
            o.coupon_id, o.discount_cents
        FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::int[], $8::bigint[],
            $9::text[], $10::text[], $11::text[], $12::timestamptz[], $13::timestamptz[], $14::timestamptz[],
            $15::timestamptz[], $16::text[], $17::text[], $18::text[], $19::bigint[])
            AS o(order_id, user_id, deal_id, product_id, product_name, deal_title, quantity, unit_price_cents, currency,
                 status, idempotency_key, create_time, pay_deadline, paid_time, cancel_time, payment_reference,
                 payment_token_hash, coupon_id, discount_cents)
        ON CONFLICT DO NOTHING
        """;

    private const string AdvanceSql = """
        UPDATE orders.orders AS t
        SET status = o.status, paid_time = o.paid_time, cancel_time = o.cancel_time,
            payment_reference = o.payment_reference, payment_token_hash = o.payment_token_hash
        FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::text[], $6::text[])
            AS o(order_id, status, paid_time, cancel_time, payment_reference, payment_token_hash)
        WHERE t.order_id = o.order_id AND t.status = 'PENDING_PAYMENT' AND o.status <> 'PENDING_PAYMENT'
        """;

    // PAID → REFUNDED (Migrations/0002_refunds.up.sql), after the two steps above: a row they left PAID or inserted or
    // advanced as REFUNDED gets the refund's fields. Monotone as well: a REFUNDED row with its refund_time never changes.
    private const string RefundSql = """
        UPDATE orders.orders AS t
        SET status = 'REFUNDED', paid_time = coalesce(t.paid_time, o.paid_time),
            payment_reference = coalesce(t.payment_reference, o.payment_reference),
            payment_token_hash = coalesce(t.payment_token_hash, o.payment_token_hash),
            refund_time = o.refund_time, refund_reference = o.refund_reference, stock_returned = o.stock_returned
        FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::boolean[])
            AS o(order_id, paid_time, payment_reference, payment_token_hash, refund_time, refund_reference, stock_returned)
        WHERE t.order_id = o.order_id
          AND (t.status IN ('PENDING_PAYMENT', 'PAID') OR (t.status = 'REFUNDED' AND t.refund_time IS NULL))
        """;

    public NpgsqlDataSource DataSource => dataSource;

    /// <summary>
    /// PAID → REFUNDED in PostgreSQL alone, for a paid order whose Redis hash is gone (its deal long over: no units go
    /// back). Returns the row as it is afterwards.
    /// </summary>
    public async Task<OrderRecord?> MarkRefundedAsync(Guid orderId, string refundReference, CancellationToken cancellationToken)
    {
        await using (var command = dataSource.CreateCommand("""
            UPDATE orders.orders SET status = 'REFUNDED', refund_time = now(), refund_reference = $2, stock_returned = false
            WHERE order_id = $1 AND status = 'PAID'
            """))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = orderId });
            command.Parameters.Add(new NpgsqlParameter { Value = refundReference });
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        return await GetAsync(orderId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes a batch of order snapshots in one transaction and one round trip.</summary>
    public async Task UpsertAsync(IReadOnlyCollection<OrderRecord> snapshots, CancellationToken cancellationToken)
    {
        var orders = Latest(snapshots);
        var ids = orders.Select(o => o.OrderId).ToArray();
        var statuses = orders.Select(o => OrderStatuses.ToName(o.Status)).ToArray();
        var paid = Times(orders.Select(o => o.PaidTime));
        var cancelled = Times(orders.Select(o => o.CancelTime));
        var references = Texts(orders.Select(o => o.PaymentReference));
        var tokenHashes = Texts(orders.Select(o => o.PaymentTokenHash));

        var insert = new NpgsqlBatchCommand(InsertSql);
        insert.Parameters.AddRange(new NpgsqlParameter[]
        {
            Value(ids), Value(orders.Select(o => o.UserId).ToArray()), Value(orders.Select(o => o.DealId).ToArray()),
            Value(orders.Select(o => o.ProductId).ToArray()), Value(orders.Select(o => o.ProductName).ToArray()),
            Value(orders.Select(o => o.DealTitle).ToArray()), Value(orders.Select(o => o.Quantity).ToArray()),
            Value(orders.Select(o => o.UnitPriceCents).ToArray()), Value(orders.Select(o => o.Currency).ToArray()),
            Value(statuses), Value(orders.Select(o => o.IdempotencyKey).ToArray()),
            Times(orders.Select(o => (DateTimeOffset?)o.CreateTime)), Times(orders.Select(o => (DateTimeOffset?)o.PayDeadline)),
            paid, cancelled, references, tokenHashes,
            Texts(orders.Select(o => o.CouponId)), Value(orders.Select(o => o.DiscountCents).ToArray()),
        });
        var advance = new NpgsqlBatchCommand(AdvanceSql);
        advance.Parameters.AddRange(new[] { Value(ids), Value(statuses), paid.Clone(), cancelled.Clone(), references.Clone(),
            tokenHashes.Clone() });

        var batch = new NpgsqlBatch { BatchCommands = { insert, advance } };
        if (orders.Where(o => o.Status == OrderStatus.Refunded).ToList() is { Count: > 0 } refunded)
        {
            var refund = new NpgsqlBatchCommand(RefundSql);
            refund.Parameters.AddRange(new[]
            {
                Value(refunded.Select(o => o.OrderId).ToArray()), Times(refunded.Select(o => o.PaidTime)),
                Texts(refunded.Select(o => o.PaymentReference)), Texts(refunded.Select(o => o.PaymentTokenHash)),
                Times(refunded.Select(o => o.RefundTime)), Texts(refunded.Select(o => o.RefundReference)),
                Value(refunded.Select(o => o.StockReturned).ToArray()),
            });
            batch.BatchCommands.Add(refund);
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        batch.Connection = connection;
        batch.Transaction = transaction;
        await using (batch)
        {
            // The events these snapshots imply, in the same transaction and round trip (docs/events.md).
            foreach (var command in EventOutbox.Commands(OrderEvents.Implied(snapshots)))
            {
                batch.BatchCommands.Add(command);
            }
            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<OrderRecord?> GetAsync(Guid orderId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {Columns} FROM orders.orders WHERE order_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = orderId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? Read(reader) : null;
    }

    /// <summary>
    /// One page of a user's orders, newest first: keyset pagination on (create_time, order_id) served by the
    /// orders_by_user index. Returns up to <paramref name="limit"/> rows.
    /// </summary>
    public async Task<List<OrderRecord>> ListByUserAsync(string userId, IReadOnlyCollection<OrderStatus> statuses,
        Guid? dealId, (DateTimeOffset CreateTime, Guid OrderId)? after, int limit, CancellationToken cancellationToken)
    {
        var sql = new StringBuilder($"SELECT {Columns} FROM orders.orders WHERE user_id = $1");
        var parameters = new List<NpgsqlParameter> { new() { Value = userId } };
        if (dealId is { } deal)
        {
            parameters.Add(new NpgsqlParameter { Value = deal });
            sql.Append($" AND deal_id = ${parameters.Count}");
        }
        if (statuses.Count > 0)
        {
            parameters.Add(new NpgsqlParameter { Value = statuses.Select(OrderStatuses.ToName).ToArray() });
            sql.Append($" AND status = ANY(${parameters.Count}::text[])");
        }
        if (after is { } cursor)
        {
            parameters.Add(new NpgsqlParameter { Value = cursor.CreateTime.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
            parameters.Add(new NpgsqlParameter { Value = cursor.OrderId });
            sql.Append($" AND (create_time, order_id) < (${parameters.Count - 1}, ${parameters.Count})");
        }
        parameters.Add(new NpgsqlParameter { Value = limit });
        sql.Append($" ORDER BY create_time DESC, order_id DESC LIMIT ${parameters.Count}");

        await using var command = dataSource.CreateCommand(sql.ToString());
        command.Parameters.AddRange(parameters.ToArray());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var orders = new List<OrderRecord>(limit);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            orders.Add(Read(reader));
        }
        return orders;
    }

    /// <summary>Units held by a deal's orders in PostgreSQL (pending or paid, or refunded after the deal was over, whose
    /// units stay sold) and how many orders that is.</summary>
    public async Task<(long Units, long Orders)> HeldByDealAsync(Guid dealId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT coalesce(sum(quantity), 0), count(*) FROM orders.orders
            WHERE deal_id = $1 AND (status IN ('PENDING_PAYMENT', 'PAID') OR (status = 'REFUNDED' AND NOT stock_returned))
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = dealId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    public static OrderRecord Read(NpgsqlDataReader reader) => new()
    {
        OrderId = reader.GetGuid(0),
        UserId = reader.GetString(1),
        DealId = reader.GetGuid(2),
        ProductId = reader.GetString(3),
        ProductName = reader.GetString(4),
        DealTitle = reader.GetString(5),
        Quantity = reader.GetInt32(6),
        UnitPriceCents = reader.GetInt64(7),
        Currency = reader.GetString(8),
        Status = OrderStatuses.Parse(reader.GetString(9)),
        IdempotencyKey = reader.GetString(10),
        CreateTime = reader.GetFieldValue<DateTimeOffset>(11),
        PayDeadline = reader.GetFieldValue<DateTimeOffset>(12),
        PaidTime = reader.IsDBNull(13) ? null : reader.GetFieldValue<DateTimeOffset>(13),
        CancelTime = reader.IsDBNull(14) ? null : reader.GetFieldValue<DateTimeOffset>(14),
        PaymentReference = reader.IsDBNull(15) ? null : reader.GetString(15),
        PaymentTokenHash = reader.IsDBNull(16) ? null : reader.GetString(16),
        RefundTime = reader.IsDBNull(17) ? null : reader.GetFieldValue<DateTimeOffset>(17),
        RefundReference = reader.IsDBNull(18) ? null : reader.GetString(18),
        StockReturned = !reader.IsDBNull(19) && reader.GetBoolean(19),
        CouponId = reader.IsDBNull(20) ? null : reader.GetString(20),
        DiscountCents = reader.GetInt64(21),
    };

    /// <summary>One row per order: the snapshot furthest along (PENDING &lt; PAID &lt; the rest) wins, whatever order
    /// they came in.</summary>
    private static List<OrderRecord> Latest(IEnumerable<OrderRecord> snapshots)
    {
        var latest = new Dictionary<Guid, OrderRecord>();
        foreach (var snapshot in snapshots)
        {
            if (!latest.TryGetValue(snapshot.OrderId, out var seen)
                || OrderStatuses.Rank(snapshot.Status) > OrderStatuses.Rank(seen.Status))
            {
                latest[snapshot.OrderId] = snapshot;
            }
        }
        return [.. latest.Values];
    }

    private static NpgsqlParameter Value(object value) => new() { Value = value };

    private static NpgsqlParameter Times(IEnumerable<DateTimeOffset?> values) => new()
    {
        Value = values.Select(v => v?.UtcDateTime).ToArray(),
        NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz,
    };

    private static NpgsqlParameter Texts(IEnumerable<string?> values) => new()
    {
        Value = values.ToArray(),
        NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text,
    };
}
