using System.Collections.Concurrent;
using System.Globalization;
using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Data;
using FlashDeal.Data.Redis;
using FlashDeal.Orders.Model;
using FlashDeal.Orders.Persistence;
using FlashDeal.Orders.Redis;
using Microsoft.Extensions.Options;
using Npgsql;
using StackExchange.Redis;

namespace FlashDeal.Orders.Placement;

/// <summary>
/// The baseline (<see cref="PlacementStrategy.PostgresRowLock"/>), kept for side-by-side benchmarks: one PostgreSQL
/// transaction per order that locks the deal's <c>orders.deal_inventory</c> row (SELECT … FOR UPDATE), checks the
/// idempotency key, the window, the user's held units and the stock, inserts the order and decrements the stock.
/// Correct, but every buyer of a deal queues on one row lock. The inventory row is seeded from the Redis deal config
/// the first time this process sees the deal; its terms are refreshed when catalog announces a change.
/// </summary>
public sealed class PostgresRowLockPlacement(
    NpgsqlDataSource dataSource,
    IConnectionMultiplexer redis,
    UuidV7Generator ids,
    IOptions<OrdersOptions> options) : IOrderPlacement, IDealChangeObserver
{
    private const string LockSql = """
        SELECT remaining, per_user_limit, start_time, end_time, cancelled, product_id, product_name, deal_title,
               unit_price_cents, currency, clock_timestamp()
        FROM orders.deal_inventory WHERE deal_id = $1 FOR UPDATE
        """;

    private const string HeldSql = """
        SELECT coalesce(sum(quantity), 0) FROM orders.orders
        WHERE deal_id = $1 AND user_id = $2 AND status IN ('PENDING_PAYMENT', 'PAID')
        """;

    private const string InsertSql = """
        INSERT INTO orders.orders (order_id, user_id, deal_id, product_id, product_name, deal_title, quantity,
            unit_price_cents, total_cents, currency, status, idempotency_key, create_time, pay_deadline)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'PENDING_PAYMENT', $11, $12, $13)
        """;

    private const string SeedSql = """
        INSERT INTO orders.deal_inventory (deal_id, product_id, product_name, deal_title, unit_price_cents, currency,
            initial_stock, remaining, per_user_limit, start_time, end_time, cancelled)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10, $11)
        ON CONFLICT (deal_id) DO UPDATE SET product_name = excluded.product_name, deal_title = excluded.deal_title,
            unit_price_cents = excluded.unit_price_cents, per_user_limit = excluded.per_user_limit,
            start_time = excluded.start_time, end_time = excluded.end_time, cancelled = excluded.cancelled
        """;

    private readonly ConcurrentDictionary<Guid, bool> _seeded = new();
    private readonly OrdersOptions _options = options.Value;

    public async Task<PlacementResult> PlaceAsync(PlaceOrderCommand command, CancellationToken cancellationToken)
    {
        if (command.CouponId is not null)
        {
            throw new NotSupportedException("Coupons are redeemed by the RedisLua placement strategy only (docs/coupons.md).");
        }
        var dealId = command.DealId;
        if (!_seeded.ContainsKey(dealId) && !await SeedAsync(dealId, cancellationToken).ConfigureAwait(false))
        {
            return PlacementResult.Refused(Refusals.DealNotFound(dealId));
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        // One round trip: the row lock first, then (holding it) the key's earlier order and the user's held units.
        await using var reads = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                Command(LockSql, dealId),
                Command($"SELECT {OrderStore.Columns} FROM orders.orders WHERE deal_id = $1 AND user_id = $2 AND idempotency_key = $3",
                    dealId, command.UserId, command.IdempotencyKey),
                Command(HeldSql, dealId, command.UserId),
            },
        };
        Inventory inventory;
        OrderRecord? previous;
        long held;
        await using (var reader = await reads.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return PlacementResult.Refused(Refusals.DealNotFound(dealId));
            }
            inventory = new Inventory(reader.GetInt32(0), reader.GetInt32(1), reader.GetFieldValue<DateTimeOffset>(2),
                reader.GetFieldValue<DateTimeOffset>(3), reader.GetBoolean(4), reader.GetString(5), reader.GetString(6),
                reader.GetString(7), reader.GetInt64(8), reader.GetString(9), reader.GetFieldValue<DateTimeOffset>(10));
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            previous = await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? OrderStore.Read(reader) : null;
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            held = reader.GetInt64(0);
        }

        if (Check(command, inventory, previous, held) is { } early)
        {
            return early;
        }
        var order = new OrderRecord
        {
            OrderId = ids.NewGuid(),
            UserId = command.UserId,
            DealId = dealId,
            ProductId = inventory.ProductId,
            ProductName = inventory.ProductName,
            DealTitle = inventory.DealTitle,
            Quantity = command.Quantity,
            UnitPriceCents = inventory.UnitPriceCents,
            Currency = inventory.Currency,
            Status = OrderStatus.PendingPayment,
            IdempotencyKey = command.IdempotencyKey,
            CreateTime = inventory.Now,
            PayDeadline = inventory.Now + _options.PayWindow,
        };
        await using (var writes = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                Command(InsertSql, order.OrderId, order.UserId, dealId, order.ProductId, order.ProductName, order.DealTitle,
                    order.Quantity, order.UnitPriceCents, order.TotalCents, order.Currency, order.IdempotencyKey,
                    order.CreateTime.UtcDateTime, order.PayDeadline.UtcDateTime),
                Command("UPDATE orders.deal_inventory SET remaining = remaining - $2 WHERE deal_id = $1", dealId, command.Quantity),
            },
        })
        {
            await writes.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return PlacementResult.Accepted(order);
    }

    /// <summary>The same checks, in the same order, as place_order.lua.</summary>
    private static PlacementResult? Check(PlaceOrderCommand command, Inventory inventory, OrderRecord? previous, long held)
    {
        var dealId = command.DealId;
        if (previous is not null)
        {
            return previous.Quantity == command.Quantity
                ? PlacementResult.Accepted(previous, replayed: true)
                : PlacementResult.Refused(Refusals.IdempotencyKeyMismatch(previous.OrderId));
        }
        if (inventory.Cancelled)
        {
            return PlacementResult.Refused(Refusals.DealCancelled(dealId));
        }
        if (inventory.Now < inventory.Start)
        {
            return PlacementResult.Refused(Refusals.DealNotStarted(dealId, inventory.Start));
        }
        if (inventory.Now >= inventory.End)
        {
            return PlacementResult.Refused(Refusals.DealEnded(dealId, inventory.End));
        }
        if (inventory.PerUserLimit > 0 && held + command.Quantity > inventory.PerUserLimit)
        {
            return PlacementResult.Refused(Refusals.PerUserLimitReached(dealId, inventory.PerUserLimit, held));
        }
        if (inventory.Remaining <= 0)
        {
            return PlacementResult.Refused(Refusals.SoldOut(dealId));
        }
        return inventory.Remaining < command.Quantity
            ? PlacementResult.Refused(Refusals.InsufficientStock(dealId, inventory.Remaining))
            : null;
    }

    /// <summary>Creates (or refreshes the terms of) the inventory row from the Redis deal config; false without one.</summary>
    private async Task<bool> SeedAsync(Guid dealId, CancellationToken cancellationToken)
    {
        var config = (await redis.GetDatabase().HashGetAllAsync(DealKeys.Config(dealId)).ConfigureAwait(false))
            .ToDictionary(e => (string)e.Name!, e => (string?)e.Value ?? "");
        if (config.Count == 0)
        {
            return false;
        }
        string Get(string field) => config.GetValueOrDefault(field, "");
        long Number(string field) => long.TryParse(Get(field), CultureInfo.InvariantCulture, out var n) ? n : 0;

        await using var command = dataSource.CreateCommand(SeedSql);
        foreach (var value in new object[]
        {
            dealId, Get(DealConfigFields.ProductId), Get(DealConfigFields.ProductName), Get(DealConfigFields.Title),
            Number(DealConfigFields.PriceCents), Get(DealConfigFields.Currency), (int)Number(DealConfigFields.Stock),
            (int)Number(DealConfigFields.PerUserLimit), DateTimeOffset.FromUnixTimeMilliseconds(Number(DealConfigFields.StartMs)).UtcDateTime,
            DateTimeOffset.FromUnixTimeMilliseconds(Number(DealConfigFields.EndMs)).UtcDateTime, Get(DealConfigFields.Cancelled) == "1",
        })
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        _seeded[dealId] = true;
        return true;
    }

    void IDealChangeObserver.DealChanged(Guid dealId) => _seeded.TryRemove(dealId, out _);

    void IDealChangeObserver.AllChanged() => _seeded.Clear();

    private static NpgsqlBatchCommand Command(string sql, params object[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }
        return command;
    }

    private sealed record Inventory(int Remaining, int PerUserLimit, DateTimeOffset Start, DateTimeOffset End,
        bool Cancelled, string ProductId, string ProductName, string DealTitle, long UnitPriceCents, string Currency,
        DateTimeOffset Now);
}
