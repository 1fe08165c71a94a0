using System.Diagnostics.Metrics;

namespace FlashDeal.Orders;

/// <summary>Meter "FlashDeal.Orders": placement outcomes, sold-out flag hits, and the stream consumer's progress and lag.</summary>
public sealed class OrdersMetrics : IDisposable
{
    public const string MeterName = "FlashDeal.Orders";

    private readonly Meter _meter;
    private readonly Counter<long> _placements;
    private readonly Counter<long> _soldOutFlagHits;
    private readonly Counter<long> _persisted;
    private readonly Histogram<double> _batchDuration;
    private long _streamLag;
    private long _streamPending;

    public OrdersMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(MeterName);
        _placements = _meter.CreateCounter<long>("flashdeal.orders.placements", "{call}",
            "PlaceOrder outcomes by reason (ACCEPTED, REPLAYED or an OrderErrorReason).");
        _soldOutFlagHits = _meter.CreateCounter<long>("flashdeal.orders.sold_out_flag_hits", "{call}",
            "PlaceOrder calls answered SOLD_OUT from the in-process flag, without Redis.");
        _persisted = _meter.CreateCounter<long>("flashdeal.orders.stream.persisted", "{entry}",
            "Stream entries written to PostgreSQL and acknowledged.");
        _batchDuration = _meter.CreateHistogram<double>("flashdeal.orders.stream.batch.duration", "s",
            "Time to write one batch of stream entries to PostgreSQL.");
        _meter.CreateObservableGauge("flashdeal.orders.stream.lag", () => Interlocked.Read(ref _streamLag), "{entry}",
            "Order stream entries not yet in PostgreSQL (unread plus pending), summed over deals.");
        _meter.CreateObservableGauge("flashdeal.orders.stream.pending", () => Interlocked.Read(ref _streamPending), "{entry}",
            "Order stream entries delivered to a consumer but not yet acknowledged.");
    }

    public long StreamLag
    {
        get => Interlocked.Read(ref _streamLag);
        set => Interlocked.Exchange(ref _streamLag, value);
    }

    public long StreamPending
    {
        get => Interlocked.Read(ref _streamPending);
        set => Interlocked.Exchange(ref _streamPending, value);
    }

    public void Placement(string outcome, PlacementStrategy strategy) =>
        _placements.Add(1, new KeyValuePair<string, object?>("outcome", outcome),
            new KeyValuePair<string, object?>("strategy", strategy.ToString()));

    public void SoldOutFlagHit() => _soldOutFlagHits.Add(1);

    public void Persisted(int entries, TimeSpan duration)
    {
        _persisted.Add(entries);
        _batchDuration.Record(duration.TotalSeconds);
    }

    public void Dispose() => _meter.Dispose();
}
