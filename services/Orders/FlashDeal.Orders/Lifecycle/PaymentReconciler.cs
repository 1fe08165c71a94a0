using FlashDeal.Data;
using FlashDeal.Orders.Redis;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace FlashDeal.Orders.Lifecycle;

/// <summary>
/// Settles, every PaymentReconcileInterval, what the window between the provider and the script left open: charges
/// recorded in <see cref="OrderKeys.ChargesToRefund"/> (taken for orders that had left PENDING_PAYMENT) are refunded
/// until the provider confirms, and refunds whose lock ran out (<see cref="OrderKeys.Refunding"/>) are completed or
/// dropped by asking the provider. Payments whose lock ran out are settled by the expiry sweeper at the order's
/// deadline (<see cref="OrderLifecycle.ExpireAsync"/>), or by the buyer's next pay or cancel. Every replica runs it;
/// each step is idempotent (the provider's refunds are per order, the script changes an order once).
/// </summary>
public sealed class PaymentReconciler(
    IConnectionMultiplexer redis,
    StreamRegistry registry,
    OrderLifecycle lifecycle,
    TimeProvider time,
    IOptions<OrdersOptions> options,
    ILogger<PaymentReconciler> logger) : BackgroundService
{
    private const int BatchSize = 200;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PeriodicPass.RunAsync("Payment reconciliation", options.Value.PaymentReconcileInterval, time, RunOnceAsync,
            e => e is RedisException or TimeoutException or Npgsql.NpgsqlException, logger, stoppingToken);

    /// <summary>One pass; returns how many lost charges and refund locks it settled.</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        var database = redis.GetDatabase();
        var settled = 0;
        foreach (var member in await database.SetRandomMembersAsync(OrderKeys.ChargesToRefund, BatchSize).ConfigureAwait(false))
        {
            var parts = ((string)member!).Split(':');
            if (parts.Length != 2 || !Guid.TryParse(parts[0], out var dealId) || !Guid.TryParse(parts[1], out var orderId))
            {
                await database.SetRemoveAsync(OrderKeys.ChargesToRefund, member).ConfigureAwait(false);
                continue;
            }
            try
            {
                if (await lifecycle.SettleLostChargeAsync(dealId, orderId, cancellationToken).ConfigureAwait(false) != "pending")
                {
                    settled++;
                }
            }
            catch (Exception e) when (e is Payments.PaymentProviderUnavailableException or OperationCanceledException
                or HttpRequestException && !cancellationToken.IsCancellationRequested)
            {
                logger.LogWarning("Refund of the lost charge of order {OrderId} failed; retrying later: {Error}", orderId, e.Message);
            }
        }
        foreach (var dealId in await registry.ListAsync().ConfigureAwait(false))
        {
            var lapsed = await database.SortedSetRangeByScoreAsync(OrderKeys.Refunding(dealId), double.NegativeInfinity,
                time.GetUtcNow().ToUnixTimeMilliseconds(), take: BatchSize).ConfigureAwait(false);
            foreach (var id in lapsed)
            {
                if (await lifecycle.SettleRefundAsync(dealId, Guid.Parse((string)id!), cancellationToken).ConfigureAwait(false))
                {
                    settled++;
                }
            }
        }
        return settled;
    }
}
