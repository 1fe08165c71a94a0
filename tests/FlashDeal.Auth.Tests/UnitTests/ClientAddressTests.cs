using System.Net;
using FlashDeal.ServiceDefaults.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FlashDeal.Auth.Tests.UnitTests;

/// <summary>
/// The key the log-in throttle counts a caller by: <c>ClientAddress.Key(ClientAddress.Of(http))</c> after the
/// forwarded-headers middleware, configured as every service configures it (RateLimits:TrustedProxies).
/// </summary>
public sealed class ClientAddressTests
{
    private static readonly IOptions<ForwardedHeadersOptions> BehindProxies =
        TrustedProxies("127.0.0.0/8", "10.0.0.0/8");

    private static IOptions<ForwardedHeadersOptions> TrustedProxies(params string[] networks)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(networks.Select((network, i) =>
            new KeyValuePair<string, string?>($"RateLimits:TrustedProxies:{i}", network))).Build();
        return new ServiceCollection().AddTrustedProxies(configuration).BuildServiceProvider()
            .GetRequiredService<IOptions<ForwardedHeadersOptions>>();
    }

    private static async Task<string> KeyAsync(string? peer, string? forwardedFor = null)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = peer is null ? null : IPAddress.Parse(peer);
        if (forwardedFor is not null)
        {
            context.Request.Headers["X-Forwarded-For"] = forwardedFor;
        }
        await new ForwardedHeadersMiddleware(_ => Task.CompletedTask, NullLoggerFactory.Instance, BehindProxies)
            .Invoke(context);
        return ClientAddress.Key(ClientAddress.Of(context));
    }

    [Fact]
    public async Task AnUntrustedPeerIsTheClientWhateverItForwards()
    {
        Assert.Equal("198.51.100.4", await KeyAsync("198.51.100.4", "203.0.113.7"));
    }

    [Theory]
    [InlineData("203.0.113.7", "203.0.113.7")]
    [InlineData("9.9.9.9, 203.0.113.7, 10.1.2.3", "203.0.113.7")]
    [InlineData(" 203.0.113.7 ,10.1.2.3", "203.0.113.7")]
    [InlineData("203.0.113.7:5555", "203.0.113.7")]
    [InlineData("[2001:db8:1:2::99]:443", "2001:db8:1:2::/64")]
    [InlineData("203.0.113.7, unknown", "10.0.0.9")]
    [InlineData("", "10.0.0.9")]
    public async Task BehindTrustedProxiesTheNearestUntrustedHopIsTheClient(string header, string expected)
    {
        Assert.Equal(expected, await KeyAsync("10.0.0.9", header));
    }

    [Fact]
    public async Task AConnectionWithoutAnAddressIsUnknown()
    {
        Assert.Equal("unknown", await KeyAsync(peer: null));
        // ASP.NET Core's middleware believes the forwarded hop when the server names no peer (in-memory transports;
        // Kestrel over TCP always names one).
        Assert.Equal("203.0.113.7", await KeyAsync(peer: null, "203.0.113.7"));
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
