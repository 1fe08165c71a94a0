using FlashDeal.Data;
using FlashDeal.TestInfrastructure;
using Npgsql;

namespace FlashDeal.Catalog.Tests.IntegrationTests;

/// <summary>The catalog schema applies, reverts and applies again through the migrate verb.</summary>
[Collection(DataServers.Name)]
public sealed class MigrationTests(PostgresServer postgres)
{
    [Fact]
    public async Task SchemaMigratesUpDownAndUpAgain()
    {
        var connectionString = await postgres.CreateDatabaseAsync();
        var output = new StringWriter();
        string[][] commands = [["migrate", "up"], ["migrate", "down", "--to", "0"], ["migrate", "up"], ["migrate", "verify"]];
        foreach (var command in commands)
        {
            Assert.Equal(0, await Migrator.RunAsync([.. command, "--connection", connectionString], CatalogMigrations.Set,
                output: output));
        }

        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var tables = dataSource.CreateCommand(
            "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables WHERE table_schema = 'catalog'");
        Assert.Equal("best_sellers,deals,products,schema_migrations", await tables.ExecuteScalarAsync());
    }
}
