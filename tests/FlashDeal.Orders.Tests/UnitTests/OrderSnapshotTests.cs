using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Orders.Redis;

namespace FlashDeal.Orders.Tests.UnitTests;

public sealed class OrderSnapshotTests
{
    private static Dictionary<string, string> Fields() => new()
    {
        ["order_id"] = "01900000-0000-7000-8000-000000000001",
        ["user_id"] = "u",
        ["deal_id"] = "0b7f5c1e-5d0e-4b8a-9a57-1d2c3e4f5a6b",
        ["product_id"] = "p",
        ["product_name"] = "n",
        ["deal_title"] = "t",
        ["quantity"] = "2",
        ["unit_price_cents"] = "1999",
        ["currency"] = "USD",
        ["status"] = "PAID",
        ["idempotency_key"] = "k",
        ["create_ms"] = "1700000000000",
        ["pay_deadline_ms"] = "1700000600000",
        ["paid_ms"] = "1700000001000",
        ["payment_reference"] = "sandbox_x",
        ["paying_until_ms"] = "1",
    };

    [Fact]
    public void ReadsEveryFieldAndIgnoresPaymentLockFields()
    {
        var order = OrderSnapshot.FromFields(Fields());

        Assert.Equal(OrderStatus.Paid, order.Status);
        Assert.Equal(3998, order.TotalCents);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1700000001000), order.PaidTime);
        Assert.Null(order.CancelTime);
        Assert.Null(order.PaymentTokenHash);
        Assert.Equal("sandbox_x", order.PaymentReference);
    }

    [Fact]
    public void ReadsARefundAndWhetherItReturnedTheUnits()
    {
        var fields = Fields();
        fields["status"] = "REFUNDED";
        fields["refund_ms"] = "1700000002000";
        fields["refund_reference"] = "refund_x";
        fields["refunding_until_ms"] = "1";

        var returned = OrderSnapshot.FromFields(new Dictionary<string, string>(fields) { ["stock_returned"] = "1" });
        var kept = OrderSnapshot.FromFields(new Dictionary<string, string>(fields) { ["stock_returned"] = "0" });

        Assert.Equal(OrderStatus.Refunded, returned.Status);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1700000002000), returned.RefundTime);
        Assert.Equal("refund_x", returned.RefundReference);
        Assert.True(returned.StockReturned);
        Assert.False(kept.StockReturned);
        Assert.True(returned.IsFinal);
        Assert.False(OrderSnapshot.FromFields(Fields()).IsFinal);
        Assert.False(OrderSnapshot.FromFields(Fields()).StockReturned);
    }

    [Fact]
    public void AMissingFieldIsAFormatError()
    {
        var fields = Fields();
        fields.Remove("quantity");
        var e = Assert.Throws<FormatException>(() => OrderSnapshot.FromFields(fields));
        Assert.Contains("quantity", e.Message);
    }
}
