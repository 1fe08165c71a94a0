using FlashDeal.Contracts.Coupons.V1;
using FlashDeal.Orders.Coupons;
using FlashDeal.Orders.Grpc;
using FlashDeal.ServiceDefaults;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;

namespace FlashDeal.Orders.Tests.UnitTests;

/// <summary>CreateCampaign's validation, the discount math and the coupon id format: pure rules, no servers.</summary>
public sealed class CouponRulesTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 24, 9, 0, 0, TimeSpan.Zero);

    private static Campaign Valid() => new()
    {
        Name = "Christmas",
        PercentOff = 20,
        TotalQuantity = 100,
        StartTime = Timestamp.FromDateTimeOffset(Start),
        EndTime = Timestamp.FromDateTimeOffset(Start.AddHours(1)),
    };

    private static string[] Violations(Campaign? campaign)
    {
        var e = Assert.Throws<RpcException>(() =>
            CouponRequests.Validate(new CreateCampaignRequest { Campaign = campaign }, TimeSpan.FromDays(7)));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        return [.. e.GetDetail<BadRequest>()!.FieldViolations.Select(v => v.Field).Distinct().Order()];
    }

    [Fact]
    public void AValidCampaignRedeemsUntilAWeekAfterItsEndByDefault()
    {
        var campaign = CouponRequests.Validate(new CreateCampaignRequest { Campaign = Valid() }, TimeSpan.FromDays(7));
        Assert.Equal((20, (long?)null, "", Start.AddHours(1).AddDays(7)),
            (campaign.PercentOff, campaign.AmountOffCents, campaign.Currency, campaign.RedeemBefore));
    }

    [Fact]
    public void EveryMistakeIsNamedByItsField()
    {
        var campaign = Valid();
        campaign.Name = new string('x', 201);
        campaign.PercentOff = 101;
        campaign.Currency = "USD";
        campaign.TotalQuantity = 1_000_001;
        campaign.EndTime = campaign.StartTime;
        campaign.RedeemBefore = Timestamp.FromDateTimeOffset(Start.AddMinutes(-1));
        campaign.DealId = "nope";

        Assert.Equal(
            ["campaign.currency", "campaign.deal_id", "campaign.end_time", "campaign.name", "campaign.percent_off",
             "campaign.redeem_before", "campaign.total_quantity"],
            Violations(campaign));
    }

    [Fact]
    public void AnAmountNeedsACurrencyCodeAndAtLeastOneCent()
    {
        var campaign = Valid();
        campaign.AmountOffCents = 0;
        Assert.Equal(["campaign.amount_off_cents", "campaign.currency"], Violations(campaign));
        campaign.AmountOffCents = 500;
        campaign.Currency = "usd";
        Assert.Equal(["campaign.currency"], Violations(campaign));
        campaign.Currency = "EUR";
        Assert.Equal(500, CouponRequests.Validate(new CreateCampaignRequest { Campaign = campaign }, TimeSpan.Zero).AmountOffCents);
    }

    [Fact]
    public void MissingPiecesAreRequired()
    {
        Assert.Equal(["campaign"], Violations(null));
        Assert.Equal(["campaign.end_time", "campaign.name", "campaign.percent_off", "campaign.start_time",
            "campaign.total_quantity"], Violations(new Campaign { Name = "  " }));
    }

    [Theory]
    [InlineData(1, 1999, 25, null, 499)] // 499.75 rounds down
    [InlineData(3, 1999, 10, null, 599)] // of the whole order: 599.7
    [InlineData(2, 500, 100, null, 1000)]
    [InlineData(1, 1, 99, null, 0)]
    [InlineData(1, 500, null, 800L, 500)] // capped at the price
    [InlineData(2, 500, null, 300L, 300)]
    public void TheDiscountIsOfTheWholeOrderRoundedDownAndNeverAboveIt(int quantity, long price, int? percent, long? amount,
        long discount) =>
        Assert.Equal(discount, CouponDiscount.Compute(quantity, price, percent, amount));

    [Fact]
    public void ACouponIdNamesItsCampaignAndNumber()
    {
        var campaignId = Guid.Parse("0b7f5c1e-5d0e-4b8a-9a57-1d2c3e4f5a6b");
        var id = CouponIds.Format(campaignId, 42);
        Assert.Equal("0b7f5c1e-5d0e-4b8a-9a57-1d2c3e4f5a6b~42", id);
        Assert.True(CouponIds.TryParse(id, out var parsed, out var number));
        Assert.Equal((campaignId, 42), (parsed, number));
    }

    [Theory]
    [InlineData("")]
    [InlineData("0b7f5c1e-5d0e-4b8a-9a57-1d2c3e4f5a6b")]
    [InlineData("0b7f5c1e-5d0e-4b8a-9a57-1d2c3e4f5a6b~0")]
    [InlineData("0b7f5c1e-5d0e-4b8a-9a57-1d2c3e4f5a6b~-1")]
    [InlineData("0b7f5c1e-5d0e-4b8a-9a57-1d2c3e4f5a6b~007")]
    [InlineData("0b7f5c1e-5d0e-4b8a-9a57-1d2c3e4f5a6b~1x")]
    [InlineData("not-a-campaign~1")]
    public void AnythingElseIsNoCoupon(string id) => Assert.False(CouponIds.TryParse(id, out _, out _));
}
