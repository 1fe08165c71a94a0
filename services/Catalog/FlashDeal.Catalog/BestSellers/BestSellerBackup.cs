using Microsoft.Extensions.Options;

namespace FlashDeal.Catalog.BestSellers;

/// <summary>Copies the top of every ranking window to PostgreSQL every <see cref="CatalogOptions.BestSellerBackupInterval"/>.</summary>
public sealed class BestSellerBackup(
    BestSellers bestSellers, BestSellerStore store, IOptions<CatalogOptions> options, TimeProvider time,
    ILogger<BestSellerBackup> logger) : BackgroundService
{
    private readonly CatalogOptions _options = options.Value;

    /// <summary>One pass; false when Redis was unavailable (the previous copy stays).</summary>
    public async Task<bool> BackUpAsync(CancellationToken cancellationToken)
    {
        foreach (var window in BestSellerKeys.Windows)
        {
            if (await bestSellers.TopAsync(window, _options.BestSellerBackupSize) is not { } ranking)
            {
                return false;
            }
            await store.ReplaceAsync(window, ranking, cancellationToken);
        }
        return true;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.BestSellerBackupInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                if (!await BackUpAsync(stoppingToken))
                {
                    logger.LogDebug("Best-seller backup skipped: Redis unavailable");
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(e, "Best-seller backup failed; next attempt in {Interval}", _options.BestSellerBackupInterval);
            }
        }
    }
}
