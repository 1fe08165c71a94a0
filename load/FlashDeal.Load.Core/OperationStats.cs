namespace FlashDeal.Load;

/// <summary>How many calls ended with one outcome ("OK" or a reason); expected refusals are kept apart from errors.</summary>
public sealed record OutcomeCount(string Outcome, bool Expected, long Count)
{
    public bool IsError => !Expected && Outcome != OperationStats.Ok;
}

/// <summary>
/// Everything measured for one operation in one stage (or over the whole run when <see cref="Stage"/> is null): latency in
/// microseconds, calls by outcome. Not thread-safe; the engine fills one per stripe and merges them.
/// </summary>
public sealed class OperationStats(string operation, string? stage)
{
    public const string Ok = "OK";

    /// <summary>The pseudo-operation under which exceptions escaping an iteration are recorded.</summary>
    public const string Iteration = "iteration";

    private readonly Dictionary<(string Outcome, bool Expected), long> _outcomes = [];

    public string Operation { get; } = operation;

    /// <summary>The stage, or null for the whole run.</summary>
    public string? Stage { get; } = stage;

    /// <summary>Latency of every call (OK, refused or failed) in microseconds.</summary>
    public LatencyHistogram Latency { get; } = new();

    public long Count { get; private set; }

    /// <summary>Calls that ended neither OK nor with an expected refusal.</summary>
    public long Errors { get; private set; }

    /// <summary>Calls refused in a way the scenario expects (SOLD_OUT after the stock is gone).</summary>
    public long ExpectedRefusals { get; private set; }

    public long Succeeded => Count - Errors - ExpectedRefusals;

    /// <summary>Outcomes, most frequent first.</summary>
    public IReadOnlyList<OutcomeCount> Outcomes =>
        [.. _outcomes.Select(p => new OutcomeCount(p.Key.Outcome, p.Key.Expected, p.Value))
            .OrderByDescending(o => o.Count).ThenBy(o => o.Outcome, StringComparer.Ordinal)];

    public void Add(TimeSpan latency, string outcome, bool expected = false, long count = 1)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        Add(Math.Max(0, latency.Ticks / TimeSpan.TicksPerMicrosecond), outcome, expected, count);
    }

    internal void Add(long micros, string outcome, bool expected, long count)
    {
        Latency.Record(micros, count);
        Count += count;
        // An "expected" OK is just OK.
        expected &= outcome != Ok;
        if (expected)
        {
            ExpectedRefusals += count;
        }
        else if (outcome != Ok)
        {
            Errors += count;
        }
        var key = (outcome, expected);
        _outcomes[key] = _outcomes.GetValueOrDefault(key) + count;
    }

    public void Merge(OperationStats other)
    {
        ArgumentNullException.ThrowIfNull(other);
        Latency.Merge(other.Latency);
        Count += other.Count;
        Errors += other.Errors;
        ExpectedRefusals += other.ExpectedRefusals;
        foreach (var (key, count) in other._outcomes)
        {
            _outcomes[key] = _outcomes.GetValueOrDefault(key) + count;
        }
    }
}
