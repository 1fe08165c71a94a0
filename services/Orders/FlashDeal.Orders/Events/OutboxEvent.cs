using FlashDeal.Contracts.Events.V1;
using Google.Protobuf;

namespace FlashDeal.Orders.Events;

/// <summary>
/// One domain event to record in <c>orders.event_outbox</c>. (Subject, Type, Cause) identifies the state change: a second
/// append of the same triple is ignored, so snapshots applied twice never emit twice.
/// </summary>
/// <param name="Stream">One of <see cref="EventStreams"/>.</param>
/// <param name="Subject">The order id or coupon id (the entry's <c>key</c>).</param>
/// <param name="Cause">Tells apart repeats of one subject's event type ("" when it happens once per subject; the order id
/// for CouponRedeemed/CouponReleased).</param>
/// <param name="Message">The event, without its sequence (the outbox assigns it).</param>
public sealed record OutboxEvent(string Stream, string Subject, string Cause, Event Message)
{
    public string Type { get; } = EventStreams.TypeOf(Message);

    public DateTimeOffset Time => Message.Time.ToDateTimeOffset();

    public byte[] Payload => Message.ToByteArray();
}
