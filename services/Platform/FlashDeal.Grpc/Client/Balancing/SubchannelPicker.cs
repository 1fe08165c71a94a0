namespace FlashDeal.Grpc.Client;

/// <summary>
/// Power of two choices: sample two subchannels at random and take the one with fewer calls in flight. Unlike round-robin
/// it steers calls away from a replica that got slow (its in-flight count grows), and unlike "least loaded" it does not
/// stampede many clients onto the same replica; it needs no shared state and costs O(1) per call.
/// Subchannels in connect backoff are skipped while any other is usable.
/// </summary>
internal static class SubchannelPicker
{
    /// <summary>The chosen subchannel, or null when none is usable (all retired or in backoff).</summary>
    public static Subchannel? Pick(Subchannel[] subchannels, long now, Random random)
    {
        var count = subchannels.Length;
        if (count == 0)
        {
            return null;
        }
        if (count == 1)
        {
            return IsUsable(subchannels[0], now) ? subchannels[0] : null;
        }
        var i = random.Next(count);
        var j = random.Next(count - 1);
        if (j >= i)
        {
            j++;
        }
        var (a, b) = (subchannels[i], subchannels[j]);
        var aUsable = IsUsable(a, now);
        var bUsable = IsUsable(b, now);
        if (aUsable && bUsable)
        {
            return b.InFlight < a.InFlight ? b : a;
        }
        if (aUsable || bUsable)
        {
            return aUsable ? a : b;
        }
        for (var k = 1; k < count; k++)
        {
            var candidate = subchannels[(i + k) % count];
            if (IsUsable(candidate, now))
            {
                return candidate;
            }
        }
        return null;
    }

    /// <summary>When every address is in backoff: the one that leaves backoff first (fail-fast calls try it anyway).</summary>
    public static Subchannel? EarliestOutOfBackoff(Subchannel[] subchannels)
    {
        Subchannel? best = null;
        foreach (var s in subchannels)
        {
            if (!s.IsRetired && (best is null || s.BackoffUntil < best.BackoffUntil))
            {
                best = s;
            }
        }
        return best;
    }

    private static bool IsUsable(Subchannel s, long now) => !s.IsRetired && !s.IsInBackoff(now);
}
