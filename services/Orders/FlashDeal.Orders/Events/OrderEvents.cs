using FlashDeal.Contracts.Events.V1;
using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Orders.Grpc;
using FlashDeal.Orders.Model;
using Google.Protobuf.WellKnownTypes;

namespace FlashDeal.Orders.Events;

/// <summary>
/// The order events a batch of snapshots implies. Events follow from the status an order reached, not from which
/// snapshot arrived: PLACED always, PAID for PAID and REFUNDED, then CANCELLED, EXPIRED or REFUNDED; each order's in the
/// canonical order (placed &lt; paid &lt; refunded, placed &lt; cancelled | expired). Appending the whole chain every time,
/// with the outbox ignoring what it holds, makes a batch applied twice, by two consumers at once, or a pending snapshot
/// after the final one emit nothing more and never out of order. Each event carries the order as it was at that change.
/// </summary>
public static class OrderEvents
{
    public static List<OutboxEvent> Implied(IEnumerable<OrderRecord> snapshots)
    {
        // The furthest snapshot per order (every snapshot's chain is a prefix of the furthest one's).
        var furthest = new Dictionary<Guid, OrderRecord>();
        foreach (var snapshot in snapshots)
        {
            if (!furthest.TryGetValue(snapshot.OrderId, out var seen) || Stage(snapshot.Status) > Stage(seen.Status))
            {
                furthest[snapshot.OrderId] = snapshot;
            }
        }
        var events = new List<OutboxEvent>();
        foreach (var order in furthest.Values.OrderBy(o => o.CreateTime).ThenBy(o => o.OrderId))
        {
            events.AddRange(Chain(order));
        }
        return events;
    }

    /// <summary>The events of one order up to its status, in canonical order.</summary>
    public static IEnumerable<OutboxEvent> Chain(OrderRecord order)
    {
        var subject = order.OrderId.ToString("D");
        yield return Event(subject, order.CreateTime, new Event { OrderPlaced = new OrderPlaced { Order = Placed(order) } });
        switch (order.Status)
        {
            case OrderStatus.Paid or OrderStatus.Refunded:
                yield return Event(subject, order.PaidTime ?? order.CreateTime,
                    new Event { OrderPaid = new OrderPaid { Order = Paid(order) } });
                if (order.Status == OrderStatus.Refunded)
                {
                    yield return Event(subject, order.RefundTime ?? order.PaidTime ?? order.CreateTime,
                        new Event { OrderRefunded = new OrderRefunded { Order = order.ToProto(), StockReturned = order.StockReturned } });
                }
                break;
            case OrderStatus.Cancelled:
                yield return Event(subject, order.CancelTime ?? order.CreateTime,
                    new Event { OrderCancelled = new OrderCancelled { Order = order.ToProto() } });
                break;
            case OrderStatus.Expired:
                yield return Event(subject, order.CancelTime ?? order.PayDeadline,
                    new Event { OrderExpired = new OrderExpired { Order = order.ToProto() } });
                break;
        }
    }

    /// <summary>The order at placement: pending, no payment, cancellation or refund.</summary>
    private static Order Placed(OrderRecord order)
    {
        var proto = order.ToProto();
        proto.Status = OrderStatus.PendingPayment;
        proto.PaidTime = null;
        proto.PaymentReference = "";
        proto.CancelTime = null;
        proto.RefundTime = null;
        proto.RefundReference = "";
        return proto;
    }

    /// <summary>The order when it was paid: no refund yet.</summary>
    private static Order Paid(OrderRecord order)
    {
        var proto = order.ToProto();
        proto.Status = OrderStatus.Paid;
        proto.RefundTime = null;
        proto.RefundReference = "";
        return proto;
    }

    private static OutboxEvent Event(string subject, DateTimeOffset time, Event message)
    {
        message.Time = Timestamp.FromDateTimeOffset(time);
        return new OutboxEvent(EventStreams.Orders, subject, "", message);
    }

    private static int Stage(OrderStatus status) => status switch
    {
        OrderStatus.PendingPayment => 0,
        OrderStatus.Paid => 1,
        OrderStatus.Refunded => 2,
        _ => 1,
    };
}
