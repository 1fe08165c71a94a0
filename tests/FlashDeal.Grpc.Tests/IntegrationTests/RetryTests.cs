using FlashDeal.Grpc.Testing.V1;

namespace FlashDeal.Grpc.Tests.IntegrationTests;

public class RetryTests(EchoServerFixture fixture) : IClassFixture<EchoServerFixture>
{
    private static readonly RetryPolicy FastRetries = new()
    {
        MaxAttempts = 4,
        InitialBackoff = TimeSpan.FromMilliseconds(10),
        MaxBackoff = TimeSpan.FromMilliseconds(50),
    };

    private GrpcChannel NewChannel(RetryPolicy? policy = null) =>
        GrpcChannel.ForAddress(fixture.Host.GrpcAddress, new GrpcChannelOptions { RetryPolicy = policy ?? FastRetries });

    [Fact]
    public async Task IdempotentCallIsRetriedUntilItSucceeds()
    {
        using var channel = NewChannel();
        var id = ServerProbe.NewId();

        var response = await channel.UnaryAsync(EchoMethods.Echo, new EchoRequest { Message = "third time" },
            new CallOptions(ServerProbe.Tag(id, failFirst: 2), Idempotent: true));

        Assert.Equal("third time", response.Message);
        Assert.Equal(3, fixture.Probe.Observe(id).Attempts);
        Assert.Equal("2", fixture.Probe.Observe(id).PreviousAttempts);
    }

    [Fact]
    public async Task NonIdempotentCallIsNotRetried()
    {
        using var channel = NewChannel();
        var id = ServerProbe.NewId();

        var e = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(EchoMethods.Echo, new EchoRequest(),
            new CallOptions(ServerProbe.Tag(id, failFirst: 1))));

        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        Assert.Equal(1, fixture.Probe.Observe(id).Attempts);
    }

    [Fact]
    public async Task MethodLevelIdempotencyEnablesRetries()
    {
        using var channel = NewChannel();
        var id = ServerProbe.NewId();
        var idempotentEcho = new Method<EchoRequest, EchoResponse>(MethodType.Unary, EchoMethods.Service.FullName, "Echo",
            isIdempotent: true);

        await channel.UnaryAsync(idempotentEcho, new EchoRequest(), new CallOptions(ServerProbe.Tag(id, failFirst: 1)));

        Assert.Equal(2, fixture.Probe.Observe(id).Attempts);
    }

    [Fact]
    public async Task RetriesStopAfterMaxAttempts()
    {
        using var channel = NewChannel(FastRetries with { MaxAttempts = 3 });
        var id = ServerProbe.NewId();

        var e = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(EchoMethods.Echo, new EchoRequest(),
            new CallOptions(ServerProbe.Tag(id, failFirst: 10), Idempotent: true)));

        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        Assert.Equal(3, fixture.Probe.Observe(id).Attempts);
    }

    [Fact]
    public async Task NonRetryableStatusIsNotRetried()
    {
        using var channel = NewChannel();

        var e = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(EchoMethods.Fail,
            new FailRequest { Code = (int)StatusCode.Aborted, Message = "no" }, new CallOptions(Idempotent: true)));

        Assert.Equal(StatusCode.Aborted, e.StatusCode);
    }

    [Fact]
    public async Task IdempotentServerStreamingCallIsRetriedBeforeItsFirstResponse()
    {
        using var channel = NewChannel();
        var id = ServerProbe.NewId();

        using var call = channel.AsyncServerStreamingCall(EchoMethods.Expand, new ExpandRequest { Message = "s", Count = 3 },
            new CallOptions(ServerProbe.Tag(id, failFirst: 1), Idempotent: true));
        var messages = await call.ResponseStream.ReadAllAsync().Select(m => m.Message).ToListAsync();

        Assert.Equal(["s-0", "s-1", "s-2"], messages);
        Assert.Equal(2, fixture.Probe.Observe(id).Attempts);
    }
}
