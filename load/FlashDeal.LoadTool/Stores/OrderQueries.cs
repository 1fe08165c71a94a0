namespace FlashDeal.LoadTool.Stores;

/// <summary>What the invariant checks read from PostgreSQL: the orders service's orders.orders table
/// (services/Orders/FlashDeal.Orders/Migrations/0001_create_orders.up.sql). Parameter $1 is always the deal id.</summary>
public static class OrderQueries
{
    /// <summary>Statuses that still hold stock: cancelled and expired orders gave their units back to Redis.</summary>
    private const string Holding = "status IN ('PENDING_PAYMENT', 'PAID')";

    public const string Count = "SELECT count(*) FROM orders.orders WHERE deal_id = $1";

    public const string HeldUnits = $"SELECT coalesce(sum(quantity), 0) FROM orders.orders WHERE deal_id = $1 AND {Holding}";

    public const string Orders = "SELECT order_id, user_id, idempotency_key, quantity FROM orders.orders WHERE deal_id = $1";

    /// <summary>$2: the per-user limit.</summary>
    public const string UsersOverLimit = $"""
        SELECT user_id, sum(quantity) FROM orders.orders WHERE deal_id = $1 AND {Holding}
        GROUP BY user_id HAVING sum(quantity) > $2 ORDER BY 2 DESC LIMIT 5
        """;

    public const string DuplicateKeys = """
        SELECT user_id, idempotency_key, count(*) FROM orders.orders WHERE deal_id = $1
        GROUP BY user_id, idempotency_key HAVING count(*) > 1 LIMIT 5
        """;
}
