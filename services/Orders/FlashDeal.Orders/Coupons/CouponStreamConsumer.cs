using System.Diagnostics;
using System.Runtime.ExceptionServices;
using FlashDeal.Data.Redis;
using FlashDeal.Orders.Placement;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using StackExchange.Redis;

namespace FlashDeal.Orders.Coupons;

/// <summary>
/// Drains every campaign's coupon stream (<see cref="CouponKeys.Events"/>) into <c>orders.coupons</c>, the way
/// <see cref="Persistence.OrderStreamConsumer"/> drains the order streams: one consumer per replica in the group
/// <see cref="CouponKeys.ConsumerGroup"/>, a batch written in one statement (newest version wins), acknowledged and
/// deleted only after, entries a dead replica left pending claimed after Orders:Stream:ClaimMinIdle. PostgreSQL down:
/// the streams grow, nothing is lost. Under Replica durability a batch is written only once replicas hold it.
/// </summary>
public sealed partial class CouponStreamConsumer(
    IConnectionMultiplexer redis,
    CouponStreamRegistry registry,
    CouponStore store,
    ReplicaAcknowledgement replicas,
    IOptions<OrdersOptions> options,
    ILogger<CouponStreamConsumer> logger) : BackgroundService
{
    private readonly OrderStreamOptions _options = options.Value.Stream;
    private readonly OrderDurability _durability = options.Value.Durability;
    private readonly Dictionary<Guid, StreamGroupReader> _readers = [];
    private IReadOnlyList<Guid> _campaigns = [];
    private long? _registryReadAt;
    private long? _cleanedAt;
    private long? _claimedAt;

    public string ConsumerName { get; } =
        $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}";

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        StreamConsumerLoop.RunAsync("Coupon stream consumer", RunRoundAsync, _options.PollInterval, _options.MaxRetryDelay,
            logger, stoppingToken);

    /// <summary>One pass over every registered campaign; true when any entry was persisted.</summary>
    public async Task<bool> RunRoundAsync(CancellationToken cancellationToken)
    {
        var database = redis.GetDatabase();
        var now = Stopwatch.GetTimestamp();
        if (Due(_registryReadAt, now, _options.RegistryRefreshInterval))
        {
            _campaigns = await registry.ListAsync().ConfigureAwait(false);
            _registryReadAt = now;
        }
        if (Due(_cleanedAt, now, _options.RegistryCleanupInterval))
        {
            _cleanedAt = now;
            foreach (var campaignId in _campaigns)
            {
                if (await registry.RemoveIfFinishedAsync(campaignId).ConfigureAwait(false))
                {
                    _readers.Remove(campaignId);
                }
            }
        }
        var claim = Due(_claimedAt, now, _options.ClaimInterval);
        if (claim)
        {
            _claimedAt = now;
        }
        var worked = false;
        Exception? failed = null;
        foreach (var campaignId in _campaigns)
        {
            try
            {
                worked |= await DrainAsync(database, campaignId, claim, cancellationToken).ConfigureAwait(false) > 0;
            }
            catch (Exception e) when (e is RedisException or TimeoutException or NpgsqlException)
            {
                // One campaign's node failing must not hold up the campaigns on the other nodes.
                failed ??= e;
            }
        }
        if (failed is not null)
        {
            ExceptionDispatchInfo.Throw(failed);
        }
        return worked;
    }

    private async Task<int> DrainAsync(IDatabaseAsync database, Guid campaignId, bool claim, CancellationToken cancellationToken)
    {
        if (!_readers.TryGetValue(campaignId, out var reader))
        {
            _readers[campaignId] = reader = new StreamGroupReader(CouponKeys.Events(campaignId), CouponKeys.ConsumerGroup,
                ConsumerName, new StreamGroupOptions(_options.BatchSize, _options.ClaimMinIdle, DeleteAcknowledged: true));
        }
        var entries = await reader.ReadAsync(database, claim).ConfigureAwait(false);
        if (entries.Count == 0)
        {
            return 0;
        }
        try
        {
            var held = entries;
            if (_durability == OrderDurability.Replica)
            {
                held = await replicas.HeldAsync(CouponKeys.HashTag(campaignId), reader.Stream, entries, cancellationToken)
                    .ConfigureAwait(false);
            }
            var coupons = new List<CouponRecord>(held.Count);
            foreach (var entry in held)
            {
                try
                {
                    coupons.Add(CouponSnapshot.FromStreamEntry(entry.Values));
                }
                catch (FormatException e)
                {
                    // Only a bug writes such an entry; log it rather than block the stream forever.
                    LogMalformed((string?)reader.Stream, (string?)entry.Id, e.Message);
                }
            }
            if (coupons.Count > 0)
            {
                await store.UpsertCouponsAsync(coupons, cancellationToken).ConfigureAwait(false);
            }
            await reader.AcknowledgeAsync(database, [.. entries.Select(e => e.Id)]).ConfigureAwait(false);
        }
        catch
        {
            reader.ReadPendingAgain();
            throw;
        }
        return entries.Count;
    }

    private static bool Due(long? last, long now, TimeSpan interval) =>
        last is not { } at || Stopwatch.GetElapsedTime(at, now) >= interval;

    [LoggerMessage(Level = LogLevel.Error, Message = "Coupon stream {Stream} entry {EntryId} is malformed and skipped: {Error}")]
    private partial void LogMalformed(string? stream, string? entryId, string error);
}
