using FlashDeal.Catalog.Infrastructure;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.Data.Redis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace FlashDeal.Catalog.Deals;

/// <summary>
/// The hot deal list: every deal that is neither cancelled nor ended, held in memory so that ListDeals for upcoming,
/// live and sold-out deals — what a sale's visitors browse, thousands of times a second at the opening — reads neither
/// PostgreSQL nor the Redis cache. Only the terms are held; state and remaining stock are computed on every read (the
/// clock moves on: a deal still turns LIVE at its second, and ends at its end).
/// <para>
/// Loaded at start-up (warm before the first visitor) and again every <see cref="CatalogOptions.HotListRefresh"/>.
/// Any replica's write of a deal drops the list at once — this replica's directly, the others' through the
/// <c>deal-updated</c> message on <see cref="DealKeys.UpdatesChannel"/> — and ListDeals reads PostgreSQL until it is
/// reloaded, so a write is never hidden behind the list. When that message is lost (Redis down, a reconnect) another
/// replica's write shows within one refresh. While PostgreSQL is unreachable the last list keeps answering. Off with
/// <c>HotListRefresh</c> = 0 or the read cache off; more than <see cref="MaxDeals"/> current deals turn it off too.
/// </para>
/// </summary>
/// <summary>A deal of the hot list with what every listing compares already parsed (id, product, window), and its version.</summary>
public sealed record CurrentDeal(Deal Deal, Guid DealId, string ProductId, DateTime StartTime, DateTime EndTime, long Version);

public sealed class HotDealList(
    DealStore store, IConnectionMultiplexer redis, IOptions<CatalogOptions> options, TimeProvider time,
    ILogger<HotDealList> logger) : BackgroundService
{
    /// <summary>Above this many current deals the list is not held (ListDeals reads PostgreSQL).</summary>
    public const int MaxDeals = 5_000;

    private readonly TimeSpan _refresh = options.Value.CacheEnabled ? options.Value.HotListRefresh : TimeSpan.Zero;
    private readonly SemaphoreSlim _wake = new(0, 1);
    private volatile CurrentDeal[]? _deals;
    private long _version;

    public bool Enabled => _refresh > TimeSpan.Zero;

    /// <summary>The current deals in listing order (start time, then id); false while not loaded or dropped.</summary>
    public bool TryGet(out IReadOnlyList<CurrentDeal> deals)
    {
        deals = _deals ?? (IReadOnlyList<CurrentDeal>)[];
        return _deals is not null;
    }

    /// <summary>A deal was written: drop the list (reads go to PostgreSQL) and reload it now.</summary>
    public void Invalidate()
    {
        Interlocked.Increment(ref _version);
        _deals = null;
        if (_wake.CurrentCount == 0)
        {
            try
            {
                _wake.Release();
            }
            catch (SemaphoreFullException)
            {
                // Another invalidation woke the loader already.
            }
        }
    }

    /// <summary>Loads the list once (start-up, tests); false when it was dropped meanwhile or is not held.</summary>
    public async Task<bool> LoadAsync(CancellationToken cancellationToken)
    {
        var version = Interlocked.Read(ref _version);
        var rows = await store.ListCurrentAsync(Times.Now(time), MaxDeals + 1, cancellationToken);
        if (rows.Count > MaxDeals || Interlocked.Read(ref _version) != version)
        {
            return false;
        }
        var deals = rows.Select(r => new CurrentDeal(r.Deal, r.DealId, r.Deal.ProductId, Times.ToUtc(r.Deal.StartTime),
            Times.ToUtc(r.Deal.EndTime), r.Version)).ToArray();
        // A write that lands between the check and the store drops it again: versions are compared once more.
        _deals = deals;
        if (Interlocked.Read(ref _version) != version)
        {
            _deals = null;
            return false;
        }
        return true;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Enabled)
        {
            return;
        }
        await SubscribeAsync();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await LoadAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                // PostgreSQL unreachable: the last list (if any) keeps answering; a dropped one stays dropped.
                logger.LogWarning("Could not reload the hot deal list: {Error}", e.Message);
            }
            try
            {
                await _wake.WaitAsync(_refresh, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task SubscribeAsync()
    {
        redis.ConnectionRestored += (_, _) => Invalidate(); // messages sent while disconnected are lost
        try
        {
            await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(DealKeys.UpdatesChannel), (_, _) => Invalidate());
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // The multiplexer subscribes again once Redis is back; until then the refresh bounds how stale the list is.
            logger.LogWarning("Subscribing to deal changes failed; the hot deal list refreshes every {Refresh}: {Error}",
                _refresh, e.Message);
        }
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }
}
