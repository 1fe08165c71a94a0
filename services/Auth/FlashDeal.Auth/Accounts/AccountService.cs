using FlashDeal.Auth.Infrastructure;
using FlashDeal.Contracts.Auth.V1;
using FlashDeal.Data;
using Microsoft.Extensions.Logging;

namespace FlashDeal.Auth.Accounts;

/// <summary>Creating accounts and checking their passwords. Inputs are validated by the caller.</summary>
public sealed class AccountService(UserQueries users, PasswordHasher hasher, ILogger<AccountService> logger)
{
    /// <summary>The new account, or null when the (normalized) email is taken.</summary>
    public Task<UserAccount?> CreateAsync(string normalizedEmail, string password, string displayName, Role role,
        CancellationToken cancellationToken)
    {
        var user = new UserAccount(UuidV7Generator.Default.NewGuid(), normalizedEmail, displayName, role,
            hasher.Hash(password), default);
        return users.InsertAsync(user, cancellationToken);
    }

    /// <summary>
    /// The account when the password is right, otherwise null: an unknown email costs the same hashing time as a wrong
    /// password. A hash made with fewer iterations than configured is replaced on the way.
    /// </summary>
    public async Task<UserAccount?> VerifyCredentialsAsync(string normalizedEmail, string password,
        CancellationToken cancellationToken)
    {
        var user = await users.FindByEmailAsync(normalizedEmail, cancellationToken);
        if (user is null)
        {
            hasher.VerifyNothing(password);
            return null;
        }
        var verification = hasher.Verify(password, user.PasswordHash);
        if (verification == PasswordVerification.SuccessRehashNeeded)
        {
            var upgraded = hasher.Hash(password);
            if (await users.ReplacePasswordHashAsync(user.UserId, user.PasswordHash, upgraded, cancellationToken))
            {
                logger.LogInformation("Upgraded the password hash of user {UserId} to {Iterations} iterations",
                    user.UserId, hasher.Iterations);
                user = user with { PasswordHash = upgraded };
            }
        }
        return verification == PasswordVerification.Failed ? null : user;
    }

    public Task<UserAccount?> FindAsync(Guid userId, CancellationToken cancellationToken) =>
        users.FindByIdAsync(userId, cancellationToken);
}
