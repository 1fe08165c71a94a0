using FlashDeal.Catalog.Infrastructure;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.ServiceDefaults;
using Grpc.Core;

namespace FlashDeal.Catalog.Deals;

/// <summary>What a valid deal looks like (deal.proto), as field violations on proto field paths ("deal.stock").</summary>
public static class DealRules
{
    public const int MaxTitleLength = 200;

    /// <summary>More units than any single drop needs; keeps counters and per-user limits far from int overflow.</summary>
    public const int MaxStock = 1_000_000;

    public static readonly TimeSpan MaxDuration = TimeSpan.FromDays(31);

    /// <summary>Fields UpdateDeal may change (while the deal is upcoming).</summary>
    public static readonly IReadOnlySet<string> MutablePaths = new HashSet<string>(
        ["title", "deal_price_cents", "stock", "per_user_limit", "start_time", "end_time"], StringComparer.Ordinal);

    /// <summary>
    /// Checks every field of <paramref name="deal"/>, or only the <paramref name="paths"/> of an update. With
    /// <paramref name="relations"/> also the rules between fields (per_user_limit ≤ stock, start before end), which
    /// an update can only check on the merged deal.
    /// </summary>
    public static FieldViolations Check(Deal deal, DateTime now, IReadOnlySet<string>? paths = null, bool relations = true)
    {
        var v = new FieldViolations();
        bool Has(string path) => paths is null || paths.Contains(path);
        if (paths is null)
        {
            v.Required(deal.ProductId, "deal.product_id");
        }
        if (Has("title"))
        {
            v.Required(deal.Title, "deal.title").MaxLength(deal.Title, MaxTitleLength, "deal.title");
        }
        if (Has("deal_price_cents"))
        {
            v.Check(deal.DealPriceCents > 0, "deal.deal_price_cents", "must be greater than 0");
        }
        var stockValid = deal.Stock is > 0 and <= MaxStock;
        if (Has("stock"))
        {
            v.Check(stockValid, "deal.stock", $"must be between 1 and {MaxStock}");
        }
        if (Has("per_user_limit"))
        {
            v.Check(deal.PerUserLimit >= 1, "deal.per_user_limit", "must be at least 1");
        }
        var startValid = CheckTime(v, deal.StartTime, "deal.start_time", Has("start_time"));
        if (startValid && Has("start_time") && Times.ToUtc(deal.StartTime) <= now)
        {
            v.Add("deal.start_time", "must be in the future");
        }
        var endValid = CheckTime(v, deal.EndTime, "deal.end_time", Has("end_time"));
        if (!relations)
        {
            return v;
        }
        if ((Has("per_user_limit") || Has("stock")) && stockValid && deal.PerUserLimit > deal.Stock)
        {
            v.Add("deal.per_user_limit", "must not exceed stock");
        }
        if ((Has("start_time") || Has("end_time")) && startValid && endValid)
        {
            var duration = Times.ToUtc(deal.EndTime) - Times.ToUtc(deal.StartTime);
            if (duration <= TimeSpan.Zero)
            {
                v.Add("deal.end_time", "must be after start_time");
            }
            else if (duration > MaxDuration)
            {
                v.Add("deal.end_time", $"must be at most {MaxDuration.TotalDays:0} days after start_time");
            }
        }
        return v;
    }

    /// <summary>Reports a missing or out-of-range timestamp when <paramref name="report"/>; true when usable.</summary>
    private static bool CheckTime(FieldViolations v, Google.Protobuf.WellKnownTypes.Timestamp? value, string field, bool report)
    {
        if (value is null)
        {
            if (report)
            {
                v.Add(field, "is required");
            }
            return false;
        }
        if (!Times.IsValid(value))
        {
            if (report)
            {
                v.Add(field, "is not a valid timestamp");
            }
            return false;
        }
        return true;
    }
}
