using FlashDeal.Catalog.Infrastructure;
using Microsoft.Extensions.Options;

namespace FlashDeal.Catalog.Deals;

/// <summary>
/// Every <see cref="CatalogOptions.StockMetricsInterval"/> reads the remaining stock of each open deal from Redis (the
/// order path's own counter, one script call per deal) for the per-deal gauges of <see cref="CatalogMetrics"/>, and
/// notes the first pass that saw a deal at zero as its sell-out time (seconds since the deal's start; a pass's
/// resolution). The list of open deals comes from PostgreSQL every <see cref="ListInterval"/> and whenever a listed
/// deal's start or end has passed since. Each catalog replica does this; dashboards take the max.
/// </summary>
public sealed class DealStockMonitor(
    DealStore store, DealStockReader stock, CatalogMetrics metrics, IOptions<CatalogOptions> options, TimeProvider time,
    ILogger<DealStockMonitor> logger) : BackgroundService
{
    /// <summary>A deal created since the last listing appears within this long.</summary>
    public static readonly TimeSpan ListInterval = TimeSpan.FromSeconds(5);

    private readonly CatalogOptions _options = options.Value;
    private List<DealRow> _open = [];
    private DateTime _listedAt = DateTime.MinValue;
    private DateTime _nextChange = DateTime.MaxValue;

    /// <summary>One pass (tests call it directly).</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var now = Times.Now(time);
        if (now - _listedAt >= ListInterval || now >= _nextChange)
        {
            // Deals that opened already, plus the next interval's openings so a start is noticed within one pass.
            var rows = await store.ListOpeningAsync(now, now + ListInterval, cancellationToken);
            _open = rows.Where(r => !r.Cancelled).ToList();
            _listedAt = now;
            _nextChange = _open.Select(r => r.StartTime > now ? r.StartTime : r.EndTime).DefaultIfEmpty(DateTime.MaxValue).Min();
        }
        var previous = metrics.LiveDeals;
        var live = new Dictionary<Guid, CatalogMetrics.LiveDeal>();
        foreach (var row in _open.Where(r => r.StartTime <= now && r.EndTime > now))
        {
            var reading = await stock.ReadAsync(row.DealId);
            var remaining = reading.Remaining ?? row.Deal.Stock;
            var sellOut = previous.TryGetValue(row.DealId, out var seen) ? seen.SellOutSeconds : null;
            if (sellOut is null && reading.Live && remaining == 0)
            {
                sellOut = Math.Max(0, (reading.Now - row.StartTime).TotalSeconds);
            }
            live[row.DealId] = new CatalogMetrics.LiveDeal(row.DealId, remaining, row.Deal.Stock, sellOut);
        }
        metrics.SetLiveDeals(live);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_options.StockMetricsInterval <= TimeSpan.Zero)
        {
            return;
        }
        using var timer = new PeriodicTimer(_options.StockMetricsInterval, time);
        do
        {
            try
            {
                await RefreshAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Deal stock metrics pass failed ({Error}); next in {Interval}", e.GetType().Name,
                    _options.StockMetricsInterval);
                _listedAt = DateTime.MinValue;
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
