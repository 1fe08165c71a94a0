using System.Diagnostics;
using System.Diagnostics.Metrics;
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
/// Each call is a client span "EVALSHA &lt;name&gt;" of the ActivitySource <see cref="ActivitySourceName"/> when the call
/// it serves is traced (nothing is created otherwise), and a sample of the histogram <see cref="DurationMetric"/> (by
/// script and outcome) of the meter of the same name.
/// </summary>
public sealed class RedisScript
{
    public const string ActivitySourceName = "FlashDeal.Data.Redis";

    /// <summary>Seconds per script call as the client sees it (listed as FlashDealMetrics.RedisScriptDuration).</summary>
    public const string DurationMetric = "flashdeal.redis.script.duration";

    private static readonly ActivitySource Spans = new(ActivitySourceName);
    private static readonly Meter Meter = new(ActivitySourceName);
    private static readonly Histogram<double> Duration = Meter.CreateHistogram(DurationMetric, "s",
        "Redis script calls (EVALSHA) by script and outcome (ok, error), as the client sees them.",
        advice: new InstrumentAdvice<double>
        {
            HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
        });
    private readonly KeyValuePair<string, object?> _scriptTag;
    private readonly byte[] _sha1;
    private readonly string _spanName;

    public RedisScript(string source, string name = "script")
    {
        Source = source;
        Name = name;
        _spanName = "EVALSHA " + name;
        _scriptTag = new("script", name);
        _sha1 = SHA1.HashData(Encoding.UTF8.GetBytes(source));
    }

    public string Source { get; }

    /// <summary>The script's name (its file name without .lua), in spans.</summary>
    public string Name { get; }

    public string Sha1 => Convert.ToHexStringLower(_sha1);

    /// <summary>Loads the embedded resource <paramref name="resourceName"/> (e.g. "FlashDeal.Orders.Placement.place_order.lua").</summary>
    public static RedisScript FromResource(Assembly assembly, string resourceName)
    {
        using var stream = assembly.GetManifestResourceStream(resourceName)
            ?? throw new InvalidOperationException(
                $"Embedded script '{resourceName}' not found; have: {string.Join(", ", assembly.GetManifestResourceNames())}");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var name = Path.GetFileNameWithoutExtension(resourceName);
        return new RedisScript(reader.ReadToEnd(), name[(name.LastIndexOf('.') + 1)..]);
    }

    public async Task<RedisResult> EvaluateAsync(IDatabaseAsync database, RedisKey[] keys, RedisValue[] values)
    {
        using var span = Activity.Current is { Recorded: true } ? Spans.StartActivity(_spanName, ActivityKind.Client) : null;
        var started = Stopwatch.GetTimestamp();
        var outcome = "error";
        if (span is not null)
        {
            span.SetTag("db.system.name", "redis");
            span.SetTag("db.operation.name", "EVALSHA");
            span.SetTag("db.query.summary", Name);
        }
        try
        {
            RedisResult result;
            try
            {
                result = await database.ScriptEvaluateAsync(_sha1, keys, values).ConfigureAwait(false);
            }
            catch (RedisServerException e) when (e.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
            {
                result = await database.ScriptEvaluateAsync(Source, keys, values).ConfigureAwait(false);
            }
            outcome = "ok";
            return result;
        }
        finally
        {
            if (Duration.Enabled)
            {
                Duration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, _scriptTag,
                    new KeyValuePair<string, object?>("outcome", outcome));
            }
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
