using System.Globalization;
using StackExchange.Redis;

namespace FlashDeal.Data.Redis;

/// <summary>
/// The contract between orders (producer) and catalog (consumer, best sellers) for paid orders: one stream, one entry
/// per paid order, written after the order is in PostgreSQL, at least once (the consumer ignores an order_id it has
/// counted). Orders never call the catalog.
/// </summary>
public static class PaidOrdersStream
{
    /// <summary>STREAM: order_id, product_id, quantity, paid_at_ms.</summary>
    public static readonly RedisKey Key = "flashdeal:orders:paid";

    /// <summary>
    /// Entries kept (approximately, XADD MAXLEN ~): the consumer acknowledges but never deletes, so the stream is capped;
    /// a catalog away for more than a million paid orders loses the oldest from its rankings, never an order.
    /// </summary>
    public const int MaxLength = 1_000_000;

    /// <summary>Catalog's consumer group on <see cref="Key"/>.</summary>
    public const string BestSellersGroup = "catalog-bestsellers";

    public const string OrderIdField = "order_id";
    public const string ProductIdField = "product_id";
    public const string QuantityField = "quantity";
    public const string PaidAtMsField = "paid_at_ms";

    /// <summary>XADD of one paid order (the producer's only call).</summary>
    public static Task<RedisValue> AddAsync(IDatabaseAsync database, PaidOrder order) =>
        database.StreamAddAsync(Key, ToFields(order), maxLength: MaxLength, useApproximateMaxLength: true);

    public static NameValueEntry[] ToFields(PaidOrder order) =>
    [
        new(OrderIdField, order.OrderId),
        new(ProductIdField, order.ProductId),
        new(QuantityField, order.Quantity),
        new(PaidAtMsField, order.PaidAt.ToUnixTimeMilliseconds()),
    ];

    /// <summary>The paid order of an entry, or null when a field is missing or malformed.</summary>
    public static PaidOrder? Parse(StreamEntry entry)
    {
        var orderId = (string?)entry[OrderIdField];
        var productId = (string?)entry[ProductIdField];
        if (string.IsNullOrEmpty(orderId) || string.IsNullOrEmpty(productId)
            || !int.TryParse((string?)entry[QuantityField], NumberStyles.None, CultureInfo.InvariantCulture, out var quantity)
            || quantity <= 0
            || !long.TryParse((string?)entry[PaidAtMsField], NumberStyles.None, CultureInfo.InvariantCulture, out var paidAtMs))
        {
            return null;
        }
        return new PaidOrder(orderId, productId, quantity, DateTimeOffset.FromUnixTimeMilliseconds(paidAtMs));
    }
}

/// <summary>One entry of <see cref="PaidOrdersStream"/>.</summary>
public sealed record PaidOrder(string OrderId, string ProductId, int Quantity, DateTimeOffset PaidAt);
