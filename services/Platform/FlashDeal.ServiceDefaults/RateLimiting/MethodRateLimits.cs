using System.Collections.Concurrent;
using FlashDeal.Grpc;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace FlashDeal.ServiceDefaults.RateLimiting;

/// <summary>
/// The policy of every mapped RPC, read once when MapGrpcService binds it, from the standard ASP.NET Core attributes
/// <c>[EnableRateLimiting("place-order")]</c> / <c>[DisableRateLimiting]</c> (the method's win over the class's), then
/// overridden by <c>RateLimits:Methods</c>. An unknown policy name fails at start-up. No policy: not limited.
/// </summary>
public sealed class MethodRateLimits(GrpcServiceRegistry registry, RateLimiter limiter, RateLimitOptions options)
{
    public const string NoPolicy = "none";

    private readonly ConcurrentDictionary<string, RateLimitPolicy?> _methods = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _configured = new(options.Methods, StringComparer.OrdinalIgnoreCase);

    public void Add(ServiceMethod method) => _methods[method.FullName] = Resolve(method);

    public RateLimitPolicy? Get(string fullMethodName) =>
        _methods.TryGetValue(fullMethodName, out var policy) ? policy : Lookup(fullMethodName);

    public RateLimitPolicy? Resolve(ServiceMethod method)
    {
        var where = $"{method.ServiceType.Name}.{method.Implementation?.Name ?? method.MethodName}";
        var name = Configured(method) ?? FromAttributes(method);
        if (name is null || string.Equals(name, NoPolicy, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        return limiter.Policies.TryGetValue(name, out var policy)
            ? policy
            : throw new InvalidOperationException(
                $"{where}: rate-limit policy '{name}' is not configured (RateLimits:Policies:{name}).");
    }

    private string? Configured(ServiceMethod method) =>
        _configured.TryGetValue($"{method.ServiceName}.{method.MethodName}", out var name)
        || _configured.TryGetValue(method.MethodName, out name)
            ? name
            : null;

    private static string? FromAttributes(ServiceMethod method)
    {
        foreach (var attributes in new[]
                 {
                     method.Implementation?.GetCustomAttributes(inherit: true) ?? [],
                     method.ServiceType.GetCustomAttributes(inherit: true),
                 })
        {
            if (attributes.OfType<DisableRateLimitingAttribute>().Any())
            {
                return NoPolicy;
            }
            if (attributes.OfType<EnableRateLimitingAttribute>().FirstOrDefault() is { } enable)
            {
                return enable.PolicyName ?? throw new InvalidOperationException(
                    $"{method.ServiceType.Name}: [EnableRateLimiting] needs a policy name.");
            }
        }
        return null;
    }

    // A service mapped before the contributor was registered: resolve it once, never fall back to "unlimited" silently.
    private RateLimitPolicy? Lookup(string fullMethodName)
    {
        var method = registry.Services.SelectMany(s => s.Methods).FirstOrDefault(m => m.FullName == fullMethodName);
        return method is null ? null : _methods.GetOrAdd(fullMethodName, _ => Resolve(method));
    }
}

/// <summary>Reads the policies at MapGrpcService time, so a bad name (or any bad setting) fails at start-up.</summary>
internal sealed class RateLimitEndpointContributor(MethodRateLimits table, IServiceProvider services) : IServiceEndpointContributor
{
    public void Contribute(IEndpointRouteBuilder endpoints, ServiceModel service, IList<IEndpointConventionBuilder> builders)
    {
        // Build the interceptor now rather than on the first call: a bad TrustedProxies entry stops the start.
        services.GetRequiredService<RateLimitInterceptor>();
        foreach (var method in service.Methods)
        {
            table.Add(method);
        }
    }
}
