using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace FlashDeal.Security;

/// <summary>
/// The keys a validator trusts: IdentityModel's <see cref="ConfigurationManager{T}"/> over auth's JWKS (cached, refreshed
/// in the background every AutomaticRefreshInterval), plus what that class cannot do: fetch the set now and let the
/// caller wait for it. <see cref="AccessTokenHandler"/> asks for that when a token names a `kid` the cached set lacks
/// (a key auth published after this service last fetched), then validates the same token again, so the call is not
/// refused while a background refresh runs. One fetch at a time, at most one per <see cref="MinRefreshInterval"/>, so
/// tokens with made-up kids cannot make the service hammer auth. A fetch replaces the inner manager with a new one that
/// holds the fresh set (its first fetch is awaited); a failed fetch keeps the current one.
/// </summary>
public sealed class JwksConfigurationManager : BaseConfigurationManager, IConfigurationManager<OpenIdConnectConfiguration>
{
    private readonly Func<ConfigurationManager<OpenIdConnectConfiguration>> _create;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private ConfigurationManager<OpenIdConnectConfiguration> _current;
    private Task<bool>? _refreshing;
    private long _lastRefresh = long.MinValue;
    private long _generation;

    /// <param name="create">A manager for auth's JWKS with the service's settings; called once now and once per refresh.</param>
    public JwksConfigurationManager(Func<ConfigurationManager<OpenIdConnectConfiguration>> create, TimeSpan minRefreshInterval,
        TimeProvider? time = null)
    {
        _create = create;
        _current = create();
        _time = time ?? TimeProvider.System;
        MinRefreshInterval = minRefreshInterval;
        MetadataAddress = _current.MetadataAddress;
        AutomaticRefreshInterval = _current.AutomaticRefreshInterval;
        RefreshInterval = _current.RefreshInterval;
    }

    public TimeSpan MinRefreshInterval { get; }

    /// <summary>Changes whenever a refresh installed a new set: read it before validating, hand it to <see cref="RefreshAsync"/>.</summary>
    public long Generation => Volatile.Read(ref _generation);

    public Task<OpenIdConnectConfiguration> GetConfigurationAsync(CancellationToken cancel) =>
        Volatile.Read(ref _current).GetConfigurationAsync(cancel);

    public override async Task<BaseConfiguration> GetBaseConfigurationAsync(CancellationToken cancel) =>
        await GetConfigurationAsync(cancel).ConfigureAwait(false);

    /// <summary>The library's own refresh (in the background): JwtBearer's RefreshOnIssuerKeyNotFound calls it.</summary>
    public override void RequestRefresh() => Volatile.Read(ref _current).RequestRefresh();

    /// <summary>
    /// Makes sure the set is at most <see cref="MinRefreshInterval"/> old, waiting for a fetch if one is due or running.
    /// True when the set changed since <paramref name="seenGeneration"/> (validate again), false when nothing newer can
    /// be had now.
    /// </summary>
    public Task<bool> RefreshAsync(long seenGeneration)
    {
        lock (_lock)
        {
            if (_generation != seenGeneration)
            {
                return Task.FromResult(true);
            }
            if (_refreshing is { } running)
            {
                return running;
            }
            var now = _time.GetTimestamp();
            if (_lastRefresh != long.MinValue && _time.GetElapsedTime(_lastRefresh, now) < MinRefreshInterval)
            {
                return Task.FromResult(false);
            }
            _lastRefresh = now;
            // Never inline: FetchAsync clears _refreshing under this lock when it ends.
            return _refreshing = Task.Run(FetchAsync);
        }
    }

    private async Task<bool> FetchAsync()
    {
        try
        {
            var fresh = _create();
            // A new manager has no set yet, so this call fetches and waits (the shared HttpClient's timeout bounds it).
            await fresh.GetConfigurationAsync(CancellationToken.None).ConfigureAwait(false);
            lock (_lock)
            {
                _current = fresh;
                _generation++;
            }
            return true;
        }
        catch (Exception e) when (e is InvalidOperationException or HttpRequestException or OperationCanceledException)
        {
            // Auth unreachable or its document unusable: keep the set we have; the library logged the cause.
            return false;
        }
        finally
        {
            lock (_lock)
            {
                _refreshing = null;
            }
        }
    }
}
