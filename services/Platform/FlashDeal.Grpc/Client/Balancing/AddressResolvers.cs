using System.Net;

namespace FlashDeal.Grpc;

/// <summary>Finds every address behind a channel's target; called periodically and after connect failures.</summary>
public interface IAddressResolver
{
    /// <summary>The current addresses. An empty list means none; throwing keeps the previous ones.</summary>
    Task<IReadOnlyList<IPEndPoint>> ResolveAsync(CancellationToken cancellationToken);
}

/// <summary>All A/AAAA records of a DNS name (e.g. a Kubernetes headless service), each with the same port.</summary>
public sealed class DnsAddressResolver(string host, int port) : IAddressResolver
{
    public string Host { get; } = host;

    public int Port { get; } = port;

    public async Task<IReadOnlyList<IPEndPoint>> ResolveAsync(CancellationToken cancellationToken)
    {
        var addresses = await Dns.GetHostAddressesAsync(Host, cancellationToken).ConfigureAwait(false);
        return addresses.Distinct().Select(a => new IPEndPoint(a, Port)).ToArray();
    }

    public override string ToString() => $"dns:///{Host}:{Port}";
}

/// <summary>A fixed list of addresses, replaceable at runtime with <see cref="SetAddresses"/>.</summary>
public sealed class StaticAddressResolver(IEnumerable<IPEndPoint> addresses) : IAddressResolver
{
    private volatile IReadOnlyList<IPEndPoint> _addresses = addresses.ToArray();

    public StaticAddressResolver(params IPEndPoint[] addresses) : this((IEnumerable<IPEndPoint>)addresses) { }

    public IReadOnlyList<IPEndPoint> Addresses => _addresses;

    public void SetAddresses(IEnumerable<IPEndPoint> addresses) => _addresses = addresses.ToArray();

    public Task<IReadOnlyList<IPEndPoint>> ResolveAsync(CancellationToken cancellationToken) => Task.FromResult(_addresses);

    public override string ToString() => $"static:{string.Join(",", _addresses)}";
}
