using System.Globalization;
using FlashDeal.Auth.Sessions;
using FlashDeal.Auth.Throttling;
using FlashDeal.Contracts.Auth.V1;
using FlashDeal.ServiceDefaults;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;

namespace FlashDeal.Auth.Grpc;

/// <summary>
/// The statuses AuthService answers with: ErrorInfo in domain "auth.flashdeal.dev" with an AuthErrorReason name,
/// BadRequest for bad input, RetryInfo for throttling. Messages never echo a password or a token.
/// </summary>
public static class AuthApiErrors
{
    public static RpcException InvalidArgument(IReadOnlyList<(string Field, string Description)> violations,
        AuthErrorReason reason = AuthErrorReason.Unspecified)
    {
        var badRequest = new BadRequest();
        foreach (var (field, description) in violations)
        {
            badRequest.FieldViolations.Add(new BadRequest.Types.FieldViolation { Field = field, Description = description });
        }
        var detail = string.Join("; ", violations.Select(v => $"{v.Field}: {v.Description}"));
        return reason == AuthErrorReason.Unspecified
            ? RpcErrors.WithDetails(StatusCode.InvalidArgument, detail, badRequest)
            : RpcErrors.WithDetails(StatusCode.InvalidArgument, detail, badRequest, Info(reason));
    }

    public static RpcException EmailAlreadyRegistered() => WithReason(StatusCode.AlreadyExists,
        AuthErrorReason.EmailAlreadyRegistered, "An account with this email already exists.");

    /// <summary>Unknown email and wrong password are the same answer.</summary>
    public static RpcException InvalidCredentials() => WithReason(StatusCode.Unauthenticated,
        AuthErrorReason.InvalidCredentials, "Wrong email or password.");

    public static RpcException TooManyAttempts(ThrottleDecision decision)
    {
        var seconds = Math.Max(1, (long)Math.Ceiling(decision.RetryAfter.TotalSeconds));
        var info = Info(AuthErrorReason.TooManyAttempts);
        info.Metadata["limit"] = decision.LimitedBy == ThrottleScope.Account ? "account" : "address";
        info.Metadata["retry_after_seconds"] = seconds.ToString(CultureInfo.InvariantCulture);
        var retry = new RetryInfo { RetryDelay = Duration.FromTimeSpan(TimeSpan.FromSeconds(seconds)) };
        return RpcErrors.WithDetails(StatusCode.ResourceExhausted,
            $"Too many failed log-in attempts; retry in {seconds} s.", info, retry);
    }

    public static RpcException PasswordChecksBusy(TimeSpan retryAfter)
    {
        var seconds = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds));
        var info = Info(AuthErrorReason.PasswordChecksBusy);
        info.Metadata["retry_after_seconds"] = seconds.ToString(CultureInfo.InvariantCulture);
        return RpcErrors.WithDetails(StatusCode.ResourceExhausted,
            $"Too many log-ins and sign-ups at once on this replica; retry in {seconds} s.", info,
            RpcErrors.RetryInfo(TimeSpan.FromSeconds(seconds)));
    }

    public static RpcException Refresh(RefreshFailure failure) => failure switch
    {
        RefreshFailure.Expired => WithReason(StatusCode.Unauthenticated, AuthErrorReason.RefreshTokenExpired,
            "The refresh token has expired; log in again."),
        RefreshFailure.Reused => WithReason(StatusCode.Unauthenticated, AuthErrorReason.RefreshTokenReused,
            "The refresh token was already used; the session is revoked. Log in again."),
        _ => RefreshTokenInvalid(),
    };

    public static RpcException RefreshTokenInvalid() => WithReason(StatusCode.Unauthenticated,
        AuthErrorReason.RefreshTokenInvalid, "The refresh token is not valid; log in again.");

    private static RpcException WithReason(StatusCode code, AuthErrorReason reason, string detail) =>
        RpcErrors.WithDetails(code, detail, Info(reason));

    private static ErrorInfo Info(AuthErrorReason reason) =>
        new() { Reason = AuthErrors.ReasonName(reason), Domain = AuthErrors.Domain };
}
