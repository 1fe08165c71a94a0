using FlashDeal.TestInfrastructure;
using StackExchange.Redis;

namespace FlashDeal.Orders.Tests;

/// <summary>
/// A test class that starts every test on an empty Redis (xunit makes one instance per test) with a connection of its
/// own: <see cref="Server"/> is the shared server, <see cref="Connection"/> the connection, closed after the test.
/// A class that prepares more overrides <see cref="InitializeAsync"/> and calls the base first.
/// </summary>
public abstract class FreshRedisTest(RedisServer server) : IAsyncLifetime
{
    protected RedisServer Server { get; } = server;

    protected ConnectionMultiplexer Connection { get; private set; } = null!;

    public virtual async Task InitializeAsync()
    {
        await Server.FlushAllAsync();
        Connection = await ConnectionMultiplexer.ConnectAsync(Server.ConnectionString);
    }

    public virtual Task DisposeAsync()
    {
        Connection.Dispose();
        return Task.CompletedTask;
    }
}
