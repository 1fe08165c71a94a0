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

    /// <summary>A payment lock ran out without an outcome and the provider holds the charge: PAID with its reference.</summary>
    SettlePay,

    /// <summary>A payment lock ran out without an outcome and the provider holds no charge: the lock is dropped.</summary>
    SettleUnpaid,

    BeginRefund,
    CompleteRefund,

    /// <summary>A refund lock ran out and the provider holds no refund: the lock is dropped, the order stays PAID.</summary>
    AbortRefund,
}

/// <summary>Runs the order state machine script for one order.</summary>
public static class OrderTransitionScript
{
    public static RedisScript Script { get; } =
        RedisScript.FromResource(typeof(TransitionAction).Assembly, "FlashDeal.Orders.Lifecycle.order_transition.lua");

    /// <summary>The script's outcome word and the order as it is after the call (null when not found).</summary>
    public readonly record struct Reply(string Outcome, OrderRecord? Order);

    /// <param name="PaymentLock">How long a payment or a refund in progress holds its lock.</param>
    /// <param name="DealKeyRetention">How long the deal's keys outlive its end; a paid order's hash is kept as long.</param>
    public sealed record Settings(TimeSpan PaymentLock, TimeSpan FinalRetention, TimeSpan DealKeyRetention);

    /// <param name="reference">The payment reference (complete_pay, settle_pay) or the refund reference (complete_refund).</param>
    public static async Task<Reply> RunAsync(IDatabaseAsync database, Guid dealId, Guid orderId, TransitionAction action,
        Settings settings, string userId = "", string tokenHash = "", string reference = "")
    {
        RedisKey[] keys =
        [
            OrderKeys.Order(dealId, orderId), DealKeys.Stock(dealId), OrderKeys.Buyers(dealId), OrderKeys.Stream(dealId),
            OrderKeys.Deadlines(dealId), DealKeys.Config(dealId), OrderKeys.Refunding(dealId),
        ];
        RedisValue[] values =
        [
            Name(action), userId, tokenHash, reference, Ms(settings.PaymentLock), Ms(settings.FinalRetention),
            OrderKeys.StockReturnedChannel, Ms(settings.DealKeyRetention),
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
        TransitionAction.SettlePay => "settle_pay",
        TransitionAction.SettleUnpaid => "settle_unpaid",
        TransitionAction.BeginRefund => "begin_refund",
        TransitionAction.CompleteRefund => "complete_refund",
        TransitionAction.AbortRefund => "abort_refund",
        _ => throw new ArgumentOutOfRangeException(nameof(action), action, null),
    };

    private static string Ms(TimeSpan span) => ((long)span.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
}
