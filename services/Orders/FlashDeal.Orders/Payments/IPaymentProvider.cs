namespace FlashDeal.Orders.Payments;

/// <summary>One charge: the order is the provider-side idempotency key, so a retried charge is never taken twice.</summary>
public sealed record PaymentCharge(Guid OrderId, long AmountCents, string Currency, string PaymentToken);

public enum PaymentOutcome
{
    Succeeded,
    Declined,
}

public sealed record PaymentResult(PaymentOutcome Outcome, string? Reference = null);

/// <summary>The provider could not be reached or did not answer: nothing was charged.</summary>
public sealed class PaymentProviderUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Charges and refunds through a payment provider.</summary>
public interface IPaymentProvider
{
    /// <exception cref="PaymentProviderUnavailableException">Nothing was charged; the caller may retry.</exception>
    Task<PaymentResult> ChargeAsync(PaymentCharge charge, CancellationToken cancellationToken);

    /// <summary>Gives back a charge whose order could not take it (it expired while the charge was running).</summary>
    Task RefundAsync(string reference, CancellationToken cancellationToken);
}
