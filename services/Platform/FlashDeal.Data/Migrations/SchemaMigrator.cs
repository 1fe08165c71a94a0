using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace FlashDeal.Data;

/// <summary>
/// Applies a service's migrations to its schema. Each migration runs in its own transaction and is recorded in
/// <c>{schema}.schema_migrations</c>; a session advisory lock per schema makes replicas that start together migrate once.
/// </summary>
public sealed class SchemaMigrator(NpgsqlDataSource dataSource, MigrationSet migrations, ILogger? logger = null)
{
    private readonly ILogger _logger = logger ?? NullLogger.Instance;
    private readonly string _schema = migrations.Schema;

    public MigrationSet Migrations => migrations;

    /// <summary>Applies every pending migration in version order; returns the ones this call applied.</summary>
    /// <exception cref="MigrationChecksumException">An applied migration's file was edited.</exception>
    public async Task<IReadOnlyList<Migration>> MigrateAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var _ = await SchemaLock.AcquireAsync(connection, _schema, _logger, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, Sql.CreateHistory(_schema), cancellationToken).ConfigureAwait(false);
        var history = await ReadHistoryAsync(connection, cancellationToken).ConfigureAwait(false);
        ThrowOnDrift(history);
        foreach (var version in history.Keys.Where(v => migrations.Migrations.All(m => m.Version != v)))
        {
            _logger.LogWarning("Schema {Schema}: version {Version} is applied but unknown to this build", _schema, version);
        }

        var applied = new List<Migration>();
        foreach (var migration in migrations.Migrations.Where(m => !history.ContainsKey(m.Version)))
        {
            var started = Stopwatch.GetTimestamp();
            await RunInTransactionAsync(connection, migration, migration.Up, Sql.Record(_schema), cancellationToken)
                .ConfigureAwait(false);
            applied.Add(migration);
            _logger.LogInformation("Schema {Schema}: applied {Migration} in {Elapsed:F0} ms", _schema, migration,
                Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        return applied;
    }

    /// <summary>Reverts applied migrations above <paramref name="targetVersion"/>, newest first; 0 reverts all.</summary>
    public async Task<IReadOnlyList<Migration>> RollbackToAsync(long targetVersion, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(targetVersion);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var _ = await SchemaLock.AcquireAsync(connection, _schema, _logger, cancellationToken).ConfigureAwait(false);
        var history = await ReadHistoryAsync(connection, cancellationToken).ConfigureAwait(false);
        ThrowOnDrift(history);

        var toRevert = new List<Migration>();
        foreach (var version in history.Keys.Where(v => v > targetVersion).OrderDescending())
        {
            var migration = migrations.Migrations.FirstOrDefault(m => m.Version == version)
                ?? throw new MigrationException($"Schema {_schema}: version {version} is applied but unknown to this build; cannot revert it.");
            if (migration.Down is null)
            {
                throw new MigrationException($"Schema {_schema}: {migration} has no down file; cannot go below version {version}.");
            }
            toRevert.Add(migration);
        }
        foreach (var migration in toRevert)
        {
            await RunInTransactionAsync(connection, migration, migration.Down!, Sql.Forget(_schema), cancellationToken)
                .ConfigureAwait(false);
            _logger.LogInformation("Schema {Schema}: reverted {Migration}", _schema, migration);
        }
        return toRevert;
    }

    /// <summary>Every known and every recorded migration with its state; does not take the lock or change anything.</summary>
    public async Task<IReadOnlyList<MigrationStatus>> GetStatusAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var history = await ReadHistoryAsync(connection, cancellationToken).ConfigureAwait(false);
        var states = migrations.Migrations.Select(m => history.TryGetValue(m.Version, out var row)
            ? new MigrationStatus(m.Version, m.Name,
                row.Checksum == m.Checksum ? MigrationState.Applied : MigrationState.ChecksumMismatch, row.AppliedAt)
            : new MigrationStatus(m.Version, m.Name, MigrationState.Pending, null));
        var unknown = history.Where(h => migrations.Migrations.All(m => m.Version != h.Key))
            .Select(h => new MigrationStatus(h.Key, h.Value.Name, MigrationState.Unknown, h.Value.AppliedAt));
        return [.. states.Concat(unknown).OrderBy(s => s.Version)];
    }

    private void ThrowOnDrift(IReadOnlyDictionary<long, HistoryRow> history)
    {
        var drifted = migrations.Migrations
            .Where(m => history.TryGetValue(m.Version, out var row) && row.Checksum != m.Checksum)
            .ToList();
        if (drifted.Count > 0)
        {
            throw new MigrationChecksumException(
                $"Schema {_schema}: {string.Join(", ", drifted)} changed after being applied. Applied migrations are " +
                "immutable: restore the original file and add a new migration for the change.");
        }
    }

