using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Orders.Payments;
using FlashDeal.Orders.Redis;
using FlashDeal.ServiceDefaults;
using FlashDeal.TestInfrastructure;
using Google.Rpc;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using Xunit.Abstractions;
using Order = FlashDeal.Contracts.Orders.V1.Order;

namespace FlashDeal.Orders.Tests.Invariants;

/// <summary>
/// Refunds racing each other, repeated payments and expiry on three replicas sharing one provider: stock comes back
/// exactly once per order that left PAID or PENDING_PAYMENT, each refunded order is refunded once at the provider, and
/// Redis, PostgreSQL and the provider agree on every order.
/// </summary>
[Collection(DataServers.Name)]
public sealed class RefundRaceInvariantTests(PostgresDatabase database, RedisServer redis, ITestOutputHelper output)
    : FreshRedisTest(redis), IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task RacingRefundsPaymentsAndExpiryReturnEachOrdersUnitsOnceAndRefundOnce()
    {
        const int initialStock = 2000;
        const int paidOrders = 200;
        const int pendingOrders = 100;
        var provider = new SandboxPaymentProvider();
        await using var cluster = await OrderCluster.StartAsync(3, database.ConnectionString, Server.ConnectionString, new()
        {
            ["Orders:PayWindow"] = "00:00:05",
            ["Orders:ExpirySweepInterval"] = "00:00:00.020",
            ["Orders:PaymentReconcileInterval"] = "00:00:00.100",
        }, builder => builder.Services.AddSingleton<IPaymentProvider>(provider));
        var db = Connection.GetDatabase();
        var deal = await new TestDeal { Stock = initialStock, PerUserLimit = 3 }.WriteAsync(db);

        // 200 orders paid first.
        var paid = await cluster.PlaceAllAsync(Enumerable.Range(0, paidOrders)
            .Select(i => ($"refund-{i}", deal.DealId, "k", 1 + (i % 3))).ToList());
        Assert.All(paid, o => Assert.True(o.Accepted));
        var payments = await Task.WhenAll(paid.Select((o, i) => cluster.Client(i).PayAsync(o.UserId, o.Order!.OrderId, "tok_visa")));
        Assert.All(payments, p => Assert.Equal(OrderStatus.Paid, p.Status));

        // Then 100 pending orders whose deadline the race straddles.
        var pending = await cluster.PlaceAllAsync(Enumerable.Range(0, pendingOrders)
            .Select(i => ($"late-{i}", deal.DealId, "k", 1 + (i % 3))).ToList());
        Assert.All(pending, o => Assert.True(o.Accepted));
        var deadline = pending.Min(o => o.Order!.PayDeadline.ToDateTimeOffset());
        // Start shortly before the deadline, so some of the pending orders' payments land before it and some after.
        await Task.Delay(Max(TimeSpan.Zero, deadline - DateTimeOffset.UtcNow - TimeSpan.FromMilliseconds(450)));

        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async Task<string> Call(Func<Task<Order>> call)
        {
            await go.Task;
            try
            {
                return (await call()).Status.ToString();
            }
            catch (RpcException e)
            {
                return e.GetDetail<ErrorInfo>()?.Reason ?? e.StatusCode.ToString();
            }
        }
        // Each pending order: paid (odd) or cancelled (even) at its deadline (started first, so they are not all
        // queued behind the refunds) while every replica expires it.
        var lateCalls = pending.Select((o, i) => Call(() => i % 2 == 1
            ? cluster.Client(i).PayAsync(o.UserId, o.Order!.OrderId, "tok_visa")
            : cluster.Client(i).CancelAsync(o.UserId, o.Order!.OrderId))).ToArray();
        // Each paid order: three cancels (refunds) on three replicas and its payment repeated with the same token.
        var refunds = paid.Select((o, i) => Enumerable.Range(0, 3)
            .Select(r => Call(() => cluster.Client(i + r).CancelAsync(o.UserId, o.Order!.OrderId))).ToArray()).ToArray();
        var repays = paid.Select((o, i) => Call(() => cluster.Client(i + 1).PayAsync(o.UserId, o.Order!.OrderId, "tok_visa")))
            .ToArray();
        var expiries = cluster.Hosts.SelectMany(host => pending.Select(async o =>
        {
            await go.Task;
            while (await host.Lifecycle.ExpireAsync(deal.DealId, Guid.Parse(o.Order!.OrderId)) == "NOT_DUE")
            {
                await Task.Delay(5);
            }
        })).ToArray();
        var started = DateTimeOffset.UtcNow;
        go.SetResult();
        var refundOutcomes = await Task.WhenAll(refunds.Select(Task.WhenAll));
        var repayOutcomes = await Task.WhenAll(repays);
        var lateOutcomes = await Task.WhenAll(lateCalls);
        await Task.WhenAll(expiries);

        Assert.All(refundOutcomes.SelectMany(r => r), r => Assert.Equal("Refunded", r));
        Assert.All(repayOutcomes, r => Assert.Contains(r, new[] { "Paid", "ORDER_REFUNDED" }));
        for (var i = 0; i < pendingOrders; i++)
        {
            Assert.Contains(lateOutcomes[i], i % 2 == 1 ? new[] { "Paid", "ORDER_EXPIRED" } : new[] { "Cancelled", "ORDER_EXPIRED" });
        }

        // Every pending order settles (the sweeper expires whatever the race left pending).
        var all = paid.Concat(pending).ToList();
        var statuses = new Dictionary<Guid, string>();
        await Eventually.HoldsAsync(async () =>
        {
            foreach (var o in all)
            {
                var id = Guid.Parse(o.Order!.OrderId);
                statuses[id] = (string)(await db.HashGetAsync(OrderKeys.Order(deal.DealId, id), OrderFields.Status))!;
            }
            return statuses.Values.All(s => s != "PENDING_PAYMENT");
        }, "every order leaves PENDING_PAYMENT in Redis");
        for (var i = 0; i < pendingOrders; i++)
        {
            var expected = lateOutcomes[i] switch { "Paid" => "PAID", "Cancelled" => "CANCELLED", _ => "EXPIRED" };
            Assert.Equal(expected, statuses[Guid.Parse(pending[i].Order!.OrderId)]);
        }
        Assert.All(paid, o => Assert.Equal("REFUNDED", statuses[Guid.Parse(o.Order!.OrderId)]));

        // Stock: back exactly once for every order not PAID; buyers hold exactly their PAID units.
        var stillPaid = all.Where(o => statuses[Guid.Parse(o.Order!.OrderId)] == "PAID").ToList();
        Assert.Equal(initialStock - stillPaid.Sum(o => o.Order!.Quantity), await TestDeal.RemainingAsync(db, deal.DealId));
        var buyers = (await db.HashGetAllAsync(OrderKeys.Buyers(deal.DealId))).ToDictionary(b => (string)b.Name!, b => (int)b.Value);
        foreach (var o in all)
        {
            var held = statuses[Guid.Parse(o.Order!.OrderId)] == "PAID" ? o.Order!.Quantity : 0;
            Assert.Equal(held, buyers.GetValueOrDefault(o.UserId));
        }

        output.WriteLine($"statuses: {string.Join(", ", statuses.GroupBy(s => s.Value).Select(g => $"{g.Key} {g.Count()}"))}; "
            + $"refund requests {provider.RefundRequests}, distinct refunds {provider.Refunds.Count}; "
            + $"pending answered {string.Join(", ", lateOutcomes.GroupBy(r => r).Select(g => $"{g.Key} {g.Count()}"))} (deadline {deadline:HH:mm:ss.fff}, go {started:HH:mm:ss.fff}); "
            + $"repeated payments answered {string.Join(", ", repayOutcomes.GroupBy(r => r).Select(g => $"{g.Key} {g.Count()}"))}");

        // The provider: one refund per REFUNDED order, none for any other; every charge is a PAID or REFUNDED order's.
        var refunded = statuses.Where(s => s.Value == "REFUNDED").Select(s => s.Key).ToHashSet();
        Assert.Equal(refunded.Order(), provider.Refunds.Keys.Order());
        Assert.True(provider.RefundRequests >= refunded.Count);
        var charged = provider.Charges.Values.Select(c => c.OrderId).ToList();
        Assert.Equal(charged.Count, charged.Distinct().Count());
        Assert.All(charged, id => Assert.Contains(statuses[id], new[] { "PAID", "REFUNDED" }));
        Assert.Equal(stillPaid.Count + refunded.Count, charged.Count);

        // PostgreSQL agrees with Redis once the streams drained.
        await PostgresOrders.WaitForStatusAsync(database.DataSource, deal.DealId,
            rows => rows.Count == all.Count && rows.All(r => statuses[r.OrderId] == r.Status),
            "PostgreSQL holds every order with its Redis status");
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
