using FlashDeal.Contracts.Orders.V1;

namespace FlashDeal.Orders.Model;

/// <summary>A business answer other than success: the reason (an OrderErrorReason value) and its ErrorInfo metadata.</summary>
public sealed record OrderRefusal(OrderErrorReason Reason, string Message, IReadOnlyDictionary<string, string> Metadata)
{
    public static OrderRefusal Of(OrderErrorReason reason, string message, params (string Key, string Value)[] metadata) =>
        new(reason, message, metadata.ToDictionary(m => m.Key, m => m.Value));
}

/// <summary>Carries an <see cref="OrderRefusal"/> out of the domain; Grpc/OrderErrors turns it into a status.</summary>
public sealed class OrderRefusalException(OrderRefusal refusal) : Exception(refusal.Message)
{
    public OrderRefusal Refusal { get; } = refusal;
}

/// <summary>What PlaceOrder produced: an order (new or replayed), or a refusal.</summary>
public readonly record struct PlacementResult(OrderRecord? Order, bool Replayed, OrderRefusal? Refusal)
{
    public static PlacementResult Accepted(OrderRecord order, bool replayed = false) => new(order, replayed, null);

    public static PlacementResult Refused(OrderRefusal refusal) => new(null, false, refusal);
}
