using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using FlashDeal.Orders.Lifecycle;
using FlashDeal.ServiceDefaults;

namespace FlashDeal.Orders;

/// <summary>
/// Meter "FlashDeal.Orders": placement and coupon claim outcomes, sold-out flag hits, order transitions, and the stream consumer's
/// progress, lag and dead letters (names in <see cref="FlashDealMetrics"/>).
/// </summary>
public sealed class OrdersMetrics : IDisposable
{
    public const string MeterName = "FlashDeal.Orders";

    private readonly Meter _meter;
    private readonly Counter<long> _placements;
    private readonly Counter<long> _couponClaims;
    private readonly Counter<long> _soldOutFlagHits;
    private readonly Counter<long> _transitions;
    private readonly Counter<long> _reconciled;
    private readonly Counter<long> _deadLetters;
    private readonly Counter<long> _persisted;
    private readonly Histogram<double> _batchDuration;
    private readonly ConcurrentDictionary<Guid, string> _dealLabels = new();
    private long _streamLag;
    private long _streamPending;
    private readonly Counter<long> _eventsPublished;
    private long _eventRelayLag;

    /// <summary>Counter of settled payments and refunds (docs/orders.md, "Payment reconciliation").</summary>
    public const string ReconciledName = "flashdeal.orders.payments.reconciled";

    private static readonly string[] ReconciledOutcomes =
    [
        "payment_completed", "payment_not_charged", "refund_completed", "refund_not_issued", "charge_refunded",
        "charge_kept", "no_charge",
    ];

    public OrdersMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(MeterName);
        _placements = _meter.CreateCounter<long>(FlashDealMetrics.Placements, "{call}",
            "PlaceOrder answers by outcome (ACCEPTED, REPLAYED, an OrderErrorReason, UNAVAILABLE), strategy and live deal.");
        _couponClaims = _meter.CreateCounter<long>(FlashDealMetrics.CouponClaims, "{call}",
            "ClaimCoupon answers by outcome (CLAIMED, REPLAYED, a CouponErrorReason, UNAVAILABLE).");
        _soldOutFlagHits = _meter.CreateCounter<long>(FlashDealMetrics.SoldOutFlagHits, "{call}",
            "PlaceOrder calls answered SOLD_OUT from the in-process flag, without Redis.");
        _transitions = _meter.CreateCounter<long>(FlashDealMetrics.OrderTransitions, "{order}",
            "Orders that changed status after placement, by transition (paid, cancelled, expired).");
        _persisted = _meter.CreateCounter<long>(FlashDealMetrics.StreamPersisted, "{entry}",
            "Stream entries written to PostgreSQL and acknowledged.");
        _deadLetters = _meter.CreateCounter<long>(FlashDealMetrics.StreamDeadLetters, "{entry}",
            "Order stream entries moved aside to the dead-letter stream (malformed).");
        // Zero from the start, so a dashboard shows "none yet" and an alert on their increase has a series to read.
        _deadLetters.Add(0);
        foreach (var transition in (string[])["paid", "cancelled", "expired", "refunded"])
        {
            _transitions.Add(0, new KeyValuePair<string, object?>("transition", transition));
        }
        _reconciled = _meter.CreateCounter<long>(ReconciledName, "{order}",
            "Payments and refunds left without an outcome that the provider settled, by outcome (payment_completed, "
            + "payment_not_charged, refund_completed, refund_not_issued, charge_refunded, charge_kept, no_charge).");
        foreach (var outcome in ReconciledOutcomes)
        {
            _reconciled.Add(0, new KeyValuePair<string, object?>("outcome", outcome));
        }
        _batchDuration = _meter.CreateHistogram(FlashDealMetrics.StreamBatchDuration, "s",
            "Time to write one batch of stream entries to PostgreSQL.", advice: new InstrumentAdvice<double>
            {
                HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
            });
        _meter.CreateObservableGauge(FlashDealMetrics.StreamLag, () => Interlocked.Read(ref _streamLag), "{entry}",
            "Order stream entries not yet in PostgreSQL (unread plus pending), summed over deals.");
        _meter.CreateObservableGauge(FlashDealMetrics.StreamPending, () => Interlocked.Read(ref _streamPending), "{entry}",
            "Order stream entries delivered to a consumer but not yet acknowledged.");
        _eventsPublished = _meter.CreateCounter<long>(FlashDealMetrics.EventsPublished, "{event}",
            "Domain events this replica added to an event stream, by stream.");
        _meter.CreateObservableGauge(FlashDealMetrics.EventRelayLag, () => Interlocked.Read(ref _eventRelayLag), "{event}",
            "Outbox events not yet on their Redis stream, as this replica's event relay last saw them.");
    }

    public long EventRelayLag
    {
        get => Interlocked.Read(ref _eventRelayLag);
        set => Interlocked.Exchange(ref _eventRelayLag, value);
    }

    public void EventsPublished(string stream, long count) =>
        _eventsPublished.Add(count, new KeyValuePair<string, object?>("stream", stream));

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

    /// <param name="dealId">The deal, when the answer is about a live deal (accepted, replayed, sold out, limits);
    /// null for answers about deals that are not live or do not exist, so ids callers make up never become series.</param>
    public void Placement(string outcome, PlacementStrategy strategy, Guid? dealId = null) =>
        _placements.Add(1, new KeyValuePair<string, object?>("outcome", outcome),
            new KeyValuePair<string, object?>("strategy", strategy == PlacementStrategy.RedisLua ? "RedisLua" : "PostgresRowLock"),
            new KeyValuePair<string, object?>("deal_id", dealId is { } id ? DealLabel(id) : ""));

    /// <summary>One ClaimCoupon answer. No campaign id: a campaign is no live deal with a handful of series, and the id
    /// of a refused claim may be made up.</summary>
    public void CouponClaim(string outcome) => _couponClaims.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>A deal id's label text, formatted once per deal rather than on every call of a sale (live deals only,
    /// so the table stays small; it starts over past 1,000 entries).</summary>
    private string DealLabel(Guid dealId)
    {
        if (_dealLabels.TryGetValue(dealId, out var label))
        {
            return label;
        }
        if (_dealLabels.Count >= 1000)
        {
            _dealLabels.Clear();
        }
        return _dealLabels[dealId] = dealId.ToString("D");
    }

    public void Transition(TransitionAction action)
    {
        var name = action switch
        {
            TransitionAction.Cancel => "cancelled",
            TransitionAction.Expire => "expired",
            TransitionAction.CompletePay or TransitionAction.SettlePay => "paid",
            TransitionAction.CompleteRefund => "refunded",
            _ => null,
        };
        if (name is not null)
        {
            _transitions.Add(1, new KeyValuePair<string, object?>("transition", name));
        }
    }

    public void Reconciled(string outcome) => _reconciled.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void DeadLetter() => _deadLetters.Add(1);

    public void SoldOutFlagHit() => _soldOutFlagHits.Add(1);

    public void Persisted(int entries, TimeSpan duration)
    {
        _persisted.Add(entries);
        _batchDuration.Record(duration.TotalSeconds);
    }

    public void Dispose() => _meter.Dispose();
}
