using System.Diagnostics;
using FlashDeal.Grpc.Testing;

namespace FlashDeal.Grpc.Tests.Interop;

public sealed class BufCurlFixture : InteropClientFixture
{
    public override string UserAgentMarker => "buf/";

    protected override ProcessStartInfo CreateClient(Uri grpcAddress)
    {
        var dir = Path.Combine(InteropDir, "node");
        if (!Directory.Exists(Path.Combine(dir, "node_modules", "@bufbuild", "buf")))
        {
            throw new InvalidOperationException($"{dir}/node_modules is missing buf. Run tests/interop/setup.sh.");
        }
        return new ProcessStartInfo("node") { WorkingDirectory = dir, ArgumentList = { "buf-curl.js", grpcAddress.ToString() } };
    }

    // buf curl cannot compress requests, so this server compresses its responses for it to decode instead.
    protected override void ConfigureServer(GrpcServerOptions options) => options.ResponseCompressionAlgorithm = "gzip";
}

/// <summary>buf curl (connect-go's gRPC client, schema by server reflection) against the FlashDeal server.</summary>
public sealed class BufCurlInteropTests(BufCurlFixture fixture) : InteropTests<BufCurlFixture>(fixture)
{
    // buf's --timeout covers the reflection round trips too, so it gets more room; the call gets what is left.
    protected override TimeSpan Deadline => TimeSpan.FromMilliseconds(500);

    [Fact]
    public void GzipResponseIsDecodedThoughRequestsCannotBeCompressed()
    {
        var result = Fixture.Case("gzip");
        Assert.Equal(0, Code(result));
        Assert.Equal("gzip", Text(result, "response_encoding"));
        Assert.Equal(123457, result.GetProperty("response_body_size").GetInt32());
        Assert.Null(Text(result, "request_encoding"));
        var call = Assert.Single(Fixture.Recorder.For("gzip"));
        Assert.Null(call.Encoding);
        Assert.Contains("gzip", call.AcceptEncoding);
    }

    [Fact]
    public void ErrorIsPrintedAsJsonWithTypedDetails()
    {
        var result = Fixture.Case("error_details");
        Assert.Equal("failed_precondition", Text(result, "code_name"));
    }

    [Fact]
    public void ReflectionListsMethodsAndServesV1Alpha()
    {
        var result = Fixture.Case("reflection");
        Assert.Contains("flashdeal.testing.v1.EchoService/Expand", Strings(result, "methods"));
        Assert.Contains("grpc.health.v1.Health/Watch", Strings(result, "methods"));
        Assert.Equal(EchoServerHost.MappedServices, Strings(result, "v1alpha_services"));
    }

    [Fact]
    public void HealthWatchKeepsStreamingUntilTheClientGivesUp() =>
        Assert.Equal((int)StatusCode.DeadlineExceeded, Code(Fixture.Case("health_watch")));
}
