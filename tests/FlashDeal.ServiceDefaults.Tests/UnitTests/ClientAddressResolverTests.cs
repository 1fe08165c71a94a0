using System.Net;
using FlashDeal.ServiceDefaults.RateLimiting;
using Microsoft.AspNetCore.Http;

namespace FlashDeal.ServiceDefaults.Tests.UnitTests;

public sealed class ClientAddressResolverTests
{
    private static readonly ClientAddressResolver Loopback = new(ClientAddressResolver.DefaultTrustedProxies);

    [Fact]
    public void AnUntrustedPeerIsTheClientWhateverItForwards()
    {
        var http = Request("203.0.113.7", "198.51.100.1");

        Assert.Equal(IPAddress.Parse("203.0.113.7"), Loopback.Resolve(http));
    }

    [Fact]
    public void BehindATrustedProxyTheRightmostHopIsTheClient()
    {
        // The client wrote the first entry itself; nginx appended the address it saw.
        var http = Request("127.0.0.1", "9.9.9.9, 203.0.113.7");

        Assert.Equal(IPAddress.Parse("203.0.113.7"), Loopback.Resolve(http));
    }

    [Fact]
    public void TrustedHopsAreSkipped()
    {
        var resolver = new ClientAddressResolver(["127.0.0.1", "10.0.0.0/8"]);
        var http = Request("127.0.0.1", "9.9.9.9, 203.0.113.7, 10.1.2.3", "10.4.5.6");

        Assert.Equal(IPAddress.Parse("203.0.113.7"), resolver.Resolve(http));
    }

    [Fact]
    public void HopsWithPortsAreRead()
    {
        Assert.Equal(IPAddress.Parse("203.0.113.7"), Loopback.Resolve(Request("127.0.0.1", "203.0.113.7:5050")));
        Assert.Equal(IPAddress.Parse("2001:db8::7"), Loopback.Resolve(Request("::1", "[2001:db8::7]:443")));
    }

    [Fact]
    public void AHopThatIsNoAddressLeavesTheLastTrustedOne()
    {
        Assert.Equal(IPAddress.Loopback, Loopback.Resolve(Request("127.0.0.1", "not-an-address")));
        Assert.Equal(IPAddress.Loopback, Loopback.Resolve(Request("127.0.0.1", "")));
    }

    [Fact]
    public void WithoutTheHeaderTheTrustedPeerItselfIsTheClient()
    {
        Assert.Equal(IPAddress.Loopback, Loopback.Resolve(Request("127.0.0.1")));
    }

    [Fact]
    public void AnIPv4MappedPeerCountsAsIPv4()
    {
        var http = Request("::ffff:127.0.0.1", "203.0.113.7");

        Assert.Equal(IPAddress.Parse("203.0.113.7"), Loopback.Resolve(http));
    }

    [Fact]
    public void IPv6AddressesShareTheBucketOfTheirSlash64()
    {
        var key = ClientAddressResolver.Key(IPAddress.Parse("2001:db8:1:2::1"));

        Assert.Equal(key, ClientAddressResolver.Key(IPAddress.Parse("2001:db8:1:2:ffff:ffff:ffff:ffff")));
        Assert.NotEqual(key, ClientAddressResolver.Key(IPAddress.Parse("2001:db8:1:3::1")));
        Assert.NotEqual(ClientAddressResolver.Key(IPAddress.Parse("10.0.0.1")), ClientAddressResolver.Key(IPAddress.Parse("10.0.0.2")));
        Assert.Equal(ClientAddressResolver.Key(IPAddress.Parse("10.0.0.1")),
            ClientAddressResolver.Key(IPAddress.Parse("::ffff:10.0.0.1")));
    }

    [Fact]
    public void ATrustedProxyThatIsNoAddressFailsAtStart()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new ClientAddressResolver(["nginx"]));
        Assert.Contains("RateLimits:TrustedProxies", error.Message);
    }

    private static DefaultHttpContext Request(string peer, params string[] forwardedFor)
    {
        var http = new DefaultHttpContext();
        http.Connection.RemoteIpAddress = IPAddress.Parse(peer);
        if (forwardedFor.Length > 0)
        {
            http.Request.Headers[ClientAddressResolver.ForwardedForHeader] = forwardedFor;
        }
        return http;
    }
}
