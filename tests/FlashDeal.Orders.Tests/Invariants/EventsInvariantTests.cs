using FlashDeal.Contracts.Events.V1;
using FlashDeal.Orders.Tests.Events;
using FlashDeal.TestInfrastructure;
using Grpc.Core;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace FlashDeal.Orders.Tests.Invariants;

/// <summary>
/// Domain events across replica kills: three orders replicas as real processes place, pay, cancel and expire orders
/// while one is SIGKILLed mid-way and restarted. Once the streams are drained and the relays caught up, the event
/// stream holds, for every order, exactly the events of the status PostgreSQL has for it, once each, in canonical
/// order; entry ids are the sequences, strictly increasing; and the outbox agrees.
/// </summary>
[Collection(DataServers.Name)]
public sealed class EventsInvariantTests(PostgresDatabase database, RedisServer redis, ITestOutputHelper output)
    : FreshRedisTest(redis), IClassFixture<PostgresDatabase>
{
    private static readonly StatusCode[] OutcomeUnknown =
        [StatusCode.Unavailable, StatusCode.Internal, StatusCode.Unknown, StatusCode.Cancelled, StatusCode.DeadlineExceeded];

    [Fact]
    public async Task EveryStateChangeIsPublishedOnceInOrderAcrossAKilledReplica()
    {
        const int orders = 240;
        await using var jwks = await JwksEndpoint.StartAsync(TestTokens.Shared.Keys);
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__Postgres"] = database.ConnectionString,
            ["Database__MigrateOnStart"] = "true",
            ["ConnectionStrings__Redis"] = Server.ConnectionString,
            ["Auth__Issuer"] = TestTokens.Issuer,
            ["Auth__Audience"] = TestTokens.Audience,
            ["Auth__JwksUrl"] = jwks.Url.ToString(),
            // Unpaid orders expire within the test; payments and cancels come first on a busy machine too (a late
            // one answers ORDER_EXPIRED, and PostgreSQL's status decides what is expected).
            ["Orders__PayWindow"] = "00:00:08",
            ["Orders__PaymentLock"] = "00:00:03",
            ["Orders__PaymentTimeout"] = "00:00:01",
            ["Orders__ExpirySweepInterval"] = "00:00:00.200",
            ["Orders__Stream__PollInterval"] = "00:00:00.020",
            ["Orders__Stream__RegistryRefreshInterval"] = "00:00:00.100",
            ["Orders__Stream__ClaimMinIdle"] = "00:00:02",
            ["Orders__Stream__ClaimInterval"] = "00:00:00.200",
            ["Orders__Events__PollInterval"] = "00:00:00.050",
            ["Orders__Events__BatchSize"] = "50",
        };
        // The first migrates; the others start together.
        var replicas = new OrdersProcess[3];
        replicas[0] = await OrdersProcess.StartAsync(environment);
        var others = await Task.WhenAll(OrdersProcess.StartAsync(environment), OrdersProcess.StartAsync(environment));
        (replicas[1], replicas[2]) = (others[0], others[1]);
        try
        {
            var deal = await new TestDeal { Stock = orders, PerUserLimit = 1 }.WriteAsync(Connection.GetDatabase());
            var gate = new SemaphoreSlim(24);

            async Task<T> CallAsync<T>(int i, Func<OrderClient, Task<T>> call)
            {
                await gate.WaitAsync();
                try
                {
                    for (var attempt = 0; ; attempt++)
                    {
                        try
                        {
                            return await call(replicas[(i + attempt) % 3].Client);
                        }
                        catch (RpcException e) when (OutcomeUnknown.Contains(e.StatusCode) && attempt < 6)
                        {
                            // The replica died under the call: retry elsewhere with the same key or token.
                        }
                        catch (RpcException e) when (e.StatusCode == StatusCode.Aborted && attempt < 40)
                        {
                            // PAYMENT_IN_PROGRESS: a payment the killed replica began holds the order until its lock
                            // (PaymentLock) ends; then it goes on.
                            await Task.Delay(200);
                        }
                    }
                }
                finally
                {
                    gate.Release();
                }
            }

            var placed = await Task.WhenAll(Enumerable.Range(0, orders).Select(i =>
                CallAsync(i, c => c.PlaceAsync($"buyer-{i}", deal.DealId, "k", 1))));
            Assert.All(placed, p => Assert.NotNull(p.Order));

            // Pay a third, cancel a third, leave a third to expire; the first replica is killed half-way and restarted.
            var changed = 0;
            var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var changes = Enumerable.Range(0, orders).Where(i => i % 3 != 2).Select(async i =>
            {
                var order = placed[i].Order;
                try
                {
                    await CallAsync(i, c => i % 3 == 0
                        ? c.PayAsync($"buyer-{i}", order.OrderId, $"tok-{i}")
                        : c.CancelAsync($"buyer-{i}", order.OrderId));
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition)
                {
                    // Expired before the call got through (a busy machine): the order's status says which events.
                }
                if (Interlocked.Increment(ref changed) == orders / 3)
                {
                    var victim = replicas[0];
                    victim.Kill();
                    replicas[0] = await OrdersProcess.StartAsync(environment);
                    await victim.DisposeAsync();
                    killed.SetResult();
                }
            }).ToList();
            await Task.WhenAll(changes);
            await killed.Task;

            // Every order final in PostgreSQL (the unpaid ones expired), then every event on the stream.
            var rows = await PostgresOrders.WaitForStatusAsync(database.DataSource, deal.DealId,
                r => r.Count == orders && r.All(o => o.Status != "PENDING_PAYMENT"), "every order is final in PostgreSQL",
                TimeSpan.FromSeconds(90));
            var expected = rows.ToDictionary(r => r.OrderId.ToString("D"), r => Chain(r.Status));
            var expectedCount = expected.Values.Sum(c => c.Count);
            await Eventually.HoldsAsync(async () => await Connection.GetDatabase().StreamLengthAsync(EventStreams.Orders) >= expectedCount,
                $"the event stream holds {expectedCount} events", TimeSpan.FromSeconds(60));

            var entries = await EventLog.StreamAsync(Connection.GetDatabase());
            Assert.Equal(expectedCount, entries.Count);
            Assert.True(entries.Zip(entries.Skip(1)).All(p => p.First.Event.Sequence < p.Second.Event.Sequence),
                "entry ids strictly increase");
            var published = entries.GroupBy(e => e.Key).ToDictionary(g => g.Key, g => g.Select(e => e.Type).ToList());
            Assert.Equal(expected.Keys.Order(), published.Keys.Order());
            Assert.All(expected, e => Assert.Equal(e.Value, published[e.Key]));
            var outbox = await EventLog.OutboxAsync(database.DataSource);
            Assert.Equal(outbox.Select(r => (EventStreams.EntryId(r.Sequence), r.Type, r.Subject)),
                entries.Select(e => (e.Id, e.Type, e.Key)));
            output.WriteLine($"{rows.Count} orders: {rows.Count(r => r.Status == "PAID")} paid, " +
                $"{rows.Count(r => r.Status == "CANCELLED")} cancelled, {rows.Count(r => r.Status == "EXPIRED")} expired; " +
                $"{entries.Count} events, sequences {entries[0].Event.Sequence}..{entries[^1].Event.Sequence}");
            // Each kind of change happened (else the test proves less than it says).
            Assert.Contains(rows, r => r.Status == "PAID");
            Assert.Contains(rows, r => r.Status == "CANCELLED");
            Assert.Contains(rows, r => r.Status == "EXPIRED");
        }
        finally
        {
            foreach (var replica in replicas)
            {
                await replica.DisposeAsync();
            }
        }
    }

    private static List<string> Chain(string status) => status switch
    {
        "PAID" => [EventLog.Placed, EventLog.Paid],
        "CANCELLED" => [EventLog.Placed, EventLog.Cancelled],
        "EXPIRED" => [EventLog.Placed, EventLog.Expired],
        _ => throw new InvalidOperationException($"Unexpected status {status}"),
    };
}
