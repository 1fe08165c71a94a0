using Npgsql;
using NpgsqlTypes;

namespace FlashDeal.Orders.Events;

/// <summary>
/// Appends domain events to <c>orders.event_outbox</c> inside the caller's transaction (the one that writes the state
/// change), each (subject, type, cause) once. The transaction first takes <see cref="LockKey"/> (transaction-scoped
/// advisory lock, released at commit), so outbox-writing transactions take their sequences and commit one after
/// another: sequence order is commit order, and <see cref="EventRelay"/> reading "sequence &gt; last published" never
/// passes over a row that commits later. Append last in the transaction, after every row lock it needs: the lock then
/// covers only the outbox insert and the commit.
/// </summary>
public static class EventOutbox
{
    /// <summary>pg_advisory_xact_lock key of the outbox tail ("fd-events" in ASCII).</summary>
    public const long LockKey = 0x66642D6576656E74;

    private const string LockSql = "SELECT pg_advisory_xact_lock($1)";

    // ORDER BY the input position: identity values follow it, so one subject's events keep the order they were given in.
    private const string InsertSql = """
        INSERT INTO orders.event_outbox (stream, subject, type, cause, time, payload)
        SELECT e.stream, e.subject, e.type, e.cause, e.time, e.payload
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::bytea[]) WITH ORDINALITY
            AS e(stream, subject, type, cause, time, payload, position)
        ORDER BY e.position
        ON CONFLICT (subject, type, cause) DO NOTHING
        """;

    /// <summary>
    /// The commands that append <paramref name="events"/> (none when empty), to add at the end of a caller's
    /// <see cref="NpgsqlBatch"/> so the state change and its events stay one round trip.
    /// </summary>
    public static IReadOnlyList<NpgsqlBatchCommand> Commands(IReadOnlyCollection<OutboxEvent> events)
    {
        if (events.Count == 0)
        {
            return [];
        }
        var lockCommand = new NpgsqlBatchCommand(LockSql) { Parameters = { new NpgsqlParameter { Value = LockKey } } };
        var insert = new NpgsqlBatchCommand(InsertSql);
        insert.Parameters.AddRange(new NpgsqlParameter[]
        {
            Texts(events.Select(e => e.Stream)), Texts(events.Select(e => e.Subject)), Texts(events.Select(e => e.Type)),
            Texts(events.Select(e => e.Cause)),
            new() { Value = events.Select(e => e.Time.UtcDateTime).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz },
            new() { Value = events.Select(e => e.Payload).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea },
        });
        return [lockCommand, insert];
    }

    /// <summary>Appends <paramref name="events"/> in the caller's transaction (e.g. coupon persistence); one round trip.</summary>
    public static async Task AppendAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        IReadOnlyCollection<OutboxEvent> events, CancellationToken cancellationToken)
    {
        var commands = Commands(events);
        if (commands.Count == 0)
        {
            return;
        }
        await using var batch = new NpgsqlBatch(connection, transaction);
        foreach (var command in commands)
        {
            batch.BatchCommands.Add(command);
        }
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static NpgsqlParameter Texts(IEnumerable<string> values) => new()
    {
        Value = values.ToArray(),
        NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text,
    };
}
