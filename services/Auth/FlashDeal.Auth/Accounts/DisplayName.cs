namespace FlashDeal.Auth.Accounts;

/// <summary>The name shown to other people: trimmed, 1 to 64 characters, no control characters.</summary>
public static class DisplayName
{
    public const int MaxLength = 64;

    /// <summary>The trimmed name, or the email's local part when none is given.</summary>
    public static string Resolve(string? displayName, string normalizedEmail)
    {
        var trimmed = (displayName ?? "").Trim();
        if (trimmed.Length > 0 || !normalizedEmail.Contains('@'))
        {
            return trimmed;
        }
        var local = EmailAddress.LocalPart(normalizedEmail);
        return local.Length <= MaxLength ? local : local[..MaxLength];
    }

    public static string? Problem(string resolved) =>
        resolved.Length == 0 ? "is required"
        : resolved.EnumerateRunes().Count() > MaxLength ? $"must be at most {MaxLength} characters"
        : resolved.Any(char.IsControl) ? "must not contain control characters"
        : null;
}
