using System.Diagnostics;
using System.Globalization;
using FlashDeal.Data.Redis;
using FlashDeal.Orders.Coupons;
using FlashDeal.Orders.Redis;
using StackExchange.Redis;

namespace FlashDeal.Orders.Placement;

/// <summary>Runs <c>place_order.lua</c> (beside this file): the whole placement in one Redis round trip.</summary>
public sealed class DealReservationScript
{
    public static RedisScript Script { get; } =
        RedisScript.FromResource(typeof(DealReservationScript).Assembly, "FlashDeal.Orders.Placement.place_order.lua");

    /// <summary>The script's reply: a status word and its values (see the header of place_order.lua).</summary>
    public readonly record struct Reply(string Status, string[] Values);

    public static async Task<Reply> RunAsync(IDatabaseAsync database, PlaceOrderCommand command, Guid orderId,
        ReservationSettings settings, bool registered, CouponHold? coupon = null)
    {
        var dealId = command.DealId;
        RedisKey[] keys =
        [
            DealKeys.Config(dealId), DealKeys.Stock(dealId), OrderKeys.Buyers(dealId), OrderKeys.Idempotency(dealId),
            OrderKeys.Stream(dealId), OrderKeys.Order(dealId, orderId), OrderKeys.Deadlines(dealId),
        ];
        RedisValue[] values =
        [
            dealId.ToString("D"), command.UserId, command.IdempotencyKey, command.Quantity.ToString(CultureInfo.InvariantCulture),
            orderId.ToString("D"), Ms(settings.PayWindow), Ms(settings.DealKeyRetention), Ms(settings.OrderRetention),
            registered ? "1" : "0", Traceparent(),
            coupon?.CouponId ?? "", coupon?.PercentOff?.ToString(CultureInfo.InvariantCulture) ?? "",
            coupon?.AmountOffCents?.ToString(CultureInfo.InvariantCulture) ?? "",
            coupon?.AmountOffCents is null ? "" : coupon.Currency,
        ];
        var result = (RedisResult[])(await Script.EvaluateAsync(database, keys, values).ConfigureAwait(false))!;
        var parts = new string[result.Length - 1];
        for (var i = 1; i < result.Length; i++)
        {
            parts[i - 1] = (string?)result[i] ?? "";
        }
        return new Reply((string)result[0]!, parts);
    }

    /// <summary>The current (sampled) span as a W3C traceparent, for the stream entry; empty when not traced.</summary>
    private static RedisValue Traceparent() => Activity.Current is { Recorded: true } span
        ? $"00-{span.TraceId.ToHexString()}-{span.SpanId.ToHexString()}-01"
        : RedisValue.EmptyString;

    private static RedisValue Ms(TimeSpan span) => ((long)span.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
}

/// <summary>Time settings the script needs, from <see cref="OrdersOptions"/>.</summary>
public sealed record ReservationSettings(TimeSpan PayWindow, TimeSpan DealKeyRetention, TimeSpan OrderRetention);
