using System.Text.Json;
using FlashDeal.Interop.Tests.Infrastructure;
using Grpc.Core;

namespace FlashDeal.Interop.Tests;

/// <summary>
/// The cases every independent client runs against the real auth, catalog and orders services, asserted from the JSON
/// line the client printed per case and from what the services recorded of its calls. Each derived class names its
/// client (fixture) and adds the cases where clients differ (compression, reflection).
/// </summary>
[Collection(InteropCollection.Name)]
public abstract class InteropTests<TFixture>(TFixture fixture) : IClassFixture<TFixture>
    where TFixture : InteropClientFixture
{
    public static readonly string[] CatalogEndpointServices =
    [
        "flashdeal.catalog.v1.CatalogService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ];

    /// <summary>Every case tags its calls, reflection included (buf: --reflect-header).</summary>
    public static readonly string[] TaggedCases =
    [
        "reflection", "health", "health_watch", "get_deal", "place_order", "sold_out", "deal_not_found", "invalid_argument",
        "unauthenticated", "deadline", "heartbeat", "metadata", "oversized", "gzip", "watch_deal",
    ];

    protected TFixture Fixture { get; } = fixture;

    protected InteropMesh Mesh => Fixture.Mesh;

    [Fact]
    public void ReflectionListsTheCatalogEndpointsServicesOverV1AndV1Alpha()
    {
        var result = Fixture.Case("reflection");
        Assert.Equal(CatalogEndpointServices, Strings(result, "services").Order(StringComparer.Ordinal));
        Assert.Equal(CatalogEndpointServices, Strings(result, "v1alpha_services").Order(StringComparer.Ordinal));
    }

    [Fact]
    public void HealthCheckServesTheServiceAndItsApiAndRejectsUnknownNames()
    {
        var result = Fixture.Case("health");
        Assert.Equal("SERVING", Text(result, "overall"));
        Assert.Equal("SERVING", Text(result, "catalog"));
        Assert.Equal((int)StatusCode.NotFound, Int(result, "unknown_code"));
    }

    [Fact]
    public void HealthWatchSendsServingFirst() =>
        Assert.Equal("SERVING", Text(Fixture.Case("health_watch"), "first_status"));

    [Fact]
    public void GetDealReturnsTheLiveDeal()
    {
        var result = Fixture.Case("get_deal");
        Assert.Equal(0, Code(result));
        Assert.Equal(Mesh.LiveDeal.DealId, Text(result, "deal_id"));
        Assert.Equal(Mesh.LiveDeal.Title, Text(result, "title"));
        Assert.Equal("DEAL_STATE_LIVE", Text(result, "state"));
        Assert.InRange(Int(result, "remaining_stock"), 1, InteropMesh.LiveDealStock);
    }

    [Fact]
    public void PlaceOrderWithTheBearerTokenIsAcceptedAndReplayedForTheSameIdempotencyKey()
    {
        var result = Fixture.Case("place_order");
        Assert.Equal(0, Code(result));
        Assert.Equal(Mesh.LiveDeal.DealId, Text(result, "deal_id"));
        Assert.Equal("ORDER_STATUS_PENDING_PAYMENT", Text(result, "status"));
        Assert.False(Bool(result, "replayed"));
        Assert.Equal(0, Int(result, "replay_code"));
        Assert.True(Bool(result, "replay_replayed"));
        Assert.Equal(Text(result, "order_id"), Text(result, "replay_order_id"));
        var calls = Fixture.CallsOf("place_order");
        Assert.Equal(2, calls.Count);
        Assert.All(calls, c => Assert.Equal("/flashdeal.orders.v1.OrderService/PlaceOrder", c.Path));
    }

    /// <summary>
    /// PlaceOrder's refusals end the call through its status (a placeholder message goes before the trailers instead of
    /// an exception in the server): every client must still see only the error, with its ErrorInfo, and no response.
    /// </summary>
    [Fact]
    public void SoldOutIsTheCallsErrorWithErrorInfoAndNoResponse()
    {
        var result = Fixture.Case("sold_out");
        Assert.Equal((int)StatusCode.FailedPrecondition, Code(result));
        Assert.Equal("SOLD_OUT", Text(result, "reason"));
        Assert.Equal("orders.flashdeal.dev", Text(result, "domain"));
        Assert.Equal((int)StatusCode.FailedPrecondition, Int(result, "second_code"));
        Assert.Equal("SOLD_OUT", Text(result, "second_reason"));
        Assert.Equal(0, Int(result, "next_code"));
        foreach (var field in new[] { "response", "second_response" })
        {
            Assert.True(!result.TryGetProperty(field, out var response) || response.ValueKind == JsonValueKind.Null,
                $"{field} should be absent: {result}");
        }
        Assert.Equal(3, Fixture.CallsOf("sold_out").Count(c => c.Path == "/flashdeal.orders.v1.OrderService/PlaceOrder"));
    }

    [Fact]
    public void UnknownDealIsNotFoundWithErrorInfo()
    {
        var result = Fixture.Case("deal_not_found");
        Assert.Equal((int)StatusCode.NotFound, Code(result));
        Assert.Contains("google.rpc.ErrorInfo", Strings(result, "types"));
        Assert.Equal("DEAL_NOT_FOUND", Text(result, "reason"));
        Assert.Equal("catalog.flashdeal.dev", Text(result, "domain"));
    }

    [Fact]
    public void MalformedDealIdIsInvalidArgumentWithBadRequestNamingTheField()
    {
        var result = Fixture.Case("invalid_argument");
        Assert.Equal((int)StatusCode.InvalidArgument, Code(result));
        Assert.Contains("google.rpc.BadRequest", Strings(result, "types"));
        Assert.Contains("deal_id", Strings(result, "fields"));
    }

    [Fact]
    public void PlaceOrderWithoutTokenIsUnauthenticatedWithErrorInfo()
    {
        var result = Fixture.Case("unauthenticated");
        Assert.Equal((int)StatusCode.Unauthenticated, Code(result));
        Assert.Equal("ACCESS_TOKEN_MISSING", Text(result, "reason"));
        Assert.Equal("auth.flashdeal.dev", Text(result, "domain"));
    }

    [Fact]
    public void DeadlineEndsAQuietWatchWithDeadlineExceeded()
    {
        var result = Fixture.Case("deadline");
        Assert.Equal((int)StatusCode.DeadlineExceeded, Code(result));
        var watch = Assert.Single(Fixture.CallsOf("deadline"));
        Assert.Equal("/flashdeal.catalog.v1.CatalogService/WatchDeal", watch.Path);
        Assert.True(InteropCallRecorder.TryParseTimeout(watch.Timeout, out var timeout), $"grpc-timeout '{watch.Timeout}'");
        Assert.InRange(timeout, TimeSpan.FromTicks(1), InteropClientFixture.ShortDeadline + Fixture.TimeoutRounding);
    }

    [Fact]
    public void AQuietWatchSendsHeartbeatsTheClientTellsFromSnapshots()
    {
        var result = Fixture.Case("heartbeat");
        NoError(result);
        Assert.False(result.TryGetProperty("code", out var code) && code.ValueKind == JsonValueKind.Number,
            $"the watch ended before three heartbeats: {result}");
        var kinds = result.GetProperty("kinds").EnumerateArray().Select(k => k.GetString()!).ToArray();
        Assert.Equal(new[] { "snapshot", "heartbeat", "heartbeat", "heartbeat" }, kinds);
        var times = Ints(result, "heartbeat_times");
        // The server's clock (Unix seconds), not an unset timestamp.
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Assert.All(times, t => Assert.InRange(t, now - 3600, now + 3600));
    }

    [Fact]
    public void MetadataTravelsBothWaysIncludingBinaryStatusDetails()
    {
        var result = Fixture.Case("metadata");
        Assert.Equal(0, Code(result));
        Assert.Equal($"interop-{Fixture.Client}", Text(result, "request_id"));
        Assert.Contains(Text(result, "stock_source"), new[] { "redis", "fallback" });
        Assert.Equal((int)StatusCode.NotFound, Int(result, "error_code"));
        Assert.Equal(Int(result, "error_code"), Int(result, "status_code"));
        Assert.Equal("DEAL_NOT_FOUND", Text(result, "reason"));
    }

    [Fact]
    public void RequestOverFourMebibytesIsResourceExhaustedAndTheNextCallWorks()
    {
        var result = Fixture.Case("oversized");
        Assert.Equal((int)StatusCode.ResourceExhausted, Code(result));
        Assert.Equal(0, Int(result, "next_code"));
        Assert.Contains(Fixture.CallsOf("oversized"), c => c.Path == "/flashdeal.auth.v1.AuthService/SignUp");
    }

    [Fact]
    public void LargeResponseArrivesGzipCompressedAndIsDecoded()
    {
        var result = Fixture.Case("gzip");
        Assert.Equal(0, Code(result));
        Assert.Equal(Mesh.ProductCount, Int(result, "products"));
        var call = Assert.Single(Fixture.CallsOf("gzip"));
        Assert.Contains("gzip", call.AcceptEncoding);
        Assert.Equal("gzip", call.ResponseEncoding);
        Assert.True(call.ResponseCompressed, call.ToString());
        // Below the service's 1 KiB threshold a response goes uncompressed, gzip offered or not.
        Assert.All(Fixture.CallsOf("get_deal"), c => Assert.False(c.ResponseCompressed, c.ToString()));
    }

    [Fact]
    public void WatchDealStreamsLowerStockAfterAnOrderInOrder()
    {
        var result = Fixture.Case("watch_deal");
        Assert.Equal(0, Int(result, "order_code"));
        var remaining = Ints(result, "remaining");
        var versions = result.GetProperty("versions").EnumerateArray().Select(v => long.Parse(v.GetString()!)).ToArray();
        Assert.True(remaining.Length >= 2, $"messages: {result}");
        Assert.True(remaining[^1] < remaining[0], $"remaining stock did not go down: {result}");
        Assert.Equal(remaining.OrderDescending(), remaining);
        Assert.Equal(versions.Order().Distinct(), versions);
    }

    [Fact]
    public void CallsCameFromTheClientUnderTest()
    {
        var calls = Fixture.Calls;
        Assert.NotEmpty(calls);
        Assert.All(calls, c => Assert.True(
            Fixture.UserAgentMarkers.Any(m => c.UserAgent.Contains(m, StringComparison.Ordinal)), $"User-Agent of {c}"));
        Assert.Equal(TaggedCases.Order(StringComparer.Ordinal),
            calls.Select(c => c.Case).Distinct().Order(StringComparer.Ordinal));
    }

    protected static void NoError(JsonElement result) =>
        Assert.False(result.TryGetProperty("error", out var error), $"The client failed the case: {error}");

    protected static int Code(JsonElement result) => Int(result, "code");

    protected static int Int(JsonElement result, string property)
    {
        NoError(result);
        return result.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Number
            ? value.GetInt32()
            : throw new Xunit.Sdk.XunitException($"No number '{property}' in {result}");
    }

    protected static bool Bool(JsonElement result, string property)
    {
        NoError(result);
        return result.TryGetProperty(property, out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? value.GetBoolean()
            : throw new Xunit.Sdk.XunitException($"No boolean '{property}' in {result}");
    }

    protected static string? Text(JsonElement result, string property)
    {
        NoError(result);
        return result.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
    }

    protected static string[] Strings(JsonElement result, string property)
    {
        NoError(result);
        return result.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Array
            ? value.EnumerateArray().Select(e => e.GetString()!).ToArray()
            : throw new Xunit.Sdk.XunitException($"No array '{property}' in {result}");
    }

    protected static int[] Ints(JsonElement result, string property)
    {
        NoError(result);
        return result.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Array
            ? value.EnumerateArray().Select(e => e.GetInt32()).ToArray()
            : throw new Xunit.Sdk.XunitException($"No array '{property}' in {result}");
    }
}

/// <summary>
/// The cases of the clients that can compress requests and build a client from reflected descriptors (grpc-js, grpcio);
/// buf curl can do neither.
/// </summary>
public abstract class FullClientInteropTests<TFixture>(TFixture fixture) : InteropTests<TFixture>(fixture)
    where TFixture : InteropClientFixture
{
    [Fact]
    public void GzipCompressedRequestIsAccepted()
    {
        var call = Assert.Single(Fixture.CallsOf("gzip"));
        Assert.Equal("gzip", call.Encoding);
        Assert.True(call.RequestCompressed, call.ToString());
    }

    [Fact]
    public void ReflectedDescriptorsAreEnoughToBuildAWorkingClient()
    {
        var result = Fixture.Case("reflection");
        Assert.Contains("flashdeal/catalog/v1/catalog.proto", Strings(result, "files"));
        Assert.Contains("google/api/annotations.proto", Strings(result, "files"));
        Assert.Equal(Mesh.LiveDeal.Title, Text(result, "reflected_title"));
    }
}
