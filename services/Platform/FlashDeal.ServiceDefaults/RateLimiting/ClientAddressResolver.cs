using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace FlashDeal.ServiceDefaults.RateLimiting;

/// <summary>
/// The client address an anonymous call is limited by: the connection's remote address, or, when that peer is a trusted
/// proxy, the nearest X-Forwarded-For hop that is not itself trusted. Hops are read right to left because each proxy
/// appends the address it saw: everything left of our own proxies' entries was written by the client and may be forged.
/// </summary>
public sealed class ClientAddressResolver
{
    public const string ForwardedForHeader = "X-Forwarded-For";

    /// <summary>Where the local edge (nginx) runs.</summary>
    public static readonly IReadOnlyList<string> DefaultTrustedProxies = ["127.0.0.0/8", "::1/128"];

    private readonly IPNetwork[] _trusted;

    public ClientAddressResolver(IEnumerable<string> trustedProxies)
    {
        _trusted = trustedProxies
            .Where(p => !string.IsNullOrWhiteSpace(p))
            .Select(p => Parse(p.Trim()))
            .ToArray();
    }

    /// <summary>The caller's address, or null when the connection has none (in-memory transports).</summary>
    public IPAddress? Resolve(HttpContext http)
    {
        var peer = http.Connection.RemoteIpAddress;
        if (peer is null)
        {
            return null;
        }
        var client = Normalize(peer);
        if (!IsTrusted(client))
        {
            return client;
        }
        var headers = http.Request.Headers[ForwardedForHeader];
        for (var i = headers.Count - 1; i >= 0; i--)
        {
            var line = headers[i].AsSpan();
            while (!line.IsEmpty)
            {
                var comma = line.LastIndexOf(',');
                var hop = line[(comma + 1)..].Trim();
                line = comma < 0 ? [] : line[..comma];
                if (!TryParseHop(hop, out var address))
                {
                    // Not an address: whatever a client wrote. Stay with the last hop a trusted proxy vouched for.
                    return client;
                }
                client = address;
                if (!IsTrusted(client))
                {
                    return client;
                }
            }
        }
        return client;
    }

    public bool IsTrusted(IPAddress address)
    {
        foreach (var network in _trusted)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// The bucket key of an address: IPv4 as its IPv4-mapped IPv6 form, IPv6 cut to its /64 (one subscriber usually
    /// holds a whole /64; keying single addresses would let it rotate through 2^64 of them). Null: zero.
    /// </summary>
    public static UInt128 Key(IPAddress? address)
    {
        if (address is null)
        {
            return UInt128.Zero;
        }
        address = Normalize(address);
        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            address.TryWriteBytes(bytes[12..], out _);
            return new UInt128(0, 0xFFFF_0000_0000UL | BinaryPrimitives.ReadUInt32BigEndian(bytes[12..]));
        }
        address.TryWriteBytes(bytes, out _);
        return new UInt128(BinaryPrimitives.ReadUInt64BigEndian(bytes), 0);
    }

    private static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    private static bool TryParseHop(ReadOnlySpan<char> hop, out IPAddress address)
    {
        if (!IPAddress.TryParse(hop, out var parsed))
        {
            // "1.2.3.4:5678" or "[2001:db8::1]:443": some proxies append the port.
            if (!IPEndPoint.TryParse(hop, out var endPoint))
            {
                address = IPAddress.None;
                return false;
            }
            parsed = endPoint.Address;
        }
        address = Normalize(parsed);
        return true;
    }

    private static IPNetwork Parse(string value)
    {
        if (IPNetwork.TryParse(value, out var network))
        {
            return network;
        }
        if (IPAddress.TryParse(value, out var address))
        {
            address = Normalize(address);
            return new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
        }
        throw new InvalidOperationException(
            $"RateLimits:TrustedProxies: '{value}' is neither an IP address nor a CIDR network (e.g. 10.0.0.0/8).");
    }
}
