using Npgsql;
using Xunit;

namespace FlashDeal.TestInfrastructure;

/// <summary>
/// A class fixture (<c>IClassFixture&lt;PostgresDatabase&gt;</c>) giving each test class its own fresh database on the
/// collection's shared <see cref="PostgresServer"/>.
/// </summary>
public sealed class PostgresDatabase(PostgresServer server) : IAsyncLifetime
{
    private NpgsqlDataSource? _dataSource;

    public PostgresServer Server => server;

    public string ConnectionString { get; private set; } = "";

    public NpgsqlDataSource DataSource => _dataSource ?? throw new InvalidOperationException("The database is not created yet.");

    public async Task InitializeAsync()
    {
        ConnectionString = await server.CreateDatabaseAsync().ConfigureAwait(false);
        _dataSource = NpgsqlDataSource.Create(ConnectionString);
    }

    public async Task DisposeAsync()
    {
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }
    }
}
