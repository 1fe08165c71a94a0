using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http;

namespace FlashDeal.Auth.Throttling;

/// <summary>The address a log-in is throttled by.</summary>
public static class ClientAddress
{
    public const string ForwardedForHeader = "X-Forwarded-For";

    /// <summary>
    /// The peer address, or the first X-Forwarded-For hop when <paramref name="trustForwardedFor"/> (behind an edge
    /// that sets the header). IPv6 clients are keyed by their /64: one subscriber usually holds a whole /64, and
    /// counting single addresses would let it rotate through 2^64 of them.
    /// </summary>
    public static string From(HttpContext http, bool trustForwardedFor)
    {
        IPAddress? address = null;
        if (trustForwardedFor && http.Request.Headers[ForwardedForHeader].FirstOrDefault() is { Length: > 0 } forwarded)
        {
            address = Parse(forwarded.Split(',')[0].Trim());
        }
        address ??= http.Connection.RemoteIpAddress;
        return address is null ? "unknown" : Key(address);
    }

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

    private static IPAddress? Parse(string hop) =>
        IPAddress.TryParse(hop, out var address) ? address
        : IPEndPoint.TryParse(hop, out var endPoint) ? endPoint.Address
        : null;
}
