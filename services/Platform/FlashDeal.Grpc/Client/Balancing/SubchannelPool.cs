using System.Net;
using Microsoft.Extensions.Logging;

namespace FlashDeal.Grpc.Client;

/// <summary>
/// Keeps one subchannel per resolved address. Resolves on first use, then every ResolveInterval and right after a
/// connect failure (at most once a second); added addresses get subchannels, removed ones are drained and disposed.
/// </summary>
internal sealed class SubchannelPool : IDisposable
{
    private static readonly TimeSpan WaitForReadyPoll = TimeSpan.FromMilliseconds(100);

    private readonly IAddressResolver _resolver;
    private readonly Func<IPEndPoint, Subchannel> _createSubchannel;
    private readonly TimeSpan _interval;
    private readonly TimeSpan _minGap;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _disposed = new();
    private readonly object _gate = new();
    private Subchannel[] _subchannels = [];
    private Task? _firstResolution;
    private TaskCompletionSource _resolveNow = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Exception? _lastError;
    private long _lastResolvedAt;

    public SubchannelPool(IAddressResolver resolver, Func<IPEndPoint, Subchannel> createSubchannel, TimeSpan interval,
        ILogger logger)
    {
        _resolver = resolver;
        _createSubchannel = createSubchannel;
        _interval = interval > TimeSpan.Zero ? interval : Timeout.InfiniteTimeSpan;
        _minGap = interval > TimeSpan.Zero && interval < TimeSpan.FromSeconds(1) ? interval : TimeSpan.FromSeconds(1);
        _logger = logger;
    }

    public Subchannel[] Subchannels => Volatile.Read(ref _subchannels);

    /// <summary>
    /// Picks a subchannel and counts the call in (the caller must Release it). Fails fast with UNAVAILABLE when there is no
    /// address; with <paramref name="waitForReady"/> it waits for a usable one until cancelled.
    /// </summary>
    public async ValueTask<Subchannel> PickAsync(bool waitForReady, CancellationToken cancellationToken)
    {
        var first = EnsureStarted();
        if (!first.IsCompleted)
        {
            await first.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        while (true)
        {
            ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
            var subchannels = Subchannels;
            var picked = SubchannelPicker.Pick(subchannels, Environment.TickCount64, Random.Shared);
            if (picked is null && !waitForReady)
            {
                picked = SubchannelPicker.EarliestOutOfBackoff(subchannels) ?? throw NoAddresses();
            }
            if (picked is null)
            {
                RequestResolution();
                await Task.Delay(WaitForReadyPoll, cancellationToken).ConfigureAwait(false);
                continue;
            }
            if (picked.TryAcquire())
            {
                return picked;
            }
        }
    }

    /// <summary>A call could not connect to <paramref name="subchannel"/>: back it off and look for new addresses.</summary>
    public void ReportConnectFailure(Subchannel subchannel, Exception error)
    {
        var backoff = subchannel.ReportConnectFailure();
        _logger.LogInformation("Cannot connect to {Address} ({Error}); skipping it for {Backoff} ms",
            subchannel.EndPoint, error.Message, (long)backoff.TotalMilliseconds);
        RequestResolution();
    }

    public void RequestResolution()
    {
        lock (_gate)
        {
            _resolveNow.TrySetResult();
        }
    }

    private RpcException NoAddresses() => new(new Status(StatusCode.Unavailable, _lastError is null
        ? $"No addresses resolved for {_resolver}."
        : $"Resolving {_resolver} failed: {_lastError.Message}"));

    private Task EnsureStarted()
    {
        var first = Volatile.Read(ref _firstResolution);
        if (first is not null)
        {
            return first;
        }
        lock (_gate)
        {
            if (_firstResolution is null)
            {
                _firstResolution = ResolveAsync();
                _ = RunResolveLoopAsync(_firstResolution);
            }
            return _firstResolution;
        }
    }

    private async Task RunResolveLoopAsync(Task first)
    {
        await first.ConfigureAwait(false);
        var stopping = _disposed.Token;
        while (!stopping.IsCancellationRequested)
        {
            Task signal;
            lock (_gate)
            {
                signal = _resolveNow.Task;
            }
            using (var timer = CancellationTokenSource.CreateLinkedTokenSource(stopping))
            {
                await Task.WhenAny(signal, Task.Delay(_interval, timer.Token)).ConfigureAwait(false);
                timer.Cancel();
            }
            var sinceLast = TimeSpan.FromMilliseconds(Environment.TickCount64 - Volatile.Read(ref _lastResolvedAt));
            if (sinceLast < _minGap)
            {
                try
                {
                    await Task.Delay(_minGap - sinceLast, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            lock (_gate)
            {
                if (_resolveNow.Task.IsCompleted)
                {
                    _resolveNow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }
            }
            await ResolveAsync().ConfigureAwait(false);
        }
    }

    private async Task ResolveAsync()
    {
        try
        {
            var addresses = await _resolver.ResolveAsync(_disposed.Token).ConfigureAwait(false);
            Update(addresses);
            _lastError = null;
        }
        catch (OperationCanceledException) when (_disposed.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            _lastError = e;
            _logger.LogWarning(e, "Resolving {Target} failed; keeping {Count} known addresses", _resolver,
                Subchannels.Length);
        }
        finally
        {
            Volatile.Write(ref _lastResolvedAt, Environment.TickCount64);
        }
    }

    private void Update(IReadOnlyList<IPEndPoint> addresses)
    {
        lock (_gate)
        {
            if (_disposed.IsCancellationRequested)
            {
                return;
            }
            var current = _subchannels;
            var next = new List<Subchannel>(addresses.Count);
            foreach (var address in addresses.Distinct())
            {
                var existing = Array.Find(current, s => s.EndPoint.Equals(address));
                if (existing is null)
                {
                    existing = _createSubchannel(address);
                    _logger.LogInformation("Address {Address} added for {Target}", address, _resolver);
                }
                next.Add(existing);
            }
            Volatile.Write(ref _subchannels, next.ToArray());
            foreach (var old in current)
            {
                if (!next.Contains(old))
                {
                    _logger.LogInformation("Address {Address} removed for {Target}; draining {InFlight} calls",
                        old.EndPoint, _resolver, old.InFlight);
                    old.Retire();
                }
            }
        }
    }

    public void Dispose()
    {
        Subchannel[] subchannels;
        lock (_gate)
        {
            if (_disposed.IsCancellationRequested)
            {
                return;
            }
            _disposed.Cancel();
            subchannels = _subchannels;
            _subchannels = [];
        }
        foreach (var s in subchannels)
        {
            s.Dispose();
        }
    }
}
