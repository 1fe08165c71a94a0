using FlashDeal.Grpc.Testing;
using FlashDeal.Grpc.Testing.V1;

namespace FlashDeal.Grpc.Tests.IntegrationTests;

/// <summary>A server that gzips every response message the client accepts.</summary>
public sealed class GzipServerFixture : IAsyncLifetime
{
    public EchoServerHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await EchoServerHost.StartAsync(o => o.ResponseCompressionAlgorithm = "gzip");

    public async Task DisposeAsync() => await Host.DisposeAsync();
}

public class ResponseCompressionTests(GzipServerFixture fixture) : IClassFixture<GzipServerFixture>
{
    [Fact]
    public async Task GzipResponseIsDecodedByTheClient()
    {
        RecordingHandler? recorder = null;
        using var channel = GrpcChannel.ForAddress(fixture.Host.GrpcAddress,
            new GrpcChannelOptions { ConfigureHttpHandler = h => recorder = new RecordingHandler(h) });

        var response = await channel.UnaryAsync(EchoMethods.Payload, new PayloadRequest { ResponseSize = 100_000 });

        Assert.Equal(100_000, response.Body.Length);
        Assert.Equal("gzip", recorder!.ResponseEncodings.Single());
    }

    [Fact]
    public async Task GzipStreamingResponsesAreDecodedByTheClient()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Host.GrpcAddress);
        using var call = channel.AsyncServerStreamingCall(EchoMethods.Expand, new ExpandRequest { Message = "z", Count = 3 });

        var messages = await call.ResponseStream.ReadAllAsync().Select(m => m.Message).ToListAsync();

        Assert.Equal(["z-0", "z-1", "z-2"], messages);
    }

    [Fact]
    public async Task CompressedResponseOverTheLimitOnceDecompressedIsRejected()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Host.GrpcAddress,
            new GrpcChannelOptions { MaxReceiveMessageSize = 10_000 });

        // 100 kB of zeros gzip to a few hundred bytes: the frame passes, the decompressed message must not.
        var e = await Assert.ThrowsAsync<RpcException>(() =>
            channel.UnaryAsync(EchoMethods.Payload, new PayloadRequest { ResponseSize = 100_000 }));

        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
    }
}
