using System.Diagnostics;
using FlashDeal.Interop.Tests.Infrastructure;

namespace FlashDeal.Interop.Tests;

public sealed class GrpcJsFixture(InteropMesh mesh) : InteropClientFixture(mesh)
{
    public override string Client => "grpc-js";

    public override IReadOnlyList<string> UserAgentMarkers => ["grpc-node-js/"];

    protected override ProcessStartInfo CreateClient(string configFile) =>
        Node("grpc-js.js", configFile, Path.Combine("@grpc", "grpc-js"));
}

/// <summary>@grpc/grpc-js (pure JavaScript gRPC) against the real services.</summary>
public sealed class GrpcJsInteropTests(GrpcJsFixture fixture) : FullClientInteropTests<GrpcJsFixture>(fixture);
