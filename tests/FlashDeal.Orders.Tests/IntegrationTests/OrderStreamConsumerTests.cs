using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Data.Redis;
using FlashDeal.Orders.Model;
using FlashDeal.Orders.Persistence;
using FlashDeal.Orders.Redis;
using FlashDeal.TestInfrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace FlashDeal.Orders.Tests.IntegrationTests;

/// <summary>The per-deal streams reach PostgreSQL: every field, status changes, outages, dead consumers.</summary>
[Collection(DataServers.Name)]
public sealed class OrderStreamConsumerTests(PostgresDatabase database, RedisServer redis) : FreshRedisTest(redis), IClassFixture<PostgresDatabase>
{
    private IDatabase Redis => Connection.GetDatabase();

    private Task<OrdersHost> HostAsync(Dictionary<string, string?>? settings = null) =>
        OrdersHost.StartAsync(database.ConnectionString, Server.ConnectionString, settings);

    [Fact]
    public async Task AnAcceptedOrderReachesPostgresWithEveryFieldAndLeavesTheStream()
    {
        await using var host = await HostAsync();
        var deal = await new TestDeal().WriteAsync(Redis);
        var placed = (await host.Client.PlaceAsync("nia", deal.DealId, "k", quantity: 2)).Order;

        await PostgresOrders.WaitForAsync(database.DataSource, deal.DealId, 1);
        var stored = await host.Services.GetRequiredService<OrderStore>().GetAsync(Guid.Parse(placed.OrderId), default);

        Assert.NotNull(stored);
        Assert.Equal(placed, Grpc.OrderMapping.ToProto(stored));
        await Eventually.HoldsAsync(async () => await Redis.StreamLengthAsync(OrderKeys.Stream(deal.DealId)) == 0,
            "the persisted entry is deleted from the stream");
    }

    [Fact]
    public async Task SnapshotsApplyInAnyOrderAndTwice()
    {
        await using var host = await HostAsync();
        var store = host.Services.GetRequiredService<OrderStore>();
        var pending = TestOrderRecords.Order("ola");
        var cancelled = pending with { Status = OrderStatus.Cancelled, CancelTime = DateTimeOffset.UtcNow };
        var paidLater = pending with { Status = OrderStatus.Paid, PaidTime = DateTimeOffset.UtcNow };

        await store.UpsertAsync([cancelled], default);
        await store.UpsertAsync([pending, pending], default);
        await store.UpsertAsync([paidLater], default);

        var stored = await store.GetAsync(pending.OrderId, default);
        Assert.Equal(OrderStatus.Cancelled, stored!.Status);
        Assert.Equal(500, stored.TotalCents);
    }

    [Fact]
    public async Task WhilePostgresIsDownTheStreamGrowsAndDrainsAfterwards()
    {
        await using var host = await HostAsync();
        var deal = await new TestDeal { PerUserLimit = 1 }.WriteAsync(Redis);
        await host.Client.PlaceAsync("first", deal.DealId, "k");
        await PostgresOrders.WaitForAsync(database.DataSource, deal.DealId, 1);

        await database.Server.StopAsync();
        try
        {
            for (var i = 0; i < 30; i++)
            {
                await host.Client.PlaceAsync($"u{i}", deal.DealId, "k");
            }
            var status = host.Services.GetRequiredService<OrderStreamStatus>();
            await Eventually.HoldsAsync(() => Task.FromResult(status.FailingSince is not null && status.Lag >= 30),
                "the consumer reports failures and a lag of 30");
            var health = await host.Http.GetFromJsonAsync<JsonElement>("/healthz/order-stream");
            Assert.True(health.GetProperty("lag").GetInt64() >= 30);
            Assert.True(health.TryGetProperty("last_error", out _));
            // Degraded, not Unhealthy: the replica stays ready (SERVING) and keeps taking orders.
            var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
            Assert.Equal(HealthStatus.Degraded, report.Status);
            Assert.Equal(HealthStatus.Degraded, report.Entries["postgres"].Status);
            Assert.Equal(HealthStatus.Degraded, report.Entries["order-stream"].Status);
        }
        finally
        {
            await database.Server.StartAsync();
        }

        var rows = await PostgresOrders.WaitForAsync(database.DataSource, deal.DealId, 31, TimeSpan.FromSeconds(60));
        Assert.Equal(31, rows.Select(r => r.UserId).Distinct().Count());
        await Eventually.HoldsAsync(() => Task.FromResult(host.Services.GetRequiredService<OrderStreamStatus>().Lag == 0),
            "the lag is back to 0");
    }

