using System.Security.Cryptography;
using System.Text.Json.Nodes;
using FlashDeal.Contracts.Auth.V1;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FlashDeal.Security.Tests.IntegrationTests;

/// <summary>The JWKS cache against a real HTTP server on 127.0.0.1; time is moved by hand, fetches are counted.</summary>
public sealed class JwksCacheTests : IAsyncLifetime
{
    private readonly ManualTimeProvider _time = new();
    private readonly AuthOptions _options = new() { Issuer = "https://auth.test", Audience = "flashdeal-test" };
    private readonly ECDsa _key1 = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly ECDsa _key2 = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly ListLogger _logger = new();
    private JwksServer _server = null!;
    private JwksCache _cache = null!;
    private AccessTokenValidator _validator = null!;

    private SigningKey Key1 => new("key-1", _key1);

    private SigningKey Key2 => new("key-2", _key2);

    public async Task InitializeAsync()
    {
        _server = await JwksServer.StartAsync(Key1);
        _options.JwksUrl = _server.JwksUrl;
        _cache = new JwksCache(_options, time: _time, logger: new LoggerAdapter<JwksCache>(_logger));
        _validator = new AccessTokenValidator(_cache, _options, _time);
    }

    public async Task DisposeAsync()
    {
        _cache.Dispose();
        await _server.DisposeAsync();
    }

    private string Token(ECDsa key, string kid) =>
        Jws.SignEs256(Jws.Header("ES256", kid), Jws.Payload(_time.GetUtcNow(), _options), key);

    private async Task<TokenValidationResult> Validate(string token) => await _validator.ValidateAsync(token);

    [Fact]
    public async Task KeysAreFetchedOnceAndThenServedFromMemory()
    {
        for (var i = 0; i < 20; i++)
        {
            Assert.True((await Validate(Token(_key1, "key-1"))).IsValid);
        }
        Assert.Equal(1, _server.Fetches);
    }

    [Fact]
    public async Task UnknownKidTriggersOneRefreshThatFindsANewKey()
    {
        Assert.True((await Validate(Token(_key1, "key-1"))).IsValid);
        _server.Publish(Key1, Key2);
        _time.Advance(_options.JwksMinRefreshInterval);

        Assert.True((await Validate(Token(_key2, "key-2"))).IsValid);
        Assert.Equal(2, _server.Fetches);
        Assert.True((await Validate(Token(_key2, "key-2"))).IsValid);
        Assert.Equal(2, _server.Fetches);
    }

