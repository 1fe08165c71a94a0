using FlashDeal.Catalog.Infrastructure;
using Microsoft.Extensions.Options;

namespace FlashDeal.Catalog.Deals;

/// <summary>
/// Warms what a deal's first visitors read, on every replica, in the last <see cref="CatalogOptions.WarmBefore"/>
/// before it opens: once a second it writes each opening deal's GetDeal cache entry (<c>catalog:deal:&lt;id&gt;</c>) to
/// live until <see cref="CatalogOptions.CacheTtl"/> after the opening, so the reads at the opening second are hits even
/// when nobody read the deal in the last minute. The deal list needs nothing more: <see cref="HotDealList"/> holds every
/// current deal from its creation on and computes the state on each read, so the deal moves from upcoming to live at its
/// second. Writing every second rather than once repairs an entry lost to a write's delete, a flush or an eviction within
/// a second. The deals come from the hot list or, while it is not held, from PostgreSQL.
/// <para>
/// An entry written from terms read before a write would outlive that write's delete (the cache-aside race, here with
/// a TTL past the opening), so each pass checks the deals' versions in PostgreSQL after writing and deletes an entry
/// whose deal changed meanwhile; a write committed after the check deletes the entry itself.
/// </para>
/// </summary>
public sealed class DealOpeningWarmer(
    HotDealList current, DealStore store, DealCache cache, IOptions<CatalogOptions> options, TimeProvider time,
    ILogger<DealOpeningWarmer> logger) : BackgroundService
{
    private readonly TimeSpan _lead = options.Value.CacheEnabled ? options.Value.WarmBefore : TimeSpan.Zero;
    private readonly TimeSpan _ttl = options.Value.CacheTtl;

    public bool Enabled => _lead > TimeSpan.Zero;

    /// <summary>One pass; returns how many deals were warmed (it stops at the first Redis failure).</summary>
    public async Task<int> WarmAsync(CancellationToken cancellationToken)
    {
        var now = Times.Now(time);
        var opening = current.TryGet(out var deals)
            ? deals.Where(d => d.StartTime > now && d.StartTime <= now + _lead)
                .Select(d => (d.DealId, d.Deal, d.StartTime, d.Version)).ToList()
            : (await store.ListOpeningAsync(now, now + _lead, cancellationToken))
                .Where(r => !r.Cancelled && r.StartTime > now).Select(r => (r.DealId, r.Deal, r.StartTime, r.Version)).ToList();
        var written = new List<(Guid DealId, long Version)>();
        foreach (var (dealId, deal, start, version) in opening)
        {
            if (!await cache.WarmAsync(dealId, deal, start - now + _ttl))
            {
                break;
            }
            written.Add((dealId, version));
        }
        if (written.Count == 0)
        {
            return 0;
        }
        var versions = await store.GetVersionsAsync([.. written.Select(w => w.DealId)], cancellationToken);
        var warmed = 0;
        foreach (var (dealId, version) in written)
        {
            if (versions.GetValueOrDefault(dealId) == version)
            {
                warmed++;
            }
            else
            {
                await cache.InvalidateAsync(dealId);
            }
        }
        return warmed;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Enabled)
        {
            return;
        }
        // A pass a second (or twice per lead when that is shorter): the entry is in place at least a second early.
        var tick = TimeSpan.FromTicks(Math.Min(TimeSpan.TicksPerSecond, _lead.Ticks / 2));
        using var timer = new PeriodicTimer(tick, time);
        do
        {
            try
            {
                await WarmAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Warming opening deals failed; next attempt in {Tick}: {Error}", tick, e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
