using FlashDeal.Auth.Accounts;
using FlashDeal.Auth.Infrastructure;
using FlashDeal.Data;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FlashDeal.Auth.Sessions;

/// <summary>A refresh token handed to a client: the secret itself (never stored or logged) and its expiry.</summary>
public sealed record IssuedRefreshToken(string Token, DateTimeOffset ExpiresAt);

public enum RefreshFailure
{
    None,
    Invalid,
    Expired,
    Reused,
}

public sealed record RefreshOutcome(RefreshFailure Failure, UserAccount? User = null, IssuedRefreshToken? Token = null);

/// <summary>
/// Sessions as refresh token families: a log-in starts a family, every Refresh spends the presented token and issues
/// its successor in the same family, and presenting a spent token again (a stolen copy, or a client that lost the
/// race) revokes the whole family, so whoever holds the newest token has to log in again too.
/// </summary>
public sealed class RefreshTokenService(
    RefreshTokenQueries queries,
    IOptions<AuthServiceOptions> options,
    ILogger<RefreshTokenService> logger)
{
    public const string ReasonLogOut = "logout";
    public const string ReasonLogOutAll = "logout_all";
    public const string ReasonReuse = "reuse";

    private readonly TimeSpan _lifetime = options.Value.RefreshTokenLifetime;

    public async Task<IssuedRefreshToken> StartSessionAsync(Guid userId, CancellationToken cancellationToken)
    {
        var (token, hash) = RefreshTokenValue.Generate();
        var stored = await queries.StartFamilyAsync(UuidV7Generator.Default.NewGuid(), userId,
            UuidV7Generator.Default.NewGuid(), hash, _lifetime, cancellationToken);
        return new IssuedRefreshToken(token, stored.ExpiresAt);
    }

    public async Task<RefreshOutcome> RotateAsync(string token, CancellationToken cancellationToken)
    {
        if (RefreshTokenValue.HashOf(token) is not { } hash)
        {
            return new RefreshOutcome(RefreshFailure.Invalid);
        }
        var (next, nextHash) = RefreshTokenValue.Generate();
        var rotated = await queries.RotateAsync(hash, UuidV7Generator.Default.NewGuid(), nextHash, _lifetime,
            cancellationToken);
        if (rotated is { } success)
        {
            return new RefreshOutcome(RefreshFailure.None, success.User, new IssuedRefreshToken(next, success.Token.ExpiresAt));
        }

        // Why it failed decides the answer. States only move forward (spent, revoked), so this read cannot undo the
        // verdict of the UPDATE above.
        var state = await queries.FindAsync(hash, cancellationToken);
        if (state is null)
        {
            return new RefreshOutcome(RefreshFailure.Invalid);
        }
        if (state.Used)
        {
            // CancellationToken.None: once reuse is seen, the revocation must happen even if the caller hangs up.
            if (await queries.RevokeFamilyAsync(state.FamilyId, ReasonReuse, CancellationToken.None))
            {
                logger.LogWarning("Refresh token reuse: revoked token family {FamilyId} of user {UserId}",
                    state.FamilyId, state.UserId);
            }
            return new RefreshOutcome(RefreshFailure.Reused);
        }
        return new RefreshOutcome(!state.Revoked && state.Expired ? RefreshFailure.Expired : RefreshFailure.Invalid);
    }

    /// <summary>Revokes the token's family (or all of its user's); false when the token is not one we issued.</summary>
    public async Task<bool> LogOutAsync(string token, bool allSessions, CancellationToken cancellationToken)
    {
        if (RefreshTokenValue.HashOf(token) is not { } hash
            || await queries.FindAsync(hash, cancellationToken) is not { } state)
        {
            return false;
        }
        if (allSessions)
        {
            await queries.RevokeUserFamiliesAsync(state.UserId, ReasonLogOutAll, cancellationToken);
        }
        else
        {
            await queries.RevokeFamilyAsync(state.FamilyId, ReasonLogOut, cancellationToken);
        }
        return true;
    }
}
