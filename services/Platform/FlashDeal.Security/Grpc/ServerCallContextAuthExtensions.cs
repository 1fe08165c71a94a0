using FlashDeal.Grpc;

namespace FlashDeal.Security;

/// <summary>The caller of a gRPC (or transcoded REST) call, as established by <see cref="AuthInterceptor"/>.</summary>
public static class ServerCallContextAuthExtensions
{
    private static readonly object StateKey = new();

    /// <summary>The authenticated caller, or null for an anonymous call or a refused token.</summary>
    public static AuthenticatedUser? GetUser(this ServerCallContext context) => GetResult(context).User;

    /// <summary>The authenticated caller; otherwise UNAUTHENTICATED with the reason (missing, expired, invalid).</summary>
    public static AuthenticatedUser RequireUser(this ServerCallContext context)
    {
        var result = GetResult(context);
        return result.User ?? throw AuthErrors.Unauthenticated(result);
    }

    /// <summary>An authenticated admin; otherwise UNAUTHENTICATED, or PERMISSION_DENIED (ADMIN_ROLE_REQUIRED).</summary>
    public static AuthenticatedUser RequireAdmin(this ServerCallContext context)
    {
        var user = context.RequireUser();
        return user.IsAdmin ? user : throw AuthErrors.PermissionDenied([Roles.Admin]);
    }

    /// <summary>What the interceptor found for this call (also when the token was refused).</summary>
    public static TokenValidationResult GetAuthentication(this ServerCallContext context) => GetResult(context);

    internal static void SetAuthentication(this ServerCallContext context, TokenValidationResult result) =>
        context.UserState[StateKey] = result;

    private static TokenValidationResult GetResult(ServerCallContext context) =>
        context.UserState.TryGetValue(StateKey, out var state) && state is TokenValidationResult result
            ? result
            : throw new InvalidOperationException(
                "No authentication ran for this call: register services.AddFlashDealAuthentication(configuration).");
}
