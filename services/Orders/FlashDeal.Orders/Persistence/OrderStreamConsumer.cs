using System.Diagnostics;
using System.Globalization;
using FlashDeal.Orders.Model;
using FlashDeal.Orders.Redis;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using StackExchange.Redis;

namespace FlashDeal.Orders.Persistence;

/// <summary>
/// Drains every deal's order stream (<see cref="OrderKeys.Stream"/>) into PostgreSQL. Each replica is one consumer of
/// the group <see cref="OrderKeys.ConsumerGroup"/>: it reads batches of new entries (and, every ClaimInterval, takes
/// over entries another consumer left pending longer than ClaimMinIdle: that replica is presumed dead), writes each
/// batch in one transaction, announces paid orders on <see cref="OrderKeys.PaidStream"/>, and only then acknowledges
/// and deletes the entries. PostgreSQL down: the batch is retried with backoff and the streams grow; nothing is lost.
/// </summary>
public sealed partial class OrderStreamConsumer(
    IConnectionMultiplexer redis,
    StreamRegistry registry,
    OrderStore store,
    OrderStreamStatus status,
    OrdersMetrics metrics,
    TimeProvider time,
    IOptions<OrdersOptions> options,
    ILogger<OrderStreamConsumer> logger) : BackgroundService
{
    private readonly OrderStreamOptions _options = options.Value.Stream;
    private readonly HashSet<Guid> _groupsCreated = [];
    private IReadOnlyList<Guid> _deals = [];
    private long? _registryReadAt;
    private long? _cleanedAt;
    private long? _claimedAt;

    /// <summary>Unique per process, so a restarted replica's leftovers are claimed like a dead one's.</summary>
    public string ConsumerName { get; } =
        $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}";

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(DrainLoopAsync(stoppingToken), MeasureLoopAsync(stoppingToken));

    private async Task DrainLoopAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var worked = await RunRoundAsync(stoppingToken).ConfigureAwait(false);
                failures = 0;
                if (!worked)
                {
                    await Task.Delay(_options.PollInterval, stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                failures++;
                if (failures == 1 || failures % 20 == 0)
                {
                    logger.LogWarning("Order stream consumer cannot reach Redis ({Failures} attempts): {Error}", failures,
                        e.Message);
                }
                await Delay(failures, stoppingToken).ConfigureAwait(false);
            }
        }
    }

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
        foreach (var dealId in _deals)
        {
            worked |= await DrainAsync(database, dealId, claim, cancellationToken).ConfigureAwait(false) > 0;
        }
        return worked;
    }

    private async Task<int> DrainAsync(IDatabaseAsync database, Guid dealId, bool claim, CancellationToken cancellationToken)
    {
        var stream = OrderKeys.Stream(dealId);
        if (!_groupsCreated.Contains(dealId))
        {
            await StreamCommands.CreateGroupAsync(database, stream, OrderKeys.ConsumerGroup).ConfigureAwait(false);
            _groupsCreated.Add(dealId);
        }
        var entries = new List<StreamEntry>();
        try
        {
            if (claim)
            {
                var claimed = await StreamCommands.ClaimIdleAsync(database, stream, OrderKeys.ConsumerGroup, ConsumerName,
                    _options.ClaimMinIdle, _options.BatchSize).ConfigureAwait(false);
                if (claimed.Count > 0)
                {
                    LogClaimed(claimed.Count, dealId);
                    entries.AddRange(claimed);
                }
            }
            entries.AddRange(await StreamCommands.ReadNewAsync(database, stream, OrderKeys.ConsumerGroup, ConsumerName,
                _options.BatchSize).ConfigureAwait(false));
        }
        catch (RedisServerException e) when (e.Message.StartsWith("NOGROUP", StringComparison.Ordinal))
        {
            // Redis lost the group (restart without persistence): create it again on the next round.
            _groupsCreated.Remove(dealId);
            return 0;
        }
        if (entries.Count == 0)
        {
            return 0;
        }

        var orders = new List<OrderRecord>(entries.Count);
        foreach (var entry in entries)
        {
            try
            {
                orders.Add(OrderSnapshot.FromFlatArray(entry.Fields));
            }
            catch (FormatException e)
            {
                // Only a bug writes such an entry; keep it for inspection rather than block the stream forever.
                logger.LogError("Order stream {Stream} entry {EntryId} is malformed and moved aside: {Error}",
                    (string?)stream, entry.Id, e.Message);
                await database.ExecuteAsync("XADD", OrderKeys.DeadLetters(dealId), "*", "entry_id", entry.Id,
                    "error", e.Message).ConfigureAwait(false);
            }
        }
        if (orders.Count > 0)
        {
            await PersistAsync(orders, cancellationToken).ConfigureAwait(false);
            await AnnouncePaidAsync(database, orders).ConfigureAwait(false);
        }
        await StreamCommands.AcknowledgeAndDeleteAsync(database, stream, OrderKeys.ConsumerGroup, entries.Select(e => e.Id))
            .ConfigureAwait(false);
        return entries.Count;
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
                _groupsCreated.Remove(dealId);
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
                await Delay(attempt, cancellationToken).ConfigureAwait(false);
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
            await StreamCommands.AddAsync(database, OrderKeys.PaidStream,
                ("order_id", order.OrderId.ToString("D")),
                ("product_id", order.ProductId),
                ("quantity", order.Quantity.ToString(CultureInfo.InvariantCulture)),
                ("paid_at_ms", order.PaidTime!.Value.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)))
                .ConfigureAwait(false);
        }
    }

    /// <summary>Lag is measured on its own loop, so it keeps growing in the metric while a batch waits for PostgreSQL.</summary>
    private async Task MeasureLoopAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.RegistryRefreshInterval);
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

    private async Task MeasureLagAsync(IDatabaseAsync database)
    {
        // Entries are deleted once persisted, so a stream's length is exactly what PostgreSQL does not have yet.
        var deals = await registry.ListAsync().ConfigureAwait(false);
        var lengths = await Task.WhenAll(deals.Select(d => StreamCommands.LengthAsync(database, OrderKeys.Stream(d))))
            .ConfigureAwait(false);
        var pending = await Task.WhenAll(deals.Select(d => PendingAsync(database, d))).ConfigureAwait(false);
        var lag = lengths.Sum();
        metrics.StreamLag = lag;
        metrics.StreamPending = pending.Sum();
        status.Measured(deals.Count, lag, pending.Sum());
    }

    private static async Task<long> PendingAsync(IDatabaseAsync database, Guid dealId)
    {
        try
        {
            var byConsumer = await StreamCommands.PendingByConsumerAsync(database, OrderKeys.Stream(dealId),
                OrderKeys.ConsumerGroup).ConfigureAwait(false);
            return byConsumer.Values.Sum();
        }
        catch (RedisServerException e) when (e.Message.StartsWith("NOGROUP", StringComparison.Ordinal))
        {
            return 0;
        }
    }

    private static bool Due(long? last, long now, TimeSpan interval) =>
        last is not { } at || Stopwatch.GetElapsedTime(at, now) >= interval;

    private Task Delay(int attempt, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(Math.Min(_options.MaxRetryDelay.TotalMilliseconds,
            50 * Math.Pow(2, Math.Min(attempt, 10))));
        return Task.Delay(delay, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Claimed {Count} idle order stream entries of deal {DealId}")]
    private partial void LogClaimed(int count, Guid dealId);
}
