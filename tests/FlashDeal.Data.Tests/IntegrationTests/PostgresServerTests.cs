using FlashDeal.TestInfrastructure;
using Npgsql;

namespace FlashDeal.Data.Tests.IntegrationTests;

[Collection(DataServers.Name)]
public sealed class PostgresServerTests(PostgresServer server)
{
    [Fact]
    public async Task ServesPostgres15OrNewerOnLoopback()
    {
        await using var connection = new NpgsqlConnection(server.ConnectionString);
        await connection.OpenAsync();

        Assert.True(connection.PostgreSqlVersion.Major >= 15, $"version {connection.PostgreSqlVersion}");
        Assert.Equal("127.0.0.1", await ScalarAsync(server.ConnectionString, "SELECT host(inet_server_addr())"));
        Assert.Equal("300", await ScalarAsync(server.ConnectionString, "SHOW max_connections"));
        Assert.Equal("off", await ScalarAsync(server.ConnectionString, "SHOW fsync"));
    }

    [Fact]
    public async Task EachDatabaseIsIsolated()
    {
        var first = await server.CreateDatabaseAsync();
        var second = await server.CreateDatabaseAsync();

        await ScalarAsync(first, "CREATE TABLE only_here (id int)");

        Assert.NotEqual(first, second);
        Assert.Equal("1", await ScalarAsync(first, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_here'"));
        Assert.Equal("0", await ScalarAsync(second, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_here'"));
    }

    [Fact]
    public async Task StopRefusesConnectionsAndStartServesTheSameDataOnTheSamePort()
    {
        var database = await server.CreateDatabaseAsync();
        await ScalarAsync(database, "CREATE TABLE kept (id int); INSERT INTO kept VALUES (42)");
        var port = server.Port;

        await server.StopAsync(immediate: true);
        try
        {
            Assert.False(server.IsRunning);
            await Assert.ThrowsAnyAsync<NpgsqlException>(() => ScalarAsync(database, "SELECT 1"));
        }
        finally
        {
            await server.StartAsync();
        }

        Assert.Equal(port, server.Port);
        Assert.Equal("42", await ScalarAsync(database, "SELECT id FROM kept"));
    }

    [Fact]
    public async Task DatabaseNamesAreCheckedBeforeReachingSql()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => server.CreateDatabaseAsync("x\"; DROP DATABASE postgres; --"));
        Assert.EndsWith("Database=named_db;Include Error Detail=True", await server.CreateDatabaseAsync("named_db"));
    }

    private static async Task<string?> ScalarAsync(string connectionString, string sql)
    {
        // Unpooled: a pooled connection would outlive the restart above and fail once.
        await using var connection = new NpgsqlConnection(connectionString + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToString(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
