using System.Net;
using System.Net.Sockets;
using FlashDeal.Grpc.Testing.V1;

namespace FlashDeal.Grpc.Tests.IntegrationTests;

public class LoadBalancingTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private static async Task CallManyAsync(GrpcChannel channel, int count, CallOptions options = default)
    {
        for (var i = 0; i < count; i++)
        {
            var response = await channel.UnaryAsync(EchoMethods.Echo, new EchoRequest { Message = $"m{i}" }, options);
            Assert.Equal($"m{i}", response.Message);
        }
    }

    [Fact]
    public async Task CallsAreSpreadAcrossEveryResolvedAddress()
    {
        await using var servers = await ServerGroup.StartAsync(3);
        RecordingHandler? recorder = null;
        var recorders = new List<RecordingHandler>();
        using var channel = GrpcChannel.ForAddress("dns:///echo.flashdeal.test:50051", new GrpcChannelOptions
        {
            Resolver = new StaticAddressResolver(servers.EndPoints),
            ConfigureHttpHandler = h =>
            {
                recorder = new RecordingHandler(h);
                recorders.Add(recorder);
                return recorder;
            },
        });

        await CallManyAsync(channel, 90);
        await Task.WhenAll(Enumerable.Range(0, 90).Select(_ => channel.UnaryAsync(EchoMethods.Echo, new EchoRequest())));

        Assert.Equal(180, servers.Calls.Sum());
        Assert.All(servers.Calls, calls => Assert.True(calls >= 20, $"calls per server: {string.Join(", ", servers.Calls)}"));
        Assert.Equal(3, recorders.Count);
        Assert.All(recorders.SelectMany(r => r.RequestAuthorities), a => Assert.Equal("echo.flashdeal.test:50051", a));
    }

    [Fact]
    public async Task AKilledServerIsSkippedWhileTheOthersKeepServing()
    {
        await using var servers = await ServerGroup.StartAsync(3);
        using var channel = GrpcChannel.ForAddress("dns:///echo.flashdeal.test:50051",
            new GrpcChannelOptions { Resolver = new StaticAddressResolver(servers.EndPoints) });
        await CallManyAsync(channel, 30);
        Assert.All(servers.Calls, calls => Assert.True(calls > 0));

        await servers[1].DisposeAsync();
        var survivorsBefore = servers[0].Calls + servers[2].Calls;
        // Idempotent: a call may race the dying server's GOAWAY and may have reached it, so only a retry is safe then.
        // Calls that find the address refusing connections are moved to another address whatever the method.
        await CallManyAsync(channel, 60, new CallOptions(Idempotent: true));

        Assert.Equal(survivorsBefore + 60, servers[0].Calls + servers[2].Calls);
        var dead = channel.Pool.Subchannels.Single(s => s.EndPoint.Equals(servers[1].EndPoint));
        Assert.True(dead.ConsecutiveFailures > 0, "the dead address was never tried");
        Assert.True(dead.IsInBackoff(Environment.TickCount64 - 500));
    }

    [Fact]
    public async Task ConnectFailureTriggersAnImmediateReResolution()
    {
        await using var servers = await ServerGroup.StartAsync(1);
        var dead = new IPEndPoint(IPAddress.Loopback, FreePort());
        var resolver = new ChangingResolver(dead, servers[0].EndPoint);
        using var channel = GrpcChannel.ForAddress("dns:///echo.flashdeal.test:50051",
            new GrpcChannelOptions { Resolver = resolver, ResolveInterval = TimeSpan.FromHours(1) });

        for (var i = 0; i < 200 && channel.Pool.Subchannels.All(s => s.ConsecutiveFailures == 0); i++)
        {
            await channel.UnaryAsync(EchoMethods.Echo, new EchoRequest());
        }
        resolver.SetAddresses(servers[0].EndPoint);
        await ServerGroup.WaitForAddressesAsync(channel, Patience, servers[0].EndPoint);

        Assert.True(resolver.Resolutions >= 2);
    }

    [Fact]
    public async Task AddressThatTimesOutIsPutInBackoffAndItsCallsMoveOn()
    {
        // A listener that never accepts, its backlog full: connects hang like those to a vanished pod's IP.
        using var blackHole = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        blackHole.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        blackHole.Listen(0);
        var dead = (IPEndPoint)blackHole.LocalEndPoint!;
        var fillers = new List<Socket>();
        try
        {
            for (var i = 0; i < 16; i++)
            {
                var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                fillers.Add(filler);
                using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
                try
                {
                    await filler.ConnectAsync(dead, wait.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
            await using var servers = await ServerGroup.StartAsync(1);
            using var channel = GrpcChannel.ForAddress("dns:///echo.flashdeal.test:50051", new GrpcChannelOptions
            {
                Resolver = new StaticAddressResolver(dead, servers[0].EndPoint),
                ConnectTimeout = TimeSpan.FromMilliseconds(300),
            });

            await CallManyAsync(channel, 20);

            Assert.Equal(20, servers[0].Calls);
            var stuck = channel.Pool.Subchannels.Single(s => s.EndPoint.Equals(dead));
            Assert.True(stuck.ConsecutiveFailures > 0, "the timed-out address was never tried");
        }
        finally
        {
            fillers.ForEach(f => f.Dispose());
        }
    }

    [Fact]
    public async Task NewAddressIsPickedUpAfterReResolution()
    {
        await using var servers = await ServerGroup.StartAsync(2);
        var resolver = new ChangingResolver(servers[0].EndPoint);
        using var channel = GrpcChannel.ForAddress("dns:///echo.flashdeal.test:50051",
            new GrpcChannelOptions { Resolver = resolver, ResolveInterval = TimeSpan.FromMilliseconds(50) });
        await CallManyAsync(channel, 10);
        Assert.Equal([10, 0], servers.Calls);

        resolver.SetAddresses(servers[0].EndPoint, servers[1].EndPoint);
        await ServerGroup.WaitForAddressesAsync(channel, Patience, servers[0].EndPoint, servers[1].EndPoint);
        await CallManyAsync(channel, 60);

        Assert.True(servers[1].Calls > 0, $"calls per server: {string.Join(", ", servers.Calls)}");
        Assert.Equal(70, servers.Calls.Sum());
    }

    [Fact]
    public async Task RemovedAddressIsDrainedThenDisposed()
    {
        await using var servers = await ServerGroup.StartAsync(2);
        var resolver = new ChangingResolver(servers[0].EndPoint);
        using var channel = GrpcChannel.ForAddress("dns:///echo.flashdeal.test:50051",
            new GrpcChannelOptions { Resolver = resolver, ResolveInterval = TimeSpan.FromMilliseconds(50) });
        var id = ServerProbe.NewId();
        var inFlight = channel.UnaryAsync(EchoMethods.Sleep, new SleepRequest { DelayMs = 500, Message = "drained" },
            new CallOptions(ServerProbe.Tag(id)));
        await servers[0].Probe.Observe(id).Started.Task.WaitAsync(Patience);
        var old = Assert.Single(channel.Pool.Subchannels);

        resolver.SetAddresses(servers[1].EndPoint);
        await ServerGroup.WaitForAddressesAsync(channel, Patience, servers[1].EndPoint);

        Assert.True(old.IsRetired);
        Assert.False(old.IsDisposed, "a subchannel with a call in flight must drain first");
        Assert.Equal("drained", (await inFlight).Message);
        Assert.True(old.IsDisposed);
        await CallManyAsync(channel, 10);
        Assert.Equal([1, 10], servers.Calls);
    }

    [Fact]
    public async Task LoopbackAliasesOnTheSamePortAreBalancedLikePodsOfAHeadlessService()
    {
        await using var servers = new ServerGroup();
        var first = await servers.AddAsync(IPAddress.Parse("127.0.0.2"));
        var second = await servers.AddAsync(IPAddress.Parse("127.0.0.3"), first.EndPoint.Port);
        using var channel = GrpcChannel.ForAddress($"dns:///echo.flashdeal.test:{first.EndPoint.Port}",
            new GrpcChannelOptions { Resolver = new StaticAddressResolver(first.EndPoint, second.EndPoint) });

        await CallManyAsync(channel, 60);

        Assert.True(first.Calls > 0 && second.Calls > 0, $"calls per server: {first.Calls}, {second.Calls}");
        Assert.Equal(60, first.Calls + second.Calls);
    }

    [Theory]
    [InlineData("dns:///localhost:{0}")]
    [InlineData("http://localhost:{0}")]
    public async Task DnsNameIsResolvedToItsAddresses(string target)
    {
        await using var servers = await ServerGroup.StartAsync(1);
        using var channel = GrpcChannel.ForAddress(string.Format(target, servers[0].EndPoint.Port));

        await CallManyAsync(channel, 5);

        Assert.Equal($"localhost:{servers[0].EndPoint.Port}", channel.Authority);
        Assert.Contains(channel.Pool.Subchannels, s => s.EndPoint.Equals(servers[0].EndPoint));
        Assert.Equal(5, servers[0].Calls);
    }

    [Fact]
    public async Task WaitForReadyWaitsForAnAddressInsteadOfFailingFast()
    {
        await using var servers = await ServerGroup.StartAsync(1);
        var resolver = new ChangingResolver();
        using var channel = GrpcChannel.ForAddress("dns:///echo.flashdeal.test:50051",
            new GrpcChannelOptions { Resolver = resolver, ResolveInterval = TimeSpan.FromMilliseconds(50) });

        var failFast = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(EchoMethods.Echo, new EchoRequest()));
        var waiting = channel.UnaryAsync(EchoMethods.Echo, new EchoRequest { Message = "waited" },
            new CallOptions(WaitForReady: true, Deadline: DateTime.UtcNow + Patience));
        resolver.SetAddresses(servers[0].EndPoint);

        Assert.Equal(StatusCode.Unavailable, failFast.StatusCode);
        Assert.Equal("waited", (await waiting).Message);
    }

    [Fact]
    public async Task ResolverFailureFailsCallsWithUnavailable()
    {
        using var channel = GrpcChannel.ForAddress("dns:///echo.flashdeal.test:50051",
            new GrpcChannelOptions { Resolver = new FailingResolver() });

        var e = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(EchoMethods.Echo, new EchoRequest()));

        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        Assert.Contains("no such host", e.Status.Detail);
    }

    private sealed class FailingResolver : IAddressResolver
    {
        public Task<IReadOnlyList<IPEndPoint>> ResolveAsync(CancellationToken cancellationToken) =>
            Task.FromException<IReadOnlyList<IPEndPoint>>(new SocketException(11001, "no such host"));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
