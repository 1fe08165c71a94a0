using System.Net;
using FlashDeal.ServiceDefaults.RateLimiting;

namespace FlashDeal.ServiceDefaults.Tests.UnitTests;

public sealed class ClientAddressTests
{
    [Theory]
    [InlineData("203.0.113.7", "203.0.113.7")]
    [InlineData("::ffff:203.0.113.7", "203.0.113.7")]
    [InlineData("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64")]
    [InlineData("::1", "::/64")]
    public void AddressesAreKeyedAsOneSubscriberHoldsThem(string address, string key) =>
        Assert.Equal(key, ClientAddress.Key(IPAddress.Parse(address)));

    [Fact]
    public void NoAddressIsUnknown() => Assert.Equal("unknown", ClientAddress.Key(null));
}
