namespace FlashDeal.Grpc;

/// <summary>Per-call settings.</summary>
/// <param name="Headers">Request metadata.</param>
/// <param name="Deadline">When the call must end (UTC); sent as grpc-timeout and enforced locally. Null: no deadline.</param>
/// <param name="CancellationToken">Cancels the call (status CANCELLED).</param>
/// <param name="Idempotent">Overrides the method's idempotency: only idempotent calls are retried on UNAVAILABLE.</param>
/// <param name="WaitForReady">When no address is reachable, wait (until the deadline) instead of failing fast.</param>
/// <param name="Compression">grpc-encoding for request messages ("gzip"); overrides the channel's setting.</param>
public readonly record struct CallOptions(
    Metadata? Headers = null,
    DateTime? Deadline = null,
    CancellationToken CancellationToken = default,
    bool? Idempotent = null,
    bool WaitForReady = false,
    string? Compression = null)
{
    /// <summary>The same options with a deadline <paramref name="timeout"/> from now.</summary>
    public CallOptions WithTimeout(TimeSpan timeout) => this with { Deadline = DateTime.UtcNow + timeout };
}
