using Npgsql;
using NpgsqlTypes;

namespace FlashDeal.Auth.Infrastructure;

/// <summary>When a signing key was first published, and how long ago by the database clock.</summary>
public sealed record KeyPublication(string KeyId, byte[] Thumbprint, DateTimeOffset FirstPublishedAt, TimeSpan Age);

/// <summary>SQL over auth.signing_keys.</summary>
public sealed class SigningKeyQueries(NpgsqlDataSource dataSource)
{
    /// <summary>
    /// Records the keys not seen before (the first replica's insert wins, the others change nothing) and reads back
    /// every given key's first publication. Two statements: the read takes its snapshot after the insert, so it also sees
    /// rows another replica committed while this insert waited for them. The age is measured by the database clock, so
    /// replicas whose clocks differ agree on it.
    /// </summary>
    public async Task<IReadOnlyList<KeyPublication>> RecordAsync(IReadOnlyCollection<(string KeyId, byte[] Thumbprint)> keys,
        CancellationToken cancellationToken)
    {
        var ids = keys.Select(k => k.KeyId).ToArray();
        var thumbprints = keys.Select(k => k.Thumbprint).ToArray();
        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(Command("""
            INSERT INTO auth.signing_keys (key_id, thumbprint)
            SELECT * FROM unnest($1::text[], $2::bytea[])
            ON CONFLICT DO NOTHING
            """, ids, thumbprints));
        batch.BatchCommands.Add(Command("""
            SELECT s.key_id, s.thumbprint, s.first_published_at, statement_timestamp() - s.first_published_at
            FROM auth.signing_keys s
            JOIN unnest($1::text[], $2::bytea[]) AS given (key_id, thumbprint) USING (key_id, thumbprint)
            """, ids, thumbprints));
        var found = new List<KeyPublication>();
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            found.Add(new KeyPublication(reader.GetString(0), reader.GetFieldValue<byte[]>(1),
                reader.GetFieldValue<DateTimeOffset>(2), reader.GetFieldValue<TimeSpan>(3)));
        }
        return found;
    }

    private static NpgsqlBatchCommand Command(string sql, string[] ids, byte[][] thumbprints)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.Add(new NpgsqlParameter { Value = ids, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = thumbprints, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
        return command;
    }
}
