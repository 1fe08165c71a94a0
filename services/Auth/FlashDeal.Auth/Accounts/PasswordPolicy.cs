namespace FlashDeal.Auth.Accounts;

/// <summary>
/// What a new password must be (NIST SP 800-63B style): long enough, not absurdly long, not the email, not one of the
/// passwords every cracker tries first. No composition rules: they push people to "Password1!" and add nothing.
/// </summary>
public static class PasswordPolicy
{
    public const int MinLength = 10;
    public const int MaxLength = 128;

    private static readonly HashSet<string> CommonPasswords = LoadCommonPasswords();

    /// <summary>Why <paramref name="password"/> is refused, or null when it is acceptable.</summary>
    public static string? Problem(string password, string normalizedEmail)
    {
        var length = Length(password);
        if (length < MinLength)
        {
            return $"must be at least {MinLength} characters";
        }
        if (length > MaxLength)
        {
            return $"must be at most {MaxLength} characters";
        }
        if (string.Equals(password.Trim(), normalizedEmail, StringComparison.OrdinalIgnoreCase)
            || (normalizedEmail.Contains('@')
                && string.Equals(password.Trim(), EmailAddress.LocalPart(normalizedEmail), StringComparison.OrdinalIgnoreCase)))
        {
            return "must not be the email address";
        }
        if (password.All(c => c == password[0]) || CommonPasswords.Contains(password))
        {
            return "is too common; choose a longer or less predictable one";
        }
        return null;
    }

    /// <summary>Characters as people count them (code points), not UTF-16 units.</summary>
    public static int Length(string password) => password.EnumerateRunes().Count();

    private static HashSet<string> LoadCommonPasswords()
    {
        using var stream = typeof(PasswordPolicy).Assembly.GetManifestResourceStream("FlashDeal.Auth.Accounts.common-passwords.txt")
            ?? throw new InvalidOperationException("The common password list is not embedded.");
        using var reader = new StreamReader(stream);
        var set = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length > 0)
            {
                set.Add(line);
            }
        }
        return set;
    }
}
