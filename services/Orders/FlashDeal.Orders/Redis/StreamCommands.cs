using System.Globalization;
using StackExchange.Redis;

namespace FlashDeal.Orders.Redis;

/// <summary>One stream entry: its id and its field/value pairs.</summary>
public sealed record StreamEntry(string Id, RedisResult[] Fields);

/// <summary>
/// The stream commands the consumer needs. StackExchange.Redis 1.2.6 has no stream API, so they go through
/// <c>ExecuteAsync</c>; keys are passed as <see cref="RedisKey"/> so the command is routed by its key. None of them
/// uses BLOCK: a blocking read would stall the multiplexer's one connection that every other command shares.
/// </summary>
public static class StreamCommands
{
    public static RedisScript AckScript { get; } =
        RedisScript.FromResource<StreamEntry>("FlashDeal.Orders.Redis.stream_ack.lua");

    /// <summary>Creates the group at the start of the stream (and the stream itself); false when it existed.</summary>
    public static async Task<bool> CreateGroupAsync(IDatabaseAsync database, RedisKey stream, string group)
    {
        try
        {
            await database.ExecuteAsync("XGROUP", "CREATE", stream, group, "0", "MKSTREAM").ConfigureAwait(false);
            return true;
        }
        catch (RedisServerException e) when (e.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
            return false;
        }
    }

    /// <summary>XREADGROUP … STREAMS stream &gt;: up to <paramref name="count"/> entries never delivered to anyone.</summary>
    public static async Task<IReadOnlyList<StreamEntry>> ReadNewAsync(IDatabaseAsync database, RedisKey stream, string group,
        string consumer, int count)
    {
        var reply = await database.ExecuteAsync("XREADGROUP", "GROUP", group, consumer, "COUNT", Number(count),
            "STREAMS", stream, ">").ConfigureAwait(false);
        if (reply.IsNull)
        {
            return [];
        }
        var streams = (RedisResult[])reply!;
        return streams.Length == 0 ? [] : Entries((RedisResult[])((RedisResult[])streams[0]!)[1]!);
    }

    /// <summary>XAUTOCLAIM: takes over entries another consumer has held longer than <paramref name="minIdle"/>.</summary>
    public static async Task<IReadOnlyList<StreamEntry>> ClaimIdleAsync(IDatabaseAsync database, RedisKey stream,
        string group, string consumer, TimeSpan minIdle, int count)
    {
        var reply = (RedisResult[])(await database.ExecuteAsync("XAUTOCLAIM", stream, group, consumer,
            Number((long)minIdle.TotalMilliseconds), "0-0", "COUNT", Number(count)).ConfigureAwait(false))!;
        return Entries((RedisResult[])reply[1]!);
    }

    public static async Task<int> AcknowledgeAndDeleteAsync(IDatabaseAsync database, RedisKey stream, string group,
        IEnumerable<string> ids)
    {
        RedisValue[] values = [group, .. ids.Select(id => (RedisValue)id)];
        return (int)await AckScript.EvaluateAsync(database, [stream], values).ConfigureAwait(false);
    }

    public static async Task<long> LengthAsync(IDatabaseAsync database, RedisKey stream) =>
        (long)await database.ExecuteAsync("XLEN", stream).ConfigureAwait(false);

    /// <summary>Entries delivered to a consumer of the group and not yet acknowledged, per consumer name.</summary>
    public static async Task<IReadOnlyDictionary<string, long>> PendingByConsumerAsync(IDatabaseAsync database,
        RedisKey stream, string group)
    {
        var reply = (RedisResult[])(await database.ExecuteAsync("XPENDING", stream, group).ConfigureAwait(false))!;
        var byConsumer = new Dictionary<string, long>();
        if (reply.Length > 3 && !reply[3].IsNull)
        {
            foreach (RedisResult[] pair in (RedisResult[])reply[3]!)
            {
                byConsumer[(string)pair[0]!] = long.Parse((string)pair[1]!, CultureInfo.InvariantCulture);
            }
        }
        return byConsumer;
    }

    public static Task AddAsync(IDatabaseAsync database, RedisKey stream, params (string Field, string Value)[] fields)
    {
        var args = new List<object> { stream, "*" };
        foreach (var (field, value) in fields)
        {
            args.Add(field);
            args.Add(value);
        }
        return database.ExecuteAsync("XADD", args.ToArray());
    }

    private static List<StreamEntry> Entries(RedisResult[] entries)
    {
        var list = new List<StreamEntry>(entries.Length);
        foreach (var entry in entries)
        {
            // Redis 6.2 reports an entry deleted while pending as nil; there is nothing to persist for it.
            if (entry.IsNull || ((RedisResult[])entry!)[1].IsNull)
            {
                continue;
            }
            var parts = (RedisResult[])entry!;
            list.Add(new StreamEntry((string)parts[0]!, (RedisResult[])parts[1]!));
        }
        return list;
    }

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
