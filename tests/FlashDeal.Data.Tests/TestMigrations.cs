namespace FlashDeal.Data.Tests;

/// <summary>The migrations embedded in this assembly (Migrations/*.sql), loaded into a schema of the test's own.</summary>
internal static class TestMigrations
{
    public const string ResourcePrefix = "FlashDeal.Data.Tests.Migrations";

    public static string NewSchema() => $"s_{Guid.NewGuid():N}"[..12];

    public static MigrationSet Embedded(string schema) =>
        MigrationSet.FromAssembly(typeof(TestMigrations).Assembly, ResourcePrefix, schema);

    public static MigrationSet With(MigrationSet set, params Migration[] extra) => new(set.Schema, [.. set.Migrations, .. extra]);

    public static MigrationSet Without(MigrationSet set, long fromVersion) =>
        new(set.Schema, set.Migrations.Where(m => m.Version < fromVersion));
}
