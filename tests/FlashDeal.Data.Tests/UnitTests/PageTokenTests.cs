using System.Buffers.Text;

namespace FlashDeal.Data.Tests.UnitTests;

public class PageTokenTests
{
    private const string Scope = "catalog.ListDeals?status=active";
    private static readonly Guid Id = Guid.Parse("0197a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");

    [Fact]
    public void TimestampCursorRoundTrips()
    {
        var at = new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero).AddTicks(1234560);
        var token = PageToken.Encode(at, Id, Scope);

        Assert.Equal(new PageCursor<DateTimeOffset>(at, Id), PageToken.Decode<DateTimeOffset>(token, Scope));
    }

    [Fact]
    public void TextNumberAndDecimalCursorsRoundTrip()
    {
        Assert.Equal("Überraschung \"deal\"", PageToken.Decode<string>(PageToken.Encode("Überraschung \"deal\"", Id, Scope), Scope)?.SortKey);
        Assert.Equal(long.MaxValue, PageToken.Decode<long>(PageToken.Encode(long.MaxValue, Id, Scope), Scope)?.SortKey);
        Assert.Equal(19.99m, PageToken.Decode<decimal>(PageToken.Encode(new PageCursor<decimal>(19.99m, Id), Scope), Scope)?.SortKey);
    }

    [Fact]
    public void TokenIsUrlSafeText()
    {
        var token = PageToken.Encode("a/b+c?d", Id, Scope);

        Assert.Matches("^[A-Za-z0-9_-]+$", token);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void EmptyTokenMeansTheFirstPage(string? token) => Assert.Null(PageToken.Decode<long>(token, Scope));

    [Theory]
    [InlineData("not a token")]
    [InlineData("!!!!")]
    [InlineData("AQ")]
    [InlineData("eyJrIjoxLCJpIjoiMDE5N2ExYjItYzNkNC03ZTVmLThhOWItMGMxZDJlM2Y0YTViIn0")]
    public void GarbageIsRefusedNamingPageToken(string token)
    {
        var e = Assert.Throws<InvalidPageTokenException>(() => PageToken.Decode<long>(token, Scope));
        Assert.Equal("page_token", e.Field);
        Assert.StartsWith("page_token ", e.Message);
    }

    [Fact]
    public void EveryAlteredByteIsRefused()
    {
        var bytes = Base64Url.DecodeFromChars(PageToken.Encode(42L, Id, Scope));
        for (var i = 0; i < bytes.Length; i++)
        {
            var altered = (byte[])bytes.Clone();
            altered[i] ^= 0x01;
            Assert.Throws<InvalidPageTokenException>(() => PageToken.Decode<long>(Base64Url.EncodeToString(altered), Scope));
        }
    }

    [Fact]
    public void TruncatedAndExtendedTokensAreRefused()
    {
        var token = PageToken.Encode(42L, Id, Scope);

        Assert.Throws<InvalidPageTokenException>(() => PageToken.Decode<long>(token[..^4], Scope));
        Assert.Throws<InvalidPageTokenException>(() => PageToken.Decode<long>(token + "AAAA", Scope));
        Assert.Throws<InvalidPageTokenException>(() => PageToken.Decode<long>(new string('A', PageToken.MaxLength + 4), Scope));
    }

    [Fact]
    public void TokenOfAnotherQueryIsRefused()
    {
        var token = PageToken.Encode(42L, Id, Scope);

        Assert.Throws<InvalidPageTokenException>(() => PageToken.Decode<long>(token, "catalog.ListDeals?status=ended"));
    }

    [Fact]
    public void TokenWithAnotherSortKeyTypeIsRefused()
    {
        var token = PageToken.Encode("newest", Id, Scope);

        Assert.Throws<InvalidPageTokenException>(() => PageToken.Decode<long>(token, Scope));
    }
}
