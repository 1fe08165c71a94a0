using System.Globalization;
using FlashDeal.Data.Redis;
using FlashDeal.Orders.Model;
using FlashDeal.Orders.Redis;
using StackExchange.Redis;

namespace FlashDeal.Orders.Lifecycle;

/// <summary>Actions of <c>order_transition.lua</c> (beside this file).</summary>
public enum TransitionAction
{
    Cancel,
    Expire,
    BeginPay,
    CompletePay,
    AbortPay,
}

/// <summary>Runs the order state machine script for one order.</summary>
public static class OrderTransitionScript
{
    public static RedisScript Script { get; } =
        RedisScript.FromResource(typeof(TransitionAction).Assembly, "FlashDeal.Orders.Lifecycle.order_transition.lua");

    /// <summary>The script's outcome word and the order as it is after the call (null when not found).</summary>
    public readonly record struct Reply(string Outcome, OrderRecord? Order);

    public sealed record Settings(TimeSpan PaymentLock, TimeSpan FinalRetention);

    public static async Task<Reply> RunAsync(IDatabaseAsync database, Guid dealId, Guid orderId, TransitionAction action,
        Settings settings, string userId = "", string tokenHash = "", string paymentReference = "")
    {
        RedisKey[] keys =
        [
            OrderKeys.Order(dealId, orderId), DealKeys.Stock(dealId), OrderKeys.Buyers(dealId), OrderKeys.Stream(dealId),
            OrderKeys.Deadlines(dealId),
        ];
        RedisValue[] values =
        [
            Name(action), userId, tokenHash, paymentReference, Ms(settings.PaymentLock), Ms(settings.FinalRetention),
            OrderKeys.StockReturnedChannel,
        ];
        var result = (RedisResult[])(await Script.EvaluateAsync(database, keys, values).ConfigureAwait(false))!;
        var outcome = (string)result[0]!;
        return new Reply(outcome, result.Length > 1 ? OrderSnapshot.FromFlatArray(result[1..]) : null);
    }

    private static string Name(TransitionAction action) => action switch
    {
        TransitionAction.Cancel => "cancel",
        TransitionAction.Expire => "expire",
        TransitionAction.BeginPay => "begin_pay",
        TransitionAction.CompletePay => "complete_pay",
        TransitionAction.AbortPay => "abort_pay",
        _ => throw new ArgumentOutOfRangeException(nameof(action), action, null),
    };

    private static string Ms(TimeSpan span) => ((long)span.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
}
