using System.Diagnostics;
using System.Runtime.ExceptionServices;
using FlashDeal.Data.Redis;
using FlashDeal.Orders.Coupons;
using FlashDeal.Orders.Model;
using FlashDeal.Orders.Placement;
using FlashDeal.Orders.Redis;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using StackExchange.Redis;

namespace FlashDeal.Orders.Persistence;

/// <summary>
/// Drains every deal's order stream (<see cref="OrderKeys.Stream"/>) into PostgreSQL. Each replica is one consumer of
/// the group <see cref="OrderKeys.ConsumerGroup"/> (a <see cref="StreamGroupReader"/> per deal): it reads batches of new
/// entries (and, every ClaimInterval, takes over entries another consumer left pending longer than ClaimMinIdle: that
/// replica is presumed dead), writes each batch in one transaction, announces paid orders on
/// <see cref="PaidOrdersStream"/>, and only then acknowledges and deletes the entries. PostgreSQL down: the batch is
/// retried with backoff and the streams grow; nothing is lost. A batch that fails is read again from this consumer's
/// pending entries. Under Replica durability a batch is written only once replicas hold it
/// (<see cref="ReplicaAcknowledgement.HeldAsync"/>): PostgreSQL never gets an order a failover took back.
/// </summary>
public sealed partial class OrderStreamConsumer(
    IConnectionMultiplexer redis,
    StreamRegistry registry,
    OrderStore store,
    OrderStreamStatus status,
    OrdersMetrics metrics,
    ReplicaAcknowledgement replicas,
    CouponRedemption coupons,
    TimeProvider time,
    IOptions<OrdersOptions> options,
    ILogger<OrderStreamConsumer> logger) : BackgroundService
{
    private readonly OrderStreamOptions _options = options.Value.Stream;
    private readonly OrderDurability _durability = options.Value.Durability;
    private readonly Dictionary<Guid, StreamGroupReader> _readers = [];
    private IReadOnlyList<Guid> _deals = [];
    private long? _registryReadAt;
    private long? _cleanedAt;
    private long? _claimedAt;

    /// <summary>Unique per process, so a restarted replica's leftovers are claimed like a dead one's.</summary>
    public string ConsumerName { get; } =
        $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}";

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(
            StreamConsumerLoop.RunAsync("Order stream consumer", RunRoundAsync, _options.PollInterval, _options.MaxRetryDelay,
                logger, stoppingToken),
            MeasureLoopAsync(stoppingToken));

    /// <summary>One pass over every registered deal; true when any entry was persisted.</summary>
    public async Task<bool> RunRoundAsync(CancellationToken cancellationToken)
    {
        var database = redis.GetDatabase();
        var now = Stopwatch.GetTimestamp();
        if (Due(_registryReadAt, now, _options.RegistryRefreshInterval))
        {
            _deals = await registry.ListAsync().ConfigureAwait(false);
            _registryReadAt = now;
        }
        if (Due(_cleanedAt, now, _options.RegistryCleanupInterval))
        {
            _cleanedAt = now;
            await RemoveFinishedDealsAsync().ConfigureAwait(false);
        }
        var claim = Due(_claimedAt, now, _options.ClaimInterval);
        if (claim)
        {
            _claimedAt = now;
        }
        var worked = false;
        Exception? failed = null;
        foreach (var dealId in _deals)
        {
            try
            {
                worked |= await DrainAsync(database, dealId, claim, cancellationToken).ConfigureAwait(false) > 0;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                // One deal's node failing over must not hold up the deals on the other nodes (Redis Cluster).
                failed ??= e;
            }
        }
        if (failed is not null)
        {
            ExceptionDispatchInfo.Throw(failed);
        }
        return worked;
    }

    private async Task<int> DrainAsync(IDatabaseAsync database, Guid dealId, bool claim, CancellationToken cancellationToken)
    {
        var reader = Reader(dealId);
        var claimedBefore = reader.Claimed;
        var entries = await reader.ReadAsync(database, claim).ConfigureAwait(false);
        if (reader.Claimed > claimedBefore)
        {
            LogClaimed(reader.Claimed - claimedBefore, dealId);
        }
        if (entries.Count == 0)
        {
            return 0;
        }
        try
        {
            await PersistBatchAsync(database, reader, dealId, entries, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            reader.ReadPendingAgain();
            throw;
        }
        return entries.Count;
    }

    /// <summary>Writes one batch to PostgreSQL, then acknowledges (and deletes) its entries.</summary>
    private async Task PersistBatchAsync(IDatabaseAsync database, StreamGroupReader reader, Guid dealId,
        IReadOnlyList<StreamEntry> entries, CancellationToken cancellationToken)
    {
        var held = entries;
        if (_durability == OrderDurability.Replica)
        {
            held = await replicas.HeldAsync(dealId, reader.Stream, entries, cancellationToken).ConfigureAwait(false);
            if (held.Count < entries.Count)
            {
                LogLostInFailover(entries.Count - held.Count, dealId);
            }
        }
        var orders = new List<OrderRecord>(held.Count);
        List<ActivityLink>? placements = null;
        foreach (var entry in held)
        {
            try
            {
                orders.Add(OrderSnapshot.FromStreamEntry(entry.Values));
                if (Spans.HasListeners() && PlacementOf(entry) is { } placement)
                {
                    (placements ??= []).Add(new ActivityLink(placement));
                }
            }
            catch (FormatException e)
            {
                // Only a bug writes such an entry; keep it for inspection rather than block the stream forever.
                logger.LogError("Order stream {Stream} entry {EntryId} is malformed and moved aside: {Error}",
                    (string?)reader.Stream, (string?)entry.Id, e.Message);
                await database.StreamAddAsync(OrderKeys.DeadLetters(dealId),
                    [new NameValueEntry("entry_id", entry.Id), new NameValueEntry("error", e.Message)]).ConfigureAwait(false);
                metrics.DeadLetter();
            }
        }
        if (orders.Count > 0)
        {
            // Linked to each traced placement in the batch, and a child of the first: sampled whenever that placement
            // was, and found inside its trace.
            using var span = placements is null ? null
                : Spans.StartActivity(ActivityKind.Consumer, parentContext: placements[0].Context, links: placements,
                    name: "persist orders");
            span?.SetTag("messaging.system", "redis");
            span?.SetTag("messaging.destination.name", (string?)reader.Stream);
            span?.SetTag("messaging.batch.message_count", orders.Count);
            await PersistAsync(orders, cancellationToken).ConfigureAwait(false);
            await coupons.OnOrdersPersistedAsync(orders, cancellationToken).ConfigureAwait(false);
            await AnnouncePaidAsync(database, orders).ConfigureAwait(false);
        }
        await reader.AcknowledgeAsync(database, [.. entries.Select(e => e.Id)]).ConfigureAwait(false);
    }

    /// <summary>Spans of the order stream's consumer ("persist orders", linked to the placements it writes).</summary>
    public const string ActivitySourceName = "FlashDeal.Orders.Stream";
    private static readonly ActivitySource Spans = new(ActivitySourceName);

    private static ActivityContext? PlacementOf(StreamEntry entry)
    {
        foreach (var value in entry.Values)
        {
            if (value.Name == "traceparent")
            {
                return ActivityContext.TryParse((string?)value.Value, null, out var context) ? context : null;
            }
        }
        return null;
    }

    private StreamGroupReader Reader(Guid dealId)
    {
        if (!_readers.TryGetValue(dealId, out var reader))
        {
            _readers[dealId] = reader = new StreamGroupReader(OrderKeys.Stream(dealId), OrderKeys.ConsumerGroup, ConsumerName,
                new StreamGroupOptions(_options.BatchSize, _options.ClaimMinIdle, DeleteAcknowledged: true));
        }
        return reader;
    }

    /// <summary>Keeps the per-poll work proportional to live deals, not to every deal ever sold.</summary>
    private async Task RemoveFinishedDealsAsync()
    {
        var removed = new List<Guid>();
        foreach (var dealId in _deals)
        {
            if (await registry.RemoveIfFinishedAsync(dealId, time.GetUtcNow(), _options.RegistryCleanupGrace).ConfigureAwait(false))
            {
                removed.Add(dealId);
                _readers.Remove(dealId);
            }
        }
        if (removed.Count > 0)
        {
            _deals = [.. _deals.Except(removed)];
            logger.LogInformation("Removed {Count} finished deal(s) from the order stream registry", removed.Count);
        }
    }

    /// <summary>Retries until PostgreSQL takes the batch or the service stops (the entries then stay pending).</summary>
    private async Task PersistAsync(List<OrderRecord> orders, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                await store.UpsertAsync(orders, cancellationToken).ConfigureAwait(false);
                metrics.Persisted(orders.Count, Stopwatch.GetElapsedTime(started));
                status.Persisted(orders.Count);
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException && !cancellationToken.IsCancellationRequested)
            {
                status.Failed(e.Message);
                if (attempt == 1 || attempt % 10 == 0)
                {
                    logger.LogWarning("Writing {Count} orders to PostgreSQL failed (attempt {Attempt}); retrying: {Error}",
                        orders.Count, attempt, e.Message);
                }
                await Task.Delay(StreamConsumerLoop.Backoff(attempt, _options.MaxRetryDelay), cancellationToken)
                    .ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Paid orders go to catalog's best sellers after they are in PostgreSQL and before the entry is acknowledged:
    /// at least once (catalog ignores an order_id it has seen).
    /// </summary>
    private static async Task AnnouncePaidAsync(IDatabaseAsync database, List<OrderRecord> orders)
    {
        foreach (var order in orders.Where(o => o is { Status: Contracts.Orders.V1.OrderStatus.Paid, PaidTime: not null }))
        {
            var paid = new PaidOrder(order.OrderId.ToString("D"), order.ProductId, order.Quantity, order.PaidTime!.Value);
            await PaidOrdersStream.AddAsync(database, paid).ConfigureAwait(false);
        }
    }

    /// <summary>Lag is measured on its own loop, so it keeps growing in the metric while a batch waits for PostgreSQL.</summary>
    private async Task MeasureLoopAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.RegistryRefreshInterval);
        try
        {
            do
            {
                try
                {
                    await MeasureLagAsync(redis.GetDatabase()).ConfigureAwait(false);
                }
                catch (Exception e) when (e is RedisException or TimeoutException)
                {
                    logger.LogDebug("Measuring the order stream lag failed: {Error}", e.Message);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task MeasureLagAsync(IDatabaseAsync database)
    {
        // Entries are deleted once persisted, so a stream's length is exactly what PostgreSQL does not have yet.
        var deals = await registry.ListAsync().ConfigureAwait(false);
        var lengths = await Task.WhenAll(deals.Select(d => database.StreamLengthAsync(OrderKeys.Stream(d))))
            .ConfigureAwait(false);
        var pending = await Task.WhenAll(deals.Select(d => new StreamGroupReader(OrderKeys.Stream(d), OrderKeys.ConsumerGroup,
            ConsumerName, new StreamGroupOptions(1, TimeSpan.Zero, true)).PendingAsync(database))).ConfigureAwait(false);
        var lag = lengths.Sum();
        metrics.StreamLag = lag;
        metrics.StreamPending = pending.Sum();
        status.Measured(deals.Count, lag, pending.Sum());
    }

    private static bool Due(long? last, long now, TimeSpan interval) =>
        last is not { } at || Stopwatch.GetElapsedTime(at, now) >= interval;

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} order stream entries of deal {DealId} were lost in a Redis " +
        "failover before any replica held them; none was answered as accepted, so they are not written to PostgreSQL")]
    private partial void LogLostInFailover(int count, Guid dealId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Claimed {Count} idle order stream entries of deal {DealId}")]
    private partial void LogClaimed(long count, Guid dealId);
}
