using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using FlashDeal.ServiceDefaults;
using Microsoft.Extensions.DependencyInjection;

namespace FlashDeal.Catalog.Tests.Infrastructure;

/// <summary>
/// Records one host's <c>flashdeal.catalog.cache.lookups</c> as (cache, result) pairs while alive: the hit/miss signal
/// /metrics exports, without the other hosts of the test process (each has its own meter).
/// </summary>
public sealed class CacheLookupRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(string Cache, string Result)> _lookups = new();

    public CacheLookupRecorder(IServiceProvider services)
    {
        // The host's meter factory hands out its one meter of this name.
        var meter = services.GetRequiredService<IMeterFactory>().Create(CatalogMetrics.MeterName);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter == meter && instrument.Name == FlashDealMetrics.CacheLookups)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            string? cache = null, result = null;
            foreach (var tag in tags)
            {
                cache = tag.Key == "cache" ? tag.Value as string : cache;
                result = tag.Key == "result" ? tag.Value as string : result;
            }
            _lookups.Enqueue((cache ?? "", result ?? ""));
        });
        _listener.Start();
    }

    public IReadOnlyList<(string Cache, string Result)> Lookups => [.. _lookups];

    public void Dispose() => _listener.Dispose();
}
