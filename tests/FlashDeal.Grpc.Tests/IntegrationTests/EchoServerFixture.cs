using FlashDeal.Grpc.Testing;

namespace FlashDeal.Grpc.Tests.IntegrationTests;

/// <summary>One probed Echo server per test class, with a channel to it. The server accepts requests up to 1 MiB.</summary>
public sealed class EchoServerFixture : IAsyncLifetime
{
    public const int ServerMaxReceiveMessageSize = 1024 * 1024;

    public ServerProbe Probe { get; } = new();

    public EchoServerHost Host { get; private set; } = null!;

    public GrpcChannel Channel { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Host = await Probe.StartHostAsync(o => o.MaxReceiveMessageSize = ServerMaxReceiveMessageSize);
        Channel = GrpcChannel.ForAddress(Host.GrpcAddress);
    }

    public async Task DisposeAsync()
    {
        Channel.Dispose();
        await Host.DisposeAsync();
    }
}
