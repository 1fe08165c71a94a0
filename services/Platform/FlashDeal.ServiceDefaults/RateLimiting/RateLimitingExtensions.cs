using System.Diagnostics.Metrics;
using System.Net;
using System.Threading.RateLimiting;
using FlashDeal.Security;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FlashDeal.ServiceDefaults.RateLimiting;

/// <summary>
/// Per-user and per-address limits on ASP.NET Core's in-box rate-limiting middleware: a token bucket per policy and
/// caller (<see cref="CallerBuckets"/>, the middleware's global limiter), keyed by the token's subject after
/// authentication (policies with <see cref="RateLimitPartition.User"/>) or by the client address before it (anonymous
/// callers, log-in, sign-up). Policies are named by the standard <c>[EnableRateLimiting("place-order")]</c> attributes
/// on the service class and its methods; their numbers come from the service's defaults in code, overridden field by
/// field by <c>RateLimits:Policies:&lt;name&gt;</c>. A refusal is RESOURCE_EXHAUSTED with ErrorInfo RATE_LIMITED (domain
/// the endpoint's <see cref="ErrorDomainAttribute"/>, else the service's) and RetryInfo over gRPC, HTTP 429 with
/// Retry-After over REST.
/// </summary>
public static class RateLimitingExtensions
{
    public const string Reason = "RATE_LIMITED";

    /// <summary>Where the local edge (nginx) runs: the default trusted proxies.</summary>
    public static readonly IReadOnlyList<string> DefaultTrustedProxies = ["127.0.0.0/8", "::1/128"];

    /// <summary>
    /// X-Forwarded-For from <c>RateLimits:TrustedProxies</c> only, whatever <c>RateLimits:Enabled</c> says: auth's
    /// failed-log-in throttle keys callers by the same address. A bad entry fails start-up.
    /// </summary>
    public static IServiceCollection AddTrustedProxies(this IServiceCollection services, IConfiguration configuration)
    {
        var trusted = configuration.GetSection(RateLimitOptions.Section).GetSection(nameof(RateLimitOptions.TrustedProxies))
            .Get<List<string>>() ?? [.. DefaultTrustedProxies];
        var networks = trusted.Where(p => !string.IsNullOrWhiteSpace(p)).Select(p => ParseNetwork(p.Trim())).ToList();
        services.Configure<ForwardedHeadersOptions>(o =>
        {
            o.ForwardedHeaders = ForwardedHeaders.XForwardedFor;
            // Every trusted hop is peeled off, right to left; the first untrusted one is the client.
            o.ForwardLimit = null;
            o.KnownProxies.Clear();
            o.KnownIPNetworks.Clear();
            foreach (var network in networks)
            {
                o.KnownIPNetworks.Add(network);
            }
        });
        return services;
    }

    public static IServiceCollection AddFlashDealRateLimiting(this IServiceCollection services, IConfiguration configuration,
        string serviceName)
    {
        services.AddTrustedProxies(configuration);
        var section = configuration.GetSection(RateLimitOptions.Section);
        var enabled = section.GetValue(nameof(RateLimitOptions.Enabled), true);
        services.AddSingleton(new RateLimitSwitch(enabled));
        if (!enabled)
        {
            return services;
        }
        services.AddSingleton<RateLimitRefusals>();
        services.AddHostedService<RateLimitPolicyCheck>();
        // Read when the limiter is first built, so the service's AddRateLimitPolicies may come after AddServiceDefaults.
        services.AddSingleton(sp => Read(section, sp.GetServices<RateLimitPolicyDefaults>()));
        services.AddSingleton(sp => new CallerBuckets(sp.GetRequiredService<RateLimitOptions>()));
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<RateLimitOptions, RateLimitRefusals, CallerBuckets>(
            (limiter, options, refusals, buckets) =>
            {
                var domain = options.Domain ?? $"{serviceName}.flashdeal.dev";
                foreach (var (name, policy) in options.Policies)
                {
                    Validate(name, policy);
                    // The name stays a policy ([EnableRateLimiting] resolves it); the buckets are CallerBuckets'.
                    limiter.AddPolicy(name, _ => System.Threading.RateLimiting.RateLimitPartition.GetNoLimiter(""));
                }
                limiter.GlobalLimiter = buckets;
                limiter.OnRejected = (context, _) => refusals.WriteAsync(context, domain);
            });
        return services;
    }

    /// <summary>
    /// A service's default policies, named by its [EnableRateLimiting] attributes. <c>RateLimits:Policies:&lt;name&gt;</c>
    /// overrides them field by field, so a service runs with sensible limits whatever configuration files it finds.
    /// </summary>
    public static IServiceCollection AddRateLimitPolicies(this IServiceCollection services,
        IReadOnlyDictionary<string, RateLimitPolicyOptions> policies)
    {
        services.AddSingleton(new RateLimitPolicyDefaults(policies));
        return services;
    }

    /// <summary>The limiter middleware, after authentication (user partitions) and routing (policy metadata).</summary>
    public static IApplicationBuilder UseFlashDealRateLimiting(this IApplicationBuilder app) =>
        app.ApplicationServices.GetRequiredService<RateLimitSwitch>().Enabled ? app.UseRateLimiter() : app;

