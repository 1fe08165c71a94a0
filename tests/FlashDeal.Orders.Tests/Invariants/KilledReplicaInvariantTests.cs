using FlashDeal.Orders.Redis;
using FlashDeal.TestInfrastructure;
using Grpc.Core;
using StackExchange.Redis;

namespace FlashDeal.Orders.Tests.Invariants;

/// <summary>
/// Invariants 1 and 4 when a replica is killed (SIGKILL) in the middle of a spike: no order it accepted is lost, the
/// stream entries it had taken are claimed by the survivors, and clients that retry with their idempotency key on
/// another replica get their order, never a second one.
/// </summary>
[Collection(DataServers.Name)]
public sealed class KilledReplicaInvariantTests(PostgresDatabase database, RedisServer redis)
    : FreshRedisTest(redis), IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task AReplicaKilledMidSpikeLosesNoOrderAndItsPendingEntriesAreClaimed()
    {
        const int stock = 400;
        const int buyers = 2400;
        await using var survivors = await OrderCluster.StartAsync(2, database.ConnectionString, Server.ConnectionString, new()
        {
            // Long enough that the victim still holds its entries when it is killed on a busy machine (the survivors
            // would otherwise claim them from the living victim first), short enough to claim them within the test.
            ["Orders:Stream:ClaimMinIdle"] = "00:00:05",
            ["Orders:Stream:ClaimInterval"] = "00:00:00.200",
        });
        await using var jwks = await JwksEndpoint.StartAsync(TestTokens.Shared.Keys);
        await using var victim = await OrdersProcess.StartCutOffFromPostgresAsync(Server.ConnectionString, jwks);
        var deal = await new TestDeal { Stock = stock, PerUserLimit = 1 }.WriteAsync(Connection.GetDatabase());
        var clients = new[] { victim.Client, survivors.Client(0), survivors.Client(1) };

        var completed = 0;
        var retried = 0;
        var killed = new TaskCompletionSource<IReadOnlyDictionary<string, long>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new SemaphoreSlim(48);
        var calls = Enumerable.Range(0, buyers).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                var outcome = await OrderCluster.PlaceAsync(clients[i % 3], $"buyer-{i}", deal.DealId, "k", 1);
                // Half the stock is sold: the victim is accepting orders when it dies.
                if (Interlocked.Increment(ref completed) == stock / 2)
                {
                    killed.TrySetResult(await KillAsync(victim, deal.DealId));
                }
                // Outcome unknown (the replica died under the call): retry with the same key elsewhere, as clients do.
                for (var attempt = 1; outcome.Code is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown
                    or StatusCode.Cancelled or StatusCode.DeadlineExceeded; attempt++)
                {
                    Assert.True(attempt < 5, $"{outcome.Code} after {attempt} retries");
                    Interlocked.Increment(ref retried);
                    outcome = await OrderCluster.PlaceAsync(clients[1 + (attempt % 2)], $"buyer-{i}", deal.DealId, "k", 1);
                }
                return outcome;
            }
            finally
            {
                gate.Release();
            }
        }).ToArray();
        var outcomes = await Task.WhenAll(calls);
        var pendingAtKill = await killed.Task;

        var accepted = outcomes.Where(o => o.Accepted).ToList();
        Assert.Equal(stock, accepted.Count);
        Assert.Equal(stock, accepted.Select(o => o.Order!.OrderId).Distinct().Count());
        Assert.All(outcomes.Where(o => !o.Accepted), o => Assert.Equal("SOLD_OUT", o.Reason));
        Assert.True(pendingAtKill.Values.Sum() > 0, "the victim held unacknowledged entries when it died");
        Assert.True(retried > 0, "calls in flight on the victim failed and were retried elsewhere");

        var rows = await PostgresOrders.WaitForAsync(database.DataSource, deal.DealId, stock, TimeSpan.FromSeconds(60));
        Assert.Equal(accepted.Select(o => Guid.Parse(o.Order!.OrderId)).Order(), rows.Select(r => r.OrderId).Order());
        var stream = OrderKeys.Stream(deal.DealId);
        await Eventually.HoldsAsync(async () =>
        {
            var pending = await PendingByConsumerAsync(stream);
            return pendingAtKill.Keys.All(victimConsumer => pending.GetValueOrDefault(victimConsumer) == 0)
                && await Connection.GetDatabase().StreamLengthAsync(stream) == 0;
        }, "the victim's entries are claimed and the stream is drained");
        Assert.Equal(0, await TestDeal.RemainingAsync(Connection.GetDatabase(), deal.DealId));
    }

    /// <summary>
    /// Kills the victim once its consumer holds entries (on a busy machine its consumer may not have read any yet when
    /// half the stock is sold: wait for that, bounded) and returns those entries (by consumer name) at that moment.
    /// </summary>
    private async Task<IReadOnlyDictionary<string, long>> KillAsync(OrdersProcess victim, Guid dealId)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline && !(await PendingByConsumerAsync(OrderKeys.Stream(dealId)))
                   .Any(p => p.Key.Contains($"-{victim.ProcessId}-", StringComparison.Ordinal) && p.Value > 0))
        {
            await Task.Delay(10);
        }
        victim.Kill();
        var pending = await PendingByConsumerAsync(OrderKeys.Stream(dealId));
        return pending.Where(p => p.Key.Contains($"-{victim.ProcessId}-", StringComparison.Ordinal))
            .ToDictionary(p => p.Key, p => p.Value);
    }

    /// <summary>XPENDING's summary: entries delivered and not acknowledged, by consumer name.</summary>
    private async Task<Dictionary<string, long>> PendingByConsumerAsync(RedisKey stream) =>
        (await Connection.GetDatabase().StreamPendingAsync(stream, OrderKeys.ConsumerGroup)).Consumers
            .ToDictionary(c => c.Name.ToString(), c => (long)c.PendingMessageCount);
}
