using System.Collections.Concurrent;
using System.Net;

namespace FlashDeal.Grpc.Client;

/// <summary>
/// One backend address with its own HTTP/2 connection pool, a count of calls in flight (for the picker) and a connect
/// backoff. A subchannel whose address disappeared is retired: it takes no new calls and is disposed when the last one ends.
/// </summary>
internal sealed class Subchannel : IDisposable
{
    internal static readonly TimeSpan InitialBackoff = TimeSpan.FromSeconds(1);
    internal static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(120);
    private const double BackoffMultiplier = 1.6;
    private const double BackoffJitter = 0.2;

    private readonly HttpMessageInvoker _invoker;
    private readonly ConcurrentDictionary<string, Uri> _uris = new();
    private int _inFlight;
    private int _failures;
    private long _backoffUntil;
    private int _retired;
    private int _disposed;

    public Subchannel(IPEndPoint endPoint, HttpMessageHandler handler)
    {
        EndPoint = endPoint;
        BaseUri = new UriBuilder(Uri.UriSchemeHttp, endPoint.Address.ToString(), endPoint.Port).Uri;
        _invoker = new HttpMessageInvoker(handler, disposeHandler: true);
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>http://ip:port/ — the request goes to this address while :authority keeps the target's name.</summary>
    public Uri BaseUri { get; }

    public int InFlight => Volatile.Read(ref _inFlight);

    public bool IsRetired => Volatile.Read(ref _retired) == 1;

    public bool IsDisposed => Volatile.Read(ref _disposed) == 1;

    /// <summary>Environment.TickCount64 until which the address is skipped after failing to connect.</summary>
    public long BackoffUntil => Volatile.Read(ref _backoffUntil);

    public int ConsecutiveFailures => Volatile.Read(ref _failures);

    public bool IsInBackoff(long now) => now < BackoffUntil;

    public Uri GetUri(string path) => _uris.GetOrAdd(path, static (p, b) => new Uri(b, p), BaseUri);

    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        _invoker.SendAsync(request, cancellationToken);

    /// <summary>Counts a call in; false when the subchannel was retired meanwhile (pick another).</summary>
    public bool TryAcquire()
    {
        Interlocked.Increment(ref _inFlight);
        if (Volatile.Read(ref _retired) == 1)
        {
            Release();
            return false;
        }
        return true;
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _inFlight) == 0 && Volatile.Read(ref _retired) == 1)
        {
            Dispose();
        }
    }

    public void ReportConnected()
    {
        if (Volatile.Read(ref _failures) != 0)
        {
            Volatile.Write(ref _failures, 0);
            Volatile.Write(ref _backoffUntil, 0);
        }
    }

    /// <summary>Puts the address in backoff: 1 s growing ×1.6 per consecutive failure up to 120 s, ±20 % jitter.</summary>
    public TimeSpan ReportConnectFailure()
    {
        var failures = Interlocked.Increment(ref _failures);
        var ms = Math.Min(InitialBackoff.TotalMilliseconds * Math.Pow(BackoffMultiplier, failures - 1),
            MaxBackoff.TotalMilliseconds);
        ms *= 1 + BackoffJitter * (2 * Random.Shared.NextDouble() - 1);
        Volatile.Write(ref _backoffUntil, Environment.TickCount64 + (long)ms);
        return TimeSpan.FromMilliseconds(ms);
    }

    /// <summary>Stops new calls; in-flight ones finish (drain), then the connection pool is disposed.</summary>
    public void Retire()
    {
        Interlocked.Exchange(ref _retired, 1);
        if (Volatile.Read(ref _inFlight) == 0)
        {
            Dispose();
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _invoker.Dispose();
        }
    }

    public override string ToString() => EndPoint.ToString();
}
