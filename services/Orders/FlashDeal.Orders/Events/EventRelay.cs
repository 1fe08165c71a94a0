using FlashDeal.Contracts.Events.V1;
using FlashDeal.Data.Redis;
using Google.Protobuf;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using StackExchange.Redis;

namespace FlashDeal.Orders.Events;

/// <summary>
/// Publishes <c>orders.event_outbox</c> to the event streams (<see cref="EventStreams"/>); every orders replica runs one.
/// A round reads each stream's last generated id, selects the outbox rows after it in sequence order and adds them with
/// the explicit entry id "&lt;sequence&gt;-0" (publish_events.lua): an id the stream already passed is skipped, so any
/// number of relays, crashes and retries publish each event exactly once and in sequence order. After a Redis failover
/// that lost the newest entries, the new primary's last id is lower and the lost events are published again.
/// Published rows older than OutboxRetention are deleted from time to time.
/// </summary>
public sealed partial class EventRelay(
    NpgsqlDataSource dataSource,
    IConnectionMultiplexer redis,
    OrdersMetrics metrics,
    TimeProvider time,
    IOptions<OrdersOptions> options,
    ILogger<EventRelay> logger) : BackgroundService
{
    private static readonly RedisScript PublishScript =
        RedisScript.FromResource(typeof(EventRelay).Assembly, "FlashDeal.Orders.Events.publish_events.lua");

    private const string ReadSql = """
        SELECT sequence, subject, type, payload FROM orders.event_outbox
        WHERE stream = $1 AND sequence > $2 ORDER BY sequence LIMIT $3
        """;

    private const string CountSql = "SELECT count(*) FROM orders.event_outbox WHERE stream = $1 AND sequence > $2";

    private const string CleanupSql = """
        DELETE FROM orders.event_outbox
        WHERE stream = $1 AND sequence <= $2 AND recorded_at < now() - $3::interval
        """;

    private readonly EventOptions _options = options.Value.Events;
    private DateTimeOffset? _cleanedAt;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        StreamConsumerLoop.RunAsync("Event relay", RunRoundAsync, _options.PollInterval, options.Value.Stream.MaxRetryDelay,
            logger, stoppingToken);

    /// <summary>One pass over every event stream; true when anything was published.</summary>
    public async Task<bool> RunRoundAsync(CancellationToken cancellationToken)
    {
        var database = redis.GetDatabase();
        var cleanup = _cleanedAt is not { } at || time.GetUtcNow() - at >= _options.CleanupInterval;
        var worked = false;
        long lag = 0;
        foreach (var stream in EventStreams.All)
        {
            var last = await LastPublishedAsync(database, stream).ConfigureAwait(false);
            var rows = await ReadAsync(stream, last, cancellationToken).ConfigureAwait(false);
            if (rows.Count > 0)
            {
                var added = await PublishAsync(database, stream, rows).ConfigureAwait(false);
                metrics.EventsPublished(stream, added);
                worked = true;
                last = rows[^1].Sequence;
            }
            lag += rows.Count < _options.BatchSize ? 0 : await CountAfterAsync(stream, last, cancellationToken).ConfigureAwait(false);
            if (cleanup)
            {
                await CleanupAsync(stream, last, cancellationToken).ConfigureAwait(false);
            }
        }
        if (cleanup)
        {
            _cleanedAt = time.GetUtcNow();
        }
        metrics.EventRelayLag = lag;
        return worked;
    }

    /// <summary>The sequence of the stream's last generated entry id (0 when the stream does not exist).</summary>
    public static async Task<long> LastPublishedAsync(IDatabaseAsync database, string stream)
    {
        try
        {
            var info = await database.StreamInfoAsync(stream).ConfigureAwait(false);
            return EventStreams.SequenceOf(info.LastGeneratedId);
        }
        catch (RedisServerException e) when (e.Message.Contains("no such key", StringComparison.OrdinalIgnoreCase))
        {
            return 0;
        }
    }

    private sealed record Row(long Sequence, string Subject, string Type, byte[] Payload);

    private async Task<List<Row>> ReadAsync(string stream, long after, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(ReadSql);
        command.Parameters.Add(new NpgsqlParameter { Value = stream });
        command.Parameters.Add(new NpgsqlParameter { Value = after });
        command.Parameters.Add(new NpgsqlParameter { Value = _options.BatchSize });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var rows = new List<Row>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new Row(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<byte[]>(3)));
        }
        return rows;
    }

    private async Task<long> PublishAsync(IDatabaseAsync database, string stream, List<Row> rows)
    {
        var values = new RedisValue[1 + rows.Count * 4];
        values[0] = _options.StreamMaxLength;
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            var message = Event.Parser.ParseFrom(row.Payload);
            message.Sequence = row.Sequence;
            values[1 + i * 4] = row.Sequence;
            values[2 + i * 4] = row.Type;
            values[3 + i * 4] = row.Subject;
            values[4 + i * 4] = message.ToByteArray();
        }
        var added = (long)await PublishScript.EvaluateAsync(database, [stream], values).ConfigureAwait(false);
        if (added < rows.Count)
        {
            LogSkipped(rows.Count - added, stream);
        }
        return added;
    }

    private async Task<long> CountAfterAsync(string stream, long after, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(CountSql);
        command.Parameters.Add(new NpgsqlParameter { Value = stream });
        command.Parameters.Add(new NpgsqlParameter { Value = after });
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>Published rows past the retention go; the rest stay, so a failover that lost entries can be repaired.</summary>
    private async Task CleanupAsync(string stream, long published, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(CleanupSql);
        command.Parameters.Add(new NpgsqlParameter { Value = stream });
        command.Parameters.Add(new NpgsqlParameter { Value = published });
        command.Parameters.Add(new NpgsqlParameter { Value = _options.OutboxRetention });
        var deleted = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        if (deleted > 0)
        {
            logger.LogInformation("Deleted {Count} published events older than {Retention} from the outbox of {Stream}",
                deleted, _options.OutboxRetention, stream);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Count} events of {Stream} were published already (another relay)")]
    private partial void LogSkipped(long count, string stream);
}
