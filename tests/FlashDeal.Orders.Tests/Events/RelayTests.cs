using FlashDeal.Contracts.Events.V1;
using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Orders.Events;
using FlashDeal.Orders.Model;
using FlashDeal.TestInfrastructure;
using StackExchange.Redis;

namespace FlashDeal.Orders.Tests.Events;

/// <summary>
/// EventRelay against real PostgreSQL and Redis: several relays at once publish every outbox row once, with the entry id
/// "&lt;sequence&gt;-0"; a stream that lost its newest entries (failover) gets them again; published rows expire.
/// </summary>
[Collection(DataServers.Name)]
public sealed class RelayTests(PostgresDatabase database, RedisServer redis) : FreshRedisTest(redis), IClassFixture<PostgresDatabase>
{
    private IDatabase Redis => Connection.GetDatabase();

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        // xunit runs each test on a new instance: Redis starts empty, so must the outbox (one database per class).
        await EventLog.MigratedStoreAsync(database.DataSource);
        await using var clear = database.DataSource.CreateCommand("TRUNCATE orders.event_outbox");
        await clear.ExecuteNonQueryAsync();
    }

    private static OrderRecord Order(int i, OrderStatus status) => TestOrderRecords.Order($"user-{i}", status);

    [Fact]
    public async Task RelaysRunningAtOncePublishEveryEventOnceWithItsSequenceAsEntryId()
    {
        var store = await EventLog.MigratedStoreAsync(database.DataSource);
        var relays = Enumerable.Range(0, 3)
            .Select(_ => EventLog.Relay(database.DataSource, Connection, o => o.BatchSize = 50)).ToList();
        using var stop = new CancellationTokenSource();
        var running = relays.Select(relay => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await relay.RunRoundAsync(default);
            }
        })).ToList();
        // Writers race the relays: events commit while they publish.
        var statuses = new[] { OrderStatus.PendingPayment, OrderStatus.Paid, OrderStatus.Cancelled };
        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var batch = 0; batch < 20; batch++)
            {
                await store.UpsertAsync([.. Enumerable.Range(0, 10).Select(i => Order(i, statuses[(w + batch + i) % 3]))], default);
            }
        })));
        var outbox = await EventLog.OutboxAsync(database.DataSource);
        await Eventually.HoldsAsync(async () => await Redis.StreamLengthAsync(EventStreams.Orders) >= outbox.Count,
            "the relays published the outbox");
        await stop.CancelAsync();
        await Task.WhenAll(running);

        var entries = await EventLog.StreamAsync(Redis);
        Assert.Equal(outbox.Select(r => (EventStreams.EntryId(r.Sequence), r.Type, r.Subject)),
            entries.Select(e => (e.Id, e.Type, e.Key)));
        Assert.Equal(entries.Count, entries.Select(e => e.Event.Sequence).Distinct().Count());
        Assert.True(entries.Zip(entries.Skip(1)).All(p => p.First.Event.Sequence < p.Second.Event.Sequence));
        // 800 orders: a third pending (one event), the others paid or cancelled (two).
        Assert.Equal(800 + 533, entries.Count);
    }

    [Fact]
    public async Task EventsAFailoverLostArePublishedAgainAndNothingTwice()
    {
        var store = await EventLog.MigratedStoreAsync(database.DataSource);
        var relay = EventLog.Relay(database.DataSource, Connection);
        await store.UpsertAsync([.. Enumerable.Range(0, 40).Select(i => Order(i, OrderStatus.Paid))], default);
        await relay.RunRoundAsync(default);
        var published = await Redis.StreamRangeAsync(EventStreams.Orders);
        Assert.Equal(80, published.Length);

        // The promoted replica had received only the first 50 entries.
        await Redis.KeyDeleteAsync(EventStreams.Orders);
        foreach (var entry in published.Take(50))
        {
            await Redis.StreamAddAsync(EventStreams.Orders, entry.Values, entry.Id);
        }
        await relay.RunRoundAsync(default);
        await relay.RunRoundAsync(default);

        var repaired = await Redis.StreamRangeAsync(EventStreams.Orders);
        Assert.Equal(published.Select(e => (string?)e.Id), repaired.Select(e => (string?)e.Id));
        Assert.Equal(published.Select(e => (byte[]?)e[EventStreams.EventField]), repaired.Select(e => (byte[]?)e[EventStreams.EventField]));
    }

    [Fact]
    public async Task PublishedEventsLeaveTheOutboxAfterTheRetentionUnpublishedOnesStay()
    {
        var store = await EventLog.MigratedStoreAsync(database.DataSource);
        var relay = EventLog.Relay(database.DataSource, Connection, o =>
        {
            o.OutboxRetention = TimeSpan.Zero;
            o.CleanupInterval = TimeSpan.Zero;
            o.BatchSize = 10;
        });
        await store.UpsertAsync([.. Enumerable.Range(0, 15).Select(i => Order(i, OrderStatus.PendingPayment))], default);

        await relay.RunRoundAsync(default);

        // One batch of 10 published (and deleted, retention 0); 5 wait for the next round.
        Assert.Equal(5, (await EventLog.OutboxAsync(database.DataSource)).Count);
        await relay.RunRoundAsync(default);
        Assert.Empty(await EventLog.OutboxAsync(database.DataSource));
        Assert.Equal(15, (int)await Redis.StreamLengthAsync(EventStreams.Orders));
    }
}
