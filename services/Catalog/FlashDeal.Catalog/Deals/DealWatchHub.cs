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
    /// The current snapshot at once, then one per change; completes after ENDED or CANCELLED. Throws NOT_FOUND before
    /// the first snapshot for an unknown deal.
    /// </summary>
    public async IAsyncEnumerable<DealSnapshot> WatchAsync(Guid dealId,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        // Subscribe before the first read, so a change between the two cannot be missed.
        var (feed, updates) = Subscribe(dealId);
        try
        {
            var first = await _deals.GetAsync(dealId, linked.Token) ?? throw CatalogErrors.DealNotFound(Ids.Format(dealId));
            var last = ToSnapshot(first);
            yield return last;
            while (!DealStates.IsFinal(last.State))
            {
                var next = await updates.Reader.ReadAsync(linked.Token);
                if (!Differs(next, last))
                {
                    continue;
                }
                last = next;
                yield return last;
            }
        }
        finally
        {
            Unsubscribe(feed, updates);
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

    private (Feed Feed, Channel<DealSnapshot> Updates) Subscribe(Guid dealId)
    {
        var updates = Channel.CreateBounded<DealSnapshot>(new BoundedChannelOptions(1)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        lock (_gate)
        {
            if (!_feeds.TryGetValue(dealId, out var feed))
            {
                feed = new Feed(dealId, CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token));
                _feeds[dealId] = feed;
                _ = Task.Run(() => PollAsync(feed));
            }
            feed.Watchers.Add(updates);
            return (feed, updates);
        }
    }

    private void Unsubscribe(Feed feed, Channel<DealSnapshot> updates)
    {
        lock (_gate)
        {
            feed.Watchers.Remove(updates);
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
            try
            {
                if (await _deals.GetAsync(feed.DealId, token) is { } live)
                {
                    failures = 0;
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
        lock (_gate)
        {
            foreach (var watcher in feed.Watchers)
            {
                watcher.Writer.TryWrite(snapshot);
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

        public List<Channel<DealSnapshot>> Watchers { get; } = [];
    }
}
