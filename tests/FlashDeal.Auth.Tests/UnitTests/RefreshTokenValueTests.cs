using System.Security.Cryptography;
using FlashDeal.Auth.Sessions;

namespace FlashDeal.Auth.Tests.UnitTests;

public sealed class RefreshTokenValueTests
{
    [Fact]
    public void TokenIs256RandomBitsInBase64UrlAndItsHashIsSha256OfThem()
    {
        var (token, hash) = RefreshTokenValue.Generate();

        Assert.Equal(43, token.Length);
        Assert.Matches("^[A-Za-z0-9_-]{43}$", token);
        var raw = Convert.FromBase64String(token.Replace('-', '+').Replace('_', '/') + "=");
        Assert.Equal(32, raw.Length);
        Assert.Equal(SHA256.HashData(raw), hash);
        Assert.Equal(hash, RefreshTokenValue.HashOf(token));
    }

    [Fact]
    public void TokensDoNotRepeat()
    {
        var tokens = Enumerable.Range(0, 1000).Select(_ => RefreshTokenValue.Generate().Token).ToHashSet();
        Assert.Equal(1000, tokens.Count);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("not a token at all, but 43 characters long!")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public void GarbageHasNoHash(string? token)
    {
        Assert.Null(RefreshTokenValue.HashOf(token));
    }

    [Fact]
    public void NonCanonicalSpellingOfATokenIsRefused()
    {
        // 32 bytes leave 2 unused bits in the last character; setting them spells the same bytes differently.
        var token = "A" + new string('A', 41) + "A";
        Assert.NotNull(RefreshTokenValue.HashOf(token));
        Assert.Null(RefreshTokenValue.HashOf(token[..42] + "B"));
    }
}
