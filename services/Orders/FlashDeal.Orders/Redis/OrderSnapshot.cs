using System.Globalization;
using FlashDeal.Orders.Model;
using StackExchange.Redis;

namespace FlashDeal.Orders.Redis;

/// <summary>
/// Reads an order from the field/value pairs the Lua scripts write: an order hash (HGETALL) or a stream entry. Both use
/// the <see cref="OrderFields"/> names, so one parser serves both.
/// </summary>
public static class OrderSnapshot
{
    public static OrderRecord? FromHash(HashEntry[] entries) =>
        entries.Length == 0 ? null : FromFields(entries.ToDictionary(e => (string)e.Name!, e => (string?)e.Value ?? ""));

    /// <summary>A stream entry's field/value pairs.</summary>
    public static OrderRecord FromStreamEntry(NameValueEntry[] values)
    {
        var fields = new Dictionary<string, string>(values.Length);
        foreach (var value in values)
        {
            fields[(string)value.Name!] = (string?)value.Value ?? "";
        }
        return FromFields(fields);
    }

    /// <summary>A flat array of alternating names and values (an HGETALL inside a script).</summary>
    public static OrderRecord FromFlatArray(RedisResult[] fieldsAndValues)
    {
        var fields = new Dictionary<string, string>(fieldsAndValues.Length / 2);
        for (var i = 0; i + 1 < fieldsAndValues.Length; i += 2)
        {
            fields[(string)fieldsAndValues[i]!] = (string?)fieldsAndValues[i + 1] ?? "";
        }
        return FromFields(fields);
    }

    public static OrderRecord FromFields(IReadOnlyDictionary<string, string> fields)
    {
        string Get(string name) => fields.TryGetValue(name, out var value)
            ? value
            : throw new FormatException($"Order snapshot lacks field '{name}'.");
        string? Optional(string name) => fields.TryGetValue(name, out var value) && value.Length > 0 ? value : null;

        return new OrderRecord
        {
            OrderId = Guid.Parse(Get(OrderFields.OrderId)),
            UserId = Get(OrderFields.UserId),
            DealId = Guid.Parse(Get(OrderFields.DealId)),
            ProductId = Get(OrderFields.ProductId),
            ProductName = Get(OrderFields.ProductName),
            DealTitle = Get(OrderFields.DealTitle),
            Quantity = int.Parse(Get(OrderFields.Quantity), CultureInfo.InvariantCulture),
            UnitPriceCents = long.Parse(Get(OrderFields.UnitPriceCents), CultureInfo.InvariantCulture),
            Currency = Get(OrderFields.Currency),
            Status = OrderStatuses.Parse(Get(OrderFields.Status)),
            IdempotencyKey = Get(OrderFields.IdempotencyKey),
            CreateTime = FromMs(Get(OrderFields.CreateMs)),
            PayDeadline = FromMs(Get(OrderFields.PayDeadlineMs)),
            PaidTime = Optional(OrderFields.PaidMs) is { } paid ? FromMs(paid) : null,
            CancelTime = Optional(OrderFields.CancelMs) is { } cancelled ? FromMs(cancelled) : null,
            PaymentReference = Optional(OrderFields.PaymentReference),
            RefundTime = Optional(OrderFields.RefundMs) is { } refunded ? FromMs(refunded) : null,
            RefundReference = Optional(OrderFields.RefundReference),
            StockReturned = Optional(OrderFields.StockReturned) == "1",
            PaymentTokenHash = Optional(OrderFields.PaymentTokenHash),
            CouponId = Optional(OrderFields.CouponId),
            DiscountCents = Optional(OrderFields.DiscountCents) is { } discount
                ? long.Parse(discount, CultureInfo.InvariantCulture) : 0,
        };
    }

    public static DateTimeOffset FromMs(string unixMs) =>
        DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(unixMs, CultureInfo.InvariantCulture));
}
