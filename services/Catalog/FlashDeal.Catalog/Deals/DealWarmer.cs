using FlashDeal.Catalog.Infrastructure;
using Microsoft.Extensions.Options;

namespace FlashDeal.Catalog.Deals;

/// <summary>
/// Rewrites the Redis config of every deal that opens within <see cref="CatalogOptions.WarmAhead"/> or is open,
/// every <see cref="CatalogOptions.WarmInterval"/>, so the order path finds it even after Redis lost it (restart,
/// flush, a write that failed while Redis was down). Stock is created only for deals that have not opened yet: once
/// a deal may have sold, recreating its counter would hand out units again.
/// </summary>
public sealed class DealWarmer(
    DealStore store, DealConfigWriter config, IOptions<CatalogOptions> options, TimeProvider time, ILogger<DealWarmer> logger)
    : BackgroundService
{
    /// <summary>A deal this close to opening counts as open: clocks of replicas and Redis differ a little.</summary>
    private static readonly TimeSpan OpeningMargin = TimeSpan.FromSeconds(2);

    private readonly CatalogOptions _options = options.Value;

    /// <summary>One pass; returns how many configs were written.</summary>
    public async Task<int> WarmAsync(CancellationToken cancellationToken)
    {
        var now = Times.Now(time);
        var rows = await store.ListOpeningAsync(now, now + _options.WarmAhead, cancellationToken);
        var written = 0;
        foreach (var row in rows)
        {
            var mode = row.StartTime - now > OpeningMargin ? StockMode.IfMissing : StockMode.Never;
            if (!await config.WriteAsync(row, mode, publish: false))
            {
                break;
            }
            written++;
        }
        return written;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.WarmInterval, time);
        do
        {
            try
            {
                var written = await WarmAsync(stoppingToken);
                logger.LogDebug("Warmed {Count} deal config(s)", written);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(e, "Deal warm-up failed; next attempt in {Interval}", _options.WarmInterval);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
