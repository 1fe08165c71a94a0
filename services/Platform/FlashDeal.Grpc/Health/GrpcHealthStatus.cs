using System.Runtime.CompilerServices;
using System.Threading.Channels;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace FlashDeal.Grpc;

/// <summary>
/// The serving status of each health-checked service; "" is the whole server. Health checks, application code and
/// shutdown write it; grpc.health.v1.Health and /readyz read it.
/// </summary>
public sealed class GrpcHealthStatus
{
    /// <summary>The service name that stands for the whole server.</summary>
    public const string Overall = "";

    private readonly object _gate = new();
    private readonly Dictionary<string, ServingStatus> _statuses = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<Channel<ServingStatus>>> _watchers = new(StringComparer.Ordinal);
    private bool _shuttingDown;

    /// <summary>True once the application started stopping: every service reports NOT_SERVING from then on.</summary>
    public bool IsShuttingDown
    {
        get
        {
            lock (_gate)
            {
                return _shuttingDown;
            }
        }
    }

    /// <summary>Sets a service's status (health check polling overwrites services it maps).</summary>
    public void Set(string service, ServingStatus status)
    {
        ArgumentNullException.ThrowIfNull(service);
        if (status == ServingStatus.ServiceUnknown)
        {
            throw new ArgumentException("SERVICE_UNKNOWN is what watchers of unknown services see; use Remove.", nameof(status));
        }
        lock (_gate)
        {
            if (_shuttingDown)
            {
                status = ServingStatus.NotServing;
            }
            if (_statuses.TryGetValue(service, out var current) && current == status)
            {
                return;
            }
            _statuses[service] = status;
            NotifyLocked(service, status);
        }
    }

    /// <summary>Forgets a service: Check answers NOT_FOUND, watchers see SERVICE_UNKNOWN.</summary>
    public bool Remove(string service)
    {
        lock (_gate)
        {
            if (!_statuses.Remove(service))
            {
                return false;
            }
            NotifyLocked(service, ServingStatus.ServiceUnknown);
            return true;
        }
    }

    /// <summary>The service's status, or null when the service is unknown.</summary>
    public ServingStatus? Get(string service)
    {
        lock (_gate)
        {
            return _statuses.TryGetValue(service, out var status) ? status : null;
        }
    }

    public IReadOnlyDictionary<string, ServingStatus> Snapshot()
    {
        lock (_gate)
        {
            return new Dictionary<string, ServingStatus>(_statuses, StringComparer.Ordinal);
        }
    }

    /// <summary>
    /// Turns every service NOT_SERVING for good. Runs when the application starts stopping, so probes fail and
    /// balancers move traffic away while in-flight calls drain.
    /// </summary>
    public void EnterShutdown()
    {
        lock (_gate)
        {
            _shuttingDown = true;
            foreach (var service in _statuses.Keys.ToArray())
            {
                if (_statuses[service] != ServingStatus.NotServing)
                {
                    _statuses[service] = ServingStatus.NotServing;
                    NotifyLocked(service, ServingStatus.NotServing);
                }
            }
        }
    }

    /// <summary>
    /// Yields the service's current status (SERVICE_UNKNOWN when unknown) at once, then each change. A slow reader
    /// skips intermediate values and gets the latest.
    /// </summary>
    public async IAsyncEnumerable<ServingStatus> WatchAsync(string service,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var changes = Channel.CreateBounded<ServingStatus>(
            new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        ServingStatus last;
        lock (_gate)
        {
            last = _statuses.TryGetValue(service, out var status) ? status : ServingStatus.ServiceUnknown;
            if (!_watchers.TryGetValue(service, out var list))
            {
                _watchers[service] = list = [];
            }
            list.Add(changes);
        }
        try
        {
            yield return last;
            while (true)
            {
                var next = await changes.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                if (next != last)
                {
                    last = next;
                    yield return next;
                }
            }
        }
        finally
        {
            lock (_gate)
            {
                var list = _watchers[service];
                list.Remove(changes);
                if (list.Count == 0)
                {
                    _watchers.Remove(service);
                }
            }
        }
    }

    private void NotifyLocked(string service, ServingStatus status)
    {
        if (_watchers.TryGetValue(service, out var list))
        {
            foreach (var channel in list)
            {
                channel.Writer.TryWrite(status);
            }
        }
    }
}
