using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace FlashDeal.Orders.Redis;

/// <summary>
/// A Lua script embedded next to the code that calls it, run by SHA1 (EVALSHA: only 40 bytes on the wire). A server
/// that does not know the script (restart, failover, SCRIPT FLUSH) answers NOSCRIPT; the script is then sent once in
/// full with EVAL, which also puts it back into the server's script cache.
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

    /// <summary>Loads <c>{RootNamespace}.{folder}.{file}.lua</c> from the assembly of <typeparamref name="T"/>.</summary>
    public static RedisScript FromResource<T>(string resourceName)
    {
        var assembly = typeof(T).Assembly;
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

    /// <summary>SCRIPT LOAD on every connected server, so the first calls after start-up need no EVAL.</summary>
    public async Task LoadAsync(IConnectionMultiplexer redis)
    {
        foreach (var endpoint in redis.GetEndPoints())
        {
            var server = redis.GetServer(endpoint);
            if (server.IsConnected && !server.IsSlave)
            {
                await server.ScriptLoadAsync(Source).ConfigureAwait(false);
            }
        }
    }
}
