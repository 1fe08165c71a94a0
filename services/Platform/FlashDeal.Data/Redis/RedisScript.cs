using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace FlashDeal.Data.Redis;

/// <summary>
/// A Lua script embedded next to the code that calls it (a <c>.lua</c> file, KEYS/ARGV as Redis passes them), run by
/// SHA1 with EVALSHA: 40 bytes on the wire instead of the whole script, and no hashing of the script text per call. A
/// server that does not know the script (restart, failover, SCRIPT FLUSH) answers NOSCRIPT; the script then goes once
/// through StackExchange.Redis's own script loading (SCRIPT LOAD + EVALSHA), which puts it back into that server's cache.
/// </summary>
public sealed class RedisScript
{
    private readonly byte[] _sha1;

    public RedisScript(string source)
    {
        Source = source;
        _sha1 = SHA1.HashData(Encoding.UTF8.GetBytes(source));
    }

    public string Source { get; }

    public string Sha1 => Convert.ToHexStringLower(_sha1);

    /// <summary>Loads the embedded resource <paramref name="resourceName"/> (e.g. "FlashDeal.Orders.Placement.place_order.lua").</summary>
    public static RedisScript FromResource(Assembly assembly, string resourceName)
    {
        using var stream = assembly.GetManifestResourceStream(resourceName)
            ?? throw new InvalidOperationException(
                $"Embedded script '{resourceName}' not found; have: {string.Join(", ", assembly.GetManifestResourceNames())}");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return new RedisScript(reader.ReadToEnd());
    }

    public async Task<RedisResult> EvaluateAsync(IDatabaseAsync database, RedisKey[] keys, RedisValue[] values)
    {
        try
        {
            return await database.ScriptEvaluateAsync(_sha1, keys, values).ConfigureAwait(false);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            return await database.ScriptEvaluateAsync(Source, keys, values).ConfigureAwait(false);
        }
    }

    /// <summary>SCRIPT LOAD on every connected primary, so the first calls after start-up need no fallback.</summary>
    public async Task LoadAsync(IConnectionMultiplexer redis)
    {
        foreach (var endpoint in redis.GetEndPoints())
        {
            var server = redis.GetServer(endpoint);
            if (server.IsConnected && !server.IsReplica)
            {
                await server.ScriptLoadAsync(Source).ConfigureAwait(false);
            }
        }
    }
}
