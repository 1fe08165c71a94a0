using FlashDeal.Contracts.Events.V1;
using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Orders.Events;
using FlashDeal.Orders.Model;
using FlashDeal.Orders.Persistence;
using FlashDeal.TestInfrastructure;
using Npgsql;

namespace FlashDeal.Orders.Tests.Events;

/// <summary>
/// The outbox against real PostgreSQL: snapshots applied twice, in any order, by several consumers at once, or a pending
/// snapshot after the final one, record each state change once and each order's events in canonical order.
/// </summary>
[Collection(DataServers.Name)]
public sealed class OutboxTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private static OrderRecord Final(OrderRecord pending, int i) => (i % 3) switch
    {
        0 => pending with { Status = OrderStatus.Paid, PaidTime = DateTimeOffset.UtcNow, PaymentReference = "ref", PaymentTokenHash = "h" },
        1 => pending with { Status = OrderStatus.Cancelled, CancelTime = DateTimeOffset.UtcNow },
        _ => pending with { Status = OrderStatus.Expired, CancelTime = DateTimeOffset.UtcNow },
    };

    private static List<string> Expected(OrderRecord final) => final.Status switch
    {
        OrderStatus.Paid => [EventLog.Placed, EventLog.Paid],
        OrderStatus.Cancelled => [EventLog.Placed, EventLog.Cancelled],
        _ => [EventLog.Placed, EventLog.Expired],
    };

    [Fact]
    public async Task SnapshotsAppliedTwiceConcurrentlyAndOutOfOrderRecordEachStateChangeOnceInOrder()
    {
        var store = await EventLog.MigratedStoreAsync(database.DataSource);
        var pendings = Enumerable.Range(0, 300).Select(i => TestOrderRecords.Order($"user-{i}")).ToList();
        var finals = pendings.Select((p, i) => Final(p, i)).ToList();
        // Four consumers at once, each with every snapshot, in batches of different cuts and orders: pending before
        // final, final before pending (claims after a replica died), and both in one batch.
        var snapshots = pendings.Concat(finals).ToList();
        var consumers = Enumerable.Range(0, 4).Select(c => Task.Run(async () =>
        {
            var random = new Random(c);
            var mine = snapshots.OrderBy(_ => random.Next()).ToList();
            for (var at = 0; at < mine.Count;)
            {
                var size = random.Next(1, 60);
                // Within a batch in stream order (order ids are UUIDv7), as a consumer reads them.
                await UpsertAsync(store, [.. mine.Skip(at).Take(size).OrderBy(o => o.OrderId)]);
                at += size;
            }
        })).ToList();
        // Only the pending half first, for some orders (as the consumer normally sees them).
        consumers.Add(UpsertAsync(store, [.. pendings.Take(100)]));
        await Task.WhenAll(consumers);
        await UpsertAsync(store, pendings);

        var subjects = finals.Select(f => f.OrderId.ToString("D")).ToHashSet();
        var rows = (await EventLog.OutboxAsync(database.DataSource)).Where(r => subjects.Contains(r.Subject)).ToList();
        var bySubject = EventLog.BySubject(rows);
        Assert.Equal(finals.Sum(f => Expected(f).Count), rows.Count);
        Assert.All(finals, f => Assert.Equal(Expected(f), bySubject[f.OrderId.ToString("D")]));
    }

    [Fact]
    public async Task EachEventCarriesTheOrderAsItWasAtThatChange()
    {
        var store = await EventLog.MigratedStoreAsync(database.DataSource);
        var pending = TestOrderRecords.Order("user-1");
        var paid = pending with
        {
            Status = OrderStatus.Paid,
            PaidTime = pending.CreateTime.AddSeconds(3),
            PaymentReference = "ref-1",
        };
        await store.UpsertAsync([paid], default);

        var events = await PayloadsAsync(pending.OrderId);
        Assert.Equal(2, events.Count);
        var placed = events[0].OrderPlaced.Order;
        Assert.Equal(OrderStatus.PendingPayment, placed.Status);
        Assert.Null(placed.PaidTime);
        Assert.Equal("", placed.PaymentReference);
        Assert.Equal(pending.CreateTime.ToUnixTimeMilliseconds(), events[0].Time.ToDateTimeOffset().ToUnixTimeMilliseconds());
        var paidOrder = events[1].OrderPaid.Order;
        Assert.Equal(OrderStatus.Paid, paidOrder.Status);
        Assert.Equal("ref-1", paidOrder.PaymentReference);
        Assert.Equal(paid.PaidTime!.Value.ToUnixTimeMilliseconds(), events[1].Time.ToDateTimeOffset().ToUnixTimeMilliseconds());
        Assert.All(events, e => Assert.Equal(0, e.Sequence));
    }

    [Fact]
    public async Task AnotherTransactionCanAppendItsOwnEventsOnce()
    {
        // The shape coupon persistence uses: its own transaction, one more implied-events function.
        await EventLog.MigratedStoreAsync(database.DataSource);
        var couponId = Guid.NewGuid().ToString("D");
        OutboxEvent Redeemed(string orderId) => new(EventStreams.Coupons, couponId, orderId, new Event
        {
            Time = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
            CouponRedeemed = new CouponRedeemed { OrderId = orderId },
        });
        for (var attempt = 0; attempt < 2; attempt++)
        {
            await using var connection = await database.DataSource.OpenConnectionAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await EventOutbox.AppendAsync(connection, transaction, [Redeemed("order-a"), Redeemed("order-b")], default);
            await transaction.CommitAsync();
        }

        var rows = await EventLog.OutboxAsync(database.DataSource, EventStreams.Coupons);
        Assert.Equal(2, rows.Count(r => r.Subject == couponId));
    }

    /// <summary>As the stream consumer does: batches overlapping in another order may deadlock; the loser retries.</summary>
    private static async Task UpsertAsync(OrderStore store, List<OrderRecord> batch)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await store.UpsertAsync(batch, default);
                return;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DeadlockDetected && attempt < 20)
            {
            }
        }
    }

    private async Task<List<Event>> PayloadsAsync(Guid orderId)
    {
        await using var command = database.DataSource.CreateCommand(
            "SELECT payload FROM orders.event_outbox WHERE subject = $1 ORDER BY sequence");
        command.Parameters.Add(new NpgsqlParameter { Value = orderId.ToString("D") });
        await using var reader = await command.ExecuteReaderAsync();
        var events = new List<Event>();
        while (await reader.ReadAsync())
        {
            events.Add(Event.Parser.ParseFrom(reader.GetFieldValue<byte[]>(0)));
        }
        return events;
    }
}
