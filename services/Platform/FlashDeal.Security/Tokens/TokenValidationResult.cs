namespace FlashDeal.Security;

/// <summary>Why a token was refused. Every reason but <see cref="Expired"/> and <see cref="Missing"/> means "invalid".</summary>
public enum TokenFailureReason
{
    None,
    Missing,
    Malformed,
    UnsupportedAlgorithm,
    UnknownKey,
    InvalidSignature,
    Expired,
    NotYetValid,
    InvalidIssuer,
    InvalidAudience,
    MissingSubject,

    /// <summary>No key set could be loaded (auth unreachable since start-up): not the token's fault.</summary>
    KeysUnavailable,
}

/// <summary>Either the authenticated user or the reason the token was refused, with a detail safe to send to the caller.</summary>
public sealed class TokenValidationResult
{
    private TokenValidationResult(AuthenticatedUser? user, TokenFailureReason failure, string detail)
    {
        User = user;
        Failure = failure;
        Detail = detail;
    }

    public static TokenValidationResult Missing { get; } =
        new(null, TokenFailureReason.Missing, "Missing 'authorization: Bearer <token>'.");

    public AuthenticatedUser? User { get; }

    public TokenFailureReason Failure { get; }

    public string Detail { get; }

    public bool IsValid => User is not null;

    public static TokenValidationResult Success(AuthenticatedUser user) => new(user, TokenFailureReason.None, "");

    public static TokenValidationResult Fail(TokenFailureReason reason, string detail) => new(null, reason, detail);

    public override string ToString() => IsValid ? $"valid ({User!.UserId})" : $"{Failure}: {Detail}";
}
