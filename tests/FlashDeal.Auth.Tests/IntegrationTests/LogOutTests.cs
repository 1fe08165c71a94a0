using FlashDeal.Contracts.Auth.V1;
using FlashDeal.TestInfrastructure;
using Grpc.Core;

namespace FlashDeal.Auth.Tests.IntegrationTests;

[Collection(DataServers.Name)]
public sealed class LogOutTests(AuthServiceFixture service) : IClassFixture<AuthServiceFixture>
{
    private readonly AuthClient _client = service.Client;

    private async Task<SignUpResponse> SignUpAsync() => await _client.SignUpAsync($"user-{Guid.NewGuid():N}@example.com");

    [Fact]
    public async Task LogOutRevokesTheSessionAndIsIdempotent()
    {
        var session = await SignUpAsync();
        var current = (await _client.RefreshAsync(session.Token.RefreshToken)).Token.RefreshToken;

        await _client.LogOutAsync(current);
        var again = await _client.PostAsync("/v1/auth:logOut", $$"""{"refreshToken":"{{current}}"}""");
        var refresh = await _client.RefreshFailsAsync(current);

        Assert.Equal(200, again.Status);
        refresh.AssertReason(StatusCode.Unauthenticated, AuthErrorReason.RefreshTokenInvalid);
    }

    [Fact]
    public async Task LogOutOverRestWithAnOlderTokenOfTheSessionEndsItToo()
    {
        var session = await SignUpAsync();
        var current = (await _client.RefreshAsync(session.Token.RefreshToken)).Token.RefreshToken;

        var rest = await _client.PostAsync("/v1/auth:logOut", $$"""{"refreshToken":"{{session.Token.RefreshToken}}"}""");

        Assert.Equal(200, rest.Status);
        Assert.Empty(rest.Json.EnumerateObject());
        (await _client.RefreshFailsAsync(current)).AssertReason(StatusCode.Unauthenticated, AuthErrorReason.RefreshTokenInvalid);
    }

    [Fact]
    public async Task LogOutLeavesOtherSessionsAlone()
    {
        var session = await SignUpAsync();
        var other = await _client.LogInAsync(session.User.Email);

        await _client.LogOutAsync(session.Token.RefreshToken);

        await _client.RefreshAsync(other.Token.RefreshToken);
    }

    [Fact]
    public async Task LogOutOfAllSessionsRevokesEveryFamilyOfTheUserOnly()
    {
        var session = await SignUpAsync();
        var phone = await _client.LogInAsync(session.User.Email);
        var stranger = await SignUpAsync();

        var rest = await _client.PostAsync("/v1/auth:logOut",
            $$"""{"refreshToken":"{{session.Token.RefreshToken}}","allSessions":true}""");

        Assert.Equal(200, rest.Status);
        await _client.RefreshFailsAsync(session.Token.RefreshToken);
        (await _client.RefreshFailsAsync(phone.Token.RefreshToken))
            .AssertReason(StatusCode.Unauthenticated, AuthErrorReason.RefreshTokenInvalid);
        await _client.RefreshAsync(stranger.Token.RefreshToken);
        var again = await _client.LogInAsync(session.User.Email);
        await _client.RefreshAsync(again.Token.RefreshToken);
    }

    [Fact]
    public async Task LogOutWithAnUnknownTokenIsInvalidAndWithoutOneABadRequest()
    {
        var unknown = await _client.FailAsync(c => c.LogOutAsync(
            new LogOutRequest { RefreshToken = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }, AuthClient.Options()));
        var missing = await _client.PostAsync("/v1/auth:logOut", "{}");

        unknown.AssertReason(StatusCode.Unauthenticated, AuthErrorReason.RefreshTokenInvalid);
        Assert.Equal(400, missing.Status);
        Assert.Equal(["refresh_token"], missing.ViolatedFields);
    }
}
