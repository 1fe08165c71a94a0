using FlashDeal.Data;

namespace FlashDeal.Auth;

/// <summary>The auth schema: Migrations/NNNN_name.up.sql (and .down.sql), embedded.</summary>
public static class AuthMigrations
{
    public static MigrationSet Set { get; } =
        MigrationSet.FromAssembly(typeof(AuthMigrations).Assembly, "FlashDeal.Auth.Migrations", schema: "auth");
}
