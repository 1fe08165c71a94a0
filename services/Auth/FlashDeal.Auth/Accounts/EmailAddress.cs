namespace FlashDeal.Auth.Accounts;

/// <summary>
/// Emails are compared in one form: trimmed and lower-cased (also the local part; no provider treats case as
/// significant in practice). The shape check is deliberately plain (dot-atom local part, DNS-style domain with a dot):
/// it catches typos, the confirmation email would catch the rest.
/// </summary>
public static class EmailAddress
{
    public const int MaxLength = 254;
    public const int MaxLocalPartLength = 64;

    private const string LocalPartSymbols = "!#$%&'*+-/=?^_`{|}~";

    public static string Normalize(string? email) => (email ?? "").Trim().ToLowerInvariant();

    /// <summary>Why <paramref name="normalized"/> is not an acceptable address, or null when it is.</summary>
    public static string? Problem(string normalized)
    {
        if (normalized.Length == 0)
        {
            return "is required";
        }
        if (normalized.Length > MaxLength)
        {
            return $"must be at most {MaxLength} characters";
        }
        var at = normalized.LastIndexOf('@');
        if (at <= 0 || at == normalized.Length - 1)
        {
            return "must be an email address (name@example.com)";
        }
        var local = normalized[..at];
        var domain = normalized[(at + 1)..];
        return local.Length <= MaxLocalPartLength && IsDotAtom(local) && IsDomain(domain)
            ? null
            : "must be an email address (name@example.com)";
    }

    /// <summary>The part before the '@' (the default display name).</summary>
    public static string LocalPart(string normalized) => normalized[..normalized.LastIndexOf('@')];

    private static bool IsDotAtom(string local) =>
        local.Split('.').All(atom => atom.Length > 0 && atom.All(c => char.IsAsciiLetterOrDigit(c) || LocalPartSymbols.Contains(c)));

    private static bool IsDomain(string domain)
    {
        var labels = domain.Split('.');
        return labels.Length >= 2
            && labels.All(l => l.Length is > 0 and <= 63 && l[0] != '-' && l[^1] != '-' && l.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            && !labels[^1].All(char.IsAsciiDigit);
    }
}
