namespace FlashDeal.Auth.Throttling;

/// <summary>
/// The same counting as the Redis scripts, in this process only: used while Redis is unreachable, so log-in keeps
/// working and stays throttled (per replica rather than across all of them).
/// </summary>
public sealed class InProcessAttemptCounter(TimeProvider time)
{
    private const int PruneEvery = 1024;

    private readonly Dictionary<string, Window> _windows = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private int _createdSincePrune;

    public ThrottleDecision TryBegin(string accountKey, string addressKey, LogInThrottleOptions limits)
    {
        lock (_gate)
        {
            var now = time.GetUtcNow();
            if (Blocked(accountKey, limits.MaxFailuresPerAccount, now) is { } accountWait)
            {
                return ThrottleDecision.Blocked(accountWait, ThrottleScope.Account);
            }
            if (Blocked(addressKey, limits.MaxFailuresPerAddress, now) is { } addressWait)
            {
                return ThrottleDecision.Blocked(addressWait, ThrottleScope.Address);
            }
            Count(accountKey, now, limits.Window);
            Count(addressKey, now, limits.Window);
            return ThrottleDecision.Allow;
        }
    }

    public void End(string accountKey, string addressKey)
    {
        lock (_gate)
        {
            _windows.Remove(accountKey);
            if (_windows.TryGetValue(addressKey, out var window) && --window.Count <= 0)
            {
                _windows.Remove(addressKey);
            }
        }
    }

    /// <summary>An attempt whose password was never checked: both counters give it back.</summary>
    public void Withdraw(string accountKey, string addressKey)
    {
        lock (_gate)
        {
            foreach (var key in (ReadOnlySpan<string>)[accountKey, addressKey])
            {
                if (_windows.TryGetValue(key, out var window) && --window.Count <= 0)
                {
                    _windows.Remove(key);
                }
            }
        }
    }

    private TimeSpan? Blocked(string key, int limit, DateTimeOffset now) =>
        _windows.TryGetValue(key, out var window) && window.ResetAt > now && window.Count >= limit
            ? window.ResetAt - now
            : null;

    private void Count(string key, DateTimeOffset now, TimeSpan length)
    {
        if (_windows.TryGetValue(key, out var window) && window.ResetAt > now)
        {
            window.Count++;
            return;
        }
        _windows[key] = new Window { Count = 1, ResetAt = now + length };
        if (++_createdSincePrune >= PruneEvery)
        {
            _createdSincePrune = 0;
            foreach (var expired in _windows.Where(w => w.Value.ResetAt <= now).Select(w => w.Key).ToList())
            {
                _windows.Remove(expired);
            }
        }
    }

    private sealed class Window
    {
        public int Count { get; set; }

        public DateTimeOffset ResetAt { get; init; }
    }
}