    private async Task RunInTransactionAsync(NpgsqlConnection connection, Migration migration, string script,
        string bookkeeping, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Scripts name their tables unqualified; they land in the service's schema.
            await ExecuteAsync(connection, transaction, Sql.UseSchema(_schema), cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, transaction, script, cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException e)
        {
            throw new MigrationException($"Schema {_schema}: {migration} failed: {Describe(e)}", e);
        }
        await using (var record = new NpgsqlCommand(bookkeeping, connection, transaction))
        {
            record.Parameters.AddWithValue("version", migration.Version);
            record.Parameters.AddWithValue("name", migration.Name);
            record.Parameters.AddWithValue("checksum", migration.Checksum);
            await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<Dictionary<long, HistoryRow>> ReadHistoryAsync(NpgsqlConnection connection,
        CancellationToken cancellationToken)
    {
        var history = new Dictionary<long, HistoryRow>();
        await using (var exists = new NpgsqlCommand(Sql.HistoryExists(_schema), connection))
        {
            if (await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not true)
            {
                return history;
            }
        }
        await using var command = new NpgsqlCommand(Sql.ReadHistory(_schema), connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            history[reader.GetInt64(0)] = new HistoryRow(reader.GetString(1), reader.GetString(2),
                reader.GetFieldValue<DateTimeOffset>(3));
        }
        return history;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql,
        CancellationToken cancellationToken)
    {
        // Migrations may rewrite big tables: no command timeout, the caller's token bounds the wait.
        await using var command = new NpgsqlCommand(sql, connection, transaction) { CommandTimeout = 0 };
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static string Describe(PostgresException e)
    {
        var text = new StringBuilder($"{e.SqlState}: {e.MessageText}");
        if (e.Detail is { Length: > 0 } detail)
        {
            text.Append($" ({detail})");
        }
        if (e.BatchCommand?.CommandText is { Length: > 0 } statement)
        {
            var firstLine = statement.Trim().Split('\n')[0].Trim();
            text.Append($" in statement \"{(firstLine.Length > 120 ? firstLine[..120] + "…" : firstLine)}\"");
        }
        return text.ToString();
    }

    private sealed record HistoryRow(string Name, string Checksum, DateTimeOffset AppliedAt);

    /// <summary>The migrator's own SQL. The schema name is validated by <see cref="MigrationSet"/>, so quoting it is safe.</summary>
    private static class Sql
    {
        public static string CreateHistory(string schema) => $"""
            CREATE SCHEMA IF NOT EXISTS "{schema}";
            CREATE TABLE IF NOT EXISTS "{schema}".schema_migrations (
              version    bigint      PRIMARY KEY,
              name       text        NOT NULL,
              checksum   text        NOT NULL,
              applied_at timestamptz NOT NULL DEFAULT now()
            );
            """;

        public static string HistoryExists(string schema) =>
            $"""SELECT to_regclass('"{schema}".schema_migrations') IS NOT NULL""";

        public static string ReadHistory(string schema) =>
            $"""SELECT version, name, checksum, applied_at FROM "{schema}".schema_migrations ORDER BY version""";

        public static string UseSchema(string schema) => $"""SET LOCAL search_path TO "{schema}", public""";

        public static string Record(string schema) =>
            $"""INSERT INTO "{schema}".schema_migrations (version, name, checksum) VALUES (@version, @name, @checksum)""";

        public static string Forget(string schema) =>
            $"""DELETE FROM "{schema}".schema_migrations WHERE version = @version AND name = @name AND checksum = @checksum""";
    }

    /// <summary>A session-level advisory lock keyed by the schema name, released when the migrator is done.</summary>
    private sealed class SchemaLock(NpgsqlConnection connection, long key) : IAsyncDisposable
    {
        public static async Task<SchemaLock> AcquireAsync(NpgsqlConnection connection, string schema, ILogger logger,
            CancellationToken cancellationToken)
        {
            var key = BitConverter.ToInt64(SHA256.HashData(Encoding.UTF8.GetBytes("flashdeal.migrations:" + schema)));
            await using (var tryLock = new NpgsqlCommand("SELECT pg_try_advisory_lock(@key)", connection))
            {
                tryLock.Parameters.AddWithValue("key", key);
                if (await tryLock.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is true)
                {
                    return new SchemaLock(connection, key);
                }
            }
            logger.LogInformation("Schema {Schema}: another migrator holds the lock; waiting", schema);
            await using var wait = new NpgsqlCommand("SELECT pg_advisory_lock(@key)", connection) { CommandTimeout = 0 };
            wait.Parameters.AddWithValue("key", key);
            await wait.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return new SchemaLock(connection, key);
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock(@key)", connection);
                unlock.Parameters.AddWithValue("key", key);
                await unlock.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (NpgsqlException)
            {
                // The session broke, and a closed session holds no advisory locks.
            }
        }
    }
}
