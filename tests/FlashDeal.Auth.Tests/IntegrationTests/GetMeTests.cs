using FlashDeal.Contracts.Auth.V1;
using FlashDeal.TestInfrastructure;
using Grpc.Core;

namespace FlashDeal.Auth.Tests.IntegrationTests;

[Collection(DataServers.Name)]
public sealed class GetMeTests(AuthServiceFixture service) : IClassFixture<AuthServiceFixture>
{
    private readonly AuthClient _client = service.Client;

    [Fact]
    public async Task GetMeWithoutATokenIsUnauthenticated()
    {
        var grpc = await _client.GetMeFailsAsync(null);
        var rest = await _client.GetAsync("/v1/auth/me");

        grpc.AssertReason(StatusCode.Unauthenticated, AuthErrorReason.AccessTokenMissing);
        Assert.Equal(401, rest.Status);
        Assert.Equal("ACCESS_TOKEN_MISSING", rest.Reason);
    }

    [Fact]
    public async Task GetMeWithABadTokenIsUnauthenticated()
    {
        var session = await _client.SignUpAsync($"user-{Guid.NewGuid():N}@example.com");
        var tampered = session.Token.AccessToken[..^4] + (session.Token.AccessToken.EndsWith("AAAA") ? "BBBB" : "AAAA");

        var rest = await _client.GetAsync("/v1/auth/me", tampered);
        var refreshAsAccess = await _client.GetAsync("/v1/auth/me", session.Token.RefreshToken);

        Assert.Equal(401, rest.Status);
        Assert.Equal("ACCESS_TOKEN_INVALID", rest.Reason);
        Assert.Equal(401, refreshAsAccess.Status);
    }

    [Fact]
    public async Task GetMeReturnsTheAccountAsStoredInPostgres()
    {
        var session = await _client.SignUpAsync($"user-{Guid.NewGuid():N}@example.com", displayName: "Before");
        await using (var command = service.DataSource.CreateCommand(
            "UPDATE auth.users SET display_name = 'After' WHERE user_id = $1::uuid"))
        {
            command.Parameters.Add(new() { Value = session.User.UserId });
            await command.ExecuteNonQueryAsync();
        }

        var grpc = await _client.GetMeAsync(session.Token.AccessToken);
        var rest = await _client.GetAsync("/v1/auth/me", session.Token.AccessToken);

        Assert.Equal("After", grpc.User.DisplayName);
        Assert.Equal(session.User.Email, grpc.User.Email);
        Assert.Equal(200, rest.Status);
        var user = rest.Json.GetProperty("user");
        Assert.Equal(session.User.UserId, user.GetProperty("userId").GetString());
        Assert.Equal("After", user.GetProperty("displayName").GetString());
        Assert.Equal("ROLE_CUSTOMER", user.GetProperty("role").GetString());
    }

    [Fact]
    public async Task GetMeForADeletedAccountIsNotFound()
    {
        var session = await _client.SignUpAsync($"user-{Guid.NewGuid():N}@example.com");
        await using (var command = service.DataSource.CreateCommand("DELETE FROM auth.users WHERE user_id = $1::uuid"))
        {
            command.Parameters.Add(new() { Value = session.User.UserId });
            Assert.Equal(1, await command.ExecuteNonQueryAsync());
        }

        var rest = await _client.GetAsync("/v1/auth/me", session.Token.AccessToken);

        Assert.Equal(404, rest.Status);
        (await _client.RefreshFailsAsync(session.Token.RefreshToken))
            .AssertReason(StatusCode.Unauthenticated, AuthErrorReason.RefreshTokenInvalid);
    }
}
