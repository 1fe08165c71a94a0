using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace FlashDeal.Orders.Payments;

/// <summary>
/// A fake provider for development and tests; it moves no money. Deterministic: token <c>tok_decline</c> is declined,
/// <c>tok_unavailable</c> fails as if the provider were down, any other token succeeds with a reference derived from
/// order and token. Like a provider's idempotency key, the order id makes charges and refunds happen once: a second
/// charge of the same order answers the first one's reference, a second refund the first refund's reference.
/// <para>
/// Like a real provider it is one ledger for every replica: the service's instance keeps it in Redis
/// (<see cref="LedgerKey"/>), so a refund or a reconciliation on one replica finds the charge another one took. An
/// instance made without Redis (tests) keeps it in memory. <see cref="Charges"/>, <see cref="Refunds"/> and
/// <see cref="RefundRequests"/> show what this instance did.
/// </para>
/// </summary>
public sealed class SandboxPaymentProvider(IConnectionMultiplexer? redis = null) : IPaymentProvider
{
    public const string DeclineToken = "tok_decline";
    public const string UnavailableToken = "tok_unavailable";

    /// <summary>HASH of the shared ledger: "charge:&lt;order_id&gt;" → "reference|amount|currency", "refund:&lt;order_id&gt;" → reference.</summary>
    public const string LedgerKey = "flashdeal:sandbox-payments";

    private readonly ConcurrentDictionary<Guid, (string Reference, PaymentCharge Charge)> _byOrder = new();
    private readonly ConcurrentDictionary<string, PaymentCharge> _charges = new();
    private readonly ConcurrentDictionary<Guid, string> _refunds = new();
    private long _refundRequests;

    /// <summary>Charges taken through this instance, by reference (for tests and the local demo).</summary>
    public IReadOnlyDictionary<string, PaymentCharge> Charges => _charges;

    /// <summary>Distinct refunds issued through this instance: order id → refund reference.</summary>
    public IReadOnlyDictionary<Guid, string> Refunds => _refunds;

    /// <summary>Every RefundAsync call that reached this instance, repeats included.</summary>
    public long RefundRequests => Interlocked.Read(ref _refundRequests);

    /// <summary>While true, refunds and lookups fail as if the provider were down (tests of the unavailable path).</summary>
    public bool RefundsUnavailable { get; set; }

    public async Task<PaymentResult> ChargeAsync(PaymentCharge charge, CancellationToken cancellationToken)
    {
        switch (charge.PaymentToken)
        {
            case DeclineToken:
                return new PaymentResult(PaymentOutcome.Declined);
            case UnavailableToken:
                throw new PaymentProviderUnavailableException("Sandbox provider: unavailable (tok_unavailable).");
        }
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes($"{charge.OrderId:D}|{charge.PaymentToken}"));
        var reference = "sandbox_" + Convert.ToHexStringLower(digest)[..24];
        if (redis is not null)
        {
            // The first charge of an order wins, on whichever replica it ran.
            var field = $"charge:{charge.OrderId:D}";
            var entry = string.Create(CultureInfo.InvariantCulture, $"{reference}|{charge.AmountCents}|{charge.Currency}");
            await Ledger.HashSetAsync(LedgerKey, field, entry, When.NotExists).ConfigureAwait(false);
            reference = ParseCharge((string?)await Ledger.HashGetAsync(LedgerKey, field).ConfigureAwait(false))!.Reference;
        }
        var taken = _byOrder.GetOrAdd(charge.OrderId, _ => (reference, charge));
        _charges.TryAdd(taken.Reference, taken.Charge);
        return new PaymentResult(PaymentOutcome.Succeeded, taken.Reference);
    }

    public async Task<string> RefundAsync(PaymentRefund refund, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _refundRequests);
        if (RefundsUnavailable)
        {
            throw new PaymentProviderUnavailableException("Sandbox provider: refunds unavailable.");
        }
        var charge = await FindChargeAsync(refund.OrderId, cancellationToken).ConfigureAwait(false);
        if (charge is null || charge.Reference != refund.PaymentReference)
        {
            throw new InvalidOperationException($"Sandbox provider: no charge {refund.PaymentReference} for order {refund.OrderId}.");
        }
        var reference = "refund_" + charge.Reference["sandbox_".Length..];
        if (redis is not null)
        {
            var field = $"refund:{refund.OrderId:D}";
            await Ledger.HashSetAsync(LedgerKey, field, reference, When.NotExists).ConfigureAwait(false);
            reference = (string?)await Ledger.HashGetAsync(LedgerKey, field).ConfigureAwait(false) ?? reference;
        }
        return _refunds.GetOrAdd(refund.OrderId, reference);
    }

    public async Task<ChargeStatus?> FindChargeAsync(Guid orderId, CancellationToken cancellationToken)
    {
        if (RefundsUnavailable)
        {
            throw new PaymentProviderUnavailableException("Sandbox provider: lookups unavailable.");
        }
        if (redis is not null)
        {
            return ParseCharge((string?)await Ledger.HashGetAsync(LedgerKey, $"charge:{orderId:D}").ConfigureAwait(false));
        }
        return _byOrder.TryGetValue(orderId, out var taken)
            ? new ChargeStatus(taken.Reference, taken.Charge.AmountCents, taken.Charge.Currency)
            : null;
    }

    public async Task<string?> FindRefundAsync(Guid orderId, CancellationToken cancellationToken)
    {
        if (RefundsUnavailable)
        {
            throw new PaymentProviderUnavailableException("Sandbox provider: lookups unavailable.");
        }
        if (redis is not null)
        {
            return (string?)await Ledger.HashGetAsync(LedgerKey, $"refund:{orderId:D}").ConfigureAwait(false);
        }
        return _refunds.TryGetValue(orderId, out var reference) ? reference : null;
    }

    private IDatabase Ledger => redis!.GetDatabase();

    private static ChargeStatus? ParseCharge(string? entry)
    {
        if (entry is null)
        {
            return null;
        }
        var parts = entry.Split('|');
        return new ChargeStatus(parts[0], long.Parse(parts[1], CultureInfo.InvariantCulture), parts[2]);
    }
}
