namespace FlashDeal.Orders.Payments;

/// <summary>One charge: the order is the provider-side idempotency key, so a retried charge is never taken twice.</summary>
public sealed record PaymentCharge(Guid OrderId, long AmountCents, string Currency, string PaymentToken);

public enum PaymentOutcome
{
    Succeeded,
    Declined,
}

public sealed record PaymentResult(PaymentOutcome Outcome, string? Reference = null);

/// <summary>A charge the provider holds for an order (reconciliation asks by order id).</summary>
public sealed record ChargeStatus(string Reference, long AmountCents, string Currency);

/// <summary>Gives back an order's charge: the order is the provider-side idempotency key, so a retried or raced refund
/// is issued once and answers the same reference.</summary>
public sealed record PaymentRefund(Guid OrderId, string PaymentReference, long AmountCents, string Currency);

/// <summary>The provider could not be reached or did not answer: the outcome is unknown to the caller (nothing was
/// charged for a charge; for a refund, reconciliation asks the provider later).</summary>
public sealed class PaymentProviderUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Charges and refunds through a payment provider, and answers what it holds for an order.</summary>
public interface IPaymentProvider
{
    /// <exception cref="PaymentProviderUnavailableException">Nothing was charged; the caller may retry.</exception>
    Task<PaymentResult> ChargeAsync(PaymentCharge charge, CancellationToken cancellationToken);

    /// <summary>Refunds the order's charge, once per order however often it is asked; returns the refund reference.</summary>
    /// <exception cref="PaymentProviderUnavailableException">The refund may or may not have been issued.</exception>
    Task<string> RefundAsync(PaymentRefund refund, CancellationToken cancellationToken);

    /// <summary>The charge taken for the order, or null when there is none.</summary>
    Task<ChargeStatus?> FindChargeAsync(Guid orderId, CancellationToken cancellationToken);

    /// <summary>The reference of the order's refund, or null when none was issued.</summary>
    Task<string?> FindRefundAsync(Guid orderId, CancellationToken cancellationToken);
}
