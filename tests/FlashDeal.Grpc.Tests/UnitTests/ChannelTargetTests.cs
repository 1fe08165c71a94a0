using System.Net;

namespace FlashDeal.Grpc.Tests.UnitTests;

public class ChannelTargetTests
{
    [Theory]
    [InlineData("http://127.0.0.1:50051", "127.0.0.1:50051", "127.0.0.1", 50051)]
    [InlineData("http://[::1]:50051", "[::1]:50051", "::1", 50051)]
    [InlineData("dns:///10.1.2.3:7000", "10.1.2.3:7000", "10.1.2.3", 7000)]
    public void LiteralAddressIsUsedAsIs(string target, string authority, string ip, int port)
    {
        var (parsedAuthority, resolver) = GrpcChannel.ParseTarget(target);

        Assert.Equal(authority, parsedAuthority);
        var endPoint = Assert.Single(Assert.IsType<StaticAddressResolver>(resolver).Addresses);
        Assert.Equal(new IPEndPoint(IPAddress.Parse(ip), port), endPoint);
    }

    [Theory]
    [InlineData("dns:///orders-headless.flashdeal.svc:50051", "orders-headless.flashdeal.svc", 50051)]
    [InlineData("dns://8.8.8.8/orders:50051", "orders", 50051)]
    [InlineData("dns:orders:50051", "orders", 50051)]
    [InlineData("dns:///orders", "orders", 80)]
    [InlineData("http://orders:8080", "orders", 8080)]
    public void NameIsResolvedThroughDns(string target, string host, int port)
    {
        var (authority, resolver) = GrpcChannel.ParseTarget(target);

        var dns = Assert.IsType<DnsAddressResolver>(resolver);
        Assert.Equal(host, dns.Host);
        Assert.Equal(port, dns.Port);
        Assert.Equal($"{host}:{port}", authority);
    }

    [Theory]
    [InlineData("https://orders:443")]
    [InlineData("orders:50051")]
    [InlineData("dns:///orders:notaport")]
    [InlineData("dns:///:50051")]
    public void UnsupportedTargetsAreRejected(string target) =>
        Assert.Throws<ArgumentException>(() => GrpcChannel.ParseTarget(target));
}
