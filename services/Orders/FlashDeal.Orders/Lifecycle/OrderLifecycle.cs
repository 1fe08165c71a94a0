using System.Security.Cryptography;
using System.Text;
using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Orders.Model;
using FlashDeal.Orders.Payments;
using FlashDeal.Orders.Persistence;
using FlashDeal.Orders.Placement;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace FlashDeal.Orders.Lifecycle;

/// <summary>
/// Pay, cancel and expire. Every status change runs in order_transition.lua, atomically with its effects in Redis
/// (stock and buyer count back, stream snapshot for PostgreSQL, stock-returned message); the payment provider is called
/// between two script calls while a payment lock keeps the order from expiring.
/// </summary>
public sealed class OrderLifecycle(
    IConnectionMultiplexer redis,
    OrderReader reader,
    IPaymentProvider payments,
    ReplicaAcknowledgement replicas,
    IOptions<OrdersOptions> options,
    OrdersMetrics metrics,
    ILogger<OrderLifecycle> logger)
{
    private readonly OrdersOptions _options = options.Value;
    private readonly OrderTransitionScript.Settings _settings = new(options.Value.PaymentLock, options.Value.FinalOrderRetention);

    public async Task<OrderRecord> CancelAsync(Guid orderId, string userId, CancellationToken cancellationToken)
    {
        EnsureRedisStrategy();
        var order = await LocateAsync(orderId, userId, cancellationToken).ConfigureAwait(false);
        var reply = await RunAsync(order.DealId, orderId, TransitionAction.Cancel, userId).ConfigureAwait(false);
        await ConfirmDurableAsync(order.DealId, orderId, reply, cancellationToken).ConfigureAwait(false);
        return reply.Outcome switch
        {
            "CHANGED" or "UNCHANGED" => reply.Order!,
            "NOT_FOUND" => FromStoredState(order, paymentTokenHash: null, cancelling: true),
            _ => throw Refuse(reply.Outcome, orderId),
        };
    }

    /// <summary>Expires one order if its deadline passed (the sweeper; tests call it to race cancellations).</summary>
    public async Task<string> ExpireAsync(Guid dealId, Guid orderId)
    {
        var outcome = (await RunAsync(dealId, orderId, TransitionAction.Expire).ConfigureAwait(false)).Outcome;
        if (outcome == "NOT_FOUND")
        {
            // The hash outlived its retention (or Redis lost it): nothing left to expire here.
            await redis.GetDatabase().SortedSetRemoveAsync(Redis.OrderKeys.Deadlines(dealId), orderId.ToString("D"))
                .ConfigureAwait(false);
        }
        return outcome;
    }

    public async Task<OrderRecord> PayAsync(Guid orderId, string userId, string paymentToken,
        CancellationToken cancellationToken)
    {
        EnsureRedisStrategy();
        var order = await LocateAsync(orderId, userId, cancellationToken).ConfigureAwait(false);
        var tokenHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(paymentToken)));
        var begin = await RunAsync(order.DealId, orderId, TransitionAction.BeginPay, userId, tokenHash).ConfigureAwait(false);
        switch (begin.Outcome)
        {
            case "UNCHANGED":
                return begin.Order!;
            case "NOT_FOUND":
                return FromStoredState(order, tokenHash, cancelling: false);
            case not "PAY":
                throw Refuse(begin.Outcome, orderId);
        }
        order = begin.Order!;

        PaymentResult charge;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.PaymentTimeout);
            charge = await payments.ChargeAsync(new PaymentCharge(orderId, order.TotalCents, order.Currency, paymentToken),
                timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is PaymentProviderUnavailableException or OperationCanceledException or HttpRequestException)
        {
            logger.LogWarning("Payment provider unavailable for order {OrderId}: {Error}", orderId, e.Message);
            await RunAsync(order.DealId, orderId, TransitionAction.AbortPay, userId, tokenHash).ConfigureAwait(false);
            throw new OrderRefusalException(Refusals.PaymentProviderUnavailable(orderId));
        }
        if (charge.Outcome == PaymentOutcome.Declined)
        {
            await RunAsync(order.DealId, orderId, TransitionAction.AbortPay, userId, tokenHash).ConfigureAwait(false);
            throw new OrderRefusalException(Refusals.PaymentDeclined(orderId));
        }

        var complete = await RunAsync(order.DealId, orderId, TransitionAction.CompletePay, userId, tokenHash,
            charge.Reference!).ConfigureAwait(false);
        await ConfirmDurableAsync(order.DealId, orderId, complete, cancellationToken).ConfigureAwait(false);
        if (complete.Outcome is "CHANGED" or "UNCHANGED")
        {
            return complete.Order!;
        }
        // The order stopped waiting for this payment (the lock ran out and it expired): give the money back.
        logger.LogWarning("Order {OrderId} left PENDING_PAYMENT while being charged; refunding {Reference}", orderId,
            charge.Reference);
        await payments.RefundAsync(charge.Reference!, CancellationToken.None).ConfigureAwait(false);
        throw complete.Order is { } current ? Refuse(current.Status, orderId) : Refuse("ORDER_EXPIRED", orderId);
    }

    /// <summary>
    /// Under Replica durability a change is answered only once replicas hold it, as a placement is: otherwise the
    /// outcome is unknown (UNAVAILABLE) and the caller retries, which finds the change made or makes it.
    /// </summary>
    private async Task ConfirmDurableAsync(Guid dealId, Guid orderId, OrderTransitionScript.Reply reply,
        CancellationToken cancellationToken)
    {
        if (_options.Durability == OrderDurability.Replica && reply.Outcome == "CHANGED"
            && !await replicas.ConfirmAsync(dealId, orderId, cancellationToken).ConfigureAwait(false))
        {
            throw new TimeoutException(
                $"The change to order {orderId} was not confirmed on {_options.DurableReplicas} Redis replica(s) within {_options.ReplicaWaitTimeout}.");
        }
    }

    /// <summary>The row-lock baseline only places orders (for benchmarks); their state machine lives in Redis.</summary>
    private void EnsureRedisStrategy()
    {
        if (_options.Strategy != PlacementStrategy.RedisLua)
        {
            throw new NotSupportedException(
                "PayOrder and CancelOrder need Orders:Strategy RedisLua; the PostgresRowLock baseline only places orders.");
        }
    }

    private async Task<OrderRecord> LocateAsync(Guid orderId, string userId, CancellationToken cancellationToken)
    {
        var order = await reader.FindAsync(orderId, cancellationToken).ConfigureAwait(false);
        return order is not null && order.UserId == userId
            ? order
            : throw new OrderRefusalException(Refusals.OrderNotFound(orderId.ToString("D")));
    }

    private async Task<OrderTransitionScript.Reply> RunAsync(Guid dealId, Guid orderId, TransitionAction action,
        string userId = "", string tokenHash = "", string paymentReference = "")
    {
        var reply = await OrderTransitionScript.RunAsync(redis.GetDatabase(), dealId, orderId, action, _settings, userId,
            tokenHash, paymentReference).WaitAsync(_options.RedisTimeout).ConfigureAwait(false);
        if (reply.Outcome == "CHANGED")
        {
            metrics.Transition(action);
        }
        return reply;
    }

    /// <summary>
    /// The Redis hash of a final order is gone after its retention; PostgreSQL then answers. A pending order whose hash
    /// is missing cannot change safely (its stock lives in Redis), which only a lost Redis can cause.
    /// </summary>
    private static OrderRecord FromStoredState(OrderRecord stored, string? paymentTokenHash, bool cancelling) =>
        stored.Status switch
        {
            OrderStatus.Cancelled when cancelling => stored,
            OrderStatus.Paid when paymentTokenHash is not null && stored.PaymentTokenHash == paymentTokenHash => stored,
            OrderStatus.PendingPayment => throw new InvalidOperationException(
                $"Order {stored.OrderId} is pending in PostgreSQL but has no state in Redis."),
            _ => throw Refuse(stored.Status, stored.OrderId),
        };

    private static OrderRefusalException Refuse(OrderStatus status, Guid orderId) => status switch
    {
        OrderStatus.Paid => new(Refusals.OrderAlreadyPaid(orderId)),
        OrderStatus.Cancelled => new(Refusals.OrderCancelled(orderId)),
        OrderStatus.PendingPayment => new(Refusals.PaymentInProgress(orderId)),
        _ => new(Refusals.OrderExpired(orderId)),
    };

    private static OrderRefusalException Refuse(string outcome, Guid orderId) => outcome switch
    {
        "ORDER_ALREADY_PAID" => new(Refusals.OrderAlreadyPaid(orderId)),
        "ORDER_CANCELLED" => new(Refusals.OrderCancelled(orderId)),
        "ORDER_EXPIRED" => new(Refusals.OrderExpired(orderId)),
        "PAYMENT_IN_PROGRESS" => new(Refusals.PaymentInProgress(orderId)),
        _ => throw new InvalidOperationException($"order_transition.lua answered '{outcome}'."),
    };
}
