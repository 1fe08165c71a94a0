using FlashDeal.Data;

namespace FlashDeal.Catalog;

public static class CatalogMigrations
{
    public static MigrationSet Set { get; } =
        MigrationSet.FromAssembly(typeof(CatalogMigrations).Assembly, "FlashDeal.Catalog.Migrations", schema: "catalog");
}
