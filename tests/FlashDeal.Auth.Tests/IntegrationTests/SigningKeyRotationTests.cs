using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using FlashDeal.Contracts.Auth.V1;
using FlashDeal.Security;
using FlashDeal.TestInfrastructure;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;

namespace FlashDeal.Auth.Tests.IntegrationTests;

/// <summary>
/// Signing-key rotation with the real auth service (PostgreSQL, Redis, keys in a directory updated the way the kubelet
/// updates a mounted Secret) and a real validating service (AddServiceDefaults: JwtBearer over auth's JWKS fetched over
/// HTTP). The validator's periodic JWKS refresh cannot be shortened below 5 minutes, so within a test it never runs:
/// what keeps it current is the refresh on an unknown kid.
/// </summary>
[Collection(DataServers.Name)]
public sealed class SigningKeyRotationTests(AuthServiceFixture service) : IClassFixture<AuthServiceFixture>
{
    private const int Clients = 8;
    private static readonly TimeSpan PublishBeforeSigning = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task OneStepRotationUnderLoadRefusesNoToken()
    {
        using var keys = new MountedSecretDirectory();
        var (oldKey, oldPem) = NewKey("old");
        var (newKey, newPem) = NewKey("new");
        keys.Write(new Dictionary<string, string> { [oldKey + ".pem"] = oldPem });
        var auth = await service.StartHostAsync(Settings(keys, PublishBeforeSigning));
        var client = new AuthClient(auth);
        var jwksUrl = new Uri(auth.RestAddress, "/.well-known/jwks.json");
        await using var validator = await StartValidatorAsync(jwksUrl);
        await using var idleValidator = await StartValidatorAsync(jwksUrl);
        var sessions = await Task.WhenAll(Enumerable.Range(0, Clients)
            .Select(_ => client.SignUpAsync($"rotation-{Guid.NewGuid():N}@example.com")));
        var userId = sessions[0].User.UserId;
        Assert.Equal(oldKey, KeyIdOf(sessions[0].Token.AccessToken));
        // Both validators fetch the JWKS now, holding the old key only.
        Assert.Equal(userId, await idleValidator.WhoAmIAsync(sessions[0].Token.AccessToken));

        var calls = new ConcurrentQueue<Call>();
        using var stop = new CancellationTokenSource();
        var running = sessions.Select(s => RefreshAndCallAsync(client, validator, s.Token.RefreshToken, calls, stop.Token))
            .ToArray();
        try
        {
            await Until(() => Running(running) && calls.Count >= Clients * 2, "calls with the old key");

            // One step, as a single helm upgrade or Secret edit does it: the new key and the switch to it together.
            var rotatedAt = DateTimeOffset.UtcNow;
            keys.Write(new Dictionary<string, string>
            {
                [oldKey + ".pem"] = oldPem,
                [newKey + ".pem"] = newPem,
                [SigningKeySet.ActiveKeyIdFile] = newKey + "\n",
            });
            await Until(async () => (await JwksKeyIdsAsync(client)).Contains(newKey), "the new key in the JWKS");
            await Until(() => Running(running) && calls.Count(c => c.KeyId == newKey) >= Clients * 3, "calls with the new key");
            stop.Cancel();
            await Task.WhenAll(running);

            var refusedCalls = calls.Where(c => c.Status != StatusCode.OK).ToList();
            Assert.True(refusedCalls.Count == 0, $"{refusedCalls.Count} of {calls.Count} calls refused, " +
                $"{refusedCalls.Count(c => c.KeyId == newKey)} of them with the new key: " +
                string.Join(", ", refusedCalls.Select(c => c.Status).Distinct()));
            Assert.Contains(calls, c => c.KeyId == oldKey);
            // Signed with the new key only once it had been published for PublishBeforeSigning.
            Assert.All(calls.Where(c => c.KeyId == newKey),
                c => Assert.True(c.IssuedBy - rotatedAt >= PublishBeforeSigning, $"new key used after {c.IssuedBy - rotatedAt}"));

            // A validator that has not fetched since before the new key was published accepts its tokens at once.
            var fresh = await client.LogInAsync(sessions[1].User.Email);
            Assert.Equal(newKey, KeyIdOf(fresh.Token.AccessToken));
            Assert.Equal(sessions[1].User.UserId, await idleValidator.WhoAmIAsync(fresh.Token.AccessToken));

            // Tokens of the old key stay valid while it is published (one minted now: none of the validators saw it).
            Assert.Equal(userId, await validator.WhoAmIAsync(Sign(oldKey, oldPem, userId)));

            // The old key removed from the directory leaves the JWKS; a validator that fetches now refuses its tokens.
            keys.Write(new Dictionary<string, string>
            {
                [newKey + ".pem"] = newPem,
                [SigningKeySet.ActiveKeyIdFile] = newKey,
            });
            await Until(async () => !(await JwksKeyIdsAsync(client)).Contains(oldKey), "the old key gone from the JWKS");
            await using var laterValidator = await StartValidatorAsync(jwksUrl);
            Assert.Equal(userId, await laterValidator.WhoAmIAsync(Sign(newKey, newPem, userId)));
            var refused = await Assert.ThrowsAsync<RpcException>(() => laterValidator.WhoAmIAsync(Sign(oldKey, oldPem, userId)));
            Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(running.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
            await service.StopHostAsync(auth);
        }
    }

    [Fact]
    public async Task ThePublicationTimeIsRecordedOnceAndSurvivesARestart()
    {
        using var keys = new MountedSecretDirectory();
        var (firstKey, firstPem) = NewKey("first");
        var (secondKey, secondPem) = NewKey("second");
        keys.Write(new Dictionary<string, string> { [firstKey + ".pem"] = firstPem });
        var settings = Settings(keys, TimeSpan.FromHours(1));

        // A new installation signs at once: there is no older key to sign with while the first one waits.
        var first = await service.StartHostAsync(settings);
        Assert.Equal(firstKey, await SignUpKeyIdAsync(first));
        keys.Write(new Dictionary<string, string>
        {
            [firstKey + ".pem"] = firstPem,
            [secondKey + ".pem"] = secondPem,
            [SigningKeySet.ActiveKeyIdFile] = secondKey,
        });
        await Until(async () => (await JwksKeyIdsAsync(new AuthClient(first))).Contains(secondKey), "the second key published");
        var published = await PublishedAtAsync(secondKey);
        Assert.Equal(firstKey, await SignUpKeyIdAsync(first));
        await service.StopHostAsync(first);

        // A restart neither records the key again nor starts its wait again.
        var restarted = await service.StartHostAsync(settings);
        Assert.Equal(firstKey, await SignUpKeyIdAsync(restarted));
        Assert.Equal(published, await PublishedAtAsync(secondKey));
        await service.StopHostAsync(restarted);

        // The wait counts from the recorded time: a key published two hours ago (by the database) signs at once.
        await using (var backdate = service.DataSource.CreateCommand(
                         "UPDATE auth.signing_keys SET first_published_at = first_published_at - interval '2 hours' WHERE key_id = $1"))
        {
            backdate.Parameters.Add(new() { Value = secondKey });
            Assert.Equal(1, await backdate.ExecuteNonQueryAsync());
        }
        var later = await service.StartHostAsync(settings);
        Assert.Equal(secondKey, await SignUpKeyIdAsync(later));
        await service.StopHostAsync(later);
    }

    [Fact]
    public async Task ABrokenEditOfTheKeysKeepsThePreviousOnes()
    {
        using var keys = new MountedSecretDirectory();
        var (key, pem) = NewKey("kept");
        var (other, otherPem) = NewKey("other");
        keys.Write(new Dictionary<string, string> { [key + ".pem"] = pem });
        var logs = new LogCapture();
        var auth = await service.StartHostAsync(Settings(keys, PublishBeforeSigning), logs);
        try
        {
            // A PEM that does not parse, then a second private key that nothing names as the one to sign.
            foreach (var (broken, problem) in new[]
                     {
                         (new Dictionary<string, string> { [key + ".pem"] = pem, [other + ".pem"] = "not a key" }, "not a valid EC PEM key"),
                         (new Dictionary<string, string> { [key + ".pem"] = pem, [other + ".pem"] = otherPem }, "active-kid"),
                     })
            {
                keys.Write(broken);
                await Until(() => logs.Entries.Any(e => e.Level == Microsoft.Extensions.Logging.LogLevel.Error
                                                        && e.Message.Contains(problem, StringComparison.Ordinal)),
                    $"the rejected edit logged ({problem})");

                Assert.Equal([key], await JwksKeyIdsAsync(new AuthClient(auth)));
                Assert.Equal(key, await SignUpKeyIdAsync(auth));
            }
            Assert.DoesNotContain(logs.Entries, e => e.Everything.Contains("PRIVATE KEY", StringComparison.Ordinal));
        }
        finally
        {
            await service.StopHostAsync(auth);
        }
    }

    [Fact]
    public async Task WithoutPostgresANewKeyDoesNotSign()
    {
        using var keys = new MountedSecretDirectory();
        var (oldKey, oldPem) = NewKey("old");
        var (newKey, newPem) = NewKey("new");
        keys.Write(new Dictionary<string, string>
        {
            [oldKey + ".pem"] = oldPem,
            [newKey + ".pem"] = newPem,
            [SigningKeySet.ActiveKeyIdFile] = newKey,
        });
        var settings = Settings(keys, PublishBeforeSigning);
        // Nothing listens there: no publication time can be recorded or read.
        settings["ConnectionStrings:Postgres"] = "Host=127.0.0.1;Port=1;Username=app;Database=none;Timeout=2";
        settings["Database:MigrateOnStart"] = "false";
        var logs = new LogCapture();
        var auth = await service.StartHostAsync(settings, logs);
        try
        {
            var token = auth.Services.GetRequiredService<AccessTokenIssuer>().Issue(Guid.NewGuid().ToString(), "", Role.Customer);

            Assert.Equal(oldKey, KeyIdOf(token.Token));
            Assert.True((await JwksKeyIdsAsync(new AuthClient(auth))).SetEquals([oldKey, newKey]), "both keys published");
            Assert.Contains(logs.Entries, e => e.Message.Contains("Could not record the signing keys", StringComparison.Ordinal));
        }
        finally
        {
            await service.StopHostAsync(auth);
        }
    }

    private sealed record Call(string KeyId, DateTimeOffset IssuedBy, StatusCode Status);

    /// <summary>One client: refresh (a new access token from auth), call the validator with it, until stopped.</summary>
    private static async Task RefreshAndCallAsync(AuthClient client, AdminOnlyServiceHost validator, string refreshToken,
        ConcurrentQueue<Call> calls, CancellationToken stop)
    {
        for (var i = 0; i < 5_000 && !stop.IsCancellationRequested; i++)
        {
            var session = await client.RefreshAsync(refreshToken);
            var issuedBy = DateTimeOffset.UtcNow;
            refreshToken = session.Token.RefreshToken;
            var status = StatusCode.OK;
            try
            {
                await validator.WhoAmIAsync(session.Token.AccessToken);
            }
            catch (RpcException e)
            {
                status = e.StatusCode;
            }
            calls.Enqueue(new Call(KeyIdOf(session.Token.AccessToken), issuedBy, status));
        }
    }

    /// <summary>True while no client failed (a failure surfaces as itself, not as a timeout).</summary>
    private static bool Running(Task[] clients)
    {
        clients.FirstOrDefault(t => t.IsFaulted)?.GetAwaiter().GetResult();
        return true;
    }

    private static Task<AdminOnlyServiceHost> StartValidatorAsync(Uri jwksUrl) =>
        AdminOnlyServiceHost.StartAsync(jwksUrl, new Dictionary<string, string?>
        {
            ["Auth:JwksMinRefreshInterval"] = "00:00:01",
            ["RateLimits:Enabled"] = "false",
        });

    private static Dictionary<string, string?> Settings(MountedSecretDirectory keys, TimeSpan publishBeforeSigning) => new()
    {
        ["Auth:SigningKeys:Directory"] = keys.Path,
        ["Auth:SigningKeys:PublishBeforeSigning"] = publishBeforeSigning.ToString(),
        ["Auth:SigningKeys:ReloadInterval"] = "00:00:00.100",
    };

    private static (string KeyId, string Pem) NewKey(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return ($"{name}-{Guid.NewGuid().ToString("N")[..8]}", key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>A token as auth would sign it with this key (auth's default issuer and audience).</summary>
    private static string Sign(string keyId, string pem, string userId) =>
        new AccessTokenIssuer(new SigningKeySet([SigningKey.FromPem(keyId, pem)], keyId), new AuthOptions())
            .Issue(userId, "", Role.Customer).Token;

    private static string KeyIdOf(string token) =>
        JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(token.Split('.')[0]))
            .RootElement.GetProperty("kid").GetString()!;

    private static async Task<string> SignUpKeyIdAsync(ServiceTestHost auth) =>
        KeyIdOf((await new AuthClient(auth).SignUpAsync($"restart-{Guid.NewGuid():N}@example.com")).Token.AccessToken);

    private static async Task<HashSet<string>> JwksKeyIdsAsync(AuthClient client) =>
        [.. (await client.GetAsync("/.well-known/jwks.json")).Json.GetProperty("keys").EnumerateArray()
            .Select(k => k.GetProperty("kid").GetString()!)];

    private async Task<DateTimeOffset> PublishedAtAsync(string keyId)
    {
        await using var command = service.DataSource.CreateCommand(
            "SELECT first_published_at FROM auth.signing_keys WHERE key_id = $1");
        command.Parameters.Add(new() { Value = keyId });
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync(), $"{keyId} recorded");
        var at = reader.GetFieldValue<DateTimeOffset>(0);
        Assert.False(await reader.ReadAsync(), $"{keyId} recorded once");
        return at;
    }

    private static Task Until(Func<bool> condition, string what) => Until(() => Task.FromResult(condition()), what);

    private static async Task Until(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not within {Deadline.TotalSeconds} s: {what}");
            await Task.Delay(50);
        }
    }
}
