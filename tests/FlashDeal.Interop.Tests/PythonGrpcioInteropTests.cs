using System.Diagnostics;
using FlashDeal.Interop.Tests.Infrastructure;

namespace FlashDeal.Interop.Tests;

public sealed class PythonGrpcioFixture(InteropMesh mesh) : InteropClientFixture(mesh)
{
    public override string Client => "python-grpcio";

    public override IReadOnlyList<string> UserAgentMarkers => ["grpc-python/"];

    /// <summary>
    /// C-core writes timeouts of 1 to 10 s in units of 10 ms, rounding up, from a clock that may be a millisecond
    /// behind the deadline's: a 1 s deadline arrives as 1000m or 1010m.
    /// </summary>
    public override TimeSpan TimeoutRounding => TimeSpan.FromMilliseconds(20);

    // Debian's python3-grpcio lives in the system interpreter, not in a pyenv python3 that may come first on PATH.
    protected override ProcessStartInfo CreateClient(string configFile)
    {
        const string python = "/usr/bin/python3";
        if (!File.Exists(python))
        {
            throw new InvalidOperationException($"{python} is missing. Run tests/interop/setup.sh.");
        }
        return new ProcessStartInfo(python)
        {
            WorkingDirectory = Path.Combine(InteropDir, "python"),
            ArgumentList = { "interop.py", configFile },
        };
    }
}

/// <summary>Python grpcio (gRPC C-core, Debian's python3-grpcio) against the real services.</summary>
public sealed class PythonGrpcioInteropTests(PythonGrpcioFixture fixture) : FullClientInteropTests<PythonGrpcioFixture>(fixture);
