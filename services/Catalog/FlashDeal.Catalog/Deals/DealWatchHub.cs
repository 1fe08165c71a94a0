using System.Runtime.CompilerServices;
using System.Threading.Channels;
using FlashDeal.Catalog.Grpc;
using FlashDeal.Catalog.Infrastructure;
using FlashDeal.Contracts.Catalog.V1;
using Microsoft.Extensions.Options;

namespace FlashDeal.Catalog.Deals;

/// <summary>
/// WatchDeal fan-out: one poller per watched deal (per replica), however many clients watch it. The poller reads the
/// deal every <see cref="CatalogOptions.WatchPollInterval"/> (one Redis round trip: cached terms + remaining stock +
/// Redis clock) and hands each change of state, stock or window to every watcher. Watchers keep only the newest
/// snapshot, so a slow client gets fewer, never stale, messages. Time-based changes (opening, closing) show up on the
/// first poll after the instant. The poller stops with its last watcher, and all stop when the host stops.
/// On the same ticks the poller gives a heartbeat to each watcher that has sent nothing for
/// <see cref="CatalogOptions.WatchHeartbeatInterval"/>, so idle timeouts on the way never cut a quiet stream: no timer
/// per stream, and every message of a stream is written by its own loop, one at a time. A heartbeat is queued only
/// behind nothing, so it never displaces a snapshot; a snapshot displaces a queued heartbeat.
/// </summary>
public sealed class DealWatchHub : IDisposable
{
    private readonly DealCatalog _deals;
    private readonly CatalogOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<DealWatchHub> _logger;
    private readonly Dictionary<Guid, Feed> _feeds = [];
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stopping = new();

    public DealWatchHub(DealCatalog deals, IOptions<CatalogOptions> options, TimeProvider time, ILogger<DealWatchHub> logger,
        IHostApplicationLifetime lifetime)
    {
        _deals = deals;
        _options = options.Value;
        _time = time;
        _logger = logger;
        lifetime.ApplicationStopping.Register(_stopping.Cancel);
    }

    /// <summary>Deals with at least one watcher on this replica.</summary>
    public int ActiveFeeds
    {
        get
        {
            lock (_gate)
            {
                return _feeds.Count;
            }
        }
    }

    /// <summary>
    /// The current snapshot at once, then one per change, and heartbeats while nothing changes; completes after ENDED
    /// or CANCELLED. Throws NOT_FOUND before the first snapshot for an unknown deal.
    /// </summary>
    public async IAsyncEnumerable<WatchDealResponse> WatchAsync(Guid dealId,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        // Subscribe before the first read, so a change between the two cannot be missed.
        var (feed, watcher) = Subscribe(dealId);
        try
        {
            var first = await _deals.GetAsync(dealId, linked.Token) ?? throw CatalogErrors.DealNotFound(Ids.Format(dealId));
            var last = ToSnapshot(first);
            watcher.LastSent = _time.GetTimestamp();
            yield return new WatchDealResponse { Snapshot = last };
            while (!DealStates.IsFinal(last.State))
            {
                var next = await watcher.Updates.Reader.ReadAsync(linked.Token);
                if (next.Snapshot is { } snapshot)
                {
                    if (!Differs(snapshot, last))
                    {
                        continue;
                    }
                    last = snapshot;
                }
                watcher.LastSent = _time.GetTimestamp();
                yield return next;
            }
        }
        finally
        {
            Unsubscribe(feed, watcher);
        }
    }

    public static DealSnapshot ToSnapshot(LiveDeal live) => new()
    {
        DealId = live.Deal.DealId,
        State = live.Deal.State,
        RemainingStock = live.Deal.RemainingStock,
        Stock = live.Deal.Stock,
        StartTime = live.Deal.StartTime,
        EndTime = live.Deal.EndTime,
        ServerTime = Times.ToTimestamp(live.ServerTime),
        // The instant (µs) the snapshot was observed, on Redis's clock when Redis answered: later observations of the
        // deal, from any replica, carry higher versions.
        Version = (live.ServerTime - DateTime.UnixEpoch).Ticks / 10,
    };

    private static bool Differs(DealSnapshot a, DealSnapshot b) =>
        a.State != b.State || a.RemainingStock != b.RemainingStock || a.Stock != b.Stock
        || !Equals(a.StartTime, b.StartTime) || !Equals(a.EndTime, b.EndTime);

