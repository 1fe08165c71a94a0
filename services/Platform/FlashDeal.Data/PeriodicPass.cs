using Microsoft.Extensions.Logging;

namespace FlashDeal.Data;

/// <summary>
/// The loop of a background job that runs one pass every interval (expiry sweeps, reconciliation): a pass that fails
/// with a transient error is logged (the first failure and every thirtieth in a row) and the next tick tries again;
/// any other error ends the job, as a bug should. Ends when the host stops.
/// </summary>
public static class PeriodicPass
{
    public static async Task RunAsync(string name, TimeSpan interval, TimeProvider time,
        Func<CancellationToken, Task> pass, Func<Exception, bool> transient, ILogger logger, CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval, time);
        var failures = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await pass(stoppingToken).ConfigureAwait(false);
                    failures = 0;
                }
                catch (Exception e) when (transient(e) && !stoppingToken.IsCancellationRequested)
                {
                    if (failures++ % 30 == 0)
                    {
                        logger.LogWarning("{Job} failed: {Error}", name, e.Message);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
