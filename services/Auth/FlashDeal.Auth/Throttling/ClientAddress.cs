using System.Net;
using System.Net.Sockets;
using FlashDeal.ServiceDefaults.RateLimiting;
using Microsoft.AspNetCore.Http;

namespace FlashDeal.Auth.Throttling;

/// <summary>The address a log-in is throttled by, as the key part of its Redis counter.</summary>
public static class ClientAddress
{
    /// <summary>
    /// The client <paramref name="resolver"/> finds: the peer, or behind a trusted proxy (<c>RateLimits:TrustedProxies</c>)
    /// the nearest X-Forwarded-For hop that is not trusted, the same address the rate limits use. "unknown" when the
    /// connection has no address (in-memory transports).
    /// </summary>
    public static string From(HttpContext http, ClientAddressResolver resolver) =>
        resolver.Resolve(http) is { } address ? Key(address) : "unknown";

    /// <summary>
    /// IPv4 as written; IPv6 clients by their /64: one subscriber usually holds a whole /64, and counting single
    /// addresses would let it rotate through 2^64 of them.
    /// </summary>
    public static string Key(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }
}
