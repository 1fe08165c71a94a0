using FlashDeal.Catalog.Infrastructure;
using FlashDeal.Data.Redis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace FlashDeal.Catalog.BestSellers;

/// <summary>
/// Feeds the rankings from the stream the order service appends to when an order is paid (<see cref="PaidOrdersStream"/>),
/// through the consumer group <see cref="PaidOrdersStream.BestSellersGroup"/> (a <see cref="StreamGroupReader"/>): orders
/// never call the catalog. Entries are acknowledged after they are counted; counting is idempotent per order id, so a
/// redelivery (crash before XACK, an entry claimed from a dead replica) counts once.
/// </summary>
public sealed class PaidOrderConsumer(
    RedisGuard redis, BestSellers bestSellers, IOptions<CatalogOptions> options, TimeProvider time,
    ILogger<PaidOrderConsumer> logger) : BackgroundService
{
    private const int BatchSize = 100;

    private readonly CatalogOptions _options = options.Value;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private DateTimeOffset _nextClaim = DateTimeOffset.MinValue;

    // Stable across restarts of the same pod process slot, so a restarted replica re-reads its own pending entries.
    private readonly StreamGroupReader _reader = new(PaidOrdersStream.Key, PaidOrdersStream.BestSellersGroup,
        $"{Environment.MachineName}-{Environment.ProcessId}",
        new StreamGroupOptions(BatchSize, options.Value.PaidOrdersClaimIdle, DeleteAcknowledged: false));

    /// <summary>
    /// Counts every entry available now (this consumer's unacknowledged ones first after a start, then new ones, and
    /// entries other consumers left idle too long). Returns how many were acknowledged. Throws when Redis fails.
    /// </summary>
    public async Task<int> ConsumeAsync()
    {
        await _gate.WaitAsync();
        try
        {
            var acknowledged = 0;
            var claim = time.GetUtcNow() >= _nextClaim;
            if (claim)
            {
                _nextClaim = time.GetUtcNow() + _options.PaidOrdersClaimIdle;
            }
            IReadOnlyList<StreamEntry> entries;
            do
            {
                entries = await _reader.ReadAsync(redis.Database, claim).WaitAsync(_options.RedisTimeout);
                claim = false;
                acknowledged += await CountAndAcknowledgeAsync(entries);
            }
            while (entries.Count >= BatchSize);
            return acknowledged;
        }
        finally
        {
            _gate.Release();
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        StreamConsumerLoop.RunAsync("Paid-order stream consumer", async _ => await ConsumeAsync() > 0,
            _options.PaidOrdersPollInterval, _options.RedisBreakDuration, logger, stoppingToken);

    private async Task<int> CountAndAcknowledgeAsync(IReadOnlyList<StreamEntry> entries)
    {
        if (entries.Count == 0)
        {
            return 0;
        }
        foreach (var entry in entries)
        {
            if (PaidOrdersStream.Parse(entry) is { } paid && Ids.TryParse(paid.ProductId, out var productId))
            {
                await bestSellers.RecordPaidAsync(productId, paid.Quantity, paid.PaidAt, paid.OrderId);
            }
            else
            {
                logger.LogWarning("Paid-order entry {EntryId} is malformed and was skipped", (string?)entry.Id);
            }
        }
        await _reader.AcknowledgeAsync(redis.Database, [.. entries.Select(e => e.Id)]).WaitAsync(_options.RedisTimeout);
        return entries.Count;
    }
}
