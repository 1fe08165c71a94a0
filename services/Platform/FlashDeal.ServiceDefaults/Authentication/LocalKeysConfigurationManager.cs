using FlashDeal.Security;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace FlashDeal.ServiceDefaults;

/// <summary>
/// The issuer's own keys as JwtBearer's configuration: whatever set the source holds now, rebuilt only when the source
/// swapped in a new one (a key added to or removed from auth's key directory).
/// </summary>
internal sealed class LocalKeysConfigurationManager(ISigningKeySource source)
    : BaseConfigurationManager, IConfigurationManager<OpenIdConnectConfiguration>
{
    private Built? _built;

    public Task<OpenIdConnectConfiguration> GetConfigurationAsync(CancellationToken cancel) =>
        Task.FromResult(Build());

    public override Task<BaseConfiguration> GetBaseConfigurationAsync(CancellationToken cancel) =>
        Task.FromResult<BaseConfiguration>(Build());

    public override void RequestRefresh()
    {
        // Nothing to fetch: the source is in this process.
    }

    private OpenIdConnectConfiguration Build()
    {
        var current = source.Current;
        if (Volatile.Read(ref _built) is { } built && ReferenceEquals(built.Set, current))
        {
            return built.Configuration;
        }
        var configuration = JwksRetriever.FromKeys(current.Keys);
        Volatile.Write(ref _built, new Built(current, configuration));
        return configuration;
    }

    private sealed record Built(SigningKeySet Set, OpenIdConnectConfiguration Configuration);
}
