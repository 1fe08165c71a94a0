using FlashDeal.Auth.Accounts;
using Npgsql;

namespace FlashDeal.Auth.Infrastructure;

/// <summary>What the database knows about a presented refresh token that could not be rotated.</summary>
public sealed record RefreshTokenState(Guid FamilyId, Guid UserId, bool Used, bool Revoked, bool Expired);

/// <summary>A stored refresh token: its row id and when it expires (database clock).</summary>
public sealed record StoredRefreshToken(Guid TokenId, DateTimeOffset ExpiresAt);

/// <summary>
/// SQL over auth.token_families and auth.refresh_tokens. Times come from the database clock (now()), so every replica
/// agrees on expiry.
/// </summary>
public sealed class RefreshTokenQueries(NpgsqlDataSource dataSource)
{
    /// <summary>A new family (session) with its first token.</summary>
    public async Task<StoredRefreshToken> StartFamilyAsync(Guid familyId, Guid userId, Guid tokenId, byte[] tokenHash,
        TimeSpan lifetime, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            WITH family AS (
                INSERT INTO auth.token_families (family_id, user_id) VALUES ($1, $2)
                RETURNING family_id, user_id
            )
            INSERT INTO auth.refresh_tokens (token_id, token_hash, family_id, user_id, expires_at)
            SELECT $3, $4, family_id, user_id, now() + $5 FROM family
            RETURNING expires_at
            """);
        command.Parameters.Add(new() { Value = familyId });
        command.Parameters.Add(new() { Value = userId });
        command.Parameters.Add(new() { Value = tokenId });
        command.Parameters.Add(new() { Value = tokenHash });
        command.Parameters.Add(new() { Value = lifetime });
        var expiresAt = await command.ExecuteScalarAsync(cancellationToken);
        return new StoredRefreshToken(tokenId, new DateTimeOffset((DateTime)expiresAt!));
    }

    /// <summary>
    /// Spends the token and inserts its successor in one statement. The row lock of the UPDATE serializes concurrent
    /// calls with the same token: the second one re-checks <c>used_at IS NULL</c> after the first commits and matches
    /// nothing, so exactly one of them gets a successor. Null when the token is unknown, spent, revoked or expired.
    /// </summary>
    public async Task<(UserAccount User, StoredRefreshToken Token)?> RotateAsync(byte[] tokenHash, Guid newTokenId,
        byte[] newTokenHash, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            WITH spent AS (
                UPDATE auth.refresh_tokens t SET used_at = now(), replaced_by = $2
                FROM auth.token_families f
                WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > now()
                  AND f.family_id = t.family_id AND f.revoked_at IS NULL
                RETURNING t.token_id, t.family_id, t.user_id
            ), fresh AS (
                INSERT INTO auth.refresh_tokens (token_id, token_hash, family_id, parent_id, user_id, expires_at)
                SELECT $2, $3, family_id, token_id, user_id, now() + $4 FROM spent
                RETURNING user_id, expires_at
            )
            SELECT u.user_id, u.email, u.display_name, u.role, u.password_hash, u.create_time, fresh.expires_at
            FROM fresh JOIN auth.users u ON u.user_id = fresh.user_id
            """);
        command.Parameters.Add(new() { Value = tokenHash });
        command.Parameters.Add(new() { Value = newTokenId });
        command.Parameters.Add(new() { Value = newTokenHash });
        command.Parameters.Add(new() { Value = lifetime });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }
        return (UserQueries.Read(reader), new StoredRefreshToken(newTokenId, reader.GetFieldValue<DateTimeOffset>(6)));
    }

    public async Task<RefreshTokenState?> FindAsync(byte[] tokenHash, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT t.family_id, t.user_id, t.used_at IS NOT NULL,
                   t.revoked_at IS NOT NULL OR f.revoked_at IS NOT NULL, t.expires_at <= now()
            FROM auth.refresh_tokens t JOIN auth.token_families f ON f.family_id = t.family_id
            WHERE t.token_hash = $1
            """);
        command.Parameters.Add(new() { Value = tokenHash });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new RefreshTokenState(reader.GetGuid(0), reader.GetGuid(1), reader.GetBoolean(2), reader.GetBoolean(3),
                reader.GetBoolean(4))
            : null;
    }

    /// <summary>Revokes a family and its tokens; false when it was revoked already.</summary>
    public Task<bool> RevokeFamilyAsync(Guid familyId, string reason, CancellationToken cancellationToken) =>
        RevokeAsync("family_id", familyId, reason, cancellationToken);

    /// <summary>Revokes every family of a user; false when none was active.</summary>
    public Task<bool> RevokeUserFamiliesAsync(Guid userId, string reason, CancellationToken cancellationToken) =>
        RevokeAsync("user_id", userId, reason, cancellationToken);

    private async Task<bool> RevokeAsync(string column, Guid id, string reason, CancellationToken cancellationToken)
    {
        // The family row is what Rotate checks; the token rows are stamped too so each row tells its own story.
        await using var command = dataSource.CreateCommand($"""
            WITH families AS (
                UPDATE auth.token_families SET revoked_at = now(), revoke_reason = $2
                WHERE {column} = $1 AND revoked_at IS NULL
                RETURNING family_id
            ), tokens AS (
                UPDATE auth.refresh_tokens SET revoked_at = now(), revoke_reason = $2
                WHERE {column} = $1 AND revoked_at IS NULL
                RETURNING token_id
            )
            SELECT count(*) FROM families
            """);
        command.Parameters.Add(new() { Value = id });
        command.Parameters.Add(new() { Value = reason });
        return (long)(await command.ExecuteScalarAsync(cancellationToken))! > 0;
    }
}
