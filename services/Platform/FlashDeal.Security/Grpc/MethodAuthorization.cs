using System.Collections.Concurrent;
using System.Reflection;
using FlashDeal.Grpc;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace FlashDeal.Security;

/// <summary>
/// What an RPC requires, read once from the standard ASP.NET Core attributes on the service class and its method:
/// <c>[Authorize]</c> needs a user, <c>[Authorize(Roles = Roles.Admin)]</c> also a role (comma = any of; several
/// attributes must all hold), <c>[AllowAnonymous]</c> anywhere wins. Without attributes a method is public.
/// </summary>
public sealed class MethodAuthorization
{
    public static MethodAuthorization Anonymous { get; } = new(false, []);

    private MethodAuthorization(bool requiresUser, IReadOnlyList<string[]> roleSets)
    {
        RequiresUser = requiresUser;
        RoleSets = roleSets;
    }

    public bool RequiresUser { get; }

    /// <summary>Each entry is one [Authorize(Roles = "...")]: the user needs one role of every entry.</summary>
    public IReadOnlyList<string[]> RoleSets { get; }

    public static MethodAuthorization For(Type serviceType, MethodInfo? method)
    {
        var attributes = serviceType.GetCustomAttributes(inherit: true)
            .Concat(method?.GetCustomAttributes(inherit: true) ?? [])
            .ToList();
        if (attributes.OfType<IAllowAnonymous>().Any())
        {
            return Anonymous;
        }
        var authorize = attributes.OfType<IAuthorizeData>().ToList();
        if (authorize.Count == 0)
        {
            return Anonymous;
        }
        var where = method is null ? serviceType.Name : $"{serviceType.Name}.{method.Name}";
        if (authorize.Any(a => !string.IsNullOrEmpty(a.Policy)))
        {
            // Policies need ASP.NET Core's authorization services, which gRPC calls here do not go through.
            throw new InvalidOperationException($"{where}: [Authorize(Policy = ...)] is not supported on gRPC services; use Roles.");
        }
        var roleSets = authorize
            .Where(a => !string.IsNullOrWhiteSpace(a.Roles))
            .Select(a => a.Roles!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .ToList();
        return new MethodAuthorization(true, roleSets);
    }

    /// <summary>Throws UNAUTHENTICATED or PERMISSION_DENIED when the call does not meet the requirement.</summary>
    public void Enforce(ServerCallContext context)
    {
        if (!RequiresUser)
        {
            return;
        }
        var user = context.RequireUser();
        foreach (var roles in RoleSets)
        {
            if (!roles.Any(user.IsInRole))
            {
                throw AuthErrors.PermissionDenied(roles);
            }
        }
    }
}

/// <summary>Requirements of every mapped RPC by full name, filled when services are mapped.</summary>
public sealed class MethodAuthorizationTable(GrpcServiceRegistry registry)
{
    private readonly ConcurrentDictionary<string, MethodAuthorization> _methods = new(StringComparer.Ordinal);

    public void Add(ServiceMethod method) =>
        _methods[method.FullName] = MethodAuthorization.For(method.ServiceType, method.Implementation);

    public MethodAuthorization Get(string fullMethodName) =>
        _methods.TryGetValue(fullMethodName, out var found) ? found : Lookup(fullMethodName);

    // A service mapped before the contributor was registered: find it once, never fall back to "public" silently.
    private MethodAuthorization Lookup(string fullMethodName)
    {
        var method = registry.Services.SelectMany(s => s.Methods).FirstOrDefault(m => m.FullName == fullMethodName);
        return method is null
            ? MethodAuthorization.Anonymous
            : _methods.GetOrAdd(fullMethodName, _ => MethodAuthorization.For(method.ServiceType, method.Implementation));
    }
}

/// <summary>Reads the attributes of each RPC at MapGrpcService time, so a bad attribute fails at start-up.</summary>
internal sealed class AuthorizationEndpointContributor(MethodAuthorizationTable table) : IServiceEndpointContributor
{
    public void Contribute(IEndpointRouteBuilder endpoints, ServiceModel service, IList<IEndpointConventionBuilder> builders)
    {
        foreach (var method in service.Methods)
        {
            table.Add(method);
        }
    }
}