    [Fact]
    public async Task RefreshesForUnknownKidsAreRateLimited()
    {
        Assert.True((await Validate(Token(_key1, "key-1"))).IsValid);
        using var forged = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        // Right after a fetch even one refresh is too many.
        Assert.Equal(TokenFailureReason.UnknownKey, (await Validate(Token(forged, "forged"))).Failure);
        Assert.Equal(1, _server.Fetches);
        _time.Advance(_options.JwksMinRefreshInterval);

        // A flood of tokens with made-up kids costs one fetch, not one per token.
        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => Validate(Token(forged, $"forged-{i % 5}"))));
        Assert.All(results, r => Assert.Equal(TokenFailureReason.UnknownKey, r.Failure));
        Assert.Equal(2, _server.Fetches);

        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(TokenFailureReason.UnknownKey, (await Validate(Token(forged, "forged-x"))).Failure);
        Assert.Equal(2, _server.Fetches);

        // Once the interval has passed, an unknown kid may refresh again, and finds a key published meanwhile.
        _server.Publish(Key1, Key2);
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.True((await Validate(Token(_key2, "key-2"))).IsValid);
        Assert.Equal(3, _server.Fetches);
    }

    [Fact]
    public async Task ConcurrentCallersShareOneFetch()
    {
        var release = new TaskCompletionSource();
        _server.BeforeResponse = () => release.Task;

        var pending = Enumerable.Range(0, 20).Select(_ => Validate(Token(_key1, "key-1"))).ToList();
        await WaitUntil(() => _server.Fetches == 1);
        release.SetResult();
        var results = await Task.WhenAll(pending);

        Assert.All(results, r => Assert.True(r.IsValid, r.ToString()));
        Assert.Equal(1, _server.Fetches);
    }

    [Fact]
    public async Task StaleKeysAreServedWhileTheServerIsDown()
    {
        Assert.True((await Validate(Token(_key1, "key-1"))).IsValid);
        await _server.StopAsync();

        // Past the refresh interval: the background refresh fails, the known key keeps working.
        _time.Advance(_options.JwksRefreshInterval + TimeSpan.FromSeconds(1));
        Assert.True((await Validate(Token(_key1, "key-1"))).IsValid);
        await WaitUntil(() => _logger.Entries.Any(e => e.Level == LogLevel.Warning));
        Assert.True((await Validate(Token(_key1, "key-1"))).IsValid);

        // An unknown kid forces a fetch, which fails: the token is refused, the old key still works.
        _time.Advance(_options.JwksMinRefreshInterval);
        Assert.Equal(TokenFailureReason.UnknownKey, (await Validate(Token(_key2, "key-2"))).Failure);
        Assert.True((await Validate(Token(_key1, "key-1"))).IsValid);
        Assert.Contains(_logger.Entries, e => e.Message.Contains("serving the last key set"));
    }

    [Fact]
    public async Task StaleSetIsRefreshedInTheBackgroundWithoutDelayingTheCall()
    {
        Assert.True((await Validate(Token(_key1, "key-1"))).IsValid);
        var release = new TaskCompletionSource();
        _server.BeforeResponse = () => release.Task;
        _time.Advance(_options.JwksRefreshInterval);

        // The fetch is held open by the server, yet the call completes with the cached key.
        Assert.True((await Validate(Token(_key1, "key-1"))).IsValid);
        await WaitUntil(() => _server.Fetches == 2);
        _server.Publish(Key2);
        release.SetResult();
        await WaitUntil(() => _cache.KeyIds.SequenceEqual(["key-2"]));

        Assert.Equal(TokenFailureReason.UnknownKey, (await Validate(Token(_key1, "key-1"))).Failure);
    }

    [Fact]
    public async Task RotationThroughTheJwks()
    {
        var oldToken = Token(_key1, "key-1");
        Assert.True((await Validate(oldToken)).IsValid);

        _server.Publish(Key1, Key2);
        _time.Advance(_options.JwksMinRefreshInterval);
        var newToken = Token(_key2, "key-2");
        Assert.True((await Validate(newToken)).IsValid);
        Assert.True((await Validate(oldToken)).IsValid);

        _server.Publish(Key2);
        _time.Advance(_options.JwksRefreshInterval);
        await _cache.RefreshAsync();
        Assert.Equal(TokenFailureReason.UnknownKey, (await Validate(Token(_key1, "key-1"))).Failure);
        Assert.True((await Validate(Token(_key2, "key-2"))).IsValid);
    }

    [Fact]
    public async Task WithoutAnyFetchedKeysTokensAreNotBlamed()
    {
        await _server.StopAsync();

        var result = await Validate(Token(_key1, "key-1"));

        Assert.Equal(TokenFailureReason.KeysUnavailable, result.Failure);
        Assert.Contains(_logger.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("no keys yet"));
    }

    [Fact]
    public async Task ForeignAndBrokenKeysInTheDocumentAreSkipped()
    {
        var good = Key1.PublicKey;
        var offCurve = Key2.PublicKey.Clone();
        offCurve.Kid = "off-curve";
        offCurve.X = good.X;
        _server.RawJson = new JsonObject
        {
            ["keys"] = new JsonArray(
                new JsonObject { ["kty"] = "RSA", ["kid"] = "rsa", ["n"] = "AQAB", ["e"] = "AQAB", ["alg"] = "RS256" },
                JsonNode.Parse(Google.Protobuf.JsonFormatter.Default.Format(offCurve)),
                JsonNode.Parse(Google.Protobuf.JsonFormatter.Default.Format(good))),
        }.ToJsonString();

        Assert.True((await Validate(Token(_key1, "key-1"))).IsValid);
        Assert.Equal(["key-1"], _cache.KeyIds);
    }

    [Fact]
    public async Task InvalidDocumentKeepsTheLastGoodKeys()
    {
        Assert.True((await Validate(Token(_key1, "key-1"))).IsValid);
        _server.RawJson = "<html>maintenance</html>";
        _time.Advance(_options.JwksMinRefreshInterval);

        Assert.Equal(TokenFailureReason.UnknownKey, (await Validate(Token(_key2, "key-2"))).Failure);
        Assert.Equal(2, _server.Fetches);
        Assert.True((await Validate(Token(_key1, "key-1"))).IsValid);
    }

    [Fact]
    public async Task AddFlashDealAuthenticationFetchesFromTheConfiguredUrl()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Auth:Issuer"] = _options.Issuer,
            ["Auth:Audience"] = _options.Audience,
            ["Auth:JwksUrl"] = _server.JwksUrl.ToString(),
        }).Build();
        await using var services = new ServiceCollection().AddLogging().AddFlashDealAuthentication(configuration)
            .BuildServiceProvider();

        var validator = services.GetRequiredService<AccessTokenValidator>();
        var issued = new AccessTokenIssuer(new SigningKeySet([Key1], "key-1"), _options).Issue("u-1", "", Role.Customer);

        Assert.True((await validator.ValidateAsync(issued.Token)).IsValid);
        Assert.Equal(1, _server.Fetches);
        Assert.IsType<JwksCache>(services.GetRequiredService<ISigningKeySource>());
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }
        Assert.True(condition(), "condition not reached within 5 s");
    }
}
