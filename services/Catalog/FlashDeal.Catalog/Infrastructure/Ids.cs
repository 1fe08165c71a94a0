namespace FlashDeal.Catalog.Infrastructure;

/// <summary>Ids are opaque strings on the API and UUIDs (lower-case, hyphenated) inside.</summary>
public static class Ids
{
    /// <summary>Only the canonical form: any other string can never name a catalog resource.</summary>
    public static bool TryParse(string? value, out Guid id) => Guid.TryParseExact(value, "D", out id);

    public static string Format(Guid id) => id.ToString("D");
}
