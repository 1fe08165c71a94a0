using System.Diagnostics;

namespace FlashDeal.Grpc.Tests.Interop;

public sealed class PythonGrpcioFixture : InteropClientFixture
{
    public override string UserAgentMarker => "grpc-python/";

    // Debian's python3-grpcio lives in the system interpreter, not in a pyenv python3 that may come first on PATH.
    protected override ProcessStartInfo CreateClient(Uri grpcAddress) =>
        new("/usr/bin/python3")
        {
            WorkingDirectory = Path.Combine(InteropDir, "python"),
            ArgumentList = { "interop.py", grpcAddress.ToString() },
        };
}

/// <summary>Python grpcio (gRPC C-core) against the FlashDeal server.</summary>
public sealed class PythonGrpcioInteropTests(PythonGrpcioFixture fixture) : InteropTests<PythonGrpcioFixture>(fixture)
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
        Assert.Contains("google/api/annotations.proto", Strings(result, "files"));
        Assert.Equal("via reflection", Text(result, "reflected_echo"));
    }
}
