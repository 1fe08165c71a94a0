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
        Assert.True(await ValidAsync(oldToken, duringRotation));
        Assert.True(await ValidAsync(newToken, duringRotation));
        Assert.Equal("2030-02", Jws.DecodeSegment(newToken.Split('.')[0])["kid"]!.GetValue<string>());

        // Step 3: the old key is gone.
        var afterRotation = new SigningKeySet([newKey], "2030-02");
        Assert.False(await ValidAsync(oldToken, afterRotation));
        Assert.True(await ValidAsync(newToken, afterRotation));
    }

    private async Task<bool> ValidAsync(string token, SigningKeySet keys)
    {
        var parameters = AccessTokenHandler.Parameters(_options, _time);
        parameters.IssuerSigningKeys = JwksRetriever.FromKeys(keys.Keys).SigningKeys;
        return (await new AccessTokenHandler(_options, _time).ValidateTokenAsync(token, parameters)).IsValid;
    }
}
