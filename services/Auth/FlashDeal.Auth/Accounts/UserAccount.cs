using FlashDeal.Contracts.Auth.V1;

namespace FlashDeal.Auth.Accounts;

/// <summary>A row of auth.users. <see cref="PasswordHash"/> never leaves the service.</summary>
public sealed record UserAccount(
    Guid UserId,
    string Email,
    string DisplayName,
    Role Role,
    string PasswordHash,
    DateTimeOffset CreateTime);
