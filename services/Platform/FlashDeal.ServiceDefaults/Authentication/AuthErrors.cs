using FlashDeal.Contracts.Auth.V1;
using FlashDeal.Security;
using Grpc.Core;
using Microsoft.IdentityModel.Tokens;
using Status = Google.Rpc.Status;

namespace FlashDeal.ServiceDefaults;

/// <summary>
/// Refused tokens and missing roles, as every service answers them: ErrorInfo in domain "auth.flashdeal.dev" with a
/// reason from auth_errors.proto (ACCESS_TOKEN_MISSING, ACCESS_TOKEN_EXPIRED, ACCESS_TOKEN_INVALID, ADMIN_ROLE_REQUIRED).
/// The message says what was wrong with the token in fixed words: never the token, never IdentityModel's text.
/// </summary>
public static class AuthErrors
{
    public const string Domain = "auth.flashdeal.dev";

    private static readonly Google.Protobuf.Reflection.EnumDescriptor ReasonDescriptor =
        AuthErrorsReflection.Descriptor.EnumTypes.Single(e => e.ClrType == typeof(AuthErrorReason));

    /// <summary>"ACCESS_TOKEN_EXPIRED" for AuthErrorReason.AccessTokenExpired: the proto value name is the reason.</summary>
    public static string ReasonName(AuthErrorReason reason) => ReasonDescriptor.FindValueByNumber((int)reason).Name;

    /// <summary>Why authentication failed (JwtBearer's failure, null when no token came) as the answer's status.</summary>
    public static Status Unauthenticated(Exception? failure) => failure switch
    {
        null => Reason(StatusCode.Unauthenticated, AuthErrorReason.AccessTokenMissing,
            "Missing 'authorization: Bearer <token>'."),
        SecurityTokenExpiredException => Reason(StatusCode.Unauthenticated, AuthErrorReason.AccessTokenExpired,
            "Access token has expired; call Refresh."),
        // The keys could not be loaded (auth unreachable since start-up): not the caller's fault, and retryable.
        _ when IsKeysUnavailable(failure) => RpcErrors.Status(StatusCode.Unavailable,
            "Signing keys are not available yet; retry later."),
        _ => Reason(StatusCode.Unauthenticated, AuthErrorReason.AccessTokenInvalid, Describe(failure)),
    };

    public static Status AdminRoleRequired() =>
        Reason(StatusCode.PermissionDenied, AuthErrorReason.AdminRoleRequired, "This call needs the admin role.");

    public static Status PermissionDenied() => RpcErrors.Status(StatusCode.PermissionDenied, "This call is not allowed for this user.");

    private static Status Reason(StatusCode code, AuthErrorReason reason, string message) =>
        RpcErrors.Status(code, message, RpcErrors.ErrorInfo(ReasonName(reason), Domain));

    private static bool IsKeysUnavailable(Exception failure) =>
        failure is SigningKeysUnavailableException or InvalidOperationException or HttpRequestException or IOException
            or TaskCanceledException
        && failure is not SecurityTokenException;

    private static string Describe(Exception failure) => failure switch
    {
        // Ours (AccessTokenHandler, the bearer scheme check) are written for callers.
        SecurityTokenMalformedException { Message: var message } when message.StartsWith("Access token", StringComparison.Ordinal)
            || message.StartsWith("Expected", StringComparison.Ordinal) => message,
        SecurityTokenValidationException { Message: var message } when message.StartsWith("Access token", StringComparison.Ordinal) => message,
        SecurityTokenMalformedException or SecurityTokenNoExpirationException => "Access token is malformed.",
        SecurityTokenInvalidAlgorithmException => "Access token must be signed with ES256.",
        SecurityTokenSignatureKeyNotFoundException => "Access token is signed with an unknown key.",
        SecurityTokenInvalidSignatureException => "Access token signature is invalid.",
        SecurityTokenInvalidIssuerException => "Access token has the wrong issuer.",
        SecurityTokenInvalidAudienceException => "Access token is not meant for this audience.",
        SecurityTokenNotYetValidException => "Access token is not valid yet.",
        _ => "Access token could not be validated.",
    };
}
