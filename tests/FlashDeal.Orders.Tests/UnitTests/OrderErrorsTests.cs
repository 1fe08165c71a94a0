using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Orders.Grpc;
using FlashDeal.Orders.Model;
using FlashDeal.ServiceDefaults;
using Google.Rpc;
using Grpc.Core;

namespace FlashDeal.Orders.Tests.UnitTests;

public sealed class OrderErrorsTests
{
    [Theory]
    [InlineData(OrderErrorReason.DealNotFound, StatusCode.NotFound)]
    [InlineData(OrderErrorReason.OrderNotFound, StatusCode.NotFound)]
    [InlineData(OrderErrorReason.SoldOut, StatusCode.FailedPrecondition)]
    [InlineData(OrderErrorReason.DealNotStarted, StatusCode.FailedPrecondition)]
    [InlineData(OrderErrorReason.PerUserLimitReached, StatusCode.FailedPrecondition)]
    [InlineData(OrderErrorReason.IdempotencyKeyMismatch, StatusCode.InvalidArgument)]
    [InlineData(OrderErrorReason.RateLimited, StatusCode.ResourceExhausted)]
    [InlineData(OrderErrorReason.PaymentProviderUnavailable, StatusCode.Unavailable)]
    [InlineData(OrderErrorReason.PaymentInProgress, StatusCode.Aborted)]
    public void EachReasonHasTheCodeTheProtoDocuments(OrderErrorReason reason, StatusCode code) =>
        Assert.Equal(code, OrderErrors.CodeOf(reason));

    [Fact]
    public void TheReasonIsTheEnumValueNameWithMetadata()
    {
        var dealId = Guid.NewGuid();
        var e = OrderErrors.ToRpcException(Refusals.InsufficientStock(dealId, 2));

        var info = e.GetDetail<ErrorInfo>()!;
        Assert.Equal(("INSUFFICIENT_STOCK", "orders.flashdeal.dev"), (info.Reason, info.Domain));
        Assert.Equal(dealId.ToString(), info.Metadata["deal_id"]);
        Assert.Equal("2", info.Metadata["remaining_stock"]);
    }

    [Fact]
    public void TimesInMetadataAreRfc3339Utc() =>
        Assert.Equal("2030-02-01T10:00:00.250Z",
            Refusals.Rfc3339(new DateTimeOffset(2030, 2, 1, 11, 0, 0, 250, TimeSpan.FromHours(1))));

    [Fact]
    public void InfrastructureFailuresAreUnavailableAndOthersAreLeftAlone()
    {
        Assert.Equal(StatusCode.Unavailable, OrderErrors.Translate(new TimeoutException())!.StatusCode);
        Assert.Null(OrderErrors.Translate(new InvalidOperationException()));
    }
}
