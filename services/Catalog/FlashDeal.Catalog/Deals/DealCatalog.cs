using FlashDeal.Catalog.Grpc;
using FlashDeal.Catalog.Infrastructure;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.Data;
using FlashDeal.ServiceDefaults;
using Grpc.Core;

namespace FlashDeal.Catalog.Deals;

/// <summary>A deal with its state and remaining stock filled in, and the clock they were computed with.</summary>
public sealed record LiveDeal(Deal Deal, DateTime ServerTime, bool LiveStock);

/// <summary>
/// Deals: PostgreSQL is the truth for their terms, Redis holds the order path's copy (config + remaining stock) and a
/// read cache. Every committed write goes to Redis right after the commit (config, then cache delete).
/// </summary>
public sealed class DealCatalog(
    DealStore store, DealCache cache, DealConfigWriter config, DealStockReader stock, UuidV7Generator ids, TimeProvider time,
    HotDeals hot, HotDealList current, CatalogMetrics metrics)
{
    public async Task<LiveDeal> CreateAsync(Guid productId, Deal input, CancellationToken cancellationToken)
    {
        var row = await store.InsertAsync(ids.NewGuid(), productId, input, Times.Now(time), product =>
        {
            if (product is null)
            {
                throw CatalogErrors.ProductNotFound(Ids.Format(productId));
            }
            if (product.Archived)
            {
                throw CatalogErrors.ProductArchived(product.ProductId);
            }
        }, cancellationToken);
        current.Invalidate();
        await config.WriteAsync(row, StockMode.IfMissing, publish: true);
        return await WithStockAsync(row.Deal);
    }

    public async Task<LiveDeal?> GetAsync(Guid dealId, CancellationToken cancellationToken)
    {
        if (hot.TryGet(dealId, out var recent, out var recentReading))
        {
            return Live(recent, recentReading);
        }
        // Both Redis reads go out together (the multiplexer pipelines them): one round trip on a cache hit.
        var cached = cache.GetAsync(dealId);
        var reading = stock.ReadAsync(dealId);
        var deal = await cached;
        if (deal is null)
        {
            deal = (await store.GetAsync(dealId, cancellationToken))?.Deal;
            if (deal is null)
            {
                return null;
            }
            await cache.SetAsync(dealId, deal);
        }
        var read = await reading;
        hot.Set(dealId, deal, read);
        return Live(deal, read);
    }

    /// <summary>Copies the <paramref name="paths"/> of <paramref name="changes"/> (already checked on their own).</summary>
    public async Task<LiveDeal> UpdateAsync(Guid dealId, Deal changes, IReadOnlySet<string> paths,
        CancellationToken cancellationToken)
    {
        var now = Times.Now(time);
        var row = await store.UpdateAsync(dealId, now, deal =>
        {
            EnsureUpcoming(deal, now);
            foreach (var path in paths)
            {
                Apply(deal, changes, path);
            }
            DealRules.Check(deal, now, paths, relations: true).ThrowIfAny();
            return true;
        }, cancellationToken) ?? throw CatalogErrors.DealNotFound(Ids.Format(dealId));
        current.Invalidate();
        await config.WriteAsync(row, StockMode.ResetIfUntouched, publish: true);
        hot.Remove(dealId);
        await cache.InvalidateAsync(dealId);
        return await WithStockAsync(row.Deal);
    }

    /// <summary>Idempotent: cancelling a cancelled deal returns it unchanged.</summary>
    public async Task<LiveDeal> CancelAsync(Guid dealId, string reason, CancellationToken cancellationToken)
    {
        var now = Times.Now(time);
        var row = await store.UpdateAsync(dealId, now, deal =>
        {
            if (deal.CancelTime is not null)
            {
                return false;
            }
            if (now >= Times.ToUtc(deal.EndTime))
            {
                throw CatalogErrors.DealAlreadyEnded(deal.DealId);
            }
            deal.CancelTime = Times.ToTimestamp(now);
            return true;
        }, cancellationToken, reason) ?? throw CatalogErrors.DealNotFound(Ids.Format(dealId));
        current.Invalidate();
        await config.WriteAsync(row, StockMode.Never, publish: true);
        hot.Remove(dealId);
        await cache.InvalidateAsync(dealId);
        return await WithStockAsync(row.Deal);
    }

    /// <summary>
    /// One page of deals in <paramref name="states"/> (empty: all). SQL narrows by phase; LIVE versus SOLD_OUT needs the
    /// stock, so rows are checked one by one and a page may come back short (with a token) after a bounded scan.
    /// </summary>
    public async Task<(List<Deal> Deals, PageCursor<DateTime>? Next, DateTime ServerTime)> ListAsync(
        IReadOnlySet<DealState> states, Guid? productId, PageCursor<DateTime>? after, int pageSize,
        CancellationToken cancellationToken)
    {
        const int maxRounds = 5;
        var phases = states.Select(DealStates.Phase).ToHashSet();
        var now = Times.Now(time);
        if (phases.Count > 0 && !phases.Contains(DealPhase.Ended) && !phases.Contains(DealPhase.Cancelled)
            && current.Enabled)
        {
            var held = current.TryGet(out var hotList);
            metrics.CacheLookup("deal_list", held);
            if (held)
            {
                return await ListCurrentAsync(hotList, states, phases, productId, after, pageSize, now);
            }
        }
        var page = new List<Deal>();
        var cursor = after;
        for (var round = 0; ; round++)
        {
            var rows = await store.ListAsync(phases, productId, now, cursor, pageSize + 1, cancellationToken);
            var live = await Task.WhenAll(rows.Select(r => WithStockAsync(r.Deal)));
            foreach (var deal in live)
            {
                if (page.Count == pageSize)
                {
                    return (page, cursor, now);
                }
                cursor = new PageCursor<DateTime>(Times.ToUtc(deal.Deal.StartTime), Guid.Parse(deal.Deal.DealId));
                if (states.Count == 0 || states.Contains(deal.Deal.State))
                {
                    page.Add(deal.Deal);
                }
            }
            if (rows.Count <= pageSize)
            {
                return (page, null, now);
            }
            if (round == maxRounds - 1)
            {
                return (page, cursor, now);
            }
        }
    }

    /// <summary>
    /// <see cref="ListAsync"/> over the hot deal list: the same order, cursor and filters, states computed now, each
    /// deal's stock from GetDeal's in-process copy when it is young enough.
    /// </summary>
    private async Task<(List<Deal> Deals, PageCursor<DateTime>? Next, DateTime ServerTime)> ListCurrentAsync(
        IReadOnlyList<CurrentDeal> deals, IReadOnlySet<DealState> states, IReadOnlySet<DealPhase> phases, Guid? productId,
        PageCursor<DateTime>? after, int pageSize, DateTime now)
    {
        var page = new List<Deal>();
        PageCursor<DateTime>? cursor = after;
        var productText = productId is { } id ? Ids.Format(id) : null;
        foreach (var deal in deals)
        {
            if ((productText is not null && deal.ProductId != productText)
                || (after is { } from && (deal.StartTime, deal.DealId).CompareTo((from.SortKey, from.Id)) <= 0)
                || now >= deal.EndTime)
            {
                continue;
            }
            if (!phases.Contains(now < deal.StartTime ? DealPhase.Upcoming : DealPhase.Open))
            {
                continue;
            }
            if (page.Count == pageSize)
            {
                return (page, cursor, now);
            }
            var live = await LiveCopyAsync(deal);
            cursor = new PageCursor<DateTime>(deal.StartTime, deal.DealId);
            if (states.Contains(live.Deal.State))
            {
                page.Add(live.Deal);
            }
        }
        return (page, null, now);
    }

    private async Task<LiveDeal> LiveCopyAsync(CurrentDeal deal)
    {
        if (hot.TryGet(deal.DealId, out var copy, out var copyReading) && copy.UpdateTime == deal.Deal.UpdateTime)
        {
            return Live(copy, copyReading);
        }
        var reading = await stock.ReadAsync(deal.DealId);
        hot.Set(deal.DealId, deal.Deal, reading);
        return Live(deal.Deal, reading);
    }

    private async Task<LiveDeal> WithStockAsync(Deal deal) => Live(deal, await stock.ReadAsync(Guid.Parse(deal.DealId)));

    private static LiveDeal Live(Deal stored, StockReading reading)
    {
        var deal = stored.Clone();
        deal.RemainingStock = Math.Min(reading.Remaining ?? deal.Stock, deal.Stock);
        deal.State = DealStates.Compute(deal, reading.Now, deal.RemainingStock);
        return new LiveDeal(deal, reading.Now, reading.Live);
    }

    private static void EnsureUpcoming(Deal deal, DateTime now)
    {
        if (deal.CancelTime is not null)
        {
            throw CatalogErrors.DealCancelled(deal.DealId);
        }
        if (now >= Times.ToUtc(deal.EndTime))
        {
            throw CatalogErrors.DealAlreadyEnded(deal.DealId);
        }
        if (now >= Times.ToUtc(deal.StartTime))
        {
            throw CatalogErrors.DealAlreadyStarted(deal.DealId);
        }
    }

    private static void Apply(Deal target, Deal source, string path)
    {
        switch (path)
        {
            case "title":
                target.Title = source.Title;
                break;
            case "deal_price_cents":
                target.DealPriceCents = source.DealPriceCents;
                break;
            case "stock":
                target.Stock = source.Stock;
                break;
            case "per_user_limit":
                target.PerUserLimit = source.PerUserLimit;
                break;
            case "start_time":
                target.StartTime = Times.ToTimestamp(Times.ToUtc(source.StartTime));
                break;
            case "end_time":
                target.EndTime = Times.ToTimestamp(Times.ToUtc(source.EndTime));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(path), path, "Not an updatable deal field.");
        }
    }
}
