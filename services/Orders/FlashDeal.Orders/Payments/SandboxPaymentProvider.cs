using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace FlashDeal.Orders.Payments;

/// <summary>
/// A fake provider for development and tests; it moves no money. Deterministic: token <c>tok_decline</c> is declined,
/// <c>tok_unavailable</c> fails as if the provider were down, any other token succeeds with a reference derived from
/// order and token. Like a provider's idempotency key, the order id makes charges and refunds happen once: a second
/// charge of the same order answers the first one's reference, a second refund the first refund's reference.
/// </summary>
public sealed class SandboxPaymentProvider : IPaymentProvider
{
    public const string DeclineToken = "tok_decline";
    public const string UnavailableToken = "tok_unavailable";

    private readonly ConcurrentDictionary<Guid, (string Reference, PaymentCharge Charge)> _byOrder = new();
    private readonly ConcurrentDictionary<string, PaymentCharge> _charges = new();
    private readonly ConcurrentDictionary<Guid, string> _refunds = new();
    private long _refundRequests;

    /// <summary>Charges taken, by reference (for tests and the local demo).</summary>
    public IReadOnlyDictionary<string, PaymentCharge> Charges => _charges;

    /// <summary>Distinct refunds issued: order id → refund reference.</summary>
    public IReadOnlyDictionary<Guid, string> Refunds => _refunds;

    /// <summary>Every RefundAsync call that reached the provider, repeats included.</summary>
    public long RefundRequests => Interlocked.Read(ref _refundRequests);

    /// <summary>While true, refunds and lookups fail as if the provider were down (tests of the unavailable path).</summary>
    public bool RefundsUnavailable { get; set; }

    public Task<PaymentResult> ChargeAsync(PaymentCharge charge, CancellationToken cancellationToken)
    {
        switch (charge.PaymentToken)
        {
            case DeclineToken:
                return Task.FromResult(new PaymentResult(PaymentOutcome.Declined));
            case UnavailableToken:
                throw new PaymentProviderUnavailableException("Sandbox provider: unavailable (tok_unavailable).");
        }
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes($"{charge.OrderId:D}|{charge.PaymentToken}"));
        var taken = _byOrder.GetOrAdd(charge.OrderId, _ => ("sandbox_" + Convert.ToHexStringLower(digest)[..24], charge));
        _charges.TryAdd(taken.Reference, taken.Charge);
        return Task.FromResult(new PaymentResult(PaymentOutcome.Succeeded, taken.Reference));
    }

    public Task<string> RefundAsync(PaymentRefund refund, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _refundRequests);
        if (RefundsUnavailable)
        {
            throw new PaymentProviderUnavailableException("Sandbox provider: refunds unavailable.");
        }
        if (!_byOrder.TryGetValue(refund.OrderId, out var charge) || charge.Reference != refund.PaymentReference)
        {
            throw new InvalidOperationException($"Sandbox provider: no charge {refund.PaymentReference} for order {refund.OrderId}.");
        }
        return Task.FromResult(_refunds.GetOrAdd(refund.OrderId, _ => "refund_" + charge.Reference["sandbox_".Length..]));
    }

    public Task<ChargeStatus?> FindChargeAsync(Guid orderId, CancellationToken cancellationToken)
    {
        if (RefundsUnavailable)
        {
            throw new PaymentProviderUnavailableException("Sandbox provider: lookups unavailable.");
        }
        return Task.FromResult(_byOrder.TryGetValue(orderId, out var taken)
            ? new ChargeStatus(taken.Reference, taken.Charge.AmountCents, taken.Charge.Currency)
            : null);
    }

    public Task<string?> FindRefundAsync(Guid orderId, CancellationToken cancellationToken)
    {
        if (RefundsUnavailable)
        {
            throw new PaymentProviderUnavailableException("Sandbox provider: lookups unavailable.");
        }
        return Task.FromResult(_refunds.TryGetValue(orderId, out var reference) ? reference : null);
    }
}
