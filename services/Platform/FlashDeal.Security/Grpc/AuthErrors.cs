using FlashDeal.Contracts.Auth.V1;
using FlashDeal.Grpc;

namespace FlashDeal.Security;

/// <summary>The statuses a refused call ends with: ErrorInfo in domain "auth.flashdeal.dev", reasons from auth_errors.proto.</summary>
public static class AuthErrors
{
    public const string Domain = "auth.flashdeal.dev";

    private static readonly Google.Protobuf.Reflection.EnumDescriptor ReasonDescriptor =
        AuthErrorsReflection.Descriptor.EnumTypes.Single(e => e.ClrType == typeof(AuthErrorReason));

    public static RpcException Unauthenticated(TokenValidationResult result) => result.Failure switch
    {
        TokenFailureReason.None => throw new ArgumentException("The token was valid.", nameof(result)),
        // Auth being unreachable is not the caller's fault: a retryable status, and the client keeps its token.
        TokenFailureReason.KeysUnavailable => new RpcException(StatusCode.Unavailable, result.Detail),
        TokenFailureReason.Missing => WithReason(StatusCode.Unauthenticated, AuthErrorReason.AccessTokenMissing, result),
        TokenFailureReason.Expired => WithReason(StatusCode.Unauthenticated, AuthErrorReason.AccessTokenExpired, result),
        _ => WithReason(StatusCode.Unauthenticated, AuthErrorReason.AccessTokenInvalid, result),
    };

    public static RpcException PermissionDenied(IReadOnlyCollection<string> anyOfRoles) =>
        anyOfRoles.Contains(Roles.Admin)
            ? RpcException.WithReason(StatusCode.PermissionDenied, ReasonName(AuthErrorReason.AdminRoleRequired), Domain,
                "This call needs the admin role.")
            : new RpcException(StatusCode.PermissionDenied, $"This call needs one of the roles: {string.Join(", ", anyOfRoles)}.");

    /// <summary>"ACCESS_TOKEN_EXPIRED" for AuthErrorReason.AccessTokenExpired: the proto value name is the reason.</summary>
    public static string ReasonName(AuthErrorReason reason) => ReasonDescriptor.FindValueByNumber((int)reason).Name;


    private static RpcException WithReason(StatusCode code, AuthErrorReason reason, TokenValidationResult result) =>
        RpcException.WithReason(code, ReasonName(reason), Domain, result.Detail);
}
