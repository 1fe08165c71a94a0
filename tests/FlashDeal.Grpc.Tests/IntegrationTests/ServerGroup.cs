using System.Net;
using FlashDeal.Grpc.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace FlashDeal.Grpc.Tests.IntegrationTests;

/// <summary>One probed Echo server that a balancing test can address directly and kill.</summary>
public sealed class ProbedServer(ServerProbe probe, EchoServerHost host, IPEndPoint endPoint) : IAsyncDisposable
{
    private int _stopped;

    public ServerProbe Probe { get; } = probe;

    public EchoServerHost Host { get; } = host;

    /// <summary>The gRPC endpoint the client should use.</summary>
    public IPEndPoint EndPoint { get; } = endPoint;

    public int Calls => Probe.Count;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            await Host.DisposeAsync();
        }
    }
}

/// <summary>Several Echo servers on loopback, stopped together.</summary>
public sealed class ServerGroup : IAsyncDisposable
{
    private readonly List<ProbedServer> _servers = [];

    public ProbedServer this[int index] => _servers[index];

    public IReadOnlyList<IPEndPoint> EndPoints => _servers.Select(s => s.EndPoint).ToArray();

    public int[] Calls => _servers.Select(s => s.Calls).ToArray();

    public static async Task<ServerGroup> StartAsync(int count)
    {
        var group = new ServerGroup();
        for (var i = 0; i < count; i++)
        {
            await group.AddAsync();
        }
        return group;
    }

    /// <summary>Adds a server on 127.0.0.1, or also listening on <paramref name="address"/>:<paramref name="port"/>.</summary>
    public async Task<ProbedServer> AddAsync(IPAddress? address = null, int port = 0)
    {
        var probe = new ServerProbe();
        Action<WebApplicationBuilder>? listenOnAlias = address is null
            ? null
            : builder => builder.WebHost.ConfigureKestrel(k => k.Listen(address, port, o => o.Protocols = HttpProtocols.Http2));
        var host = await probe.StartHostAsync(configureBuilder: listenOnAlias);
        IPEndPoint endPoint;
        if (address is null)
        {
            endPoint = new IPEndPoint(IPAddress.Loopback, host.GrpcAddress.Port);
        }
        else
        {
            var bound = host.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
                .Select(a => new Uri(a))
                .Single(u => u.Host == address.ToString());
            endPoint = new IPEndPoint(address, bound.Port);
        }
        var server = new ProbedServer(probe, host, endPoint);
        _servers.Add(server);
        return server;
    }

    /// <summary>Waits until the channel uses exactly <paramref name="expected"/> (after a re-resolution).</summary>
    public static async Task WaitForAddressesAsync(GrpcChannel channel, TimeSpan timeout, params IPEndPoint[] expected)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (!channel.Pool.Subchannels.Select(s => s.EndPoint).ToHashSet().SetEquals(expected))
        {
            await Task.Delay(10, cts.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }
    }
}

/// <summary>A resolver whose answer the test changes, counting how often the channel asked.</summary>
public sealed class ChangingResolver(params IPEndPoint[] addresses) : IAddressResolver
{
    private volatile IPEndPoint[] _addresses = addresses;
    private int _resolutions;

    public int Resolutions => Volatile.Read(ref _resolutions);

    public void SetAddresses(params IPEndPoint[] addresses) => _addresses = addresses;

    public Task<IReadOnlyList<IPEndPoint>> ResolveAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<IPEndPoint> result = _addresses;
        Interlocked.Increment(ref _resolutions);
        return Task.FromResult(result);
    }
}
