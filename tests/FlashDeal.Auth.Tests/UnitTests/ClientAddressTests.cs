using System.Net;
using FlashDeal.Auth.Throttling;
using FlashDeal.ServiceDefaults.RateLimiting;
using Microsoft.AspNetCore.Http;

namespace FlashDeal.Auth.Tests.UnitTests;

public sealed class ClientAddressTests
{
    private static readonly ClientAddressResolver BehindProxies = new(["127.0.0.0/8", "10.0.0.0/8"]);

    private static DefaultHttpContext Context(string? peer, string? forwardedFor = null)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = peer is null ? null : IPAddress.Parse(peer);
        if (forwardedFor is not null)
        {
            context.Request.Headers[ClientAddressResolver.ForwardedForHeader] = forwardedFor;
        }
        return context;
    }

    [Fact]
    public void AnUntrustedPeerIsTheClientWhateverItForwards()
    {
        Assert.Equal("198.51.100.4", ClientAddress.From(Context("198.51.100.4", "203.0.113.7"), BehindProxies));
    }

    [Theory]
    [InlineData("203.0.113.7", "203.0.113.7")]
    [InlineData("9.9.9.9, 203.0.113.7, 10.1.2.3", "203.0.113.7")]
    [InlineData(" 203.0.113.7 ,10.1.2.3", "203.0.113.7")]
    [InlineData("203.0.113.7:5555", "203.0.113.7")]
    [InlineData("[2001:db8:1:2::99]:443", "2001:db8:1:2::/64")]
    [InlineData("203.0.113.7, unknown", "10.0.0.9")]
    [InlineData("", "10.0.0.9")]
    public void BehindTrustedProxiesTheNearestUntrustedHopIsTheClient(string header, string expected)
    {
        Assert.Equal(expected, ClientAddress.From(Context("10.0.0.9", header), BehindProxies));
    }

    [Fact]
    public void AConnectionWithoutAnAddressIsUnknown()
    {
        Assert.Equal("unknown", ClientAddress.From(Context(peer: null, "203.0.113.7"), BehindProxies));
    }

    [Fact]
    public void KeysIpv6ClientsByTheirSlash64()
    {
        Assert.Equal("2001:db8:1:2::/64", ClientAddress.Key(IPAddress.Parse("2001:db8:1:2:aaaa:bbbb:cccc:dddd")));
        Assert.Equal(ClientAddress.Key(IPAddress.Parse("2001:db8:1:2::1")), ClientAddress.Key(IPAddress.Parse("2001:db8:1:2::ffff")));
        Assert.NotEqual(ClientAddress.Key(IPAddress.Parse("2001:db8:1:2::1")), ClientAddress.Key(IPAddress.Parse("2001:db8:1:3::1")));
    }

    [Fact]
    public void MapsIpv4MappedAddressesToIpv4()
    {
        Assert.Equal("192.0.2.1", ClientAddress.Key(IPAddress.Parse("::ffff:192.0.2.1")));
    }
}
