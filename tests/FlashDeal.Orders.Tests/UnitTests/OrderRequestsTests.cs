using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Orders.Grpc;
using FlashDeal.ServiceDefaults;
using Google.Rpc;
using Grpc.Core;

namespace FlashDeal.Orders.Tests.UnitTests;

public sealed class OrderRequestsTests
{
    private static string[] Violations(Action validate)
    {
        var e = Assert.Throws<RpcException>(validate);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        return [.. e.GetDetail<BadRequest>()!.FieldViolations.Select(v => v.Field)];
    }

    [Fact]
    public void AbsentQuantityMeansOne()
    {
        var (dealId, quantity) = OrderRequests.Validate(
            new PlaceOrderRequest { DealId = "0b7f5c1e-5d0e-4b8a-9a57-1d2c3e4f5a6b", IdempotencyKey = "a_B-9" }, 100);
        Assert.Equal((Guid.Parse("0b7f5c1e-5d0e-4b8a-9a57-1d2c3e4f5a6b"), 1), (dealId, quantity));
    }

    [Theory]
    [InlineData("k:1")]
    [InlineData("ключ")]
    [InlineData(" k")]
    public void IdempotencyKeysAreLimitedToTheSafeAlphabet(string key)
    {
        Assert.Equal(["idempotency_key"], Violations(() => OrderRequests.Validate(
            new PlaceOrderRequest { DealId = Guid.NewGuid().ToString(), IdempotencyKey = key }, 100)));
    }

    [Fact]
    public void ASixtyFourCharacterKeyIsAcceptedAndSixtyFiveIsNot()
    {
        OrderRequests.Validate(new PlaceOrderRequest { DealId = Guid.NewGuid().ToString(), IdempotencyKey = new string('a', 64) }, 100);
        Assert.Equal(["idempotency_key"], Violations(() => OrderRequests.Validate(
            new PlaceOrderRequest { DealId = Guid.NewGuid().ToString(), IdempotencyKey = new string('a', 65) }, 100)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    [InlineData(11)]
    public void QuantityMustBeBetweenOneAndTheMaximum(int quantity)
    {
        Assert.Equal(["quantity"], Violations(() => OrderRequests.Validate(
            new PlaceOrderRequest { DealId = Guid.NewGuid().ToString(), IdempotencyKey = "k", Quantity = quantity }, 10)));
    }

    [Fact]
    public void PageSizeDefaultsToTwentyAndIsCappedAtOneHundred()
    {
        Assert.Equal(20, OrderRequests.Validate(new ListMyOrdersRequest()).PageSize);
        Assert.Equal(100, OrderRequests.Validate(new ListMyOrdersRequest { PageSize = 500 }).PageSize);
        Assert.Equal(["page_size"], Violations(() => OrderRequests.Validate(new ListMyOrdersRequest { PageSize = -1 })));
    }

    [Fact]
    public void PaymentTokensAreRequiredAndBounded()
    {
        var orderId = Guid.NewGuid().ToString();
        Assert.Equal(["payment_token"], Violations(() => OrderRequests.ValidatePay(new PayOrderRequest { OrderId = orderId })));
        Assert.Equal(["payment_token"], Violations(() => OrderRequests.ValidatePay(
            new PayOrderRequest { OrderId = orderId, PaymentToken = new string('t', 513) })));
    }
}
