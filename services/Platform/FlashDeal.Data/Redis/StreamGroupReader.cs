using StackExchange.Redis;

namespace FlashDeal.Data.Redis;

/// <summary>Reading settings of one consumer group.</summary>
/// <param name="BatchSize">Most entries one read returns.</param>
/// <param name="ClaimMinIdle">Entries another consumer has held this long are taken over (it is presumed dead).</param>
/// <param name="DeleteAcknowledged">XDEL what is acknowledged, so the stream's length is exactly the consumer lag.</param>
public sealed record StreamGroupOptions(int BatchSize, TimeSpan ClaimMinIdle, bool DeleteAcknowledged);

/// <summary>
/// One consumer of one consumer group on one stream, with StackExchange.Redis's Streams API: the group is created on
/// first use (from the start of the stream, MKSTREAM) and again when Redis lost it (NOGROUP); after a (re)start the
/// consumer first re-reads what it was given and never acknowledged, then new entries (XREADGROUP &gt;), and on request
/// claims entries idle too long with other consumers (XAUTOCLAIM). Acknowledging can delete in the same step (a Lua
/// script: no crash leaves an acknowledged entry behind). No BLOCK: every command shares the multiplexer's connection.
/// </summary>
public sealed class StreamGroupReader(RedisKey stream, string group, string consumer, StreamGroupOptions options)
{
    private static readonly RedisScript AcknowledgeAndDeleteScript =
        RedisScript.FromResource(typeof(StreamGroupReader).Assembly, "FlashDeal.Data.Redis.stream_ack.lua");

    private bool _groupReady;
    private bool _ownPendingRead;

    public RedisKey Stream => stream;

    public string Group => group;

    public string Consumer => consumer;

    /// <summary>
    /// The next entries to process: this consumer's unacknowledged ones once after a (re)start, entries claimed from
    /// idle consumers when <paramref name="claimIdle"/>, then new ones. Entries deleted while pending are skipped.
    /// </summary>
    public async Task<IReadOnlyList<StreamEntry>> ReadAsync(IDatabaseAsync database, bool claimIdle)
    {
        try
        {
            await EnsureGroupAsync(database).ConfigureAwait(false);
            var entries = new List<StreamEntry>();
            if (!_ownPendingRead)
            {
                Add(entries, await database.StreamReadGroupAsync(stream, group, consumer, "0", options.BatchSize)
                    .ConfigureAwait(false));
                _ownPendingRead = true;
            }
            if (claimIdle)
            {
                var claimed = await database.StreamAutoClaimAsync(stream, group, consumer,
                    (long)options.ClaimMinIdle.TotalMilliseconds, "0-0", options.BatchSize).ConfigureAwait(false);
                Claimed += claimed.ClaimedEntries.Count(e => !e.IsNull);
                Add(entries, claimed.ClaimedEntries);
            }
            Add(entries, await database.StreamReadGroupAsync(stream, group, consumer, StreamPosition.NewMessages,
                options.BatchSize).ConfigureAwait(false));
            return entries;
        }
        catch (RedisServerException e) when (e.Message.StartsWith("NOGROUP", StringComparison.Ordinal))
        {
            // Redis lost the stream and its group (a restart without persistence, FLUSHALL): create both on the next read.
            _groupReady = false;
            return [];
        }
    }

    /// <summary>Entries taken over from idle consumers so far (for logs and metrics).</summary>
    public long Claimed { get; private set; }

    public async Task AcknowledgeAsync(IDatabaseAsync database, IReadOnlyCollection<RedisValue> ids)
    {
        if (ids.Count == 0)
        {
            return;
        }
        if (options.DeleteAcknowledged)
        {
            RedisValue[] values = [group, .. ids];
            await AcknowledgeAndDeleteScript.EvaluateAsync(database, [stream], values).ConfigureAwait(false);
        }
        else
        {
            await database.StreamAcknowledgeAsync(stream, group, [.. ids]).ConfigureAwait(false);
        }
    }

    /// <summary>Entries delivered to some consumer of the group and not yet acknowledged (0 when there is no group).</summary>
    public async Task<long> PendingAsync(IDatabaseAsync database)
    {
        try
        {
            return (await database.StreamPendingAsync(stream, group).ConfigureAwait(false)).PendingMessageCount;
        }
        catch (RedisServerException e) when (e.Message.StartsWith("NOGROUP", StringComparison.Ordinal))
        {
            return 0;
        }
    }

    /// <summary>
    /// Processing what the last read returned failed: read this consumer's unacknowledged entries again next time
    /// (otherwise only a claim after ClaimMinIdle would bring them back).
    /// </summary>
    public void ReadPendingAgain() => _ownPendingRead = false;

    /// <summary>Forget that the group exists (the stream was dropped): the next read creates it again.</summary>
    public void Reset() => _groupReady = false;

    private async Task EnsureGroupAsync(IDatabaseAsync database)
    {
        if (_groupReady)
        {
            return;
        }
        try
        {
            // From the start of the stream: entries written before this group existed count too.
            await database.StreamCreateConsumerGroupAsync(stream, group, StreamPosition.Beginning, createStream: true)
                .ConfigureAwait(false);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
            // Another replica (or an earlier run) created it.
        }
        _groupReady = true;
        _ownPendingRead = false;
    }

    private static void Add(List<StreamEntry> into, StreamEntry[] entries)
    {
        foreach (var entry in entries)
        {
            // Redis reports an entry deleted while pending with no fields: there is nothing to process for it.
            if (!entry.IsNull && entry.Values is { Length: > 0 })
            {
                into.Add(entry);
            }
        }
    }
}
