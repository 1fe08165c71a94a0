using System.Globalization;
using FlashDeal.Contracts.Catalog.V1;
using StackExchange.Redis;

namespace FlashDeal.Catalog.BestSellers;

/// <summary>
/// Rankings are sorted sets (member = product_id, score = units) under one hash tag, <c>{bestsellers}</c>: an all-time
/// set, 5-minute buckets (kept 2 h) for the HOUR window and hour buckets (kept 8 days) for DAY and WEEK. A window is
/// the current bucket plus the whole buckets before it, so HOUR covers the last 60–65 minutes, DAY 24–25 hours and
/// WEEK 168–169 hours.
/// </summary>
public static class BestSellerKeys
{
    public static readonly TimeSpan FiveMinuteBucketTtl = TimeSpan.FromHours(2);
    public static readonly TimeSpan HourBucketTtl = TimeSpan.FromDays(8);

    /// <summary>How long an order id is remembered so a redelivered paid-order entry is not counted twice.</summary>
    public static readonly TimeSpan SeenTtl = TimeSpan.FromDays(8);

    private const string Prefix = "catalog:{bestsellers}:";

    public static RedisKey AllTime => Prefix + "all";

    public static RedisKey Seen(string orderId) => Prefix + "seen:" + orderId;

    public static RedisKey FiveMinuteBucket(DateTimeOffset at) => Prefix + "5m:" + Number(at.ToUnixTimeSeconds() / 300);

    public static RedisKey HourBucket(DateTimeOffset at) => Prefix + "1h:" + Number(at.ToUnixTimeSeconds() / 3600);

    public static RedisKey View(BestSellerWindow window) => Prefix + "view:" + Name(window);

    /// <summary>The sets whose sum is <paramref name="window"/> at <paramref name="now"/>, newest first.</summary>
    public static RedisKey[] Buckets(BestSellerWindow window, DateTimeOffset now) => window switch
    {
        BestSellerWindow.Hour => Enumerable.Range(0, 13).Select(i => FiveMinuteBucket(now.AddMinutes(-5 * i))).ToArray(),
        BestSellerWindow.Day => Enumerable.Range(0, 25).Select(i => HourBucket(now.AddHours(-i))).ToArray(),
        BestSellerWindow.Week => Enumerable.Range(0, 169).Select(i => HourBucket(now.AddHours(-i))).ToArray(),
        _ => [AllTime],
    };

    /// <summary>UNSPECIFIED means DAY (catalog.proto).</summary>
    public static BestSellerWindow Normalize(BestSellerWindow window) =>
        window == BestSellerWindow.Unspecified ? BestSellerWindow.Day : window;

    /// <summary>The time_window value of the PostgreSQL backup.</summary>
    public static string Name(BestSellerWindow window) => window switch
    {
        BestSellerWindow.Hour => "hour",
        BestSellerWindow.Day => "day",
        BestSellerWindow.Week => "week",
        BestSellerWindow.AllTime => "all_time",
        _ => throw new ArgumentOutOfRangeException(nameof(window), window, null),
    };

    public static readonly BestSellerWindow[] Windows =
        [BestSellerWindow.Hour, BestSellerWindow.Day, BestSellerWindow.Week, BestSellerWindow.AllTime];

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
