using FlashDeal.Auth.Accounts;
using FlashDeal.Auth.Sessions;
using FlashDeal.Auth.Throttling;
using FlashDeal.Contracts.Auth.V1;
using FlashDeal.Security;
using FlashDeal.ServiceDefaults;
using FlashDeal.ServiceDefaults.RateLimiting;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace FlashDeal.Auth.Grpc;

/// <summary>flashdeal.auth.v1.AuthService over gRPC and REST: validates input, calls the domain, maps to proto.</summary>
[EnableRateLimiting("auth-read")]
public sealed class AuthApi(
    AccountService accounts,
    RefreshTokenService sessions,
    LogInThrottle throttle,
    AccessTokenIssuer issuer,
    ISigningKeySource signingKeys,
    IOptions<AuthServiceOptions> options) : AuthService.AuthServiceBase
{
    /// <summary>
    /// Default rate limits per replica (docs/rate-limits.md); RateLimits:Policies:&lt;name&gt; overrides them. Log-in and
    /// sign-up count per client address (the caller is not known yet); a NAT puts many people behind one, hence the
    /// bursts. The failed-log-in throttle is the defence against password guessing, not this.
    /// </summary>
    public static readonly Dictionary<string, RateLimitPolicyOptions> RateLimitPolicies = new()
    {
        ["log-in"] = new() { PermitsPerSecond = 5, Burst = 20, Partition = RateLimitPartition.Address },
        ["sign-up"] = new() { PermitsPerSecond = 1, Burst = 10, Partition = RateLimitPartition.Address },
        ["refresh"] = new() { PermitsPerSecond = 5, Burst = 20 },
        ["auth-read"] = new() { PermitsPerSecond = 20, Burst = 50 },
    };

    private const string JwksCacheControl = "public, max-age=300";

    [EnableRateLimiting("sign-up")]
    public override async Task<SignUpResponse> SignUp(SignUpRequest request, ServerCallContext context)
    {
        var violations = new List<(string, string)>();
        var email = EmailAddress.Normalize(request.Email);
        var emailProblem = EmailAddress.Problem(email);
        if (emailProblem is not null)
        {
            violations.Add(("email", emailProblem));
        }
        var weakPassword = false;
        if (request.Password.Length == 0)
        {
            violations.Add(("password", "is required"));
        }
        else if (PasswordPolicy.Problem(request.Password, email) is { } passwordProblem)
        {
            violations.Add(("password", passwordProblem));
            weakPassword = true;
        }
        // Without a valid email there is no default name to judge, only a given one.
        var displayName = DisplayName.Resolve(request.DisplayName, email);
        if ((emailProblem is null || request.DisplayName.Trim().Length > 0)
            && DisplayName.Problem(displayName) is { } nameProblem)
        {
            violations.Add(("display_name", nameProblem));
        }
        if (violations.Count > 0)
        {
            throw AuthApiErrors.InvalidArgument(violations, weakPassword ? AuthErrorReason.WeakPassword : AuthErrorReason.Unspecified);
        }

        UserAccount? user;
        try
        {
            user = await accounts.CreateAsync(email, request.Password, displayName, Role.Customer, context.CancellationToken);
        }
        catch (PasswordWorkBusyException busy)
        {
            throw AuthApiErrors.PasswordChecksBusy(busy.RetryAfter);
        }
        if (user is null)
        {
            throw AuthApiErrors.EmailAlreadyRegistered();
        }
        return new SignUpResponse { User = ToProto(user), Token = await StartSessionAsync(user, context) };
    }

    [EnableRateLimiting("log-in")]
    public override async Task<LogInResponse> LogIn(LogInRequest request, ServerCallContext context)
    {
        var email = EmailAddress.Normalize(request.Email);
        var violations = new List<(string, string)>();
        if (email.Length == 0)
        {
            violations.Add(("email", "is required"));
        }
        else if (email.Length > EmailAddress.MaxLength)
        {
            violations.Add(("email", $"must be at most {EmailAddress.MaxLength} characters"));
        }
        if (request.Password.Length == 0)
        {
            violations.Add(("password", "is required"));
        }
        else if (PasswordPolicy.Length(request.Password) > PasswordPolicy.MaxLength)
        {
            violations.Add(("password", $"must be at most {PasswordPolicy.MaxLength} characters"));
        }
        if (violations.Count > 0)
        {
            throw AuthApiErrors.InvalidArgument(violations);
        }

        var address = ClientAddress.Key(ClientAddress.Of(context.GetHttpContext()));
        var attempt = await throttle.BeginAsync(email, address);
        if (!attempt.Decision.Allowed)
        {
            throw AuthApiErrors.TooManyAttempts(attempt.Decision);
        }
        UserAccount? user;
        try
        {
            user = await accounts.VerifyCredentialsAsync(email, request.Password, context.CancellationToken);
        }
        catch (PasswordWorkBusyException busy)
        {
            await throttle.WithdrawAsync(attempt);
            throw AuthApiErrors.PasswordChecksBusy(busy.RetryAfter);
        }
        catch (OperationCanceledException)
        {
            // The caller gave up (its deadline, often while queued for a hashing slot): no password was judged.
            await throttle.WithdrawAsync(attempt);
            throw;
        }
        if (user is null)
        {
            throw AuthApiErrors.InvalidCredentials();
        }
        await throttle.SucceededAsync(attempt);
        return new LogInResponse { User = ToProto(user), Token = await StartSessionAsync(user, context) };
    }

    [EnableRateLimiting("refresh")]
    public override async Task<RefreshResponse> Refresh(RefreshRequest request, ServerCallContext context)
    {
        if (request.RefreshToken.Length == 0)
        {
            throw AuthApiErrors.InvalidArgument([("refresh_token", "is required")]);
        }
        var outcome = await sessions.RotateAsync(request.RefreshToken, context.CancellationToken);
        if (outcome.Failure != RefreshFailure.None)
        {
            throw AuthApiErrors.Refresh(outcome.Failure);
        }
        return new RefreshResponse { Token = Grant(outcome.User!, outcome.Token!) };
    }

    [EnableRateLimiting("refresh")]
    public override async Task<LogOutResponse> LogOut(LogOutRequest request, ServerCallContext context)
    {
        if (request.RefreshToken.Length == 0)
        {
            throw AuthApiErrors.InvalidArgument([("refresh_token", "is required")]);
        }
        return await sessions.LogOutAsync(request.RefreshToken, request.AllSessions, context.CancellationToken)
            ? new LogOutResponse()
            : throw AuthApiErrors.RefreshTokenInvalid();
    }

    [Authorize]
    public override async Task<GetMeResponse> GetMe(GetMeRequest request, ServerCallContext context)
    {
        var caller = context.RequireUser();
        var user = Guid.TryParse(caller.UserId, out var userId)
            ? await accounts.FindAsync(userId, context.CancellationToken)
            : null;
        return user is null
            ? throw new RpcException(new Status(StatusCode.NotFound, "The account of this token no longer exists."))
            : new GetMeResponse { User = ToProto(user) };
    }

    public override Task<GetJwksResponse> GetJwks(GetJwksRequest request, ServerCallContext context)
    {
        var http = context.GetHttpContext();
        if (!ErrorResponses.IsGrpc(http.Request))
        {
            // Validators refresh on their own schedule; a cache in front of auth may serve the set for a few minutes.
            http.Response.Headers.CacheControl = JwksCacheControl;
        }
        return Task.FromResult(signingKeys.Current.ToJwks());
    }

    private async Task<TokenGrant> StartSessionAsync(UserAccount user, ServerCallContext context) =>
        Grant(user, await sessions.StartSessionAsync(user.UserId, context.CancellationToken));

    private TokenGrant Grant(UserAccount user, IssuedRefreshToken refresh)
    {
        var access = issuer.Issue(user.UserId.ToString(), user.Email, user.Role);
        return new TokenGrant
        {
            AccessToken = access.Token,
            TokenType = "Bearer",
            ExpiresIn = (int)(access.ExpiresAt - access.IssuedAt).TotalSeconds,
            RefreshToken = refresh.Token,
            RefreshExpiresIn = (int)options.Value.RefreshTokenLifetime.TotalSeconds,
        };
    }

    private static User ToProto(UserAccount user) => new()
    {
        UserId = user.UserId.ToString(),
        Email = user.Email,
        DisplayName = user.DisplayName,
        Role = user.Role,
        CreateTime = Timestamp.FromDateTimeOffset(user.CreateTime),
    };
}
