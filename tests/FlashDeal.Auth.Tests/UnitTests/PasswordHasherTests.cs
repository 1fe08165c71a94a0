using System.Text.RegularExpressions;
using FlashDeal.Auth.Accounts;

namespace FlashDeal.Auth.Tests.UnitTests;

public sealed class PasswordHasherTests
{
    private static PasswordHasher Hasher(int iterations) => new(new PasswordHashOptions { Iterations = iterations });

    [Fact]
    public void HashIsAVersionedStringWithIterationsSaltAndHash()
    {
        var encoded = Hasher(1200).Hash("correct horse battery");

        var match = Regex.Match(encoded, @"^pbkdf2-sha256\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$");
        Assert.True(match.Success, encoded);
        Assert.Equal("1200", match.Groups[1].Value);
        Assert.Equal(16, Convert.FromBase64String(match.Groups[2].Value).Length);
        Assert.Equal(32, Convert.FromBase64String(match.Groups[3].Value).Length);
        Assert.DoesNotContain("correct horse battery", encoded);
    }

    [Fact]
    public void HashRoundTripsAndRejectsOtherPasswords()
    {
        var hasher = Hasher(1000);
        var encoded = hasher.Hash("correct horse battery");

        Assert.Equal(PasswordVerification.Success, hasher.Verify("correct horse battery", encoded));
        Assert.Equal(PasswordVerification.Failed, hasher.Verify("correct horse batterY", encoded));
        Assert.Equal(PasswordVerification.Failed, hasher.Verify("", encoded));
    }

    [Fact]
    public void HashMatchesAnIndependentPbkdf2Computation()
    {
        var encoded = Hasher(1500).Hash("pässwörd-ünïcode");
        var parts = encoded.Split('$');

        var expected = System.Security.Cryptography.Rfc2898DeriveBytes.Pbkdf2(
            System.Text.Encoding.UTF8.GetBytes("pässwörd-ünïcode"), Convert.FromBase64String(parts[2]), 1500,
            System.Security.Cryptography.HashAlgorithmName.SHA256, 32);
        Assert.Equal(Convert.ToBase64String(expected), parts[3]);
    }

    [Fact]
    public void EveryHashHasItsOwnSalt()
    {
        var hasher = Hasher(1000);
        Assert.NotEqual(hasher.Hash("correct horse battery"), hasher.Hash("correct horse battery"));
    }

    [Fact]
    public void HashWithFewerIterationsThanConfiguredVerifiesButAsksForARehash()
    {
        var old = Hasher(1000).Hash("correct horse battery");
        var current = Hasher(2000);

        Assert.Equal(PasswordVerification.SuccessRehashNeeded, current.Verify("correct horse battery", old));
        Assert.Equal(PasswordVerification.Failed, current.Verify("wrong password!", old));
        var rehashed = current.Hash("correct horse battery");
        Assert.Equal(2000, PasswordHasher.IterationsOf(rehashed));
        Assert.Equal(PasswordVerification.Success, current.Verify("correct horse battery", rehashed));
    }

    [Fact]
    public void HashWithMoreIterationsThanConfiguredNeedsNoRehash()
    {
        var stronger = Hasher(3000).Hash("correct horse battery");
        Assert.Equal(PasswordVerification.Success, Hasher(1000).Verify("correct horse battery", stronger));
    }

    [Theory]
    [InlineData("")]
    [InlineData("plaintext")]
    [InlineData("pbkdf2-sha256$1000$c2FsdHNhbHRzYWx0c2FsdA==")]
    [InlineData("pbkdf2-sha512$1000$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g=")]
    [InlineData("pbkdf2-sha256$0$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g=")]
    [InlineData("pbkdf2-sha256$-5$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g=")]
    [InlineData("pbkdf2-sha256$99999999999$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g=")]
    [InlineData("pbkdf2-sha256$1000$not base64!$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g=")]
    [InlineData("pbkdf2-sha256$1000$c2FsdA==$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g=")]
    public void MalformedStoredHashesNeverVerify(string encoded)
    {
        Assert.Equal(PasswordVerification.Failed, Hasher(1000).Verify("plaintext", encoded));
    }

    [Fact]
    public void UnknownAccountsAreCheckedAgainstAHashOfTheConfiguredCost()
    {
        var hasher = Hasher(4321);
        hasher.VerifyNothing("whatever password");
        Assert.Equal(4321, PasswordHasher.IterationsOf(hasher.DummyHash));
    }

    [Fact]
    public void DefaultCostIsTheOwaspRecommendation()
    {
        Assert.Equal(210_000, new PasswordHashOptions().Iterations);
        Assert.Equal(210_000, Hasher(new PasswordHashOptions().Iterations).Iterations);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(PasswordHasher.MaxIterations + 1)]
    public void UnusableIterationCountsAreRefused(int iterations)
    {
        Assert.Throws<InvalidOperationException>(() => Hasher(iterations));
    }
}
