using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace FlashDeal.Orders.Payments;

/// <summary>
/// A fake provider for development and tests; it moves no money. Deterministic: token <c>tok_decline</c> is declined,
/// <c>tok_unavailable</c> fails as if the provider were down, any other token succeeds with a reference derived from
/// order and token (the same charge twice gives the same reference, like a provider's idempotency key).
/// </summary>
public sealed class SandboxPaymentProvider : IPaymentProvider
{
    public const string DeclineToken = "tok_decline";
    public const string UnavailableToken = "tok_unavailable";

    private readonly ConcurrentDictionary<string, PaymentCharge> _charges = new();
    private readonly ConcurrentDictionary<string, bool> _refunds = new();

    /// <summary>Charges taken, by reference (for tests and the local demo).</summary>
    public IReadOnlyDictionary<string, PaymentCharge> Charges => _charges;

    public IReadOnlyCollection<string> Refunds => [.. _refunds.Keys];

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
        var reference = "sandbox_" + Convert.ToHexStringLower(digest)[..24];
        _charges.TryAdd(reference, charge);
        return Task.FromResult(new PaymentResult(PaymentOutcome.Succeeded, reference));
    }

    public Task RefundAsync(string reference, CancellationToken cancellationToken)
    {
        _refunds.TryAdd(reference, true);
        return Task.CompletedTask;
    }
}