    /// <summary>The section, with each policy bound field by field over the service's default of the same name.</summary>
    public static RateLimitOptions Read(IConfiguration section, IEnumerable<RateLimitPolicyDefaults> defaults)
    {
        var options = section.Get<RateLimitOptions>() ?? new RateLimitOptions();
        var policies = new Dictionary<string, RateLimitPolicyOptions>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, policy) in defaults.SelectMany(d => d.Policies))
        {
            policies[name] = new RateLimitPolicyOptions
            {
                PermitsPerSecond = policy.PermitsPerSecond,
                Burst = policy.Burst,
                Partition = policy.Partition,
            };
        }
        foreach (var configured in section.GetSection(nameof(RateLimitOptions.Policies)).GetChildren())
        {
            if (!policies.TryGetValue(configured.Key, out var target))
            {
                policies[configured.Key] = target = new RateLimitPolicyOptions();
            }
            configured.Bind(target);
        }
        options.Policies = policies;
        return options;
    }

    internal static void Validate(string name, RateLimitPolicyOptions policy)
    {
        if (!(policy.PermitsPerSecond > 0) || double.IsInfinity(policy.PermitsPerSecond) || policy.Burst < 1)
        {
            throw new InvalidOperationException(
                $"RateLimits:Policies:{name}: PermitsPerSecond must be positive and Burst at least 1 " +
                $"(got {policy.PermitsPerSecond} and {policy.Burst}).");
        }
    }

    private static System.Net.IPNetwork ParseNetwork(string value)
    {
        if (System.Net.IPNetwork.TryParse(value, out var network))
        {
            return network;
        }
        if (IPAddress.TryParse(value, out var address))
        {
            address = ClientAddress.Normalize(address);
            return new System.Net.IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
        }
        throw new InvalidOperationException(
            $"RateLimits:TrustedProxies: '{value}' is neither an IP address nor a CIDR network (e.g. 10.0.0.0/8).");
    }

    /// <summary>Whether the limiter is on (RateLimits:Enabled).</summary>
    internal sealed record RateLimitSwitch(bool Enabled);
}

/// <summary>
/// At start-up, once the endpoints are built: every policy an endpoint names in [EnableRateLimiting] must exist and be
/// possible, or the service does not start (a typo must not turn a limit off, nor fail every call of an RPC).
/// </summary>
internal sealed class RateLimitPolicyCheck(EndpointDataSource endpoints, RateLimitOptions options) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken)
    {
        foreach (var (name, policy) in options.Policies)
        {
            RateLimitingExtensions.Validate(name, policy);
        }
        // The middleware looks policies up by exact name.
        var missing = endpoints.Endpoints
            .Select(e => (Endpoint: e, Policy: e.Metadata.GetMetadata<EnableRateLimitingAttribute>()?.PolicyName))
            .Where(e => e.Policy is not null && !options.Policies.Keys.Contains(e.Policy, StringComparer.Ordinal))
            .Select(e => $"{e.Endpoint.DisplayName}: '{e.Policy}'")
            .Distinct()
            .ToList();
        return missing.Count == 0
            ? Task.CompletedTask
            : throw new InvalidOperationException(
                $"Rate-limit policies are not configured (RateLimits:Policies:<name>): {string.Join("; ", missing)}");
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Writes a refusal and counts it (flashdeal.rate_limit.refused by policy and partition).</summary>
public sealed class RateLimitRefusals
{
    private readonly Counter<long> _refused;
    private readonly ILogger<RateLimitRefusals> _logger;
    private readonly RateLimitOptions _options;

    public RateLimitRefusals(IMeterFactory meters, RateLimitOptions options, ILogger<RateLimitRefusals> logger)
    {
        _logger = logger;
        _options = options;
        _refused = meters.Create("FlashDeal.RateLimiting").CreateCounter<long>("flashdeal.rate_limit.refused",
            unit: "{call}", description: "Calls refused by a per-replica rate limit, by policy and partition (user, address).");
    }

    /// <param name="domain">The process's domain, for endpoints without an <see cref="ErrorDomainAttribute"/>.</param>
    public ValueTask WriteAsync(OnRejectedContext context, string domain)
    {
        var http = context.HttpContext;
        domain = http.GetEndpoint()?.Metadata.GetMetadata<ErrorDomainAttribute>()?.Domain ?? domain;
        var policy = http.GetEndpoint()?.Metadata.GetMetadata<EnableRateLimitingAttribute>()?.PolicyName ?? "";
        // The bucket the call was counted in: an Address policy counts by address even when the caller sent a token.
        var byUser = _options.Policies.TryGetValue(policy, out var options) && options.Partition == RateLimitPartition.User
            && AuthenticatedUser.FromPrincipal(http.User) is not null;
        var partition = byUser ? "user" : "address";
        var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var delay) && delay > TimeSpan.Zero
            ? delay
            : TimeSpan.FromSeconds(1);
        _refused.Add(1, new KeyValuePair<string, object?>("flashdeal.rate_limit.policy", policy),
            new KeyValuePair<string, object?>("flashdeal.rate_limit.partition", partition));
        // Neither the token nor the caller's identity: the policy and the path say enough.
        _logger.LogDebug("Rate limited {Path} ({Policy}, per {Partition})", http.Request.Path, policy, partition);

        var seconds = ErrorResponses.RetryAfterSeconds(retryAfter);
        var info = RpcErrors.ErrorInfo(RateLimitingExtensions.Reason, domain, new Dictionary<string, string>
        {
            ["policy"] = policy,
            ["partition"] = partition,
            ["retry_after_seconds"] = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        var status = RpcErrors.Status(StatusCode.ResourceExhausted,
            $"Too many calls (limit '{policy}'); retry in {Math.Ceiling(retryAfter.TotalMilliseconds)} ms.",
            info, RpcErrors.RetryInfo(retryAfter));
        return new ValueTask(ErrorResponses.WriteAsync(http, status, retryAfter: retryAfter));
    }
}
