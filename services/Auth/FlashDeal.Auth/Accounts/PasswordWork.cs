namespace FlashDeal.Auth.Accounts;

/// <summary>Every slot for password hashing is taken and the wait for one ran out or the queue is full.</summary>
public sealed class PasswordWorkBusyException(TimeSpan retryAfter)
    : Exception("Every password check slot of this replica is busy.")
{
    /// <summary>When a slot is likely free again: the configured wait, at least one second.</summary>
    public TimeSpan RetryAfter { get; } = retryAfter;
}

/// <summary>
/// Bounds the password hashing (PBKDF2, tens of milliseconds of CPU each) running at once, so that a log-in storm — the
/// whole audience of a sale logging in at its opening second — takes the cores it is given and no more: the rest of
/// the service (health checks, Refresh, JWKS) keeps answering, and the edge does not take a busy replica for a dead one.
/// Callers beyond the slots wait asynchronously (no thread is held) in arrival order; beyond <c>MaxQueued</c> waiting or
/// after <c>MaxWait</c> they get <see cref="PasswordWorkBusyException"/> (RESOURCE_EXHAUSTED with a retry delay).
/// </summary>
public sealed class PasswordWork : IDisposable
{
    private readonly SemaphoreSlim _slots;
    private readonly int _maxQueued;
    private readonly TimeSpan _maxWait;
    private int _waiting;

    public PasswordWork(PasswordHashOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Slots = options.MaxConcurrent > 0 ? options.MaxConcurrent : Environment.ProcessorCount;
        _slots = new SemaphoreSlim(Slots, Slots);
        _maxQueued = options.MaxQueued;
        _maxWait = options.MaxWait;
    }

    /// <summary>Hashes allowed to run at once (<c>MaxConcurrent</c>, or the processor count when 0).</summary>
    public int Slots { get; }

    /// <summary>Callers waiting for a slot now.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>Runs <paramref name="work"/> on a slot, waiting for one when all are taken.</summary>
    /// <exception cref="PasswordWorkBusyException">The queue is full, or no slot came free within <c>MaxWait</c>.</exception>
    public async ValueTask<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (!_slots.Wait(0, CancellationToken.None))
        {
            await WaitForSlotAsync(cancellationToken).ConfigureAwait(false);
        }
        try
        {
            return work();
        }
        finally
        {
            _slots.Release();
        }
    }

    private async Task WaitForSlotAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _waiting) > _maxQueued)
        {
            Interlocked.Decrement(ref _waiting);
            throw Busy();
        }
        try
        {
            if (!await _slots.WaitAsync(_maxWait, cancellationToken).ConfigureAwait(false))
            {
                throw Busy();
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }

    private PasswordWorkBusyException Busy() =>
        new(_maxWait < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : _maxWait);

    public void Dispose() => _slots.Dispose();
}
