using System.Net;
using System.Security.Claims;
using System.Threading.RateLimiting;
using BenchmarkDotNet.Attributes;
using FlashDeal.ServiceDefaults.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;

namespace FlashDeal.Benchmarks;

/// <summary>
/// What the services' rate limiting adds to a limited call (docs/rate-limits.md): <see cref="CallerBuckets"/>, the
/// limiter the middleware asks, with a bucket per caller (the token's subject, else the client address). The policy is
/// generous, so every call is allowed and the full path is measured; "Refused" is a caller over its limit.
/// </summary>
[MemoryDiagnoser]
public class RateLimitBenchmarks
{
    private const int Users = 100_000;

    private PartitionedRateLimiter<HttpContext> _generous = null!;
    private PartitionedRateLimiter<HttpContext> _strict = null!;
    private HttpContext[] _users = null!;
    private HttpContext _anonymous = null!;
    private HttpContext _strictUser = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var options = new RateLimitOptions
        {
            Policies = new Dictionary<string, RateLimitPolicyOptions>
            {
                ["generous"] = new() { PermitsPerSecond = 1e6, Burst = 1_000_000 },
                ["strict"] = new() { PermitsPerSecond = 0.001, Burst = 1 },
            },
        };
        _generous = new CallerBuckets(options);
        _strict = new CallerBuckets(options);
        _users = Enumerable.Range(0, Users).Select(_ => User(Guid.NewGuid().ToString("D"), "generous")).ToArray();
        foreach (var user in _users)
        {
            _generous.AttemptAcquire(user).Dispose();
        }
        _strictUser = User(Guid.NewGuid().ToString("D"), "strict");
        _strict.AttemptAcquire(_strictUser).Dispose();
        _anonymous = new DefaultHttpContext();
        _anonymous.SetEndpoint(Limited("generous"));
        _anonymous.Connection.RemoteIpAddress = IPAddress.Parse("203.0.113.7");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _generous.Dispose();
        _strict.Dispose();
    }

    /// <summary>The same user again and again: the bucket is hot in the CPU cache.</summary>
    [Benchmark(Baseline = true)]
    public bool OneUser()
    {
        using var lease = _generous.AttemptAcquire(_users[0]);
        return lease.IsAcquired;
    }

    /// <summary>100 000 users in turn (a flash sale: many buyers, a few calls each): mostly cache misses.</summary>
    [Benchmark]
    public bool ManyUsers()
    {
        using var lease = _generous.AttemptAcquire(_users[_next++ % Users]);
        return lease.IsAcquired;
    }

    [Benchmark]
    public bool Refused()
    {
        using var lease = _strict.AttemptAcquire(_strictUser);
        return lease.IsAcquired;
    }

    /// <summary>An anonymous call: its address (IPv4) is the key.</summary>
    [Benchmark]
    public bool Anonymous()
    {
        using var lease = _generous.AttemptAcquire(_anonymous);
        return lease.IsAcquired;
    }

    private static Endpoint Limited(string policy) =>
        new(null, new EndpointMetadataCollection(new EnableRateLimitingAttribute(policy)), policy);

    private static DefaultHttpContext User(string subject, string policy)
    {
        var http = new DefaultHttpContext
        {
            User = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", subject)], "Bearer", "sub", "role")),
        };
        http.SetEndpoint(Limited(policy));
        http.Connection.RemoteIpAddress = IPAddress.Loopback;
        return http;
    }
}
