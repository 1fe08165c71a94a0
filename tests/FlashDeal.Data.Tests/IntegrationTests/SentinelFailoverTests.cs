using System.Diagnostics;
using FlashDeal.TestInfrastructure;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace FlashDeal.Data.Tests.IntegrationTests;

/// <summary>
/// The services' Redis connection (RedisServiceCollectionExtensions) given Sentinel's addresses and service name: it
/// finds the primary through the Sentinels and, when the primary dies, moves to the replica they promote on its own —
/// no restart, no new multiplexer — with what was replicated before the crash still there.
/// </summary>
public sealed class SentinelFailoverTests(RedisSentinelSet redis, ITestOutputHelper output) : IClassFixture<RedisSentinelSet>
{
    private static readonly TimeSpan FailoverBound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task TheServicesConnectionFollowsAFailoverWithoutARestart()
    {
        var oldPrimary = await redis.PrimaryPortAsync();
        using var multiplexer = RedisServiceCollectionExtensions.Connect(redis.ConnectionString);
        var db = multiplexer.GetDatabase();
        var written = Guid.NewGuid().ToString("N");
        await db.StringSetAsync("flash:before", written);
        Assert.Equal(1L, (long)await db.ExecuteAsync("WAIT", 1, 5000)); // on the replica before the crash
        Assert.Equal(written, await redis.ServerOn(oldPrimary).ExecuteAsync("GET", "flash:before"));

        var crashed = Stopwatch.StartNew();
        await redis.KillPrimaryAsync();
        var newPrimary = await redis.WaitForNewPrimaryAsync(oldPrimary, FailoverBound);
        var promoted = crashed.Elapsed;

        // The same multiplexer writes again, on the promoted replica, without being told anything.
        var after = Guid.NewGuid().ToString("N");
        Exception? last = null;
        while (crashed.Elapsed < FailoverBound)
        {
            try
            {
                await db.StringSetAsync("flash:after", after);
                break;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                last = e; // the old primary's address refuses; the client is still moving
                await Task.Delay(100);
            }
        }
        var writable = crashed.Elapsed;
        output.WriteLine($"primary killed; Sentinel promoted {newPrimary} after {promoted.TotalSeconds:0.0} s, " +
                         $"the service connection wrote again after {writable.TotalSeconds:0.0} s");

        Assert.True(writable < FailoverBound, $"no write succeeded within {FailoverBound} of the crash: {last}");
        Assert.Equal(after, await redis.ServerOn(newPrimary).ExecuteAsync("GET", "flash:after"));
        Assert.Equal(written, (string?)await db.StringGetAsync("flash:before"));
        Assert.Equal(written, await redis.ServerOn(newPrimary).ExecuteAsync("GET", "flash:before"));
    }
}
