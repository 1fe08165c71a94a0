using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using FlashDeal.Catalog.Tests.Infrastructure;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.TestInfrastructure;
using Grpc.Core;

namespace FlashDeal.Catalog.Tests.IntegrationTests;

/// <summary>
/// WatchDeal heartbeats (Catalog:WatchHeartbeatInterval at 200 ms here): a quiet stream gets them over gRPC and as
/// NDJSON lines that arrive one by one while the stream stays open; changes still come as snapshots; a heartbeat
/// interval that is not positive stops the service at start.
/// </summary>
[Collection(DataServers.Name)]
public sealed class DealWatchHeartbeatTests(DealWatchHeartbeatTests.Fixture catalog)
    : IClassFixture<DealWatchHeartbeatTests.Fixture>
{
    public sealed class Fixture(PostgresServer postgres, RedisServer redis) : CatalogFixture(postgres, redis)
    {
        protected override IReadOnlyDictionary<string, string?> ClassSettings => new Dictionary<string, string?>
        {
            ["Catalog:WatchHeartbeatInterval"] = "00:00:00.200",
        };
    }

    // Generous for a busy machine: a heartbeat is due every 200 ms.
    private static readonly TimeSpan MessageTimeout = TimeSpan.FromSeconds(10);

    private static async Task<WatchDealResponse> NextAsync(AsyncServerStreamingCall<WatchDealResponse> call)
    {
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(MessageTimeout),
            "the stream ended early");
        return call.ResponseStream.Current;
    }

    /// <summary>The next snapshot, past any heartbeats.</summary>
    private static async Task<DealSnapshot> NextSnapshotAsync(AsyncServerStreamingCall<WatchDealResponse> call)
    {
        while (true)
        {
            var response = await NextAsync(call);
            if (response.Snapshot is { } snapshot)
            {
                Assert.Null(response.Heartbeat);
                return snapshot;
            }
            Assert.NotNull(response.Heartbeat);
        }
    }

    [Fact]
    public async Task AQuietWatchGetsHeartbeatsOverGrpc()
    {
        var product = await catalog.CreateProductAsync();
        var deal = await catalog.CreateDealAsync(product, TimeSpan.FromHours(1), TimeSpan.FromHours(1));
        using var call = catalog.Watch(deal.DealId);

        var first = await NextAsync(call);
        Assert.Equal(DealState.Upcoming, first.Snapshot.State);
        Assert.Null(first.Heartbeat);
        // Nothing changes for an hour: everything that follows is a heartbeat, carrying the server's clock only.
        for (var i = 0; i < 3; i++)
        {
            var next = await NextAsync(call);
            Assert.Null(next.Snapshot);
            Assert.NotNull(next.Heartbeat);
            Assert.True(next.Heartbeat.ServerTime.ToDateTime() >= first.Snapshot.ServerTime.ToDateTime());
        }
    }

    [Fact]
    public async Task AQuietRestWatchGetsHeartbeatLinesOneByOneWhileTheStreamStaysOpen()
    {
        var product = await catalog.CreateProductAsync();
        var deal = await catalog.CreateDealAsync(product, TimeSpan.FromHours(1), TimeSpan.FromHours(1));
        // A client asking for compression: a heartbeat line (~60 bytes) held for a compression threshold would never
        // come.
        var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/deals/{deal.DealId}:watch");
        request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("gzip"));
        request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("br"));
        using var response = await catalog.Host.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(response.Content.Headers.ContentEncoding);
        Assert.Equal("no", Assert.Single(response.Headers.GetValues("X-Accel-Buffering")));
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());

        async Task<JsonElement> LineAsync()
        {
            var line = await reader.ReadLineAsync().WaitAsync(MessageTimeout);
            Assert.NotNull(line);
            return JsonDocument.Parse(line).RootElement.Clone();
        }

        var first = await LineAsync();
        Assert.Equal("DEAL_STATE_UPCOMING", first.GetProperty("snapshot").GetProperty("state").GetString());
        Assert.False(first.TryGetProperty("heartbeat", out _), first.ToString());
        // The deal opens in an hour, so the stream cannot have ended: each line was sent on its own.
        for (var i = 0; i < 3; i++)
        {
            var line = await LineAsync();
            Assert.False(line.TryGetProperty("snapshot", out _), line.ToString());
            var serverTime = line.GetProperty("heartbeat").GetProperty("serverTime").GetDateTimeOffset();
            Assert.True(serverTime > DateTimeOffset.UnixEpoch, line.ToString());
        }
    }

    [Fact]
    public async Task ChangesStillArriveAsSnapshotsBetweenHeartbeats()
    {
        var product = await catalog.CreateProductAsync();
        var deal = await catalog.CreateDealAsync(product, TimeSpan.FromHours(1), TimeSpan.FromHours(1), stock: 10);
        using var call = catalog.Watch(deal.DealId);
        Assert.Equal(10, (await NextAsync(call)).Snapshot.RemainingStock);
        Assert.NotNull((await NextAsync(call)).Heartbeat); // heartbeats are flowing

        await catalog.RedisAsync("DECRBY", $"{{deal:{deal.DealId}}}:stock", "4");
        Assert.Equal(6, (await NextSnapshotAsync(call)).RemainingStock);
        Assert.NotNull((await NextAsync(call)).Heartbeat); // and flow again once it is quiet

        await catalog.AdminAsync(CatalogMethods.CancelDeal, new CancelDealRequest { DealId = deal.DealId });
        Assert.Equal(DealState.Cancelled, (await NextSnapshotAsync(call)).State);
        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(MessageTimeout));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Theory]
    [InlineData("00:00:00")]
    [InlineData("-00:00:01")]
    [InlineData("off")]
    public async Task AHeartbeatIntervalThatIsNotPositiveFailsAtStart(string interval)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() =>
            catalog.StartReplicaAsync(new Dictionary<string, string?> { ["Catalog:WatchHeartbeatInterval"] = interval }));
        Assert.Contains("Catalog:WatchHeartbeatInterval", error.ToString());
    }
}
