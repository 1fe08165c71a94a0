using FlashDeal.Data;
using FlashDeal.Orders.Redis;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace FlashDeal.Orders.Lifecycle;

/// <summary>
/// Expires unpaid orders: every ExpirySweepInterval it reads, per registered deal, the order ids whose pay deadline
/// (the score in <see cref="OrderKeys.Deadlines"/>) has passed and runs the expire transition for each. Every replica
/// sweeps; two replicas expiring the same order is harmless, since only the call that finds it pending returns stock.
/// An order whose payment lock ran out without an outcome is never expired blindly: the provider is asked first
/// (<see cref="OrderLifecycle.ExpireAsync"/>), so no paid order expires.
/// </summary>
public sealed class ExpirySweeper(
    IConnectionMultiplexer redis,
    StreamRegistry registry,
    OrderLifecycle lifecycle,
    TimeProvider time,
    IOptions<OrdersOptions> options,
    ILogger<ExpirySweeper> logger) : BackgroundService
{
    private const int BatchSize = 200;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PeriodicPass.RunAsync("Expiry sweep", options.Value.ExpirySweepInterval, time, SweepAsync,
            e => e is RedisException or TimeoutException, logger, stoppingToken);

    /// <summary>One sweep over every registered deal; returns how many orders it expired.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var database = redis.GetDatabase();
        var expired = 0;
        foreach (var dealId in await registry.ListAsync().ConfigureAwait(false))
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                // The local clock only picks candidates; the script decides by the Redis clock.
                var due = await database.SortedSetRangeByScoreAsync(OrderKeys.Deadlines(dealId), double.NegativeInfinity,
                    time.GetUtcNow().ToUnixTimeMilliseconds(), take: BatchSize).ConfigureAwait(false);
                if (due.Length == 0)
                {
                    break;
                }
                var outcomes = await Task.WhenAll(due.Select(id => lifecycle.ExpireAsync(dealId, Guid.Parse((string)id!))))
                    .ConfigureAwait(false);
                expired += outcomes.Count(o => o == "CHANGED");
                // Each other outcome took the order off the deadlines set; only these leave it there.
                // CHECK_PAYMENT (the provider could not be asked) re-scored the order a payment lock later.
                if (due.Length < BatchSize || outcomes.All(o => o is "NOT_DUE" or "PAYING" or "CHECK_PAYMENT"))
                {
                    break;
                }
            }
        }
        return expired;
    }
}
