using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using FlashDeal.ServiceDefaults;

namespace FlashDeal.Catalog;

/// <summary>
/// Meter "FlashDeal.Catalog": read-cache lookups, and each live deal's stock and sell-out time as the
/// <see cref="Deals.DealStockMonitor"/> last saw them (names in <see cref="FlashDealMetrics"/>). Only deals that are
/// live appear: the monitor replaces the whole set on every pass, so an ended deal's series stop.
/// </summary>
public sealed class CatalogMetrics : IDisposable
{
    public const string MeterName = "FlashDeal.Catalog";

    private readonly Meter _meter;
    private readonly Counter<long> _cacheLookups;
    private volatile IReadOnlyDictionary<Guid, LiveDeal> _live = new Dictionary<Guid, LiveDeal>();

    public CatalogMetrics(IMeterFactory meters)
    {
        _meter = meters.Create(MeterName);
        _cacheLookups = _meter.CreateCounter<long>(FlashDealMetrics.CacheLookups, "{lookup}",
            "Read-cache lookups by cache (deal, product, deal_list, product_page, product_count) and result (hit, miss).");
        _meter.CreateObservableGauge(FlashDealMetrics.DealStockRemaining,
            () => Each(d => d.Remaining), "{unit}", "Units left of each live deal (Redis's counter).");
        _meter.CreateObservableGauge(FlashDealMetrics.DealStockInitial,
            () => Each(d => d.Initial), "{unit}", "Units each live deal started with.");
        _meter.CreateObservableGauge(FlashDealMetrics.DealSellOutTime,
            () => _live.Values.Where(d => d.SellOutSeconds is not null)
                .Select(d => new Measurement<double>(d.SellOutSeconds!.Value, Deal(d.DealId))),
            "s", "From a live deal's start to the first time it was seen sold out.");
    }

    public readonly record struct LiveDeal(Guid DealId, int Remaining, int Initial, double? SellOutSeconds);

    /// <summary>The live deals as of the last pass (replaces the previous set).</summary>
    public void SetLiveDeals(IReadOnlyDictionary<Guid, LiveDeal> live) => _live = live;

    public IReadOnlyDictionary<Guid, LiveDeal> LiveDeals => _live;

    public void CacheLookup(string cache, bool hit) =>
        _cacheLookups.Add(1, new KeyValuePair<string, object?>("cache", cache),
            new KeyValuePair<string, object?>("result", hit ? "hit" : "miss"));

    private IEnumerable<Measurement<int>> Each(Func<LiveDeal, int> value) =>
        _live.Values.Select(d => new Measurement<int>(value(d), Deal(d.DealId)));

    private static KeyValuePair<string, object?> Deal(Guid dealId) => new("deal_id", dealId.ToString("D"));

    public void Dispose() => _meter.Dispose();
}