    private (Feed Feed, Watcher Watcher) Subscribe(Guid dealId)
    {
        var watcher = new Watcher(_time.GetTimestamp());
        lock (_gate)
        {
            if (!_feeds.TryGetValue(dealId, out var feed))
            {
                feed = new Feed(dealId, CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token));
                _feeds[dealId] = feed;
                _ = Task.Run(() => PollAsync(feed));
            }
            feed.Watchers.Add(watcher);
            return (feed, watcher);
        }
    }

    private void Unsubscribe(Feed feed, Watcher watcher)
    {
        lock (_gate)
        {
            feed.Watchers.Remove(watcher);
            if (feed.Watchers.Count == 0 && _feeds.Remove(feed.DealId))
            {
                feed.Stop.Cancel();
                feed.Stop.Dispose();
            }
        }
    }

    private async Task PollAsync(Feed feed)
    {
        var token = feed.Stop.Token;
        DealSnapshot? last = null;
        var failures = 0;
        while (!token.IsCancellationRequested)
        {
            var interval = _options.WatchPollInterval;
            // A failed read still beats: the stream is alive, only its news is late.
            var serverTime = _time.GetUtcNow().UtcDateTime;
            try
            {
                if (await _deals.GetAsync(feed.DealId, token) is { } live)
                {
                    failures = 0;
                    serverTime = live.ServerTime;
                    var snapshot = ToSnapshot(live);
                    if (last is null || Differs(snapshot, last))
                    {
                        last = snapshot;
                        Publish(feed, snapshot);
                    }
                    if (!live.LiveStock)
                    {
                        interval = _options.WatchFallbackPollInterval;
                    }
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                interval = _options.WatchFallbackPollInterval;
                if (failures++ == 0)
                {
                    _logger.LogWarning(e, "Watching deal {DealId}: read failed; retrying every {Interval}", feed.DealId, interval);
                }
            }
            Beat(feed, serverTime);
            try
            {
                await Task.Delay(interval, _time, token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void Publish(Feed feed, DealSnapshot snapshot)
    {
        var response = new WatchDealResponse { Snapshot = snapshot };
        lock (_gate)
        {
            foreach (var watcher in feed.Watchers)
            {
                watcher.Updates.Writer.TryWrite(response);
            }
        }
    }

    /// <summary>
    /// Queues a heartbeat for each watcher silent for the heartbeat interval. Only this feed's poller writes to its
    /// watchers' channels, so "nothing queued" still holds when the heartbeat goes in: it never drops a snapshot.
    /// </summary>
    private void Beat(Feed feed, DateTime serverTime)
    {
        var now = _time.GetTimestamp();
        WatchDealResponse? heartbeat = null;
        lock (_gate)
        {
            foreach (var watcher in feed.Watchers)
            {
                // Something queued is about to be sent (or a slow client is not reading: a heartbeat would not help).
                if (watcher.Updates.Reader.Count > 0
                    || _time.GetElapsedTime(watcher.LastSent, now) < _options.WatchHeartbeatInterval)
                {
                    continue;
                }
                heartbeat ??= new WatchDealResponse
                {
                    Heartbeat = new WatchDealHeartbeat { ServerTime = Times.ToTimestamp(serverTime) },
                };
                watcher.Updates.Writer.TryWrite(heartbeat);
                watcher.LastSent = now;
            }
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    private sealed class Feed(Guid dealId, CancellationTokenSource stop)
    {
        public Guid DealId { get; } = dealId;

        public CancellationTokenSource Stop { get; } = stop;

        public List<Watcher> Watchers { get; } = [];
    }

    /// <summary>One stream's queue (the newest message only) and when it last sent or was given something.</summary>
    private sealed class Watcher(long subscribedAt)
    {
        private long _lastSent = subscribedAt;

        public Channel<WatchDealResponse> Updates { get; } = Channel.CreateBounded<WatchDealResponse>(
            new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

        /// <summary>A <see cref="TimeProvider.GetTimestamp"/>: written by the stream and the poller, read by the poller.</summary>
        public long LastSent
        {
            get => Volatile.Read(ref _lastSent);
            set => Volatile.Write(ref _lastSent, value);
        }
    }
}
