using FlashDeal.Catalog.BestSellers;
using FlashDeal.Catalog.Deals;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.Data.Redis;

namespace FlashDeal.Catalog.Tests.UnitTests;

public sealed class RedisKeyTests
{
    /// <summary>Redis Cluster hashes only the part between the first '{' and the next '}'.</summary>
    private static string HashTag(string key)
    {
        var open = key.IndexOf('{', StringComparison.Ordinal);
        var close = key.IndexOf('}', open + 1);
        return key[(open + 1)..close];
    }

    [Fact]
    public void AllKeysOfADealShareItsHashTag()
    {
        var dealId = Guid.Parse("01890a5d-ac96-774b-bcce-b302099a8057");
        Assert.Equal("{deal:01890a5d-ac96-774b-bcce-b302099a8057}:config", (string)DealKeys.Config(dealId)!);
        Assert.Equal("{deal:01890a5d-ac96-774b-bcce-b302099a8057}:stock", (string)DealKeys.Stock(dealId)!);
    }

    [Fact]
    public void AllRankingKeysShareOneHashTag()
    {
        var now = DateTimeOffset.UtcNow;
        var keys = new[] { BestSellerKeys.AllTime, BestSellerKeys.Seen("o-1"), BestSellerKeys.View(BestSellerWindow.Week) }
            .Concat(BestSellerKeys.Buckets(BestSellerWindow.Week, now))
            .Concat(BestSellerKeys.Buckets(BestSellerWindow.Hour, now));
        Assert.All(keys, key => Assert.Equal("bestsellers", HashTag(key!)));
    }

    [Theory]
    [InlineData(BestSellerWindow.Hour, 13)]
    [InlineData(BestSellerWindow.Day, 25)]
    [InlineData(BestSellerWindow.Week, 169)]
    [InlineData(BestSellerWindow.AllTime, 1)]
    public void AWindowIsTheCurrentBucketAndTheWholeOnesBeforeIt(BestSellerWindow window, int buckets)
    {
        var keys = BestSellerKeys.Buckets(window, new DateTimeOffset(2030, 1, 1, 12, 7, 0, TimeSpan.Zero));
        Assert.Equal(buckets, keys.Distinct().Count());
    }
}
