using FlashDeal.Contracts.Auth.V1;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FlashDeal.Security;

/// <summary>
/// The auth service's public keys, fetched over HTTP and kept in memory so validating a token never calls auth.
/// A known key is served at once (a stale set is refreshed in the background); an unknown `kid` triggers one refresh,
/// at most once per <see cref="AuthOptions.JwksMinRefreshInterval"/>; when auth cannot be reached the last set keeps
/// being served. Concurrent callers share one fetch.
/// </summary>
public sealed class JwksCache : ISigningKeySource, IDisposable
{
    // An empty cache (auth never reached) may retry sooner than a full one: every call fails until it succeeds.
    private static readonly TimeSpan EmptyRetryInterval = TimeSpan.FromSeconds(1);
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    private readonly AuthOptions _options;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private volatile Snapshot? _snapshot;
    private Task? _fetch;
    private DateTimeOffset _lastAttempt = DateTimeOffset.MinValue;

    public JwksCache(AuthOptions options, HttpClient? http = null, TimeProvider? time = null, ILogger<JwksCache>? logger = null)
    {
        _options = options;
        _ownsHttp = http is null;
        _http = http ?? new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            MaxResponseContentBufferSize = 1024 * 1024,
        };
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger<JwksCache>.Instance;
    }

    /// <summary>Ids of the keys currently cached.</summary>
    public IReadOnlyCollection<string> KeyIds => _snapshot?.Keys.Keys ?? (IReadOnlyCollection<string>)[];

    public async ValueTask<SigningKey?> FindAsync(string keyId, CancellationToken cancellationToken = default)
    {
        var snapshot = _snapshot;
        if (snapshot is not null && snapshot.Keys.TryGetValue(keyId, out var key))
        {
            if (_time.GetUtcNow() - snapshot.FetchedAt >= _options.JwksRefreshInterval)
            {
                _ = StartFetch();
            }
            return key;
        }

        if (StartFetch() is { } fetch)
        {
            await fetch.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        snapshot = _snapshot;
        return snapshot is null
            ? throw new SigningKeysUnavailableException($"No signing keys could be fetched from {_options.JwksUrl} yet.")
            : snapshot.Keys.GetValueOrDefault(keyId);
    }

    /// <summary>Fetches now unless a fetch is under way (then awaits that one); ignores the rate limit.</summary>
    public Task RefreshAsync()
    {
        lock (_gate)
        {
            return _fetch ??= BeginFetch();
        }
    }

    /// <summary>The fetch under way, a new one if the rate limit allows, or null.</summary>
    private Task? StartFetch()
    {
        lock (_gate)
        {
            if (_fetch is not null)
            {
                return _fetch;
            }
            var spacing = _snapshot is null ? EmptyRetryInterval : _options.JwksMinRefreshInterval;
            return _time.GetUtcNow() - _lastAttempt >= spacing ? _fetch = BeginFetch() : null;
        }
    }

    private async Task BeginFetch()
    {
        _lastAttempt = _time.GetUtcNow();
        // Run outside the caller's lock and context; a caller that gives up does not cancel the shared fetch.
        await Task.Yield();
        try
        {
            using var timeout = new CancellationTokenSource(_options.JwksFetchTimeout);
            var json = await _http.GetStringAsync(_options.JwksUrl, timeout.Token).ConfigureAwait(false);
            var keys = ParseJwks(json, _logger);
            _snapshot = new Snapshot(keys, _time.GetUtcNow());
            _logger.LogDebug("Fetched JWKS from {JwksUrl}: keys {KeyIds}", _options.JwksUrl, string.Join(", ", keys.Keys));
        }
        catch (Exception e)
        {
            // Whatever went wrong (network, HTTP status, bad JSON), the last good key set stays in use.
            _logger.LogWarning("Fetching JWKS from {JwksUrl} failed ({Error}); {State}", _options.JwksUrl, e.Message,
                _snapshot is null ? "no keys yet" : "serving the last key set");
        }
        finally
        {
            lock (_gate)
            {
                _fetch = null;
            }
        }
    }

    /// <summary>Reads a JWK Set; keys that are not EC P-256 ES256 signing keys are skipped.</summary>
    public static Dictionary<string, SigningKey> ParseJwks(string json, ILogger? logger = null)
    {
        var document = Parser.Parse<GetJwksResponse>(json);
        var keys = new Dictionary<string, SigningKey>(StringComparer.Ordinal);
        foreach (var jwk in document.Keys)
        {
            try
            {
                var key = SigningKey.FromJsonWebKey(jwk);
                keys.TryAdd(key.KeyId, key);
            }
            catch (Exception e) when (e is FormatException or ArgumentException)
            {
                logger?.LogWarning("Skipping JWK {KeyId}: {Reason}", jwk.Kid, e.Message);
            }
        }
        return keys;
    }

    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    private sealed record Snapshot(Dictionary<string, SigningKey> Keys, DateTimeOffset FetchedAt);
}
