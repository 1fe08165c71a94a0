using System.Security.Cryptography;
using System.Text;
using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Orders.Model;
using FlashDeal.Orders.Payments;
using FlashDeal.Orders.Persistence;
using FlashDeal.Orders.Placement;
using FlashDeal.Orders.Redis;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace FlashDeal.Orders.Lifecycle;

/// <summary>
/// Pay, cancel (a refund once paid) and expire. Every status change runs in order_transition.lua, atomically with its
/// effects in Redis (stock and buyer count back, stream snapshot for PostgreSQL, stock-returned message); the payment
/// provider is called between two script calls while a payment (or refund) lock marks the order. The settle methods
/// finish what a lock that ran out left open, by asking the provider (ExpirySweeper, PaymentReconciler).
/// </summary>
public sealed class OrderLifecycle(
    IConnectionMultiplexer redis,
    OrderReader reader,
    OrderStore store,
    StreamRegistry registry,
    IPaymentProvider payments,
    ReplicaAcknowledgement replicas,
    IOptions<OrdersOptions> options,
    OrdersMetrics metrics,
    ILogger<OrderLifecycle> logger)
{
    private readonly OrdersOptions _options = options.Value;
    private readonly OrderTransitionScript.Settings _settings =
        new(options.Value.PaymentLock, options.Value.FinalOrderRetention, options.Value.DealKeyRetention);

    /// <summary>
    /// A pending order is cancelled (its units back); a paid one is refunded (<see cref="RefundAsync"/>); a cancelled or
    /// refunded one is answered unchanged. A pending order whose payment lock ran out without an outcome is settled with
    /// the provider first: if the charge went through, the order is paid and then refunded.
    /// </summary>
    public async Task<OrderRecord> CancelAsync(Guid orderId, string userId, CancellationToken cancellationToken)
    {
        EnsureRedisStrategy();
        var order = await LocateAsync(orderId, userId, cancellationToken).ConfigureAwait(false);
        for (var attempt = 1; ; attempt++)
        {
            var reply = await RunAsync(order.DealId, orderId, TransitionAction.Cancel, userId).ConfigureAwait(false);
            switch (reply.Outcome)
            {
                case "CHANGED" or "UNCHANGED":
                    await ConfirmDurableAsync(order.DealId, orderId, reply, cancellationToken).ConfigureAwait(false);
                    return reply.Order!;
                case "NOT_FOUND":
                    return order.Status == OrderStatus.Paid
                        ? await RefundStoredAsync(order, cancellationToken).ConfigureAwait(false)
                        : FromStoredState(order, paymentTokenHash: null, cancelling: true);
                case "ORDER_ALREADY_PAID":
                    return await RefundAsync(order.DealId, orderId, userId, cancellationToken).ConfigureAwait(false);
                case "CHECK_PAYMENT" when attempt < 3:
                    if (!await SettlePaymentAsync(order.DealId, orderId, cancellationToken).ConfigureAwait(false))
                    {
                        throw new OrderRefusalException(Refusals.PaymentInProgress(orderId));
                    }
                    continue;
                case "CHECK_PAYMENT":
                    throw new OrderRefusalException(Refusals.PaymentInProgress(orderId));
                default:
                    throw Refuse(reply.Outcome, orderId);
            }
        }
    }

    /// <summary>
    /// PAID → REFUNDED: begin_refund marks the order, the provider refunds (idempotent per order, so racing or retried
    /// cancels refund once), complete_refund changes the status and, only in the one call that finds the order PAID,
    /// returns the units (while the deal is live) and the buyer's count. Provider unreachable: REFUND_PROVIDER_UNAVAILABLE,
    /// the order stays PAID (PaymentReconciler completes it if the refund did go through).
    /// </summary>
    private async Task<OrderRecord> RefundAsync(Guid dealId, Guid orderId, string userId, CancellationToken cancellationToken)
    {
        var begin = await RunAsync(dealId, orderId, TransitionAction.BeginRefund, userId).ConfigureAwait(false);
        if (begin.Outcome == "UNCHANGED")
        {
            return begin.Order!;
        }
        if (begin.Outcome != "REFUND")
        {
            throw Refuse(begin.Outcome, orderId);
        }
        // The REFUNDED snapshot must reach PostgreSQL even when the deal already left the stream registry; its refund
        // lock (the :refunding set) keeps it from leaving again until complete_refund wrote the snapshot.
        await registry.RegisterAsync(dealId).WaitAsync(_options.RedisTimeout, cancellationToken).ConfigureAwait(false);
        var paid = begin.Order!;
        var reference = await RefundAtProviderAsync(paid, cancellationToken).ConfigureAwait(false);
        var complete = await RunAsync(dealId, orderId, TransitionAction.CompleteRefund, userId, reference: reference)
            .ConfigureAwait(false);
        await ConfirmDurableAsync(dealId, orderId, complete, cancellationToken).ConfigureAwait(false);
        return complete.Outcome is "CHANGED" or "UNCHANGED"
            ? complete.Order!
            : throw new InvalidOperationException($"Order {orderId} was refunded at the provider but is {complete.Order?.Status}.");
    }

    private async Task<string> RefundAtProviderAsync(OrderRecord paid, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.PaymentTimeout);
            return await payments.RefundAsync(
                new PaymentRefund(paid.OrderId, paid.PaymentReference ?? "", paid.TotalCents, paid.Currency), timeout.Token)
                .ConfigureAwait(false);
        }
        catch (Exception e) when (e is PaymentProviderUnavailableException or OperationCanceledException or HttpRequestException)
        {
            logger.LogWarning("Payment provider unavailable for the refund of order {OrderId}: {Error}", paid.OrderId, e.Message);
            throw new OrderRefusalException(Refusals.RefundProviderUnavailable(paid.OrderId));
        }
    }

    /// <summary>
    /// A paid order whose Redis hash is gone (kept until the deal's keys expire, so the deal is long over; or Redis lost
    /// it): refunded at the provider, then PAID → REFUNDED in PostgreSQL alone. No units go back: nobody can buy them.
    /// </summary>
    private async Task<OrderRecord> RefundStoredAsync(OrderRecord paid, CancellationToken cancellationToken)
    {
        var reference = await RefundAtProviderAsync(paid, cancellationToken).ConfigureAwait(false);
        var refunded = await store.MarkRefundedAsync(paid.OrderId, reference, cancellationToken).ConfigureAwait(false);
        metrics.Transition(TransitionAction.CompleteRefund);
        return refunded ?? throw new InvalidOperationException($"Order {paid.OrderId} vanished from PostgreSQL.");
    }

    /// <summary>
    /// Expires one order if its deadline passed (the sweeper; tests call it to race cancellations). An order whose
    /// payment lock ran out without an outcome is settled with the provider first: paid if it was charged (even past
    /// its deadline), else expired. Answers CHECK_PAYMENT when the provider could not be asked (tried again later).
    /// </summary>
    public async Task<string> ExpireAsync(Guid dealId, Guid orderId)
    {
        var outcome = (await RunAsync(dealId, orderId, TransitionAction.Expire).ConfigureAwait(false)).Outcome;
        if (outcome == "CHECK_PAYMENT" && await SettlePaymentAsync(dealId, orderId, CancellationToken.None).ConfigureAwait(false))
        {
            outcome = (await RunAsync(dealId, orderId, TransitionAction.Expire).ConfigureAwait(false)).Outcome;
        }
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
        if (begin.Outcome == "CHECK_PAYMENT")
        {
            // A payment of this order was left without an outcome and its deadline passed: settle it first (paid, or
            // expired now).
            if (!await SettlePaymentAsync(order.DealId, orderId, cancellationToken).ConfigureAwait(false))
            {
                throw new OrderRefusalException(Refusals.PaymentInProgress(orderId));
            }
            begin = await RunAsync(order.DealId, orderId, TransitionAction.BeginPay, userId, tokenHash).ConfigureAwait(false);
        }
        switch (begin.Outcome)
        {
            case "UNCHANGED":
                return begin.Order!;
            case "NOT_FOUND":
                return FromStoredState(order, tokenHash, cancelling: false);
            case "CHECK_PAYMENT":
                throw new OrderRefusalException(Refusals.PaymentInProgress(orderId));
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
        // The order stopped waiting for this payment (the lock ran out; it expired or was cancelled, or another payment
        // took over): the charge is recorded to refund until the provider confirms, unless the order holds it.
        logger.LogWarning("Order {OrderId} stopped waiting while being charged ({Reference})", orderId, charge.Reference);
        await RefundLostChargeAsync(order.DealId, orderId, cancellationToken).ConfigureAwait(false);
        throw complete.Order is { } current ? Refuse(current.Status, orderId) : Refuse("ORDER_EXPIRED", orderId);
    }

    /// <summary>
    /// Records a charge whose order may not hold it in <see cref="OrderKeys.ChargesToRefund"/> and tries to settle it at
    /// once; PaymentReconciler retries whatever stays recorded.
    /// </summary>
    private async Task RefundLostChargeAsync(Guid dealId, Guid orderId, CancellationToken cancellationToken)
    {
        try
        {
            await redis.GetDatabase().SetAddAsync(OrderKeys.ChargesToRefund, LostCharge(dealId, orderId))
                .WaitAsync(_options.RedisTimeout, cancellationToken).ConfigureAwait(false);
            await SettleLostChargeAsync(dealId, orderId, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException or PaymentProviderUnavailableException
            or OperationCanceledException or HttpRequestException or Npgsql.NpgsqlException)
        {
            logger.LogWarning("Refund of the lost charge of order {OrderId} left to the reconciler: {Error}", orderId, e.Message);
        }
    }

    public static string LostCharge(Guid dealId, Guid orderId) => $"{dealId:D}:{orderId:D}";

    /// <summary>
    /// One recorded lost charge: refunded when its order was cancelled or expired (or is nowhere), dropped when the
    /// order is paid or refunded (the charge is the order's), kept while the order is pending. Returns the outcome.
    /// </summary>
    /// <exception cref="PaymentProviderUnavailableException">Left recorded; try again later.</exception>
    public async Task<string> SettleLostChargeAsync(Guid dealId, Guid orderId, CancellationToken cancellationToken)
    {
        var database = redis.GetDatabase();
        var order = await reader.FromRedisAsync(dealId, orderId).ConfigureAwait(false)
            ?? await store.GetAsync(orderId, cancellationToken).ConfigureAwait(false);
        string outcome;
        if (order is { Status: OrderStatus.PendingPayment })
        {
            return "pending";
        }
        if (order is { Status: OrderStatus.Paid or OrderStatus.Refunded })
        {
            outcome = "charge_kept";
        }
        else
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.PaymentTimeout);
            var charge = await payments.FindChargeAsync(orderId, timeout.Token).ConfigureAwait(false);
            if (charge is not null)
            {
                await payments.RefundAsync(new PaymentRefund(orderId, charge.Reference, charge.AmountCents, charge.Currency),
                    timeout.Token).ConfigureAwait(false);
            }
            outcome = charge is null ? "no_charge" : "charge_refunded";
        }
        await database.SetRemoveAsync(OrderKeys.ChargesToRefund, LostCharge(dealId, orderId)).ConfigureAwait(false);
        metrics.Reconciled(outcome);
        return outcome;
    }

    /// <summary>
    /// Settles a payment whose lock ran out without an outcome by asking the provider: charged ⇒ PAID with the charge's
    /// reference (the money was taken, so the order is honoured even past its deadline); not charged ⇒ the lock is
    /// dropped. False when the provider could not be asked.
    /// </summary>
    public async Task<bool> SettlePaymentAsync(Guid dealId, Guid orderId, CancellationToken cancellationToken)
    {
        ChargeStatus? charge;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.PaymentTimeout);
            charge = await payments.FindChargeAsync(orderId, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is PaymentProviderUnavailableException or OperationCanceledException or HttpRequestException)
        {
            logger.LogWarning("Payment provider unavailable to settle the payment of order {OrderId}: {Error}", orderId, e.Message);
            return false;
        }
        var reply = charge is null
            ? await RunAsync(dealId, orderId, TransitionAction.SettleUnpaid).ConfigureAwait(false)
            : await RunAsync(dealId, orderId, TransitionAction.SettlePay, reference: charge.Reference).ConfigureAwait(false);
        if (reply.Outcome == "CHANGED")
        {
            logger.LogInformation("Settled the payment of order {OrderId} left without an outcome: {Outcome}", orderId,
                charge is null ? "not charged" : "charged, now PAID");
            metrics.Reconciled(charge is null ? "payment_not_charged" : "payment_completed");
        }
        return true;
    }

    /// <summary>
    /// Settles a refund whose lock ran out (the process died between the provider and complete_refund, or the provider
    /// did not answer): refunded at the provider ⇒ REFUNDED; not ⇒ the lock is dropped and the order stays PAID, as the
    /// buyer was told. False when the provider could not be asked.
    /// </summary>
    public async Task<bool> SettleRefundAsync(Guid dealId, Guid orderId, CancellationToken cancellationToken)
    {
        string? reference;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.PaymentTimeout);
            reference = await payments.FindRefundAsync(orderId, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is PaymentProviderUnavailableException or OperationCanceledException or HttpRequestException)
        {
            logger.LogWarning("Payment provider unavailable to settle the refund of order {OrderId}: {Error}", orderId, e.Message);
            return false;
        }
        var reply = reference is null
            ? await RunAsync(dealId, orderId, TransitionAction.AbortRefund).ConfigureAwait(false)
            : await RunAsync(dealId, orderId, TransitionAction.CompleteRefund, reference: reference).ConfigureAwait(false);
        if (reply.Outcome == "NOT_FOUND")
        {
            await redis.GetDatabase().SortedSetRemoveAsync(Redis.OrderKeys.Refunding(dealId), orderId.ToString("D"))
                .ConfigureAwait(false);
        }
        else if (reply.Outcome == "CHANGED")
        {
            metrics.Reconciled(reference is null ? "refund_not_issued" : "refund_completed");
        }
        return true;
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
        string userId = "", string tokenHash = "", string reference = "")
    {
        var reply = await OrderTransitionScript.RunAsync(redis.GetDatabase(), dealId, orderId, action, _settings, userId,
            tokenHash, reference).WaitAsync(_options.RedisTimeout).ConfigureAwait(false);
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
            OrderStatus.Cancelled or OrderStatus.Refunded when cancelling => stored,
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
        OrderStatus.Refunded => new(Refusals.OrderRefunded(orderId)),
        _ => new(Refusals.OrderExpired(orderId)),
    };

    private static OrderRefusalException Refuse(string outcome, Guid orderId) => outcome switch
    {
        "ORDER_ALREADY_PAID" => new(Refusals.OrderAlreadyPaid(orderId)),
        "ORDER_CANCELLED" => new(Refusals.OrderCancelled(orderId)),
        "ORDER_EXPIRED" => new(Refusals.OrderExpired(orderId)),
        "PAYMENT_IN_PROGRESS" => new(Refusals.PaymentInProgress(orderId)),
        "ORDER_REFUNDED" => new(Refusals.OrderRefunded(orderId)),
        _ => throw new InvalidOperationException($"order_transition.lua answered '{outcome}'."),
    };
}
