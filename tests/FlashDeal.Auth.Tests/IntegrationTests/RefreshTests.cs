using System.Security.Cryptography;
using FlashDeal.Contracts.Auth.V1;
using FlashDeal.TestInfrastructure;
using Grpc.Core;

namespace FlashDeal.Auth.Tests.IntegrationTests;

[Collection(DataServers.Name)]
public sealed class RefreshTests(AuthServiceFixture service) : IClassFixture<AuthServiceFixture>
{
    private readonly AuthClient _client = service.Client;

    private async Task<SignUpResponse> SignUpAsync() => await _client.SignUpAsync($"user-{Guid.NewGuid():N}@example.com");

    [Fact]
    public async Task RefreshRotatesBothTokens()
    {
        var session = await SignUpAsync();

        var first = await _client.RefreshAsync(session.Token.RefreshToken);
        var rest = await _client.PostAsync("/v1/auth:refresh", $$"""{"refreshToken":"{{first.Token.RefreshToken}}"}""");

        Assert.NotEqual(session.Token.RefreshToken, first.Token.RefreshToken);
        Assert.NotEqual(session.Token.AccessToken, first.Token.AccessToken);
        Assert.Equal("Bearer", first.Token.TokenType);
        Assert.Equal(300, first.Token.ExpiresIn);
        Assert.Equal(200, rest.Status);
        var third = rest.Json.GetProperty("token").GetProperty("refreshToken").GetString()!;
        Assert.NotEqual(first.Token.RefreshToken, third);
        var me = await _client.GetMeAsync(first.Token.AccessToken);
        Assert.Equal(session.User.UserId, me.User.UserId);
        await _client.RefreshAsync(third);
    }

    [Fact]
    public async Task ReusingARotatedTokenRevokesTheWholeFamily()
    {
        var session = await SignUpAsync();
        var second = (await _client.RefreshAsync(session.Token.RefreshToken)).Token.RefreshToken;
        var third = (await _client.RefreshAsync(second)).Token.RefreshToken;

        var reuse = await _client.RefreshFailsAsync(session.Token.RefreshToken);
        var newest = await _client.RefreshFailsAsync(third);
        var restNewest = await _client.PostAsync("/v1/auth:refresh", $$"""{"refreshToken":"{{third}}"}""");
        var restReuse = await _client.PostAsync("/v1/auth:refresh", $$"""{"refreshToken":"{{second}}"}""");

        reuse.AssertReason(StatusCode.Unauthenticated, AuthErrorReason.RefreshTokenReused);
        newest.AssertReason(StatusCode.Unauthenticated, AuthErrorReason.RefreshTokenInvalid);
        Assert.Equal(401, restNewest.Status);
        Assert.Equal(401, restReuse.Status);
        Assert.Equal("REFRESH_TOKEN_REUSED", restReuse.Reason);
        await using var command = service.DataSource.CreateCommand("""
            SELECT f.revoke_reason, count(t.*) FILTER (WHERE t.revoked_at IS NULL)
            FROM auth.token_families f JOIN auth.refresh_tokens t USING (family_id)
            WHERE f.user_id = $1::uuid GROUP BY f.revoke_reason
            """);
        command.Parameters.Add(new() { Value = session.User.UserId });
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal("reuse", reader.GetString(0));
        Assert.Equal(0, reader.GetInt64(1));
        Assert.False(await reader.ReadAsync());
    }

    [Fact]
    public async Task ReuseRevokesOnlyItsOwnSession()
    {
        var session = await SignUpAsync();
        var other = await _client.LogInAsync(session.User.Email);
        await _client.RefreshAsync(session.Token.RefreshToken);

        await _client.RefreshFailsAsync(session.Token.RefreshToken);

        var stillAlive = await _client.RefreshAsync(other.Token.RefreshToken);
        Assert.NotEmpty(stillAlive.Token.AccessToken);
    }

