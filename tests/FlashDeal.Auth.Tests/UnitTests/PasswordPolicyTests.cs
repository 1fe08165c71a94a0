using FlashDeal.Auth.Accounts;

namespace FlashDeal.Auth.Tests.UnitTests;

public sealed class PasswordPolicyTests
{
    private const string Email = "ada@example.com";

    [Theory]
    [InlineData("correct horse battery")]
    [InlineData("Tr0ub4dor&3x")]
    [InlineData("ten chars!")]
    [InlineData("ünïcödé-pässwörd")]
    public void AcceptsReasonablePasswords(string password)
    {
        Assert.Null(PasswordPolicy.Problem(password, Email));
    }

    [Theory]
    [InlineData("short", "at least 10")]
    [InlineData("nine char", "at least 10")]
    [InlineData("ada@example.com", "email")]
    [InlineData("ADA@EXAMPLE.COM", "email")]
    [InlineData("password123", "common")]
    [InlineData("PASSWORD123", "common")]
    [InlineData("1234567890", "common")]
    [InlineData("qwertyuiop", "common")]
    [InlineData("zzzzzzzzzzzz", "common")]
    public void RefusesWeakPasswords(string password, string because)
    {
        Assert.Contains(because, PasswordPolicy.Problem(password, Email));
    }

    [Fact]
    public void RefusesTheLocalPartOfTheEmail()
    {
        Assert.Contains("email", PasswordPolicy.Problem("longusername", "longusername@example.com"));
    }

    [Fact]
    public void LengthLimitsCountCharactersNotUtf16Units()
    {
        var emoji = string.Concat(Enumerable.Repeat("🔑", 10)); // 10 characters, 20 UTF-16 units
        Assert.Null(PasswordPolicy.Problem(emoji + "x", Email));
        Assert.Contains("at least 10", PasswordPolicy.Problem(string.Concat(Enumerable.Repeat("🔑", 9)), Email));
        Assert.Null(PasswordPolicy.Problem(new string('a', 127) + "b", Email));
        Assert.Contains("at most 128", PasswordPolicy.Problem(new string('a', 128) + "b", Email));
    }
}
