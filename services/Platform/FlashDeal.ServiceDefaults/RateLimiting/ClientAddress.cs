using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http;

namespace FlashDeal.ServiceDefaults.RateLimiting;

/// <summary>
/// The client address a call is keyed by when the caller is anonymous: HttpContext.Connection.RemoteIpAddress, which
/// the forwarded-headers middleware has already replaced by the nearest X-Forwarded-For hop that is not a trusted
/// proxy. IPv4-mapped IPv6 counts as IPv4; an IPv6 client counts by its /64, the smallest block one subscriber gets.
/// </summary>
public static class ClientAddress
{
    public static IPAddress? Of(HttpContext http) => http.Connection.RemoteIpAddress is { } address ? Normalize(address) : null;

    /// <summary>The rate-limit partition of an address: IPv4 as is, IPv6 cut to its /64 prefix.</summary>
    public static string Key(IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }
        address = Normalize(address);
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes).ToString() + "/64";
    }

    public static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
