using System.Diagnostics;
using FlashDeal.Load;
using Grpc.Core;

namespace FlashDeal.Orders.Load;

/// <summary>How one call of a closed loop ended: taken (accepted, granted), refused as expected (sold out, exhausted), or an error.</summary>
public enum CallOutcome
{
    Taken,
    Refused,
    Error,
}

/// <summary>What a closed loop saw: counts, the first error, every call's latency (µs), the wall time.</summary>
public sealed record LoopResult(TimeSpan Elapsed, long Taken, long Refused, long Errors, string? FirstError,
    LatencyHistogram LatencyMicros);

/// <summary>
/// A closed loop of <c>concurrency</c> workers, each taking the next index below <c>calls</c> and making one call: the
/// benchmarks' buyers and claimers. Latencies go into a histogram per worker, merged at the end; an
/// <see cref="RpcException"/> the call lets through counts as an error.
/// </summary>
public static class ClosedLoop
{
    public static async Task<LoopResult> RunAsync(int calls, int concurrency, Func<int, Task<CallOutcome>> call,
        Action<long, TimeSpan>? onTaken = null)
    {
        var next = -1;
        long taken = 0, refused = 0, errors = 0;
        string? firstError = null;
        var histograms = Enumerable.Range(0, concurrency).Select(_ => new LatencyHistogram()).ToArray();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(histograms.Select(async histogram =>
        {
            await Task.Yield();
            int index;
            while ((index = Interlocked.Increment(ref next)) < calls)
            {
                var started = Stopwatch.GetTimestamp();
                CallOutcome outcome;
                try
                {
                    outcome = await call(index);
                }
                catch (RpcException e)
                {
                    Interlocked.CompareExchange(ref firstError, $"{e.StatusCode}: {e.Status.Detail}", null);
                    outcome = CallOutcome.Error;
                }
                switch (outcome)
                {
                    case CallOutcome.Taken:
                        var count = Interlocked.Increment(ref taken);
                        onTaken?.Invoke(count, clock.Elapsed);
                        break;
                    case CallOutcome.Refused:
                        Interlocked.Increment(ref refused);
                        break;
                    default:
                        Interlocked.Increment(ref errors);
                        break;
                }
                histogram.Record((long)Stopwatch.GetElapsedTime(started).TotalMicroseconds);
            }
        }));
        clock.Stop();
        var latency = new LatencyHistogram();
        foreach (var h in histograms)
        {
            latency.Merge(h);
        }
        return new LoopResult(clock.Elapsed, taken, refused, errors, firstError, latency);
    }
}