    [Fact]
    public async Task ConcurrentRefreshesWithOneTokenSucceedExactlyOnce()
    {
        // Parallel sign-ups first, so pooled connections (HTTP/2, PostgreSQL) exist and the refreshes really overlap.
        var session = (await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => SignUpAsync())))[0];
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var attempts = Enumerable.Range(0, 12).Select(async i =>
        {
            await start.Task;
            if (i % 3 == 0)
            {
                var rest = await _client.PostAsync("/v1/auth:refresh", $$"""{"refreshToken":"{{session.Token.RefreshToken}}"}""");
                return rest.Status == 200 ? StatusCode.OK : rest.Status == 401 ? StatusCode.Unauthenticated : StatusCode.Unknown;
            }
            try
            {
                await _client.RefreshAsync(session.Token.RefreshToken);
                return StatusCode.OK;
            }
            catch (RpcException e)
            {
                return e.StatusCode;
            }
        }).ToList();
        start.SetResult();
        var codes = await Task.WhenAll(attempts);

        Assert.Equal(1, codes.Count(c => c == StatusCode.OK));
        Assert.Equal(11, codes.Count(c => c == StatusCode.Unauthenticated));
        await using var command = service.DataSource.CreateCommand(
            "SELECT count(*) FROM auth.refresh_tokens WHERE user_id = $1::uuid AND parent_id IS NOT NULL");
        command.Parameters.Add(new() { Value = session.User.UserId });
        Assert.Equal(1L, await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task ExpiredRefreshTokenIsUnauthenticated()
    {
        var session = await SignUpAsync();
        await using (var command = service.DataSource.CreateCommand(
            "UPDATE auth.refresh_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = $1"))
        {
            command.Parameters.Add(new() { Value = Hash(session.Token.RefreshToken) });
            Assert.Equal(1, await command.ExecuteNonQueryAsync());
        }

        var grpc = await _client.RefreshFailsAsync(session.Token.RefreshToken);
        var rest = await _client.PostAsync("/v1/auth:refresh", $$"""{"refreshToken":"{{session.Token.RefreshToken}}"}""");

        grpc.AssertReason(StatusCode.Unauthenticated, AuthErrorReason.RefreshTokenExpired);
        Assert.Equal(401, rest.Status);
        Assert.Equal("REFRESH_TOKEN_EXPIRED", rest.Reason);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public async Task UnknownRefreshTokenIsInvalid(string token)
    {
        var grpc = await _client.RefreshFailsAsync(token);
        grpc.AssertReason(StatusCode.Unauthenticated, AuthErrorReason.RefreshTokenInvalid);
    }

    [Fact]
    public async Task MissingRefreshTokenIsABadRequest()
    {
        var rest = await _client.PostAsync("/v1/auth:refresh", "{}");
        Assert.Equal(400, rest.Status);
        Assert.Equal(["refresh_token"], rest.ViolatedFields);
    }

    [Fact]
    public async Task RefreshCarriesTheCurrentRoleAndEmail()
    {
        var session = await SignUpAsync();
        await using (var command = service.DataSource.CreateCommand("UPDATE auth.users SET role = 'admin' WHERE user_id = $1::uuid"))
        {
            command.Parameters.Add(new() { Value = session.User.UserId });
            await command.ExecuteNonQueryAsync();
        }

        var refreshed = await _client.RefreshAsync(session.Token.RefreshToken);

        var claims = JwtClaimsOf(refreshed.Token.AccessToken);
        Assert.Equal("admin", claims.GetProperty("role").GetString());
        Assert.Equal(session.User.Email, claims.GetProperty("email").GetString());
        Assert.Equal(session.User.UserId, claims.GetProperty("sub").GetString());
    }

    internal static System.Text.Json.JsonElement JwtClaimsOf(string jwt) =>
        System.Text.Json.JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(jwt.Split('.')[1])).RootElement;

    private static byte[] Hash(string refreshToken) =>
        SHA256.HashData(System.Buffers.Text.Base64Url.DecodeFromChars(refreshToken));
}
