using System.Globalization;
using System.Text.Json;
using FlashDeal.Catalog.Infrastructure;
using FlashDeal.Data.Redis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace FlashDeal.Catalog.Deals;

/// <summary>How a config write may touch <c>{deal:&lt;id&gt;}:stock</c> (see deal_config_write.lua).</summary>
public enum StockMode
{
    /// <summary>Create it when missing: safe only while no order can have been taken (the deal has not opened).</summary>
    IfMissing,

    /// <summary>Also overwrite it while it still equals the previous config's stock (UpdateDeal before opening).</summary>
    ResetIfUntouched,

    /// <summary>Leave it alone.</summary>
    Never,
}

/// <summary>
/// Writes a deal's config (and, where safe, its stock) to Redis for the order path, which never asks PostgreSQL or
/// the catalog. Writes carry the deal's version: Redis keeps the newest, whichever replica or warmer writes last.
/// </summary>
public sealed class DealConfigWriter(RedisGuard redis, IOptions<CatalogOptions> options, ILogger<DealConfigWriter> logger)
{
    private static readonly RedisScript Script = CatalogScripts.Load("Deals", "deal_config_write");
    private readonly TimeSpan _retention = options.Value.DealKeyRetention;

    /// <summary>False when Redis could not be reached; the warmer writes the config again before the deal opens.</summary>
    public async Task<bool> WriteAsync(DealRow row, StockMode mode, bool publish)
    {
        var dealId = row.DealId;
        var deal = row.Deal;
        RedisValue[] args =
        [
            row.Version,
            Times.ToUnixMilliseconds(row.EndTime + _retention),
            mode switch { StockMode.IfMissing => "if-missing", StockMode.ResetIfUntouched => "reset-if-untouched", _ => "never" },
            DealConfigFields.DealId, deal.DealId,
            DealConfigFields.ProductId, deal.ProductId,
            DealConfigFields.ProductName, deal.ProductName,
            DealConfigFields.Title, deal.Title,
            DealConfigFields.PriceCents, deal.DealPriceCents,
            DealConfigFields.Currency, deal.Currency,
            DealConfigFields.Stock, deal.Stock,
            DealConfigFields.PerUserLimit, deal.PerUserLimit,
            DealConfigFields.StartMs, Times.ToUnixMilliseconds(row.StartTime),
            DealConfigFields.EndMs, Times.ToUnixMilliseconds(row.EndTime),
            DealConfigFields.Cancelled, row.Cancelled ? 1 : 0,
            DealConfigFields.Version, row.Version,
        ];
        var outcome = await redis.TryAsync(
            db => Script.EvaluateAsync(db, [DealKeys.Config(dealId), DealKeys.Stock(dealId)], args), always: true);
        if (!outcome.Ok)
        {
            logger.LogWarning("Deal {DealId} version {Version}: config not written to Redis (unavailable)", dealId, row.Version);
            return false;
        }
        if (publish)
        {
            await redis.TryAsync(db => db.PublishAsync(RedisChannel.Literal(DealKeys.UpdatesChannel), UpdatedMessage(row)), always: true);
        }
        return true;
    }

    /// <summary>The <c>deal-updated</c> message: small JSON, enough to invalidate a cache or a sold-out flag.</summary>
    public static string UpdatedMessage(DealRow row) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["type"] = "deal-updated",
        ["deal_id"] = row.Deal.DealId,
        ["version"] = row.Version,
        ["cancelled"] = row.Cancelled,
        ["update_time"] = row.Deal.UpdateTime.ToDateTime().ToString("O", CultureInfo.InvariantCulture),
    });
}
