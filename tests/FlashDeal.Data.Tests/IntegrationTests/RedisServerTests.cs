using System.Net.Sockets;
using FlashDeal.TestInfrastructure;

namespace FlashDeal.Data.Tests.IntegrationTests;

[Collection(DataServers.Name)]
public sealed class RedisServerTests(RedisServer redis)
{
    [Fact]
    public async Task ServesRedisWithoutPersistence()
    {
        Assert.Equal("PONG", await redis.ExecuteAsync("PING"));
        Assert.Equal("save\n", await redis.ExecuteAsync("CONFIG", "GET", "save"));
        Assert.Equal("appendonly\nno", await redis.ExecuteAsync("CONFIG", "GET", "appendonly"));
    }

    [Fact]
    public async Task FlushAllEmptiesTheServer()
    {
        await redis.ExecuteAsync("SET", "flash:key", "1");

        await redis.FlushAllAsync();

        Assert.Equal("0", await redis.ExecuteAsync("DBSIZE"));
    }

    [Fact]
    public async Task StopRefusesConnectionsAndStartServesOnTheSamePort()
    {
        var port = redis.Port;

        await redis.StopAsync();
        try
        {
            Assert.False(redis.IsRunning);
            await Assert.ThrowsAsync<SocketException>(() => redis.ExecuteAsync("PING"));
        }
        finally
        {
            await redis.StartAsync();
        }

        Assert.Equal(port, redis.Port);
        Assert.Equal("PONG", await redis.ExecuteAsync("PING"));
    }

    [Fact]
    public async Task PauseHoldsCommandsUntilItEnds()
    {
        await redis.PauseAsync(TimeSpan.FromMilliseconds(800));

        var ping = redis.ExecuteAsync("PING");

        await Assert.ThrowsAsync<TimeoutException>(() => ping.WaitAsync(TimeSpan.FromMilliseconds(300)));
        Assert.Equal("PONG", await ping.WaitAsync(TimeSpan.FromSeconds(10)));
    }
}
