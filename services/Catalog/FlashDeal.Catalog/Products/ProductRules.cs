using System.Text.RegularExpressions;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.ServiceDefaults;
using Grpc.Core;

namespace FlashDeal.Catalog.Products;

/// <summary>What a valid product looks like (product.proto), as field violations on proto field paths.</summary>
public static partial class ProductRules
{
    public const int MaxNameLength = 200;
    public const int MaxDescriptionLength = 5000;
    public const int MaxImageUriLength = 2048;

    /// <summary>Fields UpdateProduct may change.</summary>
    public static readonly IReadOnlySet<string> MutablePaths =
        new HashSet<string>(["name", "description", "category", "list_price_cents", "image_uri"], StringComparer.Ordinal);

    public static FieldViolations Check(Product product, string prefix, IReadOnlySet<string>? only = null)
    {
        var violations = new FieldViolations();
        bool Checked(string path) => only is null || only.Contains(path);
        if (Checked("name"))
        {
            violations.Required(product.Name, $"{prefix}.name").MaxLength(product.Name, MaxNameLength, $"{prefix}.name");
        }
        if (Checked("description"))
        {
            violations.MaxLength(product.Description, MaxDescriptionLength, $"{prefix}.description");
        }
        if (Checked("category"))
        {
            violations.Check(product.Category.Length == 0 || IsCategory(product.Category), $"{prefix}.category",
                "must be a lower-case slug of [a-z0-9-], 1 to 64 characters");
        }
        if (Checked("list_price_cents"))
        {
            violations.Check(product.ListPriceCents >= 0, $"{prefix}.list_price_cents", "must not be negative");
        }
        if (Checked("currency"))
        {
            violations.Check(IsCurrency(product.Currency), $"{prefix}.currency",
                "must be an ISO 4217 code of three upper-case letters, e.g. USD");
        }
        if (Checked("image_uri"))
        {
            violations.Check(product.ImageUri.Length == 0 || IsImageUri(product.ImageUri), $"{prefix}.image_uri",
                $"must be an absolute https URL of at most {MaxImageUriLength} characters");
        }
        return violations;
    }

    public static bool IsCategory(string value) => CategoryPattern().IsMatch(value);

    public static bool IsCurrency(string value) => CurrencyPattern().IsMatch(value);

    private static bool IsImageUri(string value) =>
        value.Length <= MaxImageUriLength && Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttps
        && !string.IsNullOrEmpty(uri.Host);

    [GeneratedRegex(@"^[a-z0-9-]{1,64}\z")]
    private static partial Regex CategoryPattern();

    [GeneratedRegex(@"^[A-Z]{3}\z")]
    private static partial Regex CurrencyPattern();
}