    [Fact]
    public async Task EntriesLeftPendingByADeadConsumerAreClaimed()
    {
        var deal = await new TestDeal { PerUserLimit = 1 }.WriteAsync(Redis);
        var stream = OrderKeys.Stream(deal.DealId);
        await using (var placing = await HostAsync(new() { ["Orders:Stream:ConsumerEnabled"] = "false" }))
        {
            for (var i = 0; i < 12; i++)
            {
                await placing.Client.PlaceAsync($"u{i}", deal.DealId, "k");
            }
        }
        // A replica read the entries and died before acknowledging them.
        await Redis.StreamCreateConsumerGroupAsync(stream, OrderKeys.ConsumerGroup, StreamPosition.Beginning);
        var taken = await Redis.StreamReadGroupAsync(stream, OrderKeys.ConsumerGroup, "dead-replica", StreamPosition.NewMessages, 100);
        Assert.Equal(12, taken.Length);

        await using var survivor = await HostAsync(new()
        {
            ["Orders:Stream:ClaimMinIdle"] = "00:00:00.300",
            ["Orders:Stream:ClaimInterval"] = "00:00:00.100",
        });

        await PostgresOrders.WaitForAsync(database.DataSource, deal.DealId, 12);
        await Eventually.HoldsAsync(async () =>
            (await Redis.StreamPendingAsync(stream, OrderKeys.ConsumerGroup)).PendingMessageCount == 0
            && await Redis.StreamLengthAsync(stream) == 0, "nothing is pending or left in the stream");
    }

    [Fact]
    public async Task PaidOrdersAreAnnouncedToCatalogAfterTheyArePersisted()
    {
        await using var host = await HostAsync();
        var deal = await new TestDeal().WriteAsync(Redis);
        var order = (await host.Client.PlaceAsync("pam", deal.DealId, "k", quantity: 3)).Order;

        var paid = await host.Client.PayAsync("pam", order.OrderId, "tok_visa");

        await PostgresOrders.WaitForStatusAsync(database.DataSource, deal.DealId, rows => rows is [{ Status: "PAID" }],
            "the order is PAID in PostgreSQL");
        StreamEntry[] announced = [];
        await Eventually.HoldsAsync(async () =>
        {
            announced = [.. (await Redis.StreamRangeAsync(PaidOrdersStream.Key))
                .Where(e => (string?)e[PaidOrdersStream.OrderIdField] == order.OrderId)];
            return announced.Length > 0;
        }, "the paid order is announced");
        var entry = Assert.Single(announced);
        Assert.Equal(deal.ProductId, (string?)entry[PaidOrdersStream.ProductIdField]);
        Assert.Equal("3", (string?)entry[PaidOrdersStream.QuantityField]);
        Assert.Equal(paid.PaidTime.ToDateTimeOffset().ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
            (string?)entry[PaidOrdersStream.PaidAtMsField]);
    }

    [Fact]
    public async Task AFinishedDealLeavesTheRegistryOnlyWhenNothingCanWriteToItAnyMore()
    {
        await using var host = await HostAsync(new()
        {
            ["Orders:Stream:RegistryCleanupInterval"] = "00:00:00.100",
            ["Orders:Stream:RegistryCleanupGrace"] = "00:00:00",
        });
        var ending = await new TestDeal { End = DateTimeOffset.UtcNow.AddSeconds(1) }.WriteAsync(Redis);
        var ongoing = await new TestDeal().WriteAsync(Redis);
        var pending = (await host.Client.PlaceAsync("a", ending.DealId, "k")).Order;
        var paid = (await host.Client.PlaceAsync("b", ending.DealId, "k")).Order;
        await host.Client.PayAsync("b", paid.OrderId, "tok_visa");
        var cancelled = (await host.Client.PlaceAsync("c", ongoing.DealId, "k")).Order;
        await host.Client.CancelAsync("c", cancelled.OrderId);
        await Task.Delay(ending.End - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(500));

        Assert.True(await Redis.SetContainsAsync(OrderKeys.StreamRegistry, ending.DealId.ToString("D")),
            "an ended deal with a pending order stays");
        await host.Client.CancelAsync("a", pending.OrderId);

        await Eventually.HoldsAsync(async () => !await Redis.SetContainsAsync(OrderKeys.StreamRegistry, ending.DealId.ToString("D")),
            "the ended, drained deal leaves the registry");
        Assert.True(await Redis.SetContainsAsync(OrderKeys.StreamRegistry, ongoing.DealId.ToString("D")));
        var rows = await PostgresOrders.OfDealAsync(database.DataSource, ending.DealId);
        Assert.Equal(["CANCELLED", "PAID"], rows.Select(r => r.Status).Order());
        Assert.Equal(OrderStatus.Cancelled, (await host.Client.GetAsync("a", pending.OrderId)).Status);
    }
}
