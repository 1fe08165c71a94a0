using System.Net;
using System.Text.Json;
using FlashDeal.Catalog.Deals;
using FlashDeal.Catalog.Tests.Infrastructure;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.ServiceDefaults;
using FlashDeal.TestInfrastructure;
using Google.Rpc;
using Grpc.Core;

namespace FlashDeal.Catalog.Tests.IntegrationTests;

/// <summary>Live state by the clock and the Redis stock, and WatchDeal pushing it over gRPC and REST (NDJSON).</summary>
[Collection(DataServers.Name)]
public sealed class DealWatchTests(DealWatchTests.Fixture catalog) : IClassFixture<DealWatchTests.Fixture>
{
    public sealed class Fixture(PostgresServer postgres, RedisServer redis) : CatalogFixture(postgres, redis);

    private static readonly TimeSpan MessageTimeout = TimeSpan.FromSeconds(10);

    private static async Task<DealSnapshot> NextAsync(AsyncServerStreamingCall<WatchDealResponse> call)
    {
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(MessageTimeout),
            "the stream ended early");
        return call.ResponseStream.Current.Snapshot;
    }

    private async Task<DealState> StateAsync(string dealId) =>
        (await catalog.CallAsync(CatalogMethods.GetDeal, new GetDealRequest { DealId = dealId })).Deal.State;

    /// <summary>The next snapshot in another state (a moved window first shows in the same state).</summary>
    private static async Task<DealSnapshot> NextStateAsync(AsyncServerStreamingCall<WatchDealResponse> call,
        DealState current)
    {
        while (true)
        {
            var snapshot = await NextAsync(call);
            if (snapshot.State != current)
            {
                return snapshot;
            }
        }
    }

    [Fact]
    public async Task WatchOverGrpcFollowsTheClockAndTheStockUntilTheDealEnds()
    {
        // The window starts an hour away; once the watch runs it is moved to open a second later, and after the
        // sell-out to close a second later: the clock crosses both instants however slowly the steps between run.
        var product = await catalog.CreateProductAsync();
        var deal = await catalog.CreateDealAsync(product, TimeSpan.FromHours(1), TimeSpan.FromHours(1), stock: 3);
        var stockKey = $"{{deal:{deal.DealId}}}:stock";
        using var call = catalog.Watch(deal.DealId);

        var upcoming = await NextAsync(call);
        Assert.Equal((DealState.Upcoming, 3, 3), (upcoming.State, upcoming.RemainingStock, upcoming.Stock));
        Assert.Equal(deal.StartTime, upcoming.StartTime);
        Assert.Equal(DealState.Upcoming, await StateAsync(deal.DealId));

        var start = DateTime.UtcNow.AddSeconds(1);
        await catalog.MoveDealWindowAsync(deal.DealId, start, start.AddHours(1));
        var live = await NextStateAsync(call, DealState.Upcoming);
        Assert.Equal((DealState.Live, 3), (live.State, live.RemainingStock));
        Assert.True(live.ServerTime.ToDateTime() >= live.StartTime.ToDateTime());
        Assert.True(live.Version > upcoming.Version);
        Assert.Equal(DealState.Live, await StateAsync(deal.DealId));

        await catalog.RedisAsync("DECRBY", stockKey, "1"); // an order
        var ordered = await NextAsync(call);
        Assert.Equal((DealState.Live, 2), (ordered.State, ordered.RemainingStock));

        await catalog.RedisAsync("DECRBY", stockKey, "2");
        var soldOut = await NextAsync(call);
        Assert.Equal((DealState.SoldOut, 0), (soldOut.State, soldOut.RemainingStock));
        Assert.Equal(DealState.SoldOut, await StateAsync(deal.DealId));

        await catalog.MoveDealWindowAsync(deal.DealId, start, DateTime.UtcNow.AddSeconds(1));
        var ended = await NextStateAsync(call, DealState.SoldOut);
        Assert.Equal(DealState.Ended, ended.State);
        Assert.True(ended.ServerTime.ToDateTime() >= ended.EndTime.ToDateTime());
        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(MessageTimeout));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        Assert.Equal(DealState.Ended, await StateAsync(deal.DealId));
    }

    [Fact]
    public async Task WatchOverRestStreamsOneJsonLinePerChange()
    {
        var product = await catalog.CreateProductAsync();
        var deal = await catalog.CreateDealAsync(product, TimeSpan.FromHours(1), TimeSpan.FromHours(1), stock: 10);
        using var response = await catalog.RestAsync(HttpMethod.Get, $"/v1/deals/{deal.DealId}:watch",
            completion: HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // JSON transcoding streams one JSON object per line under application/json (no NDJSON media type).
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());

        async Task<JsonElement> LineAsync()
        {
            var line = await reader.ReadLineAsync().WaitAsync(MessageTimeout);
            Assert.NotNull(line);
            return JsonDocument.Parse(line).RootElement.GetProperty("snapshot").Clone();
        }

        var first = await LineAsync();
        Assert.Equal("DEAL_STATE_UPCOMING", first.GetProperty("state").GetString());
        Assert.Equal(10, first.GetProperty("remainingStock").GetInt32());

        await catalog.RedisAsync("DECRBY", $"{{deal:{deal.DealId}}}:stock", "4");
        var second = await LineAsync();
        Assert.Equal(6, second.GetProperty("remainingStock").GetInt32());

        await catalog.AdminAsync(CatalogMethods.CancelDeal, new CancelDealRequest { DealId = deal.DealId });
        var third = await LineAsync();
        Assert.Equal("DEAL_STATE_CANCELLED", third.GetProperty("state").GetString());
        Assert.Null(await reader.ReadLineAsync().WaitAsync(MessageTimeout)); // the stream ends after a final state
    }

    [Fact]
    public async Task AQuietWatchGetsNoHeartbeatWithinItsInterval()
    {
        // The fixture's heartbeat interval is an hour; the deal's poller ticks every 50 ms all the while.
        var product = await catalog.CreateProductAsync();
        var deal = await catalog.CreateDealAsync(product, TimeSpan.FromHours(1), TimeSpan.FromHours(1));
        var call = catalog.Watch(deal.DealId);
        Assert.Equal(DealState.Upcoming, (await NextAsync(call)).State);

        var next = call.ResponseStream.MoveNext(CancellationToken.None);
        Assert.NotSame(next, await Task.WhenAny(next, Task.Delay(TimeSpan.FromSeconds(1))));
        call.Dispose();
        var error = await Assert.ThrowsAsync<RpcException>(() => next);
        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
    }

    [Fact]
    public async Task WatchingAnUnknownDealIsNotFound()
    {
        using var call = catalog.Watch(Guid.NewGuid().ToString());
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Equal("DEAL_NOT_FOUND", error.GetDetail<ErrorInfo>()?.Reason);

        var rest = await catalog.RestAsync(HttpMethod.Get, $"/v1/deals/{Guid.NewGuid()}:watch");
        Assert.Equal(HttpStatusCode.NotFound, rest.StatusCode);
    }

    [Fact]
    public async Task WatchersOfOneDealShareOnePoller()
    {
        var hub = catalog.Service<DealWatchHub>();
        var product = await catalog.CreateProductAsync();
        var deal = await catalog.CreateDealAsync(product, TimeSpan.FromHours(1), TimeSpan.FromHours(1));
        using var cancel = new CancellationTokenSource();
        var first = catalog.Watch(deal.DealId, cancel.Token);
        var second = catalog.Watch(deal.DealId, cancel.Token);
        await NextAsync(first);
        await NextAsync(second);

        Assert.Equal(1, hub.ActiveFeeds);
        await catalog.RedisAsync("DECRBY", $"{{deal:{deal.DealId}}}:stock", "1");
        Assert.Equal(9, (await NextAsync(first)).RemainingStock);
        Assert.Equal(9, (await NextAsync(second)).RemainingStock);

        first.Dispose();
        second.Dispose();
        await Eventually.HoldsAsync(() => Task.FromResult(hub.ActiveFeeds), count => count == 0);
    }

    [Fact]
    public async Task WatchingAnEndedDealSendsOneSnapshotAndEnds()
    {
        var product = await catalog.CreateProductAsync();
        var deal = await catalog.CreateDealAsync(product, TimeSpan.FromHours(1), TimeSpan.FromHours(1));
        await catalog.MoveDealWindowAsync(deal.DealId, DateTime.UtcNow.AddHours(-2), DateTime.UtcNow.AddHours(-1));
        using var call = catalog.Watch(deal.DealId);

        Assert.Equal(DealState.Ended, (await NextAsync(call)).State);
        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(MessageTimeout));
    }
}
