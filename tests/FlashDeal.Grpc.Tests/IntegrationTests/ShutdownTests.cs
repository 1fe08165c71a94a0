using FlashDeal.Grpc.Testing.V1;

namespace FlashDeal.Grpc.Tests.IntegrationTests;

public class ShutdownTests
{
    [Fact]
    public async Task InFlightCallCompletesWhileTheServerStopsGracefully()
    {
        var probe = new ServerProbe();
        var host = await probe.StartHostAsync();
        using var channel = GrpcChannel.ForAddress(host.GrpcAddress);
        var id = ServerProbe.NewId();

        var call = channel.UnaryAsync(EchoMethods.Sleep, new SleepRequest { DelayMs = 500, Message = "drained" },
            new CallOptions(ServerProbe.Tag(id)));
        await probe.Observe(id).Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var stopping = host.DisposeAsync().AsTask();

        var response = await call;
        await stopping;

        Assert.Equal("drained", response.Message);
        Assert.False(await probe.Observe(id).Ended.Task);
    }

    [Fact]
    public async Task CallToAStoppedServerFailsWithUnavailable()
    {
        var probe = new ServerProbe();
        var host = await probe.StartHostAsync();
        using var channel = GrpcChannel.ForAddress(host.GrpcAddress);
        await channel.UnaryAsync(EchoMethods.Echo, new EchoRequest());
        await host.DisposeAsync();

        using var call = channel.AsyncUnaryCall(EchoMethods.Echo, new EchoRequest());
        var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);

        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        await Assert.ThrowsAsync<RpcException>(() => call.ResponseHeadersAsync);
    }

    [Fact]
    public void DisposedChannelRefusesNewCalls()
    {
        var channel = GrpcChannel.ForAddress("http://127.0.0.1:1");
        channel.Dispose();

        Assert.Throws<ObjectDisposedException>(() => channel.AsyncUnaryCall(EchoMethods.Echo, new EchoRequest()));
    }
}
