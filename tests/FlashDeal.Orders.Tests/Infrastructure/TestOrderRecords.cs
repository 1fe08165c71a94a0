using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Orders.Model;

namespace FlashDeal.Orders.Tests;

/// <summary>
/// An order row as the stream consumer persists it, for tests that write PostgreSQL directly: one unit at 5.00 EUR of
/// a deal of its own, pay deadline in ten minutes, paid or cancelled now when its status says so.
/// </summary>
public static class TestOrderRecords
{
    public static OrderRecord Order(string userId, OrderStatus status = OrderStatus.PendingPayment) => new()
    {
        OrderId = Guid.CreateVersion7(),
        UserId = userId,
        DealId = Guid.NewGuid(),
        ProductId = "p",
        ProductName = "n",
        DealTitle = "t",
        Quantity = 1,
        UnitPriceCents = 500,
        Currency = "EUR",
        Status = status,
        IdempotencyKey = "k",
        CreateTime = DateTimeOffset.UtcNow,
        PayDeadline = DateTimeOffset.UtcNow.AddMinutes(10),
        PaidTime = status == OrderStatus.Paid ? DateTimeOffset.UtcNow : null,
        CancelTime = status == OrderStatus.Cancelled ? DateTimeOffset.UtcNow : null,
    };
}
