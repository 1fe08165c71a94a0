using FlashDeal.Catalog.Deals;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.ServiceDefaults;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;

namespace FlashDeal.Catalog.Tests.UnitTests;

public sealed class DealRulesTests
{
    private static readonly DateTime Now = new(2030, 1, 1, 12, 0, 0, DateTimeKind.Utc);

    private static Deal Valid() => new()
    {
        ProductId = Guid.NewGuid().ToString(),
        Title = "Noon drop",
        DealPriceCents = 1,
        Stock = 100,
        PerUserLimit = 2,
        StartTime = Timestamp.FromDateTime(Now.AddMinutes(1)),
        EndTime = Timestamp.FromDateTime(Now.AddHours(1)),
    };

    private static List<string> Fields(FieldViolations violations)
    {
        if (!violations.Any)
        {
            return [];
        }
        var error = Assert.Throws<RpcException>(violations.ThrowIfAny);
        return [.. error.GetDetail<BadRequest>()!.FieldViolations.Select(v => v.Field).Order()];
    }

    [Fact]
    public void AValidDealHasNoViolations() => Assert.Empty(Fields(DealRules.Check(Valid(), Now)));

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(DealRules.MaxStock + 1)]
    public void StockMustBePositiveAndBounded(int stock)
    {
        var deal = Valid();
        deal.Stock = stock;
        deal.PerUserLimit = 1;
        Assert.Equal(["deal.stock"], Fields(DealRules.Check(deal, Now)));
    }

    [Fact]
    public void PerUserLimitMustBeAtLeastOneAndAtMostTheStock()
    {
        var zero = Valid();
        zero.PerUserLimit = 0;
        var above = Valid();
        above.PerUserLimit = 101;
        var equal = Valid();
        equal.PerUserLimit = 100;

        Assert.Equal(["deal.per_user_limit"], Fields(DealRules.Check(zero, Now)));
        Assert.Equal(["deal.per_user_limit"], Fields(DealRules.Check(above, Now)));
        Assert.Empty(Fields(DealRules.Check(equal, Now)));
    }

    [Fact]
    public void TheWindowMustBeInTheFutureOrderedAndBounded()
    {
        var past = Valid();
        past.StartTime = Timestamp.FromDateTime(Now);
        var reversed = Valid();
        reversed.EndTime = reversed.StartTime;
        var tooLong = Valid();
        tooLong.EndTime = Timestamp.FromDateTime(Now.AddDays(40));
        var missing = Valid();
        missing.StartTime = null;
        missing.EndTime = null;
        var outOfRange = Valid();
        outOfRange.EndTime = new Timestamp { Seconds = long.MaxValue };

        Assert.Equal(["deal.start_time"], Fields(DealRules.Check(past, Now)));
        Assert.Equal(["deal.end_time"], Fields(DealRules.Check(reversed, Now)));
        Assert.Equal(["deal.end_time"], Fields(DealRules.Check(tooLong, Now)));
        Assert.Equal(["deal.end_time", "deal.start_time"], Fields(DealRules.Check(missing, Now)));
        Assert.Equal(["deal.end_time"], Fields(DealRules.Check(outOfRange, Now)));
    }

    [Fact]
    public void AnUpdateChecksOnlyItsPathsAndLeavesRelationsToTheMergedDeal()
    {
        var changes = new Deal { Stock = 5 };
        var paths = new HashSet<string> { "stock" };
        Assert.Empty(Fields(DealRules.Check(changes, Now, paths, relations: false)));

        var merged = Valid();
        merged.Stock = 1;
        Assert.Equal(["deal.per_user_limit"], Fields(DealRules.Check(merged, Now, paths, relations: true)));

        var onlyStart = new Deal { StartTime = Timestamp.FromDateTime(Now.AddMinutes(5)) };
        Assert.Empty(Fields(DealRules.Check(onlyStart, Now, new HashSet<string> { "start_time" }, relations: false)));
    }
}
