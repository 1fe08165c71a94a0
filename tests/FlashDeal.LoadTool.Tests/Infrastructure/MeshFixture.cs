using System.Security.Cryptography;
using FlashDeal.Auth;
using FlashDeal.Catalog;
using FlashDeal.LoadTool.Api;
using FlashDeal.Orders;
using FlashDeal.Security;
using FlashDeal.ServiceDefaults;
using FlashDeal.TestInfrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace FlashDeal.LoadTool.Tests.Infrastructure;

/// <summary>
/// The FlashDeal mesh in the test process: real PostgreSQL and Redis, and the real auth, catalog and orders services
/// (ServiceTestHost) sharing one database and one signing key, with cheap password hashing and a bootstrap admin. One per
/// test run: the scenarios tag their users and deals, so tests do not disturb each other.
/// </summary>
public sealed class MeshFixture : IAsyncLifetime
{
    public const string AdminEmail = "load-admin@flashdeal.test";
    public const string AdminPassword = "load-admin-password";

    private readonly PostgresServer _postgres = new();
    private readonly RedisServer _redis = new();
    private readonly List<ServiceTestHost> _hosts = [];
    private SigningKey _key = null!;

    private Dictionary<string, string?> _shared = [];

    public string Postgres { get; private set; } = "";

    public string Redis => _redis.ConnectionString;

    public ServiceTestHost Auth { get; private set; } = null!;

    public ServiceTestHost Catalog { get; private set; } = null!;

    public ServiceTestHost Orders { get; private set; } = null!;

    public ServiceEndpoints Grpc => new(Auth.GrpcAddress, Catalog.GrpcAddress, Orders.GrpcAddress);

    public ServiceEndpoints Rest => new(Auth.RestAddress, Catalog.RestAddress, Orders.RestAddress);

    public async Task InitializeAsync()
    {
        await Task.WhenAll(_postgres.StartAsync(), _redis.StartAsync());
        Postgres = await _postgres.CreateDatabaseAsync();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var pem = key.ExportPkcs8PrivateKeyPem();
        _key = SigningKey.FromPem("load-tests", pem);
        var shared = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = Postgres,
            ["ConnectionStrings:Redis"] = Redis,
            ["Database:MigrateOnStart"] = "true",
            ["Auth:Issuer"] = "https://auth.load-tests",
            ["Auth:Audience"] = "flashdeal-load-tests",
            ["Auth:AccessTokenLifetime"] = "00:30:00",
            ["Auth:SigningKeys:Keys:0:KeyId"] = "load-tests",
            ["Auth:SigningKeys:Keys:0:Pem"] = pem,
            // Every simulated user comes from one address here, and greedy users are the point of some tests: the
            // services' own limits are tested in their projects and, under a spike, by tests/e2e/spike.sh.
            ["RateLimits:Enabled"] = "false",
        };
        // Services start one after another: each migrates its own schema in the shared database.
        Auth = await StartAsync(AuthApp.Build, shared, new()
        {
            ["Auth:Passwords:Iterations"] = "1000",
            ["Auth:BootstrapAdmin:Email"] = AdminEmail,
            ["Auth:BootstrapAdmin:Password"] = AdminPassword,
        }, issuer: false);
        Catalog = await StartAsync(CatalogApp.Build, shared, new()
        {
            ["Catalog:WatchPollInterval"] = "00:00:00.050",
            ["Catalog:WarmInterval"] = "01:00:00",
            ["Catalog:BestSellerBackupInterval"] = "01:00:00",
        }, issuer: true);
        _shared = shared;
        Orders = await StartOrdersAsync();
    }

    /// <summary>An orders replica on the mesh's stores (the fixture stops it with the rest); <paramref name="configure"/>
    /// may add to its services.</summary>
    public Task<ServiceTestHost> StartOrdersAsync(Action<WebApplicationBuilder>? configure = null) =>
        StartAsync(OrdersApp.Build, _shared, new()
        {
            ["Orders:Strategy"] = "RedisLua",
            ["Orders:Stream:PollInterval"] = "00:00:00.020",
            ["Orders:Stream:RegistryRefreshInterval"] = "00:00:00.100",
        }, issuer: true, configure);

    private async Task<ServiceTestHost> StartAsync(Func<string[], Action<WebApplicationBuilder>?, WebApplication> build,
        Dictionary<string, string?> shared, Dictionary<string, string?> own, bool issuer,
        Action<WebApplicationBuilder>? configure = null)
    {
        var settings = new Dictionary<string, string?>(shared);
        foreach (var (name, value) in own)
        {
            settings[name] = value;
        }
        var host = await ServiceTestHost.StartAsync(build, settings, builder =>
        {
            // Catalog and orders check tokens with the shared key directly instead of fetching the auth service's JWKS.
            if (issuer)
            {
                builder.Services.UseLocalSigningKeys(_ => [_key]);
            }
            configure?.Invoke(builder);
        });
        lock (_hosts)
        {
            _hosts.Add(host);
        }
        return host;
    }

    public async Task DisposeAsync()
    {
        for (var i = _hosts.Count - 1; i >= 0; i--)
        {
            await _hosts[i].DisposeAsync();
        }
        await ((IAsyncLifetime)_redis).DisposeAsync();
        await ((IAsyncLifetime)_postgres).DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class MeshCollection : ICollectionFixture<MeshFixture>
{
    public const string Name = "mesh";
}
