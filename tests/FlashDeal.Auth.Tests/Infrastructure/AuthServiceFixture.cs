using FlashDeal.TestInfrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace FlashDeal.Auth.Tests;

/// <summary>
/// A class fixture: a fresh database, an empty Redis and the real auth service hosted in-process with test settings
/// (cheap password hashing). Subclasses change settings; <see cref="StartHostAsync"/> starts more hosts on the same data.
/// </summary>
public class AuthServiceFixture(PostgresServer postgres, RedisServer redis) : IAsyncLifetime
{
    private readonly List<ServiceTestHost> _hosts = [];

    public PostgresServer Postgres => postgres;

    public RedisServer Redis => redis;

    public string ConnectionString { get; private set; } = "";

    public NpgsqlDataSource DataSource { get; private set; } = null!;

    public ServiceTestHost Host { get; private set; } = null!;

    public AuthClient Client { get; private set; } = null!;

    /// <summary>Every log entry of the main host, from its first line on.</summary>
    public LogCapture Logs { get; } = new();

    /// <summary>Settings on top of the defaults below, for the main host.</summary>
    protected virtual IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>();

    public virtual async Task InitializeAsync()
    {
        await redis.FlushAllAsync();
        ConnectionString = await postgres.CreateDatabaseAsync();
        DataSource = NpgsqlDataSource.Create(ConnectionString);
        Host = await StartHostAsync(Settings, Logs);
        Client = new AuthClient(Host);
    }

    public async Task<ServiceTestHost> StartHostAsync(IReadOnlyDictionary<string, string?> settings, LogCapture? logs = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = ConnectionString,
            ["ConnectionStrings:Redis"] = redis.ConnectionString,
            ["Auth:Passwords:Iterations"] = "1000",
            // The log-in throttle tests fail dozens of log-ins from one address; RateLimitTests turns the limits on.
            ["RateLimits:Enabled"] = "false",
        };
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }
        var host = await ServiceTestHost.StartAsync(AuthApp.Build, all, builder => Capture(builder, logs ?? new LogCapture()));
        _hosts.Add(host);
        return host;
    }

    /// <summary>Stops a host started by <see cref="StartHostAsync"/> before the class ends (a restart).</summary>
    public async Task StopHostAsync(ServiceTestHost host)
    {
        _hosts.Remove(host);
        await host.DisposeAsync();
    }

    public virtual async Task DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }
        await DataSource.DisposeAsync();
    }

    private static void Capture(WebApplicationBuilder builder, LogCapture logs) => builder.Logging.AddProvider(logs);
}
