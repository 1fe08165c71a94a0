using FlashDeal.Contracts.Events.V1;
using FlashDeal.Contracts.Orders.V1;
using FlashDeal.EventsConsumer;
using FlashDeal.TestInfrastructure;
using Google.Protobuf;
using StackExchange.Redis;

namespace FlashDeal.Orders.Tests.Events;

/// <summary>
/// The example consumer (examples/FlashDeal.EventsConsumer) against real Redis: joining a group from the start or from
/// now, acknowledging after handling, a restarted consumer resuming its own unacknowledged events, and a dead
/// consumer's events claimed by another.
/// </summary>
[Collection(DataServers.Name)]
public sealed class ConsumerExampleTests(RedisServer redis) : FreshRedisTest(redis)
{
    private const string Stream = EventStreams.Orders;

    private IDatabase Redis => Connection.GetDatabase();

    /// <summary>Adds events 1..count (or from..to) the way the relay does.</summary>
    private async Task PublishAsync(long from, long to)
    {
        for (var sequence = from; sequence <= to; sequence++)
        {
            var message = new Event
            {
                Sequence = sequence,
                Time = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(DateTime.UtcNow),
                OrderPlaced = new OrderPlaced { Order = new Contracts.Orders.V1.Order { OrderId = $"order-{sequence}", Status = OrderStatus.PendingPayment } },
            };
            await Redis.StreamAddAsync(Stream,
            [
                new(EventStreams.TypeField, EventStreams.TypeOf(message)),
                new(EventStreams.KeyField, $"order-{sequence}"),
                new(EventStreams.EventField, message.ToByteArray()),
            ], EventStreams.EntryId(sequence));
        }
    }

    private EventStreamConsumer Consumer(string group, string name, TimeSpan? claimMinIdle = null, int batch = 4) =>
        new(Redis, Stream, group, name, claimMinIdle ?? TimeSpan.FromMinutes(1), batch);

    private static async Task DrainAsync(EventStreamConsumer consumer, List<long> seen)
    {
        while (await consumer.PollAsync(e =>
        {
            seen.Add(e.Event.Sequence);
            return Task.CompletedTask;
        }) > 0)
        {
        }
    }

    [Fact]
    public async Task AConsumerRestartedBeforeAcknowledgingHandlesItsEventsAgainThenTheRest()
    {
        await PublishAsync(1, 10);
        var seen = new List<long>();
        var first = Consumer("billing", "billing-1");
        await first.JoinAsync(fromStart: true);
        // The process dies while handling its third event: nothing of that batch was acknowledged.
        await Assert.ThrowsAsync<InvalidOperationException>(() => first.PollAsync(e =>
        {
            seen.Add(e.Event.Sequence);
            return seen.Count == 3 ? throw new InvalidOperationException("crash") : Task.CompletedTask;
        }));
        Assert.Equal(4, (await Redis.StreamPendingAsync(Stream, "billing")).PendingMessageCount);

        var restarted = Consumer("billing", "billing-1");
        await restarted.JoinAsync(fromStart: true);
        await DrainAsync(restarted, seen);

        Assert.Equal([1, 2, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], seen);
        Assert.Equal(0, (await Redis.StreamPendingAsync(Stream, "billing")).PendingMessageCount);
    }

    [Fact]
    public async Task ADeadConsumersEventsAreClaimedByAnother()
    {
        await PublishAsync(1, 6);
        var dead = Consumer("mailer", "mailer-dead", batch: 2);
        await dead.JoinAsync(fromStart: true);
        await Assert.ThrowsAsync<InvalidOperationException>(() => dead.PollAsync(_ => throw new InvalidOperationException("crash")));

        var seen = new List<long>();
        var survivor = Consumer("mailer", "mailer-2", claimMinIdle: TimeSpan.FromMilliseconds(1));
        await Task.Delay(5);
        await DrainAsync(survivor, seen);

        Assert.Equal([1, 2, 3, 4, 5, 6], seen.Order());
        Assert.Equal(6, seen.Count);
        Assert.Equal(0, (await Redis.StreamPendingAsync(Stream, "mailer")).PendingMessageCount);
    }

    [Fact]
    public async Task GroupsKeepTheirOwnPositionFromTheStartOrFromNow()
    {
        await PublishAsync(1, 3);
        var fromStart = Consumer("audit", "audit-1");
        var fromNow = Consumer("alerts", "alerts-1");
        await fromStart.JoinAsync(fromStart: true);
        await fromNow.JoinAsync(fromStart: false);
        await PublishAsync(4, 5);

        List<long> audit = [], alerts = [];
        await DrainAsync(fromStart, audit);
        await DrainAsync(fromNow, alerts);

        Assert.Equal([1, 2, 3, 4, 5], audit);
        Assert.Equal([4, 5], alerts);
        var line = EventStreamConsumer.Describe(EventStreamConsumer.Parse((await Redis.StreamRangeAsync(Stream))[0]));
        Assert.StartsWith("1 ", line);
        Assert.Contains("OrderPlaced order=order-1", line);
    }
}
