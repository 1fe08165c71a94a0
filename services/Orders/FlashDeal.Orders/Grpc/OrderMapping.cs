using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Orders.Model;
using Google.Protobuf.WellKnownTypes;

namespace FlashDeal.Orders.Grpc;

public static class OrderMapping
{
    public static Order ToProto(this OrderRecord order)
    {
        var proto = new Order
        {
            OrderId = order.OrderId.ToString("D"),
            UserId = order.UserId,
            DealId = order.DealId.ToString("D"),
            ProductId = order.ProductId,
            ProductName = order.ProductName,
            DealTitle = order.DealTitle,
            Quantity = order.Quantity,
            UnitPriceCents = order.UnitPriceCents,
            TotalCents = order.TotalCents,
            Currency = order.Currency,
            Status = order.Status,
            CreateTime = Timestamp.FromDateTimeOffset(order.CreateTime),
            PayDeadline = Timestamp.FromDateTimeOffset(order.PayDeadline),
            IdempotencyKey = order.IdempotencyKey,
            PaymentReference = order.PaymentReference ?? "",
            RefundReference = order.RefundReference ?? "",
            CouponId = order.CouponId ?? "",
            DiscountCents = order.DiscountCents,
        };
        if (order.PaidTime is { } paid)
        {
            proto.PaidTime = Timestamp.FromDateTimeOffset(paid);
        }
        if (order.CancelTime is { } cancelled)
        {
            proto.CancelTime = Timestamp.FromDateTimeOffset(cancelled);
        }
        if (order.RefundTime is { } refunded)
        {
            proto.RefundTime = Timestamp.FromDateTimeOffset(refunded);
        }
        return proto;
    }
}
