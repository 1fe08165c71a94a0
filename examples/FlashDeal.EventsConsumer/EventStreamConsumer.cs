using System.Globalization;
using FlashDeal.Contracts.Events.V1;
using StackExchange.Redis;

namespace FlashDeal.EventsConsumer;

/// <summary>One delivered event: the stream entry id and the parsed message.</summary>
public sealed record DeliveredEvent(string EntryId, string Type, string Key, Event Event);

/// <summary>
/// One consumer of one consumer group on an event stream. Delivery is at least once: an event is acknowledged (XACK)
/// only after the handler returned, so a consumer that dies in between gets it again, from its own pending entries
/// when it restarts under the same name, or through a claim (XAUTOCLAIM) by another consumer after
/// <paramref name="claimMinIdle"/>. Handlers must be idempotent per <see cref="Event.Sequence"/>.
/// </summary>
public sealed class EventStreamConsumer(IDatabase redis, string stream, string group, string consumer, TimeSpan claimMinIdle,
    int batchSize = 100)
{
    private bool _ownPendingDone;

    /// <summary>
    /// XGROUP CREATE &lt;stream&gt; &lt;group&gt; &lt;0|$&gt; MKSTREAM: a new group reads from the start of what the
    /// stream retains ("0") or only what comes after it joined ("$"). An existing group keeps its position.
    /// </summary>
    public async Task JoinAsync(bool fromStart)
    {
        try
        {
            await redis.StreamCreateConsumerGroupAsync(stream, group, fromStart ? StreamPosition.Beginning : StreamPosition.NewMessages,
                createStream: true);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
        }
    }

    /// <summary>
    /// Handles one batch and acknowledges it: first this consumer's own unacknowledged entries (left by a crash before
    /// XACK), then entries other consumers held longer than the claim idle time (they are presumed dead), then new ones.
    /// Returns how many were handled.
    /// </summary>
    public async Task<int> PollAsync(Func<DeliveredEvent, Task> handle)
    {
        StreamEntry[] entries = [];
        if (!_ownPendingDone)
        {
            // XREADGROUP ... STREAMS <stream> 0: what was delivered to this name and never acknowledged.
            entries = await redis.StreamReadGroupAsync(stream, group, consumer, "0", batchSize);
            _ownPendingDone = entries.Length == 0;
        }
        if (entries.Length == 0)
        {
            var claimed = await redis.StreamAutoClaimAsync(stream, group, consumer, (long)claimMinIdle.TotalMilliseconds, "0-0",
                batchSize);
            entries = claimed.ClaimedEntries;
        }
        if (entries.Length == 0)
        {
            entries = await redis.StreamReadGroupAsync(stream, group, consumer, StreamPosition.NewMessages, batchSize);
        }
        var handled = new List<RedisValue>();
        foreach (var entry in entries)
        {
            if (entry.IsNull || entry.Values is not { Length: > 0 })
            {
                // Trimmed away (MAXLEN) while pending: nothing left to handle.
                handled.Add(entry.Id);
                continue;
            }
            await handle(Parse(entry));
            handled.Add(entry.Id);
        }
        if (handled.Count > 0)
        {
            await redis.StreamAcknowledgeAsync(stream, group, [.. handled]);
        }
        return entries.Length;
    }

    /// <summary>Polls until cancelled, pausing when there was nothing to do.</summary>
    public async Task RunAsync(Func<DeliveredEvent, Task> handle, TimeSpan idlePause, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            if (await PollAsync(handle) == 0)
            {
                await Task.Delay(idlePause, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public static DeliveredEvent Parse(StreamEntry entry) => new(entry.Id!, (string?)entry[EventStreams.TypeField] ?? "",
        (string?)entry[EventStreams.KeyField] ?? "", Event.Parser.ParseFrom((byte[])entry[EventStreams.EventField]!));

    /// <summary>One line per event, e.g. "42 2026-12-05T03:00:01.123Z OrderPaid order=… status=ORDER_STATUS_PAID total=1999 USD".</summary>
    public static string Describe(DeliveredEvent delivered)
    {
        var e = delivered.Event;
        var time = e.Time?.ToDateTimeOffset().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture) ?? "-";
        var order = e.PayloadCase switch
        {
            Event.PayloadOneofCase.OrderPlaced => e.OrderPlaced.Order,
            Event.PayloadOneofCase.OrderPaid => e.OrderPaid.Order,
            Event.PayloadOneofCase.OrderCancelled => e.OrderCancelled.Order,
            Event.PayloadOneofCase.OrderExpired => e.OrderExpired.Order,
            Event.PayloadOneofCase.OrderRefunded => e.OrderRefunded.Order,
            _ => null,
        };
        var detail = order is not null
            ? $"order={order.OrderId} user={order.UserId} deal={order.DealId} status={order.Status} total={order.TotalCents} {order.Currency}"
            : $"key={delivered.Key}";
        // An unknown payload (a newer producer) still prints, by the entry's type field.
        var name = e.PayloadCase == Event.PayloadOneofCase.None ? delivered.Type : e.PayloadCase.ToString();
        return string.Create(CultureInfo.InvariantCulture, $"{e.Sequence} {time} {name} {detail}");
    }
}
