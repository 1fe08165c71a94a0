using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace FlashDeal.Data.Redis;

/// <summary>
/// The loop every stream consumer runs: one round after another, a pause after a round that found nothing, and backoff
/// (doubling up to a ceiling) while Redis or the round's own dependency fails, logging the first failure and every
/// twentieth. It never ends on an error: a finished BackgroundService would leave the stream undrained.
/// </summary>
public static class StreamConsumerLoop
{
    /// <param name="round">One pass; true when it did work (the next round starts at once).</param>
    public static async Task RunAsync(string name, Func<CancellationToken, Task<bool>> round, TimeSpan pollInterval,
        TimeSpan maxRetryDelay, ILogger logger, CancellationToken stoppingToken)
    {
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var worked = await round(stoppingToken).ConfigureAwait(false);
                if (failures > 0)
                {
                    logger.LogInformation("{Consumer}: working again after {Failures} failed rounds", name, failures);
                }
                failures = 0;
                if (!worked)
                {
                    await Task.Delay(pollInterval, stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                failures++;
                if (failures == 1 || failures % 20 == 0)
                {
                    logger.LogWarning("{Consumer}: round failed ({Failures} in a row), retrying: {Error}", name, failures,
                        e is RedisException or TimeoutException ? e.Message : e.ToString());
                }
                try
                {
                    await Task.Delay(Backoff(failures, maxRetryDelay), stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>50 ms doubling per attempt, at most <paramref name="max"/>.</summary>
    public static TimeSpan Backoff(int attempt, TimeSpan max) =>
        TimeSpan.FromMilliseconds(Math.Min(max.TotalMilliseconds, 50 * Math.Pow(2, Math.Min(attempt, 10))));
}
