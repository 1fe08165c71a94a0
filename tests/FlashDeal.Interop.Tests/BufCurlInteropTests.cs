using System.Diagnostics;
using FlashDeal.Interop.Tests.Infrastructure;
using Grpc.Core;

namespace FlashDeal.Interop.Tests;

public sealed class BufCurlFixture(InteropMesh mesh) : InteropClientFixture(mesh)
{
    public override string Client => "buf-curl";

    public override IReadOnlyList<string> UserAgentMarkers => ["buf/"];

    protected override ProcessStartInfo CreateClient(string configFile) =>
        Node("buf-curl.js", configFile, Path.Combine("@bufbuild", "buf"));
}

/// <summary>
/// buf curl (connect-go's gRPC client) against the real services: one buf process per call, the schema from the
/// FileDescriptorSet file (--schema) except in the reflection case, which uses server reflection.
/// </summary>
public sealed class BufCurlInteropTests(BufCurlFixture fixture) : InteropTests<BufCurlFixture>(fixture)
{
    [Fact]
    public void ReflectionListsMethods()
    {
        var methods = Strings(Fixture.Case("reflection"), "methods");
        Assert.Contains("flashdeal.catalog.v1.CatalogService/WatchDeal", methods);
        Assert.Contains("grpc.health.v1.Health/Watch", methods);
        Assert.Contains("grpc.reflection.v1.ServerReflection/ServerReflectionInfo", methods);
    }

    [Fact]
    public void OnlyTheReflectionCaseUsesServerReflection() =>
        Assert.All(Fixture.Calls.Where(c => c.Path.Contains("ServerReflection", StringComparison.Ordinal)),
            c => Assert.Equal("reflection", c.Case));

    [Fact]
    public void GzipResponseIsDecodedThoughRequestsCannotBeCompressed()
    {
        var result = Fixture.Case("gzip");
        Assert.Equal("gzip", Text(result, "response_encoding"));
        Assert.Null(Text(result, "request_encoding"));
        var call = Assert.Single(Fixture.CallsOf("gzip"));
        Assert.Null(call.Encoding);
        Assert.False(call.RequestCompressed, call.ToString());
    }

    [Fact]
    public void HealthWatchKeepsStreamingUntilTheClientsTimeout() =>
        Assert.Equal((int)StatusCode.DeadlineExceeded, Code(Fixture.Case("health_watch")));

    [Fact]
    public void ErrorIsPrintedWithItsCodeName() =>
        Assert.Equal("not_found", Text(Fixture.Case("deal_not_found"), "code_name"));
}
