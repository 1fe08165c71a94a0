using System.Collections;
using System.Diagnostics;
using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Data.Redis;
using FlashDeal.Orders.Persistence;
using FlashDeal.TestInfrastructure;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using StackExchange.Redis;

namespace FlashDeal.Orders.Tests.IntegrationTests;

/// <summary>
/// One PlaceOrder as the edge sends it (a traceparent whose trace id is the edge's request id, sampled), through the real
/// service to Redis and on to the stream consumer that writes the order to PostgreSQL, seen by an in-memory exporter: the
/// service's span continues the edge's trace, the Redis script call is its child, and the persistence span is linked
/// to the placement.
/// </summary>
[Collection(DataServers.Name)]
public sealed class TracingTests(PostgresDatabase database, RedisServer redis) : IClassFixture<PostgresDatabase>, IAsyncLifetime
{
    private readonly Spans _spans = new();
    private OrdersHost _host = null!;
    private ConnectionMultiplexer _redis = null!;

    public async Task InitializeAsync()
    {
        await redis.FlushAllAsync();
        // Nothing is sampled on its own: only the caller's sampled flag records a trace.
        _host = await OrdersHost.StartAsync(database.ConnectionString, redis.ConnectionString,
            new Dictionary<string, string?> { ["Telemetry:Tracing:Enabled"] = "true", ["Telemetry:TraceSampleRatio"] = "0" },
            builder => builder.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(_spans)));
        _redis = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _redis.Dispose();
    }

    [Fact]
    public async Task APlacementFromTheEdgeIsOneTraceThroughRedisToThePersistence()
    {
        var deal = await new TestDeal().WriteAsync(_redis.GetDatabase());
        // What the edge sends when the caller sent none: its request id as trace id, its first 16 digits as span id.
        var edgeTrace = ActivityTraceId.CreateRandom();
        var edgeSpan = ActivitySpanId.CreateFromString(edgeTrace.ToHexString().AsSpan(0, 16));
        // A client that adds no trace headers of its own (the test process has listeners too).
        using var channel = GrpcChannel.ForAddress(_host.Host.GrpcAddress,
            new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler { ActivityHeadersPropagator = null } });
        var headers = new Metadata
        {
            { "authorization", TestTokens.Shared.Bearer("traced-buyer") },
            { "traceparent", $"00-{edgeTrace.ToHexString()}-{edgeSpan.ToHexString()}-01" },
        };
        var placed = await new OrderService.OrderServiceClient(channel).PlaceOrderAsync(
            new PlaceOrderRequest { DealId = deal.DealId.ToString("D"), IdempotencyKey = "traced", Quantity = 1 },
            headers, DateTime.UtcNow.AddSeconds(30));
        await PostgresOrders.WaitForAsync(database.DataSource, deal.DealId, 1, TimeSpan.FromSeconds(30));

        Activity? server = null, persist = null;
        List<Activity> scripts = [];
        await Eventually.HoldsAsync(() =>
        {
            var spans = _spans.Snapshot();
            server = spans.SingleOrDefault(a => a.Kind == ActivityKind.Server && a.TraceId == edgeTrace);
            // The first call of a deal's first order may run the script twice (registering the deal's stream between).
            scripts = [.. spans.Where(a => a.DisplayName == "EVALSHA place_order" && a.TraceId == edgeTrace)];
            persist = spans.FirstOrDefault(a => a.DisplayName == "persist orders"
                && a.Links.Any(l => l.Context.TraceId == edgeTrace));
            return Task.FromResult(server is not null && scripts.Count > 0 && persist is not null);
        }, "the service, Redis and persistence spans of the placement are exported");

        Assert.Equal(edgeSpan, server!.ParentSpanId);
        Assert.Equal(ActivityTraceFlags.Recorded, server.ActivityTraceFlags & ActivityTraceFlags.Recorded);
        Assert.All(scripts, script =>
        {
            Assert.Equal(server.SpanId, script.ParentSpanId);
            Assert.Equal(ActivityKind.Client, script.Kind);
            Assert.Equal("redis", script.GetTagItem("db.system.name"));
            Assert.Equal(RedisScript.ActivitySourceName, script.Source.Name);
        });
        // PostgreSQL's own span (Npgsql) sits under the persistence span.
        Assert.Contains(_spans.Snapshot(), a => a.Source.Name == "Npgsql" && a.ParentSpanId == persist!.SpanId);
        var link = Assert.Single(persist!.Links, l => l.Context.TraceId == edgeTrace);
        Assert.Equal(server.SpanId, link.Context.SpanId);
        Assert.Equal(OrderStreamConsumer.ActivitySourceName, persist.Source.Name);
        Assert.Equal(edgeTrace, persist.TraceId);
        Assert.NotEmpty(placed.Order.OrderId);
    }

    [Fact]
    public async Task AnUnsampledCallLeavesNoSpansAndNoTraceOnTheStream()
    {
        var deal = await new TestDeal().WriteAsync(_redis.GetDatabase());
        using var channel = GrpcChannel.ForAddress(_host.Host.GrpcAddress,
            new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler { ActivityHeadersPropagator = null } });
        var trace = ActivityTraceId.CreateRandom();
        var headers = new Metadata
        {
            { "authorization", TestTokens.Shared.Bearer("untraced-buyer") },
            { "traceparent", $"00-{trace.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-00" },
        };
        await new OrderService.OrderServiceClient(channel).PlaceOrderAsync(
            new PlaceOrderRequest { DealId = deal.DealId.ToString("D"), IdempotencyKey = "untraced", Quantity = 1 },
            headers, DateTime.UtcNow.AddSeconds(30));
        await PostgresOrders.WaitForAsync(database.DataSource, deal.DealId, 1, TimeSpan.FromSeconds(30));

        Assert.DoesNotContain(_spans.Snapshot(), a => a.TraceId == trace);
    }

    /// <summary>The exporter's collection, safe to read while the exporter adds to it.</summary>
    private sealed class Spans : ICollection<Activity>
    {
        private readonly List<Activity> _items = [];

        public int Count
        {
            get
            {
                lock (_items)
                {
                    return _items.Count;
                }
            }
        }

        public bool IsReadOnly => false;

        public List<Activity> Snapshot()
        {
            lock (_items)
            {
                return [.. _items];
            }
        }

        public void Add(Activity item)
        {
            lock (_items)
            {
                _items.Add(item);
            }
        }

        public void Clear()
        {
            lock (_items)
            {
                _items.Clear();
            }
        }

        public bool Contains(Activity item) => Snapshot().Contains(item);

        public void CopyTo(Activity[] array, int arrayIndex) => Snapshot().CopyTo(array, arrayIndex);

        public bool Remove(Activity item)
        {
            lock (_items)
            {
                return _items.Remove(item);
            }
        }

        public IEnumerator<Activity> GetEnumerator() => Snapshot().GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
