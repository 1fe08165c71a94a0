using FlashDeal.Contracts.Auth.V1;
using FlashDeal.Security;
using Grpc.Core;

namespace FlashDeal.ServiceDefaults;

/// <summary>The caller of a gRPC (or transcoded REST) call, as JwtBearer authenticated it (HttpContext.User).</summary>
public static class ServerCallContextAuthExtensions
{
    /// <summary>The authenticated caller, or null for an anonymous call (or a refused token on a public method).</summary>
    public static AuthenticatedUser? GetUser(this ServerCallContext context) =>
        AuthenticatedUser.FromPrincipal(context.GetHttpContext().User);

    /// <summary>
    /// The authenticated caller; UNAUTHENTICATED (ACCESS_TOKEN_MISSING) otherwise. Methods marked [Authorize] never get
    /// here without one: the authorization middleware answered with the exact reason before.
    /// </summary>
    public static AuthenticatedUser RequireUser(this ServerCallContext context) =>
        context.GetUser() ?? throw AuthErrors.Unauthenticated(null).ToRpcException();

    /// <summary>An authenticated admin; otherwise UNAUTHENTICATED, or PERMISSION_DENIED (ADMIN_ROLE_REQUIRED).</summary>
    public static AuthenticatedUser RequireAdmin(this ServerCallContext context)
    {
        var user = context.RequireUser();
        return user.Role == Role.Admin ? user : throw AuthErrors.AdminRoleRequired().ToRpcException();
    }
}
