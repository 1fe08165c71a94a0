namespace FlashDeal.Grpc;

/// <summary>
/// Retries of idempotent calls that fail with a retryable status (UNAVAILABLE by default) before the response started:
/// exponential backoff with full jitter, bounded attempts, always within the call's deadline. A server can steer it with
/// the grpc-retry-pushback-ms trailer (a delay, or a negative value to stop retrying).
/// </summary>
public sealed record RetryPolicy
{
    public const int MaxAttemptsLimit = 5;

    public static RetryPolicy Default { get; } = new();

    /// <summary>Attempts including the first (1 disables retries); capped at 5.</summary>
    public int MaxAttempts { get; init; } = 4;

    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(2);

    public double BackoffMultiplier { get; init; } = 2;

    public IReadOnlySet<StatusCode> RetryableStatusCodes { get; init; } = new HashSet<StatusCode> { StatusCode.Unavailable };

    internal int EffectiveMaxAttempts => Math.Clamp(MaxAttempts, 1, MaxAttemptsLimit);

    /// <summary>Delay before retry number <paramref name="retry"/> (1-based): uniform in [0, min(initial·mult^(n-1), max)].</summary>
    internal TimeSpan GetDelay(int retry, Random random)
    {
        var ceiling = InitialBackoff.TotalMilliseconds * Math.Pow(BackoffMultiplier, Math.Max(0, retry - 1));
        ceiling = Math.Min(ceiling, MaxBackoff.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(random.NextDouble() * ceiling);
    }
}
