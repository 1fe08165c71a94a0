using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using FlashDeal.Data;
using FlashDeal.Data.Redis;
using FlashDeal.Orders.Redis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace FlashDeal.Orders.Placement;

/// <summary>
/// Replica durability (<see cref="OrderDurability.Replica"/>): an accepted order is answered only once Redis's
/// <c>WAIT</c> says <see cref="OrdersOptions.DurableReplicas"/> replicas have received it, so a failover to one of them
/// keeps it.
/// <para>
/// <c>WAIT</c> blocks the connection it is sent on, and every command behind it, until the replicas answer: on the
/// service's shared connection one slow acknowledgement would stall every other order's script. So WAITs go over a
/// connection of their own, each after a write of its own there (the deal's <c>:durability</c> key). That write reaches
/// the primary after the order's script has run (its answer is already in), so its place in the primary's replication
/// stream is after the order's, and replicas that acknowledge it hold the order. Calls share WAITs: per deal and primary
/// one is in flight, and every call whose script answered while it ran waits for the next one (group commit). Per deal,
/// not per primary: a deal whose slot moves (a failover, a resharding) fails its own WAITs, never another deal's.
/// </para>
/// <para>
/// Each call then checks that its order is on the primary the service now writes to: after a failover to a replica
/// that never received it, the outcome is unknown, and the caller retries with the same key.
/// </para>
/// </summary>
public sealed partial class ReplicaAcknowledgement : IHostedService, IDisposable
{
    private readonly IConnectionMultiplexer _redis;
    private readonly OrdersOptions _options;
    private readonly Task<ConnectionMultiplexer>? _waits;
    private readonly ConcurrentDictionary<(EndPoint Primary, string HashTag), Group> _groups = new();
    private readonly ILogger<ReplicaAcknowledgement> _logger;
    private long _waitsSent;

    public ReplicaAcknowledgement(IConnectionMultiplexer redis, IConfiguration configuration, IOptions<OrdersOptions> options,
        ILogger<ReplicaAcknowledgement> logger)
    {
        _redis = redis;
        _logger = logger;
        _options = options.Value;
        var connectionString = configuration.GetConnectionString(RedisServiceCollectionExtensions.ConnectionStringName)
            ?? throw new InvalidOperationException("ConnectionStrings:Redis is not set.");
        // Only under Replica durability, opened off the calling thread (a blocking connect on the hot path would starve
        // the thread pool) and awaited before the host serves (StartAsync).
        if (_options.Durability == OrderDurability.Replica)
        {
            _waits = Task.Run(() => RedisServiceCollectionExtensions.Connect(connectionString, logger));
        }
    }

    /// <summary>WAITs sent so far (the group commit's effect is calls ÷ this).</summary>
    public long WaitsSent => Interlocked.Read(ref _waitsSent);

