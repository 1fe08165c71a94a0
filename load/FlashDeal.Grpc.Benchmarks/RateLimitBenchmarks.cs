using System.Net;
using BenchmarkDotNet.Attributes;
using FlashDeal.ServiceDefaults.RateLimiting;
using Microsoft.AspNetCore.Http;

namespace FlashDeal.Grpc.Benchmarks;

/// <summary>
/// What the services' rate limiter adds to every limited call (docs/rate-limits.md): one bucket look-up plus a
/// compare-and-swap, and for anonymous calls the client address. The policy is generous, so every call is allowed and
/// the full path is measured; "Refused" measures a caller over its limit (no error object, just the decision).
/// </summary>
[MemoryDiagnoser]
public class RateLimitBenchmarks
{
    private const int Users = 100_000;

    private RateLimiter _limiter = null!;
    private RateLimitPolicy _generous = null!;
    private RateLimitPolicy _strict = null!;
    private string[] _userIds = null!;
    private ClientAddressResolver _addresses = null!;
    private DefaultHttpContext _direct = null!;
    private DefaultHttpContext _proxied = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _limiter = new RateLimiter(new RateLimitOptions
        {
            MaxTrackedKeys = 1_000_000,
            Policies =
            {
                ["generous"] = new RateLimitPolicyOptions { PermitsPerSecond = 1e9, Burst = 1_000_000 },
                ["strict"] = new RateLimitPolicyOptions { PermitsPerSecond = 0.001, Burst = 1 },
            },
        }, TimeProvider.System);
        _generous = _limiter.Policies["generous"];
        _strict = _limiter.Policies["strict"];
        _userIds = Enumerable.Range(0, Users).Select(_ => Guid.NewGuid().ToString("D")).ToArray();
        foreach (var user in _userIds)
        {
            _limiter.TryAcquire(_generous, new RateLimitKey(_generous.Index, user, UInt128.Zero));
        }
        _limiter.TryAcquire(_strict, new RateLimitKey(_strict.Index, _userIds[0], UInt128.Zero));
        _addresses = new ClientAddressResolver(ClientAddressResolver.DefaultTrustedProxies);
        _direct = new DefaultHttpContext();
        _direct.Connection.RemoteIpAddress = IPAddress.Parse("203.0.113.7");
        _proxied = new DefaultHttpContext();
        _proxied.Connection.RemoteIpAddress = IPAddress.Loopback;
        _proxied.Request.Headers[ClientAddressResolver.ForwardedForHeader] = "198.51.100.23, 203.0.113.7";
    }

    /// <summary>The same user again and again: the bucket is hot in the CPU cache.</summary>
    [Benchmark(Baseline = true)]
    public bool OneUser() => _limiter.TryAcquire(_generous, new RateLimitKey(_generous.Index, _userIds[0], UInt128.Zero)).Allowed;

    /// <summary>100 000 users in turn (a flash sale: many buyers, a few calls each): mostly cache misses.</summary>
    [Benchmark]
    public bool ManyUsers()
    {
        var user = _userIds[_next++ % Users];
        return _limiter.TryAcquire(_generous, new RateLimitKey(_generous.Index, user, UInt128.Zero)).Allowed;
    }

    [Benchmark]
    public bool Refused() => _limiter.TryAcquire(_strict, new RateLimitKey(_strict.Index, _userIds[0], UInt128.Zero)).Allowed;

    /// <summary>An anonymous call straight from the client: its address, then its bucket.</summary>
    [Benchmark]
    public bool AnonymousDirect() => _limiter.TryAcquire(_generous,
        new RateLimitKey(_generous.Index, null, ClientAddressResolver.Key(_addresses.Resolve(_direct)))).Allowed;

    /// <summary>An anonymous call through the edge: X-Forwarded-For is parsed as well.</summary>
    [Benchmark]
    public bool AnonymousThroughTheEdge() => _limiter.TryAcquire(_generous,
        new RateLimitKey(_generous.Index, null, ClientAddressResolver.Key(_addresses.Resolve(_proxied)))).Allowed;

    /// <summary>Two threads (the machine's cores) taking permits from one user's bucket at once: CAS contention.</summary>
    [Benchmark(OperationsPerInvoke = 2 * 10_000)]
    public void OneUserTwoThreads() => Parallel.For(0, 2, _ =>
    {
        var key = new RateLimitKey(_generous.Index, _userIds[1], UInt128.Zero);
        for (var i = 0; i < 10_000; i++)
        {
            _limiter.TryAcquire(_generous, key);
        }
    });
}
