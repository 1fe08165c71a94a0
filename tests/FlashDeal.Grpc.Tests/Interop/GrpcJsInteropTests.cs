using System.Diagnostics;

namespace FlashDeal.Grpc.Tests.Interop;

public sealed class GrpcJsFixture : InteropClientFixture
{
    public override string UserAgentMarker => "grpc-node-js/";

    protected override ProcessStartInfo CreateClient(Uri grpcAddress)
    {
        var dir = Path.Combine(InteropDir, "node");
        if (!Directory.Exists(Path.Combine(dir, "node_modules", "@grpc", "grpc-js")))
        {
            throw new InvalidOperationException($"{dir}/node_modules is missing. Run tests/interop/setup.sh.");
        }
        return new ProcessStartInfo("node") { WorkingDirectory = dir, ArgumentList = { "grpc-js.js", grpcAddress.ToString() } };
    }
}

/// <summary>@grpc/grpc-js (pure JavaScript gRPC) against the FlashDeal server.</summary>
public sealed class GrpcJsInteropTests(GrpcJsFixture fixture) : InteropTests<GrpcJsFixture>(fixture)
{
    [Fact]
    public void GzipCompressedRequestIsAccepted()
    {
        var result = Fixture.Case("gzip");
        Assert.Equal(0, Code(result));
        Assert.Equal(123457, result.GetProperty("received_size").GetInt32());
        Assert.Equal("gzip", Assert.Single(Fixture.Recorder.For("gzip")).Encoding);
    }

    [Fact]
    public void ReflectedDescriptorsAreEnoughToBuildAWorkingClient()
    {
        var result = Fixture.Case("reflection");
        Assert.Equal("flashdeal/testing/v1/echo.proto", Strings(result, "files")[0]);
        Assert.Contains("google/protobuf/descriptor.proto", Strings(result, "files"));
        Assert.Equal("via reflection", Text(result, "reflected_echo"));
    }
}
