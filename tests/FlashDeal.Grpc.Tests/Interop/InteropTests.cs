using System.Text.Json;
using FlashDeal.Grpc.Testing;

namespace FlashDeal.Grpc.Tests.Interop;

/// <summary>
/// The cases every independent client runs against the Echo server. Each derived class names its client (fixture) and
/// adds the cases where clients differ (compression, reflection details).
/// </summary>
public abstract class InteropTests<TFixture>(TFixture fixture) : IClassFixture<TFixture>
    where TFixture : InteropClientFixture
{

    protected TFixture Fixture { get; } = fixture;

    /// <summary>The deadline the client sets on Sleep(2000); the server must see at most this in grpc-timeout.</summary>
    protected virtual TimeSpan Deadline => TimeSpan.FromMilliseconds(200);

    [Fact]
    public void UnaryCallReturnsTheMessage()
    {
        var result = Fixture.Case("unary");
        Assert.Equal(0, Code(result));
        Assert.Equal("hello", Text(result, "message"));
    }

    [Fact]
    public void ErrorArrivesWithCodeMessageAndRichDetails()
    {
        var result = Fixture.Case("error_details");
        Assert.Equal((int)StatusCode.FailedPrecondition, Code(result));
        Assert.Equal("sold out: café 100%", Text(result, "message"));
        Assert.Equal(["google.rpc.ErrorInfo", "google.rpc.BadRequest"], Strings(result, "types"));
        Assert.Equal("SOLD_OUT", Text(result, "reason"));
        Assert.Equal("testing.flashdeal.dev", Text(result, "domain"));
        Assert.Equal("quantity", Text(result, "field"));
    }

    [Fact]
    public void DeadlineEndsASlowCallWithDeadlineExceeded()
    {
        var result = Fixture.Case("deadline");
        Assert.Equal((int)StatusCode.DeadlineExceeded, Code(result));
        Assert.InRange(result.GetProperty("elapsed_ms").GetInt32(), 0, 1900);
        var sleep = Assert.Single(Fixture.Recorder.For("deadline"), c => c.Path.EndsWith("/Sleep"));
        Assert.True(GrpcProtocol.TryParseTimeout(sleep.Timeout, out var timeout), $"grpc-timeout '{sleep.Timeout}'");
        // Clients round grpc-timeout up to their timer unit (grpcio sends 201m for 0.2 s).
        Assert.InRange(timeout, TimeSpan.FromMilliseconds(1), Deadline + TimeSpan.FromMilliseconds(5));
    }

    [Fact]
    public void MetadataComesBackAsHeadersAndTrailersIncludingBinaryValues()
    {
        var result = Fixture.Case("metadata");
        Assert.Equal(0, Code(result));
        Assert.Equal("hi", Text(result, "header_text"));
        Assert.Equal("hi", Text(result, "trailer_text"));
        Assert.Equal([0, 1, 2, 255], Convert.FromBase64String(Text(result, "header_bin")!));
        Assert.Equal([0, 1, 2, 255], Convert.FromBase64String(Text(result, "trailer_bin")!));
    }

    [Fact]
    public void RequestOverFourMebibytesIsResourceExhausted()
    {
        var result = Fixture.Case("oversized");
        Assert.Equal((int)StatusCode.ResourceExhausted, Code(result));
        Assert.Contains("larger than max", Text(result, "message"));
        Assert.Single(Fixture.Recorder.For("oversized"));
    }

    [Fact]
    public void ServerStreamingDeliversEveryMessageInOrder()
    {
        var result = Fixture.Case("server_streaming");
        Assert.Equal(0, Code(result));
        Assert.Equal(["x-0", "x-1", "x-2", "x-3", "x-4"], Strings(result, "messages"));
    }

    [Fact]
    public void ReflectionListsEveryMappedService()
    {
        var result = Fixture.Case("reflection");
        Assert.Equal(EchoServerHost.MappedServices, Strings(result, "services"));
    }

    [Fact]
    public void HealthCheckServesOverallAndRejectsUnknownServices()
    {
        var result = Fixture.Case("health_check");
        Assert.Equal(0, Code(result));
        Assert.Equal("SERVING", Text(result, "status"));
        Assert.Equal((int)StatusCode.NotFound, result.GetProperty("unknown_code").GetInt32());
    }

    [Fact]
    public void HealthWatchSendsTheCurrentStatusFirst() =>
        Assert.Equal("SERVING", Text(Fixture.Case("health_watch"), "first_status"));

    [Fact]
    public void CallsCameFromTheClientUnderTest()
    {
        var calls = Fixture.Recorder.Calls;
        Assert.NotEmpty(calls);
        Assert.All(calls, c => Assert.Contains(Fixture.UserAgentMarker, c.UserAgent));
        string[] tagged = ["unary", "error_details", "deadline", "metadata", "oversized", "gzip", "server_streaming",
            "health_check", "health_watch"];
        Assert.Equal(tagged.Order(), calls.Select(c => c.Case).Distinct().Order());
    }

    protected static int? Code(JsonElement result)
    {
        Assert.False(result.TryGetProperty("error", out var error), $"The client failed the case: {error}");
        return result.TryGetProperty("code", out var code) && code.ValueKind == JsonValueKind.Number ? code.GetInt32() : null;
    }

    protected static string? Text(JsonElement result, string property)
    {
        Assert.False(result.TryGetProperty("error", out var error), $"The client failed the case: {error}");
        return result.TryGetProperty(property, out var value) ? value.GetString() : null;
    }

    protected static string[] Strings(JsonElement result, string property)
    {
        Assert.False(result.TryGetProperty("error", out var error), $"The client failed the case: {error}");
        return result.GetProperty(property).EnumerateArray().Select(e => e.GetString()!).ToArray();
    }
}
