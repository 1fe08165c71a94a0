using FlashDeal.Data;

namespace FlashDeal.Orders;

public static class OrdersMigrations
{
    public static MigrationSet Set { get; } =
        MigrationSet.FromAssembly(typeof(OrdersMigrations).Assembly, "FlashDeal.Orders.Migrations", schema: "orders");
}
