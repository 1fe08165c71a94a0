using FlashDeal.Data.Redis;
using FlashDeal.Orders.Coupons;
using FlashDeal.Orders.Lifecycle;
using FlashDeal.Orders.Placement;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace FlashDeal.Orders.Redis;

/// <summary>
/// SCRIPT LOAD of the service's Lua scripts at start-up, so the first calls already go by SHA. Best effort: if Redis
/// is away, the first call answers NOSCRIPT and <see cref="RedisScript"/> sends the script once more.
/// </summary>
public sealed class ScriptPreloader(IConnectionMultiplexer redis, ILogger<ScriptPreloader> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            foreach (var script in new[] { DealReservationScript.Script, OrderTransitionScript.Script, ClaimCouponScript.Script,
                         CouponRedemptionScript.Script })
            {
                await script.LoadAsync(redis).WaitAsync(TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            logger.LogWarning("Loading the Lua scripts into Redis failed; they load on first use: {Error}", e.Message);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
