using FlashDeal.Contracts.Auth.V1;

namespace FlashDeal.Security.Tests.UnitTests;

public sealed class RotationTests
{
    private readonly ManualTimeProvider _time = new();
    private readonly AuthOptions _options = new() { Issuer = "https://auth.test", Audience = "flashdeal-test" };

    [Fact]
    public async Task TokensOfThePreviousKeyStayValidUntilThatKeyIsRemoved()
    {
        var oldKey = SigningKey.Generate("2030-01");
        var newKey = SigningKey.Generate("2030-02");

        var beforeRotation = new SigningKeySet([oldKey], "2030-01");
        var oldToken = new AccessTokenIssuer(beforeRotation, _options, _time).Issue("u", "", Role.Customer).Token;

        // Step 2 of a rotation: both keys published, the new one signs.
        var duringRotation = new SigningKeySet([oldKey, newKey], "2030-02");
        var newToken = new AccessTokenIssuer(duringRotation, _options, _time).Issue("u", "", Role.Customer).Token;
        var validator = new AccessTokenValidator(duringRotation, _options, _time);
        Assert.True((await validator.ValidateAsync(oldToken)).IsValid);
        Assert.True((await validator.ValidateAsync(newToken)).IsValid);
        Assert.Equal("2030-02", Jws.DecodeSegment(newToken.Split('.')[0])["kid"]!.GetValue<string>());

        // Step 3: the old key is gone.
        var afterRotation = new AccessTokenValidator(new SigningKeySet([newKey], "2030-02"), _options, _time);
        Assert.Equal(TokenFailureReason.UnknownKey, (await afterRotation.ValidateAsync(oldToken)).Failure);
        Assert.True((await afterRotation.ValidateAsync(newToken)).IsValid);
    }
}
