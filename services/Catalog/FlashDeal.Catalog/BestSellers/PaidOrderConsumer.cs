using System.Globalization;
using FlashDeal.Catalog.Infrastructure;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace FlashDeal.Catalog.BestSellers;

/// <summary>
/// Feeds the rankings from the stream the order service appends to when an order is paid
/// (<c>XADD flashdeal:orders:paid * order_id … product_id … quantity … paid_at_ms …</c>), through the consumer group
/// <c>catalog-bestsellers</c>: orders never call the catalog. Entries are acknowledged after they are counted; counting
/// is idempotent per order id, so a redelivery (crash before XACK, an entry claimed from a dead replica) counts once.
/// StackExchange.Redis 1.2.6 has no stream API and a blocking XREADGROUP would stall the shared connection, so the
/// stream is polled with plain commands.
/// </summary>
public sealed class PaidOrderConsumer(
    RedisGuard redis, BestSellers bestSellers, IOptions<CatalogOptions> options, TimeProvider time,
    ILogger<PaidOrderConsumer> logger) : BackgroundService
{
    public const string Stream = "flashdeal:orders:paid";
    public const string Group = "catalog-bestsellers";
    private const int BatchSize = 100;

    private readonly CatalogOptions _options = options.Value;
    // Stable across restarts of the same pod process slot, so a restarted replica re-reads its own pending entries.
    private readonly string _consumer = $"{Environment.MachineName}-{Environment.ProcessId}";
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _groupReady;
    private bool _pendingChecked;
    private DateTimeOffset _nextClaim = DateTimeOffset.MinValue;

    /// <summary>
    /// Counts every entry available now (this consumer's unacknowledged ones first, then new ones, then entries other
    /// consumers left idle too long). Returns how many were acknowledged. Throws when Redis fails.
    /// </summary>
    public async Task<int> ConsumeAsync()
    {
        await _gate.WaitAsync();
        try
        {
            var db = redis.Database;
            if (!_groupReady)
            {
                await CreateGroupAsync(db);
                _groupReady = true;
                _pendingChecked = false;
            }
            var acknowledged = 0;
            if (!_pendingChecked)
            {
                acknowledged += await ReadAsync(db, "0");
                _pendingChecked = true;
            }
            int read;
            do
            {
                read = await ReadAsync(db, ">");
                acknowledged += read;
            }
            while (read == BatchSize);
            if (time.GetUtcNow() >= _nextClaim)
            {
                acknowledged += await ClaimAsync(db);
                _nextClaim = time.GetUtcNow() + _options.PaidOrdersClaimIdle;
            }
            return acknowledged;
        }
        catch (Exception e)
        {
            // Unacknowledged entries may remain from this batch: read them first next time. NOGROUP means the stream
            // was deleted (FLUSHALL, a Redis that restarted empty): create the group again.
            _pendingChecked = false;
            _groupReady &= !(e is RedisServerException && e.Message.StartsWith("NOGROUP", StringComparison.Ordinal));
            throw;
        }
        finally
        {
            _gate.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failing = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ConsumeAsync();
                if (failing)
                {
                    logger.LogInformation("Paid-order stream {Stream} readable again", Stream);
                }
                failing = false;
            }
            catch (Exception e)
            {
                // Never let a failure end the loop: a dead BackgroundService would stop the host.
                if (!failing)
                {
                    logger.LogWarning(e, "Paid-order stream {Stream} not consumed; retrying", Stream);
                }
                failing = true;
            }
            try
            {
                await Task.Delay(failing ? _options.RedisBreakDuration : _options.PaidOrdersPollInterval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task CreateGroupAsync(IDatabase db)
    {
        try
        {
            // From the start of the stream: paid orders recorded before the first catalog deployment count too.
            await WithTimeout(db.ExecuteAsync("XGROUP", "CREATE", (RedisKey)Stream, Group, "0", "MKSTREAM"));
        }
        catch (RedisServerException e) when (e.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
            // Another replica (or an earlier run) created it.
        }
    }

    private async Task<int> ReadAsync(IDatabase db, string from)
    {
        var reply = await WithTimeout(db.ExecuteAsync("XREADGROUP", "GROUP", Group, _consumer, "COUNT", BatchSize,
            "STREAMS", (RedisKey)Stream, from));
        if (reply.IsNull)
        {
            return 0;
        }
        var streams = (RedisResult[])reply!;
        var entries = (RedisResult[])((RedisResult[])streams[0]!)[1]!;
        return await CountAndAcknowledgeAsync(db, entries);
    }

    private async Task<int> ClaimAsync(IDatabase db)
    {
        var reply = (RedisResult[])(await WithTimeout(db.ExecuteAsync("XAUTOCLAIM", (RedisKey)Stream, Group, _consumer,
            (long)_options.PaidOrdersClaimIdle.TotalMilliseconds, "0-0", "COUNT", BatchSize)))!;
        return await CountAndAcknowledgeAsync(db, (RedisResult[])reply[1]!);
    }

    private async Task<int> CountAndAcknowledgeAsync(IDatabase db, RedisResult[] entries)
    {
        if (entries.Length == 0)
        {
            return 0;
        }
        var ids = new List<string>(entries.Length);
        foreach (var entry in entries)
        {
            var parts = (RedisResult[])entry!;
            var id = (string)parts[0]!;
            // A pending entry deleted from the stream comes back without fields: nothing to count.
            if (!parts[1].IsNull && Parse(id, (RedisResult[])parts[1]!) is { } paid)
            {
                await bestSellers.RecordPaidAsync(paid.ProductId, paid.Quantity, paid.PaidAt, paid.OrderId);
            }
            ids.Add(id);
        }
        await WithTimeout(db.ExecuteAsync("XACK", [(RedisKey)Stream, Group, .. ids]));
        return ids.Count;
    }

    private PaidOrder? Parse(string entryId, RedisResult[] fields)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < fields.Length; i += 2)
        {
            values[(string)fields[i]!] = (string)fields[i + 1]!;
        }
        var orderId = values.GetValueOrDefault("order_id");
        if (string.IsNullOrEmpty(orderId) || !Ids.TryParse(values.GetValueOrDefault("product_id"), out var productId)
            || !int.TryParse(values.GetValueOrDefault("quantity"), NumberStyles.None, CultureInfo.InvariantCulture, out var quantity)
            || quantity <= 0)
        {
            logger.LogWarning("Paid-order entry {EntryId} is malformed and was skipped", entryId);
            return null;
        }
        var paidAt = long.TryParse(values.GetValueOrDefault("paid_at_ms"), NumberStyles.None, CultureInfo.InvariantCulture,
            out var ms) ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : time.GetUtcNow();
        return new PaidOrder(orderId, productId, quantity, paidAt);
    }

    private Task<T> WithTimeout<T>(Task<T> task) => task.WaitAsync(_options.RedisTimeout);

    private sealed record PaidOrder(string OrderId, Guid ProductId, int Quantity, DateTimeOffset PaidAt);
}