    /// <summary>True when the order is on its primary and on enough replicas; false when that is not known.</summary>
    public async Task<bool> ConfirmAsync(Guid dealId, Guid orderId, CancellationToken cancellationToken)
    {
        return await ConfirmAsync(DealKeys.HashTag(dealId), OrderKeys.Order(dealId, orderId), cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>
    /// True when <paramref name="key"/> (written by a script on the slot of <paramref name="hashTag"/>, e.g. a claimed
    /// coupon) is on its primary and on enough replicas; false when that is not known.
    /// </summary>
    public async Task<bool> ConfirmAsync(string hashTag, RedisKey key, CancellationToken cancellationToken) =>
        await AcknowledgedAsync(hashTag, key, cancellationToken).ConfigureAwait(false) is { } primary
        && (long)await OnAsync(primary, "EXISTS", [key], cancellationToken).ConfigureAwait(false) == 1;

    /// <summary>
    /// For the order stream's consumer, before it writes <paramref name="entries"/> (just read from
    /// <paramref name="stream"/>) to PostgreSQL: those that replicas hold. Entries the primary no longer has after the
    /// WAIT were written to a primary that failed before any replica received them; PlaceOrder waits for the same
    /// acknowledgement, so none of them was ever answered "accepted", and PostgreSQL must not get them (their units are
    /// for sale again on the new primary). Throws <see cref="TimeoutException"/> when replicas did not acknowledge in
    /// time: the entries stay pending and are read again.
    /// </summary>
    public Task<IReadOnlyList<StreamEntry>> HeldAsync(Guid dealId, RedisKey stream, IReadOnlyList<StreamEntry> entries,
        CancellationToken cancellationToken) => HeldAsync(DealKeys.HashTag(dealId), stream, entries, cancellationToken);

    /// <summary>As the deal overload, for a stream of another slot (a coupon campaign's events).</summary>
    public async Task<IReadOnlyList<StreamEntry>> HeldAsync(string hashTag, RedisKey stream,
        IReadOnlyList<StreamEntry> entries, CancellationToken cancellationToken)
    {
        if (await AcknowledgedAsync(hashTag, stream, cancellationToken).ConfigureAwait(false) is not { } primary)
        {
            throw new TimeoutException(
                $"Order stream {stream} was not acknowledged by {_options.DurableReplicas} Redis replica(s) within {_options.ReplicaWaitTimeout}.");
        }
        var found = entries.Select(e => OnAsync(primary, "XRANGE", [stream, e.Id, e.Id, "COUNT", 1], cancellationToken))
            .ToArray();
        await Task.WhenAll(found).ConfigureAwait(false);
        return [.. entries.Where((_, i) => ((RedisResult[])found[i].Result!)!.Length > 0)];
    }

    /// <summary>
    /// The endpoint of the primary that owns <paramref name="key"/> when enough replicas acknowledged a WAIT sent there
    /// after now; null when that is not known.
    /// </summary>
    private async Task<EndPoint?> AcknowledgedAsync(string hashTag, RedisKey key, CancellationToken cancellationToken)
    {
        var waits = await (_waits ?? throw new InvalidOperationException("Orders:Durability is not Replica."))
            .WaitAsync(_options.RedisTimeout, cancellationToken).ConfigureAwait(false);
        // The primary that owns the key's slot, from the client's map (no round trip: the WAIT connection may be busy).
        // While that primary is down the client may name another one: the barrier there is refused (MOVED, not
        // followed), and the check after the WAIT runs on the same endpoint, so a WAIT elsewhere never confirms.
        var primary = waits.GetServer(key).EndPoint;
        var group = _groups.GetOrAdd((primary, hashTag),
            static (key, state) => new Group(state.Owner, state.Waits, key.Primary, key.HashTag), (Owner: this, Waits: waits));
        var bound = _options.ReplicaWaitTimeout + _options.RedisTimeout;
        return await group.WaitAsync().WaitAsync(bound, cancellationToken).ConfigureAwait(false)
            ? primary
            : null;
    }

    /// <summary>One command on the service's connection to <paramref name="primary"/>, never redirected elsewhere.</summary>
    private Task<RedisResult> OnAsync(EndPoint primary, string command, object[] arguments, CancellationToken cancellationToken) =>
        _redis.GetServer(primary).ExecuteAsync(command, arguments, CommandFlags.NoRedirect)
            .WaitAsync(_options.RedisTimeout, cancellationToken);

    /// <summary>
    /// The barrier write, then WAIT, on the WAIT connection to the primary; true when enough replicas acknowledged. Both
    /// go to that one server (WAIT counts this connection's own last write there), the WAIT only once the barrier is in:
    /// a barrier that failed must not leave a blocking WAIT queued behind it.
    /// </summary>
    private async Task<bool> SendAsync(IConnectionMultiplexer waits, EndPoint primary, string hashTag)
    {
        Interlocked.Increment(ref _waitsSent);
        var server = waits.GetServer(primary);
        await server.ExecuteAsync("SET", [$"{hashTag}:durability", "1", "EX", (long)_options.DealKeyRetention.TotalSeconds],
            CommandFlags.NoRedirect).ConfigureAwait(false);
        var acknowledged = await server.ExecuteAsync("WAIT",
            [_options.DurableReplicas, (long)_options.ReplicaWaitTimeout.TotalMilliseconds]).ConfigureAwait(false);
        return (long)acknowledged >= _options.DurableReplicas;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_waits is not null)
        {
            await WarnWhenShortOfReplicasAsync(await _waits.WaitAsync(cancellationToken).ConfigureAwait(false))
                .ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A primary with fewer replicas than Orders:DurableReplicas answers every PlaceOrder UNAVAILABLE: say so at start
    /// (a warning, not a refusal to start: replicas may still be connecting, and ROLE may be forbidden).
    /// </summary>
    private async Task WarnWhenShortOfReplicasAsync(IConnectionMultiplexer waits)
    {
        foreach (var server in waits.GetServers().Where(s => s is { IsConnected: true, IsReplica: false }))
        {
            try
            {
                var role = await server.RoleAsync().WaitAsync(_options.RedisTimeout).ConfigureAwait(false);
                var replicas = role is Role.Master primary ? primary.Replicas.Count : 0;
                if (replicas < _options.DurableReplicas)
                {
                    LogShortOfReplicas(server.EndPoint, replicas, _options.DurableReplicas);
                }
            }
            catch (Exception e) when (e is RedisException or RedisCommandException or TimeoutException)
            {
                _logger.LogWarning("Could not count the replicas of Redis primary {EndPoint}: {Error}", server.EndPoint, e.Message);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Orders:Durability is Replica with Orders:DurableReplicas {Wanted}, " +
        "but Redis primary {EndPoint} has {Replicas} connected replica(s): PlaceOrder answers UNAVAILABLE (outcome unknown) " +
        "until enough replicas connect")]
    private partial void LogShortOfReplicas(EndPoint endPoint, int replicas, int wanted);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        if (_waits is { IsCompletedSuccessfully: true })
        {
            _waits.Result.Dispose();
        }
    }

    /// <summary>The WAITs of one deal on one primary: the one in flight and the one that goes when it returns.</summary>
    private sealed class Group(ReplicaAcknowledgement owner, ConnectionMultiplexer waits, EndPoint primary, string hashTag)
    {
        private readonly Lock _gate = new();
        private Task<bool>? _running;
        private Task<bool>? _next;

        public Task<bool> WaitAsync()
        {
            lock (_gate)
            {
                if (_running is null || _running.IsCompleted)
                {
                    return _running = owner.SendAsync(waits, primary, hashTag);
                }
                // The WAIT in flight may have left before this call's script ran: the next one covers it.
                return _next ??= AfterRunningAsync(_running);
            }
        }

        private async Task<bool> AfterRunningAsync(Task running)
        {
            await running.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ForceYielding);
            Task<bool> mine;
            lock (_gate)
            {
                mine = owner.SendAsync(waits, primary, hashTag);
                _running = mine;
                _next = null;
            }
            return await mine.ConfigureAwait(false);
        }
    }
}
