namespace FlashDeal.Contracts.Events.V1;

/// <summary>
/// The Redis side of the domain events contract (docs/events.md), beside the <see cref="Event"/> message it carries:
/// the stream names and the fields of each entry. Producers (orders' EventRelay) and consumers use these, never literals.
/// </summary>
public static class EventStreams
{
    /// <summary>STREAM of order events (OrderPlaced, OrderPaid, OrderCancelled, OrderExpired, OrderRefunded).</summary>
    public const string Orders = "flashdeal:events:orders";

    /// <summary>STREAM of coupon events (CouponClaimed, CouponRedeemed, CouponReleased).</summary>
    public const string Coupons = "flashdeal:events:coupons";

    public static IReadOnlyList<string> All { get; } = [Orders, Coupons];

    /// <summary>Entry field: the payload's full protobuf name, e.g. "flashdeal.events.v1.OrderPaid".</summary>
    public const string TypeField = "type";

    /// <summary>Entry field: the order id or coupon id the event is about.</summary>
    public const string KeyField = "key";

    /// <summary>Entry field: the serialized <see cref="Event"/> (its sequence equals the entry id's first part).</summary>
    public const string EventField = "event";

    /// <summary>The entry id of the event with this sequence: "&lt;sequence&gt;-0".</summary>
    public static string EntryId(long sequence) => $"{sequence}-0";

    /// <summary>The sequence of an entry id written by the relay ("&lt;sequence&gt;-0"); 0 for "0-0" or none.</summary>
    public static long SequenceOf(string? entryId)
    {
        if (string.IsNullOrEmpty(entryId))
        {
            return 0;
        }
        var dash = entryId.IndexOf('-', StringComparison.Ordinal);
        return long.Parse(dash < 0 ? entryId : entryId[..dash], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The payload's full name (the entry's <see cref="TypeField"/>).</summary>
    public static string TypeOf(Event message) => message.PayloadCase switch
    {
        Event.PayloadOneofCase.OrderPlaced => OrderPlaced.Descriptor.FullName,
        Event.PayloadOneofCase.OrderPaid => OrderPaid.Descriptor.FullName,
        Event.PayloadOneofCase.OrderCancelled => OrderCancelled.Descriptor.FullName,
        Event.PayloadOneofCase.OrderExpired => OrderExpired.Descriptor.FullName,
        Event.PayloadOneofCase.OrderRefunded => OrderRefunded.Descriptor.FullName,
        Event.PayloadOneofCase.CouponClaimed => CouponClaimed.Descriptor.FullName,
        Event.PayloadOneofCase.CouponRedeemed => CouponRedeemed.Descriptor.FullName,
        Event.PayloadOneofCase.CouponReleased => CouponReleased.Descriptor.FullName,
        _ => throw new ArgumentException("The event has no payload.", nameof(message)),
    };
}
