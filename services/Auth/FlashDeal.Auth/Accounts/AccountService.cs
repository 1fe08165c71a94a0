using FlashDeal.Auth.Infrastructure;
using FlashDeal.Contracts.Auth.V1;
using FlashDeal.Data;
using Microsoft.Extensions.Logging;

namespace FlashDeal.Auth.Accounts;

/// <summary>
/// Creating accounts and checking their passwords. Inputs are validated by the caller. Every hash runs on one of
/// <see cref="PasswordWork"/>'s slots, so both may throw <see cref="PasswordWorkBusyException"/> in a log-in storm.
/// </summary>
public sealed class AccountService(UserQueries users, PasswordHasher hasher, PasswordWork work, ILogger<AccountService> logger)
{
    /// <summary>The new account, or null when the (normalized) email is taken.</summary>
    public async Task<UserAccount?> CreateAsync(string normalizedEmail, string password, string displayName, Role role,
        CancellationToken cancellationToken)
    {
        var hash = await work.RunAsync(() => hasher.Hash(password), cancellationToken);
        var user = new UserAccount(UuidV7Generator.Default.NewGuid(), normalizedEmail, displayName, role, hash, default);
        return await users.InsertAsync(user, cancellationToken);
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
            await work.RunAsync(() => { hasher.VerifyNothing(password); return true; }, cancellationToken);
            return null;
        }
        var verification = await work.RunAsync(() => hasher.Verify(password, user.PasswordHash), cancellationToken);
        if (verification == PasswordVerification.SuccessRehashNeeded)
        {
            // The log-in itself succeeded: when no hashing slot is free for the upgrade, it waits for the next log-in.
            var upgraded = await UpgradedHashAsync(password, cancellationToken);
            if (upgraded is not null
                && await users.ReplacePasswordHashAsync(user.UserId, user.PasswordHash, upgraded, cancellationToken))
            {
                logger.LogInformation("Upgraded the password hash of user {UserId} to {Iterations} iterations",
                    user.UserId, hasher.Iterations);
                user = user with { PasswordHash = upgraded };
            }
        }
        return verification == PasswordVerification.Failed ? null : user;
    }

    private async Task<string?> UpgradedHashAsync(string password, CancellationToken cancellationToken)
    {
        try
        {
            return await work.RunAsync(() => hasher.Hash(password), cancellationToken);
        }
        catch (PasswordWorkBusyException)
        {
            return null;
        }
    }

    public Task<UserAccount?> FindAsync(Guid userId, CancellationToken cancellationToken) =>
        users.FindByIdAsync(userId, cancellationToken);
}
