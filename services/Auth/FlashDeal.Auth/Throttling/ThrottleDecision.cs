namespace FlashDeal.Auth.Throttling;

public enum ThrottleScope
{
    None,
    Account,
    Address,
}

/// <summary>Whether a log-in attempt may go ahead; if not, which limit is full and for how long.</summary>
public readonly record struct ThrottleDecision(bool Allowed, TimeSpan RetryAfter, ThrottleScope LimitedBy)
{
    public static ThrottleDecision Allow { get; } = new(true, TimeSpan.Zero, ThrottleScope.None);

    public static ThrottleDecision Blocked(TimeSpan retryAfter, ThrottleScope scope) => new(false, retryAfter, scope);
}
