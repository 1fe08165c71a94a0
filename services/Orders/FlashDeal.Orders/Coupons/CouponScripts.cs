using System.Globalization;
using FlashDeal.Data.Redis;
using StackExchange.Redis;

namespace FlashDeal.Orders.Coupons;

/// <summary>A Lua script's reply: a status word and its values (see the script's header).</summary>
public readonly record struct ScriptReply(string Status, string[] Values)
{
    public static ScriptReply From(RedisResult result)
    {
        var parts = (RedisResult[])result!;
        var values = new string[parts.Length - 1];
        for (var i = 1; i < parts.Length; i++)
        {
            values[i - 1] = (string?)parts[i] ?? "";
        }
        return new ScriptReply((string)parts[0]!, values);
    }
}

/// <summary>Runs <c>claim_coupon.lua</c> (beside this file): a whole claim in one Redis round trip.</summary>
public static class ClaimCouponScript
{
    public static RedisScript Script { get; } =
        RedisScript.FromResource(typeof(ClaimCouponScript).Assembly, "FlashDeal.Orders.Coupons.claim_coupon.lua");

    public static async Task<ScriptReply> RunAsync(IDatabaseAsync database, Guid campaignId, string userId,
        string idempotencyKey, TimeSpan retention)
    {
        RedisKey[] keys =
        [
            CouponKeys.Config(campaignId), CouponKeys.Remaining(campaignId), CouponKeys.Claims(campaignId),
            CouponKeys.Events(campaignId),
        ];
        RedisValue[] values =
        [
            userId, idempotencyKey, CouponKeys.HashTag(campaignId), campaignId.ToString("D"), Ms(retention),
        ];
        return ScriptReply.From(await Script.EvaluateAsync(database, keys, values).ConfigureAwait(false));
    }

    internal static RedisValue Ms(TimeSpan span) => ((long)span.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
}

/// <summary>Runs <c>coupon_redemption.lua</c> (beside this file): hold, confirm or release one coupon.</summary>
public static class CouponRedemptionScript
{
    public static RedisScript Script { get; } =
        RedisScript.FromResource(typeof(CouponRedemptionScript).Assembly, "FlashDeal.Orders.Coupons.coupon_redemption.lua");

    public static Task<ScriptReply> HoldAsync(IDatabaseAsync database, Guid campaignId, int number, string userId,
        Guid dealId, string holder, TimeSpan lease) =>
        RunAsync(database, campaignId, number, ["hold", userId, dealId.ToString("D"), holder, ClaimCouponScript.Ms(lease)]);

    public static Task<ScriptReply> ConfirmAsync(IDatabaseAsync database, Guid campaignId, int number, string holder,
        Guid orderId) =>
        RunAsync(database, campaignId, number, ["confirm", holder, orderId.ToString("D")]);

    public static Task<ScriptReply> ReleaseAsync(IDatabaseAsync database, Guid campaignId, int number, string holder,
        Guid? orderId) =>
        RunAsync(database, campaignId, number, ["release", holder, orderId?.ToString("D") ?? ""]);

    private static async Task<ScriptReply> RunAsync(IDatabaseAsync database, Guid campaignId, int number,
        RedisValue[] values) =>
        ScriptReply.From(await Script.EvaluateAsync(database,
            [CouponKeys.Coupon(campaignId, number), CouponKeys.Events(campaignId)], values).ConfigureAwait(false));
}

/// <summary>Reads a coupon from field/value pairs the scripts write: a coupon hash, a stream entry or a script reply.</summary>
public static class CouponSnapshot
{
    public static CouponRecord? FromHash(HashEntry[] entries) =>
        entries.Length == 0 ? null : FromFields(entries.ToDictionary(e => (string)e.Name!, e => (string?)e.Value ?? ""));

    public static CouponRecord FromStreamEntry(NameValueEntry[] values) =>
        FromFields(values.ToDictionary(v => (string)v.Name!, v => (string?)v.Value ?? ""));

    /// <summary>Alternating names and values (an HGETALL inside a script, after the reply's status word).</summary>
    public static CouponRecord FromFlatArray(IReadOnlyList<string> fieldsAndValues)
    {
        var fields = new Dictionary<string, string>(fieldsAndValues.Count / 2);
        for (var i = 0; i + 1 < fieldsAndValues.Count; i += 2)
        {
            fields[fieldsAndValues[i]] = fieldsAndValues[i + 1];
        }
        return FromFields(fields);
    }

    public static CouponRecord FromFields(IReadOnlyDictionary<string, string> fields)
    {
        string Get(string name) => fields.TryGetValue(name, out var value)
            ? value
            : throw new FormatException($"Coupon snapshot lacks field '{name}'.");
        string? Optional(string name) => fields.TryGetValue(name, out var value) && value.Length > 0 ? value : null;

        var status = Get(CouponFields.Status);
        return new CouponRecord
        {
            CouponId = Get(CouponFields.CouponId),
            CampaignId = Guid.Parse(Get(CouponFields.CampaignId)),
            UserId = Get(CouponFields.UserId),
            Status = status,
            ClaimTime = FromMs(Get(CouponFields.ClaimMs)),
            // A released coupon keeps no order; a HELD one is not redeemed yet.
            OrderId = status == CouponStatuses.Redeemed && Optional(CouponFields.OrderId) is { } order ? Guid.Parse(order) : null,
            RedeemTime = status == CouponStatuses.Redeemed && Optional(CouponFields.RedeemMs) is { } redeemed
                ? FromMs(redeemed) : null,
            CampaignName = Get(CouponFields.CampaignName),
            PercentOff = Optional(CouponFields.PercentOff) is { } percent ? int.Parse(percent, CultureInfo.InvariantCulture) : null,
            AmountOffCents = Optional(CouponFields.AmountOffCents) is { } amount
                ? long.Parse(amount, CultureInfo.InvariantCulture) : null,
            Currency = Optional(CouponFields.Currency) ?? "",
            RedeemBefore = FromMs(Get(CouponFields.RedeemBeforeMs)),
            DealId = Optional(CouponFields.DealId) is { } deal ? Guid.Parse(deal) : null,
            IdempotencyKey = Get(CouponFields.IdempotencyKey),
            Version = long.Parse(Get(CouponFields.Version), CultureInfo.InvariantCulture),
            ReleasedOrderId = Optional(CouponFields.ReleasedOrderId) is { } left ? Guid.Parse(left) : null,
            ReleasedRedeemTime = Optional(CouponFields.ReleasedRedeemMs) is { } leftAt ? FromMs(leftAt) : null,
            ReleaseTime = Optional(CouponFields.ReleaseMs) is { } releasedAt ? FromMs(releasedAt) : null,
        };
    }

    public static DateTimeOffset FromMs(string unixMs) =>
        DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(unixMs, CultureInfo.InvariantCulture));
}
