using FlashDeal.TestInfrastructure;
using Microsoft.Extensions.Logging;

namespace FlashDeal.Auth.Tests.IntegrationTests;

/// <summary>Everything logged at every level, the console quiet.</summary>
public sealed class TraceLoggingFixture(PostgresServer postgres, RedisServer redis) : AuthServiceFixture(postgres, redis)
{
    public const string AdminPassword = "the bootstrap secret";

    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Logging:LogLevel:Default"] = "Trace",
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace",
        ["Logging:LogLevel:Npgsql"] = "Trace",
        ["Logging:Console:LogLevel:Default"] = "None",
        ["Auth:BootstrapAdmin:Email"] = "root@flashdeal.test",
        ["Auth:BootstrapAdmin:Password"] = AdminPassword,
    };
}

[Collection(DataServers.Name)]
public sealed class SecretLoggingTests(TraceLoggingFixture service) : IClassFixture<TraceLoggingFixture>
{
    private readonly AuthClient _client = service.Client;

    [Fact]
    public async Task PasswordsAndTokensNeverReachTheLogs()
    {
        const string password = "my very secret password";
        const string wrongPassword = "my wrong secret password";
        var email = $"user-{Guid.NewGuid():N}@example.com";
        await BootstrapAdminFixture.BootstrappedAsync(service.Host);

        var signUp = await _client.SignUpAsync(email, password);
        var restSignUp = await _client.PostAsync("/v1/auth:signUp", $$"""{"email":"x{{email}}","password":"{{password}}"}""");
        await _client.LogInFailsAsync(email, wrongPassword);
        await _client.PostAsync("/v1/auth:logIn", $$"""{"email":"{{email}}","password":"{{wrongPassword}}"}""");
        await _client.PostAsync("/v1/auth:signUp", $$"""{"email":"{{email}}","password":"{{wrongPassword}}x"}""");
        var logIn = await _client.LogInAsync(email, password);
        var refreshed = await _client.RefreshAsync(logIn.Token.RefreshToken);
        await _client.RefreshFailsAsync(logIn.Token.RefreshToken);
        await _client.GetAsync("/v1/auth/me", refreshed.Token.AccessToken);
        await _client.GetAsync("/v1/auth/me", refreshed.Token.AccessToken + "x");
        await _client.LogOutAsync(signUp.Token.RefreshToken);
        await _client.PostAsync("/v1/auth:refresh", $$"""{"refreshToken":"{{signUp.Token.RefreshToken}}"}""");

        string[] secrets =
        [
            password, wrongPassword, TraceLoggingFixture.AdminPassword,
            signUp.Token.RefreshToken, logIn.Token.RefreshToken, refreshed.Token.RefreshToken,
            restSignUp.Json.GetProperty("token").GetProperty("refreshToken").GetString()!,
            signUp.Token.AccessToken, logIn.Token.AccessToken, refreshed.Token.AccessToken,
        ];
        var entries = service.Logs.Entries;
        Assert.Contains(entries, e => e.Level == LogLevel.Trace);
        Assert.Contains(entries, e => e.Category.StartsWith("Npgsql", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.Level == LogLevel.Warning && e.Message.Contains("Refresh token reuse"));
        foreach (var secret in secrets)
        {
            var leak = entries.FirstOrDefault(e => e.Everything.Contains(secret, StringComparison.Ordinal));
            Assert.True(leak is null, $"A secret was logged by {leak?.Category}: {leak?.Message}");
        }
    }
}
