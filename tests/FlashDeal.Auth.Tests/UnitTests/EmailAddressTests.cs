using FlashDeal.Auth.Accounts;

namespace FlashDeal.Auth.Tests.UnitTests;

public sealed class EmailAddressTests
{
    [Theory]
    [InlineData("  Ada@Example.COM ", "ada@example.com")]
    [InlineData("ADA.LOVELACE+deals@MAIL.example.org", "ada.lovelace+deals@mail.example.org")]
    [InlineData(null, "")]
    public void NormalizesByTrimmingAndLowerCasing(string? input, string expected)
    {
        Assert.Equal(expected, EmailAddress.Normalize(input));
    }

    [Theory]
    [InlineData("ada@example.com")]
    [InlineData("a.b-c_d+e@sub.example.co.uk")]
    [InlineData("o'hara@example.ie")]
    [InlineData("x@xn--bcher-kva.example")]
    public void AcceptsOrdinaryAddresses(string email)
    {
        Assert.Null(EmailAddress.Problem(email));
    }

    [Theory]
    [InlineData("")]
    [InlineData("ada")]
    [InlineData("ada@")]
    [InlineData("@example.com")]
    [InlineData("ada@example")]
    [InlineData("ada@@example.com")]
    [InlineData("ada lovelace@example.com")]
    [InlineData("ada..lovelace@example.com")]
    [InlineData(".ada@example.com")]
    [InlineData("ada@-example.com")]
    [InlineData("ada@example..com")]
    [InlineData("ada@example.123")]
    [InlineData("<ada@example.com>")]
    [InlineData("ada@exa_mple.com")]
    public void RefusesMalformedAddresses(string email)
    {
        Assert.NotNull(EmailAddress.Problem(email));
    }

    [Fact]
    public void RefusesOverlongAddresses()
    {
        Assert.NotNull(EmailAddress.Problem(new string('a', 65) + "@example.com"));
        Assert.NotNull(EmailAddress.Problem("a@" + string.Join('.', Enumerable.Repeat(new string('b', 60), 5)) + ".com"));
        Assert.Null(EmailAddress.Problem(new string('a', 64) + "@example.com"));
    }
}
